"""Who may open what: every staff route, enumerated from the URL map.

- Every page under /staff needs a signed-in member of staff (htmx requests
  get a 401 with ``HX-Redirect`` to the sign-in page).
- Township scoping holds on every route that names an opinion, an
  assignment, a station, a duty shift or a township, for pages, htmx fragments, exports and the
  report: staff of township A asking for township B's gets a 404 and a
  "denied" audit row; city staff get the page.
- The set-up pages are for city staff only; key supervision for chairs and
  city staff, extension decisions for chairs.
- City staff supervise: in every township they set key supervision, remind
  and put opinions in topics; the processing actions are the township's,
  missing from their pages with a line saying so, and refused when posted.
- Every form refuses a POST without its CSRF token and changes nothing; only
  the signed machine-to-machine sync API is exempt.
- Open311 is public and carries no personal data.

The routes come from the URL map, so a new route cannot be missed: a route
whose URL argument this module does not know how to fill fails the tests
until it is given an entry in ``ARGS``.
"""

import hashlib
import html
import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from kiosk.extensions import db
from kiosk.deputy_work import services as work
from kiosk.models import (
    Activity,
    Assignment,
    AuditEntry,
    Category,
    Department,
    Deputy,
    DeskNote,
    DiaryEntry,
    DutyShift,
    Evaluation,
    EvaluationFollowUp,
    Opinion,
    OpinionEvent,
    ProfessionalGroup,
    Rating,
    ReportBack,
    Station,
    SuggestionAttachment,
    Topic,
    TopicRecord,
    Township,
    User,
    VoiceMessage,
)
from kiosk.staff import actions, services
from kiosk.workdays import add_working_days
from tests.support.factories import make_opinion, make_user, receive_opinion, sign_in
from tests.support.snapshots import opinion_state, row_counts

HTMX = {"HX-Request": "true"}
STAFF_TOKEN = re.compile(r'"X-CSRFToken":\s*"([^"]+)"')
FORM_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
CSRF_REFUSAL = "页面已过期"
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

TOWNSHIP_A = "罗城街道"
TOWNSHIP_B = "素龙街道"
# Text only township B's opinions hold: it must never show to township A.
B_MARKERS = ("素龙独有的意见：水渠堵塞", "黄小梅")

# Staff pages live under /staff (whatever their blueprint); these are open without signing in.
STAFF_PREFIX = "/staff"
# The city's set-up and the audit log: for city staff only, but for the departments, where
# a township's staff manage their own (镇村建办, 村委会…).
CITY_BLUEPRINTS = {"setup", "audit_log"}
DEPARTMENT_ROUTES = {"setup.departments", "setup.new_department", "setup.edit_department", "setup.set_department_active"}
OPEN_STAFF_ROUTES = {"auth.login", "auth.logout"}
# Routes that take ``?township=`` and must answer another township with 404 and an audit row.
TOWNSHIP_QUERY_ROUTES = {
    "staff.queue", "stats.dashboard", "stats.export", "stats.report", "deputy_admin.index", "phone_admin.index",
    "deputy_work.index", "deputy_work.deputies_table",
}  # fmt: skip
# The only writes without a CSRF token: the sync API, authenticated by signatures.
CSRF_EXEMPT = {"sync_api.enrol", "sync_api.push", "sync_api.pull", "sync_api.receive_voice", "sync_api.unknown"}
# Reads of the sync API open to anyone: published releases, public code checked by
# the box against the hub's signature (tests/test_release.py).
SYNC_API_OPEN_READS = {"sync_api.release_file"}


# --- the objects the URLs point at ------------------------------------------------------------


@dataclass
class Side:
    """One township's objects: a forwarded opinion (with its assignment and a replacement receipt),
    a received one, a topic and a duty shift."""

    township_id: int
    station: str
    uuid: str
    receipt_number: str
    assignment_id: int
    fresh_uuid: str
    fresh_number: str
    topic_id: int
    shift_id: int  # a duty shift at the station
    station_name: str
    deputy_id: int  # a deputy of the township
    activity_uuid: str  # a contact activity at the station
    group_id: int  # a professional group
    evaluation_id: int  # an evaluation with a rectification asked for
    public_id: str  # the deputy's public id


@dataclass
class World:
    a: Side
    b: Side
    department_id: int
    target_user_id: int  # an account the admin routes can point at
    year: int
    soon: str = ""  # a working day three working days ahead
    later: str = ""  # thirty working days ahead
    category: str = "road"
    users: dict[str, int] = field(default_factory=dict)
    diary_entry_id: int = 1  # a 履职日记 entry (the desk's sweep makes one of a deputy of B)


def _side(township: str, city: User, department: Department, content: str, name: str, phone: str) -> Side:
    township_id = db.session.scalar(select(Township.id).where(Township.name == township))
    office = make_user(role="township", township=township)  # the township processes its opinions
    station = db.session.scalar(
        select(Station.code).where(Station.township_id == township_id).order_by(Station.code).limit(1)
    )
    main = receive_opinion(station, content=content, contact_name=name, contact_phone=phone)
    # Spoken too: its recording is played on the opinion page (a staff route of its own).
    db.session.add(VoiceMessage(opinion_uuid=main.uuid, sha256="0" * 64, size=4, duration_ms=3000, data=b"webm", confirmed_at=main.hub_received_at))
    fresh = receive_opinion(station, content=content + "（另一条）", contact_name=name, contact_phone=phone)
    services.accept(office, main)
    assignment = services.forward(office, main, department)
    services.replace_receipt(office, main)
    topic = services.create_topic(city, township_id, f"{township}专题")
    place = db.session.get(Station, station)
    deputy = place.deputies[0] if place.deputies else db.session.scalars(select(Deputy).limit(1)).one()
    shift = DutyShift(station_code=station, deputy_id=deputy.id, on=services.today() + timedelta(days=7))
    db.session.add(shift)
    db.session.commit()
    activity = work.record_activity(office, place, services.today(), 12, f"{township}的村道", [deputy.id])
    group = work.save_group(office, township_id, f"{township}城建小组", [deputy.id])
    evaluation = work.record_evaluation(
        office, township_id, "special_work", f"{township}垃圾分类", "主席团会议", services.today(), 10, 2, 1,
        "basic", "加快清运", None,
    )  # fmt: skip
    return Side(
        township_id, station, main.uuid, main.receipt_number, assignment.id, fresh.uuid, fresh.receipt_number,
        topic.id, shift.id, place.name, deputy.id, activity.uuid, group.id, evaluation.id, deputy.public_id,
    )  # fmt: skip


