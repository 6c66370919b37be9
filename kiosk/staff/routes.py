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

from ..auth.scope import opinion_by_number, opinion_or_404, staff_required, township_or_404
from ..extensions import db
from .. import htmx
from ..htmx import is_fragment_request, render
from ..localtime import format_local
from ..models import Assignment, Category, Department, Opinion, RatingSource, Satisfaction, Station, Topic, Township
from ..parsing import bounded_int
from ..receipts import slips
from ..stats.exports import may_see_contacts
from . import bp, bulk as bulk_actions, find, forms, history, queue, services
from .queue import QueueFilters

@bp.app_template_filter("local_format")
def local_format(moment, pattern: str = "%Y-%m-%d %H:%M") -> str:
    """A UTC datetime in local time, as ``pattern`` says; empty for None."""
    return format_local(moment, pattern) if moment else ""


# --- choices for the selects -----------------------------------------------------------------


def _stations(user) -> list[Station]:
    query = select(Station).order_by(Station.township_id, Station.code)
    if not user.is_city:
        query = query.where(Station.township_id == user.township_id)
    return list(db.session.scalars(query))


def _categories() -> list[Category]:
    return list(db.session.scalars(select(Category).order_by(Category.position, Category.code)))


def _departments() -> list[Department]:
    """The active departments in the order the set-up page lists them (the order added)."""
    return list(db.session.scalars(select(Department).where(Department.active.is_(True)).order_by(Department.id)))


def _topics(user, township_id=None) -> list[Topic]:
    """Open topics of the township (or all the user may see) and the city-wide ones."""
    query = select(Topic).where(Topic.closed_at.is_(None)).order_by(Topic.created_at.desc())
    township_id = township_id if township_id is not None else (None if user.is_city else user.township_id)
    if township_id is not None:
        query = query.where((Topic.township_id == township_id) | Topic.township_id.is_(None))
    return list(db.session.scalars(query))


def _department_choices():
    return forms.choices([("", "请选择承办部门")] + [(str(d.id), d.name) for d in _departments()])


# --- the queue -------------------------------------------------------------------------------


def _queue_context(filters: QueueFilters, after=None, **extra) -> dict:
    user = current_user
    today = services.today()
    bulk_form = extra.pop("bulk_form", None) or forms.BulkForm(formdata=None)
    bulk_form.department.choices = _department_choices()
    results = queue.page(user, filters, after)
    return {
        "filters": filters,
        "after": after,
        "results": results,
        "overdue_rows": queue.overdue_uuids(results.rows, today),
        "counts": queue.status_counts(user, filters),
        "overdue": queue.overdue_count(user, filters, today),
        "extensions": queue.extension_count(user, filters),
        "today": today,
        "statuses": queue.STATUS_CHOICES,
        "orders": queue.ORDERS,
        "townships": list(db.session.scalars(select(Township).order_by(Township.id))) if user.is_city else [],
        "stations": _stations(user),
        "categories": _categories(),
        "topics": _topics(user),
        "bulk_form": bulk_form,
        **extra,
    }


# The endpoint is "staff.queue" (the menu links it); the function has
# another name so that it does not hide the queue module.
@bp.get("/", endpoint="queue")
@staff_required()
def queue_page():
    """The queue: filters, counts per status, one page of opinions.

    Opened without a query it shows today's work: open opinions, most
    urgent first; every link from it names its status, "all" included.
    """
    filters = QueueFilters.from_args(request.args) if request.args else QueueFilters.opening()
    if filters.township_id is not None:
        township_or_404(current_user, filters.township_id)
    context = _queue_context(filters, request.args.get("after"))
    return render("staff/queue.html", "staff/_queue_results.html", **context)


@bp.post("/bulk")
@staff_required()
def bulk():
    """Accept or forward the ticked opinions; say how many and which were skipped, and why."""
    filters = QueueFilters.from_args(request.args)
    form = forms.BulkForm()
    form.department.choices = _department_choices()
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

