"""``flask demo load``."""

import click
from flask import current_app
from flask.cli import with_appcontext

from .history import load_history
from .services import load_demo, load_online_stations
from .work import load_work


@click.group()
def demo():
    """Demo data."""


@demo.command("load")
@click.option("--station", "station_code", help="Make this box the demo station with this code.")
@with_appcontext
def load(station_code):
    """Load the demo townships, stations, deputies and categories (safe to repeat)."""
    try:
        counts = load_demo(station_code, role=current_app.config["ROLE"])
    except ValueError as error:
        raise click.ClickException(str(error))
    click.echo(", ".join(f"{n} {what}" for what, n in counts.items()))


@demo.command("history")
@click.option("--year", default=2019, show_default=True, type=int, help="The year to make (a past one).")
@with_appcontext
def history(year):
    """Make a year of opinions and deputies' work at the hub with the Luoding report's figures (safe to repeat)."""
    if current_app.config["ROLE"] != "hub":
        raise click.ClickException("演示历史只在镇人大办（hub）生成。")
    try:
        counts = load_history(year)
        work = load_work(year)
    except ValueError as error:
        raise click.ClickException(str(error))
    click.echo(", ".join(f"{n} {what}" for what, n in counts.items()))
    click.echo(", ".join(f"{n} {what}" for what, n in work.items()))


@demo.command("online-stations")
@with_appcontext
def online_stations():
    """Give each demo township its online station, for phone opinions (hub only; safe to repeat)."""
    if current_app.config["ROLE"] != "hub":
        raise click.ClickException("网上联络站只在镇人大办（hub）登记。")
    click.echo(f"{load_online_stations()} online stations added")