@pytest.fixture
def world(hub) -> World:
    with hub.app_context():
        city = make_user(role="city", township=None)
        department = Department(name="水务局", contact_person="王科长", contact_phone="0766-3822111")
        db.session.add(department)
        db.session.commit()
        a = _side(TOWNSHIP_A, city, department, "罗城的路灯坏了三个月。", "陈大文", "13800138000")
        b = _side(TOWNSHIP_B, city, department, B_MARKERS[0], B_MARKERS[1], "13912345678")
        target = make_user(role="township", township=TOWNSHIP_B)
        users = {
            "township": make_user(role="township", township=TOWNSHIP_A).id,
            "chair": make_user(role="chair", township=TOWNSHIP_A).id,
            "city": city.id,
        }
        today = services.today()
        return World(
            a, b, department.id, target.id, today.year, users=users,
            soon=add_working_days(today, 3).isoformat(), later=add_working_days(today, 30).isoformat(),
        )  # fmt: skip


# --- filling in a rule's URL ------------------------------------------------------------------

# Per URL argument name: its value for township B's objects (or the one object there is).
# A rule with an argument missing here fails ``test_every_route_argument_is_known``.
CODE_ARGUMENTS = {
    "/staff/admin/categories/": "category",
    "/staff/admin/stations/": "station",
    "/staff/roster/": "station",
    "/open311/v2/services/": "category",
    "/s/": "station",
    "/staff/posters/stations/": "station",
}


def _code_kind(rule) -> str:
    for prefix, kind in CODE_ARGUMENTS.items():
        if rule.rule.startswith(prefix):
            return kind
    raise LookupError(f"{rule.rule}: which code? add it to CODE_ARGUMENTS")


def _code(world: World, rule) -> str:
    return world.category if _code_kind(rule) == "category" else world.b.station


ARGS = {
    "uuid": lambda w, rule: w.b.uuid,
    "assignment_id": lambda w, rule: w.b.assignment_id,
    "year": lambda w, rule: w.year,
    "code": _code,
    "department_id": lambda w, rule: w.department_id,
    "user_id": lambda w, rule: w.target_user_id,
    "township_id": lambda w, rule: w.b.township_id,
    "shift_id": lambda w, rule: w.b.shift_id,
    "change": lambda w, rule: "deactivate",
    "number": lambda w, rule: w.b.receipt_number,
    "anything": lambda w, rule: "no-such-call",
    "filename": lambda w, rule: "css/staff.css",
    "step": lambda w, rule: "category",
    "job_id": lambda w, rule: "00000000-0000-4000-8000-000000000000",
    "deputy_id": lambda w, rule: w.b.deputy_id,
    "public_id": lambda w, rule: w.b.public_id,
    "sha": lambda w, rule: "0" * 64,
    "sha256": lambda w, rule: "0" * 64,
    "offset": lambda w, rule: 0,
    "screen": lambda w, rule: "home",
    "language": lambda w, rule: "mandarin",
    "entry_id": lambda w, rule: w.diary_entry_id,
    "activity_uuid": lambda w, rule: w.b.activity_uuid,
    "topic_id": lambda w, rule: w.b.topic_id,
    "group_id": lambda w, rule: w.b.group_id,
    "evaluation_id": lambda w, rule: w.b.evaluation_id,
    "name": lambda w, rule: "kiosk-0.0.tar.gz",
}
# Arguments that point at township B's objects: a route taking one of them is township-scoped
# (so is one taking a station's code).
SCOPED_ARGUMENTS = {
    "uuid", "assignment_id", "township_id", "shift_id", "deputy_id", "activity_uuid", "topic_id", "group_id",
    "evaluation_id",
}  # fmt: skip


def is_scoped(rule) -> bool:
    return bool(set(rule.arguments) & SCOPED_ARGUMENTS) or (
        "code" in rule.arguments and _code_kind(rule) == "station"
    )


def own_url(world: World, rule) -> str:
    """``rule``'s URL for township A's objects."""
    own = {"uuid": world.a.uuid, "assignment_id": world.a.assignment_id, "township_id": world.a.township_id,
           "shift_id": world.a.shift_id, "code": world.a.station, "deputy_id": world.a.deputy_id,
           "activity_uuid": world.a.activity_uuid, "topic_id": world.a.topic_id, "group_id": world.a.group_id,
           "evaluation_id": world.a.evaluation_id}  # fmt: skip
    values = {name: own[name] if name in own else ARGS[name](world, rule) for name in rule.arguments}
    if "code" in values and _code_kind(rule) != "station":
        values["code"] = ARGS["code"](world, rule)
    return rule.build(values, append_unknown=False)[1]


def url(world: World, rule) -> str:
    return rule.build({name: ARGS[name](world, rule) for name in rule.arguments}, append_unknown=False)[1]


def rules(app, *, blueprints=None, methods=None):
    """The app's rules, sorted, optionally only those of ``blueprints`` or allowing one of ``methods``."""
    found = []
    for rule in app.url_map.iter_rules():
        blueprint = rule.endpoint.rpartition(".")[0]
        if blueprints is not None and blueprint not in blueprints:
            continue
        if methods is not None and not rule.methods & methods:
            continue
        found.append(rule)
    return sorted(found, key=lambda r: (r.rule, r.endpoint))


def staff_rules(app):
    """Every rule under /staff but the sign-in page."""
    return [r for r in rules(app) if r.rule.startswith(STAFF_PREFIX) and r.endpoint != "auth.login"]


def is_city_only(rule) -> bool:
    return rule.endpoint.rpartition(".")[0] in CITY_BLUEPRINTS and rule.endpoint not in DEPARTMENT_ROUTES


def verbs(rule) -> list[str]:
    return sorted(rule.methods & ({"GET"} | WRITE_METHODS))


# --- clients ----------------------------------------------------------------------------------


class Browser:
    """A member of staff's browser: GETs, and writes with the page's CSRF token (or without)."""

    def __init__(self, app, user_id: int | None):
        self.app = app
        self.user_id = user_id
        self.client = app.test_client()
        if user_id is None:
            self.token = FORM_TOKEN.search(self.client.get("/staff/login").text).group(1)
        else:
            sign_in(self.client, SimpleNamespace(id=user_id))
            self.token = STAFF_TOKEN.search(self.client.get("/staff/welcome").text).group(1)

    def open(self, method, path, data=None, htmx=False, csrf=True, **kwargs):
        headers = dict(HTMX) if htmx else {}
        if csrf and method != "GET":
            headers["X-CSRFToken"] = self.token
        answer = self.client.open(path, method=method, data=data, headers=headers, **kwargs)
        # Read a streamed answer (an export) to its end, so its transaction ends before the next request.
        answer.get_data()
        answer.close()
        return answer


