"""What the township office does reaches the station on its next pull, and a
rating given at the station reaches the office (SQLite and PostgreSQL hubs,
in-process)."""

import re
import uuid as uuid_module

import pytest
from sqlalchemy import func, select

from kiosk.extensions import db
from kiosk.models import Opinion, OpinionStatus, Rating, RatingSource, SetAsideRecord, SyncConflict, utcnow
from kiosk.ratings import GivenRating
from kiosk.staff import services as staff
from kiosk.sync import station as station_sync
from tests.support.factories import make_opinion, make_user
from tests.support.inprocess import sync
from tests.support.web import text

HTMX = {"HX-Request": "true"}
REPLY = "路灯已于上周修好，感谢您的反映。"


@pytest.fixture(autouse=True)
def syncs_only_when_told(station_app):
    """A rating asks the background loop for a sync; here each test syncs itself."""
    station_app.config["SYNC_BACKGROUND"] = False


def submitted(station_app, transport, **answers) -> tuple[str, str, str]:
    """An opinion made at the station and pushed: uuid, number, secret."""
    with station_app.app_context():
        opinion = make_opinion("LC00", **answers)
        found = opinion.uuid, opinion.receipt_number, opinion.secret
    assert sync(station_app, transport).ok
    return found


def at_hub(hub_app, action, *uuids):
    """Run a staff action at the hub on these opinions, as a township clerk."""
    with hub_app.app_context():
        clerk = make_user(username=f"clerk-{uuid_module.uuid4().hex[:6]}")
        return action(clerk, *[db.session.get(Opinion, u) for u in uuids])


def close(clerk, opinion, reply=REPLY):
    if opinion.status in (OpinionStatus.RECEIVED, OpinionStatus.REOPENED):
        staff.accept(clerk, opinion)
    staff.close(clerk, opinion, reply)


def look_up(client, number, secret):
    token = re.search(r'name="csrf_token" value="([^"]+)"', text(client.get("/lookup"))).group(1)
    return text(client.post("/lookup", data={"csrf_token": token, "number": number, "secret": secret}, headers=HTMX))


def rate_at_kiosk(client, number, secret, value, comment=""):
    html = look_up(client, number, secret)
    assert 'data-testid="rating-form"' in html
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    data = {"csrf_token": token, "number": number, "secret": secret, "value": value, "comment": comment}
    return text(client.post("/lookup/rating", data=data, headers=HTMX))


def test_the_history_and_public_reply_reach_the_station_without_staff_names(station_app, hub_app, transport):
    uuid, number, secret = submitted(station_app, transport)
    with hub_app.app_context():
        clerk = make_user(username="clerk-wang")
        close(clerk, db.session.get(Opinion, uuid))
    assert sync(station_app, transport).ok
    client = station_app.test_client()
    for html in (text(client.get(f"/r/{number}?k={secret}")), look_up(client, number, secret)):
        assert "已办结" in html and "已受理" in html and REPLY in html
        assert "clerk-wang" not in html


def test_a_merged_duplicate_shows_its_originals_progress_at_the_station(station_app, hub_app, transport):
    original, original_number, _ = submitted(station_app, transport)
    duplicate, number, secret = submitted(station_app, transport)
    at_hub(hub_app, lambda clerk, o, d: (staff.accept(clerk, o), staff.merge(clerk, d, o)), original, duplicate)
    assert sync(station_app, transport).ok
    client = station_app.test_client()
    html = look_up(client, number, secret)
    assert f"已与回执 {original_number} 合并办理" in html and re.search(r'data-testid="status-label">已受理<', html)
    # A change to the original alone reaches the duplicate's receipt too.
    at_hub(hub_app, close, original)
    assert sync(station_app, transport).ok
    for html in (look_up(client, number, secret), text(client.get(f"/r/{number}?k={secret}"))):
        assert re.search(r'data-testid="status-label">已办结<', html) and REPLY in html
        assert f"已与回执 {original_number} 合并办理" in html


def test_a_replacement_receipt_retires_the_old_secret_at_the_station(station_app, hub_app, transport):
    uuid, number, old = submitted(station_app, transport)
    new = at_hub(hub_app, staff.replace_receipt, uuid)
    client = station_app.test_client()
    assert client.get(f"/r/{number}?k={old}").status_code == 200  # not pulled yet
    assert sync(station_app, transport).ok
    assert client.get(f"/r/{number}?k={old}").status_code == 404
    assert client.get(f"/receipts/{number}.pdf?k={old}").status_code == 404
    assert client.get(f"/r/{number}?k={new}").status_code == 200
    assert "没有找到这张回执" in look_up(client, number, old)
    assert "罗城街道人大工委已收到" in look_up(client, number, new)
    with station_app.app_context():
        # The station's own field stays as it was sent.
        assert db.session.get(Opinion, uuid).secret == old


