"""Deputies' work recorded at the hub: contact activities, report-backs,
三议一评 topics with their groups, tracking records and closing evaluation,
and evaluations (专项工作满意度测评, 述职评议) with rectification follow-ups.

Every write takes the acting member of staff first and checks, before
touching anything, that they may record for that township: township staff
and chairs for their own; city staff read every township and record nothing
(they supervise). A refused write raises ``WorkRefused`` with a Chinese
message and changes nothing. An allowed one writes one audit row in the
same transaction, logs one line and commits. Records are written once;
what a deputy's public file shows (an activity's topics, a report-back's
summary, a topic's outcome) may hold no phone or ID-card number.
"""

import logging
from datetime import date, timedelta

from sqlalchemy import delete, func, insert, select

from .. import audit
from ..auth.scope import can_see_township, visible_township_ids
from ..clock import local_midnight_utc, today
from ..extensions import db
from ..models import (
    FINISHED_STATUSES,
    Activity,
    Deputy,
    Evaluation,
    EvaluationFollowUp,
    EvaluationKind,
    Opinion,
    ProfessionalGroup,
    ReportBack,
    Role,
    Satisfaction,
    Station,
    Topic,
    TopicRecord,
    TopicStatus,
    TrackingKind,
    User,
    activity_opinions,
    group_members,
)
from ..refusals import Refused
from ..staff import services as casework
from ..deputies.duty_file import report_back_due  # noqa: F401  (the rule, for the pages)
from ..text import personal_data_in

log = logging.getLogger(__name__)

TEXT_MAX = 2000
SHORT_MAX = 80
PEOPLE_MAX = 9999
CITY_READS = "市人大常委会查看和督办，记录由镇人大办填写。"


class WorkRefused(Refused):
    """A record the rules do not allow; ``field`` names the form field at fault."""


# --- shared checks ----------------------------------------------------------------------


def may_record(actor: User) -> bool:
    """Township staff and chairs record their township's deputies' work; city staff read it."""
    return actor is not None and actor.active and actor.role != Role.CITY


def _check_actor(actor: User, township_id: int) -> None:
    if actor is None or not actor.active:
        raise WorkRefused("账号不可用，请重新登录。")
    if actor.role == Role.CITY:
        raise WorkRefused(CITY_READS)
    if not can_see_township(actor, township_id):
        raise WorkRefused("只能记录本镇街的代表履职情况。")


def _text(value: str | None, field: str, label: str, limit: int = TEXT_MAX, required: bool = True, public: bool = False):
    value = (value or "").strip()
    if not value:
        if required:
            raise WorkRefused(f"请填写{label}。", field)
        return None
    if len(value) > limit:
        raise WorkRefused(f"{label}最多 {limit} 个字。", field)
    if public and (found := personal_data_in(value)):
        raise WorkRefused(f"{label}会在代表履职档案上公开，请删去其中的{found}。", field)
    return value


def _count(value, field: str, label: str, low: int = 0, high: int = PEOPLE_MAX) -> int:
    if type(value) is not int or not low <= value <= high:
        raise WorkRefused(f"{label}应在 {low} 到 {high} 之间。", field)
    return value


def _past_day(value, field: str, label: str = "日期") -> date:
    if not isinstance(value, date):
        raise WorkRefused(f"请填写{label}。", field)
    if value > today():
        raise WorkRefused(f"{label}不能晚于今天。", field)
    if value.year < 2000:
        raise WorkRefused(f"{label}不对。", field)
    return value


def _votes(satisfied, basic, unsatisfied, most: int | None = None) -> tuple[int, int, int]:
    votes = (
        _count(satisfied, "satisfied", "满意票数"),
        _count(basic, "basic", "基本满意票数"),
        _count(unsatisfied, "unsatisfied", "不满意票数"),
    )
    if most is not None and sum(votes) > most:
        raise WorkRefused(f"三项合计 {sum(votes)} 票，多于到会的 {most} 人。", "satisfied")
    return votes


def _commit() -> None:
    try:
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise


