"""What a pushed batch costs the databases, counted statement by statement.

Counts, not times: they do not depend on the machine. A batch of forty
opinions costs the hub and the station exactly what a batch of three does,
so a change that puts a statement per record back into the push path fails
here instead of slowly eating the sync benchmark's margin.
"""

from collections import Counter
from contextlib import contextmanager

from sqlalchemy import event, func, select

from kiosk.clock import now, to_local
from kiosk.extensions import db
from kiosk.models import Deputy, Opinion, OpinionEvent, OpinionStatus, SetAsideRecord, StaleFigures
from kiosk.stats import services
from tests.support.factories import make_opinion
from tests.support.inprocess import sync
from tests.support.statements import statement_kind

CONTACT = {"anonymous": False, "name": "陈大文", "phone": "13800000000", "consent_version": "2026-11"}


def _kind(statement: str) -> str:
    """A write as its verb and table (an INSERT … SELECT and an UPDATE … IN
    (SELECT …) too), anything else as ``statement_kind`` tells."""
    words = statement.replace("(", " ").split()
    if words[0] == "WITH":
        # Writes in a common table expression, then the statement's own.
        return " + ".join(f"INSERT {words[i + 2]}" for i, word in enumerate(words) if word == "INSERT")
    if words[0] in ("INSERT", "DELETE"):
        return f"{words[0]} {words[2]}"
    if words[0] == "UPDATE":
        return f"UPDATE {words[1]}"
    return statement_kind(statement)


@contextmanager
def counted(app):
    """Every statement sent to this app's database meanwhile (any thread), as ``_kind``s."""
    with app.app_context():
        engine = db.engine
    kinds: Counter = Counter()

    def on_statement(conn, cursor, statement, parameters, context, executemany):
        kinds[_kind(statement)] += 1

    event.listen(engine, "before_cursor_execute", on_statement)
    try:
        yield kinds
    finally:
        event.remove(engine, "before_cursor_execute", on_statement)


def submit(station_app, n):
    with station_app.app_context():
        return [
            make_opinion("LC00", content=f"第{i}条：村口的路灯坏了。", category="road" if i % 3 else "water", **(CONTACT if i % 2 else {})).uuid
            for i in range(n)
        ]


def push_cost(station_app, hub_app, transport, n):
    """Statements at the hub while it stores a push of ``n`` new opinions, and
    at the station for the whole sync (reading the batch, recording the
    answer, the pull that follows)."""
    submit(station_app, n)
    hub_kinds: Counter = Counter()
    send = transport.send

    def send_counted(method, path, headers, body):
        if not path.endswith("/push"):
            return send(method, path, headers, body)
        with counted(hub_app) as kinds:
            reply = send(method, path, headers, body)
        hub_kinds.update(kinds)
        return reply

    transport.send = send_counted
    try:
        with counted(station_app) as station_kinds:
            result = sync(station_app, transport)
    finally:
        transport.send = send
    assert result.ok, result.error
    assert (result.pushed, result.acknowledged) == (n, n)
    return hub_kinds, station_kinds


def test_a_batch_of_forty_costs_the_hub_and_station_what_a_batch_of_three_does(station_app, hub_app, transport):
    # The first sync also brings the reference data; the two measured ones do not.
    assert sync(station_app, transport).ok
    hub_small, station_small = push_cost(station_app, hub_app, transport, 3)
    hub_large, station_large = push_cost(station_app, hub_app, transport, 40)
    assert hub_large == hub_small
    postgres = hub_app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")
    assert hub_large == Counter(
        {
            # The request's signature: its station (with the station's row and the
            # hub database's, for the township and the answer) and its nonce, noted
            # unless it was already (one statement, no savepoint).
            "SELECT sync_stations": 1,
            "INSERT sync_nonces": 1,
            # What the hub holds already: these UUIDs, these receipt numbers.
            "SELECT opinions": 2,
            # Due dates.
            "SELECT categories": 1,
            # The new opinions and their first two status steps ("submitted",
            # "received"): one statement on PostgreSQL; on SQLite an
            # executemany and an INSERT … SELECT.
            **(
                {"INSERT opinions + INSERT opinion_events": 1}
                if postgres
                else {"BEGIN": 1, "INSERT opinions": 1, "INSERT opinion_events": 1}
            ),
            # The station's last contact and backlog.
            "UPDATE sync_stations": 1,
            # Nothing for the dashboard's rollup: the batch's days stay listed
            # stale (by the database's trigger) and are counted when it reads.
        }
    )
    # The station records an answer with one UPDATE and one INSERT … SELECT, and
    # forgets the names and phones a backup of the hub holds with one more UPDATE:
    # the same few statements for three opinions as for forty.
    assert station_large["UPDATE opinions"] == station_small["UPDATE opinions"] <= 3
    assert station_large["INSERT opinion_events"] == 1


