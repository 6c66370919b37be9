"""The township office's queue, the opinion page and its actions.

Every opinion is fetched through ``kiosk.auth.scope`` (another township's
is a 404 with an audit row); every change goes through ``services``, whose
refusals (``ActionRefused``) are shown in the form that asked, with nothing
changed.
"""

from urllib.parse import quote

from flask import abort, flash, make_response, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from .. import clock, htmx
from ..auth.scope import may_see_contacts, opinion_or_404, staff_required, township_or_404
from ..duty.services import entered_by
from ..extensions import db
from ..htmx import is_fragment_request, render
from ..models import Assignment, Department, Opinion, Satisfaction, Township
from ..parsing import bounded_int
from ..receipts import slips
from .. import voice
from . import actions, bp, choices, find, forms, history, queue, services, transcripts
from . import bulk as bulk_actions
from ..desk import services as desk
from .queue import QueueFilters


# --- the queue -------------------------------------------------------------------------------


def _queue_context(filters: QueueFilters, after=None, **extra) -> dict:
    user = current_user
    today = clock.today()
    bulk_form = extra.pop("bulk_form", None) or forms.BulkForm(formdata=None)
    bulk_form.department.choices = choices.department_choices(user.township_id)
    results = queue.page(user, filters, after)
    return {
        "filters": filters,
        "after": after,
        "results": results,
        "overdue_rows": queue.overdue_uuids(results.rows, today),
        # Opinions a deputy asked the office to take up (kiosk.desk): marked in the row.
        "noted_rows": desk.noted_uuids([row.uuid for row in results.rows]),
        "counts": queue.status_counts(user, filters),
        "overdue": queue.overdue_count(user, filters, today),
        "extensions": queue.extension_count(user, filters),
        "today": today,
        "statuses": queue.STATUS_CHOICES,
        "orders": queue.ORDERS,
        "townships": list(db.session.scalars(select(Township).order_by(Township.id))) if user.is_city else [],
        "stations": choices.stations(user),
        "categories": choices.categories(),
        "deputies": choices.deputies(user, filters.township_id),
        "topics": choices.topics(user),
        "bulk_form": bulk_form,
        "phone_search": may_see_contacts(user),
        "may_process": services.may_process(user),
        "city_supervises": services.CITY_SUPERVISES,
        **extra,
    }


# The endpoint is "staff.queue" (the menu links it); the function has
# another name so that it does not hide the queue module.
@bp.route("/", methods=["GET", "POST"], endpoint="queue")
@staff_required()
def queue_page():
    """The queue: filters, counts per status, one page of opinions.

    Opened without a query it shows today's work: open opinions, most
    urgent first; every link from it names its status, "all" included.
    A search by phone number comes by POST (never in a URL or a log line),
    matches only for those who may see contacts, and writes a "find" audit
    row with the number masked, as 找回执 does.
    """
    if request.method == "POST":
        filters = QueueFilters.from_args(request.form, by_post=True)
    else:
        filters = QueueFilters.from_args(request.args) if request.args else QueueFilters.opening()
    if filters.township_id is not None:
        township_or_404(current_user, filters.township_id)
    context = _queue_context(filters, request.args.get("after"))
    if filters.by_post and filters.phone_digits and may_see_contacts(current_user):
        find.record_find(current_user, filters.station_code, None, filters.category, " ".join(filters.phone_digits),
                         len(context["results"].rows), note="意见队列按电话查找")  # fmt: skip
    return render("staff/queue.html", "staff/_queue_results.html", **context)


@bp.post("/bulk")
@staff_required()
def bulk():
    """Accept or forward the ticked opinions; say how many and which were skipped, and why."""
    filters = QueueFilters.from_args(request.args)
    form = forms.BulkForm()
    form.department.choices = choices.department_choices(current_user.township_id)
    ticked = request.form.getlist("uuid")
    result = None
    if form.validate_on_submit():
        actor = current_user._get_current_object()
        if form.action.data == "accept":
            result = bulk_actions.apply_bulk(actor, ticked, lambda o: services.accept(actor, o))
        else:
            department = db.session.get(Department, bounded_int(form.department.data))
            result = bulk_actions.apply_bulk(
                actor, ticked, lambda o: services.forward(actor, o, department, due_on=form.due_on.data)
            )
    if result is not None and not is_fragment_request():
        _flash_bulk(form, result)
        return htmx.vary(redirect(url_for("staff.queue", **filters.to_args())))
    # A mistake in the form: shown with the rows still ticked and the choices kept.
    context = _queue_context(filters, bulk_form=form, bulk_result=result, ticked=set(ticked) if result is None else set())
    return render("staff/queue.html", "staff/_queue_results.html", **context)


def _flash_bulk(form, result) -> None:
    flash(_bulk_summary(form.action.data, result), "success" if result.done else "error")


def _bulk_summary(action: str, result: bulk_actions.BulkResult) -> str:
    verb = "受理" if action == "accept" else "转办"
    text = f"已{verb} {result.done} 条。"
    if result.items:
        text = f"已{verb} {result.done} 条：{'、'.join(item.receipt_number for item in result.items)}。"
    if result.skipped:
        reasons = "；".join(f"{number or '—'}：{why}" for number, why in result.skipped)
        text += f"跳过 {len(result.skipped)} 条：{reasons}"
    elif result.done == 0:
        text = "请先勾选要处理的意见。"
    return text


