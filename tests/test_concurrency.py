"""Two clerks acting on one opinion at once act one after the other (PostgreSQL)."""

import threading

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from kiosk.extensions import db
from kiosk.models import AuditEntry, Opinion, OpinionEvent
from tests.support.desk import Desk
from tests.support.factories import receive_opinion


@pytest.mark.parametrize("hub_app", ["postgres"], indirect=True)
def test_two_clerks_accepting_at_once_accept_once(hub_app):
    with hub_app.app_context():
        uuid = receive_opinion().uuid
        url = hub_app.config["SQLALCHEMY_DATABASE_URI"]
    clerks = [Desk(hub_app), Desk(hub_app)]
    answers = []
    # Hold the opinion's row, so both requests are in flight before either writes.
    holder = sa.create_engine(url)
    with holder.connect() as connection:
        connection.execute(sa.text("SELECT 1 FROM opinions WHERE uuid = :u FOR UPDATE"), {"u": uuid})
        threads = [
            threading.Thread(target=lambda c=c: answers.append(c.post(f"/staff/opinions/{uuid}/accept", htmx=True)))
            for c in clerks
        ]
        for thread in threads:
            thread.start()
        # Both block on the row until it is released.
        for thread in threads:
            thread.join(timeout=0.5)
        connection.rollback()
    for thread in threads:
        thread.join(timeout=30)
    holder.dispose()
    assert [a.status_code for a in answers] == [200, 200]
    refused = [a for a in answers if "不能受理" in a.get_data(as_text=True)]
    assert len(refused) == 1
    with hub_app.app_context():
        assert db.session.get(Opinion, uuid).status == "accepted"
        accepts = db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "accept"))
        events = db.session.scalar(
            select(func.count()).select_from(OpinionEvent).where(
                OpinionEvent.opinion_uuid == uuid, OpinionEvent.status == "accepted"
            )
        )
    assert (accepts, events) == (1, 1)
