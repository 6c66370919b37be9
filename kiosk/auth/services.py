"""Staff accounts at the hub: server-side sessions, signing in, account changes.

The browser's session cookie carries a random token under ``SESSION_KEY``;
the hub keeps only its SHA-256 in ``StaffSession``. Signing out, or idle time
longer than ``STAFF_IDLE_MINUTES``, ends the row, so an old cookie sent
again is refused even though its signature is still valid.

Signing in is throttled per account and per address (``authenticate``);
accounts are made and changed only here, each change with an audit row.
"""

import hashlib
import logging
import re
import secrets
from datetime import datetime, timedelta
from functools import cache

from flask import current_app, has_request_context, request, session
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from .. import audit
from ..extensions import db, login_manager
from ..models import LoginAttempt, Role, StaffSession, Township, User, utcnow
from ..refusals import Refused

log = logging.getLogger(__name__)

SESSION_KEY = "staff_token"
# Touch last_seen_at at most this often: a page view need not write.
TOUCH_EVERY = timedelta(seconds=30)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(user: User, now=None) -> str:
    """Open a server-side session for ``user``; return the token for the cookie."""
    token = secrets.token_urlsafe(32)
    moment = now or utcnow()
    db.session.add(
        StaffSession(
            token_hash=_hash(token),
            user_id=user.id,
            created_at=moment,
            last_seen_at=moment,
            address=request.remote_addr if has_request_context() else None,
        )
    )
    db.session.commit()
    return token


def end_session(token: str | None, now=None) -> None:
    """End the session behind ``token`` (no-op for an unknown one)."""
    if not token:
        return
    row = db.session.get(StaffSession, _hash(token))
    if row is not None and row.ended_at is None:
        row.ended_at = now or utcnow()
        db.session.commit()
        log.info("staff session of user %s ended (signed out)", row.user_id)


def user_for_token(token: str | None, now=None) -> User | None:
    """The user of a live session, touching it; None if ended, idle or unknown."""
    if not token:
        return None
    row = db.session.get(StaffSession, _hash(token))
    if row is None or row.ended_at is not None:
        return None
    moment = now or utcnow()
    idle = timedelta(minutes=current_app.config["STAFF_IDLE_MINUTES"])
    if moment - row.last_seen_at > idle:
        row.ended_at = row.last_seen_at + idle
        db.session.commit()
        log.info("staff session of user %s ended after idle time", row.user_id)
        return None
    if not row.user.active:
        return None
    if moment - row.last_seen_at > TOUCH_EVERY:
        row.last_seen_at = moment
        db.session.commit()
    return row.user


@login_manager.request_loader
def _load_user(_request):
    return user_for_token(session.get(SESSION_KEY))


# --- signing in ---------------------------------------------------------------

WRONG_CREDENTIALS = "用户名或密码不正确。"
THROTTLED = "登录失败次数过多，请 {minutes} 分钟后再试。忘记密码请联系市人大常委会重设。"
INACTIVE = "此账号已停用。如需恢复，请联系市人大常委会。"


class LoginRefused(Refused):
    """A sign-in that did not succeed; ``message`` is for the form (Chinese)."""

    def __init__(self, message: str, throttled: bool = False):
        super().__init__(message)
        self.throttled = throttled


