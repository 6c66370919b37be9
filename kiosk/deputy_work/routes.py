"""The deputies' work pages (代表履职): lists by year, a form for each record,
a page for each activity, topic and evaluation, and the city table of files.

Township staff see their own township's, city staff every township's (and
record nothing: they supervise). Another township's record is a 404 with an
audit row. Every write is a plain CSRF-protected form: on success a message
and the record's page, on a refusal the same form again (200) with the
reason at the field.
"""

from datetime import date

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms.fields.choices import SelectChoice

from .. import clock
from ..auth.scope import staff_required, township_or_404
from ..extensions import db
from ..models import (
    Activity,
    Deputy,
    Evaluation,
    EvaluationKind,
    ProfessionalGroup,
    ReportBack,
    Satisfaction,
    Station,
    Topic,
    TopicStatus,
    TrackingKind,
)
from ..parsing import bounded_int
from ..stats.routes import chosen_township, content_disposition
from ..deputies import duty_file
from . import bp, services
from .forms import (
    ActivityForm,
    EvaluationForm,
    FollowUpForm,
    GroupForm,
    LinkOpinionsForm,
    ReportBackForm,
    TopicEvaluationForm,
    TopicForm,
    TopicGroupForm,
    TrackingForm,
)

LABELS = {
    "status": {s.value: s.label for s in TopicStatus},
    "tracking": {k.value: k.label for k in TrackingKind},
    "evaluation": {k.value: k.label for k in EvaluationKind},
    "satisfaction": {s.value: s.label for s in Satisfaction},
}


def _year() -> int:
    """``?year=`` when it is a year with records possible, else this year."""
    year = bounded_int(request.args.get("year"), 2000, clock.today().year)
    return year or clock.today().year


def _refused(form, refusal: services.WorkRefused) -> None:
    field = form._fields.get(refusal.field or "")
    (field.errors if field is not None else form.form_errors).append(refusal.message)


def _own_township() -> int | None:
    """Where the user records: their own township (city staff record nowhere)."""
    return None if current_user.is_city else current_user.township_id


def _page(template: str, **context):
    return render_template(
        f"deputy_work/{template}", may_record=services.may_record(current_user), city_reads=services.CITY_READS,
        labels=LABELS, **context,
    )  # fmt: skip


def _township_deputies(township_id: int | None) -> list[SelectChoice]:
    if township_id is None:
        return []
    rows = db.session.execute(
        select(Deputy.id, Deputy.name).where(Deputy.township_id == township_id, Deputy.retired.is_(False)).order_by(Deputy.id)
    )
    return [SelectChoice(i, name) for i, name in rows]


# --- overview ----------------------------------------------------------------------------


@bp.get("/")
@staff_required()
def index():
    """The year's deputies' work in figures, with who has not reported back this term."""
    township_id = chosen_township(current_user, request.args)
    year = _year()
    figures = duty_file.work_totals(township_id, year)
    due = db.session.scalars(services.report_back_due(township_id).limit(200)).all()
    due_count = db.session.scalar(select(db.func.count()).select_from(services.report_back_due(township_id).subquery()))
    return _page("index.html", figures=figures, year=year, township_id=township_id, due=due, due_count=due_count)


# --- 联系群众活动 ----------------------------------------------------------------------


@bp.get("/activities")
@staff_required()
def activities():
    """The year's contact activities."""
    township_id = chosen_township(current_user, request.args)
    year = _year()
    query = services.scoped(select(Activity).join(Activity.station), Station.township_id, current_user, township_id)
    rows = db.session.scalars(
        query.where(Activity.held_on >= date(year, 1, 1), Activity.held_on < date(year + 1, 1, 1))
        .options(selectinload(Activity.deputies), selectinload(Activity.station))
        .order_by(Activity.held_on.desc(), Activity.created_at.desc())
    ).all()
    return _page("activities.html", activities=rows, year=year)


