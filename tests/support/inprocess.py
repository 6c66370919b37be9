"""A hub and a station in one process, talking through the hub's test client.

The transport has fault hooks (drop the request, drop the answer, tamper)
so tests can break the link exactly where they want without sockets.
"""

from dataclasses import dataclass, field
from typing import Callable

import pytest

from kiosk.sync import station as station_sync
from kiosk.sync.client import LinkDown, Reply
from tests.support.apps import copy_database
from tests.support.boxes import new_postgres_database


@dataclass
class AppTransport:
    hub_app: object
    # Called with (method, path, headers, body) before sending; may raise LinkDown
    # ("request lost") or return replacement (headers, body).
    before: Callable | None = None
    # Called with the Reply after the hub handled it; may raise LinkDown
    # ("answer lost" – the hub has committed) or return a replacement Reply.
    after: Callable | None = None
    sent: list = field(default_factory=list)

    def send(self, method, path, headers, body):
        if self.before is not None:
            replaced = self.before(method, path, headers, body)
            if replaced is not None:
                headers, body = replaced
        self.sent.append((path, len(body)))
        response = self.hub_app.test_client().open(path, method=method, headers=headers, data=body)
        reply = Reply(response.status_code, {k.lower(): v for k, v in response.headers.items()}, response.get_data())
        if self.after is not None:
            replaced = self.after(reply)
            if replaced is not None:
                reply = replaced
        return reply


def drop_request(*_args):
    raise LinkDown("request lost (test)")


def drop_answer(_reply):
    raise LinkDown("answer lost (test)")


HUB_DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def hub_database_url(request, instance) -> str | None:
    """A fresh hub database of the kind the test is parametrised with
    (a copy of the seed's SQLite file in ``instance``, or None; a PostgreSQL URL)."""
    if request.param == "sqlite":
        copy_database(request.getfixturevalue("hub_seed_sqlite"), instance)
        return None
    template = request.getfixturevalue("hub_seed_postgres")
    url, _name, drop = new_postgres_database(request.getfixturevalue("postgres_admin_url"), "kiosk_hub", template)
    request.addfinalizer(drop)
    return url


def sync(station_app, transport, **kwargs):
    with station_app.app_context():
        return station_sync.sync_once(transport=transport, **kwargs)
