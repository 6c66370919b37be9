"""Deputies' accounts: one per deputy of the directory, started with a one-time activation code.

A deputy's account is made by staff (``users add --role deputy``, the
deputy's staff page) or for a whole township at once (``users
add-deputies``). It has no usable password until the deputy signs in the
first time with the activation code from their slip and sets one. A code
is kept as its SHA-256 only, works once, and expires after
``DEPUTY_ACTIVATION_DAYS``; issuing a new one replaces the old. Tries are
throttled exactly as signing in is (``kiosk.auth.services``): the same
attempt rows, the same limits per account and per address.
"""

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select

from .. import audit
from ..auth import services as auth
from ..clock import format_local
from ..extensions import db
from ..models import Deputy, LoginAttempt, Role, Township, User, utcnow
from ..receipts.numbers import SECRET_ALPHABET

log = logging.getLogger(__name__)

CODE_LENGTH = 8
# No password can match this: an account waiting for its activation code.
NO_PASSWORD = "!activation"

EXPIRED = "激活码已过期。请联系镇人大办重新发放激活码。"
NOT_WAITING = "此账号已激活，请直接用密码登录。"
WRONG_CODE = "用户名或激活码不正确。激活码只能用一次：已经激活的账号请直接用密码登录。"


@dataclass(frozen=True)
class IssuedCode:
    """A code as handed over: printed on a slip, shown once, never stored in clear."""

    user_id: int
    username: str
    deputy_name: str
    code: str
    expires_at: datetime

    @property
    def expires_on(self) -> str:
        return format_local(self.expires_at, "%Y年%m月%d日")


def _code_hash(code: str) -> str:
    return hashlib.sha256(normalise_code(code).encode()).hexdigest()


def normalise_code(code: str | None) -> str:
    """What a person typed, as the code is kept: capitals, without spaces or hyphens."""
    return "".join(ch for ch in (code or "").upper() if ch.isalnum())


def _new_code() -> str:
    return "".join(secrets.choice(SECRET_ALPHABET) for _ in range(CODE_LENGTH))


def formatted(code: str) -> str:
    """``ABCD-EFGH``: easier to read off a slip."""
    return f"{code[:4]}-{code[4:]}"


def default_username(deputy: Deputy) -> str:
    """``d<id>``: short to type on a phone, unique as the directory's id is."""
    return f"d{deputy.id}"


def _deputy(deputy_id) -> Deputy:
    deputy = db.session.get(Deputy, deputy_id) if isinstance(deputy_id, int) else None
    if deputy is None:
        raise auth.AccountRefused(f"没有编号为 {deputy_id} 的代表。")
    if deputy.retired:
        raise auth.AccountRefused(f"代表“{deputy.name}”已离任，不能开设账号。")
    if db.session.scalar(select(User.id).where(User.deputy_id == deputy.id)) is not None:
        raise auth.AccountRefused(f"代表“{deputy.name}”已有账号；如需新的激活码，请重新发放。")
    return deputy


def validate_deputy_account(username: str, deputy_id: int, display_name: str | None = None) -> Deputy:
    """The deputy a new account would be for, or ``AccountRefused``: the username as for staff,
    a deputy of the directory who is not retired and has no account yet."""
    auth.check_username_and_name(username, display_name)
    return _deputy(deputy_id)


def _issue(user: User, moment: datetime) -> str:
    code = _new_code()
    user.activation_hash = _code_hash(code)
    user.activation_expires_at = moment + timedelta(days=current_app.config["DEPUTY_ACTIVATION_DAYS"])
    return code


def create_deputy_account(
    username: str, deputy_id: int, display_name: str | None = None, *, actor: User | None = None, note: str | None = None
) -> IssuedCode:
    """A deputy's account (township from the deputy) with a fresh activation code; commits."""
    deputy = validate_deputy_account(username, deputy_id, display_name)
    issued = _create(username.strip(), deputy, display_name, actor, note, utcnow())
    db.session.commit()
    log.info("deputy account %s created for deputy %s", issued.username, deputy.id)
    return issued


def _create(username, deputy, display_name, actor, note, moment) -> IssuedCode:
    user = User(
        username=username,
        display_name=(display_name or "").strip() or deputy.name,
        password_hash=NO_PASSWORD,
        role=Role.DEPUTY.value,
        township_id=deputy.township_id,
        deputy_id=deputy.id,
        active=True,
        created_at=moment,
    )
    db.session.add(user)
    code = _issue(user, moment)
    db.session.flush()
    audit.record(
        "user.create",
        actor=actor,
        subject=f"user:{user.id}",
        after={"username": user.username, "role": user.role, "township_id": user.township_id, "deputy_id": deputy.id},
        note=note,
    )
    return IssuedCode(user.id, user.username, deputy.name, code, user.activation_expires_at)


