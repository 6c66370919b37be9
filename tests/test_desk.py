"""The deputies' desk: accounts and activation, scoping, direct answers, notes to the office,
the badge, 一键通 suggestions, the diary and the deputy file's new figures."""

import io
import json
import re
import subprocess
from datetime import timedelta
from types import SimpleNamespace

import pytest
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from kiosk.clock import today
from kiosk.desk import accounts
from kiosk.desk import services as desk
from kiosk.extensions import db
from kiosk.models import (
    AuditEntry,
    Deputy,
    DiaryEntry,
    LoginAttempt,
    Opinion,
    OpinionEvent,
    Role,
    SuggestionAttachment,
    SyncChange,
    User,
    utcnow,
)
from kiosk.staff import services as casework
from kiosk.stats import services as stats
from tests.support.deputy_desk import PASSWORD, Phone, make_deputy_account, township_deputies
from tests.support.desk import Desk
from tests.support.factories import make_opinion, make_user, receive_opinion


def make_opinion_for(deputy_id: int) -> Opinion:
    """An opinion left at LC00's kiosk for this deputy (station app context)."""
    return make_opinion("LC00", deputy_id=deputy_id)


@pytest.fixture
def two(hub):
    """Two deputies of 罗城街道 with activated accounts, and an opinion addressed to each."""
    return make_two(hub)


def make_two(hub) -> dict:
    with hub.app_context():
        first, second = township_deputies(count=2)
        station = first.stations[0].code
        users = [make_deputy_account(first), make_deputy_account(second)]
        mine = receive_opinion(station, content="村道的桥栏杆松了，很危险。", contact_name="李秀英", contact_phone="13711112222", deputy_id=first.id)
        theirs = receive_opinion(station, content="别人的意见：垃圾没人收。", contact_name="王五", contact_phone="13633334444", deputy_id=second.id)
        unaddressed = receive_opinion(station, content="没指定代表的意见。")
        return {
            "deputy": first.id, "other_deputy": second.id, "user": users[0].id, "other_user": users[1].id,
            "mine": mine.uuid, "mine_number": mine.receipt_number, "theirs": theirs.uuid,
            "unaddressed": unaddressed.uuid, "station": station,
        }  # fmt: skip


def phone(hub, user_id):
    return Phone(hub, SimpleNamespace(id=user_id))


# --- accounts and activation ------------------------------------------------------------------


def test_users_add_makes_a_deputy_account_with_a_one_time_code(hub):
    runner = hub.test_cli_runner()
    with hub.app_context():
        deputy = township_deputies(count=1)[0]
        deputy_id, township_id = deputy.id, deputy.township_id
    result = runner.invoke(args=["users", "add", "--username", "chen.wei", "--role", "deputy", "--deputy", str(deputy_id)])
    assert result.exit_code == 0, result.output
    code = result.output.split("激活码：")[1].split("（")[0]
    with hub.app_context():
        user = db.session.scalar(select(User).where(User.username == "chen.wei"))
        assert (user.role, user.deputy_id, user.township_id) == ("deputy", deputy_id, township_id)
        assert user.activation_hash and code.replace("-", "") not in user.activation_hash
    # A second account for the same deputy, a missing --deputy, a --township: refused, nothing made.
    for args, message in (
        (["--username", "other", "--role", "deputy", "--deputy", str(deputy_id)], "已有账号"),
        (["--username", "other", "--role", "deputy"], "--deputy"),
        (["--username", "other", "--role", "township", "--township", "罗城街道", "--deputy", "1"], "只用于代表账号"),
        (["--username", "other", "--role", "deputy", "--deputy", "999999"], "没有编号为 999999 的代表"),
    ):
        result = runner.invoke(args=["users", "add", *args])
        assert result.exit_code != 0 and message in result.output, result.output
    with hub.app_context():
        assert db.session.scalar(select(func.count()).select_from(User).where(User.username == "other")) == 0
        # The database holds to it too: a deputy role needs its deputy, and only it has one.
        bad = User(username="x1", password_hash="!", role=Role.DEPUTY.value, township_id=township_id)
        db.session.add(bad)
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()


