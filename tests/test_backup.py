"""Backups of a box's database: made while it works, kept for a while, put back with care."""

import sqlite3
import stat
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from kiosk.backup import NAME, STAMP
from kiosk.extensions import db
from kiosk.intake.services import CatchingUp
from kiosk.models import BoxIdentity, Opinion, ReceiptCounter
from kiosk.receipts.numbers import NUMBER
from kiosk.sync import station as station_sync
from kiosk.sync.client import HubRefused
from tests.support.apps import make_app
from tests.support.boxes import read, run
from tests.support.crashes import UNLIMITED, ClientVillager, Villager, unique_content
from tests.support.factories import make_opinion
from tests.support.inprocess import drop_request, sync
from tests.support.servers import station_box

RESTORING = "正在恢复数据，请稍候"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def opinion_count(database: Path) -> int:
    with sqlite3.connect(database) as connection:
        return connection.execute("SELECT count(*) FROM opinions").fetchone()[0]


def backup_of(app, folder: Path) -> Path:
    result = app.test_cli_runner().invoke(args=["backup", "create", str(folder)])
    assert result.exit_code == 0, result.output
    (made,) = [p for p in folder.iterdir() if NAME.fullmatch(p.name) and p.name in result.output]
    return made


def opinions_at(app) -> dict[str, str]:
    with app.app_context():
        return dict(db.session.execute(select(Opinion.receipt_number, Opinion.uuid)).all())


# --- create and list --------------------------------------------------------


def test_a_backup_is_owner_only_and_old_ones_go(app, tmp_path):
    with app.app_context():
        make_opinion("LC00", content="村口的路灯坏了三个月，晚上很黑。")
    folder = tmp_path / "backups"
    folder.mkdir(mode=0o755)
    days = app.config["BACKUP_DAYS"]
    moment = datetime.now(timezone.utc)
    old = folder / f"kiosk-{(moment - timedelta(days=days, hours=1)).strftime(STAMP)}.sqlite3"
    old.write_bytes(b"an old backup")
    recent = folder / f"kiosk-{(moment - timedelta(days=days - 1)).strftime(STAMP)}.sqlite3"
    recent.write_bytes(b"a recent backup")
    other = folder / "notes.txt"
    other.write_text("not a backup")

    made = backup_of(app, folder)

    assert mode(folder) == 0o700 and mode(made) == 0o600
    assert not old.exists(), "a backup older than BACKUP_DAYS stays"
    assert recent.exists(), "a backup within BACKUP_DAYS was removed"
    assert other.exists(), "a file that is no backup was removed"
    assert opinion_count(made) == 1
    assert not made.with_name(made.name + "-wal").exists()
    listing = app.test_cli_runner().invoke(args=["backup", "list", str(folder)])
    assert listing.exit_code == 0 and made.name in listing.output and "2 个备份" in listing.output


def test_list_of_a_missing_folder_says_so(app, tmp_path):
    result = app.test_cli_runner().invoke(args=["backup", "list", str(tmp_path / "nowhere")])
    assert result.exit_code != 0 and "没有这个文件夹" in result.output


# --- restore ----------------------------------------------------------------


def test_restore_refuses_a_damaged_backup_and_changes_nothing(app, tmp_path):
    made = backup_of(app, tmp_path / "backups")
    data = bytearray(made.read_bytes())
    # Garble the middle of the file: pages of tables, not the header.
    middle = len(data) // 2
    data[middle : middle + 4096] = b"\xff" * 4096
    made.write_bytes(bytes(data))
    database = Path(app.instance_path) / "kiosk.sqlite3"
    with app.app_context():
        make_opinion("LC00", content="备份之后提交的意见，不能被坏备份盖掉。")

    result = app.test_cli_runner().invoke(args=["backup", "restore", str(made), "--force"])

    assert result.exit_code != 0 and "没有恢复" in result.output
    assert opinion_count(database) == 1


def test_restore_refuses_a_file_that_is_no_database(app, tmp_path):
    junk = tmp_path / "kiosk-20260101-000000.sqlite3"
    junk.write_text("这不是数据库" * 1000)
    result = app.test_cli_runner().invoke(args=["backup", "restore", str(junk), "--force"])
    assert result.exit_code != 0 and "不是可用的数据库文件" in result.output


