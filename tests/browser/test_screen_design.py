"""Large and plain, measured in the browser on every screen and in both shapes:
touch targets at least 60x60 CSS px, text at least 24 px, contrast at least
4.5:1, nothing wider than the screen."""

import pytest
from playwright.sync_api import expect

from tests.support.deputies import give_pin
from tests.support.touch import key, start, submit_over_http, tap, tap_keys, walk_to_review

pytestmark = [pytest.mark.browser, pytest.mark.slow]

MIN_TARGET = 60
MIN_FONT = 24
MIN_CONTRAST = 4.5

# Returns a list of problems found on the screen as it is now.
MEASURE = """
({minTarget, minFont, minContrast}) => {
  const problems = [];
  const shown = (el) => {
    if (el.closest("[hidden], .visually-hidden, svg, script, style, noscript, title")) return false;
    const style = getComputedStyle(el);
    if (style.visibility === "hidden" || style.display === "none") return false;
    const box = el.getBoundingClientRect();
    return box.width > 0 && box.height > 0;
  };
  const name = (el) => (el.dataset.testid || el.dataset.skbtn || el.textContent.trim().slice(0, 12) || el.tagName);
  const targets = document.querySelectorAll(
    "button, a[href], input:not([type=hidden]), textarea, label.check, label.rating-choice, .hg-button," +
    " [data-candidate-row] button");
  // A choice drawn as its label (the rating's): the label is the target, the radio is not seen.
  const drawnByLabel = (el) => el.matches("input[type=radio]") && el.labels.length > 0
    && getComputedStyle(el).opacity === "0";
  for (const el of targets) {
    if (!shown(el) || drawnByLabel(el)) continue;
    const box = el.getBoundingClientRect();
    if (box.width < minTarget - 0.5 || box.height < minTarget - 0.5)
      problems.push(`target "${name(el)}" is ${Math.round(box.width)}x${Math.round(box.height)}`);
  }
  const rgba = (text) => {
    const [r, g, b, a = 1] = text.match(/[\\d.]+/g).map(Number);
    return [r, g, b, a];
  };
  const luminance = ([r, g, b]) => {
    const channel = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  };
  const background = (el) => {
    // The first opaque background behind the element, with translucent ones blended over it.
    const layers = [];
    for (let node = el; node; node = node.parentElement) {
      const color = rgba(getComputedStyle(node).backgroundColor);
      if (color[3] > 0) layers.push(color);
      if (color[3] >= 1) break;
    }
    let [r, g, b] = [255, 255, 255];
    for (const [lr, lg, lb, la] of layers.reverse()) {
      r = lr * la + r * (1 - la); g = lg * la + g * (1 - la); b = lb * la + b * (1 - la);
    }
    return [r, g, b];
  };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const text = walker.currentNode.textContent.trim();
    const el = walker.currentNode.parentElement;
    if (!text || !el || !shown(el)) continue;
    const style = getComputedStyle(el);
    const size = parseFloat(style.fontSize);
    if (size < minFont) problems.push(`text "${text.slice(0, 12)}" is ${size}px`);
    const [l1, l2] = [luminance(rgba(style.color)), luminance(background(el))];
    const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    if (ratio < minContrast) problems.push(`text "${text.slice(0, 12)}" has contrast ${ratio.toFixed(2)}`);
  }
  if (document.documentElement.scrollWidth > innerWidth + 1) problems.push("the page is wider than the screen");
  return problems;
}
"""


def measure(page, screen: str) -> list[str]:
    page.wait_for_timeout(150)  # let the swap settle
    problems = page.evaluate(MEASURE, {"minTarget": MIN_TARGET, "minFont": MIN_FONT, "minContrast": MIN_CONTRAST})
    return [f"{screen}: {problem}" for problem in problems]