def test_add_deputies_writes_a_slip_per_deputy_and_skips_those_with_accounts(hub, tmp_path):
    runner = hub.test_cli_runner()
    with hub.app_context():
        deputies = db.session.scalars(
            select(Deputy).where(Deputy.township_id == township_deputies(count=1)[0].township_id, Deputy.retired.is_(False))
        ).all()
        # All but three have accounts already: those are left alone, the three get theirs.
        for deputy in deputies[:-3]:
            accounts.create_deputy_account(f"early{deputy.id}", deputy.id)
        expected = 3
        name = deputies[-2].name
    out = tmp_path / "slips.pdf"
    result = runner.invoke(args=["users", "add-deputies", "--township", "罗城街道", str(out)])
    assert result.exit_code == 0, result.output
    assert f"{expected} 位代表" in result.output
    info = subprocess.run(["pdfinfo", str(out)], capture_output=True, text=True, check=True).stdout
    assert re.search(rf"^Pages:\s+{expected}$", info, re.M), info
    text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True, check=True).stdout
    assert name in text and "激活码" in text and "https://rd.example.cn/desk/activate" in text
    fonts = subprocess.run(["pdffonts", str(out)], capture_output=True, text=True, check=True).stdout
    assert "Receipt" in fonts or "Noto" in fonts
    # The QR code leads to the activation page with the username filled in.
    png = subprocess.run(["pdftoppm", "-r", "150", "-f", "1", "-l", "1", "-png", str(out)], capture_output=True, check=True).stdout
    decoded = subprocess.run(["zbarimg", "-q", "--raw", "-"], input=png, capture_output=True, check=True).stdout.decode()
    assert decoded.startswith("https://rd.example.cn/desk/activate?username=d")
    # The first slip's code opens its account.
    first_page = subprocess.run(["pdftotext", "-f", "1", "-l", "1", str(out), "-"], capture_output=True, text=True, check=True).stdout
    username = decoded.split("username=")[1].strip()
    code = first_page.split("激活码")[1].split()[0]
    with hub.app_context():
        user = accounts.activate(username, code, PASSWORD, "127.0.0.2")
        assert user.activation_hash is None
        assert db.session.scalar(select(func.count()).select_from(User).where(User.role == "deputy")) == len(deputies)
    # Run again: nobody left without an account.
    again = runner.invoke(args=["users", "add-deputies", "--township", "罗城街道", str(tmp_path / "again.pdf")])
    assert again.exit_code == 0 and "都已有账号" in again.output
    assert not (tmp_path / "again.pdf").exists()
    refused = runner.invoke(args=["users", "add-deputies", "--township", "没有镇", str(tmp_path / "x.pdf")])
    assert refused.exit_code != 0 and "没有名为 没有镇 的镇街" in refused.output


def test_activation_sets_the_password_once_and_the_code_expires_and_is_reissued(hub):
    client = hub.test_client()
    with hub.app_context():
        deputy = township_deputies(count=1)[0]
        issued = accounts.create_deputy_account("d-act", deputy.id)
        user_id = issued.user_id
    # No password works before activation.
    page = client.get("/desk/login")
    token = page.text.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    answer = client.post("/desk/login", data={"csrf_token": token, "username": "d-act", "password": "!activation"})
    assert "用户名或密码不正确" in answer.text
    page = client.get("/desk/activate?username=d-act")
    assert 'value="d-act"' in page.text
    data = {"csrf_token": token, "username": "d-act", "code": issued.code.lower(), "password": PASSWORD, "password_again": PASSWORD}
    answer = client.post("/desk/activate", data=data)
    assert answer.status_code == 302 and answer.headers["Location"] == "/desk/"
    assert client.get("/desk/").status_code == 200
    # The code works once.
    again = hub.test_client()
    again.get("/desk/activate")
    with hub.app_context():
        with pytest.raises(accounts.auth.LoginRefused, match="已经激活的账号请直接用密码登录"):
            accounts.activate("d-act", issued.code, "another pass 1", "127.0.0.3")

        assert accounts.auth.authenticate("d-act", PASSWORD, "127.0.0.3").id == user_id
        # An expired code is refused, and a re-issued one replaces it.
        other = township_deputies(count=2)[1]
        old = accounts.create_deputy_account("d-exp", other.id)
        later = utcnow() + timedelta(days=hub.config["DEPUTY_ACTIVATION_DAYS"], minutes=1)
        with pytest.raises(accounts.auth.LoginRefused, match="过期"):
            accounts.activate("d-exp", old.code, PASSWORD, "127.0.0.4", now=later)
        new = accounts.reissue_code(db.session.get(User, old.user_id))
        with pytest.raises(accounts.auth.LoginRefused, match="不正确"):
            accounts.activate("d-exp", old.code, PASSWORD, "127.0.0.4")
        with pytest.raises(accounts.auth.LoginRefused, match="至少 10"):
            accounts.activate("d-exp", new.code, "short", "127.0.0.4")
        assert accounts.activate("d-exp", new.code, PASSWORD, "127.0.0.4").activation_hash is None
        assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "user.code")) == 1


