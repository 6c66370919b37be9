"""``flask deputies``: the deputy directory at the hub, from the command line."""

import json
import os
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from ..clock import today
from ..extensions import db
from ..models import Deputy, Station, Township
from ..phone import posters
from ..phone import services as phone
from ..refusals import Refused
from . import duty_file, services, sheets


@click.group()
@with_appcontext
def deputies():
    """The deputy directory (hub only)."""
    if current_app.config["ROLE"] != "hub":
        raise click.ClickException("代表名册只在镇人大办（hub）管理；联络站的代表由同步带来。")


@deputies.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--photos", "photo_dir", type=click.Path(file_okay=False, path_type=Path), help="photos named 姓名.jpg or 姓名-手机后四位.jpg")
def import_deputies(file: Path, photo_dir: Path | None):
    """Add and update deputies from a CSV (UTF-8 or GB18030) or XLSX with Chinese headers."""
    try:
        data = file.read_bytes()
        folder = services.photo_files(photo_dir)
        result = services.import_file(data, folder)
    except (OSError, sheets.Unreadable) as error:
        db.session.rollback()
        click.echo(f"无法读取 {file}：{error}", err=True)
        sys.exit(1)
    for line in result.lines():
        click.echo(line)


@deputies.command("list")
@click.option("--station", "station_code", help="only the deputies attached to this station")
@click.option("--json", "as_json", is_flag=True, help="a JSON array")
def list_deputies(station_code: str | None, as_json: bool):
    """Every deputy (retired ones too), or a station's."""
    if station_code is not None and db.session.get(Station, station_code) is None:
        raise click.ClickException(f"没有编号为 {station_code} 的联络站。")
    townships = dict(db.session.execute(select(Township.id, Township.name)).all())
    rows = [services.as_json(d, townships) for d in services.listed(station_code)]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    for row in rows:
        flags = "（已离任）" if row["retired"] else ""
        click.echo(
            f"{row['id']}\t{row['name']}{flags}\t{row['township']}\t{row['level']}\t"
            f"{'、'.join(row['stations']) or '-'}\t{row['public_phone'] or '-'}"
        )


PIN_VARIABLE = "KIOSK_NEW_PIN"


def _new_pin() -> str:
    """Twice on a terminal (they must match), else from KIOSK_NEW_PIN; never an option others could read."""
    if sys.stdin.isatty():
        first = click.prompt("新的值班密码（4 到 6 位数字）", hide_input=True, default="", show_default=False)
        _check_pin(first)
        if click.prompt("再输入一次", hide_input=True, default="", show_default=False) != first:
            raise click.ClickException("两次输入的值班密码不一致，未改动。")
        return first
    pin = os.environ.get(PIN_VARIABLE)
    if pin is None:
        raise click.ClickException(f"没有终端可以输入值班密码：请用环境变量 {PIN_VARIABLE} 提供。")
    return _check_pin(pin)


def _check_pin(pin: str) -> str:
    try:
        return services.check_pin(pin)
    except services.DeputyRefused as refused:
        raise click.ClickException(refused.message + "未改动。")


@deputies.command("set-pin")
@click.argument("deputy_id", type=int)
def set_pin(deputy_id: int):
    """Set a deputy's duty PIN (asked twice, or KIOSK_NEW_PIN); their stations get its hash."""
    deputy = db.session.get(Deputy, deputy_id)
    if deputy is None:
        raise click.ClickException(f"没有编号为 {deputy_id} 的代表。")
    services.set_pin(None, deputy, _new_pin())
    click.echo(f"已设置代表“{deputy.name}”的值班密码；联络站下次同步后生效。")


@deputies.command("file")
@click.argument("deputy_id", type=int)
@click.option("--year", type=click.IntRange(2000, 2100), help="the calendar year, e.g. 2026")
@click.option("--term", is_flag=True, help="the term so far (本届累计), to the end of --year or of this year")
@click.option("--json", "as_json", is_flag=True, help="a JSON object of integers (ratings: their counts)")
def show_file(deputy_id: int, year: int | None, term: bool, as_json: bool):
    """A deputy's 履职档案 for one year or the term: duty, opinions, work, suggestions, answers, diary, ratings."""
    deputy = db.session.get(Deputy, deputy_id)
    if deputy is None:
        raise click.ClickException(f"没有编号为 {deputy_id} 的代表。")
    if year is None and not term:
        raise click.UsageError("请给出 --year YYYY 或 --term。")
    year = year or today().year
    period = duty_file.Period.term(year) if term else duty_file.Period.year(year)
    values = duty_file.deputy_figures(deputy, period)
    if as_json:
        click.echo(json.dumps(values, ensure_ascii=False, indent=1))
        return
    click.echo(f"{deputy.name} {period.label}履职档案")
    for key, value in values.items():
        if isinstance(value, dict):
            value = "，".join(f"{duty_file.RATING_LABELS[k]} {n}" for k, n in value.items())
        click.echo(f"{duty_file.LABELS.get(key, key)}\t{value}")


@deputies.command("qr")
@click.argument("deputy_id", type=int)
def show_qr(deputy_id: int):
    """The address of a deputy's QR code (their phone page): one line."""
    deputy = db.session.get(Deputy, deputy_id)
    if deputy is None:
        raise click.ClickException(f"没有编号为 {deputy_id} 的代表。")
    try:
        click.echo(posters.deputy_url(deputy))
    except posters.NoPublicAddress as refused:
        raise click.ClickException(refused.message)


@deputies.command("posters")
@click.option("--township", "township_name", help="every serving deputy and station of this township (name)")
@click.option("--deputy", "deputy_id", type=int, help="one deputy (id)")
@click.option("--station", "station_code", help="one station (code)")
@click.argument("out", type=click.Path(dir_okay=False, writable=True, path_type=Path))
def print_posters(township_name: str | None, deputy_id: int | None, station_code: str | None, out: Path):
    """A5 posters with the QR codes of phone pages (扫码给代表留言), one page each, as one PDF."""
    if sum(x is not None for x in (township_name, deputy_id, station_code)) != 1:
        raise click.UsageError("请给出 --township、--deputy 或 --station 之一（只能一个）。")
    try:
        targets = _poster_targets(township_name, deputy_id, station_code)
        data = posters.posters_pdf(targets)
    except Refused as refused:
        raise click.ClickException(refused.message)
    out.write_bytes(data)
    click.echo(f"{len(targets)} posters written to {out}")


def _poster_targets(township_name, deputy_id, station_code) -> list:
    if township_name is not None:
        township = db.session.scalar(select(Township).where(Township.name == township_name))
        if township is None:
            raise Refused(f"没有名为“{township_name}”的镇街。")
        return posters.township_targets(township.id)
    if deputy_id is not None:
        deputy = db.session.get(Deputy, deputy_id)
        target = phone.deputy_target(deputy.public_id) if deputy is not None else None
        if target is None:
            raise Refused(f"没有编号为 {deputy_id} 的在任代表。")
        return [target]
    target = phone.station_target(station_code)
    if target is None:
        raise Refused(f"没有代码为 {station_code} 的联络站（网上联络站没有海报）。")
    return [target]
