"""上一步 keeps what was typed on the step it leaves, checked or not."""

import pytest
from playwright.sync_api import expect

from tests.support.touch import tap, to_contact, type_chinese

pytestmark = pytest.mark.browser

SAVED = "村口的路灯坏了三个月。"


def test_back_from_the_text_keeps_what_was_typed_since_next(kiosk, box):
    page = kiosk
    to_contact(page, box.url, SAVED)
    tap(page, "back")
    content = page.get_by_test_id("content")
    expect(content).to_have_value(SAVED)
    # More words, typed on the keys, then 上一步 before any 下一步.
    type_chinese(page, "shui", "水")
    expect(content).to_have_value(SAVED + "水")
    tap(page, "back")
    expect(page.get_by_test_id("category-road")).to_have_attribute("aria-pressed", "true")
    tap(page, "next")
    expect(content).to_have_value(SAVED + "水")

    # Even a text too short for 下一步 is kept.
    content.fill("路灯")
    tap(page, "back")
    tap(page, "next")
    expect(content).to_have_value("路灯")


def test_back_from_the_contact_step_keeps_name_and_phone(kiosk, box):
    page = kiosk
    to_contact(page, box.url, SAVED)
    tap(page, "consent")
    page.get_by_test_id("name").fill("陈大文")
    page.get_by_test_id("phone").fill("1381234")
    tap(page, "back")
    expect(page.get_by_test_id("content")).to_have_value(SAVED)
    tap(page, "next")
    expect(page.get_by_test_id("consent")).to_be_checked()
    expect(page.get_by_test_id("name")).to_have_value("陈大文")
    expect(page.get_by_test_id("phone")).to_have_value("1381234")