def test_wrong_codes_are_throttled_as_sign_ins_are(hub):
    with hub.app_context():
        deputy = township_deputies(count=1)[0]
        issued = accounts.create_deputy_account("d-thr", deputy.id)
        for _ in range(hub.config["LOGIN_FAILURES_PER_ACCOUNT"]):
            with pytest.raises(accounts.auth.LoginRefused, match="不正确"):
                accounts.activate("d-thr", "WRONGCODE", PASSWORD, "127.0.0.5")
        # Even the right code now waits, and the password sign-in shares the count.
        with pytest.raises(accounts.auth.LoginRefused) as refused:
            accounts.activate("d-thr", issued.code, PASSWORD, "127.0.0.5")
        assert refused.value.throttled
        assert db.session.get(User, issued.user_id).activation_hash is not None
        assert accounts.auth.is_throttled("d-thr", "127.0.0.6")
        failures = db.session.scalar(
            select(func.count()).select_from(LoginAttempt).where(LoginAttempt.username == "d-thr", LoginAttempt.succeeded.is_(False))
        )
        assert failures == hub.config["LOGIN_FAILURES_PER_ACCOUNT"] + 1
    client = hub.test_client()
    page = client.get("/desk/activate")
    token = page.text.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    answer = client.post("/desk/activate", data={"csrf_token": token, "username": "d-thr", "code": issued.code,
                                                  "password": PASSWORD, "password_again": PASSWORD})  # fmt: skip
    assert answer.status_code == 429 and "登录失败次数过多" in answer.text


def test_staff_open_a_deputy_account_from_the_deputy_page_and_get_the_slip(hub):
    clerk = Desk(hub)
    with hub.app_context():
        deputy = township_deputies(count=1)[0]
        deputy_id = deputy.id
    page = clerk.get(f"/staff/admin/deputies/{deputy_id}")
    assert "开设代表账号" in page.text
    answer = clerk.post(f"/staff/admin/deputies/{deputy_id}/account")
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/pdf"
    text = subprocess.run(["pdftotext", "-", "-"], input=answer.data, capture_output=True, check=True).stdout.decode()
    assert f"d{deputy_id}" in text
    page = clerk.get(f"/staff/admin/deputies/{deputy_id}")
    assert "重新发放激活码" in page.text
    again = clerk.post(f"/staff/admin/deputies/{deputy_id}/account")
    assert again.headers["Content-Type"] == "application/pdf"
    with hub.app_context():
        actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.subject.like("user:%"))).all()
        assert actions.count("user.create") == 1 and actions.count("user.code") == 1


# --- scoping ---------------------------------------------------------------------------------


def test_a_deputy_sees_only_what_is_addressed_to_them_and_contacts_only_there(hub_app):
    """On SQLite and on PostgreSQL."""
    hub, two = hub_app, make_two(hub_app)
    me = phone(hub, two["user"])
    desk = me.get("/desk/")
    assert "村道的桥栏杆松了" in desk.text and "别人的意见" not in desk.text and "没指定代表" not in desk.text
    mine = me.get(f"/desk/opinions/{two['mine']}")
    assert "李秀英" in mine.text and "13711112222" in mine.text
    for uuid in (two["theirs"], two["unaddressed"], "no-such-opinion"):
        answer = me.get(f"/desk/opinions/{uuid}")
        assert answer.status_code == 404 and "王五" not in answer.text
        answer = me.post(f"/desk/opinions/{uuid}/answer", {"text": "越权的答复"})
        assert answer.status_code == 404
    with hub.app_context():
        assert db.session.scalar(select(func.count()).select_from(OpinionEvent).where(OpinionEvent.note.like("%越权%"))) == 0
        denied = db.session.scalars(select(AuditEntry.opinion_uuid).where(AuditEntry.action == "denied", AuditEntry.user_id == two["user"])).all()
        assert set(denied) == {two["theirs"], two["unaddressed"]}
    # No staff page opens to a deputy, and no desk page to staff.
    for path in ("/staff/", f"/staff/opinions/{two['mine']}", "/staff/admin/deputies/", "/staff/stats/"):
        assert me.get(path).status_code == 403, path
    clerk = Desk(hub)
    assert clerk.get("/desk/").status_code == 403
    assert clerk.get(f"/desk/opinions/{two['mine']}").status_code == 403
    # A deputy who leaves office leaves the desk too.
    with hub.app_context():
        db.session.get(Deputy, two["deputy"]).retired = True
        db.session.commit()
    assert me.get("/desk/").status_code == 403
    assert me.get(f"/desk/opinions/{two['mine']}").status_code == 403


