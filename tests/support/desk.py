"""Township office staff at their desks: signed-in test clients."""

import re

from sqlalchemy import select

from kiosk.extensions import db
from kiosk.models import Station, Township, User
from tests.support.factories import make_user, sign_in

CSRF = re.compile(r'"X-CSRFToken":\s*"([^"]+)"')
HTMX = {"HX-Request": "true"}


class Desk:
    """A signed-in staff member's browser: GETs, and POSTs with the page's CSRF token."""

    def __init__(self, app, role="township", township="罗城街道"):
        with app.app_context():
            user = make_user(role=role, township=township if role != "city" else None)
            self.user_id = user.id
        self.app = app
        self.client = sign_in(app.test_client(), user)
        self.token = CSRF.search(self.client.get("/staff/").text).group(1)

    def get(self, path, htmx=False, **kwargs):
        return self.client.get(path, headers=HTMX if htmx else {}, **kwargs)

    def post(self, path, data=None, htmx=False, csrf=True):
        headers = dict(HTMX) if htmx else {}
        if csrf:
            headers["X-CSRFToken"] = self.token
        return self.client.post(path, data=data or {}, headers=headers)

    def user(self) -> User:
        """The account, in the current app context."""
        return db.session.get(User, self.user_id)


def signed_in(hub, role="township", data=None, **details):
    """A test client with a live session for a new ``role`` account (of 罗城街道 unless
    ``details`` say otherwise), after loading ``data``; the account is ``.user``, its id ``.user_id``."""
    with hub.app_context():
        if data:
            data()
        user = make_user(role, **details)
        user_id = user.id
    client = sign_in(hub.test_client(), user)
    client.user, client.user_id = user, user_id
    return client


def station_of(township: str) -> str:
    """A station code of ``township`` (app context)."""
    return db.session.scalar(
        select(Station.code).join(Township).where(Township.name == township).order_by(Station.code).limit(1)
    )
