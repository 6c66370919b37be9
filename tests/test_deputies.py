"""The deputy directory at the hub: importing the township office's spreadsheet, listing it."""

import io
import json
from datetime import date

import pytest
from PIL import Image
from sqlalchemy import func, select

from kiosk.extensions import db
from kiosk.models import AuditEntry, Deputy, DeputyPhoto, Township
from tests.support.apps import copy_database, make_app
from tests.support.deputies import csv_bytes, portrait, row, xlsx_bytes
from tests.support.servers import flask_command


def run_import(hub, tmp_path, data: bytes, photos: dict[str, bytes] | None = None, name="代表.csv"):
    path = tmp_path / name
    path.write_bytes(data)
    args = ["deputies", "import", str(path)]
    if photos is not None:
        folder = tmp_path / "photos"
        folder.mkdir(exist_ok=True)
        for file_name, content in photos.items():
            (folder / file_name).write_bytes(content)
        args += ["--photos", str(folder)]
    return hub.test_cli_runner().invoke(args=args)


def deputy_named(name: str) -> Deputy:
    return db.session.scalar(select(Deputy).where(Deputy.name == name))


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


GOOD = [
    row("欧阳春花", sex="女", mobile="138 0000 1111", public_phone="0766-3812345", stations="LJ00、LJ01"),
    row("麦振华", level="罗定市", mobile="13800002222", occupation="企业职工", stations="LJ01"),
]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_a_chinese_header_csv_adds_its_deputies_with_photos(hub, tmp_path, encoding):
    before = None
    with hub.app_context():
        before = count(Deputy)
    result = run_import(hub, tmp_path, csv_bytes(GOOD, encoding), photos={"欧阳春花.jpg": portrait(1)})
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["2 added, 0 updated, 0 unchanged, 0 refused"]
    with hub.app_context():
        assert count(Deputy) == before + 2
        chun = deputy_named("欧阳春花")
        assert (chun.sex, chun.level, chun.mobile, chun.public_phone) == ("女", "镇", "13800001111", "0766-3812345")
        assert [s.code for s in chun.stations] == ["LJ00", "LJ01"]
        assert chun.township_id == db.session.scalar(select(Township.id).where(Township.name == "罗镜镇"))
        assert (chun.term_start, chun.term_end) == (date(2021, 10, 1), date(2026, 9, 30))
        assert len(chun.public_id) >= 12 and str(chun.id) not in chun.public_id
        stored = Image.open(io.BytesIO(db.session.get(DeputyPhoto, chun.photo).data))
        assert stored.format == "JPEG" and max(stored.size) == 600
        assert not stored.getexif() and b"SecretSoftware" not in db.session.get(DeputyPhoto, chun.photo).data
        assert deputy_named("麦振华").level == "罗定市" and deputy_named("麦振华").photo is None
        created = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "deputy.create")).all()
        assert {e.after["name"] for e in created} == {"欧阳春花", "麦振华"}


def test_an_xlsx_with_date_cells_and_numeric_phones(hub, tmp_path):
    rows = [["梁秀英", "女", "罗镜镇", "县级市", "乡村教师", 13900003333, "", "LJ00", date(2021, 10, 1), date(2026, 9, 30)]]
    result = run_import(hub, tmp_path, xlsx_bytes(rows), name="代表.xlsx")
    assert result.output.splitlines() == ["1 added, 0 updated, 0 unchanged, 0 refused"], result.output
    with hub.app_context():
        deputy = deputy_named("梁秀英")
        assert (deputy.mobile, deputy.level, deputy.term_start) == ("13900003333", "罗定市", date(2021, 10, 1))


def test_repeated_names_are_told_apart_by_phone_and_photo(hub, tmp_path):
    rows = [row("陈伟", mobile="13700001234"), row("陈伟", mobile="13700005678", stations="LJ02")]
    photos = {"陈伟-1234.jpg": portrait(1), "陈伟-5678.png": portrait(2, kind="PNG")}
    result = run_import(hub, tmp_path, csv_bytes(rows), photos=photos)
    assert result.output.splitlines() == ["2 added, 0 updated, 0 unchanged, 0 refused"], result.output
    with hub.app_context():
        found = db.session.scalars(select(Deputy).where(Deputy.name == "陈伟", Deputy.mobile.is_not(None))).all()
        assert {d.mobile for d in found} == {"13700001234", "13700005678"}
        assert len({d.photo for d in found}) == 2 and all(d.photo for d in found)


