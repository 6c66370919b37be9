"""The statistics dashboard at a desk, in Chromium, against a real hub.

A hub (waitress, SQLite) holding the hand-made year (tests/support/small_year.py)
with long station and township names, as the demo's are, and city staff.
"""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from kiosk.extensions import db
from tests.support.factories import make_user
from tests.support.servers import ServerProcess
from tests.support.small_year import load_small_year
from tests.support.touch import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PASSWORD = "correct horse 9"


@pytest.fixture
def stats_hub(hub):
    """The hub of the ``hub`` fixture with the hand-made year and a city account, served by waitress."""
    with hub.app_context():
        load_small_year()
        make_user(role="city", username="city-desk")
        db.session.remove()
        db.engine.dispose()
    server = ServerProcess(Path(hub.instance_path), {"ROLE": "hub"}).start()
    yield server
    server.stop()


def sign_in(page, hub, username="city-desk"):
    page.goto(hub.url + "/staff/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_test_id("login").click()
    expect(page.get_by_test_id("signed-in-as")).to_be_visible()


# Where each table's 满意率 cells are, against the viewport and the box that holds the table.
CLIPPED_CELLS = """
() => [...document.querySelectorAll("table.stats-table")].flatMap(table => {
  const column = [...table.tHead.rows[0].cells].findIndex(th => th.textContent.includes("满意率"));
  const holder = table.parentElement.getBoundingClientRect();
  return [...table.rows].map(row => row.cells[column]).filter(Boolean).map(cell => {
    const box = cell.getBoundingClientRect();
    const out = box.left < Math.max(0, holder.left) - 0.5 || box.right > Math.min(innerWidth, holder.right) + 0.5;
    return out ? `${table.caption?.textContent}: ${cell.textContent.trim()} ${box.left}-${box.right}` : null;
  }).filter(Boolean);
})
"""


@pytest.mark.parametrize("query", ["?year=2019", "?year=2019&township=1"])
def test_the_satisfaction_column_is_whole_at_a_desk(stats_hub, screens, query):
    """At 1366 x 768 every breakdown table shows its 满意率 cells whole, without scrolling sideways."""
    page = screens("desk")
    sign_in(page, stats_hub)
    page.goto(stats_hub.url + "/staff/stats/" + query)
    expect(page.locator("table.stats-table").first).to_be_visible()
    assert page.locator("table.stats-table").count() >= 3
    assert page.evaluate(CLIPPED_CELLS) == []
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    page.locator("#by-station").scroll_into_view_if_needed()
    screenshot(page, "50-stats-" + ("township" if "township" in query else "city"))
