"""Fixtures shared by the whole suite.

``app`` is a station box on a SQLite file in a temporary instance folder,
migrated and loaded with the demo data; ``client`` and ``runner`` talk to it.
``hub`` is a township hub on SQLite; ``hub_app`` one on SQLite or
PostgreSQL (parametrised), with ``transport`` and ``station_app`` for a
station enrolled with it in-process. ``postgres_url`` is a fresh, empty
PostgreSQL database on the server that ``make test`` provides.
``cups_server`` and ``own_cups_server`` are private CUPS servers.
Helpers that are not fixtures live in ``tests/support/``.
"""

import os
import tempfile
import uuid
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from kiosk.demo.services import load_demo
from kiosk.extensions import db
from kiosk.ime import lexicon
from kiosk.models import Role
from kiosk.sync import enrolment
from kiosk.sync import registry as hub_services
from tests.support import cups
from tests.support.apps import copy_database, make_app, seed_database
from tests.support.boxes import new_postgres_database
from tests.support.desk import Desk
from tests.support.factories import make_user
from tests.support.inprocess import HUB_DATABASES, AppTransport, hub_database_url


# The apps below open copies of seed databases that are migrated already:
# checking for pending migrations again costs every test for nothing.
COPY = {"AUTO_MIGRATE": False}


def pytest_collection_modifyitems(config, items):
    """Files holding a slow test run first (make test turns off xdist's own
    order, by number of tests, which left the few long ones for last and one
    worker running them alone while the other sat idle)."""
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow_files)


@pytest.fixture(scope="session")
def demo_database(tmp_path_factory):
    """A migrated station database with the demo data, made once and copied per test."""
    return seed_database(tmp_path_factory.mktemp("seed"))


@pytest.fixture(scope="session")
def handwriting_lexicon(tmp_path_factory):
    """The handwriting lexicon, made once from the packaged sources and copied
    into the boxes that recognise handwriting (each would make its own)."""
    return lexicon.build(tmp_path_factory.mktemp("lexicon") / lexicon.LEXICON_FILE)


@pytest.fixture
def app(tmp_path, demo_database):
    instance = copy_database(demo_database, tmp_path / "instance")
    app = make_app(instance, **COPY)
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
    app = make_app(instance, ROLE="hub", PUBLIC_BASE_URL="https://rd.example.cn", **COPY)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


# --- a hub on either database, and a station enrolled with it in-process ----------


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


@pytest.fixture(params=HUB_DATABASES)
def hub_app(request, tmp_path):
    instance = tmp_path / "hub"
    instance.mkdir()
    url = hub_database_url(request, instance)
    settings = {"ROLE": "hub", "PUBLIC_BASE_URL": "https://rd.example.cn"}
    if url:
        settings["DATABASE_URL"] = url
    app = make_app(instance, **settings, **COPY)
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


# --- printing -------------------------------------------------------------------


@pytest.fixture(scope="session")
def cups_server():
    """One private CUPS for the session."""
    server = cups.private_cups()
    yield server
    cups.remove(server)


@pytest.fixture
def own_cups_server():
    """A private CUPS this test may stop or break."""
    server = cups.private_cups()
    yield server
    cups.remove(server)


@pytest.fixture
def clerk(hub):
    """A township clerk of 罗城街道 signed in at a desk (``Desk``): GETs and CSRF-carrying POSTs."""
    return Desk(hub)


@pytest.fixture
def clerk_account(hub):
    """A township clerk's account, username ``clerk``, never signed in: its ``id`` and ``username``."""
    with hub.app_context():
        user = make_user(Role.TOWNSHIP, username="clerk")
        return SimpleNamespace(id=user.id, username=user.username)
