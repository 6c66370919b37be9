"""The township office's queue: filters, scoping, keyset pages, counts, bulk actions."""

import re
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from kiosk.extensions import db
from kiosk.clock import to_local
from kiosk.models import AuditEntry, Department, Opinion, Station, Township
from kiosk.staff import queue, services
from kiosk.staff.queue import QueueFilters
from kiosk.workdays import add_working_days
from tests.support import receipts as receipt_checks
from tests.support.desk import Desk, station_of
from tests.support.factories import make_user, receive_opinion

HTMX = {"HX-Request": "true"}


def listed(page) -> list[str]:
    """The opinion UUIDs of a queue page, in order."""
    assert page.status_code == 200, page.text[:500]
    return re.findall(r'<tr class="[^"]*" data-uuid="([^"]+)"', page.text)


def township_id(name: str) -> int:
    return db.session.scalar(select(Township.id).where(Township.name == name))


def ago(days: float = 0, **kwargs) -> datetime:
    return datetime.now(timezone.utc) - timedelta(days=days, **kwargs)


def local_day(moment: datetime) -> date:
    return to_local(moment).date()


# --- a small township's queue ----------------------------------------------------------------


@pytest.fixture
def office(hub):
    """罗城街道 with four opinions and 素龙街道 with one; a chair and a clerk of 罗城街道, city staff."""
    with hub.app_context():
        other_station = db.session.scalar(
            select(Station.code)
            .where(Station.township_id == township_id("罗城街道"), Station.code != "LC00")
            .order_by(Station.code)
            .limit(1)
        )
        chair = make_user(role="chair")
        ids = {
            "lamp": receive_opinion("LC00", category="road", content="村口的路灯坏了三个月，晚上很黑。", created_at=ago(40)),
            "canal": receive_opinion(other_station, category="water", content="水渠堵塞，田里的水排不出去。", created_at=ago(0, hours=1)),
            "rubbish": receive_opinion("LC00", category="environment", content="市场旁边的垃圾没人清理。", created_at=ago(1)),
            "closed": receive_opinion("LC00", category="road", content="桥面有个大坑，已经修好了。", created_at=ago(3),
                                      contact_phone="13800138000", contact_name="陈大文"),
            "elsewhere": receive_opinion(station_of("素龙街道"), category="road", content="素龙的路灯也坏了。", created_at=ago(2)),
        }  # fmt: skip
        rubbish = ids["rubbish"]
        services.accept(chair, rubbish)
        services.set_key_supervision(chair, rubbish, True)
        topic = services.create_topic(chair, rubbish.township_id, "市场环境整治")
        services.attach_topic(chair, rubbish, topic)
        services.accept(chair, ids["closed"])
        services.close(chair, ids["closed"], "已修复。")
        uuids = {name: o.uuid for name, o in ids.items()}
        uuids["topic_id"] = topic.id
        uuids["other_station"] = other_station
    return uuids


@pytest.mark.parametrize(
    "args, expected",
    [
        ({"status": "all"}, ["canal", "rubbish", "closed", "lamp"]),
        ({"station": "LC00"}, ["rubbish", "closed", "lamp"]),
        ({"station": "lc00"}, ["rubbish", "closed", "lamp"]),
        ({"category": "road"}, ["closed", "lamp"]),
        ({"status": "accepted"}, ["rubbish"]),
        ({"status": "received"}, ["canal", "lamp"]),
        ({"status": "open"}, ["canal", "rubbish", "lamp"]),
        ({"status": "closed"}, ["closed"]),
        ({"overdue": "1"}, ["lamp"]),
        ({"key_supervision": "1"}, ["rubbish"]),
        ({"text": "垃圾"}, ["rubbish"]),
        ({"text": "100%"}, []),
        # Every word must match, wherever it is in the text.
        ({"text": "路灯  晚上"}, ["lamp"]),
        ({"text": "路灯 垃圾"}, []),
        ({"text": "晚上 村口"}, ["lamp"]),
        # A phone number in a URL finds nothing by phone (a POST search does: below).
        ({"text": "800"}, []),
        ({"station": "LC00", "category": "road", "status": "received"}, ["lamp"]),
        ({"category": "road", "text": "路灯"}, ["lamp"]),
        ({"status": "open", "overdue": "1", "station": "LC00"}, ["lamp"]),
    ],
    ids=lambda value: "-".join(f"{k}={v}" for k, v in value.items()) if isinstance(value, dict) else None,
)
def test_each_filter_and_combinations_narrow_the_queue(office, clerk, args, expected):
    assert listed(clerk.get("/staff/", query_string=args)) == [office[name] for name in expected]


