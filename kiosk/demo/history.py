"""A demo year of opinions at the hub, with the Luoding report's figures.

``flask --app wsgi demo history --year 2019``: 392 opinions left at the 21
townships' stations in the year, 362 of them closed (办结) by now, the other
30 declined, merged or still being handled, so the dashboard and the annual
report show "392 条，办结 362 条，办结率 92%" from the data.

Rules:
- Deterministic: the same year always gives the same opinions (seeded by
  the year; UUIDs derived from the year and a serial).
- Idempotent: opinions already at the hub are left alone, so running it
  twice does not double anything.
- The opinions arrive through the hub's sync store
  (``RECORD_TYPES["opinion"].store``), as if their stations had pushed
  them: townships and due dates are set exactly as in the field. Their
  final state (受理, 转办, 答复, 办结, ratings) is then written directly,
  with the year's dates: the workflow services stamp every step with the
  present moment, and a history needs the past. The rows written are those
  the services would leave (status, times, public reply, department,
  assignment, public events, counted rating), without audit rows, since no
  member of staff did any of it.
- Needs the demo places and categories (``flask demo load``); makes demo
  departments if the hub has none by those names.
"""

import logging
import random
import uuid as uuid_module
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import select, update

from .. import clock
from ..clock import iso, zone
from ..extensions import db
from ..models import (
    Assignment,
    AssignmentState,
    Category,
    Department,
    Opinion,
    OpinionEvent,
    OpinionStatus,
    Rating,
    RatingSource,
    Satisfaction,
    Station,
    StationLevel,
    Township,
)
from ..sync import records as sync_records
from ..workdays import add_working_days

log = logging.getLogger(__name__)

# The Luoding report, 2019 (DOMAIN.md).
COLLECTED = 392
CLOSED = 362
# The 30 not closed: (status, how many).
NOT_CLOSED = [
    (OpinionStatus.DECLINED, 9),
    (OpinionStatus.MERGED, 5),
    (OpinionStatus.FORWARDED, 7),
    (OpinionStatus.REPLIED, 4),
    (OpinionStatus.ACCEPTED, 3),
    (OpinionStatus.REOPENED, 2),
]
NAMESPACE = uuid_module.UUID("6f1d8e52-3b0c-4a57-9d2e-1c0b7a9e4f11")

# (category code, weight, department, what people said, public replies)
CATEGORIES = {
    "road": (
        20,
        "市交通运输局",
        [
            "村道路面破损，雨天积水难以通行。",
            "村口路灯坏了，晚上出行不安全。",
            "学校门口缺少减速带和斑马线。",
        ],
        "已安排修复路面并增设排水沟，现已完工。",
    ),
    "water": (
        15,
        "市水务局",
        [
            "灌溉水渠堵塞，下游农田用水困难。",
            "山塘水库堤坝有渗漏，请检查加固。",
            "自来水水压不足，高处住户用水难。",
        ],
        "已清理水渠并加固堤坝，灌溉恢复正常。",
    ),
    "environment": (
        12,
        "市生态环境局",
        ["垃圾收集点清运不及时，气味很大。", "河边有人乱倒建筑垃圾。", "养殖场污水直排，影响周边环境。"],
        "已督促增加清运频次并清理乱倒垃圾。",
    ),
    "edu-health": (
        10,
        "市卫生健康局",
        ["村卫生站缺少常用药品。", "希望学校增设课后托管服务。", "村卫生站医生每周坐诊时间太少。"],
        "已协调补充药品并调整坐诊安排。",
    ),
    "welfare": (
        12,
        "市民政局",
        ["独居老人希望增加上门探访。", "低保申请材料太多，办理不方便。", "残疾人补贴发放时间不清楚。"],
        "已向群众解释政策并协助办理。",
    ),
    "jobs": (
        6,
        "市人力资源和社会保障局",
        ["希望组织农村劳动力技能培训。", "返乡青年创业贷款政策咨询。"],
        "已纳入镇技能培训计划并告知报名方式。",
    ),
    "mediation": (
        8,
        "市司法局",
        ["邻里宅基地边界纠纷，希望调解。", "夜间大排档噪音扰民。"],
        "会同村委会和司法所调解，双方已达成一致。",
    ),
    "village": (
        12,
        "市农业农村局",
        ["村务公开栏长期未更新。", "希望公开村集体收入支出情况。"],
        "村委会已更新村务公开栏并按月公开财务。",
    ),
    "other": (
        5,
        "市交通运输局",
        ["建议在墟日增加公交班次。", "希望增设农村客运站点。"],
        "已协调增加墟日班次，并答复群众。",
    ),
}
# Share of opinions the township settles itself, without forwarding (转办).
SETTLED_BY_TOWNSHIP = 0.2
DEPARTMENT_PHONE = "0766-0000000"


