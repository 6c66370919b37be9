"""A deputy's 履职档案: the figures of a year or of the term, compiled from the records, never typed twice.

Days are local (Asia/Shanghai) dates. A duty day is attended when the
deputy checked in at that shift's station on that day; check-ins, the
people of the reception log and assisted entries count by when they were
made at the station; opinions by when they were left; activities and
report-backs by the day they were held; topics by the year of the work
report they come from, for the deputies of the group tracking them.

Every figure is counted for many deputies at once (``duty_figures``,
``work_figures``: one grouped query each), so the city table of 1,221
deputies costs the same few queries as one deputy's file.
"""

import base64
from dataclasses import dataclass
from datetime import date, datetime

from flask import render_template
from sqlalchemy import Date, Select, cast, exists, func, select, text

from .. import clock
from ..clock import format_local, local_midnight_utc, now, to_local, zone
from ..extensions import db
from ..models import (
    Activity,
    AssistedEntry,
    Category,
    Deputy,
    DeputyPhoto,
    DutyCheckin,
    DutyShift,
    Evaluation,
    EvaluationKind,
    Opinion,
    OpinionStatus,
    ReceptionEntry,
    ReportBack,
    Station,
    Topic,
    TopicStatus,
    Township,
    activity_deputies,
    group_members,
)
from ..receipts import pdf
from ..terms import term_of

FIGURES = (
    "duty_days_planned", "duty_days_attended", "checkins", "people_received",
    "assisted_entries", "opinions_addressed", "opinions_closed",
)  # fmt: skip
WORK_FIGURES = ("activities", "report_backs", "topics")
LABELS = {
    "duty_days_planned": "排班值班天数", "duty_days_attended": "到岗值班天数", "checkins": "签到次数",
    "people_received": "接待群众人数", "assisted_entries": "代为录入意见", "opinions_addressed": "群众指定的意见",
    "opinions_closed": "其中已办结", "activities": "参加联系群众活动", "report_backs": "向选民述职",
    "topics": "跟踪三议一评专题", "suggestions": "一键通建议", "suggestions_closed": "其中已办结",
    "answers": "直接答复群众", "diary_entries": "公开的履职日记", "ratings": "群众评价",
}  # fmt: skip
RATING_LABELS = {"satisfied": "满意", "basic": "基本满意", "unsatisfied": "不满意"}
# The levels elected directly by the voters (县级 and 乡级 congresses): the
# deputies who report back to their voters once a term.
DIRECTLY_ELECTED = ("罗定市", "镇")
# The city table's columns, each sortable.
TABLE_FIGURES = (*FIGURES, *WORK_FIGURES)


@dataclass(frozen=True)
class Period:
    """A stretch of local days: [start, end)."""

    start: date
    end: date
    label: str

    @classmethod
    def year(cls, year: int) -> "Period":
        return cls(date(year, 1, 1), date(year + 1, 1, 1), f"{year}年")

    @classmethod
    def term(cls, year: int) -> "Period":
        """本届累计: from the first day of the term to the end of ``year``."""
        term = term_of(date(year, 12, 31))
        return cls(term.start, min(term.end, date(year + 1, 1, 1)), f"本届（{term.start.year}年{term.start.month}月起）至{year}年底")

    @property
    def utc(self):
        return local_midnight_utc(self.start), local_midnight_utc(self.end)

    @property
    def topic_years(self) -> tuple[int, int]:
        """The work reports' years in the period: [first, last]."""
        return self.start.year, (self.end.year if self.end.month > 1 or self.end.day > 1 else self.end.year - 1)


def _ids(deputies) -> Select | list[int]:
    return deputies if isinstance(deputies, Select) else list(deputies)


def _grouped(query) -> dict[int, int]:
    return {deputy_id: int(n or 0) for deputy_id, n in db.session.execute(query)}