def test_a_pushed_batch_is_stored_and_recorded_as_before(station_app, hub_app, transport):
    uuids = submit(station_app, 12)
    assert sync(station_app, transport).ok
    with hub_app.app_context():
        opinions = {o.uuid: o for o in db.session.scalars(select(Opinion))}
        assert set(opinions) == set(uuids)
        for o in opinions.values():
            assert o.status == OpinionStatus.RECEIVED and o.township_id is not None
            assert o.accept_due_on is not None and o.close_due_on >= o.accept_due_on
            steps = [(e.status, e.at) for e in o.events]
            assert steps == [(OpinionStatus.SUBMITTED, o.created_at), (OpinionStatus.RECEIVED, o.hub_received_at)]
        with_contact = [o for o in opinions.values() if o.consent_version]
        assert len(with_contact) == 6 and all(o.contact_phone == "13800000000" for o in with_contact)
        received = {o.uuid: o.hub_received_at for o in opinions.values()}
    with station_app.app_context():
        for o in db.session.scalars(select(Opinion).where(Opinion.uuid.in_(uuids))):
            assert o.acknowledged_at is not None and o.hub_received_at == received[o.uuid]
            assert o.status == OpinionStatus.RECEIVED
            assert o.contact_name is None and o.contact_phone is None
            assert [e.status for e in o.events] == [OpinionStatus.SUBMITTED, OpinionStatus.RECEIVED]
        # A repeated answer changes nothing more.
        events = db.session.scalar(select(db.func.count()).select_from(OpinionEvent))
    assert sync(station_app, transport).ok
    with station_app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(OpinionEvent)) == events


def test_chosen_deputies_go_in_with_the_batch_and_one_the_hub_does_not_know_is_set_aside(station_app, hub_app, transport):
    assert sync(station_app, transport).ok  # the station learns its deputies
    uuids = submit(station_app, 4)
    with station_app.app_context():
        known = db.session.scalars(select(Deputy).order_by(Deputy.id)).first()
        db.session.add(Deputy(id=999_999, name="不在镇人大办名册", township_id=known.township_id))
        chosen = {uuids[0]: known.id, uuids[1]: known.id, uuids[2]: 999_999, uuids[3]: None}
        for uuid, deputy_id in chosen.items():
            db.session.get(Opinion, uuid).deputy_id = deputy_id
        db.session.commit()
    result = sync(station_app, transport)
    assert result.ok and (result.acknowledged, result.refused) == (3, 1)
    with hub_app.app_context():
        at_hub = {o.uuid: o.deputy_id for o in db.session.scalars(select(Opinion))}
    assert at_hub == {uuid: deputy_id for uuid, deputy_id in chosen.items() if deputy_id != 999_999}
    with station_app.app_context():
        assert db.session.get(SetAsideRecord, uuids[2]).reason == "unknown_deputy"
        assert db.session.get(Opinion, uuids[2]).acknowledged_at is None


def test_a_push_leaves_the_dashboards_figures_to_be_counted_when_it_reads(station_app, hub_app, transport):
    """The rollup is not recounted inside a push (stations' pushes would queue on it):
    the batch's days stay listed stale, and the dashboard counts them before it reads."""
    assert sync(station_app, transport).ok
    with hub_app.app_context():
        year = services.Period.year(to_local(now()).year)
        before = services.figures(None, year).totals.received
        assert _stale() == 0
    submit(station_app, 5)
    assert sync(station_app, transport).ok
    with hub_app.app_context():
        assert _stale() > 0
        kept = services.figures(None, year, rollup_cells=True)
        assert kept.totals.received == before + 5
        assert vars(kept.totals) == vars(services.figures(None, year, rollup_cells=False).totals)
        assert _stale() == 0


def _stale() -> int:
    return db.session.scalar(select(func.count()).select_from(StaleFigures))
