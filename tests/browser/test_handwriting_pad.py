"""Writing by hand at the kiosk: 手写 beside 拼音, a character written with a
finger on the pad, its candidates, and 联想 bringing a character the
recogniser lacks (榃 of 榃滨镇). Strokes are Make Me a Hanzi's medians drawn
across the pad by a finger."""

import re

import pytest
from playwright.sync_api import expect

from tests.support.handwriting import medians, place_lexicon
from tests.support.touch import screenshot, start, tap

pytestmark = pytest.mark.browser

STEPS = 2  # touch moves between two recorded points
# The station answers after every stroke, one at a time: on a busy machine a
# character's answers take a while.
ANSWER_MS = 20_000


@pytest.fixture
def station(box, handwriting_lexicon):
    place_lexicon(box.server.instance, handwriting_lexicon)
    return box


def write(page, ch: str) -> None:
    """Draw ``ch`` across the pad with one finger, stroke by stroke (touch
    events through the browser's DevTools protocol: Playwright's own touch
    screen only taps)."""
    pad = page.get_by_test_id("handwriting-pad").bounding_box()
    side = min(pad["width"], pad["height"])
    finger = page.context.new_cdp_session(page)
    for stroke in medians(ch):
        points = [(pad["x"] + x * side / 1024, pad["y"] + y * side / 1024) for x, y in stroke]
        finger.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [dict(zip("xy", points[0]))]})
        # A moving finger reports every few pixels, not only at the corners.
        for (x0, y0), (x1, y1) in zip(points, points[1:]):
            for step in range(1, STEPS + 1):
                point = {"x": x0 + (x1 - x0) * step / STEPS, "y": y0 + (y1 - y0) * step / STEPS}
                finger.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [point]})
        finger.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    finger.detach()
    # The pad asks after every stroke: wait for the answer about them all.
    expect(page.locator("[data-handwriting-candidates]")).to_have_attribute(
        "data-strokes", str(len(medians(ch))), timeout=ANSWER_MS
    )


def choose(page, ch: str) -> None:
    """Tap ``ch`` among the first five candidates."""
    first_five = page.locator("[data-testid^='handwriting-candidate-']").filter(has_text=re.compile(f"^{ch}$"))
    expect(first_five.first).to_be_visible()
    testid = first_five.first.get_attribute("data-testid")
    assert int(testid.rpartition("-")[2]) < 5, testid
    first_five.first.tap()


def test_a_place_name_written_by_hand_with_its_associated_words(kiosk, station):
    page = kiosk
    start(page, station.url)
    tap(page, "category-road")
    content = page.get_by_test_id("content")
    expect(content).to_be_focused()
    pinyin, by_hand = page.get_by_test_id("ime-pinyin"), page.get_by_test_id("ime-handwriting")
    expect(pinyin).to_be_visible()
    by_hand.tap()
    expect(by_hand).to_have_attribute("aria-pressed", "true")
    pad = page.get_by_test_id("handwriting-pad")
    expect(pad).to_be_visible()
    box = pad.bounding_box()
    assert abs(box["width"] - box["height"]) <= 1 and box["width"] >= 340  # a large square
    expect(page.locator("[data-keyboard-panel] .simple-keyboard")).to_be_hidden()

    for ch in "住在":
        write(page, ch)
        choose(page, ch)
    expect(content).to_have_value("住在")
    expect(page.get_by_test_id("handwriting-pad")).to_be_visible()
    write(page, "滨")
    choose(page, "滨")
    expect(content).to_have_value("住在滨")
    # 榃 is not in the recogniser's model: 联想 brings it.
    place = page.locator("[data-testid^='associated-']").filter(has_text=re.compile("^榃滨镇$"))
    expect(place).to_be_visible()
    screenshot(page, "03-content-handwriting")
    place.tap()
    expect(content).to_have_value("住在榃滨镇")
    expect(content).to_be_focused()

    # 重写 wipes the pad; ⌫ then deletes before the caret.
    write(page, "口")
    expect(page.get_by_test_id("handwriting-candidate-0")).to_be_visible()
    tap(page, "handwriting-clear")
    expect(page.get_by_test_id("handwriting-candidate-0")).to_have_count(0)
    tap(page, "handwriting-delete")
    expect(content).to_have_value("住在榃滨")
    expect(page.locator("#content-counter [data-count]")).to_have_text("4")

    # Back to the keys: pinyin goes on where the pad left off.
    pinyin.tap()
    expect(page.locator("[data-keyboard-panel] .simple-keyboard")).to_be_visible()
    expect(pad).to_be_hidden()
