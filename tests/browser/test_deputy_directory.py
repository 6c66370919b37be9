"""代表名册 at a desk, in Chromium, against a real hub: a clerk adds a deputy with a photo
chosen from the computer, and imports the office's spreadsheet."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from kiosk.extensions import db
from tests.support.deputies import csv_bytes, portrait, row
from tests.support.factories import make_user
from tests.support.servers import ServerProcess
from tests.support.touch import screenshot

pytestmark = pytest.mark.browser

PASSWORD = "correct horse 9"


@pytest.fixture
def directory_hub(hub):
    with hub.app_context():
        clerk = make_user(role="township", username="lc-clerk")
        clerk.display_name = "张敏"
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    server = ServerProcess(Path(hub.instance_path), {"ROLE": "hub"}).start()
    yield server
    server.stop()


def sign_in(page, hub):
    page.goto(hub.url + "/staff/login")
    page.get_by_label("用户名").fill("lc-clerk")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_test_id("login").click()
    expect(page.get_by_test_id("signed-in-as")).to_contain_text("张敏")


def test_a_clerk_adds_a_deputy_with_a_photo_and_imports_the_spreadsheet(directory_hub, screens, tmp_path):
    page = screens("desk")
    sign_in(page, directory_hub)
    page.get_by_role("link", name="代表名册").click()
    page.get_by_role("link", name="添加代表").click()
    page.get_by_label("姓名").fill("黄丽娟")
    page.get_by_label("层级").select_option("罗定市")
    page.get_by_label("手机（仅工作人员可见）").fill("13812345678")
    page.get_by_label("公开电话").fill("0766-3811111")
    page.get_by_label("联络站", exact=True).fill("LC00")
    photo = tmp_path / "黄丽娟.jpg"
    photo.write_bytes(portrait(3, size=(1600, 2000)))
    page.get_by_label("照片", exact=True).set_input_files(str(photo))
    page.get_by_role("button", name="保存").click()
    added = page.locator("tr", has_text="黄丽娟")
    expect(added).to_contain_text("13812345678")
    size = added.locator("img.deputy-photo").evaluate("img => img.complete ? [img.naturalWidth, img.naturalHeight] : [0, 0]")
    assert max(size) == 600
    screenshot(page, "deputy-directory")

    sheet = tmp_path / "名册.csv"
    sheet.write_bytes(csv_bytes([row("林志坚", "罗城街道", level="省", mobile="13700000001", stations="LC00"),
                                 row("无此镇", "天堂镇", mobile="13700000002")], "gb18030"))  # fmt: skip
    page.get_by_role("link", name="代表名册").click()
    page.get_by_role("link", name="导入名册").click()
    page.get_by_label("名册文件").set_input_files(str(sheet))
    page.get_by_role("button", name="导入").click()
    expect(page.get_by_test_id("import-result")).to_contain_text("第3行：没有名为“天堂镇”的镇街")
    expect(page.get_by_test_id("import-result")).to_contain_text("1 added, 0 updated, 0 unchanged, 1 refused")