def _township_deputies(township_id: int, ids: list[int], field: str = "deputies") -> list[Deputy]:
    """The deputies ``ids``, each of the township and serving; refused otherwise."""
    ids = sorted(set(ids))
    found = list(db.session.scalars(select(Deputy).where(Deputy.id.in_(ids)).order_by(Deputy.id)))
    if len(found) != len(ids) or any(d.township_id != township_id or d.retired for d in found):
        raise WorkRefused("只能选本镇街在任的代表。", field)
    return found


# --- 联系群众活动 -------------------------------------------------------------------------


def record_activity(
    actor: User, station: Station, held_on, people, topics: str | None, deputy_ids: list[int]
) -> Activity:
    """A contact activity recorded at the office: date, station, deputies present, people, topics."""
    _check_actor(actor, station.township_id)
    held_on = _past_day(held_on, "held_on", "活动日期")
    people = _count(people, "people", "参加群众人数", low=1)
    topics = _text(topics, "topics", "交流的主要事项", 500, public=True)
    if not deputy_ids:
        raise WorkRefused("请选择到场的代表。", "deputies")
    deputies = _township_deputies(station.township_id, deputy_ids)
    activity = Activity(station_code=station.code, held_on=held_on, people=people, topics=topics, user_id=actor.id)
    activity.deputies = deputies
    db.session.add(activity)
    db.session.flush()
    audit.record(
        "record_activity", actor=actor, subject=f"activity:{activity.uuid}",
        after={"station_code": station.code, "held_on": held_on.isoformat(), "people": people, "topics": topics,
               "deputy_ids": [d.id for d in deputies]},
    )  # fmt: skip
    _commit()
    log.info("activity %s at %s on %s by %s", activity.uuid, station.code, held_on, actor.username)
    return activity


def offered_opinions(activity: Activity) -> list[Opinion]:
    """Opinions left at the activity's station on its day: the ones to link it with."""
    start = local_midnight_utc(activity.held_on)
    end = local_midnight_utc(activity.held_on + timedelta(days=1))
    return list(
        db.session.scalars(
            select(Opinion)
            .where(Opinion.station_code == activity.station_code, Opinion.created_at >= start, Opinion.created_at < end)
            .order_by(Opinion.created_at)
        )
    )


def linked_opinions(activity: Activity) -> list[Opinion]:
    return list(
        db.session.scalars(
            select(Opinion)
            .join(activity_opinions, activity_opinions.c.opinion_uuid == Opinion.uuid)
            .where(activity_opinions.c.activity_uuid == activity.uuid)
            .order_by(Opinion.created_at)
        )
    )


def link_opinions(actor: User, activity: Activity, opinion_uuids: list[str]) -> int:
    """Link exactly these opinions (of the activity's station and day) to it; another activity's stay theirs."""
    township_id = activity.station.township_id
    _check_actor(actor, township_id)
    offered = {o.uuid for o in offered_opinions(activity)}
    wanted = set(opinion_uuids)
    if not wanted <= offered:
        raise WorkRefused("只能关联本站当天收到的意见。", "opinions")
    taken = set(
        db.session.scalars(
            select(activity_opinions.c.opinion_uuid).where(
                activity_opinions.c.opinion_uuid.in_(wanted), activity_opinions.c.activity_uuid != activity.uuid
            )
        )
    )
    if taken:
        raise WorkRefused("有的意见已关联到另一场活动。", "opinions")
    linked = linked_opinions(activity)
    if sorted(o.uuid for o in linked) == sorted(wanted):
        return len(wanted)
    numbers = {o.uuid: o.receipt_number for o in offered_opinions(activity)}
    db.session.execute(delete(activity_opinions).where(activity_opinions.c.activity_uuid == activity.uuid))
    if wanted:
        db.session.execute(
            insert(activity_opinions), [{"activity_uuid": activity.uuid, "opinion_uuid": u} for u in sorted(wanted)]
        )
    audit.record(
        "link_activity_opinions", actor=actor, subject=f"activity:{activity.uuid}",
        before={"receipt_numbers": sorted(o.receipt_number for o in linked)},
        after={"receipt_numbers": sorted(numbers[u] for u in wanted)},
    )  # fmt: skip
    _commit()
    log.info("activity %s: %d opinions linked", activity.uuid, len(wanted))
    return len(wanted)


