"""A demo year of deputies' work at the hub, with the Luoding report's figures.

Run by ``flask --app wsgi demo history --year 2019`` after the year's
opinions: 319 contact activities at the stations in the year (the opinions
left at a station on an activity's day linked to it), 53 topics under
三议一评 tracking in the 17 towns (each with its professional group,
tracking records and, for most, the deputies' evaluation), special-work
ratings, and, over the term's years up to the year, 182 report-backs to
voters (each deputy once) and 22 government heads evaluated (述职评议).

Deterministic (seeded by the year, or by the term for what spans it) and
idempotent: each record has a fixed identity (an activity's UUID; a topic's
township, year and title; a report-back's deputy and day; an evaluation's
township, subject and day), and one already at the hub is left alone. As
for the opinions, the rows are written as the services would leave them,
without audit rows: no member of staff did any of it.
"""

import random
import uuid as uuid_module
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import insert, select, update

from ..clock import local_midnight_utc, to_local, zone
from ..extensions import db
from ..models import (
    Activity,
    Deputy,
    Evaluation,
    EvaluationFollowUp,
    EvaluationKind,
    Opinion,
    ProfessionalGroup,
    ReportBack,
    Station,
    Topic,
    TopicRecord,
    TopicStatus,
    Township,
    activity_deputies,
    activity_opinions,
)
from ..terms import term_of

# The Luoding report, 2019 (DOMAIN.md).
ACTIVITIES = 319
TOPICS = 53  # in the 17 towns
REPORT_BACKS_TERM = 182  # this term, to the end of 2019
HEADS_EVALUATED_TERM = 22  # 述职评议, this term
# Of the year's topics, how many are still being tracked at the year's end.
TOPICS_STILL_TRACKED = 6
NAMESPACE = uuid_module.UUID("0b7c3f1e-5d2a-4e8b-9c61-7a4f2e9d1b35")

THEMES = [
    ("农村生活污水治理", "完成自然村污水管网建设", "镇村建办", "城建环保小组"),
    ("村道硬底化", "完成村道硬底化和危桥改造", "镇村建办", "城建环保小组"),
    ("农田水利设施修复", "修复灌溉水渠和山塘水库", "镇农业农村办", "农业农村小组"),
    ("垃圾收运处理", "实现村庄垃圾日产日清", "镇村建办", "城建环保小组"),
    ("农村饮水安全", "完成集中供水管网延伸", "镇农业农村办", "农业农村小组"),
    ("村卫生站建设", "每个行政村有达标卫生站", "镇社会事务办", "社会事业小组"),
    ("特色农业产业", "扶持肉桂、南药等特色种植", "镇农业农村办", "农业农村小组"),
    ("学校周边交通安全", "学校门口增设减速带和护栏", "镇派出所", "社会事业小组"),
]
GROUPS = ["城建环保小组", "农业农村小组", "社会事业小组"]
ACTIVITY_TOPICS = [
    "村道修缮和路灯维护", "灌溉水渠清淤", "垃圾收集点设置", "农村医保和养老保险政策",
    "宅基地纠纷调解", "村务公开", "特色种植技术和销售", "学校周边交通安全",
]  # fmt: skip
HEAD_POSTS = ["镇长", "副镇长（分管农业农村）", "副镇长（分管城建）", "副镇长（分管社会事务）"]
SPECIAL_WORKS = ["农村人居环境整治", "义务教育均衡发展", "河长制落实", "脱贫攻坚"]


def load_work(year: int) -> dict[str, int]:
    """Make ``year``'s demo deputies' work at the hub (missing records only); return counts."""
    townships = list(db.session.scalars(select(Township).order_by(Township.id)))
    stations = list(db.session.scalars(select(Station).order_by(Station.code)))
    if not townships or not stations:
        raise ValueError("请先载入演示数据：flask --app wsgi demo load")
    counts = {
        "activities added": _activities(year, townships, stations),
        "topics added": _topics(year, townships),
        "report-backs added": _report_backs(year),
        "evaluations added": _evaluations(year, townships),
    }
    db.session.commit()
    return counts


def _spread(rng: random.Random, total: int, buckets: int) -> list[int]:
    weights = [rng.uniform(0.6, 1.4) for _ in range(buckets)]
    shares = [total * w / sum(weights) for w in weights]
    counts = [int(s) for s in shares]
    for i in sorted(range(buckets), key=lambda i: counts[i] - shares[i])[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _day(rng: random.Random, start: date, end: date) -> date:
    return start + timedelta(days=rng.randrange((end - start).days))


def _moment(day: date, hour: int = 17) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=zone()).astimezone(timezone.utc)


