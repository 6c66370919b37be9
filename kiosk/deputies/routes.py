"""Deputies' photos (both roles) and the directory's staff pages (hub)."""

import re
from pathlib import Path

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms.fields.choices import SelectChoice

from ..auth.scope import can_see_township, staff_required, township_or_404, visible_township_ids
from ..desk import accounts, slips
from ..edge import takes_files
from ..extensions import db
from ..models import Deputy, DeputyPhoto, Township
from ..parsing import bounded_int
from ..refusals import Refused
from . import admin_bp, bp, photos, services, sheets
from .forms import DeputyForm, ImportForm, PinForm

SHA256 = re.compile(r"[0-9a-f]{64}")
# Named by their content: a photo at an address never changes.
FOREVER = "public, max-age=31536000, immutable"


@bp.get("/deputies/photos/<sha>.jpg")
def photo(sha):
    """A deputy's photo, by its SHA-256."""
    stored = db.session.get(DeputyPhoto, sha) if SHA256.fullmatch(sha) else None
    if stored is None:
        abort(404)
    response = make_response(stored.data)
    response.headers["Content-Type"] = "image/jpeg"
    response.headers["Cache-Control"] = FOREVER
    return response


# --- the directory's staff pages (hub) ----------------------------------------------

# A photo upload, and a spreadsheet with its photos: the largest requests each page takes.
PHOTO_REQUEST_MAX = photos.MAX_BYTES + 64 * 1024
IMPORT_REQUEST_MAX = 64 * 1024 * 1024
# City staff, and a township's staff and chair for their own township.
directory_staff = staff_required()


def _townships():
    """The townships the signed-in member of staff may manage deputies of."""
    ids = visible_township_ids(current_user)
    query = select(Township).order_by(Township.id)
    if ids is not None:
        query = query.where(Township.id.in_(ids))
    return db.session.scalars(query).all()


@admin_bp.get("/")
@directory_staff
def index():
    """The deputies of a township (township staff: their own), retired ones marked."""
    townships = _townships()
    chosen = bounded_int(request.args.get("township"))
    if chosen is not None:
        township_or_404(current_user, chosen)
    township_id = chosen if chosen is not None else townships[0].id
    deputies = db.session.scalars(
        select(Deputy)
        .where(Deputy.township_id == township_id)
        .options(selectinload(Deputy.stations))
        .order_by(Deputy.retired, Deputy.name, Deputy.id)
    ).all()
    return render_template(
        "deputies/admin_list.html", deputies=deputies, townships=townships, township_id=township_id
    )


def _deputy_form(deputy: Deputy | None, shown_only: bool = False) -> DeputyForm:
    """The deputy's form, from the request; ``shown_only``: as saved (another form was posted)."""
    form = DeputyForm(obj=deputy, **({"formdata": None} if shown_only else {}))
    form.township_id.choices = [SelectChoice(t.id, t.name) for t in _townships()]
    if deputy is not None and (shown_only or not form.is_submitted()):
        form.stations.data = "、".join(s.code for s in deputy.stations)
        form.sex.data = deputy.sex or ""
    return form


def _save(form: DeputyForm, deputy: Deputy | None) -> Deputy | None:
    """Check and save the form (photo included, in the same transaction); None with the refusal on the form."""
    if not form.validate_on_submit():
        return None
    try:
        township_or_404(current_user, form.township_id.data)
        stations = services.resolve_stations(form.stations.data)
        for station in stations:
            if not can_see_township(current_user, station.township_id):
                raise services.DeputyRefused(f"联络站 {station.code} 不属于本镇街。", "stations")
        values = {f: form[f].data for f in services.FIELDS if f not in ("photo",)}
        values["sex"] = values["sex"] or None
        upload = form.photo.data
        if upload and getattr(upload, "filename", ""):
            values["photo"] = photos.keep(upload.read())
        elif form.remove_photo.data:
            values["photo"] = None
        return services.save_deputy(current_user, deputy, stations=stations, **values)
    except Refused as refusal:  # the deputy's details, or the photo
        db.session.rollback()
        target = form._fields.get(refusal.field or "")
        (target.errors if target is not None else form.form_errors).append(refusal.message)
        return None


