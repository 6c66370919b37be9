"""The opinion lifecycle at the township office (12345 hotline workflow).

受理 → 转办 → 办理 → 答复 → 办结 → 回访, with 回退, 延期 and 催办.
Every action takes the acting user first, refuses what is not allowed with
``ActionRefused`` (changing nothing), and otherwise commits the change with
one public event (when the public status changes) and one audit row.
"""

from datetime import date, datetime

from ..models import Assignment, Department, Opinion, Rating, RatingSource, Topic, User


class ActionRefused(Exception):
    """An action that is not allowed; ``message`` is shown to staff (Chinese)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


ALLOWED: dict[str, set[str]] = {}


def allowed_actions(actor: User, opinion: Opinion) -> list[str]:
    raise NotImplementedError


def accept(actor: User, opinion: Opinion, note: str | None = None) -> None:
    raise NotImplementedError


def forward(
    actor: User, opinion: Opinion, department: Department, due_on: date | None = None, instructions: str | None = None
) -> Assignment:
    raise NotImplementedError


def return_assignment(actor: User, assignment: Assignment, reason: str) -> None:
    raise NotImplementedError


def request_extension(actor: User, assignment: Assignment, until: date, reason: str) -> None:
    raise NotImplementedError


def decide_extension(actor: User, assignment: Assignment, approve: bool) -> None:
    raise NotImplementedError


def remind(actor: User, assignment: Assignment, note: str | None = None) -> None:
    raise NotImplementedError


def record_reply(actor: User, assignment: Assignment, reply: str) -> None:
    raise NotImplementedError


def close(actor: User, opinion: Opinion, public_reply: str) -> None:
    raise NotImplementedError


def decline(actor: User, opinion: Opinion, public_reason: str) -> None:
    raise NotImplementedError


def merge(actor: User, duplicate: Opinion, original: Opinion) -> None:
    raise NotImplementedError


def set_key_supervision(actor: User, opinion: Opinion, on: bool) -> None:
    raise NotImplementedError


def create_topic(actor: User, township_id: int | None, title: str, description: str | None = None) -> Topic:
    raise NotImplementedError


def attach_topic(actor: User, opinion: Opinion, topic: Topic | None) -> None:
    raise NotImplementedError


def replace_receipt(actor: User, opinion: Opinion) -> str:
    raise NotImplementedError


def record_rating(
    opinion: Opinion,
    value: str,
    comment: str | None = None,
    source: str = RatingSource.STATUS_PAGE,
    actor: User | None = None,
    station_code: str | None = None,
    uuid: str | None = None,
    created_at: datetime | None = None,
    commit: bool = True,
) -> Rating:
    raise NotImplementedError


def bulk_accept(actor: User, opinions) -> int:
    raise NotImplementedError


def bulk_forward(actor: User, opinions, department: Department, due_on: date | None = None) -> int:
    raise NotImplementedError


def is_overdue(opinion: Opinion, today: date) -> bool:
    raise NotImplementedError


def overdue_condition(today: date):
    raise NotImplementedError