# Per action: its form, how to fill its choices, and where its URL ends.
ACTION_FORMS = {
    "accept": (forms.AcceptForm, "accept"),
    "forward": (forms.ForwardForm, "forward"),
    "return_assignment": (forms.ReturnForm, "return"),
    "withdraw_assignment": (forms.WithdrawForm, "withdraw"),
    "request_extension": (forms.ExtensionRequestForm, "extension"),
    "decide_extension": (forms.ExtensionDecisionForm, "extension-decision"),
    "remind": (forms.RemindForm, "remind"),
    "record_reply": (forms.ReplyForm, "reply"),
    "close": (forms.CloseForm, "close"),
    "decline": (forms.DeclineForm, "decline"),
    "merge": (forms.MergeForm, "merge"),
    "set_key_supervision": (forms.KeySupervisionForm, "key-supervision"),
    "attach_topic": (forms.TopicForm, "topic"),
    "replace_receipt": (forms.ReplaceReceiptForm, "replacement-receipt"),
    "record_rating": (forms.RatingForm, "follow-up"),
}


def _action_form(name: str, opinion: Opinion, bound: bool = False):
    form_class, _ = ACTION_FORMS[name]
    form = form_class(prefix=name) if bound else form_class(prefix=name, formdata=None)
    if name == "forward":
        form.department.choices = _department_choices()
    elif name == "attach_topic":
        topics = _topics(current_user, opinion.township_id)
        form.topic.choices = forms.choices([
            ("", "不归入专题"),
            *[(str(t.id), t.title + ("（全市）" if t.township_id is None else "")) for t in topics],
            ("new", "新建专题……"),
        ])
        if not bound:
            form.topic.data = str(opinion.topic_id or "")
    elif name == "set_key_supervision" and not bound:
        form.on.data = "0" if opinion.key_supervision else "1"
    return form


def _opinion_context(opinion: Opinion, failed: tuple[str, object] | None = None, slip_contacts: bool = False) -> dict:
    actions = services.allowed_actions(current_user, opinion)
    action_forms = {name: _action_form(name, opinion) for name in actions if name in ACTION_FORMS}
    if failed is not None:
        action_forms[failed[0]] = failed[1]
    assignments = list(
        db.session.scalars(
            select(Assignment).where(Assignment.opinion_uuid == opinion.uuid).order_by(Assignment.forwarded_at)
        )
    )
    return {
        "opinion": opinion,
        "actions": action_forms,
        "action_paths": {name: path for name, (_, path) in ACTION_FORMS.items()},
        "current_assignment": services.active_assignment(opinion),
        "assignments": assignments,
        "history": history.history(opinion),
        "duplicates": history.duplicates_of(opinion),
        "overdue": services.is_overdue(opinion, services.today()),
        "show_contact": may_see_contacts(current_user),
        "slip_contacts": slip_contacts,
        "slip_contacts_label": forms.SLIP_CONTACTS_LABEL,
        "satisfaction": Satisfaction(opinion.satisfaction).label if opinion.satisfaction else None,
        "assignment_states": history.ASSIGNMENT_STATE_LABELS,
        "extension_states": history.EXTENSION_STATE_LABELS,
    }


@bp.get("/opinions/<uuid>")
@staff_required()
def opinion(uuid):
    """Everything about one opinion, its history, and a form per allowed action."""
    found = opinion_or_404(current_user, uuid)
    context = _opinion_context(found, slip_contacts=request.args.get("slip_contacts") == "1")
    return render("staff/opinion.html", "staff/_opinion.html", **context)


class Unconfirmed(services.ActionRefused):
    """An irreversible action sent without its confirmation box ticked."""


# What each irreversible action is called in the message asking to confirm it.
CONFIRMED_ACTIONS = {"close": "办结", "decline": "不予受理", "merge": "合并", "replace_receipt": "补打回执"}


def _confirmed(name: str, form, actor, opinion: Opinion) -> None:
    """Refuse ``name`` unless its confirmation box is ticked (works without JavaScript).

    An action not allowed now is left to the service, whose reason says more.
    """
    if name in CONFIRMED_ACTIONS and not form.confirm.data and name in services.allowed_actions(actor, opinion):
        raise Unconfirmed(f"请先勾选“{form.confirm.label.text}”，再{CONFIRMED_ACTIONS[name]}。")


