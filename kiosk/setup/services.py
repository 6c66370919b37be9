"""The city's set-up: townships, categories, departments, stations, accounts.

Each write takes the acting ``User`` first, checks its rules, writes one
audit row (subject like ``category:road``, the changed fields before and
after, never a password) in the same transaction, logs one line and
commits. A refused write raises ``Refused`` with a Chinese message and
changes nothing; a save that changes nothing writes nothing. Stations hear
of changed townships, categories and stations through the sync change
listener; nothing here needs to tell them. Accounts are made and changed by
``kiosk.auth.services``, which the ``users`` commands share.
"""

import logging
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from .. import audit
from ..auth import services as accounts
from ..extensions import db
from ..models import Category, Department, Station, StationLevel, Township, User
from ..parsing import bounded_int
from ..refusals import Refused
from ..sync import registry

log = logging.getLogger(__name__)


def _values(obj, fields) -> dict:
    return {f: getattr(obj, f) for f in fields}


def _apply(actor: User, obj, action: str, subject_of, changes: dict) -> bool:
    """Set ``changes`` on ``obj``, audit what differs and commit; False if nothing did."""
    before = {f: getattr(obj, f) for f, v in changes.items() if getattr(obj, f) != v}
    if not before:
        return False
    for field in before:
        setattr(obj, field, changes[field])
    audit.record(
        action, actor=actor, subject=subject_of(obj), before=before, after={f: changes[f] for f in before}
    )
    _commit()
    log.info("%s %s by %s: %s", action, subject_of(obj), actor.username, ", ".join(before))
    return True


def _create(actor: User, obj, action: str, subject_of, fields) -> None:
    db.session.add(obj)
    _commit(flush_only=True)  # the new row's id, for the audit subject
    audit.record(action, actor=actor, subject=subject_of(obj), after=_values(obj, fields))
    _commit()
    log.info("%s %s by %s", action, subject_of(obj), actor.username)


def _commit(flush_only: bool = False) -> None:
    try:
        if flush_only:
            db.session.flush()
        else:
            db.session.commit()
    except IntegrityError:
        # Someone else took the same name between our check and the commit.
        db.session.rollback()
        raise Refused("已有同名的记录，请换一个。", "name")


def _unique(model, column, value, current=None, message="", field="name") -> None:
    query = select(model).where(func.lower(column) == value.lower())
    found = db.session.scalar(query)
    if found is not None and found is not current:
        raise Refused(message, field)


# --- townships --------------------------------------------------------------

TOWNSHIP_FIELDS = ("name", "kind", "office_phone")


def _township_subject(t: Township) -> str:
    return f"township:{t.id}"


def save_township(
    actor: User, township: Township | None, *, name: str, kind: str, office_phone: str | None
) -> Township:
    """Add a township (``township`` None) or change one. Names are unique."""
    _unique(Township, Township.name, name, township, f"已有名为“{name}”的镇街。")
    changes = {"name": name, "kind": kind, "office_phone": office_phone}
    if township is None:
        township = Township(**changes)
        _create(actor, township, "township.create", _township_subject, TOWNSHIP_FIELDS)
    else:
        _apply(actor, township, "township.update", _township_subject, changes)
    return township


# --- categories -------------------------------------------------------------

CATEGORY_FIELDS = ("code", "name", "icon", "position", "active", "accept_days", "answer_days")


def _category_subject(c: Category) -> str:
    return f"category:{c.code}"


def save_category(actor: User, category: Category | None, *, code: str | None = None, **values) -> Category:
    """Add a category (with ``code``) or change one; the code never changes.

    ``values``: name, icon, position, active, accept_days, answer_days. Codes
    and names are unique. New limits apply to opinions received from now on.
    """
    _unique(Category, Category.name, values["name"], category, f"已有名为“{values['name']}”的类别。")
    if category is None:
        if db.session.get(Category, code) is not None:
            raise Refused(f"代码 {code} 已被使用。", "code")
        category = Category(code=code, **values)
        _create(actor, category, "category.create", _category_subject, CATEGORY_FIELDS)
    else:
        _apply(actor, category, "category.update", _category_subject, values)
    return category


# --- departments ------------------------------------------------------------

