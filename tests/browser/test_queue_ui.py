"""The queue and the opinion page at a desk, in Chromium, against a real hub.

A hub (waitress, SQLite) with a township clerk and a handful of opinions
made through the sync store, as a station's push makes them. What a clerk
found in a trial: clearing the filters, the bulk bar, the opening queue,
the notice after an action and the confirmation of irreversible actions.
"""

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from playwright.sync_api import expect

from kiosk.extensions import db
from kiosk.models import Department
from kiosk.staff import services
from tests.support.factories import make_user, receive_opinion
from tests.support.servers import ServerProcess
from tests.support.touch import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PASSWORD = "correct horse 9"


def ago(days: float) -> datetime:
    return datetime.now(timezone.utc) - timedelta(days=days)


@pytest.fixture
def desk_hub(hub):
    """The hub of the ``hub`` fixture, seeded, then served by waitress from the same instance."""
    with hub.app_context():
        clerk = make_user(role="township", username="lc-clerk")
        clerk.display_name = "张敏"
        chair = make_user(role="chair", username="lc-chair")
        chair.display_name = "李主席"
        db.session.add(Department(name="罗城街道城建办"))
        db.session.commit()
        made = {
            "old": receive_opinion("LC00", content="村口的路灯坏了三个月，晚上很黑。", created_at=ago(40),
                                   contact_phone="13800138000"),
            "fresh": receive_opinion("LC00", category="water", content="水渠堵塞，田里的水排不出去。", created_at=ago(0.05)),
            "market": receive_opinion("LC00", category="environment", content="市场旁边的垃圾没人清理。", created_at=ago(1)),
            "done": receive_opinion("LC00", content="桥面有个大坑。", created_at=ago(2)),
        }  # fmt: skip
        services.accept(chair, made["done"])
        services.close(chair, made["done"], "已修复。")
        numbers = {name: o.receipt_number for name, o in made.items()}
        uuids = {name: o.uuid for name, o in made.items()}
        db.session.remove()
        db.engine.dispose()
    server = ServerProcess(Path(hub.instance_path), {"ROLE": "hub"}).start()
    server.numbers, server.uuids = numbers, uuids
    yield server
    server.stop()


