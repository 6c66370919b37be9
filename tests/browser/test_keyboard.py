"""Typing Chinese on the on-screen keyboard: pinyin keys and candidates, taps only."""

import pytest
from playwright.sync_api import expect

from .conftest import screenshot
from .helpers import key, start, tap, type_chinese

pytestmark = pytest.mark.browser

SENTENCE = [
    ("cun", "村"), ("kou", "口"), ("lu", "路"), ("deng", "灯"), ("huai", "坏"), ("le", "了"), "，",
    ("wan", "晚"), ("shang", "上"), ("hen", "很"), ("hei", "黑"), "。",
]


def test_a_chinese_sentence_typed_by_tapping_keys_and_candidates(kiosk, box):
    page = kiosk
    start(page, box.url)
    tap(page, "category-road")
    content = page.get_by_test_id("content")
    for part in SENTENCE:
        if isinstance(part, str):
            key(page, part).tap()
        else:
            type_chinese(page, *part)
    expect(content).to_have_value("村口路灯坏了，晚上很黑。")
    expect(page.locator("#content-counter [data-count]")).to_have_text("12")
    # Show the candidates once more for the screenshot, then take the letters back.
    page.locator('[data-keyboard-panel] .hg-button[data-skbtn="y"]').tap()
    page.locator('[data-keyboard-panel] .hg-button[data-skbtn="i"]').tap()
    expect(page.locator(".hg-candidate-box")).to_be_visible()
    screenshot(page, "03-content-pinyin")
    key(page, "{bksp}").tap()
    key(page, "{bksp}").tap()
    expect(content).to_have_value("村口路灯坏了，晚上很黑。")

    tap(page, "next")
    expect(page.get_by_test_id("anonymous")).to_be_visible()
    tap(page, "next")
    tap(page, "deputy-none")
    expect(page.get_by_test_id("review-content")).to_have_text("村口路灯坏了，晚上很黑。")
