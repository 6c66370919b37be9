"""Opinions from phones: a deputy's or a station's QR code opens a page at the hub.

- The page shows public facts only (never a deputy's private mobile) and a
  short form; a submit saves the opinion numbered under the township's
  online station, with a receipt number, 验证码 and status page as a kiosk
  receipt's, in the township's queue addressed to the deputy or station.
- A second tap saves nothing more; bad input gets the kiosk's messages and
  saves nothing; floods are refused per page and per address.
- ``deputies qr`` prints the page's address, and posters (CLI and staff
  pages) carry it in their QR code: only a public one.
- The deputy's file and the dashboard count phone opinions; the online
  station is registered once per township and has no box, duty or deputy.
"""

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from kiosk.clock import today
from kiosk.deputies import services as directory
from kiosk.extensions import db
from kiosk.models import (
    AssistedEntry,
    Category,
    Channel,
    Deputy,
    DutyCheckin,
    LimitFailure,
    Opinion,
    OpinionEvent,
    ReceiptCounter,
    Station,
    utcnow,
)
from kiosk.phone import services as phone
from kiosk.roster import services as roster
from kiosk.staff import services as staff
from kiosk.stats import services as stats
from kiosk.sync.records import RECORD_TYPES
from tests.support.apps import make_app
from tests.support.desk import Desk
from tests.support.factories import make_user, receive_opinion
from tests.support.phone import Phone, make_online_station
from tests.support.receipts import page_size_mm, qr_texts, rasterise, text, write

MOBILE = "13912340000"
PUBLIC_PHONE = "0766-3811234"


@pytest.fixture
def township(hub):
    """罗城街道 with its online station LCWS, and a deputy with a private mobile and a public phone."""
    with hub.app_context():
        make_online_station()
        deputy = db.session.scalars(select(Deputy).join(Deputy.stations).where(Station.code == "LC01")).first()
        deputy.mobile, deputy.public_phone = MOBILE, PUBLIC_PHONE
        db.session.commit()
        return {"deputy_id": deputy.id, "public_id": deputy.public_id, "name": deputy.name}


def opinions(hub) -> list[Opinion]:
    with hub.app_context():
        rows = db.session.scalars(select(Opinion).order_by(Opinion.receipt_number)).all()
        db.session.expunge_all()
        return rows


def queue_row(hub, number: str) -> str:
    """The row of the receipt ``number`` in 罗城街道's queue, as its staff see it."""
    queue = Desk(hub).get("/staff/").get_data(as_text=True)
    return queue.split(f">{number}</a>")[1].split("</tr>")[0]


def test_a_deputys_page_shows_public_facts_and_the_form(hub, township):
    page = Phone(hub.test_client(), f"/d/{township['public_id']}")
    assert page.open().status_code == 200
    assert township["name"] in page.page and PUBLIC_PHONE in page.page
    with hub.app_context():
        stations = [s.name for s in db.session.get(Deputy, township["deputy_id"]).stations]
    assert stations and all(name in page.page for name in stations)
    assert MOBILE not in page.page
    for testid in ("category-road", "content", "anonymous", "consent", "name", "phone", "submit"):
        assert f'data-testid="{testid}"' in page.page
    # Its own notice: what the hub keeps, who sees it, for how long; its own version.
    assert "phone-2026-12" in page.page and "办结" in page.page and "本机即删除" not in page.page
    # The phone's own keyboard: no kiosk keyboard hooks.
    assert "data-keyboard" not in page.page
    assert page.client.get("/d/no-such-deputy").status_code == 404


def test_a_phone_opinion_gets_a_receipt_its_status_page_and_a_place_in_the_queue(hub, township):
    page = Phone(hub.test_client(), f"/d/{township['public_id']}")
    page.open()
    answer = page.submit(consent="y", name="陈大文", phone="13800138000")
    assert answer.status_code == 200
    number, secret = page.receipt
    assert number.startswith("LCWS-") and number.endswith("-0001")
    assert "截屏" in page.page and "13800138000" not in page.page and "陈大文" not in page.page
    assert answer.headers["Cache-Control"] == "no-store"

    [saved] = opinions(hub)
    assert (saved.channel, saved.station_code, saved.deputy_id, saved.status) == (Channel.PHONE, "LCWS", township["deputy_id"], "received")
    assert (saved.contact_name, saved.contact_phone, saved.consent_version) == ("陈大文", "13800138000", "phone-2026-12")
    assert saved.township_id is not None and saved.accept_due_on and saved.close_due_on and saved.hub_received_at
    with hub.app_context():
        steps = db.session.scalars(select(OpinionEvent.status).where(OpinionEvent.opinion_uuid == saved.uuid)).all()
        assert sorted(steps) == ["received", "submitted"]
        # Only the online station's counter moved.
        assert db.session.execute(select(ReceiptCounter.station_code, ReceiptCounter.last_serial)).all() == [("LCWS", 1)]

    status = hub.test_client().get(f"/r/{number}?k={secret}")
    assert status.status_code == 200 and number in status.text and "13800138000" not in status.text

    row = queue_row(hub, number)
    assert township["name"] in row and 'data-testid="channel-phone"' in row