@admin_bp.route("/new", methods=["GET", "POST"])
@directory_staff
@takes_files(PHOTO_REQUEST_MAX, "photo")
def new():
    """Add a deputy."""
    form = _deputy_form(None)
    saved = _save(form, None)
    if saved is not None:
        flash(f"已添加代表“{saved.name}”。", "success")
        return redirect(url_for(".index", township=saved.township_id))
    return render_template("deputies/admin_form.html", form=form, deputy=None, title="添加代表")


@admin_bp.route("/<int:deputy_id>", methods=["GET", "POST"])
@directory_staff
@takes_files(PHOTO_REQUEST_MAX, "photo")
def edit(deputy_id):
    """Change a deputy: their details, photo, stations, or retire them."""
    deputy = db.get_or_404(Deputy, deputy_id)
    township_or_404(current_user, deputy.township_id)
    form = _deputy_form(deputy)
    if _save(form, deputy) is not None:
        flash(f"已保存代表“{deputy.name}”。", "success")
        return redirect(url_for(".index", township=deputy.township_id))
    return _edit_page(form, deputy, PinForm(formdata=None))


def _edit_page(form: DeputyForm, deputy: Deputy, pin_form: PinForm):
    return render_template(
        "deputies/admin_form.html",
        form=form,
        deputy=deputy,
        pin_form=pin_form,
        account=accounts.account_of(deputy),
        title=f"修改代表：{deputy.name}",
    )


@admin_bp.post("/<int:deputy_id>/account")
@directory_staff
def deputy_account(deputy_id):
    """Open the deputy's account (or issue a new activation code) and answer with the slip to hand over."""
    deputy = db.get_or_404(Deputy, deputy_id)
    township_or_404(current_user, deputy.township_id)
    account = accounts.account_of(deputy)
    try:
        if account is None:
            issued = accounts.create_deputy_account(accounts.default_username(deputy), deputy.id, actor=current_user)
        else:
            issued = accounts.reissue_code(account, actor=current_user)
    except Refused as refusal:
        db.session.rollback()
        flash(refusal.message, "error")
        return redirect(url_for(".edit", deputy_id=deputy.id))
    township = db.session.get(Township, deputy.township_id)
    response = make_response(slips.slips_pdf([issued], township.name, slips.hub_address()))
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'inline; filename="activation-{issued.username}.pdf"'
    return response


@admin_bp.post("/<int:deputy_id>/pin")
@directory_staff
def set_pin(deputy_id):
    """Set a deputy's duty PIN (typed twice); their stations get its hash with the next pull."""
    deputy = db.get_or_404(Deputy, deputy_id)
    township_or_404(current_user, deputy.township_id)
    pin_form = PinForm()
    if not pin_form.validate_on_submit():
        return _edit_page(_deputy_form(deputy, shown_only=True), deputy, pin_form)
    services.set_pin(current_user, deputy, pin_form.pin.data)
    flash(f"已设置代表“{deputy.name}”的值班密码，联络站下次同步后生效。", "success")
    return redirect(url_for(".edit", deputy_id=deputy.id))


@admin_bp.route("/import", methods=["GET", "POST"])
@directory_staff
@takes_files(IMPORT_REQUEST_MAX, "file", "photos")
def import_file():
    """Import the township office's spreadsheet (and photos): the same as ``deputies import``."""
    form = ImportForm()
    lines = None
    if form.validate_on_submit():
        folder = {Path(f.filename).stem.strip(): f.read() for f in form.photos.data or [] if getattr(f, "filename", "")}
        try:
            result = services.import_file(
                form.file.data.read(), folder, actor=current_user, township_ids=visible_township_ids(current_user)
            )
            lines = result.lines()
        except sheets.Unreadable as error:
            db.session.rollback()
            form.file.errors.append(f"无法读取这个文件：{error}")
    return render_template("deputies/admin_import.html", form=form, lines=lines)
