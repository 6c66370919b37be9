"""Staff accounts at the hub: signing in and out, throttling, idle time,
access to staff pages, and the `flask users` commands."""

import logging
import os
import pty
import re
import select as select_module
import sys
import termios
import time
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from kiosk.auth import services
from kiosk.auth.scope import staff_required
from kiosk.extensions import db
from kiosk.models import AuditEntry, LoginAttempt, Role, StaffSession, User, utcnow
from tests.support.apps import make_app
from tests.support.factories import make_user, sign_in
from tests.support.web import FORM_TOKEN, csrf_token, text

PASSWORD = "correct horse 9"
PROJECT = Path(__file__).resolve().parent.parent
HTMX = {"HX-Request": "true"}


@pytest.fixture
def client(hub):
    return hub.test_client()


def staff_token(client, path="/staff/login") -> str:
    page = client.get(path)
    if page.status_code == 302:  # already signed in: the sign-out button has one too
        page = client.get("/staff/welcome")
    return csrf_token(text(page))


def log_in(client, username="clerk", password=PASSWORD, *, next=None, address="10.0.0.1", headers=None):
    """Fill in the sign-in form as a browser would, from ``address``."""
    token = staff_token(client)
    path = "/staff/login" if next is None else f"/staff/login?next={next}"
    return client.post(
        path,
        data={"csrf_token": token, "username": username, "password": password},
        environ_base={"REMOTE_ADDR": address},
        headers=headers or {},
    )


def home(hub) -> str:
    """Where signing in leads: the queue once it exists, else the welcome page."""
    return "/staff/" if "staff.queue" in hub.view_functions else "/staff/welcome"


def is_signed_in(client) -> bool:
    page = client.get("/staff/welcome")
    return page.status_code == 200 and 'data-testid="signed-in-as"' in text(page)


def rows(hub, model, *where):
    with hub.app_context():
        return db.session.scalars(sa.select(model).where(*where)).all()


# --- signing in ----------------------------------------------------------------------------


def test_the_sign_in_page_is_a_chinese_form_in_the_staff_layout(client):
    page = client.get("/staff/login")
    assert page.status_code == 200
    assert "工作人员登录" in text(page) and "用户名" in text(page) and "密码" in text(page)
    assert "css/staff.css" in text(page) and FORM_TOKEN.search(text(page))
    assert 'data-testid="logout"' not in text(page)


def test_the_right_password_signs_in_with_a_session_held_on_the_server(hub, client, clerk_account):
    page = log_in(client)
    assert page.status_code == 302 and page.headers["Location"] == home(hub)
    assert is_signed_in(client)
    [session] = rows(hub, StaffSession, StaffSession.user_id == clerk_account.id)
    assert session.ended_at is None and session.address == "10.0.0.1"
    [attempt] = rows(hub, LoginAttempt)
    assert (attempt.username, attempt.address, attempt.succeeded) == ("clerk", "10.0.0.1", True)


@pytest.mark.parametrize(
    "username, password", [("clerk", "wrong horse 9"), ("nobody", PASSWORD), ("CLERK", PASSWORD)],
    ids=["wrong password", "unknown account", "other case"],
)
def test_a_wrong_username_or_password_gets_one_message_and_no_session(hub, client, clerk_account, username, password):
    page = log_in(client, username, password)
    assert page.status_code == 200
    assert "用户名或密码不正确" in text(page)
    assert f'value="{username}"' in text(page) and password not in text(page)  # the password is not echoed
    assert not is_signed_in(client)
    assert rows(hub, StaffSession) == []
    [attempt] = rows(hub, LoginAttempt)
    assert attempt.username == username and not attempt.succeeded


@pytest.mark.parametrize(
    "fields",
    [{"username": "", "password": PASSWORD}, {"username": "clerk", "password": ""},
     {"username": "x" * 500, "password": PASSWORD}],
)
def test_an_incomplete_form_is_re_shown_with_a_chinese_message(hub, client, clerk_account, fields):
    page = client.post("/staff/login", data={"csrf_token": staff_token(client), **fields})
    assert page.status_code == 200
    assert re.search(r'class="errors"[^>]*><li>[^<]*[\u4e00-\u9fff]', text(page))
    assert rows(hub, LoginAttempt) == [] and rows(hub, StaffSession) == []


