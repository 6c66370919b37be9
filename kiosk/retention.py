"""Retention at the hub: contact details erased a set time after an opinion is finished.

An opinion's name and phone number are kept ``RETENTION_DAYS`` after it was
closed, declined or merged (the time of the public step that finished it, so
a reopened and closed-again opinion counts from its last closing), then set
to nothing. Each erasure writes one audit row naming the fields erased, not
their values; a run is repeatable (what is erased is not found again). On
SQLite the WAL is checkpointed afterwards so the old values linger nowhere
(``kiosk.database``). Run nightly by ``flask retention run``.
"""

import logging
from datetime import timedelta

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, or_, select

from . import audit
from .clock import now
from .database import checkpoint
from .extensions import db
from .models import FINISHED_STATUSES, Opinion, OpinionEvent

log = logging.getLogger(__name__)

# What an erasure's audit row says was there: never the value itself.
HELD = "已登记"
# Opinions erased per transaction: a first run over years of data stays small in memory.
BATCH = 500


def _finished_at():
    """When the opinion reached its current (finished) status: its last public step of that status."""
    return (
        select(func.max(OpinionEvent.at))
        .where(OpinionEvent.opinion_uuid == Opinion.uuid, OpinionEvent.status == Opinion.status)
        .correlate(Opinion)
        .scalar_subquery()
    )


def expired(days: int):
    """Opinions whose contact details are due for erasure, oldest first."""
    cutoff = now() - timedelta(days=days)
    return (
        select(Opinion)
        .where(
            Opinion.status.in_([s.value for s in FINISHED_STATUSES]),
            or_(Opinion.contact_name.is_not(None), Opinion.contact_phone.is_not(None)),
            _finished_at() <= cutoff,
        )
        .order_by(Opinion.created_at, Opinion.uuid)
    )


def erase_expired(days: int | None = None, dry_run: bool = False) -> int:
    """Erase the contact details kept past ``days`` (default ``RETENTION_DAYS``); how many opinions.

    With ``dry_run``, only count them.
    """
    days = current_app.config["RETENTION_DAYS"] if days is None else days
    if dry_run:
        count = db.session.scalar(select(func.count()).select_from(expired(days).subquery()))
        db.session.commit()
        return count
    erased = 0
    while True:
        batch = db.session.scalars(expired(days).limit(BATCH)).all()
        if not batch:
            db.session.commit()  # end the reading transaction: the checkpoint waits for none
            break
        for opinion in batch:
            held = [name for name in ("contact_name", "contact_phone") if getattr(opinion, name) is not None]
            opinion.contact_name = opinion.contact_phone = None
            audit.record(
                "retention.erase",
                opinion=opinion,
                before={name: HELD for name in held},
                after={name: None for name in held},
                note=f"办结满{days}天，删除联系人姓名和电话",
            )
        db.session.commit()
        erased += len(batch)
    if erased:
        checkpoint(db.engine)
    log.info("retention: %d opinions' contact details erased (%d days)", erased, days)
    return erased


@click.group()
def retention():
    """Erasing contact details kept past RETENTION_DAYS (hub)."""


@retention.command("run")
@click.option("--dry-run", is_flag=True, help="Only count the opinions that would be erased.")
@with_appcontext
def run(dry_run: bool):
    """Erase the name and phone of opinions finished more than RETENTION_DAYS ago (run nightly)."""
    count = erase_expired(dry_run=dry_run)
    click.echo(f"{count} opinions would be erased" if dry_run else f"{count} opinions erased")
