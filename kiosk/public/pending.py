"""What the hub can honestly say about a receipt it does not hold.

A receipt number names its station (``<CODE>-<YYMMDD>-<NNNN>``). When the
hub has no opinion with that number but the station code is one of its own
stations and the date is a real date, the truthful answer is "the station
has not sent this to the township office yet", with when the station last
got in touch. The secret cannot be checked for a record the hub does not
have, so this page shows nothing about the opinion itself.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from ..clock import today
from ..extensions import db
from ..models import Opinion, Station, SyncStation
from ..receipts.numbers import NUMBER

NOT_YET_SENT = "联络站还没有把这条意见送到镇人大办"


@dataclass(frozen=True)
class PendingReceipt:
    number: str
    station_name: str
    # When the station last reached the hub; None if never.
    last_contact_at: datetime | None
    message: str = NOT_YET_SENT


def pending_receipt(number: str | None) -> PendingReceipt | None:
    """Describe a receipt the hub has not received yet, or None.

    None when the number is malformed, its station is not one of this hub's
    (or is the township's online station, whose numbers the hub itself issues),
    its date is not a real date or lies more than a day ahead, or the hub
    does hold an opinion with this number (then a wrong 验证码 is the issue,
    and the caller's ordinary "not found" page is the truthful one).
    """
    number = (number or "").strip().upper()
    match = NUMBER.fullmatch(number)
    if match is None:
        return None
    code, day, _serial = match.groups()
    try:
        issued = datetime.strptime(day, "%y%m%d").date()
    except ValueError:
        return None
    if issued > today() + timedelta(days=1):
        return None
    station = db.session.get(Station, code)
    # The online station's receipts are made here: one the hub lacks was never issued.
    if station is None or station.is_online:
        return None
    if db.session.scalar(select(Opinion.uuid).where(Opinion.receipt_number == number)) is not None:
        return None
    link = db.session.get(SyncStation, code)
    return PendingReceipt(number, station.name, link.last_contact_at if link else None)