def test_every_attempt_is_logged_in_one_line_without_the_password(hub, client, clerk_account, caplog):
    with caplog.at_level(logging.INFO, logger="kiosk.auth.services"):
        log_in(client, "clerk", "wrong horse 9")
        log_in(client, "clerk", PASSWORD)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("sign-in")]
    assert len(lines) == 2
    assert "wrong password" in lines[0] and "'clerk'" in lines[0] and "10.0.0.1" in lines[0]
    assert lines[1].startswith("sign-in ok")
    assert not any("horse" in r.getMessage() for r in caplog.records)


def test_unknown_usernames_check_a_hash_as_costly_as_a_real_one(hub):
    with hub.app_context():
        dummy, real = services._dummy_hash(), services.hash_password(PASSWORD)
    assert dummy.split("$")[0] == real.split("$")[0]  # the same method and cost parameters
    assert dummy.startswith("scrypt:")


def test_a_deactivated_account_cannot_sign_in(hub, client, clerk_account):
    with hub.app_context():
        services.set_active("clerk", False)
    page = log_in(client)
    assert page.status_code == 200 and "此账号已停用" in text(page)
    assert not is_signed_in(client)
    # Without the right password it learns nothing about the account.
    assert "用户名或密码不正确" in text(log_in(client, password="wrong horse 9"))


def test_deactivating_an_account_ends_its_open_sessions(hub, client, clerk_account):
    sign_in(client, clerk_account)
    assert is_signed_in(client)
    with hub.app_context():
        services.set_active("clerk", False)
    assert not is_signed_in(client)
    assert all(s.ended_at is not None for s in rows(hub, StaffSession))


def test_signing_in_again_replaces_the_old_session(hub, client, clerk_account):
    log_in(client)
    log_in(client)  # e.g. the sign-in page opened from a bookmark
    sessions = rows(hub, StaffSession)
    assert len(sessions) == 2 and sum(s.ended_at is None for s in sessions) == 1
    assert is_signed_in(client)


def test_the_sign_in_page_sends_a_signed_in_member_of_staff_home(hub, client, clerk_account):
    sign_in(client, clerk_account)
    page = client.get("/staff/login")
    assert page.status_code == 302 and page.headers["Location"] == home(hub)


# --- where signing in leads ---------------------------------------------------------------


@pytest.mark.parametrize("target", ["/staff/welcome", "/staff/welcome?page=2", "/open311/v2/services.json"])
def test_signing_in_returns_to_the_page_asked_for(client, clerk_account, target):
    page = log_in(client, next=target.replace("?", "%3F").replace("=", "%3D"))
    assert page.status_code == 302 and page.headers["Location"] == target


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/", "/\\evil.example", "/%5Cevil.example", "javascript:alert(1)",
     "http:/evil.example", "%09//evil.example", "/staff/%0d%0aSet-Cookie:x", "evil.example", "ftp://x/"],
)
def test_signing_in_never_leads_off_the_site(hub, client, clerk_account, target):
    page = log_in(client, next=target)
    assert page.status_code == 302 and page.headers["Location"] == home(hub)


# --- throttling ---------------------------------------------------------------------------


def fail(client, username, times, address="10.0.0.1"):
    for n in range(times):
        page = log_in(client, username, f"wrong password {n}", address=address)
        assert page.status_code == 200 and "用户名或密码不正确" in text(page)


def assert_throttled(page):
    assert page.status_code == 429
    assert "登录失败次数过多" in text(page) and "15 分钟后再试" in text(page)
    # The friendly form, not a bare error.
    assert 'name="username"' in text(page) and "css/staff.css" in text(page)