def denied_rows(app, user_id: int) -> list[tuple[str | None, str | None]]:
    with app.app_context():
        rows = db.session.execute(
            select(AuditEntry.opinion_uuid, AuditEntry.subject)
            .where(AuditEntry.action == "denied", AuditEntry.user_id == user_id)
            .order_by(AuditEntry.id)
        ).all()
        return [tuple(row) for row in rows]


def snapshot(app, side: Side) -> dict:
    """Everything about one township's objects that a request could change (the audit log aside)."""
    with app.app_context():
        state = {uuid: opinion_state(uuid) for uuid in (side.uuid, side.fresh_uuid)}
        state.update(row_counts(OpinionEvent, Assignment, Topic, Rating))
        state.update(row_counts(Activity, ReportBack, ProfessionalGroup, TopicRecord, Evaluation, EvaluationFollowUp))
        state["topics"] = [tuple(t) for t in db.session.execute(select(Topic.id, Topic.status, Topic.group_id).order_by(Topic.id))]
        state["writes"] = db.session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action.notin_(["denied", "export"]))
        )
        return state


def fingerprint(app, skip=("staff_sessions",)) -> str:
    """A digest of every table's rows (the live sessions' last-seen times aside)."""
    digest = hashlib.sha256()
    with app.app_context():
        for table in db.metadata.sorted_tables:
            if table.name in skip:
                continue
            rows = db.session.execute(select(table).order_by(*table.primary_key.columns)).all()
            digest.update(f"{table.name}:{rows!r}".encode())
    return digest.hexdigest()


def action_data(endpoint: str, world: World, method: str = "POST") -> dict | None:
    """Form fields that would carry the action out on township B's forwarded opinion.

    Named with the form's prefix, as the opinion page sends them; None for a GET.
    """
    if method == "GET":
        return None
    side, original = world.b, world.b.fresh_number
    fields = {
        "accept": {"note": "请尽快办理"},
        "forward": {"department": world.department_id, "due_on": world.soon, "instructions": "一周内"},
        "return_assignment": {"assignment": side.assignment_id, "reason": "不归本部门管"},
        "request_extension": {"assignment": side.assignment_id, "until": world.later, "reason": "需要采购"},
        "decide_extension": {"assignment": side.assignment_id, "decision": "approve"},
        "remind": {"assignment": side.assignment_id, "note": "电话催办"},
        "record_reply": {"assignment": side.assignment_id, "reply": "已安排维修。"},
        "close": {"public_reply": "已修好。"},
        "decline": {"public_reason": "不属于人大职责。"},
        "merge": {"original": original},
        "set_key_supervision": {"on": "1"},
        "attach_topic": {"topic": "new", "new_title": "新专题"},
        "replace_receipt": {},
        "record_rating": {"value": "unsatisfied", "comment": "没修好"},
    }.get(endpoint.partition(".")[2], {})
    return {f"{endpoint.partition('.')[2]}-{name}": value for name, value in fields.items()}


# --- the URL map itself -----------------------------------------------------------------------


def test_every_route_argument_is_known(hub, app, world):
    """A new route with a new kind of URL argument needs an entry in ARGS before these tests pass."""
    missing = sorted(
        {
            (rule.endpoint, name)
            for site in (hub, app)
            for rule in site.url_map.iter_rules()
            for name in rule.arguments
            if name not in ARGS
        }
    )
    assert not missing, f"routes with URL arguments this module cannot fill: {missing}"
    for rule in [*hub.url_map.iter_rules(), *app.url_map.iter_rules()]:
        assert url(world, rule).startswith("/")


# Each role registers the blueprints of the areas it serves, and no others.
STATION_BLUEPRINTS = {"", "public", "receipts", "deputies", "intake", "printing", "station_sync_admin", "duty", "ime"}
HUB_BLUEPRINTS = {
    "", "public", "receipts", "deputies", "auth", "staff", "stats", "roster", "setup", "deputy_admin", "open311", "sync_api",
    "audit_log", "desk", "phone", "phone_admin", "deputy_work", "deputy_file",
}  # fmt: skip
# Scoped routes for something only some opinions have (a 一键通 suggestion's attachment):
# township A's plain opinion has none, so its own staff get a 404 there too, without a "denied" row.
ONLY_SOME_OPINIONS = {"staff.suggestion_attachment"}


def test_each_role_registers_only_the_blueprints_it_serves(hub, app):
    """The kiosk's printing is not at the hub, nor a staff page at the station."""
    for site, expected in ((app, STATION_BLUEPRINTS), (hub, HUB_BLUEPRINTS)):
        registered = {rule.endpoint.rpartition(".")[0] for rule in site.url_map.iter_rules()}
        assert registered == expected, site.config["ROLE"]
    # `flask users` manages accounts at the hub; at a station it is unlisted and only refuses.
    assert set(hub.cli.commands["users"].commands) >= {"add", "list"} and not hub.cli.commands["users"].hidden
    assert not hasattr(app.cli.commands["users"], "commands") and app.cli.commands["users"].hidden
    assert "users" not in app.test_cli_runner().invoke(args=["--help"]).output


def test_the_named_routes_exist(hub):
    endpoints = {rule.endpoint for rule in hub.url_map.iter_rules()}
    assert TOWNSHIP_QUERY_ROUTES <= endpoints
    assert CSRF_EXEMPT <= endpoints
    assert OPEN_STAFF_ROUTES <= endpoints
    assert {"staff.set_key_supervision", "staff.decide_extension"} <= endpoints
    # The city's set-up pages are all under /staff, so the staff lists below see them.
    assert all(rule.rule.startswith(STAFF_PREFIX) for rule in rules(hub, blueprints=CITY_BLUEPRINTS))


# --- 1. signing in first ----------------------------------------------------------------------


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_every_staff_route_sends_a_stranger_to_the_sign_in_page(hub, world, htmx):
    stranger = Browser(hub, None)
    before = fingerprint(hub)
    checked = 0
    for rule in staff_rules(hub):
        if rule.endpoint in OPEN_STAFF_ROUTES:
            continue
        for method in verbs(rule):
            answer = stranger.open(method, url(world, rule), htmx=htmx)
            where = f"{method} {rule.rule} ({rule.endpoint})"
            if htmx:
                assert answer.status_code == 401, where
                assert answer.headers["HX-Redirect"].startswith("/staff/login"), where
            else:
                assert answer.status_code == 302, where
                assert answer.headers["Location"].startswith("/staff/login"), where
            assert not any(marker in answer.text for marker in B_MARKERS), where
            checked += 1
    assert checked > 40
    assert fingerprint(hub) == before


def test_signing_out_without_a_session_just_leads_to_the_sign_in_page(hub):
    stranger = Browser(hub, None)
    answer = stranger.open("POST", "/staff/logout")
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("/staff/login")