# --- answers, notes, the badge ---------------------------------------------------------------


def test_a_direct_answer_is_a_public_step_that_leaves_the_status(hub_app):
    """On SQLite and on PostgreSQL."""
    hub, two = hub_app, make_two(hub_app)
    me = phone(hub, two["user"])
    with hub.app_context():
        before = db.session.get(Opinion, two["mine"]).status
        secret = db.session.get(Opinion, two["mine"]).current_secret
    refused = me.post(f"/desk/opinions/{two['mine']}/answer", {"text": "请打 13711112222 找我"})
    assert refused.status_code == 200 and "个人信息" in refused.text
    answer = me.post(f"/desk/opinions/{two['mine']}/answer", {"text": "我已到现场看过，下周一请村委会加固。"})
    assert answer.status_code == 302
    with hub.app_context():
        opinion = db.session.get(Opinion, two["mine"])
        assert opinion.status == before
        step = opinion.events[-1]
        assert (step.kind, step.status) == ("deputy_answer", before)
    status = hub.test_client().get(f"/r/{two['mine_number']}?k={secret}")
    assert "代表答复" in status.text and "下周一请村委会加固" in status.text
    # The office sees it in the opinion's history.
    clerk = Desk(hub)
    assert "下周一请村委会加固" in clerk.get(f"/staff/opinions/{two['mine']}").text


def test_asking_the_office_shows_in_the_queue_and_the_badge_counts_whats_new(hub, two):
    me = phone(hub, two["user"])
    first = me.get("/desk/")
    assert 'data-testid="desk-new"' in first.text  # a first visit: everything is new
    second = me.get("/desk/")
    assert 'data-testid="desk-new"' not in second.text and 'data-testid="desk-badge"' not in second.text
    assert me.post(f"/desk/opinions/{two['mine']}/note", {"text": ""}).status_code == 200
    answer = me.post(f"/desk/opinions/{two['mine']}/note", {"text": "请尽快派人加固，我可以陪同。"})
    assert answer.status_code == 302
    clerk = Desk(hub)
    queue = clerk.get("/staff/?status=all")
    assert 'data-testid="desk-note-mark"' in queue.text
    page = clerk.get(f"/staff/opinions/{two['mine']}")
    assert "请尽快派人加固" in page.text
    with hub.app_context():
        casework.accept(db.session.get(User, clerk.user_id), db.session.get(Opinion, two["mine"]))
    page = me.get("/desk/suggestions")
    assert re.search(r'data-testid="desk-badge"[^>]*>1<', page.text)
    assert 'badge new">新<' in me.get("/desk/").text
    assert 'data-testid="desk-badge"' not in me.get("/desk/diary").text


# --- 一键通 ------------------------------------------------------------------------------------


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "red").save(buffer, "PNG")
    return buffer.getvalue()


