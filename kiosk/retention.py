"""Retention at the hub: contact details and recordings erased a set time after an opinion is finished.

An opinion's name and phone number, and the recording of a voice message
(the person's own voice), are kept ``RETENTION_DAYS`` after it was closed,
declined or merged (the time of the public step that finished it, so a
reopened and closed-again opinion counts from its last closing), then set to
nothing; a recording's transcript stays, as the written text does. Each
erasure writes one audit row naming what was erased, not its value; a run is
repeatable (what is erased is not found again). On SQLite the WAL is
checkpointed afterwards so the old values linger nowhere
(``kiosk.database``). Run nightly by ``flask retention run``.
"""

import logging
from datetime import timedelta

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import exists, func, or_, select

from . import audit
from .clock import now
from .database import checkpoint
from .extensions import db
from .models import FINISHED_STATUSES, Opinion, OpinionEvent, VoiceMessage

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


def _recording_held():
    """Bytes of a recording the hub holds, whole or still arriving (b"", a spoilt copy discarded, is none)."""
    return exists().where(VoiceMessage.opinion_uuid == Opinion.uuid, *_held_recording())


def _held_recording():
    return VoiceMessage.data.is_not(None), VoiceMessage.data != b""


def expired(days: int):
    """Opinions whose contact details or recording are due for erasure, oldest first."""
    cutoff = now() - timedelta(days=days)
    return (
        select(Opinion)
        .where(
            Opinion.status.in_([s.value for s in FINISHED_STATUSES]),
            or_(Opinion.contact_name.is_not(None), Opinion.contact_phone.is_not(None), _recording_held()),
            _finished_at() <= cutoff,
        )
        .order_by(Opinion.created_at, Opinion.uuid)
    )


def erase_expired(days: int | None = None, dry_run: bool = False) -> int:
    """Erase the contact details and recordings kept past ``days`` (default ``RETENTION_DAYS``); how many opinions.

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
        recorded = set(
            db.session.scalars(
                select(VoiceMessage.opinion_uuid).where(
                    VoiceMessage.opinion_uuid.in_([o.uuid for o in batch]), *_held_recording()
                )
            )
        )
        moment = now()
        for opinion in batch:
            held = [name for name in ("contact_name", "contact_phone") if getattr(opinion, name) is not None]
            opinion.contact_name = opinion.contact_phone = None
            what = ["联系人姓名和电话"] if held else []
            if opinion.uuid in recorded:
                opinion.voice.data, opinion.voice.erased_at = None, moment
                held.append("voice")
                what.append("语音留言的录音")
            audit.record(
                "retention.erase",
                opinion=opinion,
                before={name: HELD for name in held},
                after={name: None for name in held},
                note=f"办结满{days}天，删除{'和'.join(what)}",
            )
        db.session.commit()
        erased += len(batch)
    if erased:
        checkpoint(db.engine)
    log.info("retention: %d opinions' contact details or recordings erased (%d days)", erased, days)
    return erased


@click.group()
def retention():
    """Erasing contact details and recordings kept past RETENTION_DAYS (hub)."""


@retention.command("run")
@click.option("--dry-run", is_flag=True, help="Only count the opinions that would be erased.")
@with_appcontext
def run(dry_run: bool):
    """Erase the name, phone and recording of opinions finished more than RETENTION_DAYS ago (run nightly)."""
    count = erase_expired(dry_run=dry_run)
    click.echo(f"{count} opinions would be erased" if dry_run else f"{count} opinions erased")
