"""Settings, the database connection rules, migrations and demo data."""

import os
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from kiosk import create_app
from kiosk.database import BUSY_TIMEOUT_MS
from kiosk.demo.services import load_demo
from kiosk.extensions import db
from kiosk.models import Department, Deputy, Station, Township


def test_environment_overrides_instance_config(tmp_path, monkeypatch):
    instance = tmp_path / "box"
    instance.mkdir()
    (instance / "config.py").write_text("IDLE_SECONDS = 30\nPRINTER = 'from-file'\n")
    monkeypatch.setenv("KIOSK_INSTANCE_PATH", str(instance))
    monkeypatch.setenv("KIOSK_PRINTER", "from-env")
    app = create_app({"AUTO_MIGRATE": False})
    assert app.config["IDLE_SECONDS"] == 30
    assert app.config["PRINTER"] == "from-env"
    assert app.config["SUBMIT_PER_MINUTE"] == 6
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{instance / 'kiosk.sqlite3'}"


def test_unknown_role_is_refused(tmp_path):
    with pytest.raises(RuntimeError, match="KIOSK_ROLE"):
        create_app({"INSTANCE_PATH": str(tmp_path), "ROLE": "kiosk", "AUTO_MIGRATE": False})


def test_secret_key_is_made_once_per_box(tmp_path):
    first = create_app({"INSTANCE_PATH": str(tmp_path), "AUTO_MIGRATE": False}).config["SECRET_KEY"]
    second = create_app({"INSTANCE_PATH": str(tmp_path), "AUTO_MIGRATE": False}).config["SECRET_KEY"]
    assert first == second and len(first) == 64
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def _mode(path) -> int:
    return path.stat().st_mode & 0o777


def test_a_new_station_keeps_its_files_to_its_owner(tmp_path):
    """Names, phones and every 验证码 live here: 0700 and 0600 from the first start, whatever the umask."""
    old = os.umask(0o022)
    try:
        box = create_app({"INSTANCE_PATH": str(tmp_path / "box")})
        with box.app_context():
            load_demo(role="station")
    finally:
        os.umask(old)
    folder = tmp_path / "box"
    assert _mode(folder) == 0o700
    files = {path.name: _mode(path) for path in folder.iterdir()}
    assert {"kiosk.sqlite3", "kiosk.sqlite3-wal", "kiosk.sqlite3-shm", "secret_key"} <= set(files)
    assert set(files.values()) == {0o600}, files


def test_a_start_takes_back_what_a_copy_opened_to_others(tmp_path):
    folder = tmp_path / "box"
    create_app({"INSTANCE_PATH": str(folder)})
    folder.chmod(0o755)
    for path in folder.iterdir():
        path.chmod(0o644)
    create_app({"INSTANCE_PATH": str(folder), "AUTO_MIGRATE": False})
    assert _mode(folder) == 0o700
    assert {_mode(path) for path in folder.iterdir()} == {0o600}


def test_an_enrolled_station_keeps_its_key_and_hub_json_to_its_owner(station_app):
    folder = Path(station_app.instance_path)
    assert _mode(folder / "hub.json") == 0o600
    assert _mode(folder / "station_key.pem") == 0o600


def test_every_sqlite_connection_is_durable_and_zeroes_what_it_deletes(app):
    with app.app_context():
        # Held open together, so each is a distinct connection set up on connect.
        connections = [db.engine.connect() for _ in range(3)]
        try:
            raw = [c.connection.dbapi_connection for c in connections]
            assert len({id(r) for r in raw}) == 3
            for dbapi in raw:
                # Straight on the driver: no BEGIN IMMEDIATE, so three can ask at once.
                pragma = lambda name: dbapi.execute(f"PRAGMA {name}").fetchone()[0]  # noqa: E731
                assert pragma("journal_mode") == "wal"
                assert pragma("synchronous") == 2
                assert pragma("foreign_keys") == 1
                assert pragma("busy_timeout") == BUSY_TIMEOUT_MS
                assert pragma("secure_delete") == 1
        finally:
            for conn in connections:
                conn.close()


def test_migrations_build_the_schema_from_an_empty_database(tmp_path):
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    with app.app_context():
        tables = set(sa.inspect(db.engine).get_table_names())
        assert {"opinions", "stations", "receipt_counters", "drafts", "print_jobs", "alembic_version"} <= tables
        assert _models_match_schema()