def add_township_deputies(township_name: str, *, actor: User | None = None, note: str | None = None) -> list[IssuedCode]:
    """An account for every serving deputy of the township who has none (usernames ``d<id>``).

    One transaction: all or none. Deputies already with an account are left
    alone (their codes are not touched: re-issue one by one).
    """
    township = db.session.scalar(select(Township).where(Township.name == (township_name or "").strip()))
    if township is None:
        raise auth.AccountRefused(f"没有名为 {township_name} 的镇街。")
    has_account = select(User.deputy_id).where(User.deputy_id.is_not(None))
    deputies = db.session.scalars(
        select(Deputy)
        .where(Deputy.township_id == township.id, Deputy.retired.is_(False), Deputy.id.not_in(has_account))
        .order_by(Deputy.name, Deputy.id)
    ).all()
    taken = {name.lower() for name in db.session.scalars(select(User.username))}
    moment = utcnow()
    issued = []
    for deputy in deputies:
        username = default_username(deputy)
        if username.lower() in taken:
            username = f"{username}-{secrets.token_hex(2)}"
        issued.append(_create(username, deputy, None, actor, note, moment))
    db.session.commit()
    log.info("deputy accounts: %d made for %s", len(issued), township.name)
    return issued


def reissue_code(user: User, *, actor: User | None = None, note: str | None = None) -> IssuedCode:
    """A new activation code for a deputy's account that has not been activated; the old stops working."""
    if user.role != Role.DEPUTY:
        raise auth.AccountRefused("只有代表账号使用激活码。")
    if user.activation_hash is None:
        raise auth.AccountRefused(NOT_WAITING + "忘记密码请由市人大常委会重设。")
    moment = utcnow()
    code = _issue(user, moment)
    audit.record("user.code", actor=actor, subject=f"user:{user.id}", note=note)
    db.session.commit()
    log.info("activation code re-issued for %s", user.username)
    return IssuedCode(user.id, user.username, user.deputy.name, code, user.activation_expires_at)


def account_of(deputy: Deputy) -> User | None:
    return db.session.scalar(select(User).where(User.deputy_id == deputy.id))


def activate(username: str, code: str, password: str, address: str | None, now: datetime | None = None) -> User:
    """The first sign-in: the right, unexpired code sets the password, or ``LoginRefused``.

    Counted and throttled with the sign-ins (``kiosk.auth.services``): a
    wrong code is a failed attempt. The code works once.
    """
    moment = now or utcnow()
    username = (username or "").strip()[:40]
    address = (address or "-")[:45]
    if auth.is_throttled(username, address, moment):
        _attempt(username, address, moment, False, "activation throttled")
        minutes = current_app.config["LOGIN_FAILURE_WINDOW_MINUTES"]
        raise auth.LoginRefused(auth.THROTTLED.format(minutes=minutes), throttled=True)
    user = db.session.scalar(select(User).where(func.lower(User.username) == username.lower()))
    given = _code_hash(code)
    right = (
        user is not None
        and user.role == Role.DEPUTY
        and user.activation_hash is not None
        and hmac.compare_digest(user.activation_hash, given)
    )
    if not right:
        # One message whether the account exists, is activated or not: no telling which usernames are live.
        _attempt(username, address, moment, False, "wrong activation code")
        raise auth.LoginRefused(WRONG_CODE)
    if user.activation_expires_at is None or user.activation_expires_at <= moment:
        _attempt(username, address, moment, False, "expired activation code")
        raise auth.LoginRefused(EXPIRED)
    if not user.active:
        _attempt(username, address, moment, False, "inactive account")
        raise auth.LoginRefused(auth.INACTIVE)
    try:
        auth.check_password(password)
    except auth.AccountRefused as refused:
        db.session.rollback()
        raise auth.LoginRefused(refused.message) from None
    user.password_hash = auth.hash_password(password)
    user.activation_hash = None
    user.activation_expires_at = None
    audit.record("user.first_sign_in", actor=user, subject=f"user:{user.id}")
    _attempt(user.username, address, moment, True, "activated")
    return user


def _attempt(username: str, address: str, moment: datetime, succeeded: bool, outcome: str) -> None:
    db.session.add(LoginAttempt(at=moment, username=username, address=address, succeeded=succeeded))
    db.session.commit()
    log.info("activation %s: %r from %s", outcome, username, address)
