"""All models, importable from one place."""

from .casework import Assignment, AssignmentState, Department, ExtensionState, Rating, RatingSource, Topic
from .desk import DeskNote, DiaryEntry, SuggestionAttachment
from .deputy_records import AssistedEntry, DutyCheckin, DutyCheckout, ReceptionEntry
from .duty import DutyShift
from .figures import OpinionFigures, StaleFigures
from .kiosk_state import Draft, PrintJob
from .limits import LimitFailure
from .opinions import (
    CONTENT_MAX,
    DEPUTY_ANSWER,
    FINISHED_STATUSES,
    Category,
    Channel,
    Opinion,
    OpinionEvent,
    OpinionStatus,
    ReceiptCounter,
    Satisfaction,
)
from .people import LEVELS, SEXES, TOWNSHIP_LEVEL, Deputy, DeputyPhoto, new_public_id, station_deputies
from .places import BoxIdentity, Station, StationLevel, Township
from .staff import STAFF_ROLES, AuditEntry, LoginAttempt, Role, StaffSession, User
from .sync import (
    EnrolmentToken,
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
from .voice import VoiceMessage

__all__ = [
    "DEPUTY_ANSWER",
    "DeskNote",
    "DiaryEntry",
    "STAFF_ROLES",
    "SuggestionAttachment",
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
    "Channel",
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
    "VoiceMessage",
]