def hash_password(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


@cache
def _dummy_hash() -> str:
    # Checked for unknown usernames, so they take as long as known ones.
    return hash_password(secrets.token_urlsafe(16))


def _recent_failures(username: str, address: str, now: datetime) -> tuple[int, int]:
    """Failed attempts in the window: for ``username`` since its last success, and from ``address``."""
    since = now - timedelta(minutes=current_app.config["LOGIN_FAILURE_WINDOW_MINUTES"])
    failed = (
        select(func.count())
        .select_from(LoginAttempt)
        .where(LoginAttempt.succeeded.is_(False), LoginAttempt.at >= since)
    )
    last_success = db.session.scalar(
        select(func.max(LoginAttempt.at)).where(
            LoginAttempt.username == username, LoginAttempt.succeeded.is_(True), LoginAttempt.at >= since
        )
    )
    per_account = failed.where(LoginAttempt.username == username)
    if last_success is not None:
        per_account = per_account.where(LoginAttempt.at > last_success)
    return db.session.scalar(per_account), db.session.scalar(failed.where(LoginAttempt.address == address))


def is_throttled(username: str, address: str, now: datetime | None = None) -> bool:
    per_account, per_address = _recent_failures(username, address, now or utcnow())
    config = current_app.config
    return (
        per_account >= config["LOGIN_FAILURES_PER_ACCOUNT"]
        or per_address >= config["LOGIN_FAILURES_PER_ADDRESS"]
    )


def authenticate(username: str, password: str, address: str | None, now: datetime | None = None) -> User:
    """The account whose password this is, or ``LoginRefused``.

    Every attempt is stored in ``LoginAttempt`` and logged (never the
    password). Past ``LOGIN_FAILURES_PER_ACCOUNT`` failures for the account
    (counted since its last success) or ``LOGIN_FAILURES_PER_ADDRESS`` from the
    address within ``LOGIN_FAILURE_WINDOW_MINUTES``, the attempt is refused
    without checking the password, and counts as another failure. An unknown
    username checks a dummy hash, so it takes as long as a known one and gets
    the same message as a wrong password. A deactivated account is refused
    (told so only once the password is right).
    """
    moment = now or utcnow()
    username = username.strip()[:40]
    address = (address or "-")[:45]
    user = None
    if is_throttled(username, address, moment):
        outcome = "throttled"
    else:
        user = db.session.scalar(select(User).where(User.username == username))
        if user is None:
            check_password_hash(_dummy_hash(), password)
            outcome = "unknown account"
        elif not check_password_hash(user.password_hash, password):
            outcome = "wrong password"
        elif not user.active:
            outcome = "inactive account"
        else:
            outcome = "ok"
    db.session.add(LoginAttempt(at=moment, username=username, address=address, succeeded=outcome == "ok"))
    db.session.commit()
    log.info("sign-in %s: %r from %s", outcome, username, address)
    if outcome == "throttled":
        minutes = current_app.config["LOGIN_FAILURE_WINDOW_MINUTES"]
        raise LoginRefused(THROTTLED.format(minutes=minutes), throttled=True)
    if outcome == "inactive account":
        raise LoginRefused(INACTIVE)
    if outcome != "ok":
        raise LoginRefused(WRONG_CREDENTIALS)
    return user


def end_sessions_of(user: User, now: datetime | None = None) -> int:
    """End every live session of ``user`` (caller commits); how many there were."""
    rows = db.session.scalars(
        select(StaffSession).where(StaffSession.user_id == user.id, StaffSession.ended_at.is_(None))
    )
    count = 0
    for row in rows:
        row.ended_at = now or utcnow()
        count += 1
    return count


# --- accounts -----------------------------------------------------------------

PASSWORD_MIN_LENGTH = 10
USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{1,39}")


class AccountRefused(Refused):
    """An account change that was not made; ``message`` says why (Chinese)."""


def check_password(password: str | None) -> None:
    """Refuse an empty or short password (``AccountRefused``)."""
    if not password or not password.strip():
        raise AccountRefused("密码不能为空。")
    if len(password) < PASSWORD_MIN_LENGTH:
        raise AccountRefused(f"密码太短：至少 {PASSWORD_MIN_LENGTH} 个字符。")


def _account_facts(user: User) -> dict:
    return {
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "township_id": user.township_id,
        "active": user.active,
    }


def find_user(username: str) -> User:
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise AccountRefused(f"没有用户名为 {username} 的账号。")
    return user


def check_username_and_name(username: str, display_name: str | None = None) -> None:
    """Refuse a username of the wrong shape or already taken (any case), or a display name too long."""
    username = (username or "").strip()
    if not USERNAME.fullmatch(username):
        raise AccountRefused("用户名须为 2 到 40 个英文字母、数字或 . _ -，并以字母或数字开头。")
    if db.session.scalar(select(User.id).where(func.lower(User.username) == username.lower())) is not None:
        raise AccountRefused(f"用户名 {username} 已被使用。")
    if display_name and len(display_name.strip()) > 40:
        raise AccountRefused("显示名称最多 40 个字。")


def validate_new_account(
    username: str, role: str, township: str | None = None, display_name: str | None = None
) -> int | None:
    """The township id of a new account, or ``AccountRefused``.

    Usernames are 2-40 letters, digits, ``.``, ``_`` or ``-`` and unique
    regardless of case. Township staff and chairs need a known township
    (by its Chinese name); city staff have none.
    """
    check_username_and_name(username, display_name)
    if role not in {r.value for r in Role}:
        raise AccountRefused("角色须为 city、chair、township 或 deputy。")
    if role == Role.DEPUTY:
        raise AccountRefused("代表账号须指定代表（--deputy），由激活码开通。")
    if role == Role.CITY:
        if township:
            raise AccountRefused("市人大常委会的账号不属于某个镇街，请不要指定镇街。")
        return None
    if not township or not township.strip():
        raise AccountRefused(f"{Role(role).label}的账号须指定所属镇街（--township）。")
    township_id = db.session.scalar(select(Township.id).where(Township.name == township.strip()))
    if township_id is None:
        raise AccountRefused(f"没有名为 {township} 的镇街。")
    return township_id


def create_user(
    username: str,
    password: str,
    role: str,
    township: str | None = None,
    display_name: str | None = None,
    *,
    actor: User | None = None,
    note: str | None = None,
) -> User:
    """A new staff account (see ``validate_new_account``), or ``AccountRefused`` with nothing written.

    The password must pass ``check_password`` and is stored as a Werkzeug
    scrypt hash. One audit row (never the hash), one log line.
    """
    township_id = validate_new_account(username, role, township, display_name)
    check_password(password)
    user = User(
        username=username.strip(),
        display_name=(display_name or "").strip() or None,
        password_hash=hash_password(password),
        role=role,
        township_id=township_id,
        active=True,
    )
    db.session.add(user)
    db.session.flush()
    audit.record("user.create", actor=actor, subject=f"user:{user.id}", after=_account_facts(user), note=note)
    db.session.commit()
    log.info("account %s created (%s, township %s)", user.username, role, township_id or "-")
    return user


def set_active(username: str, active: bool, *, actor: User | None = None, note: str | None = None) -> User:
    """Deactivate (or reactivate) an account; deactivating ends its live sessions.

    Accounts are never deleted: the audit log keeps pointing at them.
    """
    user = find_user(username)
    if user.active == active:
        raise AccountRefused(f"账号 {username} 已经是{'启用' if active else '停用'}状态。")
    before = _account_facts(user)
    user.active = active
    if not active:
        end_sessions_of(user)
    audit.record(
        "user.activate" if active else "user.deactivate",
        actor=actor,
        subject=f"user:{user.id}",
        before=before,
        after=_account_facts(user),
        note=note,
    )
    db.session.commit()
    log.info("account %s %s", username, "reactivated" if active else "deactivated")
    return user


def set_password(username: str, password: str, *, actor: User | None = None, note: str | None = None) -> User:
    """A new password for an account; its live sessions end (sign in again)."""
    user = find_user(username)
    check_password(password)
    user.password_hash = hash_password(password)
    ended = end_sessions_of(user)
    audit.record("user.password", actor=actor, subject=f"user:{user.id}", note=note)
    db.session.commit()
    log.info("account %s: password set, %d session(s) ended", username, ended)
    return user


def list_users() -> list[User]:
    """City staff first, then by township and username."""
    order = (User.township_id.is_not(None), User.township_id, User.username)
    return list(db.session.scalars(select(User).order_by(*order)))