def test_every_screen_is_large_and_plain(kiosk, box):
    page = kiosk
    problems = []
    page.goto(box.url)
    problems += measure(page, "home")

    start(page, box.url)
    problems += measure(page, "category")

    tap(page, "category-road")
    tap_keys(page, "cun")
    expect(page.get_by_test_id("candidate-0")).to_be_visible()
    problems += measure(page, "content with candidates")
    key(page, "{symbols}").tap()
    problems += measure(page, "content, symbols")
    key(page, "{letters}").tap()
    page.get_by_test_id("content").fill("村口的路灯坏了三个月。")
    tap(page, "next")
    problems += measure(page, "contact")

    tap(page, "consent")
    page.get_by_test_id("name").tap()
    problems += measure(page, "contact, name")
    page.get_by_test_id("phone").tap()
    problems += measure(page, "contact, phone")
    tap(page, "next")
    problems += measure(page, "contact, phone mistake")  # an empty name: a message
    tap(page, "anonymous")
    tap(page, "next")
    expect(page.get_by_test_id("deputy-none")).to_be_visible()
    problems += measure(page, "deputy")
    tap(page, "deputy-none")
    expect(page.get_by_test_id("submit")).to_be_visible()
    problems += measure(page, "review")
    tap(page, "submit")
    expect(page.get_by_test_id("receipt-number")).to_be_visible()
    problems += measure(page, "receipt")
    number = page.get_by_test_id("receipt-number").inner_text()
    secret = page.get_by_test_id("receipt-secret").inner_text()

    tap(page, "done")
    tap(page, "lookup")
    expect(page.get_by_test_id("lookup-number")).to_be_focused()
    problems += measure(page, "lookup")
    page.get_by_test_id("lookup-number").fill(number)
    page.get_by_test_id("lookup-secret").fill(secret)
    tap(page, "lookup")
    expect(page.get_by_test_id("lookup-result")).to_be_visible()
    problems += measure(page, "lookup result")

    # A closed one, to rate: the steps' words, and what 不满意 adds.
    number, secret = submit_over_http(box.url)
    box.close(number)
    page.get_by_test_id("lookup-number").fill(number)
    page.get_by_test_id("lookup-secret").fill(secret)
    tap(page, "lookup")
    expect(page.get_by_test_id("rating-form")).to_be_visible()
    problems += measure(page, "lookup, rating")
    page.locator('label[for^="rate-unsatisfied"]').tap()
    expect(page.get_by_test_id("rating-why")).to_be_visible()
    problems += measure(page, "lookup, rating 不满意")
    assert problems == []


def test_the_idle_countdown_is_large_and_plain(kiosk, quick_idle_box):
    page = kiosk
    start(page, quick_idle_box.url)
    expect(page.get_by_test_id("idle-countdown")).to_be_visible(timeout=8_000)
    assert measure(page, "idle countdown") == []


def test_messages_are_large_and_plain(kiosk, box):
    page = kiosk
    walk_to_review(page, box.url)
    tap(page, "edit-content")
    page.get_by_test_id("content").fill("短")
    tap(page, "next")
    expect(page.get_by_text("请至少写 5 个字")).to_be_visible()
    problems = measure(page, "content message")
    # A newer message takes the old one's place: one at a time.
    tap_keys(page, "cun")
    tap(page, "next")
    messages = page.locator("#screen .message")
    expect(messages.filter(has_text="还有拼音没有选字")).to_be_visible()
    expect(messages).to_have_count(1)
    problems += measure(page, "pinyin message")

    # A look-up asked with nothing typed, and a page whose draft is gone.
    page.goto(box.url)
    tap(page, "lookup")
    tap(page, "lookup")
    expect(page.get_by_text("请输入回执编号")).to_be_visible()
    problems += measure(page, "lookup, nothing typed")
    page.context.clear_cookies()
    page.goto(box.url + "/opinion/step/content")
    expect(page.get_by_text("请重新开始")).to_be_visible()
    problems += measure(page, "start again")
    assert problems == []


