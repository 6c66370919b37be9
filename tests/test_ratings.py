"""满意度测评: the receipt holder rates a closed opinion, once per round, on the
status page (hub and station) and at the kiosk look-up (station)."""

import re

import pytest
from sqlalchemy import func, select

from kiosk.extensions import db
from kiosk.models import Opinion, OpinionEvent, OpinionStatus, Rating, RatingSource, utcnow
from kiosk.ratings import GivenRating
from kiosk.staff import services as staff
from kiosk.sync import station as station_sync
from tests.support.factories import make_opinion, make_user, receive_opinion
from tests.support.web import csrf_token, page_token, text

HTMX = {"HX-Request": "true"}
REPLY = "路灯已于上周修好，感谢您的反映。"


# --- at the hub: the status page a phone opens --------------------------------------------


@pytest.fixture
def closed(hub):
    """A closed opinion at the hub: its number and secret."""
    with hub.app_context():
        opinion = receive_opinion(contact_name="陈大文", contact_phone="13812345678")
        clerk = make_user(username="clerk-wang")
        staff.accept(clerk, opinion)
        staff.close(clerk, opinion, REPLY)
        return opinion.receipt_number, opinion.secret


def rate_on_page(client, number, secret, value, comment="", token=None):
    page = client.get(f"/r/{number}?k={secret}")
    data = {"csrf_token": token or csrf_token(text(page)), "secret": secret, "value": value, "comment": comment}
    return client.post(f"/r/{number}/rating", data=data)


def ratings(app, number):
    with app.app_context():
        opinion = db.session.scalar(select(Opinion).where(Opinion.receipt_number == number))
        return list(db.session.scalars(select(Rating).where(Rating.opinion_uuid == opinion.uuid)))


def test_a_closed_opinion_asks_to_choose_then_submit(hub, closed):
    """Tapping a choice sends nothing: three big choices, a comment box, one 提交评价 button."""
    number, secret = closed
    page = hub.test_client().get(f"/r/{number}?k={secret}")
    html = text(page)
    assert page.status_code == 200
    assert 'data-testid="rating-form"' in html
    # A plain form: works without JavaScript.
    assert f'method="post" action="/r/{number}/rating"' in html
    for value, label in (("satisfied", "满意"), ("basic", "基本满意"), ("unsatisfied", "不满意")):
        assert re.search(rf'<input type="radio" name="value" value="{value}" id="rate-{value}"', html)
        assert re.search(rf'<label for="rate-{value}"[^>]*>{label}</label>', html)
    # The choices are no submit buttons; there is exactly one, and it says what it does.
    assert re.findall(r'<button type="submit"[^>]*>([^<]*)</button>', html) == ["提交评价"]
    assert 'name="value" value="satisfied" class' not in html
    assert 'name="comment"' in html and "请说说哪里不满意" in html
    assert "意见会退回罗城街道人大工委重新办理" in html
    # A phone: the page scales to the screen and the choices stack when narrow.
    assert 'name="viewport" content="width=device-width' in html
    assert "css/public.css" in html


def test_an_unsatisfied_rating_carries_its_reason_in_one_submission(hub, closed):
    number, secret = closed
    client = hub.test_client()
    assert rate_on_page(client, number, secret, "unsatisfied", "灯还是不亮").status_code == 303
    (rating,) = ratings(hub, number)
    assert (rating.value, rating.comment) == ("unsatisfied", "灯还是不亮")


def test_a_refused_rating_keeps_the_choice_and_the_comment(hub, closed):
    number, secret = closed
    answer = rate_on_page(hub.test_client(), number, secret, "unsatisfied", "太" * 301)
    html = text(answer)
    assert re.search(r'value="unsatisfied" id="rate-unsatisfied"[^>]*checked', html)
    assert "太" * 301 in html


