"""Phone pages at a hub: the township's online station, and a phone filling in a page's form."""

import re

from flask.testing import FlaskClient
from sqlalchemy import select

from kiosk.extensions import db
from kiosk.models import Station, StationLevel, Township

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
SUBMISSION = re.compile(r'name="submission" value="([^"]*)"')
RECEIPT = re.compile(r'data-testid="receipt-number">([^<]+)<.*?data-testid="receipt-secret">([^<]+)<', re.S)
FIELD_ERRORS = re.compile(r'class="field-error" role="alert">([^<]+)<')
MESSAGE = re.compile(r'data-testid="message">([^<]+)<')


def make_online_station(township: str = "罗城街道", code: str = "LCWS") -> Station:
    """The township's online station (hub app context), as city staff register it."""
    township_id = db.session.scalar(select(Township.id).where(Township.name == township))
    station = Station(code=code, name=f"{township}人大代表网上联络站", level=StationLevel.ONLINE, township_id=township_id)
    db.session.add(station)
    db.session.commit()
    return station


class Phone:
    """A phone's browser on one page (``/d/<public_id>`` or ``/s/<code>``), from one address."""

    def __init__(self, client: FlaskClient, path: str, address: str = "203.0.113.7"):
        self.client, self.path = client, path
        self.environ = {"REMOTE_ADDR": address}
        self.page = ""

    def open(self):
        response = self.client.get(self.path, environ_base=self.environ)
        self.page = response.get_data(as_text=True)
        return response

    def submit(self, category: str = "road", content: str = "村口的路灯坏了三个月，晚上很黑。", consent: str = "",
               name: str = "", phone: str = "", **extra):
        """Post the form shown last (its CSRF token and submission id); the answer becomes the page."""
        if not self.page:
            self.open()
        data = {"csrf_token": CSRF.search(self.page).group(1), "category": category, "content": content,
                "consent": consent, "name": name, "phone": phone}  # fmt: skip
        found = SUBMISSION.search(self.page)
        if found:
            data["submission"] = found.group(1)
        data.update(extra)
        response = self.client.post(self.path, data=data, environ_base=self.environ)
        self.page = response.get_data(as_text=True)
        return response

    @property
    def receipt(self) -> tuple[str, str] | None:
        found = RECEIPT.search(self.page)
        return found.groups() if found else None

    @property
    def errors(self) -> list[str]:
        return FIELD_ERRORS.findall(self.page) + MESSAGE.findall(self.page)
