"""What the holder of a receipt sees of its opinion's progress: public text only."""

from dataclasses import dataclass
from datetime import datetime

from ..models import Opinion, OpinionStatus, utcnow
from ..models.opinions import EVENT_KIND_LABELS
from ..ratings import MERGE_DEPTH, merged_original


@dataclass(frozen=True)
class ProgressStep:
    """One line of the public status history."""

    status: str
    at: datetime
    note: str | None
    # A step that is no change of status (a deputy's answer): ``OpinionEvent.kind``.
    kind: str | None = None

    @property
    def status_label(self) -> str:
        return EVENT_KIND_LABELS.get(self.kind) or OpinionStatus(self.status).label


@dataclass(frozen=True)
class Progress:
    """An opinion's public progress: status, public reply, status history.

    Public text only (never staff names or contact details). For a merged
    duplicate it is the original's progress, after the duplicate's own first
    steps and a line naming the original's receipt.
    """

    status: str
    public_reply: str | None
    steps: list[ProgressStep]
    merged: bool

    @property
    def status_label(self) -> str:
        return OpinionStatus(self.status).label


def progress(opinion: Opinion) -> Progress:
    """What the receipt's holder sees of ``opinion``.

    At the hub a merged duplicate follows its original (the rule of
    ``kiosk.ratings.followed``), live: its own first steps, a line naming the
    original's receipt and the original's steps (before the merge and after,
    but for its own arrival), in time order, under the original's status and
    public reply. A station holds what the hub last sent (``kiosk.sync.hub.opinion_state``
    sends this same progress), so there the stored fields are the progress,
    and a "merged" line in the history marks a duplicate.
    """
    return _progress(opinion, 0)


def _progress(opinion: Opinion, depth: int) -> Progress:
    steps = [ProgressStep(e.status, e.at, e.note, e.kind) for e in opinion.events]
    original = merged_original(opinion)
    if original is None or depth >= MERGE_DEPTH:
        merged = opinion.merged_into_uuid is not None or any(s.status == OpinionStatus.MERGED for s in steps)
        return Progress(opinion.status, opinion.public_reply, steps, merged)
    shown = _progress(original, depth + 1)
    merge_steps = [s for s in steps if s.status == OpinionStatus.MERGED]
    merged_at = merge_steps[-1].at if merge_steps else (opinion.updated_at or utcnow())
    own = [s for s in steps if s.status != OpinionStatus.MERGED and s.at <= merged_at]
    # The hub's merge note sends the holder to the other receipt, whose 验证码
    # they do not have; here that receipt's progress follows directly: what the
    # office did on it before the merge (受理, 转办 and its due date) as much as
    # after, all in the order it happened (a station orders the history by
    # time too). Only the original's own arrival (登记, 收到) is left out: the
    # holder's receipt has its own.
    line = ProgressStep(
        OpinionStatus.MERGED,
        merged_at,
        f"已与回执 {original.receipt_number} 合并办理（同类意见），本页显示合并办理的全部进度。",
    )
    theirs = [s for s in shown.steps if s.status not in _ARRIVAL]
    steps = sorted([*own, line, *theirs], key=lambda s: s.at)
    return Progress(shown.status, shown.public_reply, steps, True)


_ARRIVAL = frozenset({OpinionStatus.SUBMITTED, OpinionStatus.RECEIVED})
