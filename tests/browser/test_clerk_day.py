"""A township clerk's day, in Chromium at a desk, against real boxes.

A hub (waitress, PostgreSQL as in the township office) and station LC00
(waitress, SQLite) enrolled with it; accounts made with ``flask users add``
as an installer would; opinions left at the station and carried up by
``flask sync once``. The city sets up a department on its admin page; the
clerk signs in, filters the queue, carries one opinion from 收到 to 办结,
and signs out. After the next sync, the station's status page and the
kiosk's look-up show the closed status and the public reply, and nothing
the office keeps to itself.
"""

import re
import subprocess
import sys

import pytest
from playwright.sync_api import expect

from kiosk.models import OpinionStatus
from tests.support.boxes import enrolled_station, new_postgres_database, run
from tests.support.servers import ROOT, ServerProcess, _env
from tests.support.touch import QUICK_SETTLE_MS, key, screenshot, submit_over_http, tap, tap_keys

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.slow]

PASSWORD = "correct horse 9"
RECEIVED = OpinionStatus.RECEIVED.label
CLERK = ("lc-zhangmin", "张敏")
CITY = ("city-wangli", "王丽")
DEPARTMENT = ("罗城街道城建办", "李工", "0766-3812345")

# What the clerk carries through; the decoy only has to stay where it is.
CONTENT = "桥头的三盏路灯坏了两个月，晚上过桥看不见台阶。"
DECOY = "学校门口上下学时段交通拥堵，希望安排人员疏导。"
CONTACT = ("陈大文", "13800000000")
ACCEPT_NOTE = "已电话联系村委会核实情况"
INSTRUCTIONS = "请于答复期限前更换灯具并回复"
DEPARTMENT_REPLY = "城建办已派人检修，三盏路灯已更换"
PUBLIC_REPLY = "桥头三盏路灯已于本周更换，夜间照明已恢复。感谢您的反映。"
# Never on a station's page: staff names, contact details, the office's
# internal notes and the department's own words, the opinion's text.
PRIVATE = (*CLERK, *CONTACT, ACCEPT_NOTE, INSTRUCTIONS, DEPARTMENT_REPLY, DEPARTMENT[1], DEPARTMENT[2], CONTENT)


@pytest.fixture(autouse=True)
def patient_expect():
    """Two servers, a database and a browser share a busy machine: wait up to
    10 s for each expected state (as pages wait for actions), not 5."""
    expect.set_options(timeout=10_000)
    yield
    expect.set_options(timeout=5_000)  # Playwright's default, for the other tests


@pytest.fixture
def hub(tmp_path, postgres_admin_url, hub_seed_postgres):  # noqa: F811
    """The township office's hub with the demo data, on PostgreSQL."""
    instance = tmp_path / "hub"
    instance.mkdir()
    url, _name, drop = new_postgres_database(postgres_admin_url, "kiosk_hub", hub_seed_postgres)
    server = ServerProcess(instance, {"ROLE": "hub", "DATABASE_URL": url}).start()
    yield server
    server.stop()
    drop()


@pytest.fixture
def station(tmp_path, hub, demo_database):
    """Station LC00 (罗城街道), enrolled with the hub and serving its kiosk."""
    server = enrolled_station(
        tmp_path / "station", hub, seed=demo_database, SUBMIT_PER_MINUTE=1000, TAP_SETTLE_MS=QUICK_SETTLE_MS
    ).start()
    yield server
    server.stop()


def add_account(hub: ServerProcess, username: str, display_name: str, role: str, township: str | None = None):
    """``flask users add`` at the hub with no terminal: the password comes from KIOSK_NEW_PASSWORD."""
    args = ["users", "add", "--username", username, "--role", role, "--display-name", display_name]
    if township:
        args += ["--township", township]
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=_env(hub.instance, {**hub.settings, "NEW_PASSWORD": PASSWORD}),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert f"已开设账号 {username}" in result.stdout


