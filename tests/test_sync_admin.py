"""The station's sync admin screen."""

import re
import time

import pytest

from kiosk.backup import mark_restored
from tests.support.factories import make_opinion
from tests.support.web import csrf_token

pytestmark = pytest.mark.parametrize("hub_app", ["sqlite"], indirect=True)


@pytest.fixture
def admin(station_app, transport):
    station_app.config["ADMIN_PIN"] = "2468"
    station_app.extensions["sync_transport"] = transport
    return station_app.test_client()


def unlock(admin):
    page = admin.get("/admin/sync/").get_data(as_text=True)
    return admin.post("/admin/sync/unlock", data={"pin": "2468", "csrf_token": csrf_token(page)}, follow_redirects=True)


def test_no_pin_configured_means_no_screen(station_app):
    assert station_app.test_client().get("/admin/sync/").status_code == 404


def test_the_screen_needs_the_pin(admin):
    page = admin.get("/admin/sync/").get_data(as_text=True)
    assert "管理密码" in page and "等待送出" not in page
    wrong = admin.post("/admin/sync/unlock", data={"pin": "1111", "csrf_token": csrf_token(page)})
    assert "管理密码不对" in wrong.get_data(as_text=True)
    assert admin.get("/admin/sync/status").status_code == 302
    no_csrf = admin.post("/admin/sync/unlock", data={"pin": "2468"})
    assert no_csrf.status_code == 400


def test_waiting_records_and_sync_now_with_progress(admin, station_app):
    with station_app.app_context():
        make_opinion("LC00")
        make_opinion("LC00")
    page = unlock(admin).get_data(as_text=True)
    assert re.search(r'data-testid="waiting">2 条', page)
    assert "从未成功" in page
    fragment = admin.post("/admin/sync/now", data={"csrf_token": csrf_token(page)}, headers={"HX-Request": "true"})
    assert fragment.get_data(as_text=True).lstrip().startswith("{#") or 'id="sync-status"' in fragment.get_data(as_text=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        panel = admin.get("/admin/sync/status", headers={"HX-Request": "true"}).get_data(as_text=True)
        if 'data-testid="result"' in panel:
            break
        assert 'hx-trigger="load delay:1s"' in panel
        time.sleep(0.05)
    assert "同步完成：送出 2 条，确认 2 条" in panel
    assert re.search(r'data-testid="waiting">0 条', panel)
    assert "<html" not in panel


def test_last_error_is_in_plain_words(admin, station_app, transport):
    from tests.support.inprocess import drop_request

    transport.before = drop_request
    with station_app.app_context():
        from kiosk.sync import station as station_sync

        station_sync.sync_once(transport=transport)
    page = unlock(admin).get_data(as_text=True)
    assert "连不上镇人大办" in page


def test_a_restored_box_says_it_takes_no_submit_until_synced(admin, station_app):
    page = unlock(admin).get_data(as_text=True)
    assert 'data-testid="restored"' not in page
    with station_app.app_context():
        assert mark_restored()
    page = admin.get("/admin/sync/").get_data(as_text=True)
    assert 'data-testid="restored"' in page and "同步成功之前不接受新的提交" in page
