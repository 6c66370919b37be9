"""The public 履职档案 of a deputy: figures and the lists behind them, public facts only.

A partial (``deputies/_public_file.html``) rendered by ``public_file``: below
the opinion form of the deputy's public page (/d/<public_id>), and on a page
of its own (/d/<public_id>/file). Nothing a constituent wrote, no
name or phone of theirs, and no deputy's private mobile ever reaches it.
"""

from flask import abort, render_template, request, url_for
from markupsafe import Markup

from .. import clock
from ..extensions import db
from ..models import Deputy
from ..parsing import bounded_int
from ..deputies import duty_file
from . import public_bp


def deputy_by_public_id(public_id: str) -> Deputy:
    deputy = db.session.scalar(db.select(Deputy).where(Deputy.public_id == public_id)) if len(public_id) <= 16 else None
    if deputy is None:
        abort(404)
    return deputy


def public_file(deputy: Deputy, year: int | None = None, head: bool = True) -> Markup:
    """The file's partial for ``deputy``: the year's and the term's figures, the year's lists.
    ``head=False`` leaves out the photo and name, for a page that shows them already."""
    today = clock.today()
    year = year if year and 2000 <= year <= today.year else today.year
    return Markup(render_template(
        "deputies/_public_file.html", **duty_file.file_context(deputy, year), years=range(today.year, today.year - 6, -1),
        photo_src=url_for("deputies.photo", sha=deputy.photo) if deputy.photo else None, head=head,
    ))


@public_bp.get("/d/<public_id>/file")
def file(public_id):
    """A deputy's public 履职档案 (``?year=``)."""
    deputy = deputy_by_public_id(public_id)
    year = bounded_int(request.args.get("year"), 2000, 2100)
    return render_template("deputies/public_file.html", deputy=deputy, file=public_file(deputy, year))