DEPARTMENT_FIELDS = ("name", "contact_person", "contact_phone", "township_id", "active")


def _department_subject(d: Department) -> str:
    return f"department:{d.id}"


def may_manage_department(actor: User, township_id: int | None) -> bool:
    """City staff manage every department; a township's staff and chair only their township's own."""
    return actor.is_city or (township_id is not None and township_id == actor.township_id)


def save_department(
    actor: User,
    department: Department | None,
    *,
    name: str,
    contact_person: str | None,
    contact_phone: str | None,
    township_id: int | None = None,
) -> Department:
    """Add a department or change one: the city's (``township_id`` None) or a township's own.

    Township staff add and change only their own township's (``township_id``
    is then theirs, whatever was asked). A name is unique within its
    township, inactive ones included; a township's may not take the name of
    a city department either, since its clerks choose among both.
    """
    if not actor.is_city:
        township_id = actor.township_id
    if not may_manage_department(actor, township_id) or (
        department is not None and not may_manage_department(actor, department.township_id)
    ):
        raise Refused("只能管理本镇街自己的部门；市直部门由市人大常委会管理。")
    if township_id is not None and db.session.get(Township, township_id) is None:
        raise Refused("没有这个镇街。", "township_id")
    _unique_department(name, township_id, department)
    changes = {"name": name, "contact_person": contact_person, "contact_phone": contact_phone, "township_id": township_id}
    if department is None:
        department = Department(**changes, active=True)
        _create(actor, department, "department.create", _department_subject, DEPARTMENT_FIELDS)
    else:
        _apply(actor, department, "department.update", _department_subject, changes)
    return department


def _unique_department(name: str, township_id: int | None, current: Department | None) -> None:
    same = select(Department).where(func.lower(Department.name) == name.lower(), Department.id != (current.id if current else -1))
    if db.session.scalar(same.where(Department.township_id.is_(None)).limit(1)) is not None:
        raise Refused(f"已有名为“{name}”的市直部门。", "name")
    if township_id is not None and db.session.scalar(same.where(Department.township_id == township_id).limit(1)):
        raise Refused(f"本镇街已有名为“{name}”的部门。", "name")


def set_department_active(actor: User, department: Department, active: bool) -> None:
    """Stop offering a department for forwarding, or offer it again.

    Its past assignments stay as they are.
    """
    if not may_manage_department(actor, department.township_id):
        raise Refused("只能管理本镇街自己的部门；市直部门由市人大常委会管理。")
    action = "department.reactivate" if active else "department.deactivate"
    _apply(actor, department, action, _department_subject, {"active": active})


# --- stations ---------------------------------------------------------------

STATION_FIELDS = ("code", "name", "level", "township_id", "address")


def _station_subject(s: Station) -> str:
    return f"station:{s.code}"


def register_station(
    actor: User, *, code: str, name: str, level: str, township: Township, address: str | None
) -> str:
    """Register a station through the sync hub; return its one-time enrolment token.

    Codes are unique and never reused. The station, its first token and the
    audit row commit together.
    """
    if db.session.get(Station, code) is not None:
        raise Refused(
            f"站点代码 {code} 已被使用。需要给已登记的站换机器时，请在该站页面发新的登记码。", "code"
        )
    after = {"code": code, "name": name, "level": level, "township_id": township.id, "address": address}
    if level == StationLevel.ONLINE:
        return _register_online_station(actor, after, township)
    audit.record("station.register", actor=actor, subject=f"station:{code}", after=after)
    try:
        return registry.register_station(code, name, township.name, level, address=address)
    except (ValueError, IntegrityError) as error:
        db.session.rollback()
        raise Refused(
            f"没有登记：{error}" if isinstance(error, ValueError) else f"站点代码 {code} 已被使用。", "code"
        )


def _register_online_station(actor: User, after: dict, township: Township) -> None:
    """A township's online station: a code that numbers its phone opinions, no box and no token. Commits."""
    if db.session.scalar(
        select(Station.code).where(Station.township_id == township.id, Station.level == StationLevel.ONLINE)
    ):
        raise Refused(f"{township.name}已有网上联络站：每个镇街只有一个。", "level")
    audit.record("station.register", actor=actor, subject=f"station:{after['code']}", after=after)
    db.session.add(Station(**after))
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Refused(f"站点代码 {after['code']} 已被使用。", "code")
    return None