def test_a_kiosk_rating_is_pushed_and_counted_at_the_hub(station_app, hub_app, transport):
    uuid, number, secret = submitted(station_app, transport)
    at_hub(hub_app, close, uuid)
    assert sync(station_app, transport).ok
    client = station_app.test_client()
    assert "谢谢，您的评价已记录" in rate_at_kiosk(client, number, secret, "satisfied", "修得很快")
    with station_app.app_context():
        assert station_sync.status().waiting == 1
    result = sync(station_app, transport)
    assert result.ok and (result.pushed, result.acknowledged, result.refused) == (1, 1, 0)
    with hub_app.app_context():
        (rating,) = db.session.scalars(select(Rating))
        assert (rating.opinion_uuid, rating.value, rating.comment, rating.source, rating.station_code) == (
            uuid, "satisfied", "修得很快", RatingSource.KIOSK, "LC00",
        )
        assert rating.counted is True and rating.sync_digest and rating.hub_received_at
        assert db.session.get(Opinion, uuid).satisfaction == "satisfied"
    with station_app.app_context():
        assert station_sync.status().waiting == 0
        assert db.session.scalar(select(Rating)).acknowledged_at is not None
        assert db.session.get(Opinion, uuid).satisfaction == "satisfied"
    assert 'data-testid="rating-form"' not in look_up(client, number, secret)
    again = sync(station_app, transport)
    assert again.ok and again.pushed == 0


def test_unsatisfied_at_the_kiosk_reopens_and_the_station_sees_it(station_app, hub_app, transport):
    uuid, number, secret = submitted(station_app, transport)
    at_hub(hub_app, close, uuid)
    assert sync(station_app, transport).ok
    client = station_app.test_client()
    rate_at_kiosk(client, number, secret, "unsatisfied", "路灯又坏了")
    assert sync(station_app, transport).ok
    with hub_app.app_context():
        opinion = db.session.get(Opinion, uuid)
        assert opinion.status == OpinionStatus.REOPENED and opinion.reopen_count == 1
    with station_app.app_context():
        opinion = db.session.get(Opinion, uuid)
        assert opinion.status == OpinionStatus.REOPENED and opinion.reopen_count == 1
    html = look_up(client, number, secret)
    assert "群众不满意，正在重新办理" in html and "您的意见已退回罗城街道人大工委，正在重新办理" in html
    # Closed again: a new round, and the kiosk asks again.
    at_hub(hub_app, close, uuid)
    assert sync(station_app, transport).ok
    assert 'data-testid="rating-form"' in look_up(client, number, secret)


def test_unsatisfied_on_a_phone_reopens_and_the_station_sees_it(station_app, hub_app, transport):
    uuid, number, secret = submitted(station_app, transport)
    at_hub(hub_app, close, uuid)
    phone = hub_app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', text(phone.get(f"/r/{number}?k={secret}"))).group(1)
    answer = phone.post(f"/r/{number}/rating", data={"csrf_token": token, "secret": secret, "value": "unsatisfied"})
    assert answer.status_code == 303
    assert sync(station_app, transport).ok
    with station_app.app_context():
        assert db.session.get(Opinion, uuid).status == OpinionStatus.REOPENED
    assert re.search(r'data-testid="status-label">群众不满意，正在重新办理<', look_up(station_app.test_client(), number, secret))


def test_a_rating_on_a_phone_stops_the_kiosk_asking(station_app, hub_app, transport):
    uuid, number, secret = submitted(station_app, transport)
    at_hub(hub_app, close, uuid)
    assert sync(station_app, transport).ok
    client = station_app.test_client()
    assert 'data-testid="rating-form"' in look_up(client, number, secret)
    with hub_app.app_context():
        staff.record_rating(db.session.get(Opinion, uuid), GivenRating("basic"))
    assert sync(station_app, transport).ok
    html = look_up(client, number, secret)
    assert "谢谢，您的评价已记录" in html and 'data-testid="rating-form"' not in html