def _activities(year: int, townships: list[Township], stations: list[Station]) -> int:
    """The year's contact activities; an activity held where and when opinions were left has them linked."""
    rng = random.Random(f"activities-{year}")
    start, end = local_midnight_utc(date(year, 1, 1)), local_midnight_utc(date(year + 1, 1, 1))
    opinion_days: dict[tuple[str, date], list[str]] = {}
    for uuid, code, at in db.session.execute(
        select(Opinion.uuid, Opinion.station_code, Opinion.created_at)
        .where(Opinion.created_at >= start, Opinion.created_at < end)
        .order_by(Opinion.created_at, Opinion.uuid)
    ):
        opinion_days.setdefault((code, to_local(at).date()), []).append(uuid)
    gathered = sorted(opinion_days)
    rng.shuffle(gathered)
    per_township = _spread(rng, ACTIVITIES, len(townships))
    by_township = {t.id: [s for s in stations if s.township_id == t.id and s.deputies] for t in townships}
    planned, index = [], 0
    for township, count in zip(townships, per_township):
        local = by_township[township.id]
        codes = {s.code for s in local}
        mine = [key for key in gathered if key[0] in codes]
        for n in range(count):
            # About half the year's activities are where opinions were gathered.
            if n < len(mine) and rng.random() < 0.6:
                code, day = mine[n]
                station = next(s for s in local if s.code == code)
            else:
                station, day = rng.choice(local), _day(rng, date(year, 1, 1), date(year + 1, 1, 1))
            present = rng.sample(station.deputies, min(len(station.deputies), rng.choice((1, 2, 2, 3))))
            planned.append({
                "uuid": str(uuid_module.uuid5(NAMESPACE, f"activity-{year}-{index}")), "station_code": station.code,
                "held_on": day, "people": rng.randrange(8, 61), "topics": "、".join(rng.sample(ACTIVITY_TOPICS, 2)),
                "created_at": _moment(day), "deputies": sorted(d.id for d in present),
                "opinions": opinion_days.get((station.code, day), []),
            })  # fmt: skip
            index += 1
    have = set(db.session.scalars(select(Activity.uuid).where(Activity.uuid.in_([p["uuid"] for p in planned]))))
    linked = set(db.session.scalars(select(activity_opinions.c.opinion_uuid)))
    added = 0
    for item in planned:
        if item["uuid"] in have:
            continue
        db.session.add(Activity(
            uuid=item["uuid"], station_code=item["station_code"], held_on=item["held_on"], people=item["people"],
            topics=item["topics"], created_at=item["created_at"], hub_received_at=item["created_at"],
        ))  # fmt: skip
        db.session.flush()
        db.session.execute(insert(activity_deputies), [{"activity_uuid": item["uuid"], "deputy_id": i} for i in item["deputies"]])
        fresh = [u for u in item["opinions"] if u not in linked]
        if fresh:
            db.session.execute(insert(activity_opinions), [{"activity_uuid": item["uuid"], "opinion_uuid": u} for u in fresh])
            linked.update(fresh)
        added += 1
    return added


def _groups(township: Township, deputies: list[Deputy]) -> dict[str, ProfessionalGroup]:
    """The town's three professional groups, five deputies each, made if missing."""
    existing = {
        g.name: g for g in db.session.scalars(select(ProfessionalGroup).where(ProfessionalGroup.township_id == township.id))
    }
    for n, name in enumerate(GROUPS):
        if name not in existing:
            group = ProfessionalGroup(township_id=township.id, name=name)
            group.members = deputies[n * 5 : n * 5 + 5]
            db.session.add(group)
            existing[name] = group
    db.session.flush()
    return existing


def _topics(year: int, townships: list[Township]) -> int:
    """The year's 三议一评 topics in the towns, tracked, most of them evaluated by the year's end."""
    rng = random.Random(f"topics-{year}")
    towns = [t for t in townships if t.kind == "镇"]
    per_town = _spread(rng, TOPICS, len(towns))
    still_tracked = set(rng.sample(range(TOPICS), TOPICS_STILL_TRACKED))
    index, added = 0, 0
    for town, count in zip(towns, per_town):
        deputies = list(db.session.scalars(
            select(Deputy).where(Deputy.township_id == town.id, Deputy.retired.is_(False)).order_by(Deputy.id).limit(15)
        ))  # fmt: skip
        groups = _groups(town, deputies)
        titles = set(db.session.scalars(select(Topic.title).where(Topic.township_id == town.id, Topic.year == year)))
        for theme in rng.sample(THEMES, count):
            title, commitment, department, group_name = theme
            tracked = index in still_tracked
            index += 1
            taken = date(year, rng.randrange(1, 4), rng.randrange(1, 28))
            evaluated = None if tracked else date(year, rng.randrange(10, 13), rng.randrange(1, 28))
            votes = (rng.randrange(14, 26), rng.randrange(2, 8), rng.randrange(0, 3))
            people = [rng.randrange(4, 9) for _ in range(2)]
            if title in titles:
                continue
            topic = Topic(
                township_id=town.id, title=title, year=year, commitment=f"{year}年政府工作报告：{commitment}。",
                department=department, group_id=groups[group_name].id, created_at=_moment(taken, 9),
                status=(TopicStatus.TRACKING if tracked else TopicStatus.EVALUATED).value,
                votes_satisfied=None if tracked else votes[0], votes_basic=None if tracked else votes[1],
                votes_unsatisfied=None if tracked else votes[2], evaluated_on=evaluated,
                outcome=None if tracked else "承诺事项基本完成，专业小组继续跟踪后续工作。",
                closed_at=None if tracked else local_midnight_utc(evaluated),
            )  # fmt: skip
            db.session.add(topic)
            db.session.flush()
            for n, kind in enumerate(("inspection", "meeting")):
                day = taken + timedelta(days=40 + 90 * n)
                db.session.add(TopicRecord(
                    topic_id=topic.id, held_on=day, kind=kind, who=f"{group_name}代表{people[n]}名",
                    findings="现场查看进度，督促责任部门按期完成。" if kind == "inspection" else "听取责任部门汇报，提出整改意见。",
                    created_at=_moment(day),
                ))  # fmt: skip
            added += 1
    db.session.flush()
    return added


