"""A deputy on duty at the touch screen: check in with the PIN pad, the lock after five
wrong PINs, the reception log, 签退, and deputy mode ending by itself."""

import pytest
from playwright.sync_api import expect

from tests.support.deputies import give_pin
from tests.support.touch import screenshot, tap

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def type_pin(page, digits: str) -> None:
    for digit in digits:
        tap(page, f"pin-key-{digit}")
    tap(page, "pin-ok")


def deputies_of(box) -> list[tuple[int, str]]:
    return box.query(
        "SELECT d.id, d.name FROM deputies d JOIN station_deputies s ON s.deputy_id = d.id"
        " WHERE s.station_code = 'LC00' ORDER BY d.id"
    )


def checkins(box, deputy_id: int) -> list[tuple]:
    return box.query(
        "SELECT c.uuid, o.ended_by FROM duty_checkins c LEFT JOIN duty_checkouts o ON o.checkin_uuid = c.uuid"
        " WHERE c.deputy_id = ? ORDER BY c.created_at",
        deputy_id,
    )


def check_in(page, box, deputy_id: int, pin: str) -> None:
    page.goto(box.url)
    tap(page, "deputy-checkin")
    tap(page, f"checkin-{deputy_id}")
    type_pin(page, pin)


def test_a_deputy_checks_in_logs_a_reception_and_signs_out(kiosk, box):
    page = kiosk
    deputy_id, name = deputies_of(box)[0]
    give_pin(box.database, deputy_id, "5207")
    before = len(checkins(box, deputy_id))
    check_in(page, box, deputy_id, "5207")
    banner = page.get_by_test_id("deputy-mode")
    expect(banner).to_contain_text(name)
    expect(banner).to_contain_text("已签到 0 分钟")
    screenshot(page, f"40-deputy-mode-{page.shape}")

    entries = box.count("reception_entries")
    tap(page, "reception-log")
    page.get_by_test_id("reception-people").fill("3")
    page.get_by_test_id("reception-about").fill("村道修路")
    tap(page, "reception-save")
    expect(page.get_by_test_id("duty-message")).to_contain_text("已登记接待 3 人")
    assert box.count("reception_entries") == entries + 1

    tap(page, "deputy-checkout")
    expect(page.get_by_test_id("start")).to_be_visible()
    expect(page.get_by_test_id("deputy-mode")).to_have_count(0)
    rows = checkins(box, deputy_id)
    assert len(rows) == before + 1 and rows[-1][1] == "deputy"


def test_five_wrong_pins_lock_the_deputy_s_check_in(kiosk, box):
    page = kiosk
    deputy_id, _name = deputies_of(box)[1]
    give_pin(box.database, deputy_id, "8642")
    before = len(checkins(box, deputy_id))
    check_in(page, box, deputy_id, "1111")
    expect(page.get_by_text("密码不对")).to_be_visible()
    for _ in range(4):
        type_pin(page, "1111")
    expect(page.get_by_test_id("pin-locked")).to_be_visible()
    expect(page.get_by_test_id("pin-locked")).to_contain_text("分钟后再试")
    screenshot(page, f"41-deputy-pin-locked-{page.shape}")
    type_pin(page, "8642")
    expect(page.get_by_test_id("pin-locked")).to_be_visible()
    expect(page.get_by_test_id("deputy-mode")).to_have_count(0)
    assert len(checkins(box, deputy_id)) == before


def test_deputy_mode_left_untouched_ends_by_itself(kiosk, duty_idle_box):
    page = kiosk
    box = duty_idle_box
    deputy_id, _name = deputies_of(box)[0]
    give_pin(box.database, deputy_id, "3141")
    check_in(page, box, deputy_id, "3141")
    expect(page.get_by_test_id("deputy-mode")).to_be_visible()
    # Nobody touches it: home comes back, and the check-in is ended as idle.
    expect(page.get_by_test_id("start")).to_be_visible(timeout=15_000)
    expect(page.get_by_test_id("deputy-mode")).to_have_count(0)
    assert checkins(box, deputy_id)[-1][1] == "idle"


def test_an_assisted_entry_is_marked_on_the_receipt_and_consent_is_the_constituent_s(kiosk, box):
    page = kiosk
    deputy_id, name = deputies_of(box)[2]
    give_pin(box.database, deputy_id, "7391")
    check_in(page, box, deputy_id, "7391")
    tap(page, "assisted-entry")
    tap(page, "category-road")
    page.get_by_test_id("content").fill("村口的路灯坏了三个月，晚上很黑。")
    tap(page, "next")
    # The contact step is the ordinary one: the constituent answers it on the screen.
    expect(page.get_by_test_id("consent")).to_be_visible()
    tap(page, "next")
    expect(page.get_by_test_id("deputy-none")).to_be_visible()
    tap(page, "deputy-none")
    tap(page, "submit")
    expect(page.get_by_test_id("entered-by")).to_have_text(f"代表{name}代为录入")
    number = page.get_by_test_id("receipt-number").inner_text()
    screenshot(page, f"42-assisted-receipt-{page.shape}")
    rows = box.query(
        "SELECT c.deputy_id FROM assisted_entries a JOIN opinions o ON o.uuid = a.opinion_uuid"
        " JOIN duty_checkins c ON c.uuid = a.checkin_uuid WHERE o.receipt_number = ?",
        number,
    )
    assert rows == [(deputy_id,)]