def test_a_kiosk_rating_of_the_same_round_after_a_phone_is_kept_but_not_counted(station_app, hub_app, transport):
    uuid, number, secret = submitted(station_app, transport)
    at_hub(hub_app, close, uuid)
    assert sync(station_app, transport).ok
    rate_at_kiosk(station_app.test_client(), number, secret, "unsatisfied")
    with hub_app.app_context():
        staff.record_rating(db.session.get(Opinion, uuid), GivenRating("satisfied"))
    result = sync(station_app, transport)
    assert result.ok and result.acknowledged == 1
    with hub_app.app_context():
        values = {r.source: (r.value, r.counted) for r in db.session.scalars(select(Rating))}
        assert values == {RatingSource.STATUS_PAGE: ("satisfied", True), RatingSource.KIOSK: ("unsatisfied", False)}
        opinion = db.session.get(Opinion, uuid)
        assert opinion.status == OpinionStatus.CLOSED and opinion.satisfaction == "satisfied"


def test_a_rating_for_an_opinion_the_hub_lacks_is_set_aside_without_breaking_the_batch(station_app, hub_app, transport):
    uuid, number, secret = submitted(station_app, transport)
    at_hub(hub_app, close, uuid)
    assert sync(station_app, transport).ok
    with station_app.app_context():
        # An opinion the hub does not hold (its database restored from an old backup, say).
        lost = make_opinion("LC00")
        lost.acknowledged_at = lost.hub_received_at = utcnow()
        lost.status = OpinionStatus.CLOSED
        orphan = Rating(uuid=str(uuid_module.uuid4()), opinion_uuid=lost.uuid, round=0, value="satisfied",
                        source=RatingSource.KIOSK, station_code="LC00", created_at=utcnow())
        db.session.add(orphan)
        db.session.commit()
        orphan_uuid = orphan.uuid
    rate_at_kiosk(station_app.test_client(), number, secret, "basic")
    result = sync(station_app, transport)
    assert result.ok and (result.pushed, result.acknowledged, result.refused) == (2, 1, 1)
    with station_app.app_context():
        aside = db.session.get(SetAsideRecord, orphan_uuid)
        assert (aside.record_type, aside.reason) == ("rating", "unknown_opinion")
        assert station_sync.status().waiting == 0
    with hub_app.app_context():
        assert [r.opinion_uuid for r in db.session.scalars(select(Rating))] == [uuid]
        conflict = db.session.scalar(select(SyncConflict).where(SyncConflict.uuid == orphan_uuid))
        assert conflict.reason == "unknown_opinion"


def test_a_station_applies_an_answer_from_a_hub_without_the_newer_keys(station_app, hub_app, transport):
    uuid, number, secret = submitted(station_app, transport)
    with station_app.app_context():
        opinion = db.session.get(Opinion, uuid)
        opinion.replacement_secret, opinion.reopen_count = "NEWSEC", 1
        db.session.commit()
        cursor = station_sync.status().cursor
        answer = {
            "cursor": cursor + 1,
            "more": False,
            "reference": None,
            "opinions": [{"uuid": uuid, "status": "closed", "public_reply": REPLY,
                          "events": [{"status": "closed", "at": "2026-11-27T08:00:00.000000Z", "note": None}]}],
        }
        assert station_sync.apply_pull_answer(answer) == 1
        opinion = db.session.get(Opinion, uuid)
        assert (opinion.status, opinion.public_reply) == ("closed", REPLY)
        assert (opinion.replacement_secret, opinion.reopen_count, opinion.satisfaction) == ("NEWSEC", 1, None)


def test_a_malformed_rating_refuses_its_whole_batch(station_app, hub_app, transport):
    from kiosk.sync import client

    uuid, _number, _secret = submitted(station_app, transport)
    good = {"uuid": str(uuid_module.uuid4()), "opinion_uuid": uuid, "round": 0, "value": "satisfied", "comment": None,
            "source": "kiosk", "station_code": "LC00", "created_at": "2026-11-27T08:00:00.000000Z"}
    for bad in ({"value": "great"}, {"value": ["satisfied"]}, {"source": "follow_up"}, {"round": -1},
                {"station_code": "XX01"}, {"extra": 1}):
        other = {**good, "uuid": str(uuid_module.uuid4()), **bad}
        records = [{"type": "rating", "data": good}, {"type": "rating", "data": other}]
        with station_app.app_context():
            try:
                station_sync.make_client(transport).call("push", {"records": records})
            except client.HubRefused as refused:
                assert (refused.status, refused.code) == (400, "bad_record")
            else:
                raise AssertionError(f"accepted {bad}")
    with hub_app.app_context():
        assert db.session.scalar(select(Rating)) is None


