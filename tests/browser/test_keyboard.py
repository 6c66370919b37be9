"""Typing Chinese on the on-screen keyboard: pinyin keys and candidates, taps only."""

import pytest
from playwright.sync_api import expect

from tests.support.touch import key, pick_candidate, screenshot, start, tap, tap_keys, type_chinese

pytestmark = [pytest.mark.browser, pytest.mark.slow]

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
    expect(page.get_by_test_id("candidate-0")).to_be_visible()
    screenshot(page, "03-content-pinyin")
    key(page, "{bksp}").tap()
    key(page, "{bksp}").tap()
    expect(content).to_have_value("村口路灯坏了，晚上很黑。")

    tap(page, "next")
    expect(page.get_by_test_id("anonymous")).to_be_visible()
    tap(page, "next")
    tap(page, "deputy-none")
    expect(page.get_by_test_id("review-content")).to_have_text("村口路灯坏了，晚上很黑。")


# The field, the messages under it, the keyboard panel and the visible part
# of the screen's body, as rectangles.
RECTANGLES = """
(field) => {
  const box = (el) => { const r = el.getBoundingClientRect(); return {top: r.top, bottom: r.bottom, left: r.left, right: r.right}; };
  const messages = field.closest(".field, form").querySelectorAll(".message");
  return {
    field: box(field),
    messages: [...messages].map(box),
    panel: box(document.querySelector("[data-keyboard-panel]")),
    body: box(field.closest(".screen-body")),
  };
}
"""


def overlaps(a, b) -> bool:
    return a["top"] < b["bottom"] and b["top"] < a["bottom"] and a["left"] < b["right"] and b["left"] < a["right"]


def assert_typed_in_view(page, testid: str) -> None:
    """The focused field and its messages are in view, above the open keyboard."""
    field = page.get_by_test_id(testid)
    expect(field).to_be_focused()
    expect(page.locator("[data-keyboard-panel]")).to_be_visible()
    page.wait_for_timeout(100)
    boxes = field.evaluate(RECTANGLES)
    for part in [boxes["field"], *boxes["messages"]]:
        assert not overlaps(part, boxes["panel"]), (testid, part, boxes["panel"])
        assert boxes["body"]["top"] <= part["top"] and part["bottom"] <= boxes["body"]["bottom"], (testid, part, boxes)


def test_the_field_being_typed_into_stays_above_the_keyboard(kiosk, box):
    page = kiosk
    start(page, box.url)
    tap(page, "category-road")
    assert_typed_in_view(page, "content")
    page.get_by_test_id("content").fill("短")
    tap(page, "next")
    expect(page.get_by_text("请至少写 5 个字")).to_be_visible()
    assert_typed_in_view(page, "content")
    page.get_by_test_id("content").fill("村口的路灯坏了三个月。")
    tap(page, "next")

    tap(page, "consent")  # the name field takes the focus
    assert_typed_in_view(page, "name")
    type_chinese(page, "chen", "陈")
    page.get_by_test_id("phone").tap()
    assert_typed_in_view(page, "phone")
    screenshot(page, "04-contact-phone-typing")
    page.get_by_test_id("name").tap()
    assert_typed_in_view(page, "name")
    screenshot(page, "04-contact-name-typing")

    page.goto(box.url)
    tap(page, "lookup")
    assert_typed_in_view(page, "lookup-number")
    key(page, "{done}").tap()
    assert_typed_in_view(page, "lookup-secret")


PINYIN_LEFT = "还有拼音没有选字，请点上面一排里要的字，或删掉拼音。"


def test_next_waits_for_pinyin_left_without_its_character(kiosk, box):
    page = kiosk
    start(page, box.url)
    tap(page, "category-road")
    content = page.get_by_test_id("content")
    for pinyin, character in (("lu", "路"), ("huai", "坏"), ("le", "了"), ("hen", "很")):
        type_chinese(page, pinyin, character)
    tap_keys(page, "weixian")
    # Letters are not characters yet: the counter does not count them.
    expect(page.locator("#content-counter [data-count]")).to_have_text("4")

    tap(page, "next")
    expect(page.get_by_text(PINYIN_LEFT)).to_be_visible()
    expect(content).to_be_visible()
    expect(page.get_by_test_id("anonymous")).to_have_count(0)
    assert_typed_in_view(page, "content")
    screenshot(page, "03-content-pinyin-left")

    # The candidates are there again: pick one, clear the rest, and go on.
    expect(page.get_by_test_id("candidate-0")).to_be_visible()
    pick_candidate(page, "危")
    expect(content).to_have_value("路坏了很危xian")
    pick_candidate(page, "险")
    expect(content).to_have_value("路坏了很危险")
    expect(page.get_by_text(PINYIN_LEFT)).to_have_count(0)
    tap(page, "next")
    expect(page.get_by_test_id("anonymous")).to_be_visible()

    # The name, too.
    tap(page, "consent")
    tap_keys(page, "huang")
    page.get_by_test_id("phone").tap()
    tap_keys(page, "13812345678")
    tap(page, "next")
    expect(page.get_by_text(PINYIN_LEFT)).to_be_visible()
    expect(page.get_by_test_id("name")).to_be_focused()
    expect(page.get_by_test_id("name")).to_have_value("huang")


LINES_IN_VIEW = """(field) => {
  const style = getComputedStyle(field);
  const inner = field.clientHeight - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom);
  return inner / parseFloat(style.lineHeight);
}"""


def test_the_opinion_shows_five_lines_with_the_keyboard_open(kiosk, box):
    page = kiosk
    start(page, box.url)
    tap(page, "category-road")
    content = page.get_by_test_id("content")
    expect(content).to_be_focused()
    expect(page.locator("[data-keyboard-panel]")).to_be_visible()
    content.fill("\n".join(f"第{n}行：村口的路灯坏了。" for n in range(1, 9)))
    assert content.evaluate(LINES_IN_VIEW) >= 5
    # Nothing else gave way: the counter and 下一步 are in view.
    expect(page.locator("#content-counter")).to_be_in_viewport(ratio=1)
    expect(page.get_by_test_id("next")).to_be_in_viewport(ratio=1)
    screenshot(page, "03-content-five-lines")