def _local_day(column):
    """SQL: the local date of a UTC moment ``column``. Asia/Shanghai keeps one offset all year
    (no daylight saving since 1991), so a fixed shift is exact and lets the database group and join."""
    hours = int(zone().utcoffset(datetime(2000, 1, 1)).total_seconds() // 3600)
    if db.session.get_bind().dialect.name == "postgresql":
        return cast(column + text(f"interval '{hours} hours'"), Date)
    return func.date(column, f"{hours:+d} hours")


def duty_figures(deputies, period: Period) -> dict[int, dict[str, int]]:
    """``FIGURES`` of each deputy (ids, or a ``select`` of ids) in ``period``; only deputies with any.

    Counted in the database, grouped by deputy: a year of the city's shifts and
    check-ins is tens of thousands of rows, never to be fetched one by one."""
    ids = _ids(deputies)
    start, end = period.utc
    in_period = lambda column: (column >= start, column < end)  # noqa: E731
    in_days = (DutyShift.deputy_id.in_(ids), DutyShift.on >= period.start, DutyShift.on < period.end)
    planned = _grouped(
        select(DutyShift.deputy_id, func.count(DutyShift.on.distinct())).where(*in_days).group_by(DutyShift.deputy_id)
    )
    attended = _grouped(
        select(DutyShift.deputy_id, func.count(DutyShift.on.distinct()))
        .join(
            DutyCheckin,
            (DutyCheckin.deputy_id == DutyShift.deputy_id)
            & (DutyCheckin.station_code == DutyShift.station_code)
            & (_local_day(DutyCheckin.created_at) == DutyShift.on),
        )
        .where(*in_days, *in_period(DutyCheckin.created_at))
        .group_by(DutyShift.deputy_id)
    )
    checkins = _grouped(
        select(DutyCheckin.deputy_id, func.count())
        .where(DutyCheckin.deputy_id.in_(ids), *in_period(DutyCheckin.created_at))
        .group_by(DutyCheckin.deputy_id)
    )
    people = _grouped(
        select(DutyCheckin.deputy_id, func.sum(ReceptionEntry.people))
        .select_from(ReceptionEntry)
        .join(DutyCheckin, DutyCheckin.uuid == ReceptionEntry.checkin_uuid)
        .where(DutyCheckin.deputy_id.in_(ids), *in_period(ReceptionEntry.created_at))
        .group_by(DutyCheckin.deputy_id)
    )
    assisted = _grouped(
        select(DutyCheckin.deputy_id, func.count())
        .select_from(AssistedEntry)
        .join(DutyCheckin, DutyCheckin.uuid == AssistedEntry.checkin_uuid)
        .where(DutyCheckin.deputy_id.in_(ids), *in_period(AssistedEntry.created_at))
        .group_by(DutyCheckin.deputy_id)
    )
    addressed, closed = {}, {}
    for deputy_id, total, n_closed in db.session.execute(
        select(Opinion.deputy_id, func.count(), func.count().filter(Opinion.status == OpinionStatus.CLOSED))
        .where(Opinion.deputy_id.in_(ids), *in_period(Opinion.created_at))
        .group_by(Opinion.deputy_id)
    ):
        addressed[deputy_id], closed[deputy_id] = total, n_closed
    return {
        deputy_id: {
            "duty_days_planned": planned.get(deputy_id, 0),
            "duty_days_attended": attended.get(deputy_id, 0),
            "checkins": checkins.get(deputy_id, 0),
            "people_received": people.get(deputy_id, 0),
            "assisted_entries": assisted.get(deputy_id, 0),
            "opinions_addressed": addressed.get(deputy_id, 0),
            "opinions_closed": closed.get(deputy_id, 0),
        }
        for deputy_id in set(planned) | set(checkins) | set(people) | set(assisted) | set(addressed)
    }


def work_figures(deputies, period: Period) -> dict[int, dict[str, int]]:
    """``WORK_FIGURES`` of each deputy in ``period``: activities attended, report-backs, topics their groups track."""
    ids = _ids(deputies)
    first_year, last_year = period.topic_years
    activities = _grouped(
        select(activity_deputies.c.deputy_id, func.count())
        .select_from(activity_deputies)
        .join(Activity, Activity.uuid == activity_deputies.c.activity_uuid)
        .where(activity_deputies.c.deputy_id.in_(ids), Activity.held_on >= period.start, Activity.held_on < period.end)
        .group_by(activity_deputies.c.deputy_id)
    )
    report_backs = _grouped(
        select(ReportBack.deputy_id, func.count())
        .where(ReportBack.deputy_id.in_(ids), ReportBack.held_on >= period.start, ReportBack.held_on < period.end)
        .group_by(ReportBack.deputy_id)
    )
    topics = _grouped(
        select(group_members.c.deputy_id, func.count())
        .select_from(group_members)
        .join(Topic, Topic.group_id == group_members.c.group_id)
        .where(group_members.c.deputy_id.in_(ids), Topic.year >= first_year, Topic.year <= last_year)
        .group_by(group_members.c.deputy_id)
    )
    return {
        deputy_id: {"activities": activities.get(deputy_id, 0), "report_backs": report_backs.get(deputy_id, 0),
                    "topics": topics.get(deputy_id, 0)}
        for deputy_id in set(activities) | set(report_backs) | set(topics)
    }  # fmt: skip


def _zeros(keys) -> dict[str, int]:
    return dict.fromkeys(keys, 0)


def figures(deputy: Deputy, year: int) -> dict[str, int]:
    """The year's duty figures of ``deputy``, as integers (``FIGURES``)."""
    return duty_figures([deputy.id], Period.year(year)).get(deputy.id, _zeros(FIGURES))


def deputy_figures(deputy: Deputy, period: Period) -> dict:
    """Every figure of ``deputy`` for ``period``: duty, work, and what they did at their desk."""
    from ..desk import figures as desk_figures

    values = dict(duty_figures([deputy.id], period).get(deputy.id, _zeros(FIGURES)))
    values.update(work(deputy, period))
    values.update(desk_figures.figures(deputy, *period.utc))
    return values


def work(deputy: Deputy, period: Period) -> dict[str, int]:
    """The period's work figures of ``deputy`` (``WORK_FIGURES``)."""
    return work_figures([deputy.id], period).get(deputy.id, _zeros(WORK_FIGURES))


def table(deputies: Select, period: Period, sort: str | None = None) -> list[dict]:
    """One row per deputy of ``deputies`` (a select of ids): name, township and every figure; ``sort`` most first."""
    duty, done = duty_figures(deputies, period), work_figures(deputies, period)
    townships = dict(db.session.execute(select(Township.id, Township.name)).tuples().all())
    rows = []
    for deputy_id, name, township_id, level, retired in db.session.execute(
        select(Deputy.id, Deputy.name, Deputy.township_id, Deputy.level, Deputy.retired)
        .where(Deputy.id.in_(deputies))
        .order_by(Deputy.township_id, Deputy.id)
    ):
        rows.append({
            "id": deputy_id, "name": name, "township": townships.get(township_id, ""), "level": level,
            "retired": retired, **duty.get(deputy_id, _zeros(FIGURES)), **done.get(deputy_id, _zeros(WORK_FIGURES)),
        })  # fmt: skip
    if sort:
        rows.sort(key=lambda row: -row[sort])
    return rows


# --- the lists behind the figures: public facts only -------------------------------------


def public_lists(deputy: Deputy, period: Period) -> dict[str, list]:
    """What the public file lists: dates, categories, statuses and public replies; never what a
    constituent wrote, a name or a phone number."""
    start, end = period.utc
    categories = dict(db.session.execute(select(Category.code, Category.name)).tuples().all())
    opinions = [
        {"day": to_local(at).date(), "category": categories.get(code, code), "status": OpinionStatus(status).label,
         "reply": reply if status in (OpinionStatus.CLOSED, OpinionStatus.DECLINED) else None}
        for at, code, status, reply in db.session.execute(
            select(Opinion.created_at, Opinion.category_code, Opinion.status, Opinion.public_reply)
            .where(Opinion.deputy_id == deputy.id, Opinion.created_at >= start, Opinion.created_at < end)
            .order_by(Opinion.created_at.desc())
        )
    ]  # fmt: skip
    activities = db.session.execute(
        select(Activity.held_on, Station.name, Activity.people, Activity.topics)
        .join(activity_deputies, activity_deputies.c.activity_uuid == Activity.uuid)
        .outerjoin(Station, Station.code == Activity.station_code)
        .where(activity_deputies.c.deputy_id == deputy.id, Activity.held_on >= period.start, Activity.held_on < period.end)
        .order_by(Activity.held_on.desc())
    ).all()
    report_backs = db.session.scalars(
        select(ReportBack)
        .where(ReportBack.deputy_id == deputy.id, ReportBack.held_on >= period.start, ReportBack.held_on < period.end)
        .order_by(ReportBack.held_on.desc())
    ).all()
    first_year, last_year = period.topic_years
    topics = db.session.scalars(
        select(Topic)
        .join(group_members, group_members.c.group_id == Topic.group_id)
        .where(group_members.c.deputy_id == deputy.id, Topic.year >= first_year, Topic.year <= last_year)
        .order_by(Topic.year.desc(), Topic.id)
    ).all()
    return {"opinions": opinions, "activities": activities, "report_backs": report_backs, "topics": topics}


def desk_lists(deputy: Deputy, period: Period) -> dict[str, list]:
    """The desk's part of the public file: the deputy's own 一键通 suggestions (date,
    category, title, status, public reply), their direct answers (date, category, the
    answer, which the status page shows anyone holding the receipt) and published diary
    entries. Never what a constituent wrote, nor who they are."""
    from ..models import DEPUTY_ANSWER, DiaryEntry, OpinionEvent

    start, end = period.utc
    categories = dict(db.session.execute(select(Category.code, Category.name)).tuples().all())
    suggestions = [
        {"day": to_local(at).date(), "category": categories.get(code, code), "title": title,
         "status": OpinionStatus(status).label,
         "reply": reply if status in (OpinionStatus.CLOSED, OpinionStatus.DECLINED) else None}
        for at, code, title, status, reply in db.session.execute(
            select(Opinion.created_at, Opinion.category_code, Opinion.title, Opinion.status, Opinion.public_reply)
            .where(Opinion.suggesting_deputy_id == deputy.id, Opinion.created_at >= start, Opinion.created_at < end)
            .order_by(Opinion.created_at.desc())
        )
    ]  # fmt: skip
    answers = [
        {"day": to_local(at).date(), "category": categories.get(code, code), "answer": note}
        for at, code, note in db.session.execute(
            select(OpinionEvent.at, Opinion.category_code, OpinionEvent.note)
            .join(Opinion, Opinion.uuid == OpinionEvent.opinion_uuid)
            .where(Opinion.deputy_id == deputy.id, OpinionEvent.kind == DEPUTY_ANSWER,
                   OpinionEvent.at >= start, OpinionEvent.at < end)
            .order_by(OpinionEvent.at.desc())
        )
    ]  # fmt: skip
    diary = db.session.execute(
        select(DiaryEntry.day, DiaryEntry.text)
        .where(DiaryEntry.deputy_id == deputy.id, DiaryEntry.published_at.is_not(None),
               DiaryEntry.day >= period.start, DiaryEntry.day < period.end)
        .order_by(DiaryEntry.day.desc(), DiaryEntry.id.desc())
    ).all()  # fmt: skip
    return {"suggestions": suggestions, "answers": answers, "diary": diary}


# What the file adds from the deputy's desk (kiosk.desk.figures), after the table's figures.
DESK_FIGURES = ("suggestions", "suggestions_closed", "answers", "diary_entries", "ratings")


def _shown(values: dict) -> dict:
    """The ratings' counts as one line of text, for the file's table."""
    ratings = values.get("ratings")
    if isinstance(ratings, dict):
        values = {**values, "ratings": "，".join(f"{RATING_LABELS[k]} {n}" for k, n in ratings.items())}
    return values


def file_context(deputy: Deputy, year: int) -> dict:
    """Everything the file shows, for the page and the PDF: the year's and the term's figures and lists."""
    year_period, term_period = Period.year(year), Period.term(year)
    return {
        "deputy": deputy,
        "township": db.session.get(Township, deputy.township_id),
        "year": year,
        "periods": [(period, _shown(deputy_figures(deputy, period))) for period in (year_period, term_period)],
        "lists": {**public_lists(deputy, year_period), **desk_lists(deputy, year_period)},
        "labels": LABELS,
        "order": (*TABLE_FIGURES, *DESK_FIGURES),
        "topic_status": {s.value: s.label for s in TopicStatus},
    }


def file_pdf(deputy: Deputy, year: int) -> bytes:
    """The file (the year and the term to its end) on A4, laid out by WeasyPrint with the receipts' fonts."""
    context = file_context(deputy, year)
    photo = db.session.get(DeputyPhoto, deputy.photo) if deputy.photo else None
    html = render_template(
        "deputies/file.html", **context, generated=format_local(now(), "%Y年%m月%d日"),
        photo_src=f"data:image/jpeg;base64,{base64.b64encode(photo.data).decode()}" if photo else None,
    )  # fmt: skip
    db.session.rollback()
    return pdf.render_document(html)


# --- a township's (or the city's) totals: the dashboard and the annual report ------------


def report_back_due(township_id: int | None, day: date | None = None) -> Select:
    """``select(Deputy)`` of the directly elected serving deputies with no report-back in the term of ``day``."""
    term = term_of(day or clock.today())
    reported = exists().where(
        ReportBack.deputy_id == Deputy.id, ReportBack.held_on >= term.start, ReportBack.held_on < term.end
    )
    query = select(Deputy).where(Deputy.level.in_(DIRECTLY_ELECTED), Deputy.retired.is_(False), ~reported)
    if township_id is not None:
        query = query.where(Deputy.township_id == township_id)
    return query.order_by(Deputy.township_id, Deputy.id)


def work_totals(township_id: int | None, year: int) -> dict[str, int]:
    """The year's activities, report-backs (the year and 本届累计), topics and evaluations."""
    year_period, term_period = Period.year(year), Period.term(year)

    def scoped(query, column):
        return query if township_id is None else query.where(column == township_id)

    def activity_count(period):
        query = select(func.count(), func.coalesce(func.sum(Activity.people), 0)).select_from(Activity)
        query = query.join(Station, Station.code == Activity.station_code)
        return db.session.execute(
            scoped(query, Station.township_id).where(Activity.held_on >= period.start, Activity.held_on < period.end)
        ).one()

    def report_back_count(period):
        query = select(func.count()).select_from(ReportBack).join(Deputy, Deputy.id == ReportBack.deputy_id)
        return db.session.scalar(
            scoped(query, Deputy.township_id).where(ReportBack.held_on >= period.start, ReportBack.held_on < period.end)
        )

    def evaluation_count(period, kind):
        query = select(func.count()).select_from(Evaluation).where(Evaluation.kind == kind)
        return db.session.scalar(
            scoped(query, Evaluation.township_id).where(Evaluation.held_on >= period.start, Evaluation.held_on < period.end)
        )

    activities, people = activity_count(year_period)
    topic_query = scoped(select(Topic.status, func.count()).where(Topic.year == year), Topic.township_id)
    topic_rows = dict(db.session.execute(topic_query.group_by(Topic.status)).tuples().all())
    return {
        "activities": activities,
        "activity_people": int(people),
        "report_backs": report_back_count(year_period),
        "report_backs_term": report_back_count(term_period),
        "topics": sum(topic_rows.values()),
        "topics_evaluated": topic_rows.get(TopicStatus.EVALUATED, 0),
        "special_work": evaluation_count(year_period, EvaluationKind.SPECIAL_WORK),
        "head_reports": evaluation_count(year_period, EvaluationKind.HEAD_REPORT),
        "head_reports_term": evaluation_count(term_period, EvaluationKind.HEAD_REPORT),
        # Who has not reported back this term, as it stood at the year's end (or today).
        "report_backs_due": db.session.scalar(
            select(func.count()).select_from(report_back_due(township_id, min(clock.today(), date(year, 12, 31))).subquery())
        ),
        "rectifications_open": db.session.scalar(
            scoped(select(func.count()).select_from(Evaluation), Evaluation.township_id).where(
                Evaluation.rectification.is_not(None), Evaluation.rectified_on.is_(None)
            )
        ),
    }