def test_rating_is_taken_once_per_round(hub, closed):
    number, secret = closed
    client = hub.test_client()
    answer = rate_on_page(client, number, secret, "satisfied", "修得很快")
    assert answer.status_code == 303
    assert answer.headers["Location"].endswith(f"/r/{number}?k={secret}")
    page = text(client.get(f"/r/{number}?k={secret}"))
    assert "谢谢，您的评价已记录" in page and 'data-testid="rating-form"' not in page
    (rating,) = ratings(hub, number)
    assert (rating.value, rating.comment, rating.source, rating.round, rating.counted) == (
        "satisfied", "修得很快", RatingSource.STATUS_PAGE, 0, True,
    )
    with hub.app_context():
        assert db.session.get(Opinion, rating.opinion_uuid).satisfaction == "satisfied"
    # The same receipt again (another tab, a second phone): refused, nothing stored.
    token = page_token(client, f"/r/{number}?k={secret}")
    again = client.post(f"/r/{number}/rating", data={"csrf_token": token, "secret": secret, "value": "unsatisfied"})
    assert again.status_code == 200 and "谢谢，您的评价已记录" in text(again)
    assert len(ratings(hub, number)) == 1
    with hub.app_context():
        assert db.session.get(Opinion, rating.opinion_uuid).status == OpinionStatus.CLOSED


def test_unsatisfied_reopens_the_opinion_with_the_comment(hub, closed):
    number, secret = closed
    client = hub.test_client()
    assert rate_on_page(client, number, secret, "unsatisfied", "路灯又坏了").status_code == 303
    with hub.app_context():
        opinion = db.session.scalar(select(Opinion).where(Opinion.receipt_number == number))
        assert opinion.status == OpinionStatus.REOPENED and opinion.reopen_count == 1
    page = text(client.get(f"/r/{number}?k={secret}"))
    assert re.search(r'data-testid="status-label">群众不满意，正在重新办理<', page)
    assert "您的意见已退回罗城街道人大工委，正在重新办理" in page and 'data-testid="rating-form"' not in page


def test_after_unsatisfied_the_old_reply_is_not_shown_as_the_answer(hub, closed):
    number, secret = closed
    client = hub.test_client()
    before = text(client.get(f"/r/{number}?k={secret}"))
    assert 'data-testid="status-reply"' in before and "上次答复" not in before
    rate_on_page(client, number, secret, "unsatisfied", "路灯又坏了")
    page = text(client.get(f"/r/{number}?k={secret}"))
    assert "已重新办理" not in page
    assert 'data-testid="status-reply"' not in page
    # Still there, under the history, as what it is.
    previous = page[page.index('data-testid="status-previous-reply"'):]
    assert "上次答复" in previous and REPLY in previous
    assert page.index('data-testid="status-history"') < page.index('data-testid="status-previous-reply"')


def test_a_follow_up_call_rating_says_staff_recorded_it(hub, closed):
    number, secret = closed
    with hub.app_context():
        opinion = db.session.scalar(select(Opinion).where(Opinion.receipt_number == number))
        staff.record_rating(opinion, GivenRating("satisfied", source=RatingSource.FOLLOW_UP), actor=make_user(username="caller"))
    page = text(hub.test_client().get(f"/r/{number}?k={secret}"))
    assert "工作人员已电话回访" in page and "谢谢，您的评价已记录" not in page
    assert 'data-testid="rating-form"' not in page


def test_an_unsatisfied_follow_up_call_says_staff_recorded_it_and_the_work_is_redone(hub, closed):
    number, secret = closed
    with hub.app_context():
        opinion = db.session.scalar(select(Opinion).where(Opinion.receipt_number == number))
        staff.record_rating(opinion, GivenRating("unsatisfied", "还是不亮", source=RatingSource.FOLLOW_UP),
                            actor=make_user(username="caller"))
    page = text(hub.test_client().get(f"/r/{number}?k={secret}"))
    assert "工作人员已电话回访" in page and "正在重新办理" in page and "谢谢，您的评价已记录" not in page


def test_a_new_round_may_be_rated_again_after_closing_again(hub, closed):
    number, secret = closed
    client = hub.test_client()
    rate_on_page(client, number, secret, "unsatisfied", "路灯又坏了")
    with hub.app_context():
        opinion = db.session.scalar(select(Opinion).where(Opinion.receipt_number == number))
        clerk = make_user()
        staff.accept(clerk, opinion)
        staff.close(clerk, opinion, "已更换新灯具。")
    page = text(client.get(f"/r/{number}?k={secret}"))
    assert 'data-testid="rating-form"' in page
    assert rate_on_page(client, number, secret, "basic").status_code == 303
    assert sorted((r.round, r.value) for r in ratings(hub, number)) == [(0, "unsatisfied"), (1, "basic")]


