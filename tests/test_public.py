"""The public status page a receipt's QR code leads to, and the look-up at the kiosk."""

import re

import pytest

from kiosk import create_app
from kiosk.extensions import db
from kiosk.models import OpinionEvent, OpinionStatus, utcnow
from tests.support.factories import make_opinion
from tests.support.web import text

HTMX = {"HX-Request": "true"}
PERSONAL = {"name": "陈大文", "phone": "13812345678", "consent_version": "2026-11", "anonymous": False}
CONTENT = "村口的路灯坏了三个月，晚上很黑。"


@pytest.fixture
def receipt(app):
    """A consenting person's opinion, and its number and secret."""
    with app.app_context():
        opinion = make_opinion(content=CONTENT, **PERSONAL)
        return opinion.receipt_number, opinion.secret


def test_status_page_shows_the_public_facts(client, receipt):
    number, secret = receipt
    page = client.get(f"/r/{number}?k={secret}")
    assert page.status_code == 200
    html = text(page)
    for fact in (number, "道路交通", "罗城街道人大代表中心联络站", "已在联络站登记", "办理经过"):
        assert fact in html
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"


def test_status_page_never_shows_personal_data_or_the_text(client, receipt):
    number, secret = receipt
    html = text(client.get(f"/r/{number}?k={secret}"))
    for private in ("陈大文", "13812345678", "5678", CONTENT[:6]):
        assert private not in html


def test_status_page_accepts_what_people_type(client, receipt):
    number, secret = receipt
    assert client.get(f"/r/{number.lower()}?k={secret.lower()}").status_code == 200


@pytest.mark.parametrize("query", ["", "?k=", "?k=AAAAAA", "?k=<script>"])
def test_without_the_right_secret_the_page_is_plain_and_404(client, receipt, query):
    number, _ = receipt
    page = client.get(f"/r/{number}{query}")
    assert page.status_code == 404
    assert "没有找到这张回执" in text(page)
    assert "道路交通" not in text(page) and "<script>" not in text(page)


def test_a_wrong_secret_and_an_unknown_number_look_the_same(client, receipt):
    number, secret = receipt
    wrong_secret = client.get(f"/r/{number}?k=AAAAAA")
    unknown = client.get(f"/r/LC00-990101-0001?k={secret}")
    assert wrong_secret.status_code == unknown.status_code == 404
    assert text(wrong_secret) == text(unknown)


def test_replies_and_notes_are_shown_escaped(app, client, receipt):
    number, secret = receipt
    with app.app_context():
        from kiosk.public.lookup import find_receipt

        opinion = find_receipt(number, secret)
        opinion.status = OpinionStatus.CLOSED
        opinion.public_reply = '<script>alert(1)</script><div hx-get="/opinion/restart">路灯已修好</div>'
        db.session.add(OpinionEvent(opinion_uuid=opinion.uuid, status=OpinionStatus.CLOSED, at=utcnow(),
                                    note="<b>镇人大办</b>回访"))
        db.session.commit()
    html = text(client.get(f"/r/{number}?k={secret}"))
    assert "已办结" in html and "路灯已修好" in html
    assert "&lt;script&gt;" in html and "<script>alert" not in html
    assert '<div hx-get="/opinion/restart">' not in html and "&lt;b&gt;镇人大办&lt;/b&gt;" in html


def test_the_hub_says_honestly_when_a_station_has_not_sent_a_receipt(tmp_path):
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "t", "ROLE": "hub"})
    with app.app_context():
        from kiosk.demo.services import load_demo

        load_demo(role="hub")
        today = utcnow().strftime("%y%m%d")
        db.engine.dispose()
    page = app.test_client().get(f"/r/LC00-{today}-0001?k=ABCDEF")
    assert page.status_code == 404
    assert "联络站还没有把这条意见送到镇人大办" in text(page)
    assert "罗城街道人大代表中心联络站" in text(page)
    page = app.test_client().get("/r/NOPE?k=ABCDEF")
    assert "没有找到这张回执" in text(page)


# --- the kiosk look-up ------------------------------------------------------------------------


@pytest.fixture
def token(client):
    return re.search(r'name="csrf_token" value="([^"]+)"', text(client.get("/lookup"))).group(1)


