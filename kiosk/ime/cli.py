"""``flask ime``: the kiosk's input engines from the command line."""

import click
from flask import current_app
from flask.cli import with_appcontext

from . import binding, deploy, rime


@click.group("ime")
def ime():
    """Input engines: pinyin (Rime)."""


@ime.command("deploy")
@with_appcontext
def deploy_command():
    """Build the Rime data into the instance folder now (set-up runs this once)."""
    try:
        staging = deploy.ensure(rime.rime_folder(current_app))
    except deploy.DeployFailed as error:
        raise click.ClickException(str(error))
    click.echo(f"Rime data ready in {staging}")


@ime.command("candidates")
@click.argument("letters", nargs=-1, required=True)
@click.option("--limit", default=8, show_default=True, type=click.IntRange(1, 100))
@click.option("--context", default="", help="the text written just before")
@with_appcontext
def candidates(letters: tuple[str, ...], limit: int, context: str):
    """For each LETTERS, the candidates best first, as the kiosk shows them."""
    try:
        engine = rime.engine(current_app)
    except (binding.RimeUnavailable, deploy.DeployFailed) as error:
        raise click.ClickException(str(error))
    failed = False
    for typed in letters:
        try:
            page = engine.candidates(typed, context, limit, key="cli")
        except rime.BadLetters:
            click.echo(f"{typed}\t", nl=True)
            click.echo(f"{typed}: {rime.BadLetters.message}（a-z 和 '）", err=True)
            failed = True
            continue
        click.echo(f"{typed}\t{' '.join(page.candidates)}")
    if failed:
        raise SystemExit(1)
