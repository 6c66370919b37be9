"""Fixtures for the sync tests: a hub on SQLite or PostgreSQL, a station
enrolled with it, talking in-process. Import the ones a module uses."""

import sqlite3
import uuid

import pytest
import sqlalchemy as sa

from kiosk.demo.services import load_demo
from kiosk.extensions import db
from kiosk.sync import hub as hub_services
from kiosk.sync import station as station_sync
from tests.conftest import make_app
from tests.sync.inprocess import AppTransport

HUB_DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def hub_seed_sqlite(tmp_path_factory):
    """A migrated hub database with the demo data, made once and copied per test."""
    instance = tmp_path_factory.mktemp("hub-seed")
    seed = make_app(instance, ROLE="hub")
    with seed.app_context():
        load_demo(role="hub")
        db.engine.dispose()
    return instance / "kiosk.sqlite3"


@pytest.fixture(scope="session")
def hub_seed_postgres(postgres_admin_url):
    """A PostgreSQL template database with the hub schema and demo data."""
    name = f"kiosk_hub_seed_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.engine.make_url(postgres_admin_url).set(database=name).render_as_string(hide_password=False)
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        seed = make_app(tmp, ROLE="hub", DATABASE_URL=url)
        with seed.app_context():
            load_demo(role="hub")
            db.engine.dispose()
    yield name
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def hub_database_url(request, tmp_path, instance) -> str | None:
    """A fresh hub database of the kind the test is parametrised with."""
    if request.param == "sqlite":
        with sqlite3.connect(request.getfixturevalue("hub_seed_sqlite")) as source, sqlite3.connect(
            instance / "kiosk.sqlite3"
        ) as copy:
            source.backup(copy)
        return None
    template = request.getfixturevalue("hub_seed_postgres")
    admin_url = request.getfixturevalue("postgres_admin_url")
    name = f"kiosk_hub_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')

    def drop():
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

    request.addfinalizer(drop)
    return sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)


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
        station_sync.enroll("http://hub.test", token, transport=transport)
    return app


def sync(station_app, transport, **kwargs):
    with station_app.app_context():
        return station_sync.sync_once(transport=transport, **kwargs)