def test_a_station_code_addresses_the_station(hub, township):
    page = Phone(hub.test_client(), "/s/LC01")
    page.open()
    with hub.app_context():
        station = db.session.get(Station, "LC01")
        assert station.name in page.page
        assert all(d.name in page.page for d in station.serving_deputies)
        name = station.name
    assert MOBILE not in page.page
    page.submit(category="water", content="自来水经常停，希望尽快解决。")
    [saved] = opinions(hub)
    assert (saved.addressed_station_code, saved.deputy_id, saved.station_code) == ("LC01", None, "LCWS")
    row = queue_row(hub, page.receipt[0])
    assert name in row and "手机" in row
    # The online station itself has no page.
    assert hub.test_client().get("/s/LCWS").status_code == 404


def test_a_second_tap_or_a_reload_finds_the_same_receipt(hub, township):
    page = Phone(hub.test_client(), f"/d/{township['public_id']}")
    page.open()
    form = page.page
    page.submit()
    first = page.receipt
    page.page = form  # the same form posted again
    page.submit()
    assert page.receipt == first
    assert len(opinions(hub)) == 1
    # The same submission id with another text is refused, not shown someone else's receipt.
    page.page = form
    page.submit(content="完全不同的另一件事情。")
    assert page.receipt is None and "页面已过期" in page.page
    assert len(opinions(hub)) == 1
    # The page it came back with sends it as a new opinion.
    page.submit(content="完全不同的另一件事情。")
    assert page.receipt is not None and page.receipt != first
    assert len(opinions(hub)) == 2


BAD = [
    ({"category": ""}, "请选择一类意见。"),
    ({"category": "no-such-category"}, "请选择一类意见。"),
    ({"content": "太短"}, "请至少写 5 个字"),
    ({"content": "长" * 2001}, "内容太长了：最多 2000 个字"),
    ({"content": "\u200b\u200b\u200b\u200b\u200b\u200b"}, "请至少写 5 个字"),
    ({"consent": "y", "name": "", "phone": "13800138000"}, "请填写您的姓名"),
    ({"consent": "y", "name": "陈大文", "phone": "12345"}, "手机号码应为 11 位数字"),
    ({"consent": "y", "name": "<script>", "phone": "13800138000"}, "姓名只能写汉字或字母"),
    ({"submission": "not-a-uuid"}, "页面已过期"),
]


def test_bad_input_gets_the_kiosks_messages_and_saves_nothing(hub, township):
    for fields, message in BAD:
        page = Phone(hub.test_client(), f"/d/{township['public_id']}")
        page.open()
        answer = page.submit(**fields)
        assert answer.status_code == 200
        assert any(message in error for error in page.errors), (fields, page.errors)
        assert page.receipt is None
        # What was typed stays, to be put right.
        if len(fields.get("content", "")) > 2000:
            assert fields["content"] in page.page
    assert opinions(hub) == []


def test_anonymous_drops_a_name_and_phone_typed_anyway(hub, township):
    page = Phone(hub.test_client(), f"/d/{township['public_id']}")
    page.submit(consent="", name="陈大文", phone="13800138000")
    [saved] = opinions(hub)
    assert (saved.contact_name, saved.contact_phone, saved.consent_version) == (None, None, None)


