"""The dashboard's figures kept per township, station, category and local month.

``OpinionFigures`` holds, for each such cell, the same counts the dashboard
would get by grouping the opinions themselves (``kiosk.stats.rollup``).
Database triggers on ``opinions`` (migration 0009) note every change of a
counted field in ``StaleFigures`` as (township, UTC day of ``created_at``),
whichever path wrote it; the cells those days touch are recomputed from the
opinions before the writing session commits, or before the dashboard reads.
"""

from datetime import date

from sqlalchemy import Date, Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db

# The counted fields: a change to any of them may move a figure.
COUNTED_FIELDS = (
    "township_id",
    "station_code",
    "category_code",
    "created_at",
    "status",
    "accepted_at",
    "closed_at",
    "hub_received_at",
    "satisfaction",
)


class OpinionFigures(db.Model):
    __tablename__ = "opinion_figures"

    township_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The first day of the local month the opinions were left in.
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    station_code: Mapped[str] = mapped_column(String(8), primary_key=True)
    category_code: Mapped[str] = mapped_column(String(24), primary_key=True)
    received: Mapped[int] = mapped_column(Integer)
    accepted: Mapped[int] = mapped_column(Integer)
    closed: Mapped[int] = mapped_column(Integer)
    declined: Mapped[int] = mapped_column(Integer)
    merged: Mapped[int] = mapped_column(Integer)
    timed: Mapped[int] = mapped_column(Integer)
    days: Mapped[float] = mapped_column(Float)
    satisfied: Mapped[int] = mapped_column(Integer)
    basic: Mapped[int] = mapped_column(Integer)
    unsatisfied: Mapped[int] = mapped_column(Integer)


class StaleFigures(db.Model):
    """A township's UTC day whose opinions changed since their cells were last counted."""

    __tablename__ = "opinion_figures_stale"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    township_id: Mapped[int] = mapped_column(Integer)
    day: Mapped[date] = mapped_column(Date)
