"""Deputies' work recorded at the township office: each record through its form, its audit
row and its refusals; the report-back rule; topics tracked to their evaluation; evaluations
with their rectification follow-up; the public file's figures and what it never shows."""

import re
from datetime import date, datetime, time, timedelta, timezone

from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from kiosk.extensions import db
from kiosk.models import (
    Activity,
    AuditEntry,
    Deputy,
    Evaluation,
    ProfessionalGroup,
    ReportBack,
    Topic,
    TopicRecord,
    Township,
)
from kiosk.staff import services as casework
from tests.support.desk import Desk
from tests.support.factories import make_user, receive_opinion


def audit_actions(hub) -> list[str]:
    with hub.app_context():
        return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def township_deputies(hub, township="罗城街道", n=3) -> list[int]:
    with hub.app_context():
        tid = db.session.scalar(select(Township.id).where(Township.name == township))
        return list(db.session.scalars(select(Deputy.id).where(Deputy.township_id == tid).order_by(Deputy.id).limit(n)))


LOCAL = ZoneInfo("Asia/Shanghai")


def today() -> date:
    return datetime.now(LOCAL).date()


def at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=LOCAL).astimezone(timezone.utc)


@pytest.fixture
def desk(hub):
    return Desk(hub)


def test_an_activity_through_its_form_with_the_opinions_of_that_day(hub, desk):
    day = today() - timedelta(days=2)
    me, other = township_deputies(hub, n=2)
    with hub.app_context():
        there = receive_opinion("LC00", created_at=at(day))
        elsewhere = receive_opinion("LC00", created_at=at(day - timedelta(days=1)))
        there_uuid, elsewhere_uuid = there.uuid, elsewhere.uuid
    answer = desk.post("/staff/work/activities/new", {
        "station": "LC00", "held_on": day.isoformat(), "people": "23", "topics": "村道硬底化和灌溉水渠",
        "deputies": [str(me), str(other)],
    })  # fmt: skip
    assert answer.status_code == 302, answer.text
    page = desk.get(answer.headers["Location"])
    assert "村道硬底化和灌溉水渠" in page.text and there.receipt_number in page.text
    # Only that station's opinions of that day are offered.
    assert elsewhere.receipt_number not in page.text
    uuid = answer.headers["Location"].rsplit("/", 1)[1]
    assert desk.post(f"/staff/work/activities/{uuid}/opinions", {"opinions": [there_uuid]}).status_code == 302
    refused = desk.post(f"/staff/work/activities/{uuid}/opinions", {"opinions": [elsewhere_uuid]})
    assert refused.status_code == 200 and "请从列表中选择" in refused.text
    with hub.app_context():
        activity = db.session.get(Activity, uuid)
        assert (activity.people, activity.held_on, [d.id for d in activity.deputies]) == (23, day, [me, other])
        assert activity.user_id == desk.user_id and activity.checkin_uuid is None
    assert audit_actions(hub)[-2:] == ["record_activity", "link_activity_opinions"]


BAD_ACTIVITIES = [
    ({"people": "0"}, "参加群众人数应在 1 到 9999 之间"),
    ({"people": "很多"}, "请填一个整数"),
    ({"held_on": "2100-01-01"}, "活动日期不能晚于今天"),
    ({"held_on": "昨天"}, "请按“年-月-日”填写日期"),
    ({"topics": "请联系 13800138000"}, "请删去其中的手机号码"),
    ({"deputies": []}, "请选择到场的代表"),
    ({"station": "SL00"}, "请从列表中选择"),
]


def test_a_bad_activity_is_refused_in_chinese_and_changes_nothing(hub, desk):
    me = township_deputies(hub, n=1)[0]
    data = {"station": "LC00", "held_on": today().isoformat(), "people": "5", "topics": "修路", "deputies": [str(me)]}
    for fields, message in BAD_ACTIVITIES:
        answer = desk.post("/staff/work/activities/new", {**data, **fields})
        assert answer.status_code == 200 and message in answer.text, fields
    with hub.app_context():
        assert db.session.scalar(select(func.count()).select_from(Activity)) == 0


def test_another_townships_deputy_cannot_be_named_present(hub, desk):
    stranger = township_deputies(hub, "素龙街道", n=1)[0]
    answer = desk.post("/staff/work/activities/new", {
        "station": "LC00", "held_on": today().isoformat(), "people": "5", "topics": "修路", "deputies": [str(stranger)],
    })  # fmt: skip
    assert answer.status_code == 200 and "请从列表中选择" in answer.text