def look_up(client, token, number, secret, htmx=True):
    return client.post("/lookup", data={"csrf_token": token, "number": number, "secret": secret},
                       headers=HTMX if htmx else {})


def test_lookup_screen_has_a_keypad_for_number_and_secret(client):
    page = client.get("/lookup")
    html = text(page)
    assert page.status_code == 200
    for hook in ("lookup-number", "lookup-secret", "lookup", "restart", "back"):
        assert f'data-testid="{hook}"' in html
    assert html.count('data-keyboard="code"') == 2
    assert page.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("typed", ["as printed", "lower case", "without hyphens"])
def test_lookup_with_the_right_secret_shows_the_status(client, token, receipt, typed):
    number, secret = receipt
    number = {"as printed": number, "lower case": number.lower(), "without hyphens": number.replace("-", "")}[typed]
    page = look_up(client, token, f" {number} ", secret.lower())
    html = text(page)
    assert page.status_code == 200
    assert 'data-testid="lookup-result"' in html and "<html" not in html and 'id="screen"' not in html
    assert "已在联络站登记" in html and "道路交通" in html
    for private in ("陈大文", "13812345678", CONTENT[:6]):
        assert private not in html
    assert page.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("secret", ["AAAAAA", "<script>", ""])
def test_lookup_with_a_wrong_secret_shows_nothing_about_the_receipt(client, token, receipt, secret):
    number, _ = receipt
    page = look_up(client, token, number, secret)
    html = text(page)
    assert page.status_code == 200
    assert 'data-testid="lookup-result"' in html
    assert "没有找到这张回执" in html or "请输入验证码" in html
    assert "道路交通" not in html and "<script>" not in html


def test_lookup_without_javascript_shows_the_whole_screen(client, token, receipt):
    number, secret = receipt
    page = look_up(client, token, number, secret, htmx=False)
    assert "<html" in text(page) and 'data-testid="lookup-result"' in text(page)
    assert f'value="{number}"' in text(page)


def test_lookup_is_on_the_station_only(tmp_path):
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "t", "ROLE": "hub"})
    assert app.test_client().get("/lookup").status_code == 404
    with app.app_context():
        db.engine.dispose()


def test_guessing_one_receipts_secret_is_stopped_from_anywhere(app, client):
    """Wrong 验证码 after wrong 验证码 for one receipt: a wait page, even for the right one, from any address."""
    from tests.support.factories import make_opinion

    app.config["LOOKUP_FAILURES_PER_10_MINUTES"] = 3
    with app.app_context():
        guessed, other = make_opinion(), make_opinion()
        number, secret = guessed.receipt_number, guessed.secret
        other_number, other_secret = other.receipt_number, other.secret
    for guess in ("AAAAAA", "CCCCCC", "DDDDDD"):
        assert client.get(f"/r/{number}?k={guess}").status_code == 404
    for address in ("127.0.0.1", "10.0.0.9"):
        blocked = app.test_client().get(f"/r/{number}?k={secret}", environ_base={"REMOTE_ADDR": address})
        assert blocked.status_code == 429
        assert "验证码输错的次数太多了" in text(blocked) and "10 分钟后再试" in text(blocked)
    # Other receipts open as before.
    assert client.get(f"/r/{other_number}?k={other_secret}").status_code == 200


def test_walking_through_receipts_from_one_address_is_stopped(app):
    """Wrong look-ups of many receipts from one phone or computer: that address waits, nobody else."""
    from tests.support.factories import make_opinion

    app.config["LOOKUP_FAILURES_PER_10_MINUTES"] = 3
    with app.app_context():
        opinion = make_opinion()
        number, secret = opinion.receipt_number, opinion.secret
    walker = app.test_client()
    walker.environ_base["REMOTE_ADDR"] = "10.0.0.9"
    for serial in (7001, 7002, 7003):
        assert walker.get(f"/r/LC00-260101-{serial}?k=ABCDEF").status_code == 404
    assert walker.get(f"/r/{number}?k={secret}").status_code == 429
    neighbour = app.test_client()
    assert neighbour.get(f"/r/{number}?k={secret}", environ_base={"REMOTE_ADDR": "10.0.0.10"}).status_code == 200