# --- 2. township scoping ----------------------------------------------------------------------


def scoped_rules(app):
    """Rules outside the city's set-up that name an opinion, an assignment or a township."""
    return [rule for rule in staff_rules(app) if not is_city_only(rule) and is_scoped(rule)]


@pytest.mark.parametrize("role", ["township", "chair"])
def test_another_townships_opinion_or_assignment_is_a_404_with_an_audit_row(hub, world, role):
    person = Browser(hub, world.users[role])
    before = snapshot(hub, world.b)
    asked = []
    for rule in scoped_rules(hub):
        for method in verbs(rule):
            for htmx in (False, True):
                data = action_data(rule.endpoint, world, method)
                answer = person.open(method, url(world, rule), data=data, htmx=htmx)
                where = f"{role}: {method} {rule.rule} ({rule.endpoint}) htmx={htmx}"
                assert answer.status_code == 404, where
                assert not any(marker in answer.text for marker in B_MARKERS), where
                assert world.b.receipt_number not in answer.text, where
                asked.append(where)
                rows = denied_rows(hub, world.users[role])
                assert len(rows) == len(asked), f"{where}: no audit row"
                assert rows[-1] in ((world.b.uuid, None), (None, f"township:{world.b.township_id}")), where
    # Every action on the opinion page, the page itself, the replacement receipt and the slip.
    assert len(asked) >= 2 * (14 + 3)
    assert snapshot(hub, world.b) == before


@pytest.mark.parametrize("role", ["township", "chair"])
def test_the_same_routes_open_for_ones_own_township(hub, world, role):
    """The control: the 404s above come from the township, not from the route."""
    person = Browser(hub, world.users[role])
    for rule in scoped_rules(hub):
        if "GET" not in rule.methods:
            continue
        path = own_url(world, rule)
        for htmx in (False, True):
            answer = person.open("GET", path, htmx=htmx)
            expected = (200, 404) if rule.endpoint in ONLY_SOME_OPINIONS else (200,)
            assert answer.status_code in expected, f"{role}: GET {path} htmx={htmx}"
    assert denied_rows(hub, world.users[role]) == []


def test_city_staff_open_every_townships_objects(hub, world):
    city = Browser(hub, world.users["city"])
    for rule in scoped_rules(hub):
        for method in verbs(rule):
            # A write is sent once: it may use its object up (a removed shift is gone).
            for htmx in (False, True) if method == "GET" else (True,):
                data = action_data(rule.endpoint, world, method)
                answer = city.open(method, url(world, rule), data=data, htmx=htmx)
                expected = (200, 302, 404) if rule.endpoint in ONLY_SOME_OPINIONS else (200, 302)
                assert answer.status_code in expected, f"city: {method} {rule.rule} htmx={htmx}"
    assert denied_rows(hub, world.users["city"]) == []


@pytest.mark.parametrize("role", ["township", "chair"])
@pytest.mark.parametrize("endpoint", sorted(TOWNSHIP_QUERY_ROUTES))
def test_another_townships_figures_export_and_report_are_a_404_with_an_audit_row(hub, world, role, endpoint):
    person = Browser(hub, world.users[role])
    path = url(world, next(r for r in hub.url_map.iter_rules() if r.endpoint == endpoint))
    for htmx in (False, True):
        answer = person.open("GET", path, query_string={"township": world.b.township_id}, htmx=htmx)
        assert answer.status_code == 404
        assert not any(marker in answer.text for marker in B_MARKERS)
        # Their own township is fine.
        answer = person.open("GET", path, query_string={"township": world.a.township_id}, htmx=htmx)
        assert answer.status_code == 200
    assert denied_rows(hub, world.users[role]) == [(None, f"township:{world.b.township_id}")] * 2


@pytest.mark.parametrize("endpoint", sorted(TOWNSHIP_QUERY_ROUTES))
def test_city_staff_get_any_townships_figures_export_and_report(hub, world, endpoint):
    city = Browser(hub, world.users["city"])
    rule = next(r for r in hub.url_map.iter_rules() if r.endpoint == endpoint)
    answer = city.open("GET", url(world, rule), query_string={"township": world.b.township_id})
    assert answer.status_code == 200
    if endpoint == "stats.export":
        assert B_MARKERS[0] in answer.get_data(as_text=True)
    assert denied_rows(hub, world.users["city"]) == []


# Query strings that try to reach township B through every filter at once.
SIDEWAYS = [
    {"township": "B"},
    {"station": "B-station"},
    {"station": "B-station", "township": "B", "phone": "13912345678", "topic": "B-topic"},
    {"text": "B-number"},
]


def _sideways(world: World, args: dict) -> dict:
    values = {"B": world.b.township_id, "B-station": world.b.station, "B-topic": world.b.topic_id,
              "B-number": world.b.receipt_number}  # fmt: skip
    return {name: values.get(value, value) for name, value in args.items()}


@pytest.mark.parametrize("role", ["township", "chair"])
def test_no_filter_leads_a_page_fragment_or_export_to_another_township(hub, world, role):
    """Every GET page a township's staff may open, with B's township, station, topic or number asked for."""
    person = Browser(hub, world.users[role])
    pages = [
        rule
        for rule in staff_rules(hub)
        if "GET" in rule.methods and not is_city_only(rule) and not rule.arguments - {"year"}
    ]
    assert {"staff.queue", "staff.find_receipt", "stats.dashboard", "stats.export", "stats.report"} <= {
        r.endpoint for r in pages
    }
    for rule in pages:
        for args in SIDEWAYS:
            query = _sideways(world, args)
            extra = [{}, {"format": "xlsx"}] if rule.endpoint == "stats.export" else [{}]
            for more in extra:
                for htmx in (False, True):
                    denied_before = len(denied_rows(hub, world.users[role]))
                    answer = person.open("GET", url(world, rule), query_string=query | more, htmx=htmx)
                    where = f"{role}: {rule.endpoint} {query | more} htmx={htmx}"
                    body = answer.get_data(as_text=True) if answer.mimetype.startswith("text") else ""
                    if answer.mimetype.endswith("spreadsheetml.sheet"):
                        body = _xlsx_text(answer.data)
                    assert not any(marker in body for marker in B_MARKERS), where
                    assert world.b.fresh_number not in body, where
                    assert world.b.station_name not in body, where
                    if answer.status_code == 404:
                        assert len(denied_rows(hub, world.users[role])) == denied_before + 1, where
                    else:
                        assert answer.status_code == 200, where
                        assert "township" not in args or rule.endpoint not in TOWNSHIP_QUERY_ROUTES, where


def _xlsx_text(data: bytes) -> str:
    """Every XML part of a workbook, as text (cells, shared strings and all)."""
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        return "\n".join(html.unescape(book.read(name).decode("utf-8")) for name in book.namelist())