def test_report_backs_count_once_a_term_and_the_overview_shows_who_is_due(hub, desk):
    first, second = township_deputies(hub, n=2)
    due = desk.get("/staff/work/")
    count = int(re.search(r'data-testid="report-back-due">(\d+)<', due.text).group(1))
    assert f'data-testid="due-{first}"' in due.text
    for votes in (("30", "5", "1"), ("20", "2", "0")):
        answer = desk.post("/staff/work/report-backs/new", {
            "deputy": str(first), "held_on": today().isoformat(), "place": "大坪村委会", "voters_present": "40",
            "satisfied": votes[0], "basic": votes[1], "unsatisfied": votes[2], "summary": "一年来参加值班十二次。",
        })  # fmt: skip
        assert answer.status_code == 302, answer.text
    after = desk.get("/staff/work/")
    # Two report-backs by one deputy: one fewer due, two counted.
    assert int(re.search(r'data-testid="report-back-due">(\d+)<', after.text).group(1)) == count - 1
    assert f'data-testid="due-{first}"' not in after.text and f'data-testid="due-{second}"' in after.text
    assert re.search(r'data-testid="report-backs">2<', after.text)
    # The dashboard says the same.
    dashboard = desk.get("/staff/stats/").text
    assert f"本届尚未述职 {count - 1} 人" in dashboard and "本届累计 2" in dashboard
    too_many = desk.post("/staff/work/report-backs/new", {
        "deputy": str(second), "held_on": today().isoformat(), "place": "村委会", "voters_present": "10",
        "satisfied": "8", "basic": "3", "unsatisfied": "0",
    })  # fmt: skip
    assert too_many.status_code == 200 and "多于到会的 10 人" in too_many.text
    with hub.app_context():
        assert db.session.scalar(select(func.count()).select_from(ReportBack)) == 2
    assert audit_actions(hub).count("record_report_back") == 2


def test_a_topic_from_the_work_report_is_tracked_and_evaluated(hub, desk):
    members = township_deputies(hub, n=3)
    assert desk.post("/staff/work/groups/new", {"name": "城建环保小组", "members": [str(m) for m in members[:2]]}).status_code == 302
    with hub.app_context():
        group_id = db.session.scalar(select(ProfessionalGroup.id))
    answer = desk.post("/staff/work/topics/new", {
        "title": "农村生活污水治理", "year": str(today().year), "commitment": "年内完成 12 个自然村污水管网。",
        "department": "镇村建办", "group": str(group_id),
    })  # fmt: skip
    assert answer.status_code == 302, answer.text
    topic_id = int(answer.headers["Location"].rsplit("/", 1)[1])
    page = desk.get(f"/staff/work/topics/{topic_id}")
    assert "计划" in page.text and "年内完成 12 个自然村污水管网" in page.text
    # No evaluation before any tracking.
    early = desk.post(f"/staff/work/topics/{topic_id}/evaluation", {
        "held_on": today().isoformat(), "satisfied": "10", "basic": "2", "unsatisfied": "0", "outcome": "满意",
    })  # fmt: skip
    assert early.status_code == 302 and "专题要先有跟踪记录" in desk.get(early.headers["Location"]).text
    assert desk.post(f"/staff/work/topics/{topic_id}/records", {
        "held_on": today().isoformat(), "kind": "inspection", "who": "城建环保小组 5 名代表", "findings": "3 个村已完工。",
    }).status_code == 302  # fmt: skip
    assert desk.post(f"/staff/work/topics/{topic_id}/evaluation", {
        "held_on": today().isoformat(), "satisfied": "10", "basic": "2", "unsatisfied": "1", "outcome": "基本完成，督促剩余村年底前完工。",
    }).status_code == 302  # fmt: skip
    with hub.app_context():
        topic = db.session.get(Topic, topic_id)
        assert (topic.status, topic.votes_satisfied, topic.department) == ("evaluated", 10, "镇村建办")
        assert topic.closed_at is not None
        assert db.session.scalar(select(func.count()).select_from(TopicRecord)) == 1
        # An evaluated topic takes no more opinions.
        opinion = receive_opinion("LC00")
        with pytest.raises(casework.ActionRefused):
            casework.attach_topic(make_user("township", township="罗城街道"), opinion, topic)
    late = desk.post(f"/staff/work/topics/{topic_id}/records", {
        "held_on": today().isoformat(), "kind": "meeting", "who": "全体", "findings": "补充",
    })  # fmt: skip
    assert late.status_code == 302 and "该专题已测评" in desk.get(late.headers["Location"]).text
    actions = audit_actions(hub)
    assert {"save_professional_group", "create_topic", "add_topic_record", "track_topic", "evaluate_topic"} <= set(actions)
    # The group's members have the topic on their file; the third deputy has none.
    with hub.app_context():
        from kiosk.deputies import duty_file

        year = duty_file.Period.year(today().year)
        assert duty_file.work(db.session.get(Deputy, members[0]), year)["topics"] == 1
        assert duty_file.work(db.session.get(Deputy, members[2]), year)["topics"] == 0


