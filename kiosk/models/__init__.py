"""All models, importable from one place."""

from .kiosk_state import Draft, PrintJob
from .opinions import Category, Opinion, OpinionEvent, OpinionStatus, ReceiptCounter
from .people import Deputy, station_deputies
from .places import BoxIdentity, Station, StationLevel, Township
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

__all__ = [
    "BoxIdentity",
    "Category",
    "Deputy",
    "Draft",
    "EnrolmentToken",
    "Opinion",
    "OpinionEvent",
    "OpinionStatus",
    "PrintJob",
    "ReceiptCounter",
    "SetAsideRecord",
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
