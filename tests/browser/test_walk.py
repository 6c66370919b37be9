"""The whole walk on a touch screen, in both shapes: anonymous and with consent."""

import io
import re

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.support import receipts as receipt_checks
from tests.support.touch import (
    RECEIPT_NUMBER,
    history_length,
    screenshot,
    start,
    storage_used,
    submit_by_fetch,
    tap,
    tap_keys,
    two_steps_and_back,
    type_chinese,
    walk_to_review,
)

pytestmark = pytest.mark.browser

CONTENT = "村口的路灯坏了三个月，晚上很黑。"
MARKUP = '<img src=x onerror="window.pwned=1"><div hx-get="/opinion/restart" hx-trigger="load">水渠堵了两周</div>'


def test_an_anonymous_person_walks_from_home_to_a_receipt(kiosk, box):
    page = kiosk
    page.goto(box.url)
    expect(page.get_by_test_id("start")).to_be_visible()
    expect(page.get_by_text("罗城街道人大代表中心联络站")).to_be_visible()
    history_at_start = history_length(page)
    screenshot(page, "01-home")

    tap(page, "start")
    expect(page.get_by_test_id("category-road")).to_be_visible()
    expect(page.get_by_test_id("restart")).to_be_visible()
    screenshot(page, "02-category")

    tap(page, "category-road")
    content = page.get_by_test_id("content")
    expect(content).to_be_focused()
    expect(page.locator("[data-keyboard-panel]")).to_be_visible()
    content.fill(CONTENT)
    expect(page.locator("#content-counter [data-count]")).to_have_text(str(len(CONTENT)))
    screenshot(page, "03-content")

    tap(page, "next")
    anonymous = page.get_by_test_id("anonymous")
    expect(anonymous).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_test_id("consent")).not_to_be_checked()
    expect(page.get_by_test_id("name")).to_be_disabled()
    expect(page.get_by_test_id("phone")).to_be_disabled()
    anonymous.tap()
    anonymous.tap()  # tapping again keeps the choice
    expect(anonymous).to_have_attribute("aria-pressed", "true")
    expect(anonymous).to_contain_text("已选")
    screenshot(page, "04-contact")

    tap(page, "next")
    expect(page.get_by_test_id("deputy-none")).to_be_visible()
    screenshot(page, "05-deputy")
    tap(page, "deputy-none")

    expect(page.get_by_test_id("review-content")).to_have_text(CONTENT)
    expect(page.get_by_test_id("review-contact")).to_contain_text("匿名")
    screenshot(page, "06-review")
    assert storage_used(page) == 0

    tap(page, "submit")
    number = page.get_by_test_id("receipt-number")
    expect(number).to_have_text(RECEIPT_NUMBER)
    secret = page.get_by_test_id("receipt-secret").inner_text()
    assert re.fullmatch(r"[A-Z0-9]{6}", secret)
    qr = page.get_by_test_id("receipt-qr")
    box_of_qr = qr.bounding_box()
    assert box_of_qr["width"] >= 300 and box_of_qr["height"] >= 300
    # The code on the screen, as a phone's camera would see it, leads to this receipt.
    on_screen = Image.open(io.BytesIO(qr.screenshot()))
    assert receipt_checks.qr_texts(on_screen) == [f"{box.url}/r/{number.inner_text()}?k={secret}"]
    expect(page.get_by_test_id("print-status")).to_be_visible()
    screenshot(page, "07-receipt")
    receipt_number = number.inner_text()

    rows = box.query(
        "SELECT category_code, content, contact_name, contact_phone, consent_version, deputy_id"
        " FROM opinions WHERE receipt_number = ?",
        receipt_number,
    )
    assert rows == [("road", CONTENT, None, None, None, None)]

    # "完成" goes home, and the receipt does not come back with "back".
    tap(page, "done")
    expect(page.get_by_test_id("start")).to_be_visible()
    assert history_length(page) == history_at_start
    assert storage_used(page) == 0
    page.go_back()
    page.wait_for_timeout(300)
    assert receipt_number not in page.content()


