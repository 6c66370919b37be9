"""The deputies' desk (hub, /desk): made for a phone first, a desk computer too."""

from functools import wraps

from flask import abort, current_app, flash, make_response, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, logout_user

from .. import htmx
from ..auth import services as auth
from ..auth.routes import begin_session, sign_in
from ..auth.scope import may_see_contacts
from ..edge import takes_files
from ..extensions import db
from ..models import Category, Role
from ..public.progress import progress
from ..refusals import Refused
from . import accounts, attachments, bp, services
from .forms import ActivateForm, AnswerForm, ButtonForm, DiaryForm, NoteForm, RateForm, SuggestionForm

UPLOAD_MAX = attachments.MAX_BYTES + 256 * 1024


def deputy_required(view):
    """Views for a signed-in deputy at the hub; staff accounts get a 403."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if current_app.config["ROLE"] != "hub":
            abort(404)
        if current_user.role != Role.DEPUTY or current_user.deputy_id is None:
            abort(403)
        # A deputy who left office (retired in the directory) answers no one as a deputy any more.
        if current_user.deputy.retired:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


@bp.after_request
def _no_store(response):
    # Contact details of constituents: no copy in the phone's cache once signed out.
    response.headers.setdefault("Cache-Control", "no-store")
    return response


@bp.context_processor
def _badge():
    if current_user.is_authenticated and current_user.role == Role.DEPUTY and current_user.deputy_id:
        # The account's display name is the deputy's (kiosk.desk.accounts): no query for the header.
        return {"desk_new": services.new_count(current_user), "desk_signed_in": True}
    return {}


# --- signing in -------------------------------------------------------------------


@bp.route("/login", methods=["GET", "POST"])
def login():
    """The deputies' sign-in page (the same accounts, throttling and sessions as staff)."""
    return sign_in("desk/login.html")


@bp.route("/activate", methods=["GET", "POST"])
def activate():
    """First sign-in: the activation code from the slip, and a password of the deputy's own."""
    form = ActivateForm()
    if request.method == "GET" and request.args.get("username"):
        form.username.data = request.args["username"][:40]
    status = 200
    if form.validate_on_submit():
        try:
            user = accounts.activate(form.username.data, form.code.data, form.password.data, request.remote_addr)
        except auth.LoginRefused as refused:
            form.form_errors.append(refused.message)
            status = 429 if refused.throttled and not htmx.is_htmx_request() else 200
        else:
            begin_session(user)
            flash("账号已激活，以后请用用户名和新密码登录。", "success")
            return redirect(url_for(".index"))
    return htmx.vary(make_response(render_template("desk/activate.html", form=form), status))


@bp.post("/logout")
def logout():
    """Sign out; back to the desk's sign-in page."""
    auth.end_session(session.get(auth.SESSION_KEY))
    logout_user()
    session.clear()
    flash("您已退出登录。", "success")
    return redirect(url_for(".login"))


# --- opinions addressed to the deputy ---------------------------------------------------


@bp.get("/")
@deputy_required
def index():
    """What is addressed to the deputy, newest first; what is new since the last visit marked."""
    page = services.desk_page(current_user, request.args.get("tab", "open"), request.args.get("after"))
    new_total = services.new_count(current_user)
    response = render_template("desk/index.html", page=page, tabs=services.TABS, new_total=new_total)
    services.mark_visited(current_user)
    return response


def _opinion_page(opinion, answer_form=None, note_form=None):
    return render_template(
        "desk/opinion.html",
        opinion=opinion,
        progress=progress(opinion),
        contacts=may_see_contacts(current_user, opinion),
        notes=services.notes_of(opinion),
        answer_form=answer_form or AnswerForm(formdata=None),
        note_form=note_form or NoteForm(formdata=None),
    )


@bp.get("/opinions/<uuid>")
@deputy_required
def opinion(uuid):
    """One opinion addressed to the deputy: what was said, by whom, how it goes."""
    return _opinion_page(services.opinion_for(current_user, uuid))


@bp.post("/opinions/<uuid>/answer")
@deputy_required
def answer(uuid):
    """代表答复: a public step on the status page; the status does not change."""
    opinion = services.opinion_for(current_user, uuid)
    form = AnswerForm()
    if form.validate_on_submit():
        try:
            services.answer(current_user, opinion, form.text.data)
        except Refused as refused:
            form.text.errors.append(refused.message)
        else:
            flash("答复已公开，群众扫回执二维码即可看到。", "success")
            return redirect(url_for(".opinion", uuid=opinion.uuid))
    return _opinion_page(opinion, answer_form=form)


@bp.post("/opinions/<uuid>/note")
@deputy_required
def ask_office(uuid):
    """提请办理: a note to the township office, shown in its queue."""
    opinion = services.opinion_for(current_user, uuid)
    form = NoteForm()
    if form.validate_on_submit():
        try:
            services.ask_office(current_user, opinion, form.text.data)
        except Refused as refused:
            form.text.errors.append(refused.message)
        else:
            flash("已提请镇人大办办理。", "success")
            return redirect(url_for(".opinion", uuid=opinion.uuid))
    return _opinion_page(opinion, note_form=form)