def test_restore_refuses_a_live_database_without_force(app, tmp_path):
    made = backup_of(app, tmp_path / "backups")
    with app.app_context():
        make_opinion("LC00", content="备份之后提交的意见，还在用的数据库。")
    database = Path(app.instance_path) / "kiosk.sqlite3"

    refused = app.test_cli_runner().invoke(args=["backup", "restore", str(made)])
    assert refused.exit_code != 0 and "--force" in refused.output
    assert opinion_count(database) == 1

    forced = app.test_cli_runner().invoke(args=["backup", "restore", str(made), "--force"])
    assert forced.exit_code == 0, forced.output
    assert opinion_count(database) == 0
    assert mode(database) == 0o600
    with app.app_context():
        assert db.session.get(BoxIdentity, 1).restored_at is not None


@pytest.mark.slow
def test_a_backup_taken_while_submits_run_holds_every_submit_returned_before_it(tmp_path, demo_database):
    station = station_box(tmp_path / "station", seed=demo_database, **UNLIMITED).start()
    returned: list[str] = []
    errors: list[BaseException] = []
    lock, stop, enough = threading.Lock(), threading.Event(), threading.Event()

    def keep_submitting():
        villager = Villager(station.url)
        try:
            while not stop.is_set():
                villager.fill_in(unique_content("backup"))
                number = villager.submit().receipt_number
                assert number, "a submit returned no receipt"
                with lock:
                    returned.append(number)
                    if len(returned) >= 12:
                        enough.set()
        except BaseException as error:
            errors.append(error)
            enough.set()

    villagers = [threading.Thread(target=keep_submitting) for _ in range(3)]
    try:
        for thread in villagers:
            thread.start()
        assert enough.wait(120) and not errors, errors
        with lock:
            before = list(returned)
        run(station.instance, "backup", "create", str(tmp_path / "backups"))
    finally:
        stop.set()
        for thread in villagers:
            thread.join(60)
        station.stop()
    assert not errors, errors
    (made,) = (tmp_path / "backups").iterdir()

    # A new box, its database empty: no --force needed.
    restored = tmp_path / "restored"
    run(restored, "backup", "restore", str(made))

    numbers = read(restored, lambda: set(db.session.scalars(select(Opinion.receipt_number))))
    assert set(before) <= numbers, sorted(set(before) - numbers)
    assert read(restored, lambda: db.session.get(BoxIdentity, 1).restored_at) is not None


# --- a restored station catches up with its hub ----------------------------


def test_a_restored_station_takes_no_submit_until_it_has_caught_up(station_app, hub_app, transport, tmp_path):
    with station_app.app_context():
        kept = make_opinion("LC00", content="备份之前提交、还没有送到镇人大办的意见。").uuid
    made = backup_of(station_app, tmp_path / "backups")
    with station_app.app_context():
        lost = [make_opinion("LC00", content=f"备份之后提交的第{i}条意见。").receipt_number for i in range(3)]
    assert sync(station_app, transport, wait=None).ok
    at_hub = opinions_at(hub_app)
    assert set(lost) <= set(at_hub)

    forced = station_app.test_cli_runner().invoke(args=["backup", "restore", str(made), "--force"])
    assert forced.exit_code == 0, forced.output
    assert not set(lost) & set(opinions_at(station_app))

    assert "restored from a backup" in station_app.test_cli_runner().invoke(args=["sync", "status"]).output

    villager = ClientVillager(station_app.test_client())
    villager.fill_in(unique_content("restored"))
    refused = villager.submit()
    assert refused.status == 200 and RESTORING in refused.text and refused.receipt_number is None
    # The answers stay: 再提交一次 on the same screen, and 重新开始 asks first.
    assert 'data-testid="submit"' in refused.text and "data-answers-given" in refused.text
    assert "screen-restoring" in refused.text
    assert len(opinions_at(station_app)) == 1

    # A sync that does not reach the hub catches nothing up.
    transport.before = drop_request
    assert not sync(station_app, transport, wait=None).ok
    assert RESTORING in villager.submit().text
    transport.before = None

    result = sync(station_app, transport, wait=None)
    assert result.ok, result.error
    assert result.acknowledged == 1  # the backup's own unacknowledged opinion, sent again

    page = villager.submit()
    number = page.receipt_number
    assert number, page.text[:500]
    highest = max(int(NUMBER.fullmatch(n)[3]) for n in lost)
    assert int(NUMBER.fullmatch(number)[3]) == highest + 1
    assert number not in at_hub
    assert "restored from a backup" not in station_app.test_cli_runner().invoke(args=["sync", "status"]).output

    assert sync(station_app, transport, wait=None).ok
    at_hub = opinions_at(hub_app)
    assert kept in at_hub.values() and set(lost) | {number} <= set(at_hub)
    with station_app.app_context():
        assert db.session.get(BoxIdentity, 1).restored_at is None
        assert db.session.scalar(select(func.max(ReceiptCounter.last_serial))) == highest + 1


