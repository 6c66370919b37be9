"""Deputies at their desk: an activated deputy account and a signed-in phone for it."""

import re

from sqlalchemy import select

from kiosk.desk import accounts
from kiosk.extensions import db
from kiosk.models import Deputy, Station, Township, User
from tests.support.factories import sign_in

CSRF = re.compile(r'"X-CSRFToken":\s*"([^"]+)"')
PASSWORD = "deputy secret 9"


def township_deputies(township: str = "罗城街道", count: int = 2) -> list[Deputy]:
    """Serving deputies of ``township`` attached to one of its stations (app context)."""
    return list(
        db.session.scalars(
            select(Deputy)
            .join(Township)
            .where(Township.name == township, Deputy.retired.is_(False), Deputy.stations.any(Station.code.is_not(None)))
            .order_by(Deputy.id)
            .limit(count)
        )
    )


def make_deputy_account(deputy: Deputy, password: str = PASSWORD) -> User:
    """A deputy's account, activated with its own code (app context)."""
    issued = accounts.create_deputy_account(f"d{deputy.id}", deputy.id)
    return accounts.activate(issued.username, issued.code, password, "127.0.0.9")


class Phone:
    """A deputy's signed-in browser: GETs, and POSTs with the page's CSRF token."""

    def __init__(self, app, user):
        self.app = app
        self.user_id = user.id
        self.client = sign_in(app.test_client(), user)
        # Not the desk's list: opening it is a visit, and the badge counts from the last one.
        self.token = CSRF.search(self.client.get("/desk/diary").text).group(1)

    def get(self, path, **kwargs):
        return self.client.get(path, **kwargs)

    def post(self, path, data=None, csrf=True, **kwargs):
        headers = {"X-CSRFToken": self.token} if csrf else {}
        return self.client.post(path, data=data or {}, headers=headers, **kwargs)