def _activity_form(form: ActivityForm) -> ActivityForm:
    township_id = _own_township()
    stations = db.session.scalars(
        select(Station).where(Station.township_id == township_id).order_by(Station.code)
    ).all() if township_id else []  # fmt: skip
    form.station.choices = [SelectChoice(s.code, f"{s.name}（{s.code}）") for s in stations]
    form.deputies.choices = _township_deputies(township_id)
    return form


@bp.route("/activities/new", methods=["GET", "POST"])
@staff_required()
def new_activity():
    """Record a contact activity."""
    form = _activity_form(ActivityForm(formdata=None if request.method == "GET" else request.form))
    if request.method == "GET":
        form.held_on.data = clock.today()
    elif form.validate_on_submit():
        try:
            station = db.session.get(Station, form.station.data)
            activity = services.record_activity(
                current_user, station, form.held_on.data, form.people.data, form.topics.data, form.deputies.data
            )
        except services.WorkRefused as refusal:
            _refused(form, refusal)
        else:
            flash(f"已登记 {activity.held_on:%Y年%m月%d日} 的联系群众活动。", "success")
            return redirect(url_for(".activity", activity_uuid=activity.uuid))
    return _page("activity_form.html", form=form)


def _activity_or_404(activity_uuid: str) -> Activity:
    activity = db.session.get(Activity, activity_uuid)
    if activity is None or activity.station is None:
        abort(404)
    township_or_404(current_user, activity.station.township_id)
    return activity


def _activity_page(activity: Activity, form=None):
    offered = services.offered_opinions(activity)
    linked = services.linked_opinions(activity)
    if form is None:
        form = LinkOpinionsForm(formdata=None, opinions=[o.uuid for o in linked])
    form.opinions.choices = [SelectChoice(o.uuid, f"{o.receipt_number} {o.content[:30]}") for o in offered]
    return _page("activity.html", activity=activity, linked=linked, form=form)


@bp.get("/activities/<activity_uuid>")
@staff_required()
def activity(activity_uuid):
    """One activity: who was there, what was discussed, the opinions gathered."""
    return _activity_page(_activity_or_404(activity_uuid))


@bp.post("/activities/<activity_uuid>/opinions")
@staff_required()
def link_opinions(activity_uuid):
    """Link the opinions left at the station that day to the activity."""
    activity = _activity_or_404(activity_uuid)
    form = LinkOpinionsForm()
    form.opinions.choices = [SelectChoice(o.uuid) for o in services.offered_opinions(activity)]
    if form.validate_on_submit():
        try:
            count = services.link_opinions(current_user, activity, form.opinions.data or [])
        except services.WorkRefused as refusal:
            _refused(form, refusal)
        else:
            flash(f"这场活动关联了 {count} 条意见。", "success")
            return redirect(url_for(".activity", activity_uuid=activity.uuid))
    return _activity_page(activity, form)


# --- 代表向选民述职 ----------------------------------------------------------------------


@bp.get("/report-backs")
@staff_required()
def report_backs():
    """The year's report-backs, with the term's count."""
    township_id = chosen_township(current_user, request.args)
    year = _year()
    query = services.scoped(select(ReportBack).join(ReportBack.deputy), Deputy.township_id, current_user, township_id)
    rows = db.session.scalars(
        query.where(ReportBack.held_on >= date(year, 1, 1), ReportBack.held_on < date(year + 1, 1, 1))
        .options(selectinload(ReportBack.deputy))
        .order_by(ReportBack.held_on.desc(), ReportBack.id.desc())
    ).all()
    return _page("report_backs.html", report_backs=rows, year=year)