def test_a_bad_row_is_refused_with_its_row_number_and_the_rest_is_imported(hub, tmp_path):
    rows = [
        row("好代表甲", mobile="13600000001"),
        row("无此镇", township="天堂镇", mobile="13600000002"),
        row("无此站", stations="LJ00、ZZ99", mobile="13600000003"),
        row("错号码", mobile="1360000", stations="LJ00"),
        row("街道镇代表", township="罗城街道", level="镇", stations="LC00", mobile="13600000004"),
        row("街道市代表", township="罗城街道", level="罗定市", stations="LC00", mobile="13600000005"),
    ]
    with hub.app_context():
        before = count(Deputy)
    result = run_import(hub, tmp_path, csv_bytes(rows))
    assert result.exit_code == 0
    assert result.output.splitlines() == [
        "第3行：没有名为“天堂镇”的镇街",
        "第4行：没有编号或名称为“ZZ99”的联络站",
        "第5行：手机号码“1360000”不对（应为 11 位，以 1 开头）",
        "第6行：罗城街道是街道，没有镇人大，不能有镇级代表",
        "2 added, 0 updated, 0 unchanged, 4 refused",
    ]
    with hub.app_context():
        assert count(Deputy) == before + 2
        assert deputy_named("街道市代表").level == "罗定市"


def test_two_rows_for_one_person_are_both_refused(hub, tmp_path):
    rows = [row("谭志红", mobile="13500000001"), row("罗建国"), row("谭志红", mobile="135-0000-0001", stations="LJ02")]
    result = run_import(hub, tmp_path, csv_bytes(rows))
    assert result.output.splitlines() == [
        "第2行：与第4行是同一位代表，这几行都没有导入",
        "第4行：与第2行是同一位代表，这几行都没有导入",
        "1 added, 0 updated, 0 unchanged, 2 refused",
    ]
    with hub.app_context():
        assert deputy_named("谭志红") is None


def test_importing_the_same_file_again_changes_nothing_and_a_change_updates_in_place(hub, tmp_path):
    data = csv_bytes(GOOD)
    photos = {"欧阳春花.jpg": portrait(1)}
    assert run_import(hub, tmp_path, data, photos).output.splitlines()[-1] == "2 added, 0 updated, 0 unchanged, 0 refused"
    with hub.app_context():
        audit_rows, first = count(AuditEntry), deputy_named("欧阳春花")
        public_id, deputy_id = first.public_id, first.id
    again = run_import(hub, tmp_path, data, photos)
    assert again.output.splitlines() == ["0 added, 0 updated, 2 unchanged, 0 refused"]
    with hub.app_context():
        assert count(AuditEntry) == audit_rows
    # The same person by phone, with a new public phone and another station: updated, same ids.
    changed = [row("欧阳春花", sex="女", mobile="13800001111", public_phone="0766-3899999", stations="LJ02"), GOOD[1]]
    result = run_import(hub, tmp_path, csv_bytes(changed, "gb18030"), photos)
    assert result.output.splitlines() == ["0 added, 1 updated, 1 unchanged, 0 refused"]
    with hub.app_context():
        chun = deputy_named("欧阳春花")
        assert (chun.id, chun.public_id, chun.public_phone) == (deputy_id, public_id, "0766-3899999")
        assert [s.code for s in chun.stations] == ["LJ02"]
        entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "deputy.update")).one()
        assert entry.before["stations"] == ["LJ00", "LJ01"] and entry.after["public_phone"] == "0766-3899999"


def test_a_row_without_a_phone_matches_by_name_and_township(hub, tmp_path):
    with hub.app_context():
        # A demo deputy whose name no one else in their township has.
        unique = (
            select(Deputy.name, Deputy.township_id)
            .group_by(Deputy.name, Deputy.township_id)
            .having(func.count() == 1)
            .limit(1)
            .subquery()
        )
        demo = db.session.scalar(
            select(Deputy).join(unique, (Deputy.name == unique.c.name) & (Deputy.township_id == unique.c.township_id))
        )
        township = db.session.get(Township, demo.township_id).name
        name, deputy_id, public_id = demo.name, demo.id, demo.public_id
    result = run_import(hub, tmp_path, csv_bytes([row(name, township, public_phone="0766-3800001", stations="")]))
    assert result.output.splitlines() == ["0 added, 1 updated, 0 unchanged, 0 refused"]
    with hub.app_context():
        deputy = db.session.get(Deputy, deputy_id)
        assert (deputy.public_id, deputy.public_phone, deputy.stations) == (public_id, "0766-3800001", [])


def test_a_file_that_cannot_be_read_exits_1_and_changes_nothing(hub, tmp_path):
    with hub.app_context():
        before = count(Deputy)
    not_text = run_import(hub, tmp_path, bytes(range(256)) * 4, name="bad.csv")
    assert not_text.exit_code == 1 and "无法读取" in not_text.output
    no_header = run_import(hub, tmp_path, "名字,电话\n张三,1\n".encode(), name="x.csv")
    assert no_header.exit_code == 1 and "姓名" in no_header.output
    broken_xlsx = run_import(hub, tmp_path, b"PK\x03\x04 not really a zip", name="x.xlsx")
    assert broken_xlsx.exit_code == 1
    missing = hub.test_cli_runner().invoke(args=["deputies", "import", str(tmp_path / "none.csv")])
    assert missing.exit_code == 1
    with hub.app_context():
        assert count(Deputy) == before