def test_a_township_without_an_online_station_says_so_and_saves_nothing(hub):
    with hub.app_context():
        deputy = db.session.scalars(select(Deputy).join(Deputy.stations).where(Station.code == "SL01")).first()
        public_id = deputy.public_id
    page = Phone(hub.test_client(), f"/d/{public_id}")
    page.open()
    assert "暂未开通手机留言" in page.page and 'data-testid="submit"' not in page.page
    # A form posted anyway (kept open from before) is refused the same way.
    with hub.app_context():
        target = phone.deputy_target(public_id)
        road = db.session.get(Category, "road")
        with pytest.raises(phone.NoOnlineStation):
            phone.submit(target, phone.new_submission_id(), phone.PhoneOpinion(road, "村口的路灯坏了三个月。"), "203.0.113.7")
    assert opinions(hub) == []


def test_a_retired_deputy_has_no_page(hub, township):
    with hub.app_context():
        db.session.get(Deputy, township["deputy_id"]).retired = True
        db.session.commit()
    assert hub.test_client().get(f"/d/{township['public_id']}").status_code == 404


class Clock:
    def __init__(self):
        self.moment = utcnow()

    def __call__(self):
        return self.moment


def test_floods_are_refused_per_page_and_per_address(hub, township):
    clock = Clock()
    hub.config.update(SYNC_CLOCK=clock, PHONE_SUBMITS_PER_HOUR_PER_PAGE=2, PHONE_SUBMITS_PER_HOUR_PER_ADDRESS=3)
    client = hub.test_client()
    deputy_page = f"/d/{township['public_id']}"
    for n in range(2):
        Phone(client, deputy_page, address=f"198.51.100.{n}").submit(content=f"第{n}条意见：路灯坏了。")
    third = Phone(client, deputy_page, address="198.51.100.9")
    third.submit(content="第三条意见：路灯坏了。")
    assert third.receipt is None and any("分钟后再提交" in e for e in third.errors)
    assert "第三条意见" in third.page  # kept to send later
    assert len(opinions(hub)) == 2

    # One address across pages: its own limit, generous but there.
    for code in ("LC01", "LC02"):
        Phone(client, f"/s/{code}", address="2001:db8:1:2::5").submit(content=f"给{code}的意见：水渠堵了。")
    Phone(client, "/s/LC03", address="2001:db8:1:2::6").submit(content="给LC03的意见：水渠堵了。")
    fourth = Phone(client, "/s/LC51", address="2001:db8:1:2::7")  # the same /64
    fourth.submit(content="给LC51的意见：水渠堵了。")
    assert fourth.receipt is None and any("分钟后再提交" in e for e in fourth.errors)
    assert len(opinions(hub)) == 5

    # An hour on, the page takes opinions again.
    clock.moment += timedelta(hours=1, seconds=1)
    again = Phone(client, deputy_page, address="198.51.100.9")
    again.submit(content="一小时后的意见：路灯坏了。")
    assert again.receipt is not None
    with hub.app_context():
        assert db.session.scalar(select(func.count()).select_from(LimitFailure)) > 0


def test_deputies_qr_prints_the_page_address_only_when_public(hub, township):
    runner = hub.test_cli_runner()
    result = runner.invoke(args=["deputies", "qr", str(township["deputy_id"])])
    assert result.exit_code == 0
    assert result.output == f"https://rd.example.cn/d/{township['public_id']}\n"
    for base in (None, "http://127.0.0.1:5001", "http://localhost"):
        hub.config["PUBLIC_BASE_URL"] = base
        refused = runner.invoke(args=["deputies", "qr", str(township["deputy_id"])])
        assert refused.exit_code == 1 and "KIOSK_PUBLIC_BASE_URL" in refused.output
    assert runner.invoke(args=["deputies", "qr", "999999"]).exit_code == 1


def test_an_assisted_entry_marks_its_opinion_at_the_hub(hub):
    """The channel of a kiosk opinion a deputy typed for someone: learnt from the entry that follows it."""
    with hub.app_context():
        typed = receive_opinion("LC00")
        plain = receive_opinion("LC00")
        deputy = db.session.get(Station, "LC00").deputies[0]
        checkin = DutyCheckin(station_code="LC00", deputy_id=deputy.id)
        db.session.add(checkin)
        db.session.commit()
        entry = {"uuid": "7d1f0c1e-8a34-4b8e-9f3c-2b1d6f0e5a11", "checkin_uuid": checkin.uuid,
                 "opinion_uuid": typed.uuid, "created_at": utcnow()}  # fmt: skip
        RECORD_TYPES["assisted_entry"].store([(entry, "d" * 64)], "LC00", utcnow())
        db.session.commit()
        assert db.session.get(Opinion, typed.uuid).channel == Channel.ASSISTED
        assert db.session.get(Opinion, plain.uuid).channel == Channel.KIOSK
        assert db.session.get(AssistedEntry, entry["uuid"]) is not None


