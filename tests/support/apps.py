"""Apps on SQLite files in instance folders, and the seed databases copied per test."""

import sqlite3

from flask import Flask
from flask.testing import FlaskClient

from kiosk import create_app
from kiosk.demo.services import load_demo
from kiosk.extensions import db
from tests.support.ime import RIME_FOLDER


class ServerLikeClient(FlaskClient):
    """Reads each response whole and closes it, as a WSGI server does.

    Work the app hangs on a response's close (printing and syncing after a
    submission) then runs as it does behind waitress, before the test goes on.
    """

    def open(self, *args, buffered: bool = True, **kwargs):
        return super().open(*args, buffered=buffered, **kwargs)


Flask.test_client_class = ServerLikeClient


def make_app(instance_path, **config):
    settings = {"TESTING": True, "INSTANCE_PATH": str(instance_path), "SECRET_KEY": "test",
                "RIME_FOLDER": str(RIME_FOLDER)}
    settings.update(config)
    return create_app(settings)


def seed_database(instance, role: str = "station"):
    """A migrated SQLite database with the demo data for ``role``, in ``instance``."""
    seed = make_app(instance, ROLE=role)
    with seed.app_context():
        load_demo(role=role)
        db.engine.dispose()
    return instance / "kiosk.sqlite3"


def copy_database(source, instance):
    """A fresh instance folder holding a copy of the SQLite database ``source``."""
    instance.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(source) as original, sqlite3.connect(instance / "kiosk.sqlite3") as copy:
        original.backup(copy)
    return instance