def test_the_queue_and_export_of_a_township_show_its_own_opinions(hub, world):
    """The control for the test above: the same pages do show township A's opinions to A."""
    person = Browser(hub, world.users["township"])
    assert world.a.receipt_number in person.open("GET", "/staff/").text
    assert "罗城的路灯坏了三个月。" in person.open("GET", "/staff/stats/export").get_data(as_text=True)
    found = person.open("POST", "/staff/find", data={"phone": "13800138000"})
    assert world.a.receipt_number in found.text


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_bulk_actions_skip_another_townships_opinions(hub, world, htmx):
    person = Browser(hub, world.users["township"])
    before = snapshot(hub, world.b)
    for data in (
        {"action": "accept", "uuid": [world.b.fresh_uuid]},
        {"action": "forward", "department": world.department_id, "uuid": [world.b.fresh_uuid, world.b.uuid]},
    ):
        denied_before = len(denied_rows(hub, world.users["township"]))
        answer = person.open("POST", "/staff/bulk", data=data, htmx=htmx, follow_redirects=True)
        assert answer.status_code == 200
        assert world.b.fresh_number not in answer.text
        assert not any(marker in answer.text for marker in B_MARKERS)
        # Each of B's opinions asked for is noted, as a direct request would be.
        assert len(denied_rows(hub, world.users["township"])) == denied_before + len(data["uuid"])
    assert snapshot(hub, world.b) == before


def test_a_form_cannot_reach_another_township_through_its_fields(hub, world):
    """Township A's own opinion, with B's assignment, B's original or B's topic in the form."""
    person = Browser(hub, world.users["township"])
    with hub.app_context():
        services.accept(db.session.get(User, world.users["township"]), db.session.get(Opinion, world.a.fresh_uuid))
    before_b, before_a = snapshot(hub, world.b), snapshot(hub, world.a)
    attempts = [
        ("remind", world.a.uuid, {"remind-assignment": world.b.assignment_id, "remind-note": "催"}),
        ("reply", world.a.uuid, {"record_reply-assignment": world.b.assignment_id,
                                 "record_reply-reply": "好"}),
        ("return", world.a.uuid, {"return_assignment-assignment": world.b.assignment_id,
                                  "return_assignment-reason": "不归我们"}),
        ("extension", world.a.uuid, {"request_extension-assignment": world.b.assignment_id,
                                     "request_extension-until": world.later,
                                     "request_extension-reason": "采购"}),
        ("merge", world.a.fresh_uuid, {"merge-original": world.b.fresh_number}),
        ("topic", world.a.uuid, {"attach_topic-topic": world.b.topic_id}),
    ]  # fmt: skip
    for path, uuid, data in attempts:
        for htmx in (False, True):
            denied_before = len(denied_rows(hub, world.users["township"]))
            answer = person.open("POST", f"/staff/opinions/{uuid}/{path}", data=data, htmx=htmx)
            assert answer.status_code == 200, path
            assert not any(marker in answer.text for marker in B_MARKERS), path
            if path == "merge":
                assert len(denied_rows(hub, world.users["township"])) == denied_before + 1
    assert snapshot(hub, world.b) == before_b
    assert snapshot(hub, world.a) == before_a


# --- 3. roles ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["township", "chair"])
def test_the_set_up_pages_are_for_city_staff_only(hub, world, role):
    person = Browser(hub, world.users[role])
    before = fingerprint(hub)
    admin = [rule for rule in rules(hub, blueprints=CITY_BLUEPRINTS) if is_city_only(rule)]
    assert len(admin) >= 16
    for rule in admin:
        for method in verbs(rule):
            for htmx in (False, True):
                answer = person.open(method, url(world, rule), data={"name": "新镇街"}, htmx=htmx)
                assert answer.status_code == 403, f"{role}: {method} {rule.rule} htmx={htmx}"
    assert fingerprint(hub) == before


@pytest.mark.parametrize("role", ["township", "chair"])
def test_a_townships_staff_manage_only_their_own_departments(hub, world, role):
    """Their own: open. The city's: a 403. Another township's: a 404 and an audit row. Nothing changed."""
    with hub.app_context():
        own, theirs = (Department(name="城建办", contact_phone="0766-1", township_id=side.township_id)
                       for side in (world.a, world.b))  # fmt: skip
        db.session.add_all([own, theirs])
        db.session.commit()
        ids = {"own": own.id, "city": world.department_id, "theirs": theirs.id}
    person = Browser(hub, world.users[role])
    assert person.open("GET", "/staff/admin/departments").status_code == 200
    assert person.open("GET", f"/staff/admin/departments/{ids['own']}").status_code == 200
    before = fingerprint(hub, skip=("staff_sessions", "audit_log"))
    expected = {"city": 403, "theirs": 404}
    for which, status in expected.items():
        for method, path in (("GET", f"/staff/admin/departments/{ids[which]}"),
                             ("POST", f"/staff/admin/departments/{ids[which]}"),
                             ("POST", f"/staff/admin/departments/{ids[which]}/deactivate")):  # fmt: skip
            for htmx in (False, True):
                answer = person.open(method, path, data={"name": "改名", "contact_phone": "1"}, htmx=htmx)
                assert answer.status_code == status, f"{role}: {method} {path} ({which})"
    assert fingerprint(hub, skip=("staff_sessions", "audit_log")) == before
    assert denied_rows(hub, world.users[role]) == [(None, f"township:{world.b.township_id}")] * 6


def test_city_staff_open_the_set_up_pages(hub, world):
    city = Browser(hub, world.users["city"])
    for rule in rules(hub, blueprints=CITY_BLUEPRINTS, methods={"GET"}):
        assert city.open("GET", url(world, rule)).status_code == 200, rule.rule


def _action_forms(page) -> set[str]:
    return set(re.findall(r'/opinions/[0-9a-f-]{36}/([a-z-]+)"', page.text))


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_township_staff_cannot_set_key_supervision(hub, world, htmx):
    clerk = Browser(hub, world.users["township"])
    assert "key-supervision" not in _action_forms(clerk.open("GET", f"/staff/opinions/{world.a.uuid}"))
    before = snapshot(hub, world.a)
    answer = clerk.open("POST", f"/staff/opinions/{world.a.uuid}/key-supervision",
                        data={"set_key_supervision-on": "1"}, htmx=htmx)  # fmt: skip
    assert answer.status_code in (200, 403)
    if answer.status_code == 200:
        assert "主席" in answer.text  # the refusal, in Chinese
    assert snapshot(hub, world.a) == before


