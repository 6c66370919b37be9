"""A deputy's day at their desk, on a 380 px phone, against real boxes.

A hub (waitress, PostgreSQL) and station LC00 (waitress, SQLite) enrolled
with it. A constituent leaves an opinion addressed to one of LC00's deputies;
the sync carries it up. Staff open the deputy's account with ``flask users
add --role deputy``; the deputy activates it on their phone with the code,
finds the opinion (with the constituent's contact details), answers it and
submits a 一键通 suggestion. After the next sync the station's status page
and the kiosk's look-up show the deputy's answer as its own step.
"""

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from kiosk.extensions import db
from kiosk.models import Station
from tests.support.boxes import enrolled_station, new_postgres_database, read, run
from tests.support.servers import ServerProcess
from tests.support.touch import QUICK_SETTLE_MS, key, screenshot, submit_over_http, tap, tap_keys

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.slow]

CONTENT = "村小学门口的斑马线磨没了，孩子过马路很危险。"
CONTACT = ("林阿婆", "13922223333")
ANSWER = "我已到学校门口看过，已请镇村建办下周重新划线。"
PASSWORD = "deputy phone 9"


@pytest.fixture(autouse=True)
def patient_expect():
    expect.set_options(timeout=10_000)
    yield
    expect.set_options(timeout=5_000)


@pytest.fixture
def hub(tmp_path, postgres_admin_url, hub_seed_postgres):
    instance = tmp_path / "hub"
    instance.mkdir()
    url, _name, drop = new_postgres_database(postgres_admin_url, "kiosk_hub", hub_seed_postgres)
    server = ServerProcess(instance, {"ROLE": "hub", "DATABASE_URL": url}).start()
    yield server
    server.stop()
    drop()


@pytest.fixture
def station(tmp_path, hub, demo_database):
    server = enrolled_station(
        tmp_path / "station", hub, seed=demo_database, SUBMIT_PER_MINUTE=1000, TAP_SETTLE_MS=QUICK_SETTLE_MS
    ).start()
    yield server
    server.stop()


def test_a_deputy_answers_on_their_phone_and_the_receipt_shows_it(hub, station, screens):
    deputy_id, deputy_name = read(
        hub.instance, lambda: (lambda d: (d.id, d.name))(db.session.scalars(select(Station).where(Station.code == "LC00")).one().deputies[0]),
        **hub.settings,
    )  # fmt: skip
    number, secret = submit_over_http(station.url, content=CONTENT, contact=CONTACT, deputy_id=deputy_id)
    assert "pushed 1" in run(station.instance, "sync", "once", env=station.settings).stdout

    # --- staff open the account; the code is shown once
    made = run(hub.instance, "users", "add", "--username", "lin.dep", "--role", "deputy", "--deputy", str(deputy_id), env=hub.settings)
    code = re.search(r"激活码：(\S{4}-\S{4})", made.stdout).group(1)

    # --- the deputy activates it on their phone, by the slip's address
    phone = screens("phone")
    phone.goto(f"{hub.url}/desk/")
    expect(phone).to_have_url(re.compile(r"/desk/login\?next="))
    phone.get_by_test_id("to-activate").click()
    # The sign-in page has a 用户名 field too: type only once the activation page is there.
    expect(phone).to_have_url(f"{hub.url}/desk/activate")
    phone.get_by_label("用户名").fill("lin.dep")
    phone.get_by_label("激活码").fill(code.lower())
    phone.get_by_label("设置密码").fill(PASSWORD)
    phone.get_by_label("再输入一次密码").fill(PASSWORD)
    phone.get_by_test_id("activate").click()
    expect(phone).to_have_url(f"{hub.url}/desk/")
    expect(phone.locator(".desk-header .brand")).to_contain_text(deputy_name)
    screenshot(phone, "40-desk-phone")
    # Nothing wider than the phone: no sideways scrolling.
    assert phone.evaluate("document.documentElement.scrollWidth") <= 380

    # --- the opinion addressed to them, with the constituent's contact details
    item = phone.get_by_test_id("desk-list").locator("li", has_text=number)
    expect(item).to_contain_text("新")
    item.get_by_role("link").click()
    expect(phone.get_by_test_id("desk-content")).to_have_text(CONTENT)
    expect(phone.get_by_test_id("desk-contact")).to_contain_text(CONTACT[1])
    phone.get_by_role("textbox", name="答复").fill(ANSWER)
    phone.get_by_test_id("answer").click()
    expect(phone.locator(".flash-success")).to_contain_text("答复已公开")
    expect(phone.get_by_test_id("desk-history")).to_contain_text(ANSWER)
    expect(phone.get_by_test_id("desk-history")).to_contain_text("代表答复")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 380
    screenshot(phone, "41-desk-answered")

    # --- a 一键通 suggestion of their own
    phone.get_by_role("navigation", name="主菜单").get_by_role("link", name="一键通").click()
    phone.get_by_test_id("new-suggestion").click()
    phone.get_by_label("类别").select_option(label="道路交通")
    phone.get_by_label("标题").fill("全镇校门口交通标线排查")
    phone.get_by_role("textbox", name="内容").fill("建议对全镇中小学门口的斑马线、减速带做一次排查，开学前补齐。")
    phone.get_by_test_id("submit-suggestion").click()
    expect(phone.locator(".flash-success")).to_contain_text("建议已提交，编号 YJT-")
    expect(phone.get_by_role("heading", name="全镇校门口交通标线排查")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 380
    screenshot(phone, "42-desk-suggestion")

    # --- after the next sync the station's status page and the kiosk's look-up show the answer
    run(station.instance, "sync", "once", env=station.settings)
    public = screens("phone")
    public.goto(f"{station.url}/r/{number}?k={secret}")
    history = public.get_by_test_id("status-history")
    expect(history.locator('li[data-kind="deputy_answer"]')).to_contain_text("代表答复")
    expect(history).to_contain_text(ANSWER)
    expect(public.locator("body")).not_to_contain_text(CONTACT[1])
    kiosk = screens("landscape")
    kiosk.goto(station.url)
    tap(kiosk, "lookup")
    tap_keys(kiosk, number)
    key(kiosk, "{done}").tap()
    tap_keys(kiosk, secret)
    tap(kiosk, "lookup")
    result = kiosk.get_by_test_id("lookup-result")
    expect(result.locator('li[data-kind="deputy_answer"]')).to_contain_text(ANSWER)
    screenshot(kiosk, "43-kiosk-lookup-deputy-answer")
