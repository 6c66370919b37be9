"""The deputy directory's staff pages at /staff/admin/deputies: add and change a deputy with a
photo, retire one, import the spreadsheet; township staff only their own township's."""

import io
import re

import weasyprint  # noqa: F401  (as at a hub that printed a slip: Pillow pads cut images from then on)
from PIL import Image
from sqlalchemy import func, select

from kiosk.deputies import photos
from kiosk.extensions import db
from kiosk.models import AuditEntry, Deputy, DeputyPhoto, Township
from tests.support.deputies import csv_bytes, portrait, row
from tests.support.desk import Desk

BASE = "/staff/admin/deputies"


def township_id(name: str) -> int:
    return db.session.scalar(select(Township.id).where(Township.name == name))


def form(township: int, **changes) -> dict:
    values = {
        "name": "黄丽娟", "sex": "女", "township_id": township, "level": "罗定市", "occupation": "乡村医生",
        "mobile": "13812345678", "public_phone": "0766-3811111", "stations": "LC00、LC01",
        "term_start": "2021-10-01", "term_end": "2026-09-30",
    }  # fmt: skip
    values.update(changes)
    return values


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_a_clerk_adds_a_deputy_with_a_photo_resized_and_stripped(hub, clerk):
    with hub.app_context():
        luocheng = township_id("罗城街道")
    big = portrait(4, size=(2000, 2600))
    answer = clerk.post(f"{BASE}/new", data={**form(luocheng), "photo": (io.BytesIO(big), "黄丽娟.jpg")})
    assert answer.status_code == 302, answer.text
    with hub.app_context():
        deputy = db.session.scalar(select(Deputy).where(Deputy.name == "黄丽娟"))
        assert (deputy.level, deputy.mobile, [s.code for s in deputy.stations]) == ("罗定市", "13812345678", ["LC00", "LC01"])
        data = db.session.get(DeputyPhoto, deputy.photo).data
        image = Image.open(io.BytesIO(data))
        assert max(image.size) == photos.MAX_SIDE and not image.getexif() and b"SecretSoftware" not in data
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "deputy.create"))
        assert entry.user_id == clerk.user_id and entry.after["stations"] == ["LC00", "LC01"]
        deputy_id = deputy.id
    listing = clerk.get(f"{BASE}/").text
    assert "黄丽娟" in listing and "13812345678" in listing and "/deputies/photos/" in listing
    assert clerk.get(f"/deputies/photos/{photos.digest(data)}.jpg").data == data
    # Retired: kept, marked, and audited.
    answer = clerk.post(f"{BASE}/{deputy_id}", data={**form(luocheng), "retired": "y"})
    assert answer.status_code == 302
    with hub.app_context():
        deputy = db.session.get(Deputy, deputy_id)
        assert deputy.retired and deputy.photo is not None
        entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "deputy.update")).one()
        assert (entry.before, entry.after) == ({"retired": False}, {"retired": True})
    assert "已离任" in clerk.get(f"{BASE}/").text


def test_what_is_not_a_photo_is_refused_with_a_message_and_nothing_changes(hub, clerk):
    with hub.app_context():
        luocheng = township_id("罗城街道")
        before = count(Deputy), count(DeputyPhoto)
    for content, name in ((b"GIF89a not a photo", "a.gif"), (portrait(5)[:2000], "cut.jpg"), (b"%PDF-1.4", "x.png")):
        answer = clerk.post(f"{BASE}/new", data={**form(luocheng), "photo": (io.BytesIO(content), name)})
        assert answer.status_code == 200 and "照片只能是 JPEG 或 PNG" in answer.text
    with hub.app_context():
        assert (count(Deputy), count(DeputyPhoto)) == before


def test_a_photo_larger_than_the_cap_is_refused_before_it_is_read(hub, clerk):
    with hub.app_context():
        luocheng = township_id("罗城街道")
        before = count(Deputy)
    huge = b"\xff\xd8" + b"\0" * (photos.MAX_BYTES + 200_000)
    answer = clerk.post(f"{BASE}/new", data={**form(luocheng), "photo": (io.BytesIO(huge), "big.jpg")})
    assert answer.status_code == 413 and "太长" in answer.text
    with hub.app_context():
        assert count(Deputy) == before


def test_the_form_keeps_the_rules_of_the_import(hub, clerk):
    with hub.app_context():
        luocheng = township_id("罗城街道")
        taken = db.session.scalar(select(Deputy).where(Deputy.township_id == luocheng).limit(1))
        taken.mobile = "13900000000"
        db.session.commit()
        before = count(Deputy)
    cases = [
        ({"level": "镇"}, "罗城街道是街道，没有镇人大"),
        ({"mobile": "12345"}, "手机号码“12345”不对"),
        ({"stations": "LC00、ZZ99"}, "没有编号或名称为“ZZ99”的联络站"),
        ({"stations": "SL00"}, "联络站 SL00 不属于本镇街"),
        ({"mobile": "13900000000"}, "已是代表"),
        ({"term_start": "2026-01-01", "term_end": "2021-01-01"}, "任期结束早于任期开始"),
    ]
    for changes, message in cases:
        answer = clerk.post(f"{BASE}/new", data=form(luocheng, **changes))
        assert answer.status_code == 200 and message in answer.text, (changes, answer.text[-2000:])
    with hub.app_context():
        assert count(Deputy) == before