def test_an_evaluation_with_rectification_followed_up_to_done(hub, desk):
    answer = desk.post("/staff/work/evaluations/new", {
        "kind": "head_report", "subject": "副镇长 李明（分管农业）", "meeting": "第十七届人大第四次会议",
        "held_on": today().isoformat(), "satisfied": "30", "basic": "8", "unsatisfied": "4", "result": "basic",
        "rectification": "加快农田水利设施维修。", "rectification_due": (today() + timedelta(days=60)).isoformat(),
    })  # fmt: skip
    assert answer.status_code == 302, answer.text
    evaluation_id = int(answer.headers["Location"].rsplit("/", 1)[1])
    assert desk.post(f"/staff/work/evaluations/{evaluation_id}/follow-ups", {
        "held_on": today().isoformat(), "note": "已修复 2 处水渠。",
    }).status_code == 302  # fmt: skip
    assert "整改中" in desk.get(f"/staff/work/evaluations/{evaluation_id}").text
    assert desk.post(f"/staff/work/evaluations/{evaluation_id}/follow-ups", {
        "held_on": today().isoformat(), "note": "全部完成。", "done": "y",
    }).status_code == 302  # fmt: skip
    page = desk.get(f"/staff/work/evaluations/{evaluation_id}")
    assert "已整改完成" in page.text
    again = desk.post(f"/staff/work/evaluations/{evaluation_id}/follow-ups", {"held_on": today().isoformat(), "note": "x"})
    assert again.status_code == 302 and "整改已经完成" in desk.get(again.headers["Location"]).text
    with hub.app_context():
        evaluation = db.session.get(Evaluation, evaluation_id)
        assert (evaluation.rectified_on, len(evaluation.follow_ups)) == (today(), 2)
    assert audit_actions(hub).count("follow_up_evaluation") == 2


def test_city_staff_read_every_township_and_record_nothing(hub):
    city = Desk(hub, role="city")
    page = city.get("/staff/work/activities/new")
    assert page.status_code == 200 and "市人大常委会查看和督办" in page.text
    answer = city.post("/staff/work/evaluations/new", {
        "kind": "special_work", "subject": "垃圾分类", "meeting": "主任会议", "held_on": today().isoformat(),
        "satisfied": "1", "basic": "0", "unsatisfied": "0", "result": "satisfied",
    })  # fmt: skip
    assert answer.status_code == 200 and "市人大常委会查看和督办" in answer.text
    with hub.app_context():
        assert db.session.scalar(select(func.count()).select_from(Evaluation)) == 0


def _below(revision: str) -> str:
    """The revision migration ``revision`` follows in the chain."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from kiosk import MIGRATIONS

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config).get_revision(revision).down_revision


def test_existing_topic_tags_become_tracked_items_without_loss(hub):
    """Topics made before migration 0015 (tags grouping opinions) keep their rows and opinions;
    an open one is being tracked, a closed one counts as evaluated, each in its local year."""
    from flask_migrate import downgrade, upgrade

    from kiosk import MIGRATIONS

    with hub.app_context():
        clerk = make_user("township", township="罗城街道")
        open_topic = casework.create_topic(clerk, clerk.township_id, "村道修缮")
        closed_topic = casework.create_topic(clerk, clerk.township_id, "路灯")
        opinion = receive_opinion("LC00")
        casework.attach_topic(clerk, opinion, open_topic)
        ids, opinion_uuid = (open_topic.id, closed_topic.id), opinion.uuid
        # Made on 31 December at 17:00 UTC: already 1 January in Luoding.
        db.session.execute(
            Topic.__table__.update().where(Topic.id == ids[1]).values(
                created_at=datetime(2019, 12, 31, 17, tzinfo=timezone.utc), closed_at=datetime(2020, 3, 1, tzinfo=timezone.utc)
            )
        )
        db.session.commit()
        downgrade(directory=str(MIGRATIONS), revision=_below("0015"))
        columns = {c["name"] for c in db.inspect(db.engine).get_columns("topics")}
        assert "status" not in columns and "year" not in columns
        upgrade(directory=str(MIGRATIONS))
        db.session.expire_all()
        rows = {t.id: (t.title, t.status, t.year, t.township_id) for t in db.session.scalars(select(Topic))}
        township = db.session.scalar(select(Township.id).where(Township.name == "罗城街道"))
        assert rows[ids[0]] == ("村道修缮", "tracking", today().year, township)
        assert rows[ids[1]] == ("路灯", "evaluated", 2020, township)
        assert db.session.get(type(opinion), opinion_uuid).topic_id == ids[0]