def test_at_a_hub_this_machines_address_counts_like_any_other(hub):
    """Behind a reverse proxy on the hub itself every visitor comes from 127.0.0.1: still limited."""
    hub.config["LOOKUP_FAILURES_PER_10_MINUTES"] = 3
    walker = hub.test_client()
    for serial in (7001, 7002, 7003):
        assert walker.get(f"/r/LC00-260101-{serial}?k=ABCDEF").status_code == 404
    assert walker.get("/r/LC00-260101-7004?k=ABCDEF").status_code == 429


def test_an_ipv6_household_is_one_address(app):
    app.config["LOOKUP_FAILURES_PER_10_MINUTES"] = 3
    for serial, host in ((7001, "2001:db8:1:2::a"), (7002, "2001:db8:1:2::b"), (7003, "2001:db8:1:2:ffff::1")):
        page = app.test_client().get(f"/r/LC00-260101-{serial}?k=ABCDEF", environ_base={"REMOTE_ADDR": host})
        assert page.status_code == 404
    elsewhere = {"REMOTE_ADDR": "2001:db8:1:3::a"}
    assert app.test_client().get("/r/LC00-260101-7004?k=ABCDEF", environ_base=elsewhere).status_code == 404
    same = {"REMOTE_ADDR": "2001:db8:1:2::c"}
    assert app.test_client().get("/r/LC00-260101-7004?k=ABCDEF", environ_base=same).status_code == 429


def test_the_kiosks_own_screen_is_never_shut_by_one_persons_mistakes(app, client, token, receipt):
    """Every villager's look-up comes from this machine: typing mistakes on many receipts
    never stop the next person, and one receipt guessed at says so in plain words."""
    app.config["LOOKUP_FAILURES_PER_10_MINUTES"] = 3
    number, secret = receipt
    for serial in range(7001, 7011):
        assert "没有找到这张回执" in text(look_up(client, token, f"LC00-260101-{serial}", "ABCDEF"))
    assert "已在联络站登记" in text(look_up(client, token, number, secret))

    for guess in ("AAAAAA", "CCCCCC", "DDDDDD"):
        look_up(client, token, number, guess)
    page = look_up(client, token, number, secret)
    assert page.status_code == 200
    html = text(page)
    assert 'data-testid="lookup-result"' in html and "已在联络站登记" not in html
    assert "验证码已输错多次" in html and "10 分钟后再试" in html


@pytest.mark.parametrize("typed", ["LCOO", "lcoo", "LcO0"])
def test_a_station_code_typed_with_o_for_0_still_finds_the_receipt(client, token, receipt, typed):
    """Station codes hold both letters and digits; LC00 read off paper is easily typed LCOO."""
    number, secret = receipt
    assert number.startswith("LC00-")
    mistyped = typed + number[4:]
    assert "已在联络站登记" in text(look_up(client, token, mistyped, secret))
    assert client.get(f"/r/{mistyped}?k={secret}").status_code == 200
    # A look-alike of no station stays unknown.
    assert "没有找到这张回执" in text(look_up(client, token, "QQ" + number[2:], secret))


def test_receipt_numbers_are_read_however_they_are_typed():
    from kiosk.receipts.numbers import normalise_receipt_number

    for typed in ("lc00-261128-0001", "LC002611280001", "LC00261128-0001", " LC00 - 261128 - 0001 ", "LC00－261128－0001",
                  "LC00-261128-OOOI", "LC0026112800O1", "lc00-261128-000l", "ＬＣ００－２６１１２８－０００１"):
        assert normalise_receipt_number(typed) == "LC00-261128-0001"
    assert normalise_receipt_number("LC00-261128-12345") == "LC00-261128-12345"


# --- at the hub: the progress staff make, as the receipt's holder sees it ---------------------

STAFF_REPLY = "路灯已于上周修好，感谢您的反映。"