def test_the_chosen_deputy_is_a_column_and_a_filter_of_the_queue(hub, office, clerk):
    """Only the township's own deputies are offered; another's, asked for, finds nothing of theirs."""
    with hub.app_context():
        station = db.session.get(Station, office["other_station"])
        deputy = station.deputies[0]
        chosen = receive_opinion(station.code, content="想请代表来村里看看。", deputy_id=deputy.id, created_at=ago(0.5))
        chosen_uuid, deputy_id, deputy_name = chosen.uuid, deputy.id, deputy.name
        sulong = db.session.get(Station, station_of("素龙街道")).deputies[0]
        theirs = receive_opinion(sulong.stations[0].code, content="素龙的意见", deputy_id=sulong.id)
        sulong_id, sulong_name, theirs_uuid = sulong.id, sulong.name, theirs.uuid
    page = clerk.get("/staff/", query_string={"status": "all"})
    row = re.search(rf'data-uuid="{chosen_uuid}">(.*?)</tr>', page.text, re.S).group(1)
    assert f'<td class="nowrap" data-testid="deputy">{deputy_name}</td>' in row
    assert "<th>代表</th>" in page.text
    assert f'<option value="{deputy_id}"' in page.text and f'<option value="{sulong_id}"' not in page.text
    assert listed(clerk.get("/staff/", query_string={"status": "all", "deputy": deputy_id})) == [chosen_uuid]
    assert listed(clerk.get("/staff/", query_string={"status": "all", "deputy": sulong_id})) == []
    # City staff see every township's, named with their township.
    city = Desk(hub, role="city")
    assert listed(city.get("/staff/", query_string={"status": "all", "deputy": sulong_id})) == [theirs_uuid]
    assert f"{sulong_name}（素龙街道）" in city.get("/staff/").text


# A phone number, or its last digits, finds the opinion it was left with: sent by POST.
@pytest.mark.parametrize(
    "text, expected",
    [("138-0013-8000", ["closed"]), ("8000", ["closed"]), ("800", []), ("8000 大坑", ["closed"])],
)
def test_a_phone_search_by_post_finds_the_opinion_it_was_left_with(office, clerk, text, expected):
    assert listed(clerk.post("/staff/", {"status": "all", "text": text})) == [office[name] for name in expected]


PHONE = "13800138000"


def phone_audit_rows() -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == "find")))


@pytest.mark.parametrize("digits", ["8000", "0013", "138001", PHONE])
def test_city_staff_never_find_an_opinion_by_its_phone_number(hub, office, digits):
    """The policy of the opinion page: who may not read a phone number may not rebuild it by searching."""
    city = Desk(hub, role="city")
    assert listed(city.get("/staff/", query_string={"status": "all", "text": digits})) == []
    assert listed(city.post("/staff/", {"status": "all", "text": digits})) == []
    assert "按电话查" not in city.get("/staff/").text
    found = city.post("/staff/find", {"phone": digits}, htmx=True)
    assert office["closed"] not in found.text
    with hub.app_context():
        assert all(row.after["found"] == 0 for row in phone_audit_rows())