@pytest.mark.parametrize("hub_app", ["sqlite"], indirect=True)
@pytest.mark.parametrize("since", ["261399", "2612", 261206, "２６１２０６", ["261206"]])
def test_the_hub_refuses_a_pull_with_a_bad_first_day(station_app, transport, since):
    with station_app.app_context():
        hub = station_sync.make_client(transport)
        with pytest.raises(HubRefused) as refused:
            hub.call("pull", {"cursor": 0, "limit": 10, "serials_since": since})
    assert refused.value.status == 400 and "serials_since" in refused.value.message


@pytest.mark.parametrize("hub_app", ["sqlite"], indirect=True)
def test_the_hub_answers_the_highest_serial_of_each_day_asked_for(station_app, hub_app, transport):
    with station_app.app_context():
        numbers = [make_opinion("LC00", content=f"第{i}条意见，送到镇人大办。").receipt_number for i in range(3)]
    assert sync(station_app, transport, wait=None).ok
    day = NUMBER.fullmatch(numbers[0])[2]
    with station_app.app_context():
        hub = station_sync.make_client(transport)
        answer = hub.call("pull", {"cursor": 0, "limit": 10, "serials_since": day})
        later = hub.call("pull", {"cursor": 0, "limit": 10, "serials_since": "991231"})
        plain = hub.call("pull", {"cursor": 0, "limit": 10})
    assert answer["serials"] == {day: 3}
    assert later["serials"] == {}
    assert "serials" not in plain


@pytest.mark.postgres
def test_a_hub_on_postgresql_is_told_to_use_pg_dump(tmp_path, postgres_url):
    hub = make_app(tmp_path / "hub", ROLE="hub", DATABASE_URL=postgres_url)
    try:
        for args in (["create", str(tmp_path / "backups")], ["restore", str(tmp_path / "kiosk.sqlite3"), "--force"]):
            result = hub.test_cli_runner().invoke(args=["backup", *args])
            assert result.exit_code != 0 and "pg_dump" in result.output, result.output
        assert not (tmp_path / "backups").exists()
    finally:
        with hub.app_context():
            db.engine.dispose()


@pytest.mark.parametrize("hub_app", ["sqlite"], indirect=True)
def test_a_restored_station_without_a_link_catches_up_by_usb_stick(station_app, hub_app, transport, tmp_path):
    made = backup_of(station_app, tmp_path / "backups")
    with station_app.app_context():
        lost = [make_opinion("LC00", content=f"备份之后提交的第{i}条意见。").receipt_number for i in range(2)]
    assert sync(station_app, transport, wait=None).ok
    station_cli, hub_cli = station_app.test_cli_runner(), hub_app.test_cli_runner()
    assert station_cli.invoke(args=["backup", "restore", str(made), "--force"]).exit_code == 0

    bundle, answer = tmp_path / "LC00.bundle", tmp_path / "LC00.answer"
    assert station_cli.invoke(args=["sync", "export", str(bundle)]).exit_code == 0
    imported = hub_cli.invoke(args=["sync", "import", str(bundle), "--answer", str(answer)])
    assert imported.exit_code == 0, imported.output
    with station_app.app_context():
        with pytest.raises(CatchingUp):
            make_opinion("LC00", content="回执文件还没有导入，不能提交。")
    applied = station_cli.invoke(args=["sync", "import-answer", str(answer)])
    assert applied.exit_code == 0, applied.output

    with station_app.app_context():
        assert db.session.get(BoxIdentity, 1).restored_at is None
        number = make_opinion("LC00", content="回执文件导入之后提交的意见。").receipt_number
    assert int(NUMBER.fullmatch(number)[3]) == max(int(NUMBER.fullmatch(n)[3]) for n in lost) + 1