@bp.route("/report-backs/new", methods=["GET", "POST"])
@staff_required()
def new_report_back():
    """Record a deputy's report-back to voters."""
    form = ReportBackForm(formdata=None if request.method == "GET" else request.form)
    form.deputy.choices = _township_deputies(_own_township())
    if request.method == "GET":
        form.held_on.data = clock.today()
        form.deputy.data = bounded_int(request.args.get("deputy"))
    elif form.validate_on_submit():
        try:
            deputy = db.session.get(Deputy, form.deputy.data)
            report = services.record_report_back(
                current_user, deputy, form.held_on.data, form.place.data, form.voters_present.data,
                form.satisfied.data, form.basic.data, form.unsatisfied.data, form.summary.data,
            )  # fmt: skip
        except services.WorkRefused as refusal:
            _refused(form, refusal)
        else:
            flash(f"已登记 {report.deputy.name} 代表 {report.held_on:%Y年%m月%d日} 的述职。", "success")
            return redirect(url_for(".report_backs", year=report.held_on.year))
    return _page("form.html", form=form, title="登记代表述职", action=url_for(".new_report_back"))


# --- 专业小组 ------------------------------------------------------------------------


@bp.get("/groups")
@staff_required()
def groups():
    """The professional groups and their members."""
    township_id = chosen_township(current_user, request.args)
    query = services.scoped(select(ProfessionalGroup), ProfessionalGroup.township_id, current_user, township_id)
    rows = db.session.scalars(
        query.options(selectinload(ProfessionalGroup.members), selectinload(ProfessionalGroup.township))
        .order_by(ProfessionalGroup.township_id, ProfessionalGroup.name)
    ).all()
    return _page("groups.html", groups=rows)


def _group_or_404(group_id: int) -> ProfessionalGroup:
    group = db.session.get(ProfessionalGroup, group_id)
    if group is None:
        abort(404)
    township_or_404(current_user, group.township_id)
    return group


def _save_group(group: ProfessionalGroup | None):
    township_id = group.township_id if group else _own_township()
    form = GroupForm(formdata=None if request.method == "GET" else request.form)
    form.members.choices = _township_deputies(township_id)
    if request.method == "GET" and group is not None:
        form.name.data, form.members.data = group.name, [d.id for d in group.members]
    elif request.method == "POST" and form.validate_on_submit():
        try:
            saved = services.save_group(current_user, township_id, form.name.data, form.members.data or [], group)
        except services.WorkRefused as refusal:
            _refused(form, refusal)
        else:
            flash(f"已保存专业小组“{saved.name}”（{len(saved.members)} 人）。", "success")
            return redirect(url_for(".groups"))
    action = url_for(".edit_group", group_id=group.id) if group else url_for(".new_group")
    return _page("form.html", form=form, title="专业小组", action=action)


@bp.route("/groups/new", methods=["GET", "POST"])
@staff_required()
def new_group():
    """Set up a professional group."""
    return _save_group(None)


@bp.route("/groups/<int:group_id>", methods=["GET", "POST"])
@staff_required()
def edit_group(group_id):
    """Rename a professional group or change its members."""
    return _save_group(_group_or_404(group_id))


# --- 三议一评 topics -----------------------------------------------------------------


@bp.get("/topics")
@staff_required()
def topics():
    """The year's topics (from the government's work report) and where each is."""
    township_id = chosen_township(current_user, request.args)
    year = _year()
    query = services.scoped(select(Topic), Topic.township_id, current_user, township_id)
    rows = db.session.scalars(
        query.where(Topic.year == year).options(selectinload(Topic.group), selectinload(Topic.township)).order_by(Topic.id)
    ).all()
    return _page("topics.html", topics=rows, year=year)


def _group_choices(township_id: int | None) -> list[SelectChoice]:
    if township_id is None:
        return []
    return [SelectChoice("", "（暂不指定）"), *(SelectChoice(str(g.id), g.name) for g in services.groups_of(township_id))]


@bp.route("/topics/new", methods=["GET", "POST"])
@staff_required()
def new_topic():
    """Take a topic from the government's work report."""
    form = TopicForm(formdata=None if request.method == "GET" else request.form)
    form.group.choices = _group_choices(_own_township())
    if request.method == "GET":
        form.year.data = clock.today().year
    elif form.validate_on_submit():
        try:
            topic = services.plan_topic(
                current_user, _own_township(), form.title.data, form.commitment.data, form.department.data,
                form.year.data, bounded_int(form.group.data),
            )  # fmt: skip
        except services.WorkRefused as refusal:
            _refused(form, refusal)
        else:
            flash(f"已列入专题“{topic.title}”。", "success")
            return redirect(url_for(".topic", topic_id=topic.id))
    return _page("form.html", form=form, title="列入三议一评专题", action=url_for(".new_topic"))


