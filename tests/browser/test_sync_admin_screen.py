"""The station's sync admin screen on a touch screen with no keyboard: the
kiosk's look, and a PIN typed on its own keypad."""

import pytest
from playwright.sync_api import expect

from tests.support.touch import screenshot, tap

pytestmark = pytest.mark.browser

PIN = "2468"  # admin_box's (tests/browser/conftest.py)


def type_pin(page, digits: str) -> None:
    for digit in digits:
        tap(page, f"pin-key-{digit}")


def test_the_pin_is_typed_on_the_screen_and_opens_the_sync_screen(kiosk, admin_box):
    page = kiosk
    page.goto(admin_box.url + "/admin/sync/")
    box = page.get_by_test_id("pin")
    # A PIN box as large as the kiosk's fields, its digits at the kiosk's sizes.
    size = box.bounding_box()
    assert size["height"] >= 80 and size["width"] >= 400, size
    assert float(box.evaluate("(el) => getComputedStyle(el).fontSize").removesuffix("px")) >= 36
    for key in [f"pin-key-{d}" for d in "0123456789"] + ["pin-clear", "pin-ok"]:
        key_box = page.get_by_test_id(key).bounding_box()
        assert key_box["width"] >= 60 and key_box["height"] >= 60, key
    screenshot(page, "30-sync-pin")

    # 清除 empties the box; a wrong PIN says so and opens nothing.
    type_pin(page, "99")
    expect(box).to_have_value("99")
    tap(page, "pin-clear")
    expect(box).to_have_value("")
    type_pin(page, "1111")
    tap(page, "pin-ok")
    expect(page.get_by_test_id("wrong-pin")).to_be_visible()
    expect(page.get_by_test_id("sync-status")).to_have_count(0)

    type_pin(page, PIN)
    expect(page.get_by_test_id("pin")).to_have_value(PIN)
    tap(page, "pin-ok")
    expect(page.get_by_test_id("sync-status")).to_be_visible()
    expect(page.get_by_test_id("sync-now")).to_be_visible()
    screenshot(page, "31-sync-status")
    tap(page, "lock")
    expect(page.get_by_test_id("pin-ok")).to_be_visible()