def load_history(year: int = 2019) -> dict[str, int]:
    """Make ``year``'s demo opinions at the hub (missing ones only); return counts."""
    today = clock.today()
    if year >= today.year:
        raise ValueError(f"{year} 年还没有结束：演示历史只能生成已过去的年份。")
    townships = list(db.session.scalars(select(Township).order_by(Township.id)))
    # Kiosk opinions: never at a township's online station, which only numbers phone ones.
    stations = list(db.session.scalars(select(Station).where(Station.level != StationLevel.ONLINE).order_by(Station.code)))
    categories = {c.code for c in db.session.scalars(select(Category))}
    if not townships or not stations or not set(CATEGORIES) <= categories:
        raise ValueError("请先载入演示数据：flask --app wsgi demo load")
    departments = _departments()
    plan = _plan(year, townships, stations)
    have = set(db.session.scalars(select(Opinion.uuid).where(Opinion.uuid.in_([p["uuid"] for p in plan]))))
    missing = [p for p in plan if p["uuid"] not in have]
    kind = sync_records.RECORD_TYPES["opinion"]
    for item in missing:
        data = item["wire"]
        clean = kind.clean(data, data["station_code"])
        refusals = kind.store([(clean, sync_records.digest(data))], data["station_code"], item["received_at"])
        if refusals:
            raise ValueError(f"{data['receipt_number']}: {next(iter(refusals.values())).detail}")
    _settle(missing, departments)
    db.session.commit()
    log.info("demo history %s: %d opinions added, %d there already", year, len(missing), len(have))
    return {"added": len(missing), "already there": len(have)}


def _departments() -> dict[str, int]:
    """The demo departments by name, made if missing."""
    names = sorted({c[1] for c in CATEGORIES.values()})
    city = select(Department).where(Department.name.in_(names), Department.township_id.is_(None))
    existing = {d.name: d for d in db.session.scalars(city)}
    for name in names:
        if name not in existing:
            existing[name] = Department(name=name, contact_person="办公室", contact_phone=DEPARTMENT_PHONE)
            db.session.add(existing[name])
    db.session.flush()
    return {name: d.id for name, d in existing.items()}


def _spread(rng: random.Random, total: int, weights: list[float]) -> list[int]:
    """``total`` split in proportion to ``weights``, in whole numbers adding up exactly."""
    shares = [total * w / sum(weights) for w in weights]
    counts = [int(s) for s in shares]
    by_remainder = sorted(range(len(weights)), key=lambda i: (counts[i] - shares[i], rng.random()))
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _plan(year: int, townships: list[Township], stations: list[Station]) -> list[dict]:
    """Every opinion of the year: what the station sent, when, and how it ended."""
    rng = random.Random(year)
    per_township = _spread(rng, COLLECTED, [rng.uniform(0.6, 1.4) for _ in townships])
    outcomes = [OpinionStatus.CLOSED] * CLOSED + [s for s, n in NOT_CLOSED for _ in range(n)]
    assert len(outcomes) == COLLECTED
    rng.shuffle(outcomes)
    codes = list(CATEGORIES)
    weights = [CATEGORIES[c][0] for c in codes]
    serials: dict[tuple[str, date], int] = {}
    plan = []
    index = 0
    for township, count in zip(townships, per_township):
        local_stations = [s for s in stations if s.township_id == township.id]
        centre = [s for s in local_stations if s.level == StationLevel.CENTER] or local_stations
        for _ in range(count):
            station = rng.choice(centre if rng.random() < 0.4 else local_stations)
            day = date(year, 1, 1) + timedelta(days=rng.randrange(365))
            moment = datetime.combine(day, time(8, 30), tzinfo=zone()) + timedelta(
                minutes=rng.randrange(9 * 60)
            )
            created = moment.astimezone(timezone.utc)
            # A village box may be offline for a day or two before it pushes.
            received = created + timedelta(minutes=rng.choice((2, 5, 30, 240, 1500, 2900)))
            key = (station.code, day)
            serials[key] = serials.get(key, 0) + 1
            category = rng.choices(codes, weights)[0]
            _weight, department, contents, reply = CATEGORIES[category]
            opinion_uuid = str(uuid_module.uuid5(NAMESPACE, f"{year}-{index}"))
            plan.append(
                {
                    "uuid": opinion_uuid,
                    "received_at": received,
                    "township_id": township.id,
                    "outcome": outcomes[index],
                    "department": None if rng.random() < SETTLED_BY_TOWNSHIP else department,
                    "category_department": department,
                    "reply": reply,
                    "accept_hours": rng.choice((1, 3, 20, 26)),
                    "days_to_close": rng.choice((3, 5, 6, 8, 10, 12, 14, 16, 18, 21, 25)),
                    "rating": rng.choices(["satisfied", "basic", None], [70, 18, 12])[0],
                    "wire": {
                        "uuid": opinion_uuid,
                        "receipt_number": f"{station.code}-{day:%y%m%d}-{serials[key]:04d}",
                        "secret": "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(6)),
                        "station_code": station.code,
                        "category": category,
                        "content": rng.choice(contents),
                        "deputy_id": None,
                        "consent_version": None,
                        "contact_name": None,
                        "contact_phone": None,
                        "created_at": iso(created),
                    },
                }
            )
            index += 1
    return plan


