"""``deputies file ID --year YYYY --json``: a deputy's year in figures, from the records,
checked against a data set whose every figure is known."""

import json
from datetime import date, datetime, time, timezone

from sqlalchemy import select

from kiosk.clock import zone
from kiosk.extensions import db
from kiosk.models import AssistedEntry, DutyCheckin, DutyShift, Opinion, OpinionStatus, ReceptionEntry, Station
from tests.support.factories import receive_opinion

D1, D2, D3, D4 = date(2026, 3, 2), date(2026, 3, 9), date(2026, 3, 16), date(2026, 3, 20)


def at(day: date, hour: int = 9) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=zone()).astimezone(timezone.utc)


def known_year(hub) -> tuple[int, int]:
    """A deputy's 2026 with every figure known (see the assertions), and another deputy's noise."""
    with hub.app_context():
        lc00 = db.session.get(Station, "LC00")
        me, other = lc00.deputies[0].id, lc00.deputies[1].id
        lc01, far = "LC01", next(s.code for s in db.session.scalars(select(Station)) if s.code not in ("LC00", "LC01"))
        db.session.add_all([
            DutyShift(station_code="LC00", deputy_id=me, on=D1),
            DutyShift(station_code="LC00", deputy_id=me, on=D2),
            DutyShift(station_code=lc01, deputy_id=me, on=D2),  # two stations, one day
            DutyShift(station_code="LC00", deputy_id=me, on=D3),
            DutyShift(station_code="LC00", deputy_id=me, on=date(2025, 12, 29)),  # another year
            DutyShift(station_code="LC00", deputy_id=other, on=D1),
        ])  # fmt: skip
        first = DutyCheckin(station_code="LC00", deputy_id=me, created_at=at(D1))  # attends D1
        second = DutyCheckin(station_code=lc01, deputy_id=me, created_at=at(D2, 14))  # attends D2 at LC01
        wrong_place = DutyCheckin(station_code=far, deputy_id=me, created_at=at(D3))  # D3 not at LC00
        unplanned = DutyCheckin(station_code="LC00", deputy_id=me, created_at=at(D4))  # no shift
        last_year = DutyCheckin(station_code="LC00", deputy_id=me, created_at=at(date(2025, 12, 29)))
        theirs = DutyCheckin(station_code="LC00", deputy_id=other, created_at=at(D1))
        db.session.add_all([first, second, wrong_place, unplanned, last_year, theirs])
        db.session.flush()
        db.session.add_all([
            ReceptionEntry(checkin_uuid=first.uuid, people=3, created_at=at(D1, 10)),
            ReceptionEntry(checkin_uuid=first.uuid, people=2, about="修路", created_at=at(D1, 11)),
            ReceptionEntry(checkin_uuid=unplanned.uuid, people=1, created_at=at(D4, 10)),
            ReceptionEntry(checkin_uuid=last_year.uuid, people=7, created_at=at(date(2025, 12, 29), 10)),
            ReceptionEntry(checkin_uuid=theirs.uuid, people=10, created_at=at(D1, 10)),
        ])  # fmt: skip
        chosen = [receive_opinion(deputy_id=me, created_at=at(day)) for day in (D1, D2, D3)]
        receive_opinion(deputy_id=me, created_at=at(date(2025, 12, 30)))
        receive_opinion(deputy_id=other, created_at=at(D1))
        chosen[0].status = OpinionStatus.CLOSED
        typed = [receive_opinion(created_at=at(D1, 10)), receive_opinion(created_at=at(D4, 10))]
        db.session.add_all([
            AssistedEntry(checkin_uuid=first.uuid, opinion_uuid=typed[0].uuid, created_at=at(D1, 10)),
            AssistedEntry(checkin_uuid=unplanned.uuid, opinion_uuid=typed[1].uuid, created_at=at(D4, 10)),
        ])  # fmt: skip
        db.session.commit()
        assert db.session.scalar(select(Opinion.status).where(Opinion.uuid == chosen[0].uuid)) == "closed"
        return me, other


def test_the_deputy_file_counts_a_known_year(hub):
    me, _other = known_year(hub)
    result = hub.test_cli_runner().invoke(args=["deputies", "file", str(me), "--year", "2026", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {
        "duty_days_planned": 3,
        "duty_days_attended": 2,
        "checkins": 4,
        "people_received": 6,
        "assisted_entries": 2,
        "opinions_addressed": 3,
        "opinions_closed": 1,
        # The desk's figures (tests/test_desk.py): none made here.
        "suggestions": 0,
        "suggestions_closed": 0,
        "answers": 0,
        "diary_entries": 0,
        "ratings": {"satisfied": 0, "basic": 0, "unsatisfied": 0},
        "activities": 0,
        "report_backs": 0,
        "topics": 0,
    }
    last = json.loads(hub.test_cli_runner().invoke(args=["deputies", "file", str(me), "--year", "2025", "--json"]).output)
    assert (last["duty_days_planned"], last["duty_days_attended"], last["checkins"], last["people_received"]) == (1, 1, 1, 7)
    assert last["opinions_addressed"] == 1 and last["assisted_entries"] == 0


def test_the_deputy_file_in_words_and_its_refusals(hub):
    me, _other = known_year(hub)
    result = hub.test_cli_runner().invoke(args=["deputies", "file", str(me), "--year", "2026"])
    assert result.exit_code == 0 and "履职档案" in result.output and "接待群众人数\t6" in result.output
    result = hub.test_cli_runner().invoke(args=["deputies", "file", "999999", "--year", "2026"])
    assert result.exit_code == 1 and "没有编号为 999999 的代表" in result.output
    assert hub.test_cli_runner().invoke(args=["deputies", "file", str(me)]).exit_code == 2
