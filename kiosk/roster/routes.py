"""The roster pages (filled below)."""
