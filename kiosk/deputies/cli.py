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
@click.option("--json", "as_json", is_flag=True, help="a JSON object of integers")
def show_file(deputy_id: int, year: int | None, term: bool, as_json: bool):
    """A deputy's 履职档案 for one year or the term: duty days, check-ins, people received, opinions, work."""
    deputy = db.session.get(Deputy, deputy_id)
    if deputy is None:
        raise click.ClickException(f"没有编号为 {deputy_id} 的代表。")
    if year is None and not term:
        raise click.UsageError("请给出 --year YYYY 或 --term。")
    year = year or today().year
    period = duty_file.Period.term(year) if term else duty_file.Period.year(year)
    values = {**duty_file.duty_figures([deputy.id], period).get(deputy.id, dict.fromkeys(duty_file.FIGURES, 0))}
    values.update(_work_figures(deputy, period))
    if as_json:
        click.echo(json.dumps(values, ensure_ascii=False, indent=1))
        return
    click.echo(f"{deputy.name} {period.label}履职档案")
    for key, value in values.items():
        click.echo(f"{duty_file.LABELS.get(key, key)}\t{value}")


def _work_figures(deputy: Deputy, period) -> dict[str, int]:
    """Activities attended, report-backs and topics tracked."""
    return duty_file.work(deputy, period)
