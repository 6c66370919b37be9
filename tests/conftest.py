"""Fixtures shared by the whole suite.

``app`` is a station box on a SQLite file in a temporary instance folder,
migrated and loaded with the demo data; ``client`` and ``runner`` talk to it.
``postgres_url`` is a fresh, empty PostgreSQL database on the server that
``make test`` provides.
"""

import os
import sqlite3
import uuid

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from kiosk import create_app
from kiosk.demo.services import load_demo
from kiosk.extensions import db


class ServerLikeClient(FlaskClient):
    """Reads each response whole and closes it, as a WSGI server does.

    Work the app hangs on a response's close (printing and syncing after a
    submission) then runs as it does behind waitress, before the test goes on.
    """

    def open(self, *args, buffered: bool = True, **kwargs):
        return super().open(*args, buffered=buffered, **kwargs)


Flask.test_client_class = ServerLikeClient


def make_app(instance_path, **config):
    settings = {"TESTING": True, "INSTANCE_PATH": str(instance_path), "SECRET_KEY": "test"}
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
    instance.mkdir()
    with sqlite3.connect(source) as original, sqlite3.connect(instance / "kiosk.sqlite3") as copy:
        original.backup(copy)
    return instance


@pytest.fixture(scope="session")
def demo_database(tmp_path_factory):
    """A migrated station database with the demo data, made once and copied per test."""
    return seed_database(tmp_path_factory.mktemp("seed"))


@pytest.fixture
def app(tmp_path, demo_database):
    instance = copy_database(demo_database, tmp_path / "instance")
    app = make_app(instance)
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture(scope="session")
def postgres_admin_url():
    url = os.environ.get("KIOSK_TEST_POSTGRES_URL")
    if not url:
        pytest.fail("KIOSK_TEST_POSTGRES_URL is not set: run the suite with `make test`")
    return url


@pytest.fixture
def postgres_url(postgres_admin_url):
    """A new empty database, dropped afterwards."""
    name = f"kiosk_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.engine.make_url(postgres_admin_url).set(database=name)
    yield url.render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture(scope="session")
def hub_database(tmp_path_factory):
    """A migrated hub database with the demo data, made once and copied per test."""
    return seed_database(tmp_path_factory.mktemp("hub-demo"), role="hub")


@pytest.fixture
def hub(tmp_path, hub_database):
    """A township hub on SQLite with the demo data and no opinions yet."""
    instance = copy_database(hub_database, tmp_path / "hub-instance")
    app = make_app(instance, ROLE="hub", PUBLIC_BASE_URL="https://rd.example.cn")
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
