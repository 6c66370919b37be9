"""Bulk actions on the ticked rows of the queue: 受理 or 转办 many opinions at once.

Each opinion is its own transaction, so one refused leaves the others done;
the refusals come back with their reasons, in the order ticked.
"""

import logging
from dataclasses import dataclass, field

from sqlalchemy import select

from ..auth.scope import opinions_for, record_denied
from ..extensions import db
from ..models import Assignment, Opinion, User
from . import services
from .queue import PAGE_SIZE

log = logging.getLogger(__name__)


def opinions_by_uuid(user: User, uuids: list[str]) -> list[Opinion]:
    """The opinions among ``uuids`` that ``user`` may see, in the order given."""
    wanted = [u for u in dict.fromkeys(uuids) if isinstance(u, str) and 0 < len(u) <= 36][:PAGE_SIZE * 4]
    if not wanted:
        return []
    found = {o.uuid: o for o in db.session.scalars(opinions_for(user).where(Opinion.uuid.in_(wanted)))}
    if missing := [u for u in wanted if u not in found]:
        # Another township's opinions are skipped like unknown ones, and noted.
        record_denied(user, db.session.scalars(select(Opinion).where(Opinion.uuid.in_(missing))).all())
    return [found[u] for u in wanted if u in found]

@dataclass
class BulkDone:
    uuid: str
    receipt_number: str
    # The assignment a bulk 转办 made (for its slip); None for 受理.
    assignment_id: int | None = None


@dataclass
class BulkResult:
    done: int
    # (receipt number or "", why it was skipped), in the order ticked.
    skipped: list[tuple[str, str]]
    # What was done, in the order ticked.
    items: list[BulkDone] = field(default_factory=list)

    @property
    def assignment_ids(self) -> list[int]:
        return [item.assignment_id for item in self.items if item.assignment_id is not None]


def apply_bulk(user: User, uuids: list[str], action, not_found: str = "找不到这条意见，或无权处理。") -> BulkResult:
    """Apply ``action(opinion)`` to each ticked opinion ``user`` may see.

    Each opinion is its own transaction (the services commit), so one that
    is refused (its status moved on, say) leaves the others done; the
    refusals come back with their Chinese reasons.
    """
    opinions = opinions_by_uuid(user, uuids)
    skipped = [("", not_found)] * (len(set(uuids)) - len(opinions))
    items = []
    for opinion in opinions:
        try:
            made = action(opinion)
        except services.ActionRefused as refused:
            skipped.append((opinion.receipt_number, refused.message))
        else:
            assignment_id = made.id if isinstance(made, Assignment) else None
            items.append(BulkDone(opinion.uuid, opinion.receipt_number, assignment_id))
    log.info("bulk by %s: %d done, %d skipped", user.username, len(items), len(skipped))
    return BulkResult(len(items), skipped, items)