def _perform(name: str, actor, opinion: Opinion, form) -> str:
    """Call the service behind action ``name``; the flash message on success."""
    if isinstance(form, forms.AssignmentForm):
        assignment_id = bounded_int(form.assignment.data)
        assignment = db.session.get(Assignment, assignment_id) if assignment_id else None
        if assignment is None or assignment.opinion_uuid != opinion.uuid:
            raise services.ActionRefused("找不到这次交办，请刷新页面。")
    if name != "merge":  # merge looks its original up first (a wrong number is the likelier mistake)
        _confirmed(name, form, actor, opinion)
    match name:
        case "accept":
            services.accept(actor, opinion, form.note.data)
            return "已受理。"
        case "forward":
            department = db.session.get(Department, bounded_int(form.department.data))
            made = services.forward(actor, opinion, department, form.due_on.data, form.instructions.data)
            return f"已转办{department.name}，答复期限 {made.due_on:%Y-%m-%d}。可打印交办单。"
        case "return_assignment":
            services.return_assignment(actor, assignment, form.reason.data)
            return "已回退，请重新转办。"
        case "withdraw_assignment":
            services.withdraw_assignment(actor, assignment, form.reason.data)
            return "已撤回转办，可重新转办、办结、不予受理或合并。"
        case "request_extension":
            services.request_extension(actor, assignment, form.until.data, form.reason.data)
            return "已登记延期申请，待主席审批。"
        case "decide_extension":
            services.decide_extension(actor, assignment, form.decision.data == "approve")
            return "已同意延期。" if form.decision.data == "approve" else "已不同意延期。"
        case "remind":
            services.remind(actor, assignment, form.note.data)
            return "已催办。"
        case "record_reply":
            services.record_reply(actor, assignment, form.reply.data)
            return "已登记部门答复。"
        case "close":
            services.close(actor, opinion, form.public_reply.data)
            return "已办结，答复已公开。"
        case "decline":
            services.decline(actor, opinion, form.public_reason.data)
            return "已不予受理，理由已公开。"
        case "merge":
            original = opinion_by_number(actor, form.original.data)
            if original is None:
                raise services.ActionRefused(f"找不到回执编号为 {form.original.data} 的意见。")
            _confirmed(name, form, actor, opinion)
            services.merge(actor, opinion, original)
            return f"已合并到 {original.receipt_number}。"
        case "set_key_supervision":
            on = form.on.data == "1"
            services.set_key_supervision(actor, opinion, on)
            return "已设为重点督办。" if on else "已取消重点督办。"
        case "attach_topic":
            if form.topic.data == "new":
                topic = services.attach_new_topic(actor, opinion, form.new_title.data)
            else:
                topic = db.session.get(Topic, bounded_int(form.topic.data)) if form.topic.data else None
                services.attach_topic(actor, opinion, topic)
            return f"已归入专题“{topic.title}”。" if topic else "已移出专题。"
        case "replace_receipt":
            services.replace_receipt(actor, opinion)
            return "已生成新的验证码，原回执作废。请打印新回执交给群众。"
        case "record_rating":
            services.record_rating(
                opinion, form.value.data, form.comment.data, source=RatingSource.FOLLOW_UP, actor=actor
            )
            return "已登记回访结果。"
    raise LookupError(name)


def _act(name: str, uuid: str):
    """Validate the action's form, call the service, re-render: the one flow of every action."""
    found = opinion_or_404(current_user, uuid)
    form = _action_form(name, found, bound=True)
    if form.validate_on_submit():
        try:
            message = _perform(name, current_user, found, form)
        except Unconfirmed as refused:
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


for _name, (_, _path) in ACTION_FORMS.items():
    _register_action(_name, _path)


@bp.get("/opinions/<uuid>/receipt.pdf")
@staff_required()
def replacement_receipt(uuid):
    """The replacement receipt (new 验证码) as a PDF, to print for the person."""
    found = opinion_or_404(current_user, uuid)
    if not found.replacement_secret:
        abort(404)
    return _pdf(slips.replacement_receipt_pdf(current_user, found), f"{found.receipt_number}.pdf")


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
        [("", "全部联络站")] + [(s.code, f"{s.name}（{s.code}）") for s in _stations(current_user)]
    )
    form.category.choices = forms.choices([("", "全部类别")] + [(c.code, c.name) for c in _categories()])
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