# --- the opinion page --------------------------------------------------------------------------


def _opinion_context(opinion: Opinion, failed: tuple[str, object] | None = None, slip_contacts: bool = False) -> dict:
    allowed = services.allowed_actions(current_user, opinion)
    action_forms = {name: actions.form_for(name, current_user, opinion) for name in allowed}
    if failed is not None:
        action_forms[failed[0]] = failed[1]
    assignments = list(
        db.session.scalars(
            select(Assignment).where(Assignment.opinion_uuid == opinion.uuid).order_by(Assignment.forwarded_at)
        )
    )
    first = actions.next_step(opinion.status, allowed)
    return {
        "opinion": opinion,
        "entered_by": entered_by(opinion.uuid),
        "actions": action_forms,
        "next_step": first,
        "more_actions": [name for name in action_forms if name != first],
        # A refused action folded under 更多操作 comes back unfolded, its message in view.
        "more_open": failed is not None and failed[0] != first,
        "supervises_only": not services.may_process(current_user),
        "city_supervises": services.CITY_SUPERVISES,
        "action_titles": {name: spec.title for name, spec in actions.ACTIONS.items()},
        "current_assignment": services.active_assignment(opinion),
        "assignments": assignments,
        "history": history.history(opinion),
        "desk_notes": desk.notes_of(opinion),
        "attachment": desk.attachment_of(opinion) if opinion.is_deputy_suggestion else None,
        "duplicates": history.duplicates_of(opinion),
        "overdue": services.is_overdue(opinion, services.today()),
        "show_contact": may_see_contacts(current_user),
        "slip_contacts": slip_contacts,
        "slip_contacts_label": forms.SLIP_CONTACTS_LABEL,
        "satisfaction": Satisfaction(opinion.satisfaction).label if opinion.satisfaction else None,
        "assignment_states": history.ASSIGNMENT_STATE_LABELS,
        "extension_states": history.EXTENSION_STATE_LABELS,
        "transcript_form": forms.TranscriptForm(formdata=None, transcript=opinion.voice.transcript)
        if opinion.voice
        else None,
        "may_transcribe": services.may_process(current_user),
    }


@bp.get("/opinions/<uuid>")
@staff_required()
def opinion(uuid):
    """Everything about one opinion, its history, and a form per allowed action."""
    found = opinion_or_404(current_user, uuid)
    context = _opinion_context(found, slip_contacts=request.args.get("slip_contacts") == "1")
    return render("staff/opinion.html", "staff/_opinion.html", **context)


@bp.get("/opinions/<uuid>/attachment")
@staff_required()
def suggestion_attachment(uuid):
    """A 一键通 suggestion's attachment (image or PDF), for its township's office."""
    stored = desk.attachment_of(opinion_or_404(current_user, uuid))
    if stored is None:
        abort(404)
    response = make_response(stored.data)
    response.headers["Content-Type"] = stored.media_type
    response.headers["Content-Disposition"] = "inline"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _act(name: str, uuid: str):
    """Validate the action's form, call the service, re-render: the one flow of every action."""
    found = opinion_or_404(current_user, uuid)
    form = actions.form_for(name, current_user, found, bound=True)
    # An action the role never takes is refused before its fields are read: the reason, not "fill this in".
    role_refusal = services.refusal_for_role(current_user, actions.ACTIONS[name].action)
    if role_refusal:
        form.form_errors.append(role_refusal)
    elif form.validate_on_submit():
        try:
            message = actions.perform(name, current_user, found, form)
        except actions.Unconfirmed as refused:
            db.session.rollback()
            form.confirm.errors = [refused.message]
        except services.ActionRefused as refused:
            db.session.rollback()
            form.form_errors.append(refused.message)
        else:
            flash(message, "success")
            # 转办 with "print the contact details" ticked: the new slip's box comes ticked.
            slip_contacts = name == "forward" and bool(form.print_contacts.data)
            if not is_fragment_request():
                url = url_for("staff.opinion", uuid=found.uuid, **({"slip_contacts": 1} if slip_contacts else {}))
                return htmx.vary(redirect(url))
            context = _opinion_context(found, slip_contacts=slip_contacts)
            # The window back at its top: the menu, the message and the new status in view.
            return htmx.render_elsewhere("staff/_opinion.html", "#opinion", "outerHTML show:window:top", **context)
    context = _opinion_context(found, failed=(name, form))
    return render("staff/opinion.html", "staff/_action.html", name=name, form=form, **context)


def _register_action(name: str, path: str) -> None:
    @staff_required()
    def view(uuid):
        return _act(name, uuid)

    view.__doc__ = f"Action {name} on one opinion."
    bp.add_url_rule(f"/opinions/<uuid>/{path}", endpoint=name, view_func=view, methods=["POST"])


for _spec in actions.ACTIONS.values():
    _register_action(_spec.name, _spec.path)


