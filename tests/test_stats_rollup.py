"""The dashboard's rollup: the same figures as counting the opinions, kept right by every writer.

The generated year is ``generate_year`` (tests/support/small_year.py):
opinions of four townships in every state, a quarter of them left in the
last or first local half hour of a month.
"""

from datetime import date

import pytest
from sqlalchemy import func, select, text

from kiosk.demo.history import load_history
from kiosk.extensions import db
from kiosk.models import Opinion, OpinionFigures, StaleFigures
from kiosk.ratings import GivenRating
from kiosk.staff import bulk, services as staff
from kiosk.stats import services
from tests.support.factories import make_user, receive_opinion
from tests.support.small_year import generate_year, local

PERIODS = [
    services.Period.year(2019),
    services.Period.year(2020),  # the first hours of 2020, local time
    services.Period(date(2019, 3, 15), date(2019, 7, 10)),  # whole months between two part months
    services.Period(date(2018, 12, 1), date(2019, 1, 31)),
    services.Period(date(2019, 5, 31), date(2019, 6, 1)),  # two days astride a month's end
]


def _rows(rows):
    return [(row.key, row.label, row.note, _numbers(row.counts)) for row in rows]


def _numbers(counts):
    return {name: (pytest.approx(value) if name == "days" else value) for name, value in vars(counts).items()}


def assert_rollup_is_right(township_ids=(None, 1, 2)):
    """The dashboard's figures read from the rollup are those of counting every opinion again."""
    for township_id in township_ids:
        for period in PERIODS:
            kept = services.figures(township_id, period, rollup_cells=True)
            counted = services.figures(township_id, period, rollup_cells=False)
            where = (township_id, period.label)
            assert _numbers(kept.totals) == _numbers(counted.totals), where
            assert _rows(kept.by_category) == _rows(counted.by_category), where
            assert _rows(kept.by_station) == _rows(counted.by_station), where
            assert _rows(kept.by_township) == _rows(counted.by_township), where
            assert _rows(kept.by_month) == _rows(counted.by_month), where


def stale() -> int:
    return db.session.scalar(select(func.count()).select_from(StaleFigures))


@pytest.mark.slow
def test_the_rollup_gives_the_figures_of_counting_every_opinion(hub_app):
    """On SQLite and PostgreSQL, for the city and a township, whole years, whole and part months."""
    with hub_app.app_context():
        generate_year()
        assert stale() == 0
        cells = db.session.scalar(select(func.count()).select_from(OpinionFigures))
        assert 0 < cells < 240
        totals = services.figures(None, services.Period.year(2019)).totals
        assert totals.received > 200 and totals.closed and totals.rated and totals.timed
        assert_rollup_is_right()


def test_the_cells_hold_each_local_month_of_each_station_and_category(hub_app):
    with hub_app.app_context():
        receive_opinion("LC00", category="water", created_at=local(2019, 4, 30, 23, 59))
        receive_opinion("LC00", category="water", created_at=local(2019, 5, 1, 0, 0))
        receive_opinion("LC01", category="water", created_at=local(2019, 5, 1, 0, 1))
        cells = db.session.execute(
            select(OpinionFigures.station_code, OpinionFigures.month, OpinionFigures.received).order_by(
                OpinionFigures.month, OpinionFigures.station_code
            )
        ).all()
        assert cells == [("LC00", date(2019, 4, 1), 1), ("LC00", date(2019, 5, 1), 1), ("LC01", date(2019, 5, 1), 1)]


def test_staff_actions_bulk_actions_merges_and_ratings_keep_the_rollup_right(hub_app):
    with hub_app.app_context():
        generate_year(count=40)
        chair = make_user("chair")
        fresh = [receive_opinion(code, created_at=local(2019, 7, 31, 23, 50)) for code in ["LC00", "LC01"] * 3]
        first, second, third = fresh[:3]
        staff.accept(chair, first)
        staff.close(chair, first, "已修复。")
        staff.record_rating(first, GivenRating("unsatisfied"))  # reopens it
        staff.decline(chair, second, "属于司法程序，请向法院反映。")
        staff.merge(chair, third, first)
        result = bulk.apply_bulk(chair, [o.uuid for o in fresh[3:]], lambda o: staff.accept(chair, o))
        assert result.items
        assert stale() == 0  # counted as each action committed, not later
        assert_rollup_is_right()


def test_the_sync_intake_and_the_demo_loader_keep_the_rollup_right(hub_app):
    with hub_app.app_context():
        load_history(2019)
        receive_opinion("SL00", created_at=local(2019, 8, 31, 23, 45))
        assert stale() == 0
        assert services.figures(None, services.Period.year(2019)).totals.received == 393
        assert_rollup_is_right()


def test_writers_outside_the_apps_session_are_counted_before_the_dashboard_reads(hub_app):
    """As the benchmark's loader writes: plain SQL on a connection of its own (on PostgreSQL with
    session_replication_role = replica, which silences ordinary triggers)."""
    with hub_app.app_context():
        uuids = [o.uuid for o in generate_year(count=30)]
        services.figures(None, services.Period.year(2019))  # read once, so cells exist to go stale
        db.session.commit()  # SQLite: one writer at a time
        postgresql = db.engine.dialect.name == "postgresql"
        with db.engine.begin() as conn:
            if postgresql:
                conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(
                text("UPDATE opinions SET status = 'closed', satisfaction = 'satisfied' WHERE uuid = :uuid"),
                {"uuid": uuids[0]},
            )
            later = "created_at + interval '40 days'" if postgresql else "datetime(created_at, '+40 days')"
            conn.execute(text(f"UPDATE opinions SET created_at = {later} WHERE uuid = :uuid"), {"uuid": uuids[1]})
            conn.execute(text("DELETE FROM opinion_events WHERE opinion_uuid = :uuid"), {"uuid": uuids[2]})
            conn.execute(text("DELETE FROM opinions WHERE uuid = :uuid"), {"uuid": uuids[2]})
        db.session.expire_all()
        assert stale() > 0
        assert_rollup_is_right()
        assert stale() == 0


def test_a_change_of_an_uncounted_field_leaves_the_rollup_alone(hub_app):
    with hub_app.app_context():
        opinion = receive_opinion("LC00", created_at=local(2019, 3, 1, 9))
        opinion.key_supervision = True
        opinion.public_reply = "已转交。"
        db.session.flush()
        assert stale() == 0
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(Opinion)) == 1
