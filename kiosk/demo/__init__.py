"""Demo data: Luoding's 21 townships and 236 stations, with generated deputies."""
