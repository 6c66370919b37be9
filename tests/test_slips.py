"""Papers the township office prints: the assignment slip (交办单) and a replacement receipt."""

import re

import pytest
from sqlalchemy import select

from kiosk.extensions import db
from kiosk.models import AuditEntry, Department, Opinion, Station
from kiosk.staff import services
from tests.support import receipts as receipt_checks
from tests.support.desk import Desk, station_of
from tests.support.factories import make_user, receive_opinion


@pytest.fixture
def chair(hub):
    return Desk(hub, role="chair")


def forwarded(app, station="LC00", **opinion_fields) -> tuple[str, int]:
    """An opinion forwarded to 交通运输局 with instructions; (receipt number, assignment id)."""
    with app.app_context():
        department = Department(name=f"交通运输局{station}", contact_person="李科长", contact_phone="0766-3822000")
        db.session.add(department)
        db.session.commit()
        opinion = receive_opinion(station, **opinion_fields)
        office = make_user(role="township", township=opinion.station.township.name)
        services.accept(office, opinion)
        assignment = services.forward(office, opinion, department, instructions="请核实后一周内修复并答复。")
        return opinion.receipt_number, assignment.id


def test_the_slip_is_an_a4_pdf_in_chinese_with_what_the_department_needs(hub, chair, tmp_path):
    number, assignment = forwarded(hub, content="村口的路灯坏了三个月，晚上很黑。", contact_name="陈大文", contact_phone="13800138000")
    response = chair.get(f"/staff/assignments/{assignment}/slip.pdf?contacts=1")
    assert response.status_code == 200
    assert response.content_type == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store"
    path = receipt_checks.write(response.data, tmp_path / "slip.pdf")
    fonts = receipt_checks.fonts(path)
    assert fonts and all(f["emb"] == "yes" for f in fonts)
    assert any("Sans-SC" in f["name"] or "CJK" in f["name"] for f in fonts)
    width, height = receipt_checks.page_size_mm(path)
    assert (round(width), round(height)) == (210, 297)
    text = receipt_checks.text(path)
    for expected in (number, "交通运输局", "李科长", "0766-3822000", "意见建议交办单", "罗城街道", "道路交通",
                     "村口的路灯坏了三个月", "请核实后一周内修复并答复。", "答复期限", "签名", "陈大文", "13800138000"):  # fmt: skip
        assert expected in text, expected


def test_the_slip_names_the_deputy_the_constituent_chose(hub, chair, tmp_path):
    with hub.app_context():
        deputy = db.session.get(Station, "LC00").deputies[0]
        deputy.public_phone = "13700001111"  # the public phone: stations show it
        db.session.commit()
        name, deputy_id = deputy.name, deputy.id
    number, assignment = forwarded(hub, deputy_id=deputy_id)
    text = receipt_checks.text(receipt_checks.write(chair.get(f"/staff/assignments/{assignment}/slip.pdf").data,
                                                    tmp_path / "slip.pdf"))  # fmt: skip
    assert "选择的代表" in text and f"{name}（13700001111）" in text
    _, without = forwarded(hub, station="LC01")
    text = receipt_checks.text(receipt_checks.write(chair.get(f"/staff/assignments/{without}/slip.pdf").data,
                                                    tmp_path / "plain.pdf"))  # fmt: skip
    assert "选择的代表" in text and "未选" in text


def test_the_opinion_page_links_its_slip(hub, chair):
    number, assignment = forwarded(hub)
    with hub.app_context():
        uuid = db.session.scalar(select(Opinion.uuid).where(Opinion.receipt_number == number))
    assert f"/staff/assignments/{assignment}/slip.pdf" in chair.get(f"/staff/opinions/{uuid}").text


def test_another_townships_slip_is_a_404_with_an_audit_row(hub, chair):
    with hub.app_context():
        elsewhere = station_of("素龙街道")
    _, assignment = forwarded(hub, station=elsewhere)
    response = chair.get(f"/staff/assignments/{assignment}/slip.pdf")
    assert response.status_code == 404
    with hub.app_context():
        row = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
        assert (row.action, row.user_id) == ("denied", chair.user_id)


def test_an_unknown_slip_is_a_404(hub, chair):
    assert chair.get("/staff/assignments/424242/slip.pdf").status_code == 404


def test_a_replacement_receipt_carries_the_new_secret_in_its_text_and_qr_code(hub, chair, tmp_path):
    with hub.app_context():
        opinion = receive_opinion(content="村口的路灯坏了三个月，晚上很黑。")
        uuid, number, old = opinion.uuid, opinion.receipt_number, opinion.secret
    chair.post(f"/staff/opinions/{uuid}/replacement-receipt", {"replace_receipt-confirm": "y"})
    with hub.app_context():
        new = db.session.get(Opinion, uuid).current_secret
    response = chair.get(f"/staff/opinions/{uuid}/receipt.pdf")
    assert response.status_code == 200 and response.content_type == "application/pdf"
    path = receipt_checks.write(response.data, tmp_path / "replacement.pdf")
    text = receipt_checks.text(path)
    assert number in text and new in text and old not in text
    image = receipt_checks.rasterise(path, tmp_path / "replacement.png", dpi=300)
    assert receipt_checks.qr_texts(image) == [f"https://rd.example.cn/r/{number}?k={new}"]