def test_the_figures_count_phone_opinions(hub, township):
    """The deputy's file counts them as addressed to the deputy; the dashboard splits opinions by channel."""
    client = hub.test_client()
    first, second = (Phone(client, f"/d/{township['public_id']}", address=f"198.51.100.{n}") for n in (1, 2))
    first.submit(content="路灯坏了三个月，晚上很黑。")
    second.submit(category="water", content="水渠堵了，下雨就淹田。")
    Phone(client, "/s/LC01").submit(content="村道坑洼，请修一修。")
    with hub.app_context():
        receive_opinion("LC01", content="一体机上留下的意见。")
        typed = receive_opinion("LC01", content="代表代为录入的意见。")
        checkin = DutyCheckin(station_code="LC01", deputy_id=township["deputy_id"])
        db.session.add(checkin)
        db.session.commit()
        entry = {"uuid": "0c6f3f5e-1d2a-4c3b-8e4f-5a6b7c8d9e0f", "checkin_uuid": checkin.uuid,
                 "opinion_uuid": typed.uuid, "created_at": utcnow()}  # fmt: skip
        RECORD_TYPES["assisted_entry"].store([(entry, "e" * 64)], "LC01", utcnow())
        db.session.commit()
        closed = db.session.scalar(select(Opinion).where(Opinion.receipt_number == first.receipt[0]))
        clerk = make_user(role="township", township="罗城街道")
        staff.accept(clerk, closed)
        staff.close(clerk, closed, "路灯已经修好。")
        township_id = closed.township_id
        year = today().year
        figures = stats.figures(township_id, stats.Period.year(year))
        by_channel = {row.key: (row.counts.received, row.counts.closed) for row in figures.by_channel}
        assert by_channel == {"kiosk": (1, 0), "assisted": (1, 0), "phone": (3, 1), "desk": (0, 0)}
        assert figures.totals.received == 5
    answer = hub.test_cli_runner().invoke(args=["deputies", "file", str(township["deputy_id"]), "--year", str(year), "--json"])
    shown = json.loads(answer.output)
    assert (shown["opinions_addressed"], shown["opinions_closed"]) == (2, 1)
    page = Desk(hub).get("/staff/stats/").get_data(as_text=True)
    section = page.split('data-testid="by-channel"')[1].split("</section>")[0]
    assert "手机扫码" in section and "代表代为录入" in section and "联络站一体机" in section


def test_staff_print_the_ticked_posters_and_each_one_alone(hub, township, tmp_path):
    desk = Desk(hub)
    page = desk.get("/staff/posters/")
    assert page.status_code == 200 and township["name"] in page.text and MOBILE not in page.text
    nothing = desk.post("/staff/posters/", data={})
    assert nothing.status_code == 200 and "请至少勾选" in nothing.text
    both = desk.post("/staff/posters/", data={"deputy": str(township["deputy_id"]), "station": "LC01"})
    assert both.mimetype == "application/pdf"
    pdf = write(both.data, tmp_path / "posters.pdf")
    width, height = page_size_mm(pdf)
    assert (round(width), round(height)) == (148, 210)  # A5
    words = text(pdf)
    assert words.count("扫码给代表留言") == 2 and township["name"] in words and MOBILE not in words
    assert PUBLIC_PHONE in words

    alone = desk.get(f"/staff/posters/deputies/{township['deputy_id']}.pdf")
    scanned = qr_texts(rasterise(write(alone.data, tmp_path / "one.pdf"), tmp_path / "one.png", dpi=150))
    assert scanned == [f"https://rd.example.cn/d/{township['public_id']}"]
    station = desk.get("/staff/posters/stations/LC01.pdf")
    assert station.mimetype == "application/pdf" and "扫码给代表留言" in text(write(station.data, tmp_path / "lc01.pdf"))
    assert desk.get("/staff/posters/stations/LCWS.pdf").status_code == 404

    # No public address: nothing is printed, and the page says why.
    hub.config["PUBLIC_BASE_URL"] = None
    assert 'data-testid="no-public-address"' in desk.get("/staff/posters/").text
    refused = desk.get(f"/staff/posters/deputies/{township['deputy_id']}.pdf")
    assert refused.status_code == 302


