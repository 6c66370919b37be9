"""The congress term (届): five years from ``TERM_START``, one after another.

A township congress is elected for five years; "本届" is the term a day
falls in. Report-backs are due once a term, and the figures "本届累计" count
from the term's first day.
"""

from dataclasses import dataclass
from datetime import date

from flask import current_app

TERM_YEARS = 5


@dataclass(frozen=True)
class Term:
    start: date
    # The first day of the next term.
    end: date

    @property
    def label(self) -> str:
        return f"{self.start.year}—{self.end.year}年届"


def _shifted(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def term_of(day: date) -> Term:
    """The term ``day`` falls in."""
    first = date.fromisoformat(str(current_app.config["TERM_START"]))
    start = first
    while day < start:
        start = _shifted(start, -TERM_YEARS)
    while day >= _shifted(start, TERM_YEARS):
        start = _shifted(start, TERM_YEARS)
    return Term(start, _shifted(start, TERM_YEARS))