def sync_station(station: ServerProcess) -> str:
    return run(station.instance, "sync", "once", env=station.settings).stdout


def sign_in(page, hub: ServerProcess, username: str, display_name: str) -> None:
    page.goto(hub.url + "/staff/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_test_id("login").click()
    expect(page.get_by_test_id("signed-in-as")).to_contain_text(display_name)


def count(page, status: str):
    """The figure on a status tab of the queue."""
    return page.locator(f'nav.counts a[data-status="{status}"] .count')


def status_badge(page):
    return page.locator("#opinion .page-head .badge[class*=status-]")


def act(page, action: str, button: str, flashed: str, status: str, **fields) -> None:
    """Fill one action's small form by its labels, press its button, and wait
    for the opinion to come back with its new status and the message."""
    section = page.locator(f"#action-{action}")
    for label, value in fields.items():
        field = section.get_by_label(label, exact=True)
        if field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(label=value)
        else:
            field.fill(value)
    confirm = section.locator('input[type="checkbox"][name$="-confirm"]')
    if confirm.count():
        confirm.check()
    section.get_by_role("button", name=button).click()
    notice = page.locator("#opinion .flash-success")
    expect(notice).to_have_text(flashed)
    expect(status_badge(page)).to_have_text(status)
    # The whole notice in view, the menu above it too, and the notice in line with the heading.
    expect(notice).to_be_in_viewport(ratio=1)
    expect(page.get_by_role("navigation", name="主菜单")).to_be_in_viewport()
    assert notice.bounding_box()["x"] == page.locator("#opinion h1").bounding_box()["x"]


def test_a_clerk_carries_an_opinion_from_the_station_to_a_public_answer(hub, station, screens):
    # --- at the station: two opinions, one with contact details; the sync carries them up
    number, secret = submit_over_http(station.url, content=CONTENT, contact=CONTACT)
    decoy_number, _ = submit_over_http(station.url, content=DECOY)
    assert "pushed 2" in sync_station(station)

    # --- the installer makes the accounts
    add_account(hub, CITY[0], CITY[1], "city")
    add_account(hub, CLERK[0], CLERK[1], "township", "罗城街道")

    # --- the city sets up the department the clerk will forward to
    city = screens("desk")
    sign_in(city, hub, *CITY)
    city.get_by_role("navigation", name="主菜单").get_by_role("link", name="设置").click()
    city.get_by_role("link", name="承办部门").first.click()
    city.get_by_role("link", name="添加部门").click()
    city.get_by_label("部门名称").fill(DEPARTMENT[0])
    city.get_by_label("联系人").fill(DEPARTMENT[1])
    city.get_by_label("联系电话").fill(DEPARTMENT[2])
    city.get_by_role("button", name="添加").click()
    expect(city.locator(".flash-success")).to_contain_text(f"已添加部门“{DEPARTMENT[0]}”")
    expect(city.locator("tr", has_text=DEPARTMENT[0])).to_contain_text("可转办")
    screenshot(city, "20-city-departments")

    # --- the clerk signs in and finds the queue
    page = screens("desk")
    page.goto(hub.url + "/staff/")
    expect(page).to_have_url(re.compile(r"/staff/login\?next="))
    page.get_by_label("用户名").fill(CLERK[0])
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_test_id("login").click()
    expect(page).to_have_url(hub.url + "/staff/")
    expect(page.get_by_role("heading", name="意见办理")).to_be_visible()
    expect(page.get_by_test_id("signed-in-as")).to_have_text(f"{CLERK[1]}（镇人大办）")
    expect(page.locator(".staff-header .brand")).to_contain_text("罗城街道人大工委")
    rows = page.locator("#queue-results tbody tr")
    expect(rows).to_have_count(2)
    expect(count(page, "received")).to_have_text("2")
    expect(count(page, "open")).to_have_text("2")
    expect(page.locator('nav.counts a[data-status="closed"]')).to_have_count(0)
    screenshot(page, "21-queue")

    # --- filter: the status tab, then the text box (htmx swaps the results, the address follows)
    page.locator('nav.counts a[data-status="received"]').click()
    expect(page.locator('nav.counts a[data-status="received"]')).to_have_attribute("aria-current", "true")
    expect(page).to_have_url(re.compile(r"/staff/\?(.*&)?status=received"))
    page.get_by_label("内容或回执编号").fill("桥头")
    page.get_by_label("内容或回执编号").press("Enter")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(number)
    expect(rows.first).to_contain_text(RECEIVED)
    expect(page.locator("#queue-results")).not_to_contain_text(decoy_number)
    expect(page).to_have_url(re.compile(r"status=received"))
    expect(page).to_have_url(re.compile(r"text="))
    screenshot(page, "22-queue-filtered")

    # --- open it: everything, contact details included (staff only)
    rows.first.get_by_role("link", name=number).click()
    expect(page.get_by_role("heading", name=f"意见 {number}")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/staff/opinions/[0-9a-f-]{36}$"))
    expect(page).to_have_title(re.compile(rf"^{number} "))
    expect(page.locator(".staff-header")).to_have_count(1)  # the page itself, not nested in the queue's
    expect(page.locator("#queue-filters")).to_have_count(0)
    expect(status_badge(page)).to_have_text(RECEIVED)
    expect(page.get_by_test_id("contact-name")).to_have_text(CONTACT[0])
    expect(page.get_by_test_id("contact-phone")).to_have_text(CONTACT[1])
    expect(page.locator("#opinion .content").first).to_have_text(CONTENT)
    screenshot(page, "23-opinion")

    # --- 受理 → 转办 → 答复 → 办结, each a small form swapping the opinion
    act(page, "accept", "受理", "已受理。", "已受理", 备注=ACCEPT_NOTE)
    act(page, "forward", "转办", re.compile(rf"^已转办{DEPARTMENT[0]}，答复期限 \d{{4}}-\d{{2}}-\d{{2}}。"),
        "已转交有关部门办理", 承办部门=DEPARTMENT[0], 交办要求=INSTRUCTIONS)
    assignments = page.locator("#opinion section", has=page.get_by_role("heading", name="交办记录"))
    expect(assignments).to_contain_text(DEPARTMENT[0])
    expect(assignments).to_contain_text("办理中")
    screenshot(page, "24-forwarded")
    act(page, "record_reply", "登记答复", "已登记部门答复。", "已答复", 部门答复=DEPARTMENT_REPLY)
    expect(assignments).to_contain_text("已答复")
    expect(assignments).to_contain_text(DEPARTMENT_REPLY)
    act(page, "close", "办结", "已办结，答复已公开。", "已办结", 答复群众的内容=PUBLIC_REPLY)
    expect(page.locator("#opinion")).to_contain_text(PUBLIC_REPLY)
    expect(page.locator("#action-close")).to_have_count(0)
    history = page.locator("#opinion .timeline")
    for step in ("已受理", "已转交有关部门办理", "已答复", "已办结"):
        expect(history).to_contain_text(step)
    expect(history).to_contain_text(f"受理 · {CLERK[1]}")  # the office's own history says who did what, by name
    expect(history).not_to_contain_text(CLERK[0])
    screenshot(page, "25-closed")

    # --- back in the queue, the figures moved
    page.get_by_role("link", name="← 返回意见列表").click()
    expect(page).to_have_url(hub.url + "/staff/")
    expect(count(page, "closed")).to_have_text("1")
    expect(count(page, "received")).to_have_text("1")
    expect(count(page, "open")).to_have_text("1")
    expect(count(page, "all")).to_have_text("2")
    # The queue opens on today's work: the closed one is under 全部, one click away.
    expect(rows.filter(has_text=number)).to_have_count(0)
    expect(rows.filter(has_text=decoy_number)).to_contain_text(RECEIVED)
    page.locator('nav.counts a[data-status="all"]').click()
    expect(page.locator('nav.counts a[data-status="all"]')).to_have_attribute("aria-current", "true")
    expect(rows.filter(has_text=number)).to_contain_text("已办结")
    expect(rows.filter(has_text=decoy_number)).to_contain_text(RECEIVED)
    screenshot(page, "26-queue-after")

    # --- the city reads the audit log: the clerk's steps, filtered by person and action
    city.get_by_role("navigation", name="主菜单").get_by_role("link", name="审计日志").click()
    expect(city.get_by_role("heading", name="审计日志")).to_be_visible()
    entries = city.locator("#audit-results tbody tr")
    city.get_by_label("人员").select_option(label=f"{CLERK[0]}（{CLERK[1]}）")
    expect(city).to_have_url(re.compile(r"/staff/audit/\?who=\d+&action=&"))
    expect(entries.first.locator("td").nth(2)).to_have_text("办结")  # newest first: the clerk's last step
    city.get_by_label("操作").select_option(label="受理")
    expect(entries).to_have_count(1)
    expect(entries.first).to_contain_text(ACCEPT_NOTE)
    expect(entries.first).to_contain_text(number)
    expect(city).to_have_url(re.compile(r"/staff/audit/\?who=\d+&action=accept&"))
    screenshot(city, "26b-city-audit-log")

    # --- the station's next sync brings the answer; its status page shows it, and nothing private
    sync_station(station)
    public = screens("portrait")
    public.goto(f"{station.url}/r/{number}?k={secret}")
    expect(public.get_by_test_id("status-label")).to_have_text("已办结")
    expect(public.get_by_test_id("status-reply")).to_have_text(PUBLIC_REPLY)
    history = public.get_by_test_id("status-history")
    # The station names the township's office where it can (罗城街道人大工委已收到).
    for step in ("已在联络站登记", re.compile(r"人大\S*已收到"), "已受理", "已转交有关部门办理", "已答复", "已办结"):
        expect(history).to_contain_text(step)
    shown = public.locator("body").inner_text()
    for private in PRIVATE:
        assert private not in shown, private
    screenshot(public, "27-station-status-page")

    # --- and the kiosk's look-up, typed on its keypad, says the same
    kiosk = screens("landscape")
    kiosk.goto(station.url)
    tap(kiosk, "lookup")
    expect(kiosk.get_by_test_id("lookup-number")).to_be_focused()
    tap_keys(kiosk, number)
    key(kiosk, "{done}").tap()
    expect(kiosk.get_by_test_id("lookup-secret")).to_be_focused()
    tap_keys(kiosk, secret)
    tap(kiosk, "lookup")
    result = kiosk.get_by_test_id("lookup-result")
    expect(result.get_by_test_id("status-label")).to_have_text("已办结")
    expect(result.get_by_test_id("status-reply")).to_have_text(PUBLIC_REPLY)
    shown = result.inner_text()
    for private in PRIVATE:
        assert private not in shown, private
    screenshot(kiosk, "28-kiosk-lookup-closed")

    # --- signing out: the queue asks for the password again, by link and by the back button
    page.get_by_test_id("logout").click()
    expect(page).to_have_url(re.compile(r"/staff/login"))
    expect(page.locator(".flash-success")).to_have_text("您已退出登录。")
    expect(page.get_by_test_id("signed-in-as")).to_have_count(0)
    page.go_back()
    expect(page).to_have_url(re.compile(r"/staff/login\?next="))
    expect(page.get_by_test_id("login-form")).to_be_visible()
    expect(page.locator("body")).not_to_contain_text(CONTACT[1])
    page.goto(hub.url + "/staff/")
    expect(page).to_have_url(re.compile(r"/staff/login\?next="))
    expect(page.get_by_test_id("login-form")).to_be_visible()
    expect(page.locator("#queue-results")).to_have_count(0)
    screenshot(page, "29-signed-out")
