"""``flask demo load``."""

import click
from flask import current_app
from flask.cli import with_appcontext

from .services import load_demo


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
