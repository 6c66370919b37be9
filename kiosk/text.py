"""Cleaning what people type, and masking what must not be shown."""

import re
import unicodedata

# Zero-width and direction-control characters: invisible, and used to make
# one text look like another.
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\u00ad]")


def clean_text(value: str | None) -> str:
    """Remove control and zero-width characters; keep everything else as typed.

    Line breaks and tabs stay (as ``\\n`` and a space). Markup is kept: it is
    escaped wherever it is shown, never stripped.
    """
    if not value:
        return ""
    value = value.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    value = _INVISIBLE.sub("", value)
    value = "".join(
        ch for ch in value if ch == "\n" or unicodedata.category(ch) not in ("Cc", "Cs", "Co", "Cn")
    )
    return value.strip()


def mask_phone(phone: str | None) -> str:
    """138****5678: enough for its owner to recognise, no more."""
    if not phone:
        return ""
    if len(phone) < 8:
        return "*" * len(phone)
    return f"{phone[:3]}{'*' * (len(phone) - 7)}{phone[-4:]}"