def test_a_suggestion_enters_the_queue_follows_the_lifecycle_and_is_rated(hub, two):
    me = phone(hub, two["user"])
    form = {"category": "road", "title": "修缮村道桥梁", "content": "建议对全镇村道桥梁做一次安全检查。"}
    bad = me.post("/desk/suggestions/new", {**form, "attachment": (io.BytesIO(b"%PDF-1.4 not really"), "a.pdf")},
                  content_type="multipart/form-data")  # fmt: skip
    assert bad.status_code == 200 and "打不开" in bad.text
    big = me.post("/desk/suggestions/new", {**form, "attachment": (io.BytesIO(b"\x89PNG" + b"0" * (10 * 1024 * 1024)), "b.png")},
                  content_type="multipart/form-data")  # fmt: skip
    assert big.status_code == 200 and "太大" in big.text
    assert me.post("/desk/suggestions/new", {**form, "title": ""}).status_code == 200
    with hub.app_context():
        assert db.session.scalar(select(func.count()).select_from(Opinion).where(Opinion.suggesting_deputy_id.is_not(None))) == 0
    made = me.post("/desk/suggestions/new", {**form, "attachment": (io.BytesIO(_png()), "桥.pdf")}, content_type="multipart/form-data")
    assert made.status_code == 302
    uuid = made.headers["Location"].rsplit("/", 1)[1]
    with hub.app_context():
        opinion = db.session.get(Opinion, uuid)
        assert opinion.is_deputy_suggestion and opinion.deputy_id is None and opinion.status == "received"
        assert opinion.receipt_number.startswith("YJT-")
        assert db.session.get(SuggestionAttachment, uuid).media_type == "image/png"
        # Counted as the deputy's own in the figures by channel, not as typed at the central station's kiosk.
        assert opinion.channel == "desk" and opinion.channel_label == "代表一键通"
        figures = stats.figures(opinion.township_id, stats.Period.year(today().year))
        by_channel = {row.key: row.counts.received for row in figures.by_channel}
        assert by_channel == {"kiosk": 3, "assisted": 0, "phone": 0, "desk": 1}
    assert me.get(f"/desk/suggestions/{uuid}/attachment").headers["Content-Type"] == "image/png"
    # A real PDF is taken as one; a suggestion is no station's: nothing for a pull.
    pdf = io.BytesIO()
    Image.new("RGB", (20, 20), "white").save(pdf, "PDF")
    second = me.post("/desk/suggestions/new", {**form, "title": "附PDF", "attachment": (io.BytesIO(pdf.getvalue()), "a.pdf")},
                     content_type="multipart/form-data")  # fmt: skip
    assert second.status_code == 302
    with hub.app_context():
        second_uuid = second.headers["Location"].rsplit("/", 1)[1]
        assert db.session.get(SuggestionAttachment, second_uuid).media_type == "application/pdf"
        assert db.session.scalar(select(func.count()).select_from(SyncChange).where(SyncChange.opinion_uuid.in_([uuid, second_uuid]))) == 0
    clerk = Desk(hub)
    assert clerk.get(f"/staff/opinions/{uuid}/attachment").headers["Content-Type"] == "image/png"
    queue = clerk.get("/staff/?status=all")
    assert "代表建议" in queue.text and "修缮村道桥梁" in queue.text
    # The same lifecycle: accept, close; then the deputy rates it, and 不满意 reopens it.
    with hub.app_context():
        staff = db.session.get(User, clerk.user_id)
        casework.accept(staff, db.session.get(Opinion, uuid))
        casework.close(staff, db.session.get(Opinion, uuid), "已安排交通部门排查。")
    other = phone(hub, two["other_user"])
    assert other.get(f"/desk/suggestions/{uuid}").status_code == 404
    assert other.post(f"/desk/suggestions/{uuid}/rate", {"value": "satisfied"}).status_code == 404
    page = me.get(f"/desk/suggestions/{uuid}")
    assert "已安排交通部门排查" in page.text and 'data-testid="rate-form"' in page.text
    assert me.post(f"/desk/suggestions/{uuid}/rate", {"value": "unsatisfied", "comment": "只排查不修"}).status_code == 302
    with hub.app_context():
        opinion = db.session.get(Opinion, uuid)
        assert (opinion.status, opinion.satisfaction, opinion.reopen_count) == ("reopened", "unsatisfied", 1)
    assert 'data-testid="rate-form"' not in me.get(f"/desk/suggestions/{uuid}").text


# --- 履职日记 ----------------------------------------------------------------------------------


def test_the_diary_is_private_until_published_and_can_be_withdrawn(hub, two):
    me = phone(hub, two["user"])
    with hub.app_context():
        today = casework.today().isoformat()
    assert me.post("/desk/diary", {"day": "2099-01-01", "text": "未来"}).status_code == 200
    assert me.post("/desk/diary", {"day": today, "text": "走访了三户困难群众。"}).status_code == 302
    assert me.post("/desk/diary", {"day": today, "text": "参加村道验收。", "publish": "y"}).status_code == 302
    with hub.app_context():
        entries = {e.text: e for e in db.session.scalars(select(DiaryEntry))}
        assert not entries["走访了三户困难群众。"].is_published and entries["参加村道验收。"].is_published
        private_id, public_id = entries["走访了三户困难群众。"].id, entries["参加村道验收。"].id
    other = phone(hub, two["other_user"])
    assert "走访了三户" not in other.get("/desk/diary").text
    assert other.post(f"/desk/diary/{private_id}/publish").status_code == 404
    assert me.post(f"/desk/diary/{public_id}/withdraw").status_code == 302
    assert me.post(f"/desk/diary/{private_id}/publish").status_code == 302
    with hub.app_context():
        assert not db.session.get(DiaryEntry, public_id).is_published
        assert db.session.get(DiaryEntry, public_id).withdrawn_at is not None
        assert db.session.get(DiaryEntry, private_id).is_published


