"""``flask ime``: the station's input engines from the command line, the very
ones the kiosk uses.

    flask --app wsgi ime handwriting FILE... [--limit N] [--context TEXT]
    flask --app wsgi ime lexicon [--rebuild]
"""

import json
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from ..instance import FOLDER_MODE
from . import lexicon
from .handwriting import HandwritingUnavailable, InkRefused, engine, read_ink


@click.group("ime")
def ime():
    """The station's input engines (handwriting)."""


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
