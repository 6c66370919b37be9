"""Fixtures for the sync tests: a hub on SQLite or PostgreSQL, a station
enrolled with it, talking in-process. Import the ones a module uses."""

import sqlite3
import tempfile

import pytest

from kiosk.demo.services import load_demo
from kiosk.extensions import db
from kiosk.sync import registry as hub_services
from kiosk.sync import enrolment
from kiosk.sync import station as station_sync
from tests.conftest import make_app
from tests.sync.boxes import new_postgres_database
from tests.sync.inprocess import AppTransport

HUB_DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def hub_seed_sqlite(hub_database):
    """A migrated hub database with the demo data, made once and copied per test."""
    return hub_database


@pytest.fixture(scope="session")
def hub_seed_postgres(postgres_admin_url):
    """A PostgreSQL template database with the hub schema and demo data."""
    url, name, drop = new_postgres_database(postgres_admin_url, "kiosk_hub_seed")
    with tempfile.TemporaryDirectory() as tmp:
        seed = make_app(tmp, ROLE="hub", DATABASE_URL=url)
        with seed.app_context():
            load_demo(role="hub")
            db.engine.dispose()
    yield name
    drop()


def hub_database_url(request, tmp_path, instance) -> str | None:
    """A fresh hub database of the kind the test is parametrised with."""
    if request.param == "sqlite":
        with sqlite3.connect(request.getfixturevalue("hub_seed_sqlite")) as source, sqlite3.connect(
            instance / "kiosk.sqlite3"
        ) as copy:
            source.backup(copy)
        return None
    template = request.getfixturevalue("hub_seed_postgres")
    url, _name, drop = new_postgres_database(request.getfixturevalue("postgres_admin_url"), "kiosk_hub", template)
    request.addfinalizer(drop)
    return url


@pytest.fixture(params=HUB_DATABASES)
def hub_app(request, tmp_path):
    instance = tmp_path / "hub"
    instance.mkdir()
    url = hub_database_url(request, tmp_path, instance)
    settings = {"ROLE": "hub", "PUBLIC_BASE_URL": "https://rd.example.cn"}
    if url:
        settings["DATABASE_URL"] = url
    app = make_app(instance, **settings)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def transport(hub_app):
    return AppTransport(hub_app)


@pytest.fixture
def station_app(app, hub_app, transport):
    """The conftest station box (LC00), enrolled with the hub in-process."""
    with hub_app.app_context():
        token = hub_services.issue_token("LC00")
    with app.app_context():
        enrolment.enroll("http://hub.test", token, transport=transport)
    return app


def sync(station_app, transport, **kwargs):
    with station_app.app_context():
        return station_sync.sync_once(transport=transport, **kwargs)
