"""Test data made the way the product makes it."""

import uuid as uuid_module
from datetime import datetime
from functools import cache

from flask.testing import FlaskClient
from sqlalchemy import select

from kiosk.auth.services import SESSION_KEY, hash_password, start_session
from kiosk.extensions import db
from kiosk.intake import services as intake
from kiosk.models import Opinion, Role, Township, User, utcnow
from kiosk.sync import records as sync_records
from kiosk.clock import iso


def make_draft(station_code: str = "LC00", **answers):
    """A draft with the given answers (defaults: a complete anonymous one)."""
    draft = intake.start_draft(station_code)
    defaults = {"category": "road", "content": "村口的路灯坏了三个月，晚上很黑。", "anonymous": True}
    intake.save_answers(draft, **{**defaults, **answers})
    return draft


def make_opinion(station_code: str = "LC00", now=None, **answers) -> Opinion:
    draft = make_draft(station_code, **answers)
    return intake.submit_draft(draft.id, now=now).opinion


def _next_serial(station_code: str, day: str) -> int:
    """The station's next daily serial in this database, as the station counts.

    Counted from the database, not across the test process: a number must
    not depend on which tests ran before in the same worker (a serial of
    0013 matches a search for the digits 0013).
    """
    prefix = f"{station_code}-{day}-"
    numbers = db.session.scalars(
        select(Opinion.receipt_number).where(Opinion.receipt_number.startswith(prefix, autoescape=True))
    )
    return max((int(number.removeprefix(prefix)) for number in numbers), default=0) + 1


def receive_opinion(
    station_code: str = "LC00",
    *,
    category: str = "road",
    content: str = "村口的路灯坏了三个月，晚上很黑。",
    contact_name: str | None = None,
    contact_phone: str | None = None,
    created_at: datetime | None = None,
    received_at: datetime | None = None,
    receipt_number: str | None = None,
    secret: str = "ABCDEF",
    deputy_id: int | None = None,
) -> Opinion:
    """An opinion as the hub holds it after a station pushed it (hub app context).

    Goes through the same store the sync API uses, so township and due dates
    are set as in the field.
    """
    created = created_at or utcnow()
    if receipt_number is None:
        day = f"{created:%y%m%d}"
        receipt_number = f"{station_code}-{day}-{_next_serial(station_code, day):04d}"
    data = {
        "uuid": str(uuid_module.uuid4()),
        "receipt_number": receipt_number,
        "secret": secret,
        "station_code": station_code,
        "category": category,
        "content": content,
        "deputy_id": deputy_id,
        "consent_version": "2026-11" if (contact_name or contact_phone) else None,
        "contact_name": contact_name,
        "contact_phone": contact_phone,
        "created_at": iso(created),
    }
    kind = sync_records.RECORD_TYPES["opinion"]
    clean = kind.clean(data, station_code)
    refusals = kind.store([(clean, sync_records.digest(data))], station_code, received_at or created)
    assert not refusals, refusals
    db.session.commit()
    return db.session.get(Opinion, data["uuid"])


@cache
def password_hash(password: str) -> str:
    """The product's own hash of ``password``, made once per test run: scrypt
    is slow on purpose, and accounts need no salt of their own in tests."""
    return hash_password(password)


def make_user(
    role: str = Role.TOWNSHIP, township: str | None = "罗城街道", username: str | None = None, password: str = "correct horse 9"
) -> User:
    """A staff account (hub app context); city staff get no township."""
    township_id = None
    if role != Role.CITY and township is not None:
        township_id = db.session.scalar(select(Township.id).where(Township.name == township))
    user = User(
        username=username or f"{role}-{uuid_module.uuid4().hex[:6]}",
        password_hash=password_hash(password),
        role=role,
        township_id=township_id,
    )
    db.session.add(user)
    db.session.commit()
    return user


def sign_in(client: FlaskClient, user: User) -> FlaskClient:
    """Give ``client`` a live staff session for ``user`` without the login form."""
    with client.application.app_context():
        token = start_session(db.session.get(User, user.id))
    with client.session_transaction() as session:
        session[SESSION_KEY] = token
    return client