def test_township_staff_see_and_change_only_their_own_township_s_deputies(hub, clerk):
    with hub.app_context():
        other = db.session.scalar(select(Deputy).where(Deputy.township_id == township_id("素龙街道")).limit(1))
        other_id, other_name, other_township = other.id, other.name, other.township_id
        luocheng = township_id("罗城街道")
    assert clerk.get(f"{BASE}/{other_id}").status_code == 404
    assert clerk.post(f"{BASE}/{other_id}", data=form(luocheng)).status_code == 404
    assert clerk.get(f"{BASE}/?township={other_township}").status_code == 404
    assert other_name not in clerk.get(f"{BASE}/").text
    # A deputy may not be moved into another township by the clerk either.
    with hub.app_context():
        mine = db.session.scalar(select(Deputy).where(Deputy.township_id == luocheng).limit(1)).id
    answer = clerk.post(f"{BASE}/{mine}", data=form(other_township, stations=""))
    assert answer.status_code in (200, 404)
    with hub.app_context():
        assert db.session.get(Deputy, mine).township_id == luocheng
        assert count(AuditEntry, AuditEntry.action == "denied") >= 3
    city = Desk(hub, role="city")
    assert other_name in city.get(f"{BASE}/?township={other_township}").text


def test_the_import_form_imports_with_photos_and_lists_refused_rows(hub, clerk):
    rows = [
        row("林志坚", "罗城街道", level="罗定市", mobile="13700000001", stations="LC00"),
        row("邓海宁", "罗镜镇", mobile="13700000002"),  # another township's
        row("林志坚", "罗城街道", level="罗定市", mobile="13700000001", stations="LC01"),
        row("何少华", "罗城街道", level="省", mobile="13700000003", stations="LC00"),
    ]
    data = {
        "file": (io.BytesIO(csv_bytes(rows, "gb18030")), "名册.csv"),
        "photos": [(io.BytesIO(portrait(6)), "何少华.jpg")],
    }
    page = clerk.post(f"{BASE}/import", data=data)
    result = re.search(r'data-testid="import-result">(.*?)</div>', page.text, re.DOTALL).group(1)
    assert re.findall(r"<p>(.*?)</p>", result) == [
        "第2行：与第4行是同一位代表，这几行都没有导入",
        "第3行：只能导入本镇街的代表，这一行是罗镜镇的",
        "第4行：与第2行是同一位代表，这几行都没有导入",
        "1 added, 0 updated, 0 unchanged, 3 refused",
    ]
    with hub.app_context():
        he = db.session.scalar(select(Deputy).where(Deputy.name == "何少华"))
        assert he.level == "省" and he.photo is not None and [s.code for s in he.stations] == ["LC00"]
        assert db.session.scalar(select(AuditEntry.username).where(AuditEntry.action == "deputy.create")) is not None
    # A phone of another township's deputy: that deputy is not taken over.
    with hub.app_context():
        other = db.session.scalar(select(Deputy).where(Deputy.township_id == township_id("罗镜镇")).limit(1))
        other.mobile, other_id, other_name = "13700000009", other.id, other.name
        db.session.commit()
    grab = {"file": (io.BytesIO(csv_bytes([row("冒名", "罗城街道", level="省", mobile="13700000009", stations="")])), "a.csv")}
    page = clerk.post(f"{BASE}/import", data=grab)
    assert "第2行：手机号码 13700000009 是其他镇街的代表的" in page.text and "0 added, 0 updated" in page.text
    with hub.app_context():
        assert db.session.get(Deputy, other_id).name == other_name
    unreadable = clerk.post(f"{BASE}/import", data={"file": (io.BytesIO(b"\x00\xff" * 50), "x.csv")})
    assert unreadable.status_code == 200 and "无法读取这个文件" in unreadable.text
    missing = clerk.post(f"{BASE}/import", data={})
    assert missing.status_code == 200 and "请选择名册文件" in missing.text


def test_a_file_sent_for_a_text_field_is_dropped_even_where_photos_are_taken(hub, clerk):
    with hub.app_context():
        before = count(Deputy)
    answer = clerk.post(f"{BASE}/new", data={"name": (io.BytesIO("黄丽娟".encode()), "a.txt")})
    assert answer.status_code == 200 and "请填写姓名" in answer.text
    with hub.app_context():
        assert count(Deputy) == before


def test_the_directory_has_its_own_main_menu_entry_for_every_staff_role(hub, clerk):
    for desk in (clerk, Desk(hub, role="chair"), Desk(hub, role="city")):
        page = desk.get(f"{BASE}/").text
        nav = re.search(r'<nav class="staff-nav".*?</nav>', page, re.DOTALL).group(0)
        assert re.findall(r'<a href="[^"]*" aria-current="page">([^<]+)</a>', nav) == ["代表名册"]