def test_five_failures_for_one_account_stop_it_signing_in_from_anywhere(hub, client, clerk_account):
    for n in range(5):  # an attacker moving between addresses
        fail(client, "clerk", 1, address=f"10.0.1.{n}")
    page = log_in(client, "clerk", PASSWORD, address="10.0.2.1")  # even the right password
    assert_throttled(page)
    assert not is_signed_in(client)
    assert [a.succeeded for a in rows(hub, LoginAttempt)] == [False] * 6  # recorded like any other attempt


def test_a_throttled_attempt_does_not_even_check_the_password(hub, client, clerk_account, caplog):
    fail(client, "clerk", 5)
    with caplog.at_level(logging.INFO, logger="kiosk.auth.services"):
        assert_throttled(log_in(client, "clerk", "wrong horse 9", address="10.0.2.1"))
    assert [r.getMessage() for r in caplog.records if r.getMessage().startswith("sign-in")] == [
        "sign-in throttled: 'clerk' from 10.0.2.1"
    ]


def test_twenty_failures_from_one_address_stop_every_account_there(hub, client, clerk_account):
    for n in range(20):  # one guess each at many names
        fail(client, f"guess{n}", 1, address="10.9.9.9")
    assert_throttled(log_in(client, "clerk", PASSWORD, address="10.9.9.9"))
    # The same account from its own desk is not affected.
    assert log_in(client, "clerk", PASSWORD, address="10.0.0.1").status_code == 302


def test_a_success_clears_only_its_own_accounts_failures(hub, client, clerk_account):
    with hub.app_context():
        make_user(Role.CITY, username="city")
    fail(client, "clerk", 4)
    assert log_in(client, "city", PASSWORD).status_code == 302  # another account succeeds, same address
    client.post("/staff/logout", data={"csrf_token": staff_token(client, "/staff/welcome")})
    fail(client, "clerk", 1)
    assert_throttled(log_in(client, "clerk", PASSWORD))
    # Its own success does clear them: four more mistakes are forgiven after it.
    fail(client, "city", 4, address="10.0.0.2")
    assert log_in(client, "city", PASSWORD, address="10.0.0.2").status_code == 302
    fail(client, "city", 4, address="10.0.0.3")
    assert log_in(client, "city", PASSWORD, address="10.0.0.3").status_code == 302


def test_a_success_does_not_clear_its_addresss_failures(hub, client, clerk_account):
    for n in range(19):
        fail(client, f"guess{n}", 1, address="10.9.9.9")
    assert log_in(client, "clerk", PASSWORD, address="10.9.9.9").status_code == 302
    fail(client, "guess19", 1, address="10.9.9.9")
    assert_throttled(log_in(client, "clerk", PASSWORD, address="10.9.9.9"))


def test_the_throttle_lifts_when_the_window_has_passed(hub, clerk_account):
    start = utcnow()
    with hub.app_context():
        for n in range(5):
            with pytest.raises(services.LoginRefused):
                services.authenticate("clerk", "wrong", "10.0.0.1", now=start + timedelta(minutes=n))
        with pytest.raises(services.LoginRefused) as refused:
            services.authenticate("clerk", PASSWORD, "10.0.0.1", now=start + timedelta(minutes=10))
        assert refused.value.throttled
        # The throttled attempt counts too: without it only four failures
        # (minutes 1 to 4) would be left in the window at minute 16.
        with pytest.raises(services.LoginRefused) as refused:
            services.authenticate("clerk", PASSWORD, "10.0.0.1", now=start + timedelta(minutes=16))
        assert refused.value.throttled
        # Fifteen quiet minutes later the account signs in again.
        user = services.authenticate("clerk", PASSWORD, "10.0.0.1", now=start + timedelta(minutes=32))
        assert user.username == "clerk"


def test_the_limits_are_settings(hub, client, clerk_account):
    hub.config["LOGIN_FAILURES_PER_ACCOUNT"] = 2
    fail(client, "clerk", 2)
    page = log_in(client)
    assert page.status_code == 429


def test_a_throttled_htmx_sign_in_is_answered_200_so_it_is_shown(hub, client, clerk_account):
    fail(client, "clerk", 5)
    page = log_in(client, headers=HTMX)
    assert page.status_code == 200 and "登录失败次数过多" in text(page)