def test_deputies_posters_prints_a_township_one_page_each(hub, township, tmp_path):
    out = tmp_path / "罗城街道.pdf"
    runner = hub.test_cli_runner()
    result = runner.invoke(args=["deputies", "posters", "--station", "LC01", str(out)])
    assert result.exit_code == 0, result.output
    assert text(out).count("扫码给代表留言") == 1
    assert runner.invoke(args=["deputies", "posters", str(out)]).exit_code == 2  # none of the three
    assert runner.invoke(args=["deputies", "posters", "--station", "LCWS", str(out)]).exit_code == 1
    hub.config["PUBLIC_BASE_URL"] = None
    refused = runner.invoke(args=["deputies", "posters", "--deputy", str(township["deputy_id"]), str(tmp_path / "x.pdf")])
    assert refused.exit_code == 1 and "KIOSK_PUBLIC_BASE_URL" in refused.output and not (tmp_path / "x.pdf").exists()


def test_city_staff_register_one_online_station_per_township(hub):
    city = Desk(hub, role="city")
    form = {"code": "SLWS", "name": "素龙街道人大代表网上联络站", "level": "online", "address": ""}
    with hub.app_context():
        form["township_id"] = str(db.session.scalar(select(Station.township_id).where(Station.code == "SL00")))
    done = city.post("/staff/admin/stations/new", data=form)
    assert done.status_code == 302
    with hub.app_context():
        assert db.session.get(Station, "SLWS").is_online
        assert phone.online_station(int(form["township_id"])).code == "SLWS"
    again = city.post("/staff/admin/stations/new", data={**form, "code": "SLW2"})
    assert again.status_code == 200 and "已有网上联络站" in again.text
    # It has no box: no enrolment token, and the fleet does not wait for it.
    assert "SLWS" not in city.get("/staff/admin/fleet").text
    changed = city.post("/staff/admin/stations/SLWS", data={"name": "网上联络站", "level": "station", "address": ""})
    assert "不能互换层级" in changed.text


def test_an_online_stations_number_the_hub_lacks_is_plainly_not_found(hub, township):
    """Its receipts are made at the hub: no station has one still to send."""
    answer = hub.test_client().get("/r/LCWS-260101-0001?k=ABCDEF")
    assert answer.status_code == 404 and "还没有把这条意见送到" not in answer.get_data(as_text=True)


def test_no_deputy_sits_and_no_duty_is_planned_at_the_online_station(hub, township):
    with hub.app_context():
        with pytest.raises(directory.DeputyRefused):
            directory.resolve_stations("LCWS")
        clerk = make_user(role="township", township="罗城街道")
        assert "LCWS" not in {s.code for s in roster.stations_for(clerk)}


def test_phones_at_the_same_moment_get_numbers_of_their_own(hub_app):
    """Two workers take the day's first number at once: one of them takes the next, none is lost."""
    with hub_app.app_context():
        make_online_station()
        public_ids = db.session.scalars(
            select(Deputy.public_id).join(Deputy.stations).where(Station.code.in_(["LC01", "LC02"])).distinct().limit(6)
        ).all()
    # Another worker process's app on the same database.
    worker = make_app(hub_app.instance_path, AUTO_MIGRATE=False, ROLE="hub", DATABASE_URL=hub_app.config["SQLALCHEMY_DATABASE_URI"])

    def send(n):
        page = Phone((hub_app if n % 2 else worker).test_client(), f"/d/{public_ids[n]}", address=f"198.51.100.{n}")
        page.open()
        page.submit(content=f"同时提交的第{n}条意见。")
        return page.receipt

    with ThreadPoolExecutor(len(public_ids)) as pool:
        receipts = list(pool.map(send, range(len(public_ids))))
    assert all(receipts) and len({number for number, _secret in receipts}) == len(public_ids)
    assert len(opinions(hub_app)) == len(public_ids)


def test_the_demo_opens_phone_opinions_in_every_township(hub):
    runner = hub.test_cli_runner()
    assert runner.invoke(args=["demo", "online-stations"]).output == "21 online stations added\n"
    assert runner.invoke(args=["demo", "online-stations"]).output == "0 online stations added\n"
    with hub.app_context():
        assert phone.online_station(db.session.get(Station, "LC00").township_id).code == "LCWS"