# --- 代表向选民述职 ------------------------------------------------------------------------


def record_report_back(
    actor: User, deputy: Deputy, held_on, place, voters_present, satisfied, basic, unsatisfied, summary
) -> ReportBack:
    """A deputy's report-back to voters with the evaluation by those present."""
    _check_actor(actor, deputy.township_id)
    if deputy.retired:
        raise WorkRefused("该代表已离任。", "deputy")
    held_on = _past_day(held_on, "held_on", "述职日期")
    place = _text(place, "place", "述职地点", SHORT_MAX, public=True)
    voters = _count(voters_present, "voters_present", "到会选民人数", low=1)
    votes = _votes(satisfied, basic, unsatisfied, most=voters)
    summary = _text(summary, "summary", "述职情况简述", 500, required=False, public=True)
    report = ReportBack(
        deputy_id=deputy.id, held_on=held_on, place=place, voters_present=voters,
        satisfied=votes[0], basic=votes[1], unsatisfied=votes[2], summary=summary, user_id=actor.id,
    )  # fmt: skip
    db.session.add(report)
    db.session.flush()
    audit.record(
        "record_report_back", actor=actor, subject=f"report_back:{report.id}",
        after={"deputy_id": deputy.id, "held_on": held_on.isoformat(), "place": place, "voters_present": voters,
               "votes": list(votes), "summary": summary},
    )  # fmt: skip
    _commit()
    log.info("report-back %s: deputy %s on %s", report.id, deputy.id, held_on)
    return report


# --- 专业小组 and 三议一评 topics --------------------------------------------------------


def save_group(actor: User, township_id: int, name: str | None, member_ids: list[int], group=None) -> ProfessionalGroup:
    """A professional group (new, or ``group`` renamed and its members set)."""
    _check_actor(actor, township_id)
    name = _text(name, "name", "小组名称", 40)
    members = _township_deputies(township_id, member_ids, "members")
    clash = select(ProfessionalGroup.id).where(
        ProfessionalGroup.township_id == township_id, ProfessionalGroup.name == name
    )
    if group is not None:
        clash = clash.where(ProfessionalGroup.id != group.id)
    if db.session.scalar(clash) is not None:
        raise WorkRefused("本镇街已有同名的小组。", "name")
    before = None
    if group is None:
        group = ProfessionalGroup(township_id=township_id, name=name)
        db.session.add(group)
    else:
        before = {"name": group.name, "member_ids": [d.id for d in group.members]}
        group.name = name
    group.members = members
    db.session.flush()
    audit.record(
        "save_professional_group", actor=actor, subject=f"professional_group:{group.id}",
        before=before, after={"name": name, "member_ids": [d.id for d in members]},
    )  # fmt: skip
    _commit()
    log.info("professional group %s saved: %d members", group.id, len(members))
    return group


def groups_of(township_id: int) -> list[ProfessionalGroup]:
    return list(
        db.session.scalars(
            select(ProfessionalGroup).where(ProfessionalGroup.township_id == township_id).order_by(ProfessionalGroup.name)
        )
    )


def _group_of(township_id: int, group_id: int | None) -> ProfessionalGroup | None:
    if group_id is None:
        return None
    group = db.session.get(ProfessionalGroup, group_id)
    if group is None or group.township_id != township_id:
        raise WorkRefused("请选择本镇街的专业小组。", "group")
    return group


def plan_topic(actor: User, township_id: int, title, commitment, department, year, group_id: int | None) -> Topic:
    """A 三议一评 topic taken from the government's work report, planned."""
    _check_actor(actor, township_id)
    commitment = _text(commitment, "commitment", "政府工作报告中的承诺")
    department = _text(department, "department", "责任部门", 60)
    year = _count(year, "year", "年度", 2000, today().year + 1)
    group = _group_of(township_id, group_id)
    try:
        topic = casework._new_topic(
            actor, township_id, title, None, status=TopicStatus.PLANNED.value, year=year, commitment=commitment,
            department=department, group_id=group.id if group else None,
        )  # fmt: skip
    except casework.ActionRefused as refused:
        raise WorkRefused(refused.message, "title") from None
    _commit()
    log.info("topic %s planned for %s", topic.id, year)
    return topic