def test_the_slip_is_headed_by_the_townships_own_office(hub, chair, tmp_path):
    """A 街道 has a 人大工委, not a 人民代表大会; a 镇 has its 人大 and its office."""
    number, assignment = forwarded(hub)
    text = receipt_checks.text(receipt_checks.write(chair.get(f"/staff/assignments/{assignment}/slip.pdf").data,
                                                    tmp_path / "street.pdf"))
    assert "罗城街道人大工作委员会" in text and "人民代表大会" not in text
    assert "交回罗城街道人大工委" in text
    with hub.app_context():
        from kiosk.models import Station, Township

        town = db.session.scalar(select(Township).where(Township.kind == "镇").order_by(Township.id))
        code = db.session.scalar(select(Station.code).where(Station.township_id == town.id).order_by(Station.code))
        town_name = town.name
    _number, assignment = forwarded(hub, station=code)
    city = Desk(hub, role="city")
    text = receipt_checks.text(receipt_checks.write(city.get(f"/staff/assignments/{assignment}/slip.pdf").data,
                                                    tmp_path / "town.pdf"))
    assert f"{town_name}人民代表大会办公室" in text and f"交回{town_name}人大办" in text


def slip_text(desk, assignment, tmp_path, query="") -> str:
    response = desk.get(f"/staff/assignments/{assignment}/slip.pdf{query}")
    assert response.status_code == 200
    return receipt_checks.text(receipt_checks.write(response.data, tmp_path / "slip.pdf"))


def slip_rows(app) -> list[tuple]:
    with app.app_context():
        rows = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "slip").order_by(AuditEntry.id))
        return [(row.user_id, row.subject, row.after) for row in rows]


def test_contact_details_go_on_the_slip_only_when_ticked_and_every_print_is_audited(hub, chair, tmp_path):
    _, assignment = forwarded(hub, contact_name="陈大文", contact_phone="13800138000")
    plain = slip_text(chair, assignment, tmp_path)
    assert "陈大文" not in plain and "13800138000" not in plain and "联系电话" not in plain
    ticked = slip_text(chair, assignment, tmp_path, "?contacts=1")
    assert "陈大文" in ticked and "13800138000" in ticked
    subject = f"assignment:{assignment}"
    assert slip_rows(hub) == [(chair.user_id, subject, {"contacts": False}), (chair.user_id, subject, {"contacts": True})]


def test_city_staff_never_print_contact_details_the_export_policy_withholds(hub, tmp_path):
    _, assignment = forwarded(hub, contact_name="陈大文", contact_phone="13800138000")
    city = Desk(hub, role="city")
    text = slip_text(city, assignment, tmp_path, "?contacts=1")
    assert "陈大文" not in text and "13800138000" not in text
    assert slip_rows(hub) == [(city.user_id, f"assignment:{assignment}", {"contacts": False})]


def test_the_slip_link_offers_the_tick_off_by_default_and_forwarding_with_it_ticks_it(hub, chair):
    with hub.app_context():
        department = Department(name="供电所", contact_person="何所长", contact_phone="0766-3800000")
        db.session.add(department)
        db.session.commit()
        opinion = receive_opinion(contact_name="陈大文", contact_phone="13800138000")
        services.accept(chair.user(), opinion)
        uuid, department_id = opinion.uuid, department.id
    page = chair.get(f"/staff/opinions/{uuid}").text
    assert "在交办单上印出联系人姓名和电话" in page  # on the 转办 form, not ticked
    assert 'name="forward-print_contacts"' in page and "checked" not in page.split('name="forward-print_contacts"')[1][:40]
    done = chair.post(f"/staff/opinions/{uuid}/forward",
                      {"forward-department": department_id, "forward-print_contacts": "y"}, htmx=True)  # fmt: skip
    assert done.status_code == 200
    assert re.search(r'name="contacts" value="1" checked', done.text)
    plain = chair.get(f"/staff/opinions/{uuid}").text
    assert 'name="contacts" value="1"' in plain and not re.search(r'name="contacts" value="1" checked', plain)


def test_printing_a_replacement_receipt_is_audited(hub, chair):
    with hub.app_context():
        opinion = receive_opinion()
        uuid = opinion.uuid
    chair.post(f"/staff/opinions/{uuid}/replacement-receipt", {"replace_receipt-confirm": "y"})
    assert chair.get(f"/staff/opinions/{uuid}/receipt.pdf").status_code == 200
    assert slip_rows(hub) == [(chair.user_id, "receipt", {"contacts": False})]
    assert "打印" in chair.get(f"/staff/opinions/{uuid}").text