def test_a_bad_photo_refuses_its_row_only(hub, tmp_path):
    rows = [row("照片坏", mobile="13300000001"), row("照片好", mobile="13300000002")]
    photos = {"照片坏.jpg": b"\xff\xd8\xff\xe0 truncated", "照片好.jpg": portrait(3)}
    result = run_import(hub, tmp_path, csv_bytes(rows), photos)
    assert result.output.splitlines() == [
        "第2行：照片只能是 JPEG 或 PNG 格式的图片，这个文件打不开。",
        "1 added, 0 updated, 0 unchanged, 1 refused",
    ]


def test_a_crash_midway_through_an_import_leaves_nothing(hub_database, tmp_path):
    instance = copy_database(hub_database, tmp_path / "hub")
    rows = [row(f"代表{n:03d}", mobile=f"1320000{n:04d}") for n in range(40)]
    (tmp_path / "d.csv").write_bytes(csv_bytes(rows))
    crashed = flask_command(
        instance, "deputies", "import", str(tmp_path / "d.csv"),
        env={"ROLE": "hub", "CRASH_POINT": "deputies_import_midway"},
    )  # fmt: skip
    assert crashed.returncode == 70, crashed.stdout + crashed.stderr
    app = make_app(instance, ROLE="hub")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Deputy).where(Deputy.name.like("代表%"))) == 0
        assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 0
        db.engine.dispose()
    done = flask_command(instance, "deputies", "import", str(tmp_path / "d.csv"), env={"ROLE": "hub"})
    assert done.stdout.splitlines() == ["40 added, 0 updated, 0 unchanged, 0 refused"], done.stderr


def test_list_json_gives_public_fields_and_the_id_every_command_takes(hub, tmp_path):
    run_import(hub, tmp_path, csv_bytes(GOOD))
    result = hub.test_cli_runner().invoke(args=["deputies", "list", "--station", "LJ01", "--json"])
    listed = json.loads(result.output)
    chun = next(d for d in listed if d["name"] == "欧阳春花")
    assert {"id", "public_id", "name", "township", "level", "stations", "public_phone", "retired"} <= set(chun)
    assert (chun["township"], chun["stations"], chun["public_phone"], chun["retired"]) == (
        "罗镜镇", ["LJ00", "LJ01"], "0766-3812345", False,
    )  # fmt: skip
    assert "13800001111" not in result.output
    assert all("LJ01" in d["stations"] for d in listed)
    with hub.app_context():
        assert chun["id"] == deputy_named("欧阳春花").id
    everyone = json.loads(hub.test_cli_runner().invoke(args=["deputies", "list", "--json"]).output)
    assert len(everyone) == 1223
    plain = hub.test_cli_runner().invoke(args=["deputies", "list", "--station", "LJ01"])
    assert "欧阳春花" in plain.output and "13800001111" not in plain.output
    unknown = hub.test_cli_runner().invoke(args=["deputies", "list", "--station", "ZZ99"])
    assert unknown.exit_code != 0 and "ZZ99" in unknown.output


def test_the_directory_is_the_hub_s(runner):
    result = runner.invoke(args=["deputies", "list"])
    assert result.exit_code != 0 and "镇人大办" in result.output


def test_the_migration_keeps_the_public_phone_and_gives_every_deputy_a_public_id(tmp_path):
    import sqlite3

    from flask_migrate import upgrade

    app = make_app(tmp_path, ROLE="hub", AUTO_MIGRATE=False)
    with app.app_context():
        upgrade(directory=str(__import__("kiosk").MIGRATIONS), revision="0005")
        db.engine.dispose()
    with sqlite3.connect(tmp_path / "kiosk.sqlite3") as conn:
        conn.execute("INSERT INTO townships (id, name, kind) VALUES (1, '罗镜镇', '镇')")
        conn.execute("INSERT INTO deputies (id, name, township_id, phone) VALUES (1, '甲', 1, '0766-1'), (2, '乙', 1, NULL)")
    with app.app_context():
        upgrade(directory=str(__import__("kiosk").MIGRATIONS))
        rows = db.session.execute(select(Deputy.id, Deputy.public_phone, Deputy.public_id, Deputy.level, Deputy.retired)).all()
        db.engine.dispose()
    assert [(i, p, level, r) for i, p, _pid, level, r in rows] == [(1, "0766-1", "镇", False), (2, None, "镇", False)]
    assert len({pid for _i, _p, pid, _l, _r in rows}) == 2


def test_the_demo_keeps_the_rule_that_a_street_has_no_town_deputies(hub):
    with hub.app_context():
        levels = dict(
            db.session.execute(
                select(Township.kind, func.group_concat(Deputy.level.distinct()))
                .join(Deputy, Deputy.township_id == Township.id)
                .group_by(Township.kind)
            ).all()
        )
    assert levels == {"街道": "罗定市", "镇": "镇"}
