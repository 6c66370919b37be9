"""Reading numbers and dates that arrive in URLs and forms, within bounds.

A number or a date typed into a query string can be anything: an id with
twenty digits does not fit a database integer, and a date in year 1 or 9999
overflows the first day added to it. Everything read from a request goes
through these, so an odd value is simply "not given" (or a 404 for ids in a
path), never a 500.
"""

import ipaddress
from datetime import date

from werkzeug.routing import IntegerConverter

# Ids are database integers (32-bit on both SQLite and PostgreSQL columns here).
MAX_ID = 2**31 - 1
# The years any date in this product can sensibly be in.
EARLIEST_DAY = date(2000, 1, 1)
LATEST_DAY = date(2099, 12, 31)


def bounded_int(value, low: int = 1, high: int = MAX_ID) -> int | None:
    """``value`` as an int within [low, high], else None."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if low <= number <= high else None


def parse_day(value) -> date | None:
    """An ISO date (YYYY-MM-DD) between 2000 and 2099, else None."""
    try:
        day = date.fromisoformat(str(value).strip())
    except (TypeError, ValueError):
        return None
    return day if in_range(day) else None


def in_range(day: date) -> bool:
    return EARLIEST_DAY <= day <= LATEST_DAY


class IdConverter(IntegerConverter):
    """``<int:…>`` in every route: an id too large for the database is a 404."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def is_loopback(host: str | None) -> bool:
    """Whether ``host`` (an address or a name) is this machine itself."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False