# --- signing out and idle time ------------------------------------------------------------


def test_signing_out_ends_the_session_on_the_server_and_an_old_cookie_is_refused(hub, client, clerk_account):
    log_in(client)
    old_cookie = client.get_cookie("session").value
    assert is_signed_in(client)
    page = client.post("/staff/logout", data={"csrf_token": staff_token(client, "/staff/welcome")})
    assert page.status_code == 302 and page.headers["Location"] == "/staff/login"
    assert "您已退出登录" in text(client.get("/staff/login"))
    assert not is_signed_in(client)
    [session] = rows(hub, StaffSession)
    assert session.ended_at is not None
    # The old cookie still carries a valid signature; the server refuses it anyway.
    client.set_cookie("session", old_cookie)
    page = client.get("/staff/welcome")
    assert page.status_code == 302 and page.headers["Location"].startswith("/staff/login")


def test_the_cookie_loses_the_token_on_sign_out(client, clerk_account):
    log_in(client)
    with client.session_transaction() as flask_session:
        assert services.SESSION_KEY in flask_session
    client.post("/staff/logout", data={"csrf_token": staff_token(client, "/staff/welcome")})
    with client.session_transaction() as flask_session:
        assert services.SESSION_KEY not in flask_session


def test_idle_time_ends_a_session(hub, clerk_account):
    start = utcnow()
    with hub.app_context():
        user = db.session.get(User, clerk_account.id)
        token = services.start_session(user, now=start)
        assert services.user_for_token(token, now=start + timedelta(minutes=29)).username == "clerk"
        # Each use moves the idle clock on.
        assert services.user_for_token(token, now=start + timedelta(minutes=58)).username == "clerk"
        assert services.user_for_token(token, now=start + timedelta(minutes=89)) is None
        # Once ended, it stays ended.
        assert services.user_for_token(token, now=start + timedelta(minutes=90)) is None
        row = db.session.get(StaffSession, services._hash(token))
        assert row.ended_at == start + timedelta(minutes=58 + 30)


def test_a_page_opened_after_idle_time_asks_to_sign_in_again(hub, client, clerk_account):
    with hub.app_context():
        token = services.start_session(db.session.get(User, clerk_account.id), now=utcnow() - timedelta(minutes=31))
    with client.session_transaction() as flask_session:
        flask_session[services.SESSION_KEY] = token
    page = client.get("/staff/welcome")
    assert page.status_code == 302 and page.headers["Location"].startswith("/staff/login")
    hub.config["STAFF_IDLE_MINUTES"] = 60
    assert not is_signed_in(client)  # ended is ended, whatever the setting says now


def test_the_session_cookie_is_http_only_and_secure_when_set(hub, client, clerk_account):
    cookie = log_in(client).headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "Secure" not in cookie  # plain http works in the demo
    assert "Expires" not in cookie  # a browser-session cookie: closing the browser signs out
    hub.config["SESSION_COOKIE_SECURE"] = True
    assert "Secure" in log_in(hub.test_client()).headers["Set-Cookie"]


def test_over_https_the_session_cookie_is_a_host_only_cookie(hub, clerk_account):
    """``__Host-``: Secure, path /, no domain, so no other site or subdomain can set or read it."""
    secure = make_app(hub.instance_path, ROLE="hub", AUTO_MIGRATE=False, SESSION_COOKIE_SECURE=True)
    cookie = log_in(secure.test_client()).headers["Set-Cookie"]
    assert cookie.startswith("__Host-session=")
    attributes = {part.strip().split("=")[0] for part in cookie.split(";")[1:]}
    assert {"Secure", "HttpOnly", "SameSite", "Path"} <= attributes and "Domain" not in attributes
    assert "Path=/;" in cookie and "SameSite=Lax" in cookie


# --- staff pages --------------------------------------------------------------------------