def update_station(actor: User, station: Station, *, name: str, level: str, address: str | None) -> bool:
    """Change a station's name, level or address (its code and township stay).

    Never to or from ``online``: a box's station numbers its own receipts,
    the online one the hub's phone opinions, and neither may take the other's.
    """
    if (level == StationLevel.ONLINE) != station.is_online:
        raise Refused("网上联络站和有一体机的联络站不能互换层级。", "level")
    return _apply(
        actor, station, "station.update", _station_subject, {"name": name, "level": level, "address": address}
    )


def issue_token(actor: User, station: Station) -> str:
    """A fresh one-time enrolment token for a new or replaced box.

    Earlier tokens still work until used or expired (24 hours).
    """
    audit.record("station.token", actor=actor, subject=_station_subject(station))
    return registry.issue_token(station.code)


def revoke_station(actor: User, station: Station, reason: str) -> None:
    """Refuse the station's key from now on, with the reason in the audit log.

    The station's records stay; a box needs a new token to enrol again.
    """
    audit.record("station.revoke", actor=actor, subject=_station_subject(station), note=reason)
    try:
        registry.revoke_station(station.code)
    except ValueError:
        db.session.rollback()
        raise Refused(f"联络站 {station.code} 还没有登记过机器，没有可吊销的密钥。")


# --- accounts ---------------------------------------------------------------
# Accounts are made and changed by kiosk.auth.services (shared with the
# `users` commands); only the page's own rule lives here.


def set_user_active(actor: User, user: User, active: bool) -> None:
    """Stop an account (its open sessions end at once) or let it sign in again.

    Nobody stops their own account here: the city would lock itself out.
    """
    if not active and user.id == actor.id:
        raise Refused("不能停用自己正在使用的账号。")
    try:
        accounts.set_active(user.username, active, actor=actor)
    except accounts.AccountRefused as refusal:
        raise Refused(refusal.message)


# --- fleet ------------------------------------------------------------------


def fleet(township: Township | None = None) -> list[tuple[registry.StationRow, str]]:
    """The rows of ``stations list --all`` (registry.station_overview), each with its station's level.

    With ``township``, only that township's stations. Stations with a
    problem come first, the worst kind first (``fleet_problems``), then
    the enrolled ones that are well, the revoked; within each, by township
    and code. Read only.
    """
    levels = dict(db.session.execute(select(Station.code, Station.level)).all())
    townships = dict(db.session.execute(select(Township.name, Township.id)).all())
    rows = registry.station_overview()
    if township is not None:
        rows = [row for row in rows if row.township == township.name]
    rows.sort(key=lambda row: (_fleet_rank(row), townships.get(row.township, 0), row.code))
    return [(row, levels[row.code]) for row in rows]


ENROLLED, UNENROLLED, REVOKED = "正常", "未登记", "已吊销"
# ?show= on the fleet page: which stations.
FLEET_FILTERS = {"problems": "有问题", "enrolled": "已登记", "unenrolled": "未登记", "silent": "失联"}
# Records still waiting at a station's last contact from which its backlog is a problem:
# a station reports what waits as it pushes, so a few are the sync under way.
BACKLOG_PROBLEM = 100
# Printer reports that are no trouble: working, or a station set up without a printer.
PRINTER_FINE = {"no printer", "idle", "rendering", "queued", "printing", "printed"}
# The kinds of problem, in the order the fleet lists them.
SILENT, BACKLOG, PRINTER, NEVER_ENROLLED = "silent", "backlog", "printer", "unenrolled"
_PROBLEM_RANK = {SILENT: 0, BACKLOG: 1, PRINTER: 2, NEVER_ENROLLED: 3}
FLEET_PAGE_SIZE = 40