def _topic_change(actor: User, topic: Topic, action: str, **values) -> None:
    before = {k: getattr(topic, k) for k in values}
    for key, value in values.items():
        setattr(topic, key, value)
    plain = lambda d: {k: v.isoformat() if isinstance(v, date) else v for k, v in d.items()}  # noqa: E731
    audit.record(action, actor=actor, subject=f"topic:{topic.id}", before=plain(before), after=plain(values))


def _check_topic(actor: User, topic: Topic) -> None:
    if topic.township_id is None:
        # City-wide topics are the city's to track: its staff read and supervise only.
        raise WorkRefused("全市专题由市人大常委会组织，镇人大办不在此记录。")
    _check_actor(actor, topic.township_id)
    if topic.status == TopicStatus.EVALUATED:
        raise WorkRefused("该专题已测评，不能再改动。")


def assign_group(actor: User, topic: Topic, group_id: int | None) -> None:
    """Give the topic to a professional group (or none)."""
    _check_topic(actor, topic)
    group = _group_of(topic.township_id, group_id)
    if topic.group_id == (group.id if group else None):
        return
    _topic_change(actor, topic, "assign_topic_group", group_id=group.id if group else None)
    _commit()


def add_tracking_record(actor: User, topic: Topic, held_on, kind, who, findings) -> TopicRecord:
    """An inspection, hearing or meeting of the topic; a planned topic is being tracked from then on."""
    _check_topic(actor, topic)
    held_on = _past_day(held_on, "held_on", "日期")
    if kind not in set(TrackingKind):
        raise WorkRefused("请选择跟踪方式。", "kind")
    who = _text(who, "who", "参加人员", 200)
    findings = _text(findings, "findings", "发现的情况")
    record = TopicRecord(topic_id=topic.id, held_on=held_on, kind=kind, who=who, findings=findings, user_id=actor.id)
    db.session.add(record)
    db.session.flush()
    audit.record(
        "add_topic_record", actor=actor, subject=f"topic:{topic.id}",
        after={"record_id": record.id, "held_on": held_on.isoformat(), "kind": kind, "who": who, "findings": findings},
    )  # fmt: skip
    if topic.status == TopicStatus.PLANNED:
        _topic_change(actor, topic, "track_topic", status=TopicStatus.TRACKING.value)
    _commit()
    log.info("topic %s: tracking record %s", topic.id, record.id)
    return record


def evaluate_topic(actor: User, topic: Topic, held_on, satisfied, basic, unsatisfied, outcome) -> None:
    """The deputies' closing evaluation: votes and the outcome. The topic then takes no more opinions."""
    _check_topic(actor, topic)
    if topic.status != TopicStatus.TRACKING:
        raise WorkRefused("专题要先有跟踪记录，才能测评。")
    held_on = _past_day(held_on, "held_on", "测评日期")
    votes = _votes(satisfied, basic, unsatisfied)
    if not sum(votes):
        raise WorkRefused("请填写测评票数。", "satisfied")
    outcome = _text(outcome, "outcome", "测评结果", 500, public=True)
    _topic_change(
        actor, topic, "evaluate_topic", status=TopicStatus.EVALUATED.value, votes_satisfied=votes[0],
        votes_basic=votes[1], votes_unsatisfied=votes[2], outcome=outcome, evaluated_on=held_on,
        closed_at=local_midnight_utc(held_on),
    )  # fmt: skip
    _commit()
    log.info("topic %s evaluated %s", topic.id, votes)


def topic_records(topic: Topic) -> list[TopicRecord]:
    return list(
        db.session.scalars(select(TopicRecord).where(TopicRecord.topic_id == topic.id).order_by(TopicRecord.held_on, TopicRecord.id))
    )


def topic_opinions(topic: Topic) -> list[Opinion]:
    return list(db.session.scalars(select(Opinion).where(Opinion.topic_id == topic.id).order_by(Opinion.created_at)))


# --- 专项工作满意度测评 and 述职评议 --------------------------------------------------------


