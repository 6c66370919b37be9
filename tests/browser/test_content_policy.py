"""The station's pages under the Content-Security-Policy, in Chromium.

The kiosk's screens, the public status page and the sync admin screen: the
``screens`` fixture fails a test on any violation the browser reports, so
each page here needs no inline script or style, and no eval. The walk, the
look-up, the queue and the clerk's day visit the others the same way.
"""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

PIN = "2468"  # admin_box's (tests/browser/conftest.py)


def test_the_station_pages_open_without_a_csp_violation(admin_box, screens):
    page = screens("landscape")
    answer = page.goto(admin_box.url)
    assert "microphone=(self)" in answer.headers["permissions-policy"]
    expect(page.get_by_test_id("start")).to_be_visible()
    page.get_by_test_id("start").click()
    expect(page.get_by_test_id("category-road")).to_be_visible()

    answer = page.goto(admin_box.url + "/r/LC00-000101-0001?k=ABCDEF")
    assert answer.status == 404 and "microphone=()" in answer.headers["permissions-policy"]

    page.goto(admin_box.url + "/admin/sync/")
    page.get_by_label("管理密码").fill(PIN)
    page.get_by_test_id("pin-ok").click()
    expect(page.get_by_test_id("sync-status")).to_be_visible()
