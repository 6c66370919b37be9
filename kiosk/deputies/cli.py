"""``flask deputies``: the deputy directory at the hub, from the command line."""

import json
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from ..extensions import db
from ..models import Station, Township
from . import services, sheets


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