def _report_backs(year: int) -> int:
    """The term's report-backs up to the year's end: each deputy once, from a plan fixed for the term."""
    term = term_of(date(year, 12, 31))
    rng = random.Random(f"report-backs-{term.start.isoformat()}")
    deputies = list(db.session.scalars(
        select(Deputy.id).where(Deputy.level == "镇", Deputy.retired.is_(False)).order_by(Deputy.id)
    ))  # fmt: skip
    chosen = rng.sample(deputies, min(REPORT_BACKS_TERM, len(deputies)))
    # Spread over the term's first three full years: fewer early in the term, most in its third year.
    first_year = term.start.year + 1
    years = [first_year] * 40 + [first_year + 1] * 62 + [first_year + 2] * (len(chosen) - 102)
    have = set(db.session.execute(select(ReportBack.deputy_id, ReportBack.held_on)).tuples())
    added = 0
    for deputy_id, held_year in zip(chosen, years):
        day = _day(rng, date(held_year, 1, 1), date(held_year, 12, 31))
        voters = rng.randrange(30, 90)
        satisfied = rng.randrange(int(voters * 0.6), voters)
        basic = rng.randrange(0, voters - satisfied + 1)
        unsatisfied = rng.randrange(0, voters - satisfied - basic + 1)
        if held_year > year or (deputy_id, day) in have:
            continue
        db.session.add(ReportBack(
            deputy_id=deputy_id, held_on=day, place="村委会会议室", voters_present=voters, satisfied=satisfied,
            basic=basic, unsatisfied=unsatisfied,
            summary="报告一年来参加值班接待、联系群众和督办意见建议的情况。", created_at=_moment(day),
        ))  # fmt: skip
        added += 1
    db.session.flush()
    return added


def _evaluations(year: int, townships: list[Township]) -> int:
    """Special-work ratings in the year (one per town) and the term's 述职评议 of government heads up to it."""
    towns = [t for t in townships if t.kind == "镇"]
    term = term_of(date(year, 12, 31))
    rng = random.Random(f"evaluations-{term.start.isoformat()}")
    plan = []
    for n in range(HEADS_EVALUATED_TERM):
        town = towns[n % len(towns)]
        held_year = term.start.year + 1 + n % 3
        plan.append((town, EvaluationKind.HEAD_REPORT, f"{HEAD_POSTS[n % len(HEAD_POSTS)]}述职", held_year))
    year_rng = random.Random(f"special-work-{year}")
    for town in towns:
        plan.append((town, EvaluationKind.SPECIAL_WORK, year_rng.choice(SPECIAL_WORKS), year))
    have = set(db.session.execute(select(Evaluation.township_id, Evaluation.subject, Evaluation.held_on)).tuples())
    added = 0
    for town, kind, subject, held_year in plan:
        day = date(held_year, rng.randrange(1, 13), rng.randrange(1, 28))
        votes = (rng.randrange(20, 35), rng.randrange(2, 10), rng.randrange(0, 4))
        asks = votes[2] > 1
        if held_year > year or (town.id, subject, day) in have:
            continue
        evaluation = Evaluation(
            township_id=town.id, kind=kind.value, subject=subject, meeting=f"{town.name}人大主席团会议", held_on=day,
            satisfied=votes[0], basic=votes[1], unsatisfied=votes[2], result="satisfied" if votes[0] > 25 else "basic",
            rectification="针对代表提出的问题制定整改方案，三个月内报告整改情况。" if asks else None,
            rectification_due=day + timedelta(days=90) if asks else None, created_at=_moment(day),
        )  # fmt: skip
        db.session.add(evaluation)
        db.session.flush()
        if asks and day + timedelta(days=80) < date(year + 1, 1, 1):
            done_on = day + timedelta(days=80)
            db.session.add(EvaluationFollowUp(
                evaluation_id=evaluation.id, held_on=done_on, note="责任人已报告整改情况，代表视察后认可。", done=True,
                created_at=_moment(done_on),
            ))  # fmt: skip
            db.session.execute(update(Evaluation).where(Evaluation.id == evaluation.id).values(rectified_on=done_on))
        added += 1
    return added