# --- the deputy file --------------------------------------------------------------------------


def test_the_deputy_file_counts_suggestions_answers_diary_and_ratings(hub, two):
    me = phone(hub, two["user"])
    me.post(f"/desk/opinions/{two['mine']}/answer", {"text": "已经转告村委会。"})
    me.post("/desk/suggestions/new", {"category": "road", "title": "建议一", "content": "内容一"})
    me.post("/desk/suggestions/new", {"category": "road", "title": "建议二", "content": "内容二"})
    with hub.app_context():
        today = casework.today()
    me.post("/desk/diary", {"day": today.isoformat(), "text": "公开的", "publish": "y"})
    me.post("/desk/diary", {"day": today.isoformat(), "text": "私下的"})
    with hub.app_context():
        staff = make_user(Role.TOWNSHIP)
        first = db.session.scalars(select(Opinion).where(Opinion.suggesting_deputy_id == two["deputy"])).first()
        casework.accept(staff, first)
        casework.close(staff, first, "办好了。")
        mine = db.session.get(Opinion, two["mine"])
        casework.accept(staff, mine)
        casework.close(staff, mine, "栏杆已加固。")
        casework.record_rating(mine, casework.GivenRating("basic"))
    year = today.year
    with hub.app_context():
        deputy = db.session.get(Deputy, two["deputy"])
        deputy.term_start = today.replace(month=1, day=1)
        db.session.commit()
    result = hub.test_cli_runner().invoke(args=["deputies", "file", str(two["deputy"]), "--year", str(year), "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert {k: figures[k] for k in ("suggestions", "suggestions_closed", "answers", "diary_entries")} == {
        "suggestions": 2, "suggestions_closed": 1, "answers": 1, "diary_entries": 1,
    }  # fmt: skip
    assert figures["ratings"] == {"satisfied": 0, "basic": 1, "unsatisfied": 0}
    assert figures["opinions_addressed"] == 1
    term = hub.test_cli_runner().invoke(args=["deputies", "file", str(two["deputy"]), "--term", "--json"])
    assert term.exit_code == 0, term.output
    assert json.loads(term.output)["suggestions"] == 2
    # The public 履职档案 lists them: the suggestions with their outcome, the answer, the
    # published entry; never the private entry or what the constituent wrote.
    with hub.app_context():
        public_id = db.session.get(Deputy, two["deputy"]).public_id
        constituents = db.session.get(Opinion, two["mine"]).content
    page = hub.test_client().get(f"/d/{public_id}/file?year={year}").text
    for shown in ("建议一", "建议二", "办好了。", "已经转告村委会。", "公开的", "满意 0，基本满意 1，不满意 0"):
        assert shown in page
    for private in ("私下的", "内容一", constituents):
        assert private not in page


# --- the answer travels to the station ---------------------------------------------------------


def test_the_answer_reaches_the_station_in_the_pull_as_its_own_step(station_app, hub_app, transport):
    """On SQLite and PostgreSQL hubs: the station's look-up names it 代表答复, its status unchanged."""
    from tests.support.inprocess import sync

    with station_app.app_context():
        deputy_id = db.session.scalar(select(Deputy.id).where(Deputy.stations.any(code="LC00")))
        opinion = make_opinion_for(deputy_id)
        number, secret = opinion.receipt_number, opinion.secret
    sync(station_app, transport)
    with hub_app.app_context():
        user = make_deputy_account(db.session.get(Deputy, deputy_id))
        held = db.session.scalar(select(Opinion).where(Opinion.receipt_number == number))
        desk.answer(user, held, "已经请村委会处理，下周答复您。")
        status = held.status
    sync(station_app, transport)
    with station_app.app_context():
        kept = db.session.scalar(select(Opinion).where(Opinion.receipt_number == number))
        assert kept.status == status
        step = [e for e in kept.events if e.kind == "deputy_answer"]
        assert len(step) == 1 and step[0].status_label == "代表答复" and "下周答复您" in step[0].note
    page = station_app.test_client().get(f"/r/{number}?k={secret}")
    assert 'data-kind="deputy_answer"' in page.text and "代表答复" in page.text
