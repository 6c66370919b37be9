"""The append-only audit log of the township office.

Every staff action writes one ``AuditEntry`` in the same transaction as the
change it describes, with the values before and after, so the log and the
data cannot disagree. Rows are never updated or deleted: the ORM refuses.
"""

import logging

from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy import event

from .extensions import db
from .models import AuditEntry, Opinion, User

log = logging.getLogger(__name__)


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

    ``actor`` defaults to the signed-in user of the request, if any.
    """
    if actor is None and has_request_context() and current_user and current_user.is_authenticated:
        actor = current_user._get_current_object()
    entry = AuditEntry(
        action=action,
        user_id=actor.id if actor else None,
        username=actor.username if actor else None,
        opinion_uuid=opinion.uuid if opinion else None,
        subject=subject,
        before=before,
        after=after,
        note=note,
        address=request.remote_addr if has_request_context() else None,
    )
    db.session.add(entry)
    log.info("audit %s by %s on %s %s", action, entry.username or "-", entry.opinion_uuid or "-", subject or "")
    return entry


@event.listens_for(AuditEntry, "before_update")
@event.listens_for(AuditEntry, "before_delete")
def _append_only(mapper, connection, target) -> None:
    raise RuntimeError("the audit log is append-only")
