"""At the hub, per station and month: the duty roster against who actually checked in."""

import re
from datetime import date, datetime, time, timezone

from kiosk.clock import zone
from kiosk.extensions import db
from kiosk.models import DutyCheckin, Station
from kiosk.roster import services as roster
from tests.support.factories import make_user

HOME = "LC00"


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """A local (Asia/Shanghai) time, in UTC as records carry it."""
    return datetime.combine(day, time(hour, minute), tzinfo=zone()).astimezone(timezone.utc)


def test_the_month_page_marks_shifts_attended_missed_and_check_ins_without_a_shift(hub, clerk):
    with hub.app_context():
        clerk_user = make_user()
        here = db.session.get(Station, HOME)
        first, second = here.deputies[0], here.deputies[1]
        planned = date(2026, 1, 15)
        kept = roster.add_shift(clerk_user, here, first.id, planned, today=date(2026, 1, 1))
        missed = roster.add_shift(clerk_user, here, first.id, date(2026, 1, 16), today=date(2026, 1, 1))
        elsewhere = next(s.code for s in db.session.scalars(db.select(Station)) if s.code != HOME)
        db.session.add_all([
            # 07:30 local on the 15th is still the 14th in UTC: the local day counts.
            DutyCheckin(station_code=HOME, deputy_id=first.id, created_at=at(planned, 7, 30)),
            # The 16th, but at another station: not this shift.
            DutyCheckin(station_code=elsewhere, deputy_id=first.id, created_at=at(date(2026, 1, 16), 9)),
            # A deputy with no shift that day.
            DutyCheckin(station_code=HOME, deputy_id=second.id, created_at=at(date(2026, 1, 20), 14, 5)),
        ])  # fmt: skip
        db.session.commit()
        kept_id, missed_id, second_name = kept.id, missed.id, second.name
    page = clerk.get(f"/staff/roster/{HOME}?month=2026-01").text
    cell = lambda shift_id: re.search(rf'data-testid="attended-{shift_id}">(.*?)</td>', page, re.S).group(1)  # noqa: E731
    assert "已签到 07:30" in cell(kept_id)
    assert "未签到" in cell(missed_id)
    unplanned = re.search(r'data-testid="unplanned-checkins">(.*?)</ul>', page, re.S).group(1)
    assert f"1月20日 14:05 {second_name}" in unplanned
    # Another month shows none of it.
    assert "已签到" not in clerk.get(f"/staff/roster/{HOME}?month=2026-02").text