def record_evaluation(
    actor: User, township_id: int, kind, subject, meeting, held_on, satisfied, basic, unsatisfied, result,
    rectification, rectification_due,
) -> Evaluation:  # fmt: skip
    """An evaluation with its votes, result and the rectification asked for."""
    _check_actor(actor, township_id)
    if kind not in set(EvaluationKind):
        raise WorkRefused("请选择测评类别。", "kind")
    subject = _text(subject, "subject", "测评对象", SHORT_MAX)
    meeting = _text(meeting, "meeting", "会议", SHORT_MAX)
    held_on = _past_day(held_on, "held_on", "测评日期")
    votes = _votes(satisfied, basic, unsatisfied)
    if not sum(votes):
        raise WorkRefused("请填写测评票数。", "satisfied")
    if result not in set(Satisfaction):
        raise WorkRefused("请选择测评结果。", "result")
    rectification = _text(rectification, "rectification", "整改要求", required=False)
    if rectification_due is not None:
        if rectification is None:
            raise WorkRefused("没有整改要求，就不用填整改期限。", "rectification_due")
        if rectification_due < held_on:
            raise WorkRefused("整改期限不能早于测评日期。", "rectification_due")
    evaluation = Evaluation(
        township_id=township_id, kind=kind, subject=subject, meeting=meeting, held_on=held_on, satisfied=votes[0],
        basic=votes[1], unsatisfied=votes[2], result=result, rectification=rectification,
        rectification_due=rectification_due, user_id=actor.id,
    )  # fmt: skip
    db.session.add(evaluation)
    db.session.flush()
    audit.record(
        "record_evaluation", actor=actor, subject=f"evaluation:{evaluation.id}",
        after={"kind": kind, "subject": subject, "meeting": meeting, "held_on": held_on.isoformat(),
               "votes": list(votes), "result": result, "rectification": rectification,
               "rectification_due": rectification_due.isoformat() if rectification_due else None},
    )  # fmt: skip
    _commit()
    log.info("evaluation %s (%s) recorded", evaluation.id, kind)
    return evaluation


def follow_up(actor: User, evaluation: Evaluation, held_on, note, done: bool) -> EvaluationFollowUp:
    """A check on the rectification; ``done`` closes it."""
    _check_actor(actor, evaluation.township_id)
    if evaluation.rectification is None:
        raise WorkRefused("这次测评没有整改要求。")
    if evaluation.rectified_on is not None:
        raise WorkRefused("整改已经完成，不用再跟踪。")
    held_on = _past_day(held_on, "held_on", "跟踪日期")
    if held_on < evaluation.held_on:
        raise WorkRefused("跟踪日期不能早于测评日期。", "held_on")
    note = _text(note, "note", "跟踪情况")
    item = EvaluationFollowUp(evaluation_id=evaluation.id, held_on=held_on, note=note, done=bool(done), user_id=actor.id)
    db.session.add(item)
    if done:
        evaluation.rectified_on = held_on
    db.session.flush()
    audit.record(
        "follow_up_evaluation", actor=actor, subject=f"evaluation:{evaluation.id}",
        after={"follow_up_id": item.id, "held_on": held_on.isoformat(), "note": note, "done": bool(done)},
    )  # fmt: skip
    _commit()
    log.info("evaluation %s followed up%s", evaluation.id, " (done)" if done else "")
    return item


# --- lists for the staff pages ------------------------------------------------------------


def scoped(query, column, user: User, township_id: int | None):
    """``query`` limited to the townships ``user`` sees, and to ``township_id`` when given."""
    ids = visible_township_ids(user)
    if ids is not None:
        query = query.where(column.in_(ids))
    if township_id is not None:
        query = query.where(column == township_id)
    return query


def opinions_open(opinions: list[Opinion]) -> int:
    return sum(1 for o in opinions if o.status not in FINISHED_STATUSES)


def count_in(model, column, start: date, end: date, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(column >= start, column < end, *where))


def group_member_ids(group_id: int) -> list[int]:
    return list(db.session.scalars(select(group_members.c.deputy_id).where(group_members.c.group_id == group_id)))
