"""Receipt numbers and their secrets (验证码): the format, and reading what people type.

A receipt number is ``<STATION CODE>-<YYMMDD>-<NNNN>`` (ARCHITECTURE.md):
the station's code (2 to 8 capital letters or digits), the local date and
a per-station daily serial, four digits and more past 9999. The secret
is a few characters from an alphabet that is easy to read aloud and type.
"""

import re
import secrets
import unicodedata

# Every pattern here is ASCII-only (``\d`` would take Arabic-Indic digits) and
# is used with ``fullmatch`` (``$`` would let a trailing newline through).
# A station's code: in every receipt number and record it ever sent.
STATION_CODE = re.compile(r"[A-Z0-9]{2,8}", re.ASCII)
# A whole receipt number: station code, local date YYMMDD, daily serial.
NUMBER = re.compile(r"([A-Z0-9]{2,8})-(\d{6})-(\d{4,6})", re.ASCII)
# A local date as a number spells it: YYMMDD.
DAY = re.compile(r"\d{6}", re.ASCII)
# Station code, local date YYMMDD, four-digit daily serial, typed without hyphens.
UNHYPHENATED_NUMBER = re.compile(r"([A-Z0-9]{2,8})(\d{6})(\d{4})", re.ASCII)

# Easy to read aloud and to type: no 0/O, 1/I/L, 2/Z, 5/S, 8/B, U/V.
SECRET_ALPHABET = "34679ACDEFGHJKMNPQRTWXY"
SECRET_LENGTH = 6
# A secret as a station may send it: made here, or by an older or newer box.
SECRET = re.compile(r"[0-9A-Z]{4,8}", re.ASCII)

# Letters read or typed for the digits they look like.
LOOK_ALIKES = (("O", "0"), ("I", "1"), ("L", "1"))
AS_DIGITS = str.maketrans({letter: digit for letter, digit in LOOK_ALIKES})


def format_receipt_number(station_code: str, day: str, serial: int) -> str:
    """``day`` is the local date as YYMMDD."""
    return f"{station_code}-{day}-{serial:04d}"


class StationNumber:
    """A receipt number of this station only (a hub checks every record pushed): ``NUMBER``
    with the station's own code in it. One pattern for every station: a province's tens
    of thousands of codes, each compiled, would outgrow any cache and compile in every push."""

    __slots__ = ("code",)

    def __init__(self, station_code: str):
        self.code = station_code

    def fullmatch(self, text: str) -> re.Match | None:
        match = NUMBER.fullmatch(text)
        return match if match is not None and match[1] == self.code else None


def station_number(station_code: str) -> StationNumber:
    return StationNumber(station_code)


def make_secret() -> str:
    return "".join(secrets.choice(SECRET_ALPHABET) for _ in range(SECRET_LENGTH))


def normalise_receipt_number(number: str | None) -> str:
    """Upper case, without spaces, hyphens where they belong.

    People type numbers read off paper or over the phone: with or without
    hyphens (some of them, or full-width ones), in lower case, with spaces,
    an O for a 0 or an I for a 1. Date and serial are digits, so letters
    there are read as the digits they look like; the station code may hold
    both (``kiosk.public.lookup`` tries the look-alike station code).
    """
    # NFKC: full-width letters, digits and hyphens, as a phone's input method types them.
    value = unicodedata.normalize("NFKC", number or "")
    value = re.sub(r"[—–]", "-", re.sub(r"\s", "", value)).upper()
    if value.count("-") != 2:
        bare = value.replace("-", "")
        head, tail = bare[:-10], bare[-10:].translate(AS_DIGITS)
        if match := UNHYPHENATED_NUMBER.fullmatch(head + tail):
            return "-".join(match.groups())
        return value
    code, day, serial = value.split("-")
    return "-".join((code, day.translate(AS_DIGITS), serial.translate(AS_DIGITS)))


def normalise_secret(secret: str | None) -> str:
    return re.sub(r"\s", "", secret or "").upper()