def test_a_staff_page_sends_a_stranger_to_sign_in_and_back(client, clerk_account):
    page = client.get("/staff/welcome?x=1")
    assert page.status_code == 302 and page.headers["Location"] == "/staff/login?next=/staff/welcome?x%3D1"
    assert "请先登录" in text(client.get(page.headers["Location"]))
    page = log_in(client, next="/staff/welcome%3Fx%3D1")
    assert page.headers["Location"] == "/staff/welcome?x=1"


def test_an_htmx_request_without_a_session_redirects_the_whole_page(client):
    shown = "http://localhost/staff/welcome?page=3"
    page = client.get("/staff/welcome", headers={**HTMX, "HX-Current-URL": shown})
    assert page.status_code == 401
    assert page.headers["HX-Redirect"] == "/staff/login?next=/staff/welcome?page%3D3"
    assert text(page) == ""  # no sign-in form swapped into a fragment


def test_an_htmx_request_from_another_site_is_not_returned_to(client):
    page = client.get("/staff/welcome", headers={**HTMX, "HX-Current-URL": "https://evil.example/staff/"})
    assert page.headers["HX-Redirect"] == "/staff/login"


@pytest.fixture
def city_only(hub):
    @staff_required(Role.CITY)
    def settings_page():
        return "city settings"

    hub.add_url_rule("/staff/test-city-only", "city_only", settings_page)


def test_a_forbidden_staff_page_is_403_in_the_staff_layout(hub, client, clerk_account, city_only):
    sign_in(client, clerk_account)
    page = client.get("/staff/test-city-only")
    assert page.status_code == 403
    assert "您没有权限打开这个页面" in text(page)
    assert "css/staff.css" in text(page) and 'data-testid="logout"' in text(page)
    with hub.app_context():
        city = SimpleNamespace(id=make_user(Role.CITY).id)
    sign_in(client, city)
    assert text(client.get("/staff/test-city-only")) == "city settings"


def test_a_missing_staff_page_is_404_in_the_staff_layout(client, clerk_account):
    sign_in(client, clerk_account)
    page = client.get("/staff/no-such-page")
    assert page.status_code == 404
    assert "没有找到这个页面" in text(page) and "css/staff.css" in text(page) and 'data-testid="logout"' in text(page)
    fragment = client.get("/staff/no-such-page", headers=HTMX)
    assert fragment.status_code == 404 and "没有找到这个页面" in text(fragment) and "<html" not in text(fragment)


def test_public_pages_at_the_hub_keep_their_own_error_page(client):
    page = client.get("/r/NOPE-1")
    assert "css/staff.css" not in text(page)


def test_staff_pages_are_not_kept_in_the_browser_cache(client, clerk_account):
    sign_in(client, clerk_account)
    assert client.get("/staff/welcome").headers["Cache-Control"] == "no-store"
    assert client.get("/staff/login").headers["Cache-Control"] == "no-store"


def test_the_header_names_the_member_of_staff_and_their_township(client, clerk_account):
    sign_in(client, clerk_account)
    page = text(client.get("/staff/welcome"))
    assert "罗城街道人大工委" in page and "罗城街道人大办" not in page and "clerk（镇人大办）" in page


# --- CSRF ---------------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "", "garbage"], ids=["missing", "empty", "wrong"])
def test_the_sign_in_form_refuses_a_post_without_its_token(hub, client, clerk_account, token):
    assert hub.config.get("WTF_CSRF_ENABLED", True)
    client.get("/staff/login")
    data = {"username": "clerk", "password": PASSWORD} | ({} if token is None else {"csrf_token": token})
    page = client.post("/staff/login", data=data)
    assert page.status_code == 400 and "页面已过期" in text(page)
    assert rows(hub, LoginAttempt) == [] and rows(hub, StaffSession) == []


@pytest.mark.parametrize("token", [None, "", "garbage"], ids=["missing", "empty", "wrong"])
def test_the_sign_out_button_refuses_a_post_without_its_token(hub, client, clerk_account, token):
    sign_in(client, clerk_account)
    client.get("/staff/welcome")
    page = client.post("/staff/logout", data={} if token is None else {"csrf_token": token})
    assert page.status_code == 400 and "页面已过期" in text(page)
    assert is_signed_in(client)  # a forged sign-out from another site does nothing


