"""All models, importable from one place."""

from .casework import Assignment, AssignmentState, Department, ExtensionState, Rating, RatingSource, Topic
from .deputy_records import AssistedEntry, DutyCheckin, DutyCheckout, ReceptionEntry
from .duty import DutyShift
from .figures import OpinionFigures, StaleFigures
from .kiosk_state import Draft, PrintJob
from .limits import LimitFailure
from .opinions import (
    CONTENT_MAX,
    FINISHED_STATUSES,
    Category,
    Opinion,
    OpinionEvent,
    OpinionStatus,
    ReceiptCounter,
    Satisfaction,
)
from .people import LEVELS, SEXES, TOWNSHIP_LEVEL, Deputy, DeputyPhoto, new_public_id, station_deputies
from .places import BoxIdentity, Station, StationLevel, Township
from .staff import AuditEntry, LoginAttempt, Role, StaffSession, User
from .sync import (
    EnrolmentToken,
    HubDatabase,
    SetAsideRecord,
    SyncAudit,
    SyncChange,
    SyncConflict,
    SyncNonce,
    SyncSequence,
    SyncState,
    SyncStation,
)
from .types import UTCDateTime, utcnow

__all__ = [
    "HubDatabase",
    "AssistedEntry",
    "DutyCheckin",
    "DutyCheckout",
    "ReceptionEntry",
    "CONTENT_MAX",
    "FINISHED_STATUSES",
    "Assignment",
    "AssignmentState",
    "AuditEntry",
    "Department",
    "ExtensionState",
    "LimitFailure",
    "LoginAttempt",
    "OpinionFigures",
    "Rating",
    "RatingSource",
    "Role",
    "Satisfaction",
    "StaffSession",
    "Topic",
    "User",
    "BoxIdentity",
    "Category",
    "Deputy",
    "DeputyPhoto",
    "LEVELS",
    "SEXES",
    "TOWNSHIP_LEVEL",
    "new_public_id",
    "Draft",
    "DutyShift",
    "EnrolmentToken",
    "Opinion",
    "OpinionEvent",
    "OpinionStatus",
    "PrintJob",
    "ReceiptCounter",
    "SetAsideRecord",
    "StaleFigures",
    "Station",
    "StationLevel",
    "SyncAudit",
    "SyncChange",
    "SyncConflict",
    "SyncNonce",
    "SyncSequence",
    "SyncState",
    "SyncStation",
    "Township",
    "UTCDateTime",
    "station_deputies",
    "utcnow",
]
