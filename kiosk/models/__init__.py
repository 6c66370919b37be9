"""All models, importable from one place."""

from .kiosk_state import Draft, PrintJob
from .opinions import Category, Opinion, OpinionEvent, OpinionStatus, ReceiptCounter
from .people import Deputy, station_deputies
from .places import BoxIdentity, Station, StationLevel, Township
from .types import UTCDateTime, utcnow

__all__ = [
    "BoxIdentity",
    "Category",
    "Deputy",
    "Draft",
    "Opinion",
    "OpinionEvent",
    "OpinionStatus",
    "PrintJob",
    "ReceiptCounter",
    "Station",
    "StationLevel",
    "Township",
    "UTCDateTime",
    "station_deputies",
    "utcnow",
]
