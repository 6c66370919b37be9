"""The idle timer: a countdown any touch cancels, then a wipe that leaves nothing behind."""

import pytest
from playwright.sync_api import expect

from tests.support.touch import (
    history_length,
    screenshot,
    start,
    storage_used,
    tap,
    tap_keys,
    type_chinese,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SECRET_TEXT = "这是不能留在屏幕上的话"


def drafts(box) -> set[str]:
    return {row[0] for row in box.query("SELECT id FROM drafts")}


def test_an_idle_screen_counts_down_and_a_touch_cancels_it(kiosk, quick_idle_box):
    page = kiosk
    start(page, quick_idle_box.url)
    tap(page, "category-road")
    page.get_by_test_id("content").fill(SECRET_TEXT)
    countdown = page.get_by_test_id("idle-countdown")
    expect(countdown).to_be_visible(timeout=8_000)
    expect(countdown).to_contain_text("秒")
    screenshot(page, "08-idle-countdown")
    countdown.tap()
    expect(countdown).to_be_hidden()
    expect(page.get_by_test_id("content")).to_have_value(SECRET_TEXT)


def test_an_idle_screen_is_wiped_on_the_server_and_in_the_browser(kiosk, quick_idle_box):
    page = kiosk
    page.goto(quick_idle_box.url)
    history_at_start = history_length(page)
    others = drafts(quick_idle_box)
    tap(page, "start")
    tap(page, "category-road")
    page.get_by_test_id("content").fill(SECRET_TEXT)
    tap(page, "next")
    tap(page, "consent")
    page.get_by_test_id("name").fill("陈大文")
    page.get_by_test_id("phone").fill("13812345678")
    ours = drafts(quick_idle_box) - others
    assert len(ours) == 1

    expect(page.get_by_test_id("idle-countdown")).to_be_visible(timeout=8_000)
    # Nobody touches it: home comes back by itself.
    expect(page.get_by_test_id("start")).to_be_visible(timeout=15_000)
    expect(page.get_by_test_id("idle-countdown")).to_be_hidden()

    assert not ours & drafts(quick_idle_box)
    # The fresh home page's scripts run after it shows: htmx notes its path in
    # sessionStorage as it starts, and main.js takes it away once it runs.
    page.wait_for_load_state("load")
    html = page.content()
    for private in (SECRET_TEXT, "陈大文", "13812345678"):
        assert private not in html
    assert storage_used(page) == 0
    assert history_length(page) == history_at_start
    page.go_back()
    page.wait_for_timeout(300)
    assert SECRET_TEXT not in page.content() and "陈大文" not in page.content()


def test_the_home_screen_never_counts_down(kiosk, quick_idle_box):
    page = kiosk
    page.goto(quick_idle_box.url)
    page.wait_for_timeout(4_000)
    expect(page.get_by_test_id("idle-countdown")).to_be_hidden()


def test_carrying_on_after_the_countdown_gives_the_field_back(kiosk, quick_idle_box):
    page = kiosk
    start(page, quick_idle_box.url)
    tap(page, "category-road")
    tap_keys(page, "mei")
    countdown = page.get_by_test_id("idle-countdown")
    expect(countdown).to_be_visible(timeout=8_000)
    countdown.get_by_role("button", name="我还要继续").tap()
    expect(countdown).to_be_hidden()
    expect(page.get_by_test_id("content")).to_be_focused()
    expect(page.locator("[data-keyboard-panel] [data-candidate-row]")).to_be_visible()
    type_chinese(page, "", "美")
    expect(page.get_by_test_id("content")).to_have_value("美")