@pytest.mark.parametrize("role", ["chair", "city"])
def test_chairs_and_city_staff_set_key_supervision(hub, world, role):
    person = Browser(hub, world.users[role])
    assert "key-supervision" in _action_forms(person.open("GET", f"/staff/opinions/{world.a.uuid}"))
    answer = person.open(
        "POST", f"/staff/opinions/{world.a.uuid}/key-supervision", data={"set_key_supervision-on": "1"}
    )
    assert answer.status_code == 302
    with hub.app_context():
        assert db.session.get(Opinion, world.a.uuid).key_supervision is True


def _request_extension(hub, world) -> None:
    with hub.app_context():
        assignment = db.session.get(Assignment, world.a.assignment_id)
        clerk = db.session.get(User, world.users["township"])
        services.request_extension(clerk, assignment, add_working_days(assignment.due_on, 5), "需要采购灯具")


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_township_staff_cannot_decide_an_extension(hub, world, htmx):
    _request_extension(hub, world)
    clerk = Browser(hub, world.users["township"])
    assert "extension-decision" not in _action_forms(clerk.open("GET", f"/staff/opinions/{world.a.uuid}"))
    before = snapshot(hub, world.a)
    for decision in ("approve", "refuse"):
        data = {"decide_extension-assignment": world.a.assignment_id, "decide_extension-decision": decision}
        path = f"/staff/opinions/{world.a.uuid}/extension-decision"
        answer = clerk.open("POST", path, data=data, htmx=htmx)
        assert answer.status_code in (200, 403)
        if answer.status_code == 200:
            assert "主席" in answer.text
    assert snapshot(hub, world.a) == before


@pytest.mark.parametrize("role", ["chair"])
def test_chairs_decide_an_extension(hub, world, role):
    _request_extension(hub, world)
    person = Browser(hub, world.users[role])
    assert "extension-decision" in _action_forms(person.open("GET", f"/staff/opinions/{world.a.uuid}"))
    data = {"decide_extension-assignment": world.a.assignment_id, "decide_extension-decision": "approve"}
    answer = person.open("POST", f"/staff/opinions/{world.a.uuid}/extension-decision", data=data)
    assert answer.status_code == 302
    with hub.app_context():
        assert db.session.get(Assignment, world.a.assignment_id).extension_state == "approved"


def _processing_endpoints() -> list[str]:
    return [f"staff.{name}" for name in actions.ACTIONS if name not in services.SUPERVISION]


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_city_staff_supervise_and_leave_the_processing_to_the_township(hub, world, htmx):
    """Every processing action posted by city staff: refused in plain Chinese (200), nothing changed."""
    _request_extension(hub, world)  # so that the extension decision is due too
    city = Browser(hub, world.users["city"])
    page = city.open("GET", f"/staff/opinions/{world.b.uuid}", htmx=htmx)
    assert services.CITY_SUPERVISES in page.text
    offered = _action_forms(page)
    assert {"remind", "key-supervision", "topic"} <= offered
    assert offered & {actions.ACTIONS[e.partition(".")[2]].path for e in _processing_endpoints()} == set()
    before = snapshot(hub, world.b)
    for rule in rules(hub, methods={"POST"}):
        if rule.endpoint not in _processing_endpoints():
            continue
        for side in (world.b, world.a):
            data = action_data(rule.endpoint, world)
            if side is world.a:  # the same action on the other township's opinion and assignment
                data = {k: (side.assignment_id if v == world.b.assignment_id else v) for k, v in data.items()}
            path = url(world, rule).replace(world.b.uuid, side.uuid)
            answer = city.open("POST", path, data=data, htmx=htmx)
            assert answer.status_code == 200, rule.endpoint
            assert services.CITY_SUPERVISES in answer.text, rule.endpoint
    answer = city.open("POST", "/staff/bulk", data={"action": "accept", "uuid": [world.b.fresh_uuid]},
                       htmx=htmx, follow_redirects=True)  # fmt: skip
    assert answer.status_code == 200 and services.CITY_SUPERVISES in answer.text
    assert snapshot(hub, world.b) == before
    # The queue offers city staff no bulk 受理 or 转办, and says why.
    queue = city.open("GET", "/staff/", query_string={"status": "all"})
    assert 'name="action"' not in queue.text and services.CITY_SUPERVISES in queue.text


# --- 4. CSRF on every form --------------------------------------------------------------------


def test_only_the_sync_api_is_exempt_from_csrf(hub):
    """The exemption list, said explicitly: the signed sync API and nothing else."""
    writes = {rule.endpoint for rule in rules(hub, methods=WRITE_METHODS)}
    sync_api = {rule.endpoint for rule in hub.url_map.iter_rules() if rule.rule.startswith("/api/v1/sync/")}
    assert sync_api == CSRF_EXEMPT | SYNC_API_OPEN_READS
    assert not {rule.endpoint for rule in rules(hub, methods=WRITE_METHODS)} & SYNC_API_OPEN_READS
    csrf = hub.extensions["csrf"]
    exempt = {
        rule.endpoint
        for rule in hub.url_map.iter_rules()
        if hub.blueprints.get(rule.endpoint.rpartition(".")[0]) in csrf._exempt_blueprints
        or f"{hub.view_functions[rule.endpoint].__module__}.{hub.view_functions[rule.endpoint].__name__}"
        in csrf._exempt_views
    }
    assert exempt == CSRF_EXEMPT | SYNC_API_OPEN_READS
    assert CSRF_EXEMPT <= writes


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_every_hub_form_refuses_a_post_without_its_csrf_token(hub, world, htmx):
    assert hub.config.get("WTF_CSRF_ENABLED", True)
    city = Browser(hub, world.users["city"])
    before = fingerprint(hub)
    checked = []
    for rule in rules(hub, methods=WRITE_METHODS):
        if rule.endpoint in CSRF_EXEMPT:
            continue
        for method in sorted(rule.methods & WRITE_METHODS):
            data = action_data(rule.endpoint, world) or {"name": "新镇街", "reason": "丢失"}
            answer = city.open(method, url(world, rule), data=data, htmx=htmx, csrf=False)
            assert answer.status_code == 400, f"{method} {rule.rule}"
            assert CSRF_REFUSAL in answer.text, f"{method} {rule.rule}"
            checked.append(rule.endpoint)
    assert len(checked) >= 33, sorted(checked)
    assert {"auth.login", "auth.logout", "staff.bulk", "public.rate_opinion", "phone.deputy_page", "phone.station_page"} <= set(
        checked
    )
    assert fingerprint(hub) == before
    # Still signed in: signing out without the token did not sign out.
    assert city.open("GET", "/staff/welcome").status_code == 200