def _topic_or_404(topic_id: int) -> Topic:
    topic = db.session.get(Topic, topic_id)
    if topic is None:
        abort(404)
    if topic.township_id is not None:
        township_or_404(current_user, topic.township_id)
    return topic


def _topic_page(topic: Topic, tracking=None, evaluation=None, group_form=None):
    if group_form is None:
        group_form = TopicGroupForm(formdata=None, group=str(topic.group_id or ""))
    group_form.group.choices = _group_choices(topic.township_id)
    return _page(
        "topic.html", topic=topic, records=services.topic_records(topic), opinions=services.topic_opinions(topic),
        tracking=tracking or TrackingForm(formdata=None, held_on=clock.today()),
        evaluation=evaluation or TopicEvaluationForm(formdata=None, held_on=clock.today()), group_form=group_form,
    )  # fmt: skip


@bp.get("/topics/<int:topic_id>")
@staff_required()
def topic(topic_id):
    """One topic: the commitment, its group, tracking records, opinions and evaluation."""
    return _topic_page(_topic_or_404(topic_id))


def _topic_write(topic_id: int, form_class, write, done: str, form_key: str):
    topic = _topic_or_404(topic_id)
    form = form_class()
    if form_key == "group_form":
        form.group.choices = _group_choices(topic.township_id)
    if form.validate_on_submit():
        try:
            write(topic, form)
        except services.WorkRefused as refusal:
            if refusal.field is None:
                # About the topic, not a field (already evaluated, not tracked yet): said above the page.
                flash(refusal.message, "error")
                return redirect(url_for(".topic", topic_id=topic.id))
            _refused(form, refusal)
        else:
            flash(done, "success")
            return redirect(url_for(".topic", topic_id=topic.id))
    return _topic_page(topic, **{form_key: form})


@bp.post("/topics/<int:topic_id>/records")
@staff_required()
def add_tracking_record(topic_id):
    """Add an inspection, hearing or meeting to a topic."""
    return _topic_write(
        topic_id, TrackingForm,
        lambda t, f: services.add_tracking_record(current_user, t, f.held_on.data, f.kind.data, f.who.data, f.findings.data),
        "已添加跟踪记录。", "tracking",
    )  # fmt: skip


@bp.post("/topics/<int:topic_id>/evaluation")
@staff_required()
def evaluate_topic(topic_id):
    """The deputies' closing evaluation of a topic."""
    return _topic_write(
        topic_id, TopicEvaluationForm,
        lambda t, f: services.evaluate_topic(
            current_user, t, f.held_on.data, f.satisfied.data, f.basic.data, f.unsatisfied.data, f.outcome.data
        ),
        "已记录测评结果。", "evaluation",
    )  # fmt: skip


@bp.post("/topics/<int:topic_id>/group")
@staff_required()
def assign_group(topic_id):
    """Give a topic to a professional group."""
    return _topic_write(
        topic_id, TopicGroupForm, lambda t, f: services.assign_group(current_user, t, bounded_int(f.group.data)),
        "已指定专业小组。", "group_form",
    )  # fmt: skip


# --- 专项工作满意度测评 and 述职评议 -------------------------------------------------------


@bp.get("/evaluations")
@staff_required()
def evaluations():
    """The year's evaluations and their rectification."""
    township_id = chosen_township(current_user, request.args)
    year = _year()
    query = services.scoped(select(Evaluation), Evaluation.township_id, current_user, township_id)
    rows = db.session.scalars(
        query.where(Evaluation.held_on >= date(year, 1, 1), Evaluation.held_on < date(year + 1, 1, 1))
        .options(selectinload(Evaluation.township))
        .order_by(Evaluation.held_on.desc(), Evaluation.id.desc())
    ).all()
    return _page("evaluations.html", evaluations=rows, year=year)