def test_a_phone_search_travels_by_post_and_is_audited_masked(hub, office, clerk, caplog):
    caplog.set_level("DEBUG")
    assert listed(clerk.get("/staff/", query_string={"status": "all", "text": "0013 8000"})) == []
    with hub.app_context():
        assert phone_audit_rows() == []  # nothing by phone, nothing to audit
    page = clerk.post("/staff/", {"status": "all", "text": "0013 8000"})
    assert listed(page) == [office["closed"]]
    # No link of the page carries the digits back into a URL, nor does the filter form.
    assert "0013" not in page.text and "8000" not in page.text
    with hub.app_context():
        (row,) = phone_audit_rows()
        assert row.user_id == clerk.user_id
        assert row.after["found"] == 1
        assert row.after["phone"] == "**** ****"  # each part masked as 找回执 masks it
    assert clerk.post("/staff/", {"status": "all", "text": PHONE}).status_code == 200
    with hub.app_context():
        assert phone_audit_rows()[-1].after["phone"] == "138****8000"
    assert not any("0013" in record.getMessage() for record in caplog.records)
    assert "按电话查" in clerk.get("/staff/").text


def test_the_queue_opens_on_open_opinions_most_urgent_first(office, clerk):
    page = clerk.get("/staff/")
    # The overdue one on top; nothing finished; 全部 one click away.
    assert listed(page) == [office["lamp"], office["rubbish"], office["canal"]]
    assert re.search(r'data-status="open">', page.text) and 'aria-current="true" data-status="open"' in page.text
    everything = re.search(r'href="([^"]+)"[^>]*data-status="all"', page.text).group(1).replace("&amp;", "&")
    assert listed(clerk.get(everything)) == [office[n] for n in ("canal", "rubbish", "closed", "lamp")]
    # The order is a visible toggle, kept with the status chosen.
    newest = re.search(r'href="([^"]+)"[^>]*data-order="newest"', page.text).group(1).replace("&amp;", "&")
    assert "status=open" in newest
    assert listed(clerk.get(newest)) == [office[n] for n in ("canal", "rubbish", "lamp")]
    assert 'aria-current="true" data-order="urgent"' in page.text


def test_the_extension_tab_lists_requests_awaiting_a_decision(hub, office, clerk):
    with hub.app_context():
        user = clerk.user()
        department = Department(name="水务局")
        db.session.add(department)
        db.session.commit()
        lamp, canal = db.session.get(Opinion, office["lamp"]), db.session.get(Opinion, office["canal"])
        for opinion in (lamp, canal):
            services.accept(user, opinion)
            services.forward(user, opinion, department)
        waiting = services.active_assignment(lamp)
        services.request_extension(user, waiting, add_working_days(waiting.due_on, 3), "需要采购")
    for desk in (clerk, Desk(hub, role="chair"), Desk(hub, role="city")):
        page = desk.get("/staff/")
        assert re.search(r'data-status="extension">待审批延期 <span class="count">1</span>', page.text)
        assert listed(desk.get("/staff/", query_string={"extension": "1", "status": "all"})) == [office["lamp"]]
    with hub.app_context():
        services.decide_extension(make_user(role="chair"), services.active_assignment(db.session.get(Opinion, office["lamp"])), True)
    assert listed(clerk.get("/staff/", query_string={"extension": "1", "status": "all"})) == []


def test_text_finds_a_receipt_number_typed_in_lower_case(hub, office, clerk):
    with hub.app_context():
        number = db.session.get(Opinion, office["lamp"]).receipt_number
    assert listed(clerk.get("/staff/", query_string={"text": number.lower()[:-1]})) == [office["lamp"]]


def test_topic_filter(office, clerk):
    assert listed(clerk.get("/staff/", query_string={"topic": office["topic_id"]})) == [office["rubbish"]]