def test_a_wrong_csrf_token_is_refused_too(hub, world):
    city = Browser(hub, world.users["city"])
    before = fingerprint(hub)
    answer = city.client.post(f"/staff/opinions/{world.b.uuid}/remind",
                              data={"remind-assignment": world.b.assignment_id, "csrf_token": "forged"},
                              headers={"X-CSRFToken": "forged"})  # fmt: skip
    assert answer.status_code == 400 and CSRF_REFUSAL in answer.text
    assert fingerprint(hub) == before


def test_the_sync_api_answers_unsigned_writes_itself(hub, world):
    """Exempt from CSRF, not open: an unsigned request is refused by the API's own check."""
    before = fingerprint(hub, skip=("staff_sessions", "sync_nonces", "sync_audit"))
    for rule in rules(hub, methods=WRITE_METHODS):
        if rule.endpoint not in CSRF_EXEMPT:
            continue
        answer = hub.test_client().post(url(world, rule), data=b"{}", content_type="application/json")
        assert 400 <= answer.status_code < 500, rule.rule
        assert CSRF_REFUSAL not in answer.text
        assert answer.is_json
    assert fingerprint(hub, skip=("staff_sessions", "sync_nonces", "sync_audit")) == before


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_every_station_form_refuses_a_post_without_its_csrf_token(app, htmx):
    app.config["ADMIN_PIN"] = "246810"  # the sync admin screen switched on
    with app.app_context():
        number = make_opinion().receipt_number
        deputy_id = db.session.get(Station, "LC00").deputies[0].id
    client = app.test_client()
    client.get("/")
    before = fingerprint(app)
    values = {"number": number, "step": "content", "deputy_id": deputy_id}
    checked = []
    for rule in rules(app, methods=WRITE_METHODS):
        assert rule.endpoint not in CSRF_EXEMPT
        for method in sorted(rule.methods & WRITE_METHODS):
            path = rule.build({name: values[name] for name in rule.arguments})[1]
            data = {"pin": "246810", "secret": "ABCDEF", "value": "satisfied"}
            answer = client.open(path, method=method, data=data, headers=HTMX if htmx else {})
            assert answer.status_code == 400, f"{method} {path}"
            assert CSRF_REFUSAL in answer.text, f"{method} {path}"
            checked.append(rule.endpoint)
    assert {"intake.start", "intake.back", "intake.submit", "intake.lookup", "intake.rate_opinion", "printing.reprint",
            "station_sync_admin.unlock", "station_sync_admin.sync_now", "public.rate_opinion",
            "duty.check_in", "duty.check_out", "duty.idle", "duty.reception", "duty.assisted_entry", "duty.reprint",
            "intake.keep_voice", "intake.drop_voice", "intake.choose_read_aloud",
            "ime.recognise_handwriting", "ime.associate"} <= set(checked)  # fmt: skip
    assert fingerprint(app) == before


# --- 5. headers -------------------------------------------------------------------------------

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(), geolocation=(), microphone=()",
}
# The kiosk's screens, where a voice message will be recorded.
KIOSK_BLUEPRINTS = {"intake"}


def _assert_security_headers(answer, where: str, microphone: bool = False) -> None:
    expected = dict(SECURITY_HEADERS)
    if microphone:
        expected["Permissions-Policy"] = "camera=(), geolocation=(), microphone=(self)"
    assert {name: answer.headers.get(name) for name in expected} == expected, where


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_every_hub_response_carries_the_security_headers(hub, world, htmx):
    """Pages, fragments, exports, refusals and errors, for staff and strangers alike."""
    people = {"city": Browser(hub, world.users["city"]), "stranger": Browser(hub, None)}
    for rule in rules(hub):
        for method in verbs(rule):
            for who, person in people.items():
                answer = person.open(method, url(world, rule), data={}, htmx=htmx, csrf=False)
                _assert_security_headers(answer, f"{who}: {method} {rule.rule} htmx={htmx}")
    _assert_security_headers(people["stranger"].open("GET", "/no-such-page"), "404")


@pytest.mark.slow
@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_every_station_response_carries_the_security_headers(app, world, htmx):
    """The kiosk's screens alone may use the microphone."""
    client = app.test_client()
    client.get("/")
    for rule in rules(app):
        for method in verbs(rule):
            answer = client.open(url(world, rule), method=method, data={}, headers=HTMX if htmx else {})
            microphone = rule.endpoint.rpartition(".")[0] in KIOSK_BLUEPRINTS
            _assert_security_headers(answer, f"{method} {rule.rule} htmx={htmx}", microphone=microphone)
    _assert_security_headers(client.get("/no-such-page"), "404")


# --- 5. Open311 -------------------------------------------------------------------------------


def test_open311_is_public_and_carries_no_contact_details(hub, world):
    client = hub.test_client()
    for path in ("/open311/v2/services.json", "/open311/v2/requests.json",
                 f"/open311/v2/requests/{world.b.receipt_number}.json"):  # fmt: skip
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert answer.is_json
        assert not any(marker in answer.text for marker in (*B_MARKERS, "13912345678", "陈大文", "13800138000"))
    assert world.b.receipt_number in client.get("/open311/v2/requests.json").text


# --- 6. plain Chinese -------------------------------------------------------------------------

# Words of the Latin alphabet a staff page may show: file formats and the 12345 hotline's own names.
# File formats and encodings, as a township office sees them in its spreadsheet program.
LATIN_ALLOWED = {"PDF", "CSV", "XLSX", "Excel", "QR", "JPEG", "PNG", "jpg", "png", "jpeg", "UTF-"}
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z_-]{2,}")
_HIDDEN_PARTS = re.compile(r"<(script|style|title)\b.*?</\1>|<!--.*?-->", re.S)
# What staff type or read out as is: a station's code, a 验证码, an enrolment token and its command
# (typed on the station box by whoever installs it).
_VERBATIM = re.compile(r'<code>[^<\s]*</code>|<b class="secret"[^>]*>[^<]*</b>|<pre class="admin-command"[^>]*>.*?</pre>', re.S)


def visible_words(page_html: str, data: list[str]) -> set[str]:
    """The Latin words a person reads on the page: its text, less tags, scripts, verbatim codes and ``data``."""
    text = _VERBATIM.sub(" ", _HIDDEN_PARTS.sub(" ", page_html))
    text = html.unescape(re.sub(r"<[^>]+>", " ", text))
    for value in data:
        text = text.replace(value, " ")
    return set(_LATIN_WORD.findall(text)) - LATIN_ALLOWED