@bp.route("/evaluations/new", methods=["GET", "POST"])
@staff_required()
def new_evaluation():
    """Record a special-work rating or a government head's evaluation."""
    form = EvaluationForm(formdata=None if request.method == "GET" else request.form)
    if request.method == "GET":
        form.held_on.data = clock.today()
    elif form.validate_on_submit():
        try:
            evaluation = services.record_evaluation(
                current_user, _own_township(), form.kind.data, form.subject.data, form.meeting.data, form.held_on.data,
                form.satisfied.data, form.basic.data, form.unsatisfied.data, form.result.data,
                form.rectification.data, form.rectification_due.data,
            )  # fmt: skip
        except services.WorkRefused as refusal:
            _refused(form, refusal)
        else:
            flash(f"已登记对“{evaluation.subject}”的测评。", "success")
            return redirect(url_for(".evaluation", evaluation_id=evaluation.id))
    return _page("form.html", form=form, title="登记测评", action=url_for(".new_evaluation"))


def _evaluation_or_404(evaluation_id: int) -> Evaluation:
    evaluation = db.session.get(Evaluation, evaluation_id)
    if evaluation is None:
        abort(404)
    township_or_404(current_user, evaluation.township_id)
    return evaluation


@bp.get("/evaluations/<int:evaluation_id>")
@staff_required()
def evaluation(evaluation_id):
    """One evaluation: votes, result, the rectification and its follow-ups."""
    item = _evaluation_or_404(evaluation_id)
    return _page("evaluation.html", evaluation=item, form=FollowUpForm(formdata=None, held_on=clock.today()))


@bp.post("/evaluations/<int:evaluation_id>/follow-ups")
@staff_required()
def follow_up(evaluation_id):
    """Record a follow-up of the rectification."""
    item = _evaluation_or_404(evaluation_id)
    form = FollowUpForm()
    if form.validate_on_submit():
        try:
            services.follow_up(current_user, item, form.held_on.data, form.note.data, form.done.data)
        except services.WorkRefused as refusal:
            if refusal.field is None:
                flash(refusal.message, "error")
                return redirect(url_for(".evaluation", evaluation_id=item.id))
            _refused(form, refusal)
        else:
            flash("已记录整改跟踪情况。", "success")
            return redirect(url_for(".evaluation", evaluation_id=item.id))
    return _page("evaluation.html", evaluation=item, form=form)


# --- the deputies' files --------------------------------------------------------------


@bp.get("/deputies")
@staff_required()
def deputies_table():
    """Every deputy's file in figures (the year, or the term), sortable by each figure."""
    township_id = chosen_township(current_user, request.args)
    year = _year()
    period = duty_file.Period.term(year) if request.args.get("term") else duty_file.Period.year(year)
    sort = request.args.get("sort")
    if sort not in duty_file.TABLE_FIGURES:
        sort = None
    rows = duty_file.table(services.scoped(select(Deputy.id), Deputy.township_id, current_user, township_id), period, sort)
    return _page(
        "deputies.html", rows=rows, period=period, year=year, sort=sort, township_id=township_id,
        columns=duty_file.TABLE_FIGURES, labels_of=duty_file.LABELS, term=bool(request.args.get("term")),
    )  # fmt: skip


@bp.get("/deputies/<int:deputy_id>/file.pdf")
@staff_required()
def file_pdf(deputy_id):
    """A deputy's file (the year, or the term) as an A4 PDF."""
    deputy = db.session.get(Deputy, deputy_id)
    if deputy is None:
        abort(404)
    township_or_404(current_user, deputy.township_id)
    data = duty_file.file_pdf(deputy, _year())
    return Response(
        data, mimetype="application/pdf",
        headers={"Content-Disposition": content_disposition("inline", f"{deputy.name}-履职档案.pdf", f"deputy-{deputy.id}.pdf")},
    )  # fmt: skip