@pytest.mark.parametrize(
    "value, comment, message",
    [
        ("", "", "请点选满意、基本满意或不满意"),
        ("excellent", "", "请点选满意、基本满意或不满意"),
        ("satisfied", "太" * 301, "意见最多 300 个字"),
    ],
)
def test_bad_ratings_are_explained_and_change_nothing(hub, closed, value, comment, message):
    number, secret = closed
    answer = rate_on_page(hub.test_client(), number, secret, value, comment)
    assert answer.status_code == 200
    assert message in text(answer) and 'data-testid="rating-form"' in text(answer)
    assert ratings(hub, number) == []


def test_the_rating_form_needs_its_csrf_token(hub, closed):
    number, secret = closed
    client = hub.test_client()
    client.get(f"/r/{number}?k={secret}")
    for token in (None, "forged"):
        data = {"secret": secret, "value": "unsatisfied"} | ({"csrf_token": token} if token else {})
        answer = client.post(f"/r/{number}/rating", data=data)
        assert answer.status_code == 400
    assert ratings(hub, number) == []


def test_a_rating_needs_the_receipts_secret(hub, closed):
    number, secret = closed
    client = hub.test_client()
    token = csrf_token(text(client.get(f"/r/{number}?k={secret}")))
    answer = client.post(f"/r/{number}/rating", data={"csrf_token": token, "secret": "AAAAAA", "value": "unsatisfied"})
    assert answer.status_code == 404
    assert ratings(hub, number) == []


def test_an_open_opinion_is_not_rated(hub):
    with hub.app_context():
        opinion = receive_opinion()
        number, secret = opinion.receipt_number, opinion.secret
    client = hub.test_client()
    page = client.get(f"/r/{number}?k={secret}")
    assert 'data-testid="rating-form"' not in text(page)
    token = page_token(client, f"/r/{number}?k={secret}")
    answer = client.post(f"/r/{number}/rating", data={"csrf_token": token, "secret": secret, "value": "satisfied"})
    assert answer.status_code == 200 and "意见办结后才能评价" in text(answer)
    assert ratings(hub, number) == []


# --- at the station: the look-up screen and the station's own status page -----------------


@pytest.fixture
def closed_here(app):
    """An opinion the station holds as closed (as a pull leaves it)."""
    with app.app_context():
        opinion = make_opinion()
        opinion.acknowledged_at = opinion.hub_received_at = utcnow()
        opinion.status, opinion.public_reply = OpinionStatus.CLOSED, REPLY
        db.session.add(OpinionEvent(opinion_uuid=opinion.uuid, status=OpinionStatus.CLOSED, at=utcnow(), note="已办结。"))
        db.session.commit()
        return opinion.receipt_number, opinion.secret


def look_up(client, number, secret):
    token = csrf_token(text(client.get("/lookup")))
    return client.post("/lookup", data={"csrf_token": token, "number": number, "secret": secret}, headers=HTMX)


def rate_at_kiosk(client, number, secret, value, comment=""):
    html = text(look_up(client, number, secret))
    data = {"csrf_token": csrf_token(text(client.get("/lookup"))), "number": number, "secret": secret,
            "value": value, "comment": comment}
    assert 'data-testid="rating-form"' in html
    return client.post("/lookup/rating", data=data, headers=HTMX)


def test_the_lookup_offers_the_rating_on_the_touchscreen(client, closed_here):
    number, secret = closed_here
    html = text(look_up(client, number, secret))
    assert 'data-testid="rating-form"' in html
    assert 'hx-post="/lookup/rating"' in html and 'hx-target="#lookup-result"' in html
    for value, label in (("satisfied", "满意"), ("basic", "基本满意"), ("unsatisfied", "不满意")):
        assert re.search(rf'<input type="radio" name="value" value="{value}" id="rate-{value}-kiosk"', html)
        assert f">{label}</label>" in html
    assert re.findall(r'<button type="submit"[^>]*>([^<]*)</button>', html) == ["提交评价"]
    # The comment is typed on the kiosk's own keyboard.
    assert re.search(r'<textarea[^>]*name="comment"[^>]*data-keyboard="pinyin"', html)