def test_a_hub_with_people_and_opinions_upgrades_from_the_first_directory_schema(tmp_path):
    """Later migrations rebuild tables that rows point at (users, by sessions and the
    audit log) and must keep the triggers on opinions that feed the dashboard."""
    from flask_migrate import upgrade

    from kiosk import MIGRATIONS

    app = create_app({"INSTANCE_PATH": str(tmp_path), "ROLE": "hub", "AUTO_MIGRATE": False})
    with app.app_context():
        upgrade(directory=str(MIGRATIONS), revision="0012")
        with db.engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO townships (id, name, kind) VALUES (1, '罗城街道', '街道')")
            conn.exec_driver_sql(
                "INSERT INTO users (id, username, password_hash, role, township_id, active, created_at) "
                "VALUES (1, 'clerk', 'x', 'township', 1, 1, '2026-12-01 08:00:00')"
            )
            conn.exec_driver_sql(
                "INSERT INTO staff_sessions (token_hash, user_id, created_at, last_seen_at) "
                "VALUES ('t', 1, '2026-12-01 08:00:00', '2026-12-01 08:00:00')"
            )
        triggers = "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'opinions'"
        with db.engine.connect() as conn:
            before = conn.exec_driver_sql(triggers).scalar()
        assert before > 0
        upgrade(directory=str(MIGRATIONS))
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql(triggers).scalar() == before
            assert conn.exec_driver_sql("SELECT user_id FROM staff_sessions").scalar() == 1
            assert conn.exec_driver_sql("SELECT username FROM users").scalar() == "clerk"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
        assert _models_match_schema()
        db.engine.dispose()


@pytest.mark.postgres
def test_migrations_run_on_postgres(tmp_path, postgres_url):
    app = create_app({"INSTANCE_PATH": str(tmp_path), "DATABASE_URL": postgres_url, "ROLE": "hub"})
    with app.app_context():
        assert db.engine.dialect.name == "postgresql"
        assert _models_match_schema()
        load_demo(role="hub")
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Station)) == 236
        db.engine.dispose()


def _models_match_schema() -> bool:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert diff == [], diff
    return True


def test_demo_data_loads_twice_to_the_same_result(app):
    with app.app_context():
        count = lambda model: db.session.scalar(sa.select(sa.func.count()).select_from(model))  # noqa: E731
        before = (count(Township), count(Station), count(Deputy))
        load_demo()
        assert (count(Township), count(Station), count(Deputy)) == before == (21, 236, 1221)
        levels = dict(db.session.execute(sa.select(Station.level, sa.func.count()).group_by(Station.level)).all())
        assert levels == {"center": 21, "station": 59, "point": 156}
        codes = db.session.scalars(sa.select(Station.code)).all()
        assert all(re.fullmatch(r"[A-Z0-9]{2,8}", code) for code in codes)


def test_the_demo_gives_each_township_its_own_departments(app):
    """镇村建办 (街道村建办), 农业农村办, 派出所 and a 村委会 per village station, once however often loaded."""
    with app.app_context():
        load_demo()
        count = lambda: db.session.scalar(sa.select(sa.func.count()).select_from(Department))  # noqa: E731
        before = count()
        load_demo()
        assert count() == before
        for township in db.session.scalars(sa.select(Township)):
            names = set(db.session.scalars(sa.select(Department.name).where(Department.township_id == township.id)))
            assert {f"{township.kind}村建办", f"{township.kind}农业农村办", "派出所"} <= names, township.name
            villages = [n for n in names if n.endswith("村委会")]
            stations = db.session.scalar(
                sa.select(sa.func.count()).where(Station.township_id == township.id, Station.level != "center")
            )
            assert len(villages) == stations > 0, township.name
        assert all(d.contact_phone for d in db.session.scalars(sa.select(Department)))


def test_demo_load_command_sets_the_box_station(runner, app):
    result = runner.invoke(args=["demo", "load", "--station", "TP00"])
    assert result.exit_code == 0, result.output
    assert "236 stations" in result.output
    with app.app_context():
        from kiosk.intake.services import this_station

        assert this_station().name == "太平镇人大代表中心联络站"
    bad = runner.invoke(args=["demo", "load", "--station", "NOPE"])
    assert bad.exit_code != 0 and "NOPE" in bad.output


def test_a_station_caps_its_malloc_arenas_unless_the_operator_chose(monkeypatch):
    from kiosk.memory import limit_malloc_arenas

    for name in ("MALLOC_ARENA_MAX", "GLIBC_TUNABLES"):
        monkeypatch.delenv(name, raising=False)
    assert limit_malloc_arenas() is True  # glibc, as on Debian
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert limit_malloc_arenas() is False
    monkeypatch.delenv("MALLOC_ARENA_MAX")
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.malloc.arena_max=4")
    assert limit_malloc_arenas() is False
