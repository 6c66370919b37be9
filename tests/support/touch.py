"""What a villager does at the screen, as Playwright touch actions, and screenshots of it."""

import re
from http.cookiejar import CookieJar
from pathlib import Path
from urllib.parse import urlencode
from urllib.request import HTTPCookieProcessor, Request, build_opener

from playwright.sync_api import expect

RECEIPT_NUMBER = re.compile(r"^[A-Z0-9]{2,8}-\d{6}-\d{4}$")
# A new screen holds taps this long (TAP_SETTLE_MS) on the boxes the browser
# tests use: every tap after a new screen waits out the hold, and only the
# tests of the tap guard itself need the field's 1.2 s (``tap_guard_box``).
QUICK_SETTLE_MS = 50


def tap(page, testid: str) -> None:
    page.get_by_test_id(testid).tap()


def key(page, name: str):
    """A key of the on-screen keyboard that is showing."""
    return page.locator(f'[data-keyboard-panel]:not([hidden]) .hg-button[data-skbtn="{name}"]')


def tap_keys(page, keys) -> None:
    for name in keys:
        key(page, name).tap()


def candidate_row(page):
    return page.locator("[data-keyboard-panel]:not([hidden]) [data-candidate-row]")


def type_chinese(page, pinyin: str, character: str) -> int:
    """Tap the pinyin, then ``character`` (a character or a word) in the candidate row, paging on if
    needed; return the taps it took."""
    tap_keys(page, pinyin)
    return pick_candidate(page, character, pinyin) + len(pinyin)


def pick_candidate(page, text: str, letters: str | None = None) -> int:
    """Tap ``text`` in the candidate row (for ``letters``, when given), paging on until it shows;
    return the taps it took."""
    row = candidate_row(page)
    expect(row).to_be_visible()
    if letters:
        # The answer to the last keystroke, not to one before it.
        expect(row).to_have_attribute("data-letters", letters)
    taps = 0
    for _ in range(30):
        expect(row.get_by_test_id("candidate-0")).to_be_visible()
        wanted = row.locator("button.candidate").filter(has_text=re.compile(f"^{text}$"))
        if wanted.count():
            wanted.first.tap()
            expect(wanted).to_have_count(0)
            return taps + 1
        offset = row.get_attribute("data-offset")
        following = row.get_by_test_id("candidates-next")
        if following.is_disabled():
            break
        following.tap()
        taps += 1
        expect(row).not_to_have_attribute("data-offset", offset)
    raise AssertionError(f"{text} is not among the candidates: {row.locator('button.candidate').all_text_contents()}")


def start(page, url: str) -> None:
    page.goto(url)
    tap(page, "start")
    expect(page.get_by_test_id("category-road")).to_be_visible()


def to_contact(page, url: str, content: str = "村口的路灯坏了三个月。") -> None:
    """Start, road, the text (typed by fill), and on to the contact step."""
    start(page, url)
    tap(page, "category-road")
    page.get_by_test_id("content").fill(content)
    tap(page, "next")
    expect(page.get_by_test_id("anonymous")).to_be_visible()


def fill_lookup(page, url: str, number: str, secret: str) -> None:
    """The kiosk's look-up with number and 验证码 typed in (by fill), not yet asked."""
    page.goto(url)
    tap(page, "lookup")
    page.get_by_test_id("lookup-number").fill(number)
    page.get_by_test_id("lookup-secret").fill(secret)


def two_steps_and_back(page, content: str) -> None:
    """Road, the text, on to the contact step, then back twice: each answer is still there."""
    tap(page, "category-road")
    page.get_by_test_id("content").fill(content)
    tap(page, "next")
    expect(page.get_by_test_id("anonymous")).to_be_visible()
    tap(page, "back")
    expect(page.get_by_test_id("content")).to_have_value(content)
    tap(page, "back")
    expect(page.get_by_test_id("category-road")).to_have_attribute("aria-pressed", "true")


def walk_to_review(page, url: str, content: str = "村口的路灯坏了三个月，晚上很黑。") -> None:
    """An anonymous walk up to the review screen (typing done by fill: the keyboard has its own test)."""
    to_contact(page, url, content)
    tap(page, "next")
    expect(page.get_by_test_id("deputy-none")).to_be_visible()
    tap(page, "deputy-none")
    expect(page.get_by_test_id("submit")).to_be_visible()


def storage_used(page) -> int:
    return page.evaluate("() => localStorage.length + sessionStorage.length")


def history_length(page) -> int:
    return page.evaluate("() => history.length")


def submit_over_http(
    url: str,
    content: str = "村口的路灯坏了三个月，晚上很黑。",
    contact: tuple[str, str] | None = None,
    deputy_id: int | None = None,
) -> tuple[str, str]:
    """Leave an opinion the way a plain browser would, anonymous unless
    ``contact`` (name, phone) is given with consent, to ``deputy_id`` if given;
    its receipt number and secret."""
    opener = build_opener(HTTPCookieProcessor(CookieJar()))
    home = opener.open(url + "/").read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', home).group(1)

    def post(path, **fields):
        data = urlencode({"csrf_token": token, **fields}).encode()
        return opener.open(Request(url + path, data=data, headers={"HX-Request": "true"})).read().decode()

    post("/opinion/start")
    post("/opinion/category", category="road")
    post("/opinion/content", content=content)
    if contact:
        post("/opinion/contact", consent="y", name=contact[0], phone=contact[1])
    else:
        post("/opinion/contact", anonymous="1")
    post("/opinion/deputy", deputy_id="" if deputy_id is None else str(deputy_id))
    page = post("/opinion/submit")
    number = re.search(r'data-testid="receipt-number">([^<]+)<', page).group(1)
    secret = re.search(r'data-testid="receipt-secret">([^<]+)<', page).group(1)
    return number, secret


def submit_by_fetch(page, times: int) -> list[str]:
    """Send ``times`` submits at once, past the button; the receipt number each answer shows."""
    return page.evaluate(
        """async (times) => {
            const token = JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"];
            const headers = {"X-CSRFToken": token, "HX-Request": "true"};
            const send = () => fetch("/opinion/submit", {method: "POST", headers})
                .then((r) => r.text()).then((t) => t.match(/data-testid="receipt-number">([^<]+)</)[1]);
            return Promise.all(Array.from({length: times}, send));
        }""",
        times,
    )


def screenshot(page, name: str) -> Path:
    """Save what the screen shows now, named after the step and the shape."""
    page.screenshots.mkdir(parents=True, exist_ok=True)
    path = page.screenshots / f"{name}-{page.shape}.png"
    page.screenshot(path=path)
    return path
