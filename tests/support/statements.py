"""SQL statements told apart by what they do, for the tests that count them."""


def statement_kind(statement: str) -> str:
    """A statement as its verb and table: ``"INSERT opinions"``, ``"COUNT opinions"``, ``"BEGIN"``."""
    words = statement.replace("(", " ").split()
    verb = "COUNT" if statement.startswith("SELECT count(") else words[0]
    if verb == "BEGIN":
        return "BEGIN"
    table = words[words.index("FROM") + 1] if "FROM" in words else words[2] if verb == "INSERT" else words[1]
    return f"{verb} {table}"
