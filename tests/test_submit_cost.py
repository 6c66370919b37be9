"""What a tap on "submit" costs the database, counted statement by statement.

Counts, not times: they do not depend on the machine, so a change that adds
a read or a commit to the submit path fails here instead of slowly eating
the benchmark's margin. Only the request's own statements are counted; the
printer's background thread has its own transactions.
"""

import sqlite3
import threading
from collections import Counter
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from kiosk.extensions import db
from kiosk.intake import routes as intake_routes
from kiosk.receipts import printing
from tests.support.crashes import ClientVillager, unique_content
from tests.support.statements import statement_kind


class Cost:
    def __init__(self):
        self.statements: list[str] = []
        self.parameters: list = []
        self.commits = 0

    @property
    def kinds(self) -> Counter:
        """Each statement as its verb and table: ``"INSERT opinions"``, ``"COUNT opinions"``."""
        return Counter(statement_kind(s) for s in self.statements)

    @property
    def writes(self) -> list[str]:
        return [s for s in self.statements if s.split()[0] in ("INSERT", "UPDATE", "DELETE")]


@contextmanager
def counted(app):
    """Statements and commits this thread sends to the database meanwhile."""
    with app.app_context():
        engine = db.engine
    cost, thread = Cost(), threading.get_ident()

    def on_statement(conn, cursor, statement, parameters, context, executemany):
        if threading.get_ident() == thread:
            cost.statements.append(statement)
            cost.parameters.append(parameters)

    def on_commit(conn):
        if threading.get_ident() == thread:
            cost.commits += 1

    event.listen(engine, "before_cursor_execute", on_statement)
    event.listen(engine, "commit", on_commit)
    try:
        yield cost
    finally:
        event.remove(engine, "before_cursor_execute", on_statement)
        event.remove(engine, "commit", on_commit)


@pytest.fixture
def villager(client):
    person = ClientVillager(client)
    # The day's receipt counter exists from the first submission on.
    person.fill_in(unique_content("first of the day"))
    assert person.submit().receipt_number
    return person


def test_a_submission_is_one_transaction_with_one_commit(app, villager):
    villager.fill_in(unique_content())
    with counted(app) as cost:
        page = villager.submit()
    assert page.status == 200 and page.receipt_number
    assert cost.commits == 1
    assert cost.kinds == Counter(
        {
            "BEGIN": 1,
            "SELECT stations": 1,  # which station this box is, for the screen
            "SELECT drafts": 1,
            "SELECT opinions": 1,  # submissions in the last minute, per station
            "SELECT categories": 1,
            "UPDATE receipt_counters": 1,  # RETURNING the new serial
            "INSERT opinions": 1,
            "INSERT opinion_events": 1,
            "INSERT print_jobs": 1,
            "DELETE drafts": 1,
        }
    ), cost.statements


def test_the_rate_check_reads_only_the_last_minute(app, villager):
    """Not every opinion the station ever took: a box is used for years."""
    villager.fill_in(unique_content())
    with counted(app) as cost:
        villager.submit()
    [(statement, parameters)] = [
        (s, p) for s, p in zip(cost.statements, cost.parameters) if "count(*)" in s and "opinions" in s
    ]
    with sqlite3.connect(app.instance_path + "/kiosk.sqlite3") as other:
        plan = " ".join(row[-1] for row in other.execute("EXPLAIN QUERY PLAN " + statement, parameters))
    assert "USING INDEX ix_opinions_created_at" in plan, plan


def test_a_second_tap_writes_nothing(app, villager):
    villager.fill_in(unique_content())
    first = villager.submit()
    with counted(app) as cost:
        again = villager.submit()
    assert again.receipt_number == first.receipt_number
    assert cost.commits == 0 and cost.writes == []
    # Station, draft (gone), opinion, its print job, reprints so far, category.
    assert len(cost.statements) <= 7, cost.statements


def test_the_wait_screen_writes_nothing(app, client):
    app.config["SUBMIT_PER_MINUTE"] = 1
    person = ClientVillager(client)
    person.fill_in(unique_content())
    assert person.submit().receipt_number
    person.fill_in(unique_content())
    with counted(app) as cost:
        page = person.submit()
    assert page.status == 200 and page.receipt_number is None
    assert cost.commits == 0 and cost.writes == []


def test_printing_starts_once_the_opinion_and_its_job_are_committed_and_the_screen_is_rendered(
    app, villager, monkeypatch
):
    from tests.support.printing import printer_without_cups

    printer_without_cups(app)  # only the order of things is looked at
    happened = []
    submit, receipt_screen = printing.ReceiptPrinter.submit, intake_routes.receipt_screen

    def on_submit(printer, job_id, url):
        # Another connection sees only what is committed.
        with sqlite3.connect(app.instance_path + "/kiosk.sqlite3") as other:
            committed = other.execute(
                "SELECT o.receipt_number FROM print_jobs j JOIN opinions o ON o.uuid = j.opinion_uuid"
                " WHERE j.id = ?",
                (job_id,),
            ).fetchone()
        happened.append(("printing", committed))
        submit(printer, job_id, url)

    def on_screen(*args, **kwargs):
        happened.append(("screen", None))
        return receipt_screen(*args, **kwargs)

    monkeypatch.setattr(printing.ReceiptPrinter, "submit", on_submit)
    monkeypatch.setattr(intake_routes, "receipt_screen", on_screen)
    villager.fill_in(unique_content())
    page = villager.submit()
    assert happened == [("screen", None), ("printing", (page.receipt_number,))]
