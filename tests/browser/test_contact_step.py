"""The contact step: name and phone only after 我同意, and the screen says so."""

import pytest
from playwright.sync_api import expect

from tests.support.touch import screenshot, tap, to_contact

pytestmark = pytest.mark.browser


def touch_middle(page, testid: str) -> None:
    """A finger on a box, enabled or not (Playwright's tap waits for an enabled one)."""
    area = page.get_by_test_id(testid).bounding_box()
    page.touchscreen.tap(area["x"] + area["width"] / 2, area["y"] + area["height"] / 2)


def test_greyed_out_boxes_say_why_beside_them_and_a_tap_ticks_nothing(kiosk, box):
    page = kiosk
    to_contact(page, box.url)
    why = page.get_by_test_id("consent-first")
    expect(why).to_be_visible()
    expect(why).to_contain_text("请先勾选")
    expect(why).to_contain_text("我同意")
    # Beside the boxes: just above them, inside the same frame.
    said, name = why.bounding_box(), page.get_by_test_id("name").bounding_box()
    assert 0 <= name["y"] - (said["y"] + said["height"]) <= 80
    screenshot(page, "04-contact-why")

    for testid in ("name", "phone"):
        touch_middle(page, testid)
        page.wait_for_load_state("networkidle")
        expect(page.get_by_test_id("consent")).not_to_be_checked()
        expect(page.get_by_test_id(testid)).to_be_disabled()
        expect(why).to_be_visible()

    tap(page, "consent")
    expect(why).to_be_hidden()
    expect(page.get_by_test_id("name")).to_be_enabled()
    tap(page, "anonymous")
    expect(why).to_be_visible()