@bp.get("/opinions/<uuid>/receipt.pdf")
@staff_required()
def replacement_receipt(uuid):
    """The replacement receipt (new 验证码) as a PDF, to print for the person."""
    found = opinion_or_404(current_user, uuid)
    if not found.replacement_secret:
        abort(404)
    return _pdf(slips.replacement_receipt_pdf(current_user, found), f"{found.receipt_number}.pdf")


@bp.get("/opinions/<uuid>/voice.webm")
@staff_required()
def play_voice(uuid):
    """The opinion's voice message (说话留言), once the hub holds all of it, to play on the page."""
    found = opinion_or_404(current_user, uuid)
    spoken = found.voice
    if spoken is None or spoken.confirmed_at is None or spoken.erased_at is not None:
        abort(404)
    response = make_response(spoken.data)
    response.mimetype = voice.MIME_TYPE
    # The constituent's own voice: never kept by a browser or a proxy.
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/opinions/<uuid>/transcript")
@staff_required()
def transcribe(uuid):
    """转写: save what the voice message says, so it is searched and exported like text."""
    found = opinion_or_404(current_user, uuid)
    form = forms.TranscriptForm()
    saved = False
    if form.validate_on_submit():
        try:
            saved = transcripts.transcribe(current_user, found, form.transcript.data)
        except transcripts.TranscriptRefused as refused:
            db.session.rollback()
            form.transcript.errors = [refused.message]
            context = {**_opinion_context(found), "transcript_form": form}
            return render("staff/opinion.html", "staff/_voice.html", **context)
    if not is_fragment_request():
        if saved:
            flash("转写已保存。", "success")
        return htmx.vary(redirect(url_for("staff.opinion", uuid=found.uuid)))
    return render("staff/opinion.html", "staff/_voice.html", transcript_saved=saved, **_opinion_context(found))


def _slip_contacts() -> bool:
    """Whether the slip should carry the constituent's name and phone: ticked (``?contacts=1``) and allowed."""
    return slips.prints_contacts(current_user, request.args.get("contacts") == "1")


@bp.get("/assignments/<int:assignment_id>/slip.pdf")
@staff_required()
def assignment_slip(assignment_id):
    """交办单: the assignment slip as an A4 PDF; contact details only when ticked."""
    assignment = db.session.get(Assignment, assignment_id) or abort(404)
    opinion_or_404(current_user, assignment.opinion_uuid)
    data = slips.slip_pdf(current_user, assignment, show_contact=_slip_contacts())
    return _pdf(data, f"交办单-{assignment_id}.pdf")


@bp.get("/assignments/<int:assignment_id>/slips.pdf")
@staff_required()
def assignment_slips(assignment_id):
    """The 交办单 of a bulk 转办 in one PDF, one slip per page: this one and each ``?and=<id>``."""
    ids = list(dict.fromkeys([assignment_id, *(n for n in map(bounded_int, request.args.getlist("and")[:200]) if n)]))
    found = list(db.session.scalars(select(Assignment).where(Assignment.id.in_(ids))))
    if assignment_id not in {a.id for a in found}:
        abort(404)
    for assignment in found:  # another township's slip among them: a 404 and an audit row
        opinion_or_404(current_user, assignment.opinion_uuid)
    found.sort(key=lambda a: ids.index(a.id))
    data = slips.slips_pdf(current_user, found, show_contact=_slip_contacts())
    return _pdf(data, f"交办单-{len(found)}份.pdf")


def _pdf(data: bytes, filename: str):
    response = make_response(data)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f"inline; filename*=UTF-8''{quote(filename)}"
    response.headers["Cache-Control"] = "no-store"
    return response


# --- a lost receipt --------------------------------------------------------------------------


@bp.route("/find", methods=["GET", "POST"])
@staff_required()
def find_receipt():
    """找回执: find an opinion by station, date, category or the phone number given.

    The phone number comes only in a POST body (with the CSRF token), never
    in the URL: not in the browser's history, a proxy's log or a login
    page's ``next=``. A GET may filter by station, date and category; a
    ``phone`` in its query string is ignored. Every POSTed search writes a
    "find" audit row with the phone number masked.
    """
    if request.method == "POST":
        form = forms.FindReceiptForm()
    else:
        args = MultiDict([(k, v) for k, v in request.args.items(multi=True) if k != "phone"])
        form = forms.FindReceiptForm(formdata=args, meta={"csrf": False})
    form.station.choices = forms.choices(
        [("", "全部联络站")] + [(s.code, f"{s.name}（{s.code}）") for s in choices.stations(current_user)]
    )
    form.category.choices = forms.choices([("", "全部类别")] + [(c.code, c.name) for c in choices.categories()])
    searched = request.method == "POST" or bool(form.station.data or form.day.raw_data or form.category.data)
    results = None
    if searched and form.validate():
        results = find.find_receipts(
            current_user, form.station.data, form.day.data, form.category.data, form.phone.data
        )
        if request.method == "POST":
            find.record_find(current_user, form.station.data, form.day.data, form.category.data,
                              form.phone.data, len(results))  # fmt: skip
    return render("staff/find.html", "staff/_find_results.html", form=form, results=results, searched=searched)