def test_date_range_counts_local_days(hub, office, clerk):
    with hub.app_context():
        days = {n: local_day(db.session.get(Opinion, office[n]).created_at) for n in ("canal", "rubbish", "closed", "lamp")}
    def between(first, last):
        return [office[n] for n, d in days.items() if first <= d <= last]

    for first, last in [(days["rubbish"], days["rubbish"]), (days["lamp"], days["closed"]), (days["closed"], days["canal"])]:
        assert listed(clerk.get("/staff/", query_string={"date_from": first, "date_to": last})) == between(first, last)
    assert listed(clerk.get("/staff/", query_string={"date_to": days["lamp"]})) == [office["lamp"]]
    assert listed(clerk.get("/staff/", query_string={"date_from": days["canal"]})) == between(days["canal"], days["canal"])
    # A range typed the wrong way round is read the right way round.
    backwards = {"date_from": days["canal"], "date_to": days["lamp"]}
    assert listed(clerk.get("/staff/", query_string=backwards)) == between(days["lamp"], days["canal"])


@pytest.mark.parametrize(
    "args",
    [
        {"date_from": "昨天", "date_to": "2026-13-45"},
        {"status": "nonsense", "order": "sideways", "township": "abc", "topic": "-4"},
        {"station": "<script>", "category": "x" * 300, "text": "路" * 5000},
        {"after": "garbage"},
        {"after": "20260101T000000.000000Z~", "order": "urgent"},
        {"overdue": "maybe", "key_supervision": "\x00"},
    ],
)
def test_nonsense_in_the_query_string_is_ignored_never_an_error(office, clerk, args):
    page = clerk.get("/staff/", query_string=args)
    assert page.status_code == 200
    assert "意见办理" in page.text


def test_filters_round_trip_through_the_query_string():
    args = {"station": "LC00", "category": "road", "status": "open", "overdue": "1", "extension": "1", "key_supervision": "1",
            "topic": "3", "text": "路灯", "date_from": "2026-03-01", "date_to": "2026-03-31", "order": "urgent",
            "township": "2"}  # fmt: skip
    filters = QueueFilters.from_args(args)
    assert filters.to_args() == args
    assert QueueFilters.from_args({}).to_args() == {}


def test_a_filter_change_from_htmx_gets_the_results_fragment_only(office, clerk):
    page = clerk.get("/staff/", query_string={"station": "LC00"}, htmx=True)
    assert page.status_code == 200
    assert page.text.lstrip().startswith("{#") is False
    assert 'id="queue-results"' in page.text
    assert "<html" not in page.text
    assert "HX-Request" in page.headers.get("Vary", "")
    # Links in the fragment keep the filters, so the pushed URL can be shared.
    assert "station=LC00" in page.text


# --- scoping ---------------------------------------------------------------------------------


def test_township_staff_see_only_their_township_and_city_staff_see_all(hub, office, clerk):
    assert office["elsewhere"] not in listed(clerk.get("/staff/"))
    # Asking for another township in the URL is refused, as for its opinions.
    with hub.app_context():
        other = township_id("素龙街道")
    assert clerk.get("/staff/", query_string={"township": other}).status_code == 404
    city = Desk(hub, role="city")
    everything = listed(city.get("/staff/", query_string={"status": "all"}))
    assert set(everything) == {office[n] for n in ("lamp", "canal", "rubbish", "closed", "elsewhere")}
    assert listed(city.get("/staff/", query_string={"township": other})) == [office["elsewhere"]]


def test_another_townships_opinion_is_a_404_with_an_audit_row(hub, office, clerk):
    page = clerk.get(f"/staff/opinions/{office['elsewhere']}")
    assert page.status_code == 404
    assert "素龙的路灯" not in page.text
    with hub.app_context():
        denied = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "denied")).all()
    assert [(d.user_id, d.opinion_uuid) for d in denied] == [(clerk.user_id, office["elsewhere"])]


def test_a_stranger_is_sent_to_sign_in(hub, office):
    page = hub.test_client().get("/staff/")
    assert page.status_code in (302, 401)


# --- keyset pages ----------------------------------------------------------------------------


def _walk(user, filters, size):
    seen, after, pages = [], None, 0
    while True:
        result = queue.page(user, filters, after, size=size)
        seen += [o.uuid for o in result.rows]
        pages += 1
        if result.next_after is None:
            return seen, pages
        after = result.next_after
        assert pages < 100