def test_the_start_over_question_and_the_receipt_countdown_are_large_and_plain(kiosk, quick_idle_box):
    page = kiosk
    walk_to_review(page, quick_idle_box.url)
    tap(page, "restart")
    expect(page.get_by_test_id("restart-confirm")).to_be_visible()
    problems = measure(page, "start over question")
    tap(page, "restart-cancel")
    tap(page, "submit")
    expect(page.get_by_test_id("receipt-countdown")).to_be_visible()
    problems += measure(page, "receipt countdown")
    assert problems == []


def boxes_of(locator) -> list[dict]:
    return [element.bounding_box() for element in locator.all()]


def overlap(a, b) -> bool:
    return (a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"]
            and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"])


def test_the_chosen_badge_covers_no_words(kiosk, box):
    page = kiosk
    walk_to_review(page, box.url)
    tap(page, "edit-deputy")
    chosen = page.get_by_test_id("deputy-none")
    expect(chosen.locator(".badge")).to_be_visible()
    badge = chosen.locator(".badge").bounding_box()
    for words in boxes_of(chosen.locator(".tile-label, .tile-note")):
        assert not overlap(badge, words), (badge, words)


def test_the_network_problem_note_leaves_the_keys_free(kiosk, box):
    page = kiosk
    start(page, box.url)
    tap(page, "category-road")
    page.get_by_test_id("content").fill("村口的路灯坏了三个月。")
    page.route("**/opinion/content", lambda route: route.abort())
    tap(page, "next")
    note = page.locator(".toast")
    expect(note).to_be_visible()
    panel = page.locator("[data-keyboard-panel]").bounding_box()
    assert not overlap(note.bounding_box(), panel)
    nav = page.get_by_test_id("next").bounding_box()
    assert not overlap(note.bounding_box(), nav)


def test_the_sync_admin_screens_are_large_and_plain(kiosk, admin_box):
    page = kiosk
    page.goto(admin_box.url + "/admin/sync/")
    problems = measure(page, "sync PIN")
    for digit in "1111":
        tap(page, f"pin-key-{digit}")
    tap(page, "pin-ok")
    expect(page.get_by_test_id("wrong-pin")).to_be_visible()
    problems += measure(page, "sync PIN, wrong")
    for digit in "2468":  # admin_box's PIN
        tap(page, f"pin-key-{digit}")
    tap(page, "pin-ok")
    expect(page.get_by_test_id("sync-status")).to_be_visible()
    problems += measure(page, "sync status")
    assert problems == []


def test_the_deputy_mode_screens_are_large_and_plain(kiosk, box):
    page = kiosk
    (deputy_id,) = box.query("SELECT deputy_id FROM station_deputies WHERE station_code = 'LC00' ORDER BY deputy_id LIMIT 1")[0]
    give_pin(box.database, deputy_id, "6152")
    submit_over_http(box.url)  # one of today's opinions to list
    page.goto(box.url)
    tap(page, "deputy-checkin")
    problems = measure(page, "check-in")
    tap(page, f"checkin-{deputy_id}")
    problems += measure(page, "check-in PIN")
    for digit in "6152":
        tap(page, f"pin-key-{digit}")
    tap(page, "pin-ok")
    expect(page.get_by_test_id("deputy-mode")).to_be_visible()
    problems += measure(page, "deputy mode")
    tap(page, "todays-opinions")
    expect(page.get_by_test_id("reprint").first).to_be_visible()
    problems += measure(page, "today's opinions")
    tap(page, "back")
    tap(page, "reception-log")
    problems += measure(page, "reception log")
    tap(page, "back")
    tap(page, "activity-log")
    expect(page.get_by_test_id("activity-save")).to_be_visible()
    problems += measure(page, "contact activity")
    tap(page, "deputy-checkout")
    expect(page.get_by_test_id("start")).to_be_visible()
    assert problems == []