def test_the_sign_out_button_carries_its_token(client, clerk_account):
    sign_in(client, clerk_account)
    page = text(client.get("/staff/welcome"))
    form = re.search(r'<form class="staff-user" method="post" action="/staff/logout".*?</form>', page, re.S)
    assert form and 'name="csrf_token"' in form.group(0)


# --- `flask users` ------------------------------------------------------------------------


def users(app, *args, password=PASSWORD):
    env = {"KIOSK_NEW_PASSWORD": password}  # None: not set at all
    return app.test_cli_runner().invoke(args=["users", *args], env=env)


def audit_rows(hub, action):
    return rows(hub, AuditEntry, AuditEntry.action == action)


def test_users_add_makes_an_account_from_the_environment_without_a_terminal(hub, client):
    result = users(hub, "add", "--username", "zhangmin", "--role", "township", "--township", "罗城街道",
                   "--display-name", "张敏")
    assert result.exit_code == 0, result.output
    assert "已开设账号 zhangmin" in result.output
    [user] = rows(hub, User)
    assert (user.username, user.role, user.display_name, user.township_id, user.active) == (
        "zhangmin", "township", "张敏", 1, True)
    assert user.password_hash.startswith("scrypt:")  # Werkzeug's scrypt
    [entry] = audit_rows(hub, "user.create")
    assert entry.user_id is None and entry.note == "command line"
    assert entry.after["username"] == "zhangmin" and "password_hash" not in entry.after
    assert log_in(client, "zhangmin", PASSWORD).status_code == 302


def test_users_add_makes_city_and_chair_accounts(hub):
    assert users(hub, "add", "--username", "city.li", "--role", "city").exit_code == 0
    chair = users(hub, "add", "--username", "chair_wang", "--role", "chair", "--township", "罗城街道")
    assert chair.exit_code == 0
    accounts = {u.username: (u.role, u.township_id) for u in rows(hub, User)}
    assert accounts == {"city.li": ("city", None), "chair_wang": ("chair", 1)}


@pytest.mark.parametrize(
    "args, password, says",
    [
        (["--role", "township", "--township", "罗城街道"], "short9", "至少 10 个字符"),
        (["--role", "township", "--township", "罗城街道"], "", "密码不能为空"),
        (["--role", "township", "--township", "罗城街道"], "          ", "密码不能为空"),
        (["--role", "township", "--township", "罗城街道"], None, "KIOSK_NEW_PASSWORD"),
        (["--role", "township", "--township", "火星镇"], PASSWORD, "没有名为 火星镇 的镇街"),
        (["--role", "township"], PASSWORD, "须指定所属镇街"),
        (["--role", "chair"], PASSWORD, "须指定所属镇街"),
        (["--role", "city", "--township", "罗城街道"], PASSWORD, "不属于某个镇街"),
        (["--role", "mayor"], PASSWORD, "mayor"),
        (["--role", "city", "--display-name", "名" * 41], PASSWORD, "最多 40 个字"),
    ],
    ids=["short", "empty", "blank", "no-password", "unknown-township", "no-township", "chair-no-township",
         "city-with-township", "unknown-role", "long-display-name"],
)
def test_users_add_refuses_clearly_and_changes_nothing(hub, args, password, says):
    result = users(hub, "add", "--username", "newclerk", *args, password=password)
    assert result.exit_code != 0
    assert says in result.output
    assert rows(hub, User) == [] and rows(hub, AuditEntry) == []


@pytest.mark.parametrize("name", ["clerk", "Clerk", "x", "张敏", "-clerk", "has space", "a" * 41])
def test_users_add_refuses_a_taken_or_malformed_username(hub, clerk_account, name):
    result = users(hub, "add", "--username", name, "--role", "city")
    assert result.exit_code != 0
    assert "已被使用" in result.output or "用户名须为" in result.output
    assert len(rows(hub, User)) == 1