@pytest.fixture
def handled(hub):
    """An opinion at the hub carried through forward, reply and close by a named clerk."""
    from kiosk.models import Department
    from kiosk.staff import services as staff
    from tests.support.factories import make_user, receive_opinion

    with hub.app_context():
        department = Department(name="罗城街道城建办", contact_person="李科长", contact_phone="0766-8889999")
        db.session.add(department)
        db.session.commit()
        opinion = receive_opinion(content=CONTENT, contact_name="陈大文", contact_phone="13812345678")
        clerk = make_user(username="clerk-wang")
        clerk.display_name = "王小明"
        db.session.commit()
        staff.accept(clerk, opinion)
        assignment = staff.forward(clerk, opinion, department, instructions="请李科长本周内派人查看。")
        staff.record_reply(clerk, assignment, "城建办内部答复：已安排电工老张维修。")
        staff.close(clerk, opinion, STAFF_REPLY)
        return opinion.receipt_number, opinion.secret


def test_hub_status_page_shows_the_history_and_the_public_reply(hub, handled):
    number, secret = handled
    page = hub.test_client().get(f"/r/{number}?k={secret}")
    html = text(page)
    assert page.status_code == 200
    for step in ("罗城街道人大工委已收到", "已受理", "已转交有关部门办理", "已答复", "已办结"):
        assert step in html
    assert STAFF_REPLY in html
    # The department's name may show (as Open311's agency_responsible does).
    assert "罗城街道城建办" in html


def test_hub_status_page_never_shows_staff_or_contact_details(hub, handled):
    number, secret = handled
    html = text(hub.test_client().get(f"/r/{number}?k={secret}"))
    for private in ("clerk-wang", "王小明", "李科长", "0766-8889999", "老张", "请李科长", "陈大文", "13812345678",
                    CONTENT[:6]):
        assert private not in html


def test_a_merged_duplicate_shows_its_originals_progress(hub):
    from kiosk.staff import services as staff
    from tests.support.factories import make_user, receive_opinion

    with hub.app_context():
        original = receive_opinion(content="村口路灯坏了，晚上看不见路。")
        duplicate = receive_opinion(content="村口的路灯又不亮了。")
        clerk = make_user()
        staff.accept(clerk, original)
        staff.merge(clerk, duplicate, original)
        staff.close(clerk, original, STAFF_REPLY)
        pages = {o.receipt_number: o.current_secret for o in (original, duplicate)}
        number, duplicate_number = original.receipt_number, duplicate.receipt_number
    client = hub.test_client()
    html = text(client.get(f"/r/{duplicate_number}?k={pages[duplicate_number]}"))
    assert f"已与回执 {number} 合并办理" in html
    assert re.search(r'data-testid="status-label">已办结<', html)
    assert STAFF_REPLY in html and "已在联络站登记" in html
    # The original's receipt is unchanged by it.
    assert "合并办理" not in text(client.get(f"/r/{number}?k={pages[number]}"))


def test_a_replacement_receipt_retires_the_old_secret_at_the_hub(hub):
    from kiosk.staff import services as staff
    from tests.support.factories import make_user, receive_opinion

    with hub.app_context():
        opinion = receive_opinion(secret="ABCDEF")
        new_secret = staff.replace_receipt(make_user(), opinion)
        number = opinion.receipt_number
    client = hub.test_client()
    assert client.get(f"/r/{number}?k=ABCDEF").status_code == 404
    assert client.get(f"/receipts/{number}.pdf?k=ABCDEF").status_code == 404
    assert client.get(f"/r/{number}?k={new_secret}").status_code == 200
    assert client.get(f"/r/{number}?k={new_secret.lower()}").status_code == 200


