"""Upgrades in the pull: the hub publishes a signed release, a station takes it.

The release is checked against the hub key pinned at enrolment; then
deploy/station/upgrade switches to it and migrates, and goes back to the
previous release and the untouched database when the migration or
/healthz fails. The station's database starts at the previous release's
schema (the head migration undone) with the demo's data in it.
"""

import json
import sqlite3
from contextlib import closing
from pathlib import Path

import urllib.request

import pytest
from alembic.script import ScriptDirectory
from flask_migrate import downgrade

from kiosk import MIGRATIONS
from kiosk.extensions import db
from kiosk.models import BoxIdentity
from kiosk.sync import signing
from tests.support.apps import copy_database, make_app
from tests.support.factories import make_opinion
from tests.support.releases import make_release, station_box_layout
from tests.support.servers import ServerProcess, flask_command

HEAD = ScriptDirectory(str(MIGRATIONS)).get_current_head()
PREVIOUS = ScriptDirectory(str(MIGRATIONS)).get_revision(HEAD).down_revision
HEAD_FILE = next(p.name for p in (MIGRATIONS / "versions").glob(f"{HEAD}_*.py"))

FAILING_MIGRATION = f'''"""a migration that fails half way (test)"""
from alembic import op
import sqlalchemy as sa

revision = "9999"
down_revision = "{HEAD}"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("half_way", sa.Column("id", sa.Integer, primary_key=True))
    op.execute("UPDATE opinions SET content = 'gone'")
    raise RuntimeError("this migration fails")


def downgrade():
    op.drop_table("half_way")
'''


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    """A hub process with nothing but its key and the releases published to it."""
    server = ServerProcess(tmp_path_factory.mktemp("release-hub"), {"ROLE": "hub"}).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    """The previous release (its head migration not there yet), this one, and one whose new migration fails."""
    folder = tmp_path_factory.mktemp("artifacts")
    return {
        "previous": make_release(folder, "1.0-previous", drop_migrations=[HEAD_FILE]),
        "next": make_release(folder, "1.1-next"),
        "failing": make_release(folder, "1.1-failing", extra_migrations={"9999_fails.py": FAILING_MIGRATION}),
    }


@pytest.fixture(scope="module")
def previous_schema_database(tmp_path_factory, demo_database):
    """The demo station's data and a morning's opinions, in a database at the previous release's schema."""
    instance = copy_database(demo_database, tmp_path_factory.mktemp("previous-schema"))
    app = make_app(instance, AUTO_MIGRATE=False)
    with app.app_context():
        code = db.session.get(BoxIdentity, 1).station_code
        for category, content in (("road", "村口的路灯坏了三个月。"), ("water", "自来水有时发黄。"), ("other", "希望多开几次接待日。")):
            make_opinion(code, category=category, content=content)
        downgrade(directory=str(MIGRATIONS), revision=PREVIOUS)
        db.engine.dispose()
    return instance / "kiosk.sqlite3"


def publish(hub, artifact: Path) -> dict:
    result = flask_command(hub.instance, "release", "publish", str(artifact), env={"ROLE": "hub"})
    assert result.returncode == 0, result.stderr
    return json.loads((hub.instance / "releases" / "current.json").read_text())


def hub_public_key(hub) -> str:
    return signing.public_key_text(signing.load_or_make_key(hub.instance / "hub_signing_key.pem"))


@pytest.fixture
def station(tmp_path, hub, artifacts, previous_schema_database):
    """A box with the previous release on its schema, enrolled with ``hub`` (the app not started)."""
    box = station_box_layout(tmp_path / "box", hub.url, hub_public_key(hub))
    copy_database(previous_schema_database, box.root / "station")
    (box.root / "station" / "hub.json").write_text(json.dumps({
        "hub_url": hub.url, "station_code": "LC01", "hub_public_key": hub_public_key(hub),
        "public_base_url": hub.url, "enrolled_at": "2026-12-01T00:00:00+00:00",
    }))
    box.install(artifacts["previous"])
    yield box
    box.service("stop")


# What the head migration changes, and the sync state the running app keeps writing.
CHANGED_BY_HEAD = {"alembic_version", "box_identity"}
WRITTEN_BY_THE_APP = {"sync_state"}