def sign_in(page, hub, username="lc-clerk", name="张敏"):
    page.goto(hub.url + "/staff/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_test_id("login").click()
    expect(page.get_by_test_id("signed-in-as")).to_contain_text(name)
    # The queue's controls act through htmx, a deferred script: on a busy
    # machine the page shows before it runs, and a change made then is lost.
    page.wait_for_load_state("load")


def test_clearing_the_filters_reloads_the_plain_queue_once(desk_hub, screens):
    page = screens("desk")
    sign_in(page, desk_hub)
    page.get_by_label("类别").select_option(label="环境卫生")
    expect(page).to_have_url(re.compile(r"category="))
    page.get_by_label("内容或回执编号").fill("垃圾")
    page.get_by_label("内容或回执编号").press("Enter")
    expect(page.locator("#queue-results tbody tr")).to_have_count(1)
    page.get_by_test_id("clear-filters").click()
    expect(page).to_have_url(desk_hub.url + "/staff/")
    expect(page.locator(".staff-header")).to_have_count(1)
    expect(page.locator("#queue-filters")).to_have_count(1)
    expect(page.locator("#queue-results")).to_have_count(1)
    expect(page.get_by_label("内容或回执编号")).to_have_value("")
    expect(page.get_by_label("类别")).to_have_value("")
    expect(page.locator("#queue-results tbody tr")).to_have_count(3)
    screenshot(page, "40-queue-cleared")


def test_the_opening_queue_the_bulk_bar_and_a_confirmed_decline(desk_hub, screens):
    page = screens("desk")
    sign_in(page, desk_hub)
    rows = page.locator("#queue-results tbody tr")
    # Today's work, the overdue one on top; the order a visible toggle.
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text(desk_hub.numbers["old"])
    expect(page.locator('.order-toggle a[data-order="urgent"]')).to_have_attribute("aria-current", "true")
    # The ticks sit beside their words.
    box, words = page.get_by_label("只看逾期"), page.get_by_text("只看逾期")
    assert abs(box.bounding_box()["y"] - words.bounding_box()["y"]) < 12
    screenshot(page, "41-queue-opening")

    # A forward without a department: the ticks and the choice stay.
    page.get_by_label(f"选择 {desk_hub.numbers['old']}").check()
    page.get_by_label(f"选择 {desk_hub.numbers['market']}").check()
    bar = page.locator(".bulk-actions")
    expect(bar).to_be_in_viewport()
    page.get_by_label("转办到").check()
    bar.get_by_role("button", name="执行").click()
    expect(page.get_by_test_id("bulk-result")).to_contain_text("转办请选择承办部门。")
    expect(page.get_by_label(f"选择 {desk_hub.numbers['old']}")).to_be_checked()
    expect(page.get_by_label(f"选择 {desk_hub.numbers['market']}")).to_be_checked()
    expect(page.get_by_label("转办到")).to_be_checked()
    # Accept them both: the result names each one, linked.
    page.get_by_label("受理", exact=True).check()
    bar.get_by_role("button", name="执行").click()
    result = page.get_by_test_id("bulk-result")
    expect(result).to_contain_text("已受理 2 条")
    expect(result.get_by_role("link", name=desk_hub.numbers["old"])).to_be_visible()
    screenshot(page, "42-queue-bulk-done")

    # 不予受理 needs its confirmation ticked; it waits under 更多操作.
    result.get_by_role("link", name=desk_hub.numbers["market"]).click()
    page.get_by_text("更多操作").click()
    section = page.locator("#action-decline")
    section.get_by_label("不予受理的理由").fill("属于司法程序，请向法院反映。")
    section.get_by_role("button", name="不予受理").click()
    expect(section.locator(".errors")).to_contain_text("请先勾选")
    section.get_by_label("我已核对，确认不予受理并公开理由").check()
    section.get_by_role("button", name="不予受理").click()
    expect(page.locator("#opinion .flash-success")).to_have_text("已不予受理，理由已公开。")
    expect(page.locator("#opinion .flash-success")).to_be_in_viewport(ratio=1)
    expect(page.locator("#opinion .timeline")).to_contain_text("张敏")
    screenshot(page, "43-opinion-declined")


def test_the_bulk_bars_shortcuts_work_from_the_static_script(desk_hub, screens):
    """Ticking all and choosing a department: listeners of a static file, no inline handler
    (the Content-Security-Policy refuses those), still working after htmx swaps the results."""
    page = screens("desk")
    sign_in(page, desk_hub)
    page.get_by_label("只看逾期").check()
    expect(page.locator("#queue-results tbody tr")).to_have_count(1)
    page.get_by_label("只看逾期").uncheck()
    expect(page.locator("#queue-results tbody tr")).to_have_count(3)
    page.get_by_label("全选本页").check()
    for box in page.locator('#queue-results input[name="uuid"]').all():
        expect(box).to_be_checked()
    page.get_by_label("全选本页").uncheck()
    expect(page.locator('#queue-results input[name="uuid"]:checked')).to_have_count(0)
    expect(page.get_by_label("受理", exact=True)).to_be_checked()
    page.get_by_label("承办部门").select_option(label="罗城街道城建办")
    expect(page.get_by_label("转办到")).to_be_checked()


def test_every_page_of_the_staff_menu_opens_without_a_csp_violation(desk_hub, screens):
    """The ``screens`` fixture fails the test on any violation the browser reports."""
    page = screens("desk")
    sign_in(page, desk_hub, username="lc-chair", name="李主席")
    menu = page.locator(".staff-nav a")
    labels = menu.all_inner_texts()
    assert len(labels) >= 3
    for label in labels:
        page.locator(".staff-nav").get_by_role("link", name=label, exact=True).click()
        expect(page.locator(".staff-nav a[aria-current=page]")).to_have_text(label)
    page.goto(desk_hub.url + f"/staff/opinions/{desk_hub.uuids['old']}")
    expect(page.locator("#opinion")).to_be_visible()


def _next_step_in_view(page, title: str, button: str):
    """The next step is the first action on the page, in view at 1366 × 768; the others are folded."""
    step = page.get_by_test_id("next-step")
    expect(step.locator("h3")).to_have_text(title)
    expect(step.get_by_role("button", name=button, exact=True)).to_be_in_viewport(ratio=1)
    more = page.get_by_test_id("more-actions")
    if more.count():
        expect(more).not_to_have_attribute("open", "")
        # Folded: its forms take no room, and the history follows it.
        assert more.bounding_box()["height"] < 80
        assert page.locator(".timeline").bounding_box()["y"] > more.bounding_box()["y"]
    return step


def test_the_next_step_for_each_state_is_first_and_in_view_at_a_desk(desk_hub, screens):
    """受理 when new, 转办 once accepted, 登记答复 while forwarded, 办结 once replied, 回访 once closed."""
    page = screens("desk")
    sign_in(page, desk_hub)
    page.goto(desk_hub.url + f"/staff/opinions/{desk_hub.uuids['fresh']}")
    _next_step_in_view(page, "受理", "受理").get_by_role("button", name="受理").click()
    expect(page.locator("#opinion .flash-success")).to_have_text("已受理。")

    step = _next_step_in_view(page, "转办", "转办")
    step.get_by_label("承办部门").select_option(label="罗城街道城建办")
    step.get_by_role("button", name="转办").click()
    expect(page.locator("#opinion .flash-success")).to_contain_text("已转办罗城街道城建办")
    screenshot(page, "44-opinion-forwarded")

    step = _next_step_in_view(page, "登记部门答复", "登记答复")
    step.get_by_label("部门答复").fill("已疏通水渠。")
    step.get_by_role("button", name="登记答复").click()
    expect(page.locator("#opinion .flash-success")).to_have_text("已登记部门答复。")

    step = _next_step_in_view(page, "办结", "办结")
    step.get_by_label("答复群众的内容").fill("水渠已疏通，田里的水已排出。")
    step.get_by_label("我已核对答复内容，确认办结并公开答复").check()
    step.get_by_role("button", name="办结").click()
    expect(page.locator("#opinion .flash-success")).to_have_text("已办结，答复已公开。")

    _next_step_in_view(page, "回访（满意度）", "登记回访结果")
    # The rest is still there, one click away.
    page.get_by_text("更多操作").click()
    expect(page.locator("#action-replace_receipt")).to_be_visible()
    screenshot(page, "45-opinion-closed")
