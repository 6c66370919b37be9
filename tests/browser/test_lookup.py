"""Checking a receipt at the kiosk, typed on the letters-and-digits keypad."""

import pytest
from playwright.sync_api import expect

from tests.support.touch import fill_lookup, key, screenshot, submit_over_http, tap, tap_keys

pytestmark = pytest.mark.browser


def test_lookup_with_the_right_and_a_wrong_secret(kiosk, box):
    number, secret = submit_over_http(box.url)
    page = kiosk
    page.goto(box.url)
    tap(page, "lookup")
    field = page.get_by_test_id("lookup-number")
    expect(field).to_be_focused()
    expect(page.locator("[data-keyboard-panel].layout-code")).to_be_visible()
    tap_keys(page, number)
    expect(field).to_have_value(number)
    key(page, "{done}").tap()  # on to the 验证码
    expect(page.get_by_test_id("lookup-secret")).to_be_focused()
    tap_keys(page, secret)
    tap(page, "lookup")
    result = page.get_by_test_id("lookup-result")
    expect(result).to_contain_text("已在联络站登记")
    expect(result).to_contain_text(number)
    expect(result).to_contain_text("道路交通")
    assert "村口的路灯" not in result.inner_text()
    screenshot(page, "09-lookup")

    # A tap puts the caret where the finger lands (mid-text on a wide secret
    # such as WMWHWQ): tap past the end, where ⌫ takes the last letter.
    secret_field = page.get_by_test_id("lookup-secret")
    box_of_field = secret_field.bounding_box()
    secret_field.tap(position={"x": box_of_field["width"] - 8, "y": box_of_field["height"] / 2})
    key(page, "{bksp}").tap()
    other = "W" if secret[-1] != "W" else "X"
    tap_keys(page, other)
    expect(secret_field).to_have_value(secret[:-1] + other)
    tap(page, "lookup")
    expect(result).to_contain_text("没有找到这张回执")
    expect(result).not_to_contain_text("道路交通")
    screenshot(page, "09-lookup-wrong")

    # Back in the number, 完成 moves on to the 验证码: ⌫ deletes its last letter there.
    wrong = page.get_by_test_id("lookup-secret").input_value()
    field.tap()
    key(page, "{done}").tap()
    expect(page.get_by_test_id("lookup-secret")).to_be_focused()
    key(page, "{bksp}").tap()
    expect(page.get_by_test_id("lookup-secret")).to_have_value(wrong[:-1])
    expect(field).to_have_value(number)


def test_a_closed_opinion_brings_its_rating_into_view(kiosk, box):
    number, secret = submit_over_http(box.url)
    box.close(number)
    page = kiosk
    fill_lookup(page, box.url, number, secret)
    tap(page, "lookup")
    result = page.get_by_test_id("lookup-result")
    expect(result.get_by_test_id("status-label")).to_have_text("已办结")
    # The choices (labels drawn as buttons) and 提交评价, whole, without a swipe.
    for value in ("satisfied", "basic", "unsatisfied"):
        expect(page.locator(f'label[for^="rate-{value}"]')).to_be_in_viewport(ratio=1)
    expect(page.get_by_test_id("rating-submit")).to_be_in_viewport(ratio=1)
    screenshot(page, "09-lookup-rating")