def _settle(plan: list[dict], departments: dict[str, int]) -> None:
    """Write each opinion's final state, its public events, assignment and rating."""
    S = OpinionStatus
    # Merged duplicates join a closed opinion of their own township.
    originals = {}
    for item in plan:
        if item["outcome"] == S.CLOSED:
            originals.setdefault(item["township_id"], item)
    changes, events, assignments, ratings = [], [], [], []
    for item in plan:
        outcome = item["outcome"]
        received = item["received_at"]
        change = {"uuid": item["uuid"], "status": outcome.value}

        def event(status, at, note=None, uuid=item["uuid"]):
            events.append(
                {"opinion_uuid": uuid, "status": status.value, "at": sync_records.naive_utc(at), "note": note}
            )

        if outcome in (S.DECLINED, S.MERGED):
            done = received + timedelta(hours=item["accept_hours"])
            if outcome == S.DECLINED:
                reason = "不属于镇人大办受理范围，已告知群众向有关部门反映。"
                change.update(public_reply=reason, closed_at=done)
                event(S.DECLINED, done, f"不予受理：{reason}")
            else:
                original = originals[item["township_id"]]
                change.update(merged_into_uuid=original["uuid"])
                event(
                    S.MERGED,
                    done,
                    f"与回执 {original['wire']['receipt_number']} 的同类意见合并办理，办理进展见本页。",
                )
            change["updated_at"] = done
            changes.append(change)
            continue
        accepted = received + timedelta(hours=item["accept_hours"])
        change.update(accepted_at=accepted, updated_at=accepted)
        event(S.ACCEPTED, accepted, "已受理。")
        closed = received + timedelta(days=item["days_to_close"])
        department = None
        if outcome in (S.FORWARDED, S.REPLIED):  # with a department now, or back from one
            department = departments[item["category_department"]]
        elif outcome != S.ACCEPTED and item["department"]:
            department = departments[item["department"]]
        if department is not None:
            forwarded = accepted + timedelta(hours=2)
            replied = closed - timedelta(days=1) if outcome != S.FORWARDED else None
            assignments.append(
                {
                    "opinion_uuid": item["uuid"],
                    "department_id": department,
                    "state": (AssignmentState.REPLIED if replied else AssignmentState.ACTIVE).value,
                    "forwarded_at": forwarded,
                    "due_on": add_working_days(forwarded.astimezone(zone()).date(), 10),
                    "reply": item["reply"] if replied else None,
                    "replied_at": replied,
                }
            )
            change.update(department_id=department, updated_at=replied or forwarded)
            event(S.FORWARDED, forwarded, "已转交有关部门办理。")
            if replied:
                event(S.REPLIED, replied, "有关部门已答复。")
        if outcome in (S.CLOSED, S.REOPENED):
            change.update(public_reply=item["reply"], closed_at=closed, updated_at=closed)
            event(S.CLOSED, closed, "已办结，答复已公开。")
            rating = "unsatisfied" if outcome == S.REOPENED else item["rating"]
            if rating:
                rated = closed + timedelta(days=3)
                ratings.append(
                    {
                        "uuid": str(uuid_module.uuid5(NAMESPACE, f"rating-{item['uuid']}")),
                        "opinion_uuid": item["uuid"],
                        "round": 0,
                        "value": Satisfaction(rating).value,
                        "source": RatingSource.FOLLOW_UP.value,
                        "created_at": rated,
                        "counted": True,
                        "hub_received_at": rated,
                    }
                )
                change.update(satisfaction=rating, updated_at=rated)
            if outcome == S.REOPENED:
                reopened = closed + timedelta(days=3)
                change.update(closed_at=None, reopen_count=1)
                event(S.REOPENED, reopened, "群众对办理结果不满意，已退回镇人大办重新办理。")
        changes.append(change)
    for change in changes:
        db.session.execute(update(Opinion).where(Opinion.uuid == change["uuid"]).values(**change))
    for row in assignments:
        db.session.add(Assignment(**row))
    for row in ratings:
        db.session.add(Rating(**row))
    sync_records.insert_many(OpinionEvent.__table__, events)