def contents(database: Path) -> dict:
    """Every table's rows, to compare before and after (but what the running app writes)."""
    with closing(sqlite3.connect(database)) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        tables = [t for t in tables if t not in WRITTEN_BY_THE_APP]
        return {t: sorted(map(repr, conn.execute(f'SELECT * FROM "{t}"'))) for t in tables}


def revision(database: Path) -> str:
    with closing(sqlite3.connect(database)) as conn:
        return conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]


def announce(station, announcement: dict) -> None:
    """What the station's pull leaves in its instance folder (see test_release)."""
    (station.root / "station" / "release.json").write_text(json.dumps(announcement))


@pytest.mark.slow
def test_a_failing_migration_leaves_the_old_release_then_the_next_release_goes_through(station, hub, artifacts):
    station.service("start")
    before = contents(station.database)
    assert revision(station.database) == PREVIOUS and len(before["opinions"]) >= 3

    # 1. A release whose migration fails half way: the old release runs on the untouched database.
    announce(station, publish(hub, artifacts["failing"]))
    result = station.upgrade()
    assert result.returncode == 1
    assert "release 1.1-failing failed (migration); back to 1.0-previous" in result.stderr
    assert station.current_version() == "1.0-previous"
    assert contents(station.database) == before
    assert json.load(urllib.request.urlopen(station.health, timeout=5))["ok"] is True
    # It is not tried again and again.
    again = station.upgrade()
    assert again.returncode == 0 and "failed here before" in again.stderr
    assert contents(station.database) == before

    # 2. The next release: switched to, migrated, nothing lost, the schema what its models say.
    announce(station, publish(hub, artifacts["next"]))
    result = station.upgrade()
    assert result.returncode == 0, result.stderr
    assert "upgraded 1.0-previous -> 1.1-next" in result.stderr
    assert station.current_version() == "1.1-next"
    assert revision(station.database) == HEAD
    after = contents(station.database)
    for table, rows in before.items():
        if table not in CHANGED_BY_HEAD:
            assert after[table] == rows, table
    assert len(after["box_identity"]) == len(before["box_identity"])
    check = station.bash(
        f'cd "$KIOSK_OPT/current" && KIOSK_INSTANCE_PATH={station.root}/station KIOSK_AUTO_MIGRATE=false '
        "venv/bin/python -m flask --app wsgi db check"
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert json.load(urllib.request.urlopen(station.health, timeout=5))["ok"] is True
    # The input engines' data was built by the upgrade (the app builds it only
    # on first use), from the place names the release carries.
    instance = station.root / "station"
    assert "Rime data ready" in result.stderr
    assert (instance / "rime" / "data" / "build" / "kiosk.digest").is_file()
    assert (instance / "rime" / "data" / "build" / "kiosk_pinyin.prism.bin").is_file()
    assert (instance / "ime" / "lexicon.sqlite3").is_file()
    # What the box now tells the hub it runs, for the fleet page.
    told = station.bash('cd "$KIOSK_OPT/current" && venv/bin/python -c '
                        '"from kiosk.sync.enrolment import SOFTWARE_VERSION as v; print(v)"')
    assert told.stdout.strip() == "kiosk-1.1-next", told.stderr
    # The release before stays beside the new one, to go back to by hand; the failed one is gone.
    assert sorted(p.name for p in (station.opt / "releases").iterdir()) == ["1.0-previous", "1.1-next"]
    assert station.upgrade().returncode == 0


def test_a_release_not_signed_by_the_pinned_hub_key_is_not_installed(station, hub, artifacts):
    announcement = publish(hub, artifacts["next"])
    (station.root / "etc" / "hub-key.pub").write_text(
        signing.public_key_text(signing.load_or_make_key(station.root / "other.pem")) + "\n"
    )
    announce(station, announcement)

    result = station.upgrade()

    assert result.returncode == 1
    assert "does not match its signature" in result.stderr
    assert station.current_version() == "1.0-previous"
    assert sorted(p.name for p in (station.opt / "releases").iterdir()) == ["1.0-previous"]