def test_a_kiosk_rating_on_a_merged_duplicate_rates_its_original(station_app, hub_app, transport):
    original, _original_number, _ = submitted(station_app, transport)
    duplicate, number, secret = submitted(station_app, transport)
    at_hub(hub_app, lambda clerk, o, d: (staff.accept(clerk, o), staff.merge(clerk, d, o), close(clerk, o)),
           original, duplicate)
    assert sync(station_app, transport).ok
    rate_at_kiosk(station_app.test_client(), number, secret, "unsatisfied", "还是不亮")
    assert sync(station_app, transport).ok
    with hub_app.app_context():
        (rating,) = db.session.scalars(select(Rating))
        assert (rating.opinion_uuid, rating.counted) == (original, True)
        assert db.session.get(Opinion, original).status == OpinionStatus.REOPENED
    html = look_up(station_app.test_client(), number, secret)
    assert re.search(r'data-testid="status-label">群众不满意，正在重新办理<', html)


def follow_up_call(value):
    """A clerk's follow-up call (回访) recording ``value``, as an action for ``at_hub``."""
    return lambda clerk, opinion: staff.record_rating(opinion, GivenRating(value, source=RatingSource.FOLLOW_UP), actor=clerk)


def test_a_follow_up_call_is_named_at_the_station_and_stays_the_hubs(station_app, hub_app, transport):
    uuid, number, secret = submitted(station_app, transport)
    at_hub(hub_app, close, uuid)
    at_hub(hub_app, follow_up_call("satisfied"), uuid)
    assert sync(station_app, transport).ok
    html = look_up(station_app.test_client(), number, secret)
    assert re.search(r'data-testid="rating-thanks">工作人员已电话回访，并记录了您对办理结果的评价。<', html)
    assert 'data-testid="rating-form"' not in html
    with station_app.app_context():
        [kept] = db.session.scalars(select(Rating)).all()
        assert (kept.opinion_uuid, kept.round, kept.value, kept.source) == (uuid, 0, "satisfied", "follow_up")
        assert station_sync.status().waiting == 0
    again = sync(station_app, transport)
    assert again.ok and again.pushed == 0
    with hub_app.app_context():
        assert [(r.source, r.counted) for r in db.session.scalars(select(Rating))] == [("follow_up", True)]


def test_unsatisfied_on_a_follow_up_call_reopens_and_the_station_says_who_asked(station_app, hub_app, transport):
    uuid, number, secret = submitted(station_app, transport)
    at_hub(hub_app, close, uuid)
    at_hub(hub_app, follow_up_call("unsatisfied"), uuid)
    assert sync(station_app, transport).ok
    assert sync(station_app, transport).ok  # a second pull keeps one copy
    html = look_up(station_app.test_client(), number, secret)
    assert re.search(r'data-testid="status-label">群众不满意，正在重新办理<', html)
    assert "工作人员已电话回访，并记录了您对办理结果的评价。您的意见已退回罗城街道人大工委，正在重新办理。" in html
    with station_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Rating)) == 1


def test_a_phone_rating_still_thanks_the_holder_at_the_station(station_app, hub_app, transport):
    uuid, number, secret = submitted(station_app, transport)
    at_hub(hub_app, close, uuid)
    with hub_app.app_context():
        staff.record_rating(db.session.get(Opinion, uuid), GivenRating("basic"))
    assert sync(station_app, transport).ok
    assert "谢谢，您的评价已记录" in look_up(station_app.test_client(), number, secret)
    with station_app.app_context():
        assert db.session.scalar(select(Rating)) is None  # only a follow-up call needs a copy


def test_a_malformed_rating_in_the_pull_refuses_the_answer(station_app, hub_app, transport):
    uuid, _number, _secret = submitted(station_app, transport)
    good = {"uuid": str(uuid_module.uuid4()), "round": 0, "value": "satisfied", "source": "follow_up",
            "created_at": "2026-11-27T08:00:00.000000Z"}
    for bad in ({"value": "great"}, {"source": "fax"}, {"round": -1}, {"uuid": "x"}, {"created_at": "yesterday"}):
        with station_app.app_context():
            cursor = station_sync.status().cursor
            answer = {"cursor": cursor + 1, "more": False, "reference": None,
                      "opinions": [{"uuid": uuid, "status": "closed", "public_reply": REPLY, "events": [],
                                    "rating": {**good, **bad}}]}
            with pytest.raises(station_sync.AnswerMalformed):
                station_sync.apply_pull_answer(answer)
            assert db.session.scalar(select(Rating)) is None
            assert station_sync.status().cursor == cursor
