"""The fleet page (联络站运行) at a desk, in Chromium, against a real hub of 236 stations."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from kiosk.extensions import db
from tests.support.factories import make_user
from tests.support.servers import ServerProcess
from tests.support.touch import screenshot

pytestmark = pytest.mark.browser

# A page of the fleet at a 1366 x 768 desk: a compact table, at most three screens long
# (it was one 9,532 px list of every station).
MOST_SCREENS = 3


@pytest.fixture
def fleet_hub(hub):
    with hub.app_context():
        make_user(role="city", username="city-fleet")
        db.session.remove()
        db.engine.dispose()
    server = ServerProcess(Path(hub.instance_path), {"ROLE": "hub"}).start()
    yield server
    server.stop()


def test_the_fleet_is_a_compact_table_a_page_at_a_time(fleet_hub, screens):
    page = screens("desk")
    page.goto(fleet_hub.url + "/staff/login")
    page.get_by_label("用户名").fill("city-fleet")
    page.get_by_label("密码").fill("correct horse 9")
    page.get_by_test_id("login").click()
    expect(page.get_by_test_id("signed-in-as")).to_be_visible()
    page.goto(fleet_hub.url + "/staff/admin/fleet?show=unenrolled")
    rows = page.locator("table.fleet tbody tr")
    expect(rows).to_have_count(40)
    heights = {round(box["height"]) for box in (rows.nth(i).bounding_box() for i in range(40))}
    assert max(heights) <= 36, heights  # one line a station
    assert page.evaluate("document.documentElement.scrollHeight") <= MOST_SCREENS * 768
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    screenshot(page, "60-fleet-page-1")
    # The next page keeps the state chosen.
    page.get_by_test_id("fleet-pager").get_by_role("link", name="下一页").click()
    expect(page).to_have_url(re.compile(r"show=unenrolled.*page=2|page=2.*show=unenrolled"))
    expect(page.locator('[data-testid="fleet-pager"] [aria-current="page"]')).to_have_text("2")
    expect(page.locator('a[data-testid="fleet-show-unenrolled"]')).to_have_attribute("aria-current", "true")
