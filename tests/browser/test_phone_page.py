"""A villager's phone, 380 × 800, in Chromium: from the deputy's QR code read off
their printed poster, through the form and the receipt, to the status page;
then the township office finds the opinion in its queue, addressed to the deputy."""

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from kiosk.extensions import db
from kiosk.models import Deputy, Station
from tests.support.factories import make_user
from tests.support.phone import make_online_station
from tests.support.receipts import qr_texts, rasterise, text
from tests.support.servers import ServerProcess
from tests.support.touch import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# The address on paper: a name a phone resolves to the hub; here the test routes it to the local server.
PUBLIC = "http://rd.example.cn"
MOBILE = "13912340000"
PASSWORD = "correct horse 9"


@pytest.fixture
def phone_hub(hub):
    with hub.app_context():
        make_online_station()
        deputy = db.session.scalars(select(Deputy).join(Deputy.stations).where(Station.code == "LC01")).first()
        deputy.mobile, deputy.public_phone = MOBILE, "0766-3811234"
        clerk = make_user(role="township", username="lc-clerk")
        clerk.display_name = "张敏"
        db.session.commit()
        facts = {"id": deputy.id, "name": deputy.name, "public_id": deputy.public_id}
        db.session.remove()
        db.engine.dispose()
    server = ServerProcess(Path(hub.instance_path), {"ROLE": "hub", "PUBLIC_BASE_URL": PUBLIC}).start()
    server.deputy = facts
    # The office's commands, on the same database, in this process (quicker than a process each).
    hub.config["PUBLIC_BASE_URL"] = PUBLIC
    server.commands = hub.test_cli_runner()
    yield server
    server.stop()


def test_from_the_poster_to_the_status_page_on_a_phone(phone_hub, screens, tmp_path):
    deputy, commands = phone_hub.deputy, phone_hub.commands
    poster = tmp_path / "poster.pdf"
    made = commands.invoke(args=["deputies", "posters", "--deputy", str(deputy["id"]), str(poster)])
    assert made.exit_code == 0, made.output
    assert deputy["name"] in text(poster) and "扫码给代表留言" in text(poster) and MOBILE not in text(poster)
    [scanned] = qr_texts(rasterise(poster, tmp_path / "poster.png", dpi=150))
    printed = commands.invoke(args=["deputies", "qr", str(deputy["id"])]).output
    assert printed == scanned + "\n" == f"{PUBLIC}/d/{deputy['public_id']}\n"

    page = screens("phone")
    # The poster's address resolves to the hub: the local test server answers for it.
    page.route(f"{PUBLIC}/**", lambda route: route.fulfill(response=route.fetch(url=route.request.url.replace(PUBLIC, phone_hub.url), max_redirects=0)))
    page.goto(scanned)
    expect(page.get_by_test_id("deputy-name")).to_have_text(deputy["name"])
    assert MOBILE not in page.content()
    screenshot(page, "phone-deputy-page")

    page.get_by_test_id("category-road").check()
    page.get_by_test_id("content").fill("村口的路灯坏了三个月，晚上很黑，老人出门不方便。")
    page.get_by_test_id("consent").check()
    page.get_by_test_id("name").fill("陈大文")
    page.get_by_test_id("phone").fill("13800138000")
    page.get_by_test_id("submit").click()

    number = page.get_by_test_id("receipt-number")
    expect(number).to_be_visible()
    receipt, secret = number.text_content().strip(), page.get_by_test_id("receipt-secret").text_content().strip()
    assert receipt.startswith("LCWS-") and len(secret) == 6
    # Large enough to read and to screenshot, and the page fits the phone's width.
    assert page.evaluate("() => document.scrollingElement.scrollWidth") <= 380
    assert float(number.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")) >= 24
    # On one line: its height is one line's.
    assert number.evaluate("e => e.getClientRects().length === 1 && e.offsetHeight < 2 * parseFloat(getComputedStyle(e).fontSize)")
    assert "13800138000" not in page.content() and "陈大文" not in page.content()
    screenshot(page, "phone-receipt")

    page.get_by_test_id("status-link").click()
    expect(page.get_by_test_id("status-label")).to_be_visible()
    assert urlsplit(page.url).path == f"/r/{receipt}" and f"k={secret}" in page.url
    assert receipt in page.content() and "13800138000" not in page.content()
    screenshot(page, "phone-status")

    desk = screens("desk")
    desk.goto(phone_hub.url + "/staff/login")
    desk.get_by_label("用户名").fill("lc-clerk")
    desk.get_by_label("密码").fill(PASSWORD)
    desk.get_by_test_id("login").click()
    expect(desk.get_by_test_id("signed-in-as")).to_contain_text("张敏")
    desk.goto(phone_hub.url + "/staff/")
    row = desk.locator("tr", has_text=receipt)
    expect(row.get_by_test_id("deputy")).to_have_text(deputy["name"])
    expect(row.get_by_test_id("channel-phone")).to_be_visible()