def test_a_kiosk_rating_is_stored_here_and_waits_to_be_sent(app, client, closed_here):
    number, secret = closed_here
    answer = rate_at_kiosk(client, number, secret, "basic", "还可以")
    html = text(answer)
    assert answer.status_code == 200 and 'data-testid="lookup-result"' in html and "<html" not in html
    assert "谢谢，您的评价已记录" in html and 'data-testid="rating-form"' not in html
    with app.app_context():
        (rating,) = db.session.scalars(select(Rating))
        assert (rating.value, rating.comment, rating.source, rating.station_code, rating.round) == (
            "basic", "还可以", RatingSource.KIOSK, "LC00", 0,
        )
        assert rating.acknowledged_at is None and rating.counted is None
        assert station_sync.status().waiting == 1
        # Rating stays a station record: the opinion's hub-owned fields are untouched.
        opinion = db.session.get(Opinion, rating.opinion_uuid)
        assert opinion.status == OpinionStatus.CLOSED and opinion.satisfaction is None
    # Looked up again: the thank-you, not the buttons.
    again = text(look_up(client, number, secret))
    assert "谢谢，您的评价已记录" in again and 'data-testid="rating-form"' not in again


def test_a_second_kiosk_rating_of_the_round_is_refused(app, client, closed_here):
    number, secret = closed_here
    rate_at_kiosk(client, number, secret, "satisfied")
    data = {"csrf_token": csrf_token(text(client.get("/lookup"))), "number": number, "secret": secret,
            "value": "unsatisfied"}
    answer = client.post("/lookup/rating", data=data, headers=HTMX)
    assert answer.status_code == 200 and "谢谢，您的评价已记录" in text(answer)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Rating)) == 1


def test_the_kiosk_rating_works_without_javascript(client, closed_here):
    number, secret = closed_here
    data = {"csrf_token": csrf_token(text(client.get("/lookup"))), "number": number, "secret": secret,
            "value": "satisfied"}
    answer = client.post("/lookup/rating", data=data)
    assert "<html" in text(answer) and "谢谢，您的评价已记录" in text(answer)


def test_a_bad_kiosk_rating_is_explained_in_the_result(app, client, closed_here):
    number, secret = closed_here
    data = {"csrf_token": csrf_token(text(client.get("/lookup"))), "number": number, "secret": secret,
            "value": "great"}
    answer = client.post("/lookup/rating", data=data, headers=HTMX)
    assert answer.status_code == 200 and "请点选满意、基本满意或不满意" in text(answer)
    assert 'data-testid="rating-form"' in text(answer)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Rating)) == 0


def test_the_kiosk_rating_needs_its_csrf_token(app, client, closed_here):
    number, secret = closed_here
    client.get("/lookup")
    answer = client.post("/lookup/rating", data={"number": number, "secret": secret, "value": "unsatisfied"})
    assert answer.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Rating)) == 0


def test_the_stations_own_status_page_stores_the_rating_here(app, client, closed_here):
    number, secret = closed_here
    assert rate_on_page(client, number, secret, "satisfied").status_code == 303
    with app.app_context():
        (rating,) = db.session.scalars(select(Rating))
        assert rating.source == RatingSource.STATUS_PAGE and rating.acknowledged_at is None
    assert "谢谢，您的评价已记录" in text(client.get(f"/r/{number}?k={secret}"))


def test_a_rating_given_elsewhere_this_round_hides_the_buttons(app, client, closed_here):
    """The hub sends satisfaction once the round is rated (on a phone, say)."""
    number, secret = closed_here
    with app.app_context():
        opinion = db.session.scalar(select(Opinion).where(Opinion.receipt_number == number))
        opinion.satisfaction = "satisfied"
        db.session.commit()
    html = text(look_up(client, number, secret))
    assert "谢谢，您的评价已记录" in html and 'data-testid="rating-form"' not in html