# --- 一键通 -------------------------------------------------------------------------


@bp.get("/suggestions")
@deputy_required
def suggestions():
    """The deputy's own 一键通 suggestions and how each goes."""
    return render_template("desk/suggestions.html", suggestions=services.suggestions_of(current_user))


def _suggestion_form() -> SuggestionForm:
    form = SuggestionForm()
    categories = db.session.scalars(db.select(Category).where(Category.active).order_by(Category.position)).all()
    form.category.choices = [("", "请选择")] + [(c.code, c.name) for c in categories]
    return form


@bp.route("/suggestions/new", methods=["GET", "POST"])
@deputy_required
@takes_files(UPLOAD_MAX, "attachment")
def new_suggestion():
    """一键通: a suggestion, criticism or opinion of the deputy's own, with an optional attachment."""
    form = _suggestion_form()
    if form.validate_on_submit():
        upload = form.attachment.data
        attachment = (upload.filename, upload.read()) if upload and getattr(upload, "filename", "") else None
        try:
            made = services.submit_suggestion(
                current_user, form.category.data, form.title.data, form.content.data, attachment
            )
        except Refused as refused:
            db.session.rollback()
            target = form._fields.get(refused.field or "")
            (target.errors if target is not None else form.form_errors).append(refused.message)
        else:
            flash(f"建议已提交，编号 {made.receipt_number}。", "success")
            return redirect(url_for(".suggestion", uuid=made.uuid))
    return render_template("desk/suggestion_form.html", form=form)


def _suggestion_page(opinion, rate_form=None):
    return render_template(
        "desk/suggestion.html",
        opinion=opinion,
        progress=progress(opinion),
        attachment=services.attachment_of(opinion),
        may_rate=services.may_rate(opinion),
        rate_form=rate_form or RateForm(formdata=None),
    )


@bp.get("/suggestions/<uuid>")
@deputy_required
def suggestion(uuid):
    """One of the deputy's suggestions: its status, history and answer."""
    return _suggestion_page(services.suggestion_for(current_user, uuid))


@bp.post("/suggestions/<uuid>/rate")
@deputy_required
def rate(uuid):
    """The deputy rates the answer to their suggestion; 不满意 reopens it."""
    opinion = services.suggestion_for(current_user, uuid)
    form = RateForm()
    if form.validate_on_submit():
        try:
            services.rate(current_user, opinion, form.value.data, form.comment.data)
        except Refused as refused:
            form.form_errors.append(refused.message)
        else:
            flash("评价已记录。", "success")
            return redirect(url_for(".suggestion", uuid=opinion.uuid))
    return _suggestion_page(opinion, rate_form=form)


@bp.get("/suggestions/<uuid>/attachment")
@deputy_required
def attachment(uuid):
    """The suggestion's attachment, as it was checked and kept."""
    stored = services.attachment_of(services.suggestion_for(current_user, uuid))
    if stored is None:
        abort(404)
    response = make_response(stored.data)
    response.headers["Content-Type"] = stored.media_type
    response.headers["Content-Disposition"] = "inline"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# --- 履职日记 -------------------------------------------------------------------------


@bp.route("/diary", methods=["GET", "POST"])
@deputy_required
def diary():
    """履职日记: short dated entries, private until published."""
    form = DiaryForm()
    if request.method == "GET":
        form.day.data = services.today()
    elif form.validate_on_submit():
        try:
            services.write_diary(current_user, form.day.data, form.text.data, form.publish.data)
        except Refused as refused:
            target = form._fields.get(refused.field or "")
            (target.errors if target is not None else form.form_errors).append(refused.message)
        else:
            flash("日记已保存" + ("并公开。" if form.publish.data else "（仅自己可见）。"), "success")
            return redirect(url_for(".diary"))
    return render_template("desk/diary.html", form=form, entries=services.diary_of(current_user), button=ButtonForm())


@bp.post("/diary/<int:entry_id>/publish")
@deputy_required
def publish_diary(entry_id):
    """Publish a private entry."""
    return _publish(entry_id, True)


@bp.post("/diary/<int:entry_id>/withdraw")
@deputy_required
def withdraw_diary(entry_id):
    """Withdraw a published entry: private again."""
    return _publish(entry_id, False)


def _publish(entry_id: int, publish: bool):
    entry = services.diary_entry_for(current_user, entry_id)
    if ButtonForm().validate_on_submit():
        try:
            services.publish_diary(current_user, entry, publish)
        except Refused as refused:
            flash(refused.message, "error")
        else:
            flash("已公开。" if publish else "已撤回，仅自己可见。", "success")
    return redirect(url_for(".diary"))
