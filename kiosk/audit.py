"""The append-only audit log of the township office.

Every staff action writes one ``AuditEntry`` in the same transaction as the
change it describes, with the values before and after, so the log and the
data cannot disagree. Rows are never updated or deleted: the ORM refuses.

The rows form one hash chain: each holds the previous row's hash and a hash
of its own canonical form (sorted-key JSON of its fields with that previous
hash), so ``verify`` finds a row edited or deleted in the database itself.
Writers are serialised while they read the chain's end and add to it: on
PostgreSQL by a transaction-level advisory lock, on SQLite by the write lock
every transaction takes (``BEGIN IMMEDIATE``). Contact details go into a row
masked only, so erasing them later (retention) never has to touch the log.
"""

import hashlib
import json
import logging
import re
from dataclasses import dataclass

from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy import event, select, text
from sqlalchemy.orm import Session

from .clock import iso, now
from .extensions import db
from .models import AuditEntry, Opinion, User
from .text import mask_personal

log = logging.getLogger(__name__)

# The previous hash of the first row.
GENESIS = "0" * 64
# pg_advisory_xact_lock key of the audit chain (any constant unique to it).
CHAIN_LOCK = 0x61756469  # "audi"
# The fields a row's hash covers, besides the previous hash.
HASHED = ("at", "user_id", "username", "action", "opinion_uuid", "subject", "before", "after", "note", "address")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def record(
    action: str,
    *,
    actor: User | None = None,
    opinion: Opinion | None = None,
    subject: str | None = None,
    before: dict | None = None,
    after: dict | None = None,
    note: str | None = None,
) -> AuditEntry:
    """Add one audit row to the session (the caller commits with its change).

    ``actor`` defaults to the signed-in user of the request, if any. Phone
    numbers, ID-card numbers and the opinion's contact details in ``before``,
    ``after`` and ``note`` are masked. The row joins the chain when it is
    flushed.
    """
    if actor is None and has_request_context() and current_user and current_user.is_authenticated:
        actor = current_user._get_current_object()
    names = [opinion.contact_name, opinion.contact_phone] if opinion is not None else []
    entry = AuditEntry(
        at=now(),
        action=action,
        user_id=actor.id if actor else None,
        username=actor.username if actor else None,
        opinion_uuid=opinion.uuid if opinion else None,
        subject=subject,
        before=_masked(before, names),
        after=_masked(after, names),
        note=mask_personal(note, names) if note else note,
        address=request.remote_addr if has_request_context() else None,
    )
    db.session.add(entry)
    log.info("audit %s by %s on %s %s", action, entry.username or "-", entry.opinion_uuid or "-", subject or "")
    return entry


def _masked(values: dict | None, names: list) -> dict | None:
    """``values`` as the JSON column gives them back (so the hash is the same read or written), masked."""
    if values is None:
        return None

    def mask(value):
        if isinstance(value, str):
            # Identifiers are no phone numbers, whatever digits they hold.
            return value if _UUID.fullmatch(value) else mask_personal(value, names)
        if isinstance(value, dict):
            return {key: mask(item) for key, item in value.items()}
        if isinstance(value, list):
            return [mask(item) for item in value]
        return value

    return mask(json.loads(json.dumps(values)))


def canonical(fields: dict, prev_hash: str) -> bytes:
    """The bytes a row's hash is taken of: its fields and the previous hash, as sorted-key JSON."""
    values = {name: fields[name] for name in HASHED}
    values["at"] = iso(values["at"])
    values["prev_hash"] = prev_hash
    return json.dumps(values, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def row_hash(fields: dict, prev_hash: str) -> str:
    return hashlib.sha256(canonical(fields, prev_hash)).hexdigest()


def _fields(entry: AuditEntry) -> dict:
    return {name: getattr(entry, name) for name in HASHED}


def lock_chain(connection) -> None:
    """Hold the chain's writer lock until the transaction ends (PostgreSQL; SQLite holds its write lock already)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK})


def chain_end(connection) -> str:
    """The hash the next row follows: the last row's, or ``GENESIS``."""
    last = connection.execute(select(AuditEntry.row_hash).order_by(AuditEntry.id.desc()).limit(1)).scalar()
    return last or GENESIS


@event.listens_for(Session, "before_flush")
def _chain(session, flush_context, instances) -> None:
    """Link the new rows, in the order they were added, to the end of the chain."""
    entries = [obj for obj in session.new if isinstance(obj, AuditEntry)]
    if not entries:
        return
    # Rows of one mapper are inserted in the order they were added, so ids follow the chain.
    entries.sort(key=lambda entry: entry._sa_instance_state.insert_order)
    connection = session.connection()
    lock_chain(connection)
    previous = chain_end(connection)
    for entry in entries:
        entry.prev_hash = previous
        entry.row_hash = previous = row_hash(_fields(entry), previous)


@event.listens_for(AuditEntry, "before_update")
@event.listens_for(AuditEntry, "before_delete")
def _append_only(mapper, connection, target) -> None:
    raise RuntimeError("the audit log is append-only")


@dataclass
class Verdict:
    rows: int
    broken_at: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def verify(batch: int = 1000) -> Verdict:
    """Walk the chain in id order; the first row whose links or contents do not hold."""
    table = AuditEntry.__table__
    query = select(table).order_by(table.c.id).execution_options(yield_per=batch)
    previous, count = GENESIS, 0
    for row in db.session.execute(query):
        fields = row._mapping
        if fields["prev_hash"] != previous:
            return Verdict(count, fields["id"], "the previous row's hash does not match (a row before it was deleted or changed)")
        if row_hash(fields, previous) != fields["row_hash"]:
            return Verdict(count, fields["id"], "the row's contents do not match its hash (it was changed)")
        previous = fields["row_hash"]
        count += 1
    db.session.commit()
    return Verdict(count)