@pytest.mark.parametrize("role", ["township", "chair", "city"])
def test_staff_pages_speak_plain_chinese(hub, world, role):
    """No command-line terms (「同 stations list」) or other English on a page staff open."""
    person = Browser(hub, world.users[role])
    with hub.app_context():  # login names and category codes are data, not the page's words
        data = [*db.session.scalars(select(User.username)), *db.session.scalars(select(Category.code))]
        data.sort(key=len, reverse=True)
    opened = 0
    for rule in staff_rules(hub):
        if "GET" not in rule.methods or rule.endpoint in ("auth.logout",):
            continue
        answer = person.open("GET", own_url(world, rule))
        if answer.status_code != 200 or answer.mimetype != "text/html":
            continue
        assert visible_words(answer.text, data) == set(), f"{role}: {rule.rule}"
        opened += 1
    assert opened >= (20 if role == "city" else 6)


# --- 4. deputies and their desk ---------------------------------------------------------------

DESK_OPEN = {"desk.login", "desk.activate", "desk.logout"}


def desk_rules(app):
    """Every desk route a deputy must be signed in for."""
    return [rule for rule in rules(app, blueprints={"desk"}) if rule.endpoint not in DESK_OPEN]


@pytest.fixture
def desk_world(hub, world) -> SimpleNamespace:
    """Township A's deputy signed in at the desk, with an opinion addressed to them; a deputy of B
    with their own suggestion and diary entry (``world.diary_entry_id``)."""
    from kiosk.desk import services as desk
    from tests.support.deputy_desk import make_deputy_account

    with hub.app_context():
        mine = make_deputy_account(db.session.get(Deputy, world.a.deputy_id))
        theirs = make_deputy_account(db.session.get(Deputy, world.b.deputy_id))
        addressed = receive_opinion(world.a.station, content="写给A代表的意见。", contact_name="赵六",
                                    contact_phone="13500001111", deputy_id=world.a.deputy_id)  # fmt: skip
        desk.answer(mine, addressed, "收到，我去看看。")
        suggestion = desk.submit_suggestion(theirs, "road", "B代表的建议", B_MARKERS[0])
        entry = desk.write_diary(theirs, services.today(), "B代表的日记：" + B_MARKERS[1])
        world.diary_entry_id = entry.id
        return SimpleNamespace(user=mine.id, other=theirs.id, opinion=addressed.uuid, suggestion=suggestion.uuid)


def desk_url(world, rule, desk: SimpleNamespace, own: bool) -> str:
    """``rule``'s URL for the signed-in deputy's own objects, or for another's (B's opinion, suggestion, diary)."""
    if not own:
        return url(world, rule)
    uuid = desk.suggestion if "suggestion" in rule.rule else desk.opinion
    return rule.build({"uuid": uuid, "entry_id": world.diary_entry_id}, append_unknown=False)[1]


def test_every_desk_route_sends_a_stranger_to_the_desk_sign_in(hub, world, desk_world):
    stranger = Browser(hub, None)
    before = fingerprint(hub)
    checked = 0
    for rule in desk_rules(hub):
        for method in verbs(rule):
            for htmx in (False, True):
                answer = stranger.open(method, url(world, rule), htmx=htmx)
                where = f"{method} {rule.rule} htmx={htmx}"
                location = answer.headers.get("HX-Redirect" if htmx else "Location", "")
                assert answer.status_code == (401 if htmx else 302) and location.startswith("/desk/login"), where
                checked += 1
    assert checked >= 28
    assert fingerprint(hub) == before


def test_staff_accounts_open_no_desk_route(hub, world, desk_world):
    before = fingerprint(hub)
    for role in ("township", "chair", "city"):
        person = Browser(hub, world.users[role])
        for rule in desk_rules(hub):
            for method in verbs(rule):
                answer = person.open(method, desk_url(world, rule, desk_world, own=True), data={"text": "越权"})
                assert answer.status_code == 403, f"{role}: {method} {rule.rule}"
                assert "赵六" not in answer.text
    assert fingerprint(hub) == before


def test_a_deputy_opens_no_staff_route(hub, world, desk_world):
    deputy = Browser(hub, desk_world.user)
    before = fingerprint(hub)
    checked = 0
    for rule in staff_rules(hub):
        if rule.endpoint in OPEN_STAFF_ROUTES:
            continue
        for method in verbs(rule):
            data = action_data(rule.endpoint, world, method)
            for path in {url(world, rule), own_url(world, rule)}:
                answer = deputy.open(method, path, data=data)
                assert answer.status_code == 403, f"deputy: {method} {path} ({rule.endpoint})"
                assert not any(marker in answer.text for marker in B_MARKERS)
                checked += 1
    assert checked > 60
    assert fingerprint(hub) == before


def test_a_deputy_gets_a_404_and_an_audit_row_for_anything_not_theirs(hub, world, desk_world):
    """B's opinion, another deputy's suggestion and diary entry: every desk route that names one."""
    deputy = Browser(hub, desk_world.user)
    before = snapshot(hub, world.b)
    with hub.app_context():
        before_desk = row_counts(OpinionEvent, Rating, DiaryEntry, DeskNote, SuggestionAttachment)
    asked = 0
    for rule in desk_rules(hub):
        if not rule.arguments:
            continue
        for method in verbs(rule):
            for htmx in (False, True):
                data = {"text": "越权", "value": "unsatisfied"}
                answer = deputy.open(method, url(world, rule), data=data, htmx=htmx)
                where = f"{method} {rule.rule} htmx={htmx}"
                assert answer.status_code == 404, where
                assert not any(marker in answer.text for marker in B_MARKERS), where
                asked += 1
                rows = denied_rows(hub, desk_world.user)
                assert len(rows) == asked, f"{where}: no audit row"
    assert asked >= 16
    assert snapshot(hub, world.b) == before
    with hub.app_context():
        assert row_counts(OpinionEvent, Rating, DiaryEntry, DeskNote, SuggestionAttachment) == before_desk
        entry = db.session.get(DiaryEntry, world.diary_entry_id)
        assert entry.published_at is None


def test_a_deputy_opens_their_own_desk_and_sees_contacts_only_there(hub, world, desk_world):
    """The control: the same routes open for the deputy's own objects, with no "denied" row."""
    deputy = Browser(hub, desk_world.user)
    for rule in desk_rules(hub):
        if "GET" not in rule.methods or "attachment" in rule.rule:
            continue
        path = desk_url(world, rule, desk_world, own=True)
        if "suggestions/" in path and "new" not in path:
            continue  # the deputy of A has no suggestion of their own here
        answer = deputy.open("GET", path)
        assert answer.status_code == 200, path
        assert not any(marker in answer.text for marker in B_MARKERS), path
    page = deputy.open("GET", f"/desk/opinions/{desk_world.opinion}").text
    assert "赵六" in page and "13500001111" in page and "代表答复" in page
    assert "13500001111" not in deputy.open("GET", "/desk/").text
    assert denied_rows(hub, desk_world.user) == []