def fleet_problems(row: registry.StationRow) -> list[tuple[str, str]]:
    """(kind, words) of each problem of a station, the worst first: silent, backlog, printer, never enrolled."""
    problems = []
    if row.silent:
        problems.append((SILENT, "登记后从未联系" if row.last_contact_at is None else "超过一天没有联系"))
    if row.state == ENROLLED and (row.backlog or 0) >= BACKLOG_PROBLEM:
        problems.append((BACKLOG, f"积压 {row.backlog} 条未送"))
    if row.state == ENROLLED and row.printer and row.printer not in PRINTER_FINE:
        problems.append((PRINTER, f"打印机：{printer_label(row.printer)}"))
    if row.state == UNENROLLED:
        problems.append((NEVER_ENROLLED, "从未登记"))
    return problems


def _fleet_rank(row: registry.StationRow) -> int:
    problems = fleet_problems(row)
    if problems:
        return _PROBLEM_RANK[problems[0][0]]
    return len(_PROBLEM_RANK) + (row.state == REVOKED)


def fleet_filtered(rows, show: str):
    """Only those with a problem, the enrolled (正常 or revoked), the not enrolled, or the silent ones ('' = all)."""
    if show == "problems":
        return [(r, lv) for r, lv in rows if fleet_problems(r)]
    if show == "enrolled":
        return [(r, lv) for r, lv in rows if r.state != UNENROLLED]
    if show == "unenrolled":
        return [(r, lv) for r, lv in rows if r.state == UNENROLLED]
    if show == "silent":
        return [(r, lv) for r, lv in rows if r.silent]
    return rows


@dataclass(frozen=True)
class FleetPage:
    rows: list
    number: int  # 1-based
    count: int  # how many pages (at least one)
    first: int  # the first row's position, 1-based (0 when there are none)
    last: int
    total: int


def fleet_page(rows: list, asked) -> FleetPage:
    """Page ``asked`` (the ``page`` argument, read as every number from a request) of the rows;
    a page beyond the last is the last, anything unreadable the first."""
    count = max(1, -(-len(rows) // FLEET_PAGE_SIZE))
    number = bounded_int(asked) or 1
    number = min(number, count)
    start = (number - 1) * FLEET_PAGE_SIZE
    shown = rows[start : start + FLEET_PAGE_SIZE]
    return FleetPage(shown, number, count, start + 1 if shown else 0, start + len(shown), len(rows))


@dataclass(frozen=True)
class FleetSummary:
    total: int
    enrolled: int  # 正常: a box enrolled and its key valid
    revoked: int
    unenrolled: int
    never_contacted: int  # enrolled, not a word since
    silent: int  # enrolled, no contact for more than a day (never contacted included)
    backlog: int  # enrolled, BACKLOG_PROBLEM records or more waiting
    printer: int  # enrolled, printer in trouble


def fleet_summary(rows) -> FleetSummary:
    """The counts above the fleet table: a station never set up is not silent, and one enrolled but
    never heard from is counted on its own."""
    states = [row.state for row, _level in rows]
    return FleetSummary(
        total=len(rows),
        enrolled=states.count(ENROLLED),
        revoked=states.count(REVOKED),
        unenrolled=states.count(UNENROLLED),
        never_contacted=sum(1 for row, _ in rows if row.state == ENROLLED and row.last_contact_at is None),
        silent=sum(1 for row, _ in rows if row.silent),
        backlog=sum(1 for row, _ in rows if any(kind == BACKLOG for kind, _ in fleet_problems(row))),
        printer=sum(1 for row, _ in rows if any(kind == PRINTER for kind, _ in fleet_problems(row))),
    )


# What a station reports of its receipt printer (kiosk.sync.station.report), in Chinese.
PRINTER_STATES = {
    "no printer": "未接打印机",
    "idle": "已接，尚未打印",
    "rendering": "正在生成回执",
    "queued": "排队等待打印",
    "printing": "正在打印",
    "printed": "正常（上一张已打印）",
    "failed": "上一张打印失败",
    # What a thermal printer says of itself (kiosk.receipts.printing).
    "paper out": "缺纸",
    "cover open": "纸仓盖打开",
    "offline": "打印机未连接",
    "printer error": "打印机故障",
}


def printer_label(state: str | None) -> str:
    """A station's printer state in Chinese; a state this hub does not know shows as sent."""
    if not state:
        return ""
    return PRINTER_STATES.get(state, state)
