"""``flask users``: staff accounts at the hub, from the command line.

No account ships with the software; the first city account is made here.
Passwords are asked twice on a terminal, or read from ``KIOSK_NEW_PASSWORD``
when there is none (scripts, set-up tools); never from a command-line
option, which other users of the machine could read.
"""

import os
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from ..clock import format_local
from ..desk import accounts, slips
from ..models import Role
from . import services

PASSWORD_VARIABLE = "KIOSK_NEW_PASSWORD"
NOTE = "command line"


HUB_ONLY = "账号只在镇人大办（hub）管理；本机是联络站，没有工作人员账号。"


@click.group()
@with_appcontext
def users():
    """Staff accounts of the township office (hub only)."""
    if current_app.config["ROLE"] != "hub":
        raise click.ClickException(HUB_ONLY)


@click.command(
    "users", hidden=True, add_help_option=False,
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
)
def users_at_station():
    """Registered at a station in place of ``users``: unlisted, it only says where accounts live."""
    raise click.ClickException(HUB_ONLY)


def _new_password() -> str:
    """Twice on a terminal (they must match), else from KIOSK_NEW_PASSWORD."""
    if sys.stdin.isatty():
        first = click.prompt("新密码", hide_input=True, default="", show_default=False)
        _check(first)
        second = click.prompt("再输入一次", hide_input=True, default="", show_default=False)
        if first != second:
            raise click.ClickException("两次输入的密码不一致，账号未改动。")
        return first
    password = os.environ.get(PASSWORD_VARIABLE)
    if password is None:
        raise click.ClickException(f"没有终端可以输入密码：请用环境变量 {PASSWORD_VARIABLE} 提供密码。")
    _check(password)
    return password


def _check(password: str) -> None:
    try:
        services.check_password(password)
    except services.AccountRefused as refused:
        raise click.ClickException(refused.message + "账号未改动。")


@users.command("add")
@click.option("--username", required=True, help="2-40 letters, digits, . _ -")
@click.option("--role", required=True, type=click.Choice([role.value for role in Role]))
@click.option("--township", help="the township's Chinese name, e.g. 罗城街道 (chair and township roles)")
@click.option("--deputy", "deputy_id", type=int, help="the deputy's id (`deputies list`): deputy role only")
@click.option("--display-name", help="the name shown on the pages, e.g. 张敏")
@with_appcontext
def add(username, role, township, deputy_id, display_name):
    """Make an account; asks for its password (a deputy's gets an activation code instead)."""
    if role == Role.DEPUTY:
        if deputy_id is None:
            raise click.ClickException("代表账号须指定代表编号（--deputy，见 `flask deputies list`）。")
        if township:
            raise click.ClickException("代表账号的镇街随代表而定，请不要指定 --township。")
        issued = _refuse(accounts.create_deputy_account, username, deputy_id, display_name, note=NOTE)
        click.echo(f"已开设代表账号 {issued.username}（{issued.deputy_name}）。")
        click.echo(f"激活码：{accounts.formatted(issued.code)}（{issued.expires_on}前有效，只显示这一次）")
        return
    if deputy_id is not None:
        raise click.ClickException("--deputy 只用于代表账号（--role deputy）。")
    # The cheap checks first, so nobody types a password for a refused account.
    _refuse(services.validate_new_account, username, role, township, display_name)
    password = _new_password()
    user = _refuse(services.create_user, username, password, role, township, display_name, note=NOTE)
    where = f"，{user.township.name}" if user.township else ""
    click.echo(f"已开设账号 {user.username}（{Role(user.role).label}{where}）。")


@users.command("list")
@with_appcontext
def list_users():
    """Every account: role, township, active or not."""
    rows = services.list_users()
    if not rows:
        click.echo("还没有账号。用 `flask users add` 开设第一个市人大常委会账号。")
        return
    click.echo(f"{'username':<20} {'role':<9} {'state':<6} {'created':<17} {'township':<10} display name")
    for user in rows:
        state = "启用" if user.active else "停用"
        township = user.township.name if user.township else "全市"
        click.echo(
            f"{user.username:<20} {user.role:<9} {state:<6} {format_local(user.created_at):<17} "
            f"{township:<10} {user.display_name or ''}"
        )


@users.command("deactivate")
@click.argument("username")
@with_appcontext
def deactivate(username):
    """Stop an account from signing in; its open sessions end at once."""
    _refuse(services.set_active, username, False, note=NOTE)
    click.echo(f"已停用账号 {username}，其登录已全部结束。")


@users.command("activate")
@click.argument("username")
@with_appcontext
def activate(username):
    """Let a deactivated account sign in again."""
    _refuse(services.set_active, username, True, note=NOTE)
    click.echo(f"已恢复账号 {username}。")


@users.command("set-password")
@click.argument("username")
@with_appcontext
def set_password(username):
    """A new password for an account (asked twice, or KIOSK_NEW_PASSWORD); its sessions end."""
    _refuse(services.find_user, username)
    password = _new_password()
    _refuse(services.set_password, username, password, note=NOTE)
    click.echo(f"已为 {username} 设置新密码，该账号需重新登录。")


@users.command("add-deputies")
@click.option("--township", required=True, help="the township's Chinese name, e.g. 罗城街道")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def add_deputies(township, out: Path):
    """An account for every deputy of the township who has none, and their activation slips (PDF)."""
    base = slips.hub_address()
    if not base:
        raise click.ClickException(slips.NO_ADDRESS)
    if out.exists() and out.is_dir():
        raise click.ClickException(f"{out} 是文件夹，请给出 PDF 文件名。")
    if not out.parent.exists():
        raise click.ClickException(f"文件夹 {out.parent} 不存在。")
    issued = _refuse(accounts.add_township_deputies, township, note=NOTE)
    if not issued:
        click.echo(f"{township}的代表都已有账号，没有新开设。")
        return
    try:
        out.write_bytes(slips.slips_pdf(issued, township, base))
    except OSError as error:
        # The accounts stand; their codes are lost with the slips: issue new ones.
        raise click.ClickException(f"无法写入 {out}：{error}。账号已开设，请用 `flask users reissue-code` 重新发放激活码。")
    click.echo(f"已为{township}的 {len(issued)} 位代表开设账号，激活单已写入 {out}。")


@users.command("reissue-code")
@click.argument("username")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="also write the slip as a PDF")
@with_appcontext
def reissue_code(username, out: Path | None):
    """A new activation code for a deputy's account not yet activated; the old one stops working."""
    user = _refuse(services.find_user, username)
    issued = _refuse(accounts.reissue_code, user, note=NOTE)
    click.echo(f"新的激活码：{accounts.formatted(issued.code)}（{issued.expires_on}前有效，原激活码已失效）")
    if out is not None:
        base = slips.hub_address()
        if not base:
            raise click.ClickException(slips.NO_ADDRESS)
        out.write_bytes(slips.slips_pdf([issued], user.township.name, base))
        click.echo(f"激活单已写入 {out}。")


def _refuse(action, *args, **kwargs):
    """Run a service; its refusal becomes a clear message and a non-zero exit."""
    try:
        return action(*args, **kwargs)
    except services.AccountRefused as refused:
        raise click.ClickException(refused.message)