@pytest.mark.parametrize("order", ["newest", "urgent"])
def test_keyset_pages_have_no_duplicates_or_gaps_even_on_equal_times(hub_app, order):
    with hub_app.app_context():
        whole_second = datetime(2026, 3, 2, 1, 0, 0, tzinfo=timezone.utc)
        made = []
        # Five opinions in the same whole second, three in the same microsecond,
        # others spread out; categories differ, so due dates tie and differ.
        for i in range(5):
            made.append(receive_opinion("LC00", category=["road", "water"][i % 2], created_at=whole_second))
        for i in range(3):
            made.append(receive_opinion("LC00", created_at=whole_second + timedelta(microseconds=250)))
        for i in range(9):
            made.append(receive_opinion("LC00", category="environment", created_at=whole_second - timedelta(hours=i * 7)))
        clerk = make_user()
        filters = QueueFilters(order=order)
        everything = [o.uuid for o in db.session.scalars(
            queue.filtered(clerk, filters).order_by(*(
                (Opinion.close_due_on, Opinion.created_at, Opinion.uuid) if order == "urgent"
                else (Opinion.created_at.desc(), Opinion.uuid.desc())
            ))
        )]  # fmt: skip
        assert len(everything) == len(made)
        for size in (1, 2, 3, 4, 7, 17, 50):
            seen, pages = _walk(clerk, filters, size)
            assert seen == everything, f"page size {size}"
            assert pages == max(1, -(-len(made) // size))


def test_the_more_link_walks_the_whole_queue(hub, clerk):
    with hub.app_context():
        moment = datetime(2026, 3, 2, 1, 0, 0, tzinfo=timezone.utc)
        made = {receive_opinion("LC00", created_at=moment - timedelta(seconds=i // 3)).uuid for i in range(queue.PAGE_SIZE + 7)}
    page = clerk.get("/staff/")
    first = listed(page)
    assert len(first) == queue.PAGE_SIZE
    more = re.search(r'rel="next" href="([^"]+)"', page.text).group(1).replace("&amp;", "&")
    second = listed(clerk.get(more))
    assert len(second) == 7
    assert set(first) | set(second) == made
    assert not set(first) & set(second)
    assert 'rel="next"' not in clerk.get(more).text


def test_urgent_order_puts_overdue_first_and_leaves_finished_out(office, clerk):
    rows = listed(clerk.get("/staff/", query_string={"order": "urgent"}))
    assert rows[0] == office["lamp"]
    assert office["closed"] not in rows
    assert set(rows) == {office["lamp"], office["canal"], office["rubbish"]}
    # Asked for by status, finished ones are listed in that order too.
    assert listed(clerk.get("/staff/", query_string={"order": "urgent", "status": "closed"})) == [office["closed"]]


# --- counts ----------------------------------------------------------------------------------


def test_counts_per_status_follow_the_other_filters(hub, office, clerk):
    with hub.app_context():
        user = clerk.user()
        counts = queue.status_counts(user, QueueFilters())
        assert (counts["all"], counts["open"], counts["received"], counts["accepted"], counts["closed"]) == (4, 3, 2, 1, 1)
        assert counts["declined"] == 0
        # The status filter itself does not change the tabs' counts.
        assert queue.status_counts(user, QueueFilters(status="closed")) == counts
        assert queue.status_counts(user, QueueFilters(station_code="LC00"))["received"] == 1
        assert queue.overdue_count(user, QueueFilters()) == 1
    page = clerk.get("/staff/")
    assert re.search(r'data-status="received">[^<]*<span class="count">2</span>', page.text)
    assert re.search(r'data-status="overdue">[^<]*<span class="count">1</span>', page.text)
    assert re.search(r'class="overdue"[^>]*data-uuid="' + office["lamp"], page.text)


def test_a_department_late_with_its_reply_makes_the_opinion_overdue(hub, office, clerk):
    """The opinion's own dates are still ahead; its department's due date has passed."""
    with hub.app_context():
        user = clerk.user()
        department = Department(name="罗定市供电局")
        db.session.add(department)
        db.session.commit()
        rubbish = db.session.get(Opinion, office["rubbish"])
        assignment = services.forward(user, rubbish, department)
        today = services.today()
        rubbish.close_due_on = add_working_days(today, 20)
        assignment.due_on = today - timedelta(days=1)
        db.session.commit()
        assert services.is_overdue(rubbish, today)
        assert queue.overdue_count(user, QueueFilters()) == 2
    page = clerk.get("/staff/", query_string={"status": "all"})
    assert re.search(r'class="overdue"[^>]*data-uuid="' + office["rubbish"], page.text)
    assert set(listed(clerk.get("/staff/", query_string={"overdue": "1"}))) == {office["lamp"], office["rubbish"]}


# --- bulk actions ----------------------------------------------------------------------------


def test_bulk_accept_says_how_many_and_which_were_skipped_and_why(hub, office, clerk):
    with hub.app_context():
        before = db.session.scalar(select(func.count()).select_from(AuditEntry))
    ticked = [office["lamp"], office["canal"], office["rubbish"], office["elsewhere"]]
    page = clerk.post("/staff/bulk", {"action": "accept", "uuid": ticked}, htmx=True)
    assert page.status_code == 200
    result = re.search(r'data-testid="bulk-result">(.*?)</div>', page.text, re.S).group(1)
    assert "已受理 2 条" in result and "跳过 2 条" in result
    with hub.app_context():
        rubbish_number = db.session.get(Opinion, office["rubbish"]).receipt_number
        assert f"{rubbish_number}：意见目前为“已受理”，不能受理。" in result
        assert "找不到这条意见，或无权处理。" in result
        assert db.session.get(Opinion, office["lamp"]).status == "accepted"
        assert db.session.get(Opinion, office["canal"]).status == "accepted"
        assert db.session.get(Opinion, office["elsewhere"]).status == "received"
        audit_rows = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id).offset(before)).all()
    # Two acceptances, and the other township's opinion noted as denied.
    assert sorted(audit_rows) == ["accept", "accept", "denied"]


def test_bulk_forward_to_one_department_with_a_due_date(hub, office, clerk):
    with hub.app_context():
        department = Department(name="水务局")
        db.session.add(department)
        db.session.commit()
        department_id = department.id
        due = add_working_days(services.today(), 5)
    clerk.post("/staff/bulk", {"action": "accept", "uuid": [office["lamp"], office["canal"]]})
    page = clerk.post(
        "/staff/bulk",
        {"action": "forward", "department": department_id, "due_on": due.isoformat(), "uuid": [office["lamp"], office["canal"], office["closed"]]},
    )
    assert page.status_code == 302  # a plain form: back to the queue with a message
    queue_page = clerk.client.get(page.headers["Location"])
    assert "已转办 2 条" in queue_page.text and "跳过 1 条" in queue_page.text
    with hub.app_context():
        for name in ("lamp", "canal"):
            opinion = db.session.get(Opinion, office[name])
            assert (opinion.status, opinion.department_id) == ("forwarded", department_id)
            assert services.active_assignment(opinion).due_on == due


def test_bulk_forward_without_a_department_changes_nothing(hub, office, clerk):
    page = clerk.post("/staff/bulk", {"action": "forward", "uuid": [office["lamp"]]}, htmx=True)
    assert page.status_code == 200
    assert "转办请选择承办部门。" in page.text
    with hub.app_context():
        assert db.session.get(Opinion, office["lamp"]).status == "received"


def test_bulk_without_a_csrf_token_is_refused(hub, office, clerk):
    page = clerk.post("/staff/bulk", {"action": "accept", "uuid": [office["lamp"]]}, csrf=False)
    assert page.status_code == 400
    with hub.app_context():
        assert db.session.get(Opinion, office["lamp"]).status == "received"


def test_find_a_lost_receipt_by_phone_station_date_or_category(hub, office, clerk):
    def found(**args):
        page = clerk.post("/staff/find", args, htmx=True)
        assert page.status_code == 200
        return re.findall(r'href="/staff/opinions/([0-9a-f-]+)"', page.text)

    assert found(phone="138 0013 8000") == [office["closed"]]
    assert found(phone="8000") == [office["closed"]]  # the last four digits are enough
    assert found(phone="9999") == []
    assert "至少填后4位" in clerk.post("/staff/find", {"phone": "800"}, htmx=True).text
    assert found(station="LC00", category="road") == [office["closed"], office["lamp"]]
    with hub.app_context():
        day = local_day(db.session.get(Opinion, office["lamp"]).created_at)
        elsewhere = db.session.get(Opinion, office["elsewhere"])
        elsewhere_station = elsewhere.station_code
    assert found(day=day.isoformat()) == [office["lamp"]]
    # Another township's opinion is never found.
    assert found(station=elsewhere_station) == []
    empty = clerk.post("/staff/find", {"phone": ""})
    assert "请至少填写一项" in empty.text
    # Station, date and category also work as a link (GET).
    assert office["lamp"] in clerk.get("/staff/find", query_string={"day": day.isoformat()}).text


def test_a_bulk_mistake_keeps_the_ticks_and_the_chosen_action(hub, office, clerk):
    for htmx in (True, False):
        page = clerk.post("/staff/bulk", {"action": "forward", "uuid": [office["lamp"], office["canal"]]}, htmx=htmx)
        assert page.status_code == 200  # re-rendered, not sent away
        assert "转办请选择承办部门。" in page.text
        ticked = re.findall(r'name="uuid" value="([^"]+)"[^>]*checked', page.text)
        assert sorted(ticked) == sorted([office["lamp"], office["canal"]])
        assert re.search(r'name="action" value="forward" checked', page.text)
        assert not re.search(r'name="action" value="accept" checked', page.text)
    with hub.app_context():
        assert db.session.get(Opinion, office["lamp"]).status == "received"


def test_a_bulk_forward_lists_what_was_done_and_prints_all_slips_in_one_pdf(hub, office, clerk, tmp_path):
    with hub.app_context():
        department = Department(name="水务局")
        db.session.add(department)
        db.session.commit()
        department_id = department.id
        numbers = {n: db.session.get(Opinion, office[n]).receipt_number for n in ("lamp", "canal")}
    clerk.post("/staff/bulk", {"action": "accept", "uuid": [office["lamp"], office["canal"]]})
    page = clerk.post("/staff/bulk", {"action": "forward", "department": department_id,
                                      "uuid": [office["lamp"], office["canal"]]}, htmx=True)  # fmt: skip
    result = re.search(r'data-testid="bulk-result">(.*?)</div>', page.text, re.S).group(1)
    for name in ("lamp", "canal"):
        assert f'<a href="/staff/opinions/{office[name]}">{numbers[name]}</a>' in result
    slips = re.search(r'href="([^"]+)"[^>]*data-testid="bulk-slips"', result).group(1).replace("&amp;", "&")
    pdf = clerk.get(slips)
    assert pdf.status_code == 200 and pdf.content_type == "application/pdf"
    pages = receipt_checks.text(receipt_checks.write(pdf.data, tmp_path / "slips.pdf")).split("\f")
    # One slip per page, in the order forwarded.
    assert [numbers["lamp"] in page and numbers["canal"] in page for page in pages if page.strip()] == [False, False]
    assert [n for page in pages if page.strip() for n in numbers.values() if n in page] == [numbers["lamp"], numbers["canal"]]
    # Another township's assignment among them: a 404, as for one slip.
    with hub.app_context():
        elsewhere = db.session.get(Opinion, office["elsewhere"])
        chair = make_user(role="chair", township=elsewhere.station.township.name)
        services.accept(chair, elsewhere)
        other = services.forward(chair, elsewhere, db.session.get(Department, department_id)).id
    assert clerk.get(slips + f"&and={other}").status_code == 404
    assert clerk.get("/staff/assignments/424242/slips.pdf").status_code == 404
