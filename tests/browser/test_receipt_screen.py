"""The receipt screen: the number, 验证码 and QR code in view for the person
who submitted, then gone by themselves before the next person comes."""

import pytest
from playwright.sync_api import expect

from tests.support.touch import history_length, screenshot, walk_to_review

pytestmark = pytest.mark.browser

# Set when the idle overlay shows: the receipt screen has no idle timer of its own.
WATCH_IDLE = """() => {
  window.idleShown = false;
  new MutationObserver(() => {
    if (!document.getElementById("idle").hidden) window.idleShown = true;
  }).observe(document.getElementById("idle"), {attributes: true});
}"""


def overlap(a, b) -> bool:
    return (a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"]
            and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"])


def on_top(page, testid: str) -> bool:
    """Nothing lies over the middle of the element, not even a shade."""
    shown = page.get_by_test_id(testid).bounding_box()
    centre = (shown["x"] + shown["width"] / 2, shown["y"] + shown["height"] / 2)
    return page.evaluate(
        "([x, y, testid]) => document.elementFromPoint(x, y)?.closest(`[data-testid=${testid}]`) != null",
        [*centre, testid],
    )


def test_the_receipt_screen_counts_down_beside_done_and_ends_by_itself(kiosk, quick_idle_box):
    page = kiosk
    walk_to_review(page, quick_idle_box.url)
    history_at_receipt = history_length(page)
    page.evaluate(WATCH_IDLE)
    page.get_by_test_id("submit").tap()
    secret = page.get_by_test_id("receipt-secret").inner_text()
    number = page.get_by_test_id("receipt-number").inner_text()

    countdown = page.get_by_test_id("receipt-countdown")
    expect(countdown).to_be_visible()
    expect(countdown).to_contain_text("秒后自动回到首页")
    expect(countdown.locator("progress")).to_be_visible()
    screenshot(page, "07-receipt-countdown")
    bar = countdown.bounding_box()
    for testid in ("done", "receipt-number", "receipt-secret", "receipt-qr"):
        assert not overlap(bar, page.get_by_test_id(testid).bounding_box()), testid
        assert on_top(page, testid), testid
    done = page.get_by_test_id("done").bounding_box()
    assert done["height"] >= 110 and done["width"] >= 400

    # Touching the receipt does not keep it up.
    page.get_by_test_id("receipt-number").tap()
    expect(page.get_by_test_id("start")).to_be_visible(timeout=15_000)
    assert page.evaluate("() => window.idleShown") is False
    assert secret not in page.content() and number not in page.content()
    assert history_length(page) == history_at_receipt


def test_without_a_printer_the_home_screen_promises_no_paper(kiosk, box):
    page = kiosk
    page.goto(box.url)
    note = page.get_by_test_id("start-note")
    expect(note).to_be_visible()
    expect(note).to_contain_text("回执编号")
    expect(page.locator("#screen")).not_to_contain_text("打印")