def test_users_list_shows_every_account(hub, clerk_account):
    users(hub, "add", "--username", "city.li", "--role", "city", "--display-name", "李华")
    users(hub, "deactivate", "clerk")
    listing = users(hub, "list").output
    assert re.search(r"^city\.li\s+city\s+启用 .*全市\s+李华$", listing, re.M)
    assert re.search(r"^clerk\s+township\s+停用 .*罗城街道", listing, re.M)


def test_users_list_with_no_accounts_says_how_to_make_the_first(hub):
    result = users(hub, "list")
    assert result.exit_code == 0 and "flask users add" in result.output


def test_users_deactivate_and_activate(hub, client, clerk_account):
    sign_in(client, clerk_account)
    result = users(hub, "deactivate", "clerk")
    assert result.exit_code == 0 and "已停用" in result.output
    assert not is_signed_in(client)
    [entry] = audit_rows(hub, "user.deactivate")
    assert entry.user_id is None and entry.note == "command line"
    assert (entry.before["active"], entry.after["active"]) == (True, False)
    assert users(hub, "deactivate", "clerk").exit_code != 0  # already
    assert users(hub, "deactivate", "nobody").exit_code != 0
    assert users(hub, "activate", "clerk").exit_code == 0
    assert log_in(client).status_code == 302


def test_users_set_password(hub, client, clerk_account):
    sign_in(client, clerk_account)
    result = users(hub, "set-password", "clerk", password="a new password 10")
    assert result.exit_code == 0, result.output
    assert not is_signed_in(client)  # its sessions end
    assert "用户名或密码不正确" in text(log_in(client, "clerk", PASSWORD))
    assert log_in(client, "clerk", "a new password 10").status_code == 302
    [entry] = audit_rows(hub, "user.password")
    assert entry.note == "command line" and entry.before is None and entry.after is None
    assert users(hub, "set-password", "clerk", password="short").exit_code != 0
    assert users(hub, "set-password", "nobody").exit_code != 0


def test_the_users_commands_refuse_to_run_on_a_station(app):
    result = users(app, "add", "--username", "clerk", "--role", "city")
    assert result.exit_code != 0 and "联络站" in result.output
    assert users(app, "list").exit_code != 0


def test_no_account_ships_with_the_demo(hub):
    assert rows(hub, User) == []


def test_users_add_asks_for_the_password_twice_on_a_terminal(hub):
    """A real terminal: the password is typed twice, and a mismatch makes nothing."""
    env = {**os.environ, "KIOSK_ROLE": "hub", "KIOSK_INSTANCE_PATH": hub.instance_path,
           "KIOSK_SECRET_KEY": "test"}
    env.pop("KIOSK_NEW_PASSWORD", None)
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "users", "add", "--username"]
    output = on_terminal(command + ["typist", "--role", "city"], [PASSWORD, PASSWORD], env)
    assert "再输入一次" in output and "已开设账号 typist" in output
    output = on_terminal(command + ["typo", "--role", "city"], [PASSWORD, PASSWORD + "x"], env)
    assert "两次输入的密码不一致" in output
    assert {u.username for u in rows(hub, User)} == {"typist"}


def on_terminal(command, answers, env) -> str:
    """Run ``command`` on a pseudo-terminal, typing each answer at a prompt."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: its terminal is the pty
        try:
            os.chdir(PROJECT)
            os.execve(command[0], command, env)
        finally:
            os._exit(127)  # never carry on as a copy of the test run
    output, answers = b"", list(answers)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select_module.select([fd], [], [], 1)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the child has gone
            break
        if not chunk:
            break
        output += chunk
        if answers and output.rstrip().endswith(b":"):
            # Type only once the prompt has turned echo off: input typed
            # earlier is flushed (and would have been shown).
            while termios.tcgetattr(fd)[3] & termios.ECHO and time.monotonic() < deadline:
                time.sleep(0.01)
            os.write(fd, answers.pop(0).encode() + b"\r")
            output += b"\n"
    os.waitpid(pid, 0)
    os.close(fd)
    return output.decode("utf-8", "replace")