def test_a_consenting_person_gives_name_and_phone_with_the_keyboards(kiosk, box):
    page = kiosk
    start(page, box.url)
    tap(page, "category-water")
    page.get_by_test_id("content").fill(MARKUP)
    tap(page, "next")

    name, phone = page.get_by_test_id("name"), page.get_by_test_id("phone")
    expect(name).to_be_disabled()
    tap(page, "consent")
    expect(page.get_by_test_id("consent")).to_be_checked()
    expect(page.get_by_test_id("anonymous")).to_have_attribute("aria-pressed", "false")
    expect(name).to_be_enabled()
    name.tap()
    for pinyin, character in (("chen", "陈"), ("da", "大"), ("wen", "文")):
        type_chinese(page, pinyin, character)
    expect(name).to_have_value("陈大文")
    phone.tap()
    expect(page.locator("[data-keyboard-panel].layout-digits")).to_be_visible()
    tap_keys(page, "13812345678")
    expect(phone).to_have_value("13812345678")
    screenshot(page, "04-contact-consent")

    tap(page, "next")
    deputy = page.locator('[data-testid^="deputy-"]:not([data-testid="deputy-none"])').first
    deputy_id = int(deputy.get_attribute("data-testid").removeprefix("deputy-"))
    deputy.tap()

    expect(page.get_by_test_id("review-contact")).to_have_text(re.compile(r"陈大文，手机 138\*\*\*\*5678"))
    expect(page.get_by_test_id("review-content")).to_have_text(MARKUP)  # shown as typed, not run
    assert page.evaluate("() => window.pwned") is None
    assert "13812345678" not in page.content()

    tap(page, "submit")
    expect(page.get_by_test_id("receipt-number")).to_have_text(RECEIPT_NUMBER)
    receipt_number = page.get_by_test_id("receipt-number").inner_text()
    html = page.content()
    assert "陈大文" not in html and "13812345678" not in html and "5678" not in html
    rows = box.query(
        "SELECT content, contact_name, contact_phone, consent_version, deputy_id FROM opinions"
        " WHERE receipt_number = ?",
        receipt_number,
    )
    assert rows == [(MARKUP, "陈大文", "13812345678", "2026-12.2", deputy_id)]
    assert storage_used(page) == 0


def test_a_double_tap_on_submit_makes_one_opinion(kiosk, box):
    page = kiosk
    walk_to_review(page, box.url)
    before = box.count("opinions")
    # Two taps as fast as a finger can bounce: the button is disabled by the first.
    page.get_by_test_id("submit").evaluate("button => { button.click(); button.click(); }")
    expect(page.get_by_test_id("receipt-number")).to_have_text(RECEIPT_NUMBER)
    shown = page.get_by_test_id("receipt-number").inner_text()
    # And even if more requests got through, the server answers each with the same receipt.
    numbers = submit_by_fetch(page, 3)
    assert numbers == [shown] * 3
    assert box.count("opinions") == before + 1


def test_requests_racing_to_submit_one_draft_make_one_opinion(kiosk, box):
    page = kiosk
    walk_to_review(page, box.url)
    before = box.count("opinions")
    numbers = submit_by_fetch(page, 4)
    assert len(set(numbers)) == 1
    assert box.count("opinions") == before + 1


def test_start_over_is_there_on_every_step_and_wipes_the_draft(kiosk, box):
    page = kiosk
    start(page, box.url)
    tap(page, "category-road")
    page.get_by_test_id("content").fill("这段话不应该留下来。")
    tap(page, "next")
    # "restart" is on every step, so wait for the next step itself to arrive.
    expect(page.get_by_test_id("anonymous")).to_be_visible()
    drafts = box.count("drafts")
    # Something is given: it asks once, and "继续填写" keeps it all.
    tap(page, "restart")
    question = page.locator("[data-restart-confirm]")
    expect(question).to_be_visible()
    expect(question).to_contain_text("确定要全部重写吗？")
    expect(question).to_contain_text("刚才填写的内容会清除。")
    screenshot(page, "04-restart-question")
    tap(page, "restart-cancel")
    expect(question).to_be_hidden()
    expect(page.get_by_test_id("anonymous")).to_be_visible()
    assert box.count("drafts") == drafts

    tap(page, "restart")
    tap(page, "restart-confirm")
    expect(page.get_by_test_id("start")).to_be_visible()
    assert box.count("drafts") == drafts - 1
    assert "这段话不应该留下来" not in page.content()


def test_start_over_with_nothing_given_asks_nothing(kiosk, box):
    page = kiosk
    start(page, box.url)
    tap(page, "restart")
    expect(page.get_by_test_id("start")).to_be_visible()


def test_start_over_asks_once_a_category_is_chosen(kiosk, box):
    page = kiosk
    start(page, box.url)
    tap(page, "category-road")
    tap(page, "back")
    tap(page, "restart")
    expect(page.get_by_test_id("restart-confirm")).to_be_visible()
    tap(page, "restart-cancel")
    expect(page.get_by_test_id("category-road")).to_have_attribute("aria-pressed", "true")


def test_back_goes_one_step_back_with_the_answer_kept(kiosk, box):
    page = kiosk
    start(page, box.url)
    two_steps_and_back(page, CONTENT)
    expect(page.get_by_test_id("next")).to_be_visible()