def test_a_merged_duplicate_lists_the_originals_whole_history_at_the_hub(hub):
    """Merged after the original was forwarded, then extended, replied and closed: the
    duplicate's receipt shows the original's steps from before the merge too, and its
    status and reply, not only its own old history."""
    from datetime import timedelta

    from kiosk.models import Department
    from kiosk.staff import services as staff
    from kiosk.workdays import add_working_days
    from tests.support.factories import make_user, receive_opinion

    with hub.app_context():
        department = Department(name="罗城街道城建办", contact_person="李科长", contact_phone="0766-8889999")
        db.session.add(department)
        db.session.commit()
        original = receive_opinion(content="村口路灯坏了，晚上看不见路。")
        duplicate = receive_opinion(content="村口的路灯又不亮了。")
        clerk, chair = make_user(), make_user(role="chair", username="chair-li")
        staff.accept(clerk, original)
        assignment = staff.forward(clerk, original, department)
        staff.merge(clerk, duplicate, original)
        until = add_working_days(assignment.due_on + timedelta(days=1), 5)
        staff.request_extension(clerk, assignment, until, "需要更换电缆。")
        staff.decide_extension(chair, assignment, True)
        staff.record_reply(clerk, assignment, "已更换电缆。")
        staff.close(clerk, original, STAFF_REPLY)
        number, secret = duplicate.receipt_number, duplicate.current_secret
        original_number = original.receipt_number
    html = text(hub.test_client().get(f"/r/{number}?k={secret}"))
    assert re.search(r'data-testid="status-label">已办结<', html) and STAFF_REPLY in html
    history = html[html.index('data-testid="status-history"'):]
    line = history.index(f"已与回执 {original_number} 合并办理")
    # The duplicate's own first steps and the original's, the forward before the merge included, in time order.
    assert history.index("已在联络站登记") < history.index("已转交罗城街道城建办办理") < line
    assert line < history.index("已办结，答复已公开")
    assert history.count("已在联络站登记") == 1


def test_a_merged_duplicate_lists_the_originals_whole_history_at_the_station(station_app, hub_app, transport):
    from kiosk.models import Department, Opinion
    from kiosk.staff import services as staff
    from tests.support.factories import make_user
    from tests.support.inprocess import sync

    station_app.config["SYNC_BACKGROUND"] = False
    with station_app.app_context():
        original, duplicate = make_opinion("LC00"), make_opinion("LC00")
        uuids = original.uuid, duplicate.uuid
        number, secret, original_number = duplicate.receipt_number, duplicate.secret, original.receipt_number
    assert sync(station_app, transport).ok
    with hub_app.app_context():
        department = Department(name="罗城街道城建办", contact_person="李科长", contact_phone="0766-8889999")
        db.session.add(department)
        db.session.commit()
        first, second = (db.session.get(Opinion, u) for u in uuids)
        clerk = make_user()
        staff.accept(clerk, first)
        assignment = staff.forward(clerk, first, department)
        staff.merge(clerk, second, first)
        staff.record_reply(clerk, assignment, "已更换电缆。")
        staff.close(clerk, first, STAFF_REPLY)
    assert sync(station_app, transport).ok
    html = text(station_app.test_client().get(f"/r/{number}?k={secret}"))
    assert re.search(r'data-testid="status-label">已办结<', html) and STAFF_REPLY in html
    history = html[html.index('data-testid="status-history"'):]
    line = history.index(f"已与回执 {original_number} 合并办理")
    assert history.index("已在联络站登记") < history.index("已转交罗城街道城建办办理") < line
    assert line < history.index("已办结，答复已公开")
    assert history.count("已在联络站登记") == 1


def test_the_history_is_a_plain_dated_list_oldest_first(hub, handled):
    number, secret = handled
    html = text(hub.test_client().get(f"/r/{number}?k={secret}"))
    assert '<ul class="status-history"' in html and "<ol" not in html
    history = html[html.index('data-testid="status-history"'):]
    assert history.index("已受理") < history.index("已转交有关部门办理") < history.index("已办结")
    assert history.count("<time datetime=") == 6


def test_the_status_page_names_the_township_office(hub):
    """A 街道 has a 人大工委, a 镇 its own 人大: the page says which has the opinion."""
    from kiosk.models import Station
    from tests.support.factories import receive_opinion

    with hub.app_context():
        street = receive_opinion()
        town_station = db.session.scalar(db.select(Station).join(Station.township).where(Station.township.has(kind="镇")))
        town = receive_opinion(station_code=town_station.code)
        pages = [(o.receipt_number, o.current_secret, o.station.township.name) for o in (street, town)]
    client = hub.test_client()
    (n1, k1, street_name), (n2, k2, town_name) = pages
    assert re.search(rf'data-testid="status-label">{street_name}人大工委已收到<', text(client.get(f"/r/{n1}?k={k1}")))
    assert re.search(rf'data-testid="status-label">{town_name}人大办已收到<', text(client.get(f"/r/{n2}?k={k2}")))
