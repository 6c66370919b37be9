"""``flask ime``: the kiosk's input engines from the command line."""

import json
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from ..instance import FOLDER_MODE
from . import binding, deploy, lexicon, rime
from .handwriting import HandwritingUnavailable, InkRefused, engine, read_ink


@click.group("ime")
def ime():
    """Input engines: pinyin (Rime) and handwriting (zinnia)."""


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


@ime.command("handwriting")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--limit", default=8, show_default=True, type=click.IntRange(1, 20), help="candidates per file")
@click.option("--context", default="", help="what was written before the character")
@with_appcontext
def handwriting(files, limit, context):
    """Read each FILE ({"width": W, "height": H, "strokes": [[[x, y], ...], ...]}, y down)
    and print its name, a tab, and the candidates best first."""
    try:
        recogniser = engine(current_app.instance_path)
    except HandwritingUnavailable as error:
        raise click.ClickException(f"handwriting cannot run here: {error}")
    failed = False
    for path in files:
        try:
            ink = read_ink(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            click.echo(f"{path}: cannot be read: {error}", err=True)
            failed = True
            continue
        except InkRefused as refusal:
            click.echo(f"{path}: {refusal.message}", err=True)
            failed = True
            continue
        click.echo(f"{path}\t{' '.join(recogniser.recognise(ink, context, limit))}")
    if failed:
        raise SystemExit(1)


@ime.command("lexicon")
@click.option("--rebuild", is_flag=True, help="make it again from the packaged sources")
@with_appcontext
def make_lexicon(rebuild):
    """Make the handwriting lexicon in the instance folder (done once at set-up)."""
    folder = Path(current_app.instance_path) / "ime"
    if rebuild:
        folder.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
        path = lexicon.build(folder / lexicon.LEXICON_FILE)
    else:
        path = lexicon.ensure(folder)
    click.echo(str(path))
