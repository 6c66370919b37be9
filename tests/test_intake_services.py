"""Drafts, submission and receipt numbers."""

import re
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from kiosk.extensions import db
from kiosk.intake import services as intake
from kiosk.models import Draft, Opinion, OpinionEvent
from kiosk.public.lookup import find_receipt
from kiosk.receipts.numbers import SECRET_ALPHABET
from kiosk.text import clean_text, mask_phone
from tests.support.factories import make_draft, make_opinion

SHANGHAI_MORNING = datetime(2026, 3, 5, 1, 30, tzinfo=timezone.utc)  # 09:30 in Luoding


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield


def test_receipt_number_uses_station_local_date_and_daily_counter(ctx):
    first = make_opinion(now=SHANGHAI_MORNING)
    second = make_opinion(now=SHANGHAI_MORNING + timedelta(minutes=5))
    assert first.receipt_number == "LC00-260305-0001"
    assert second.receipt_number == "LC00-260305-0002"
    # 17:00 UTC is already the next day in Asia/Shanghai.
    late = make_opinion(now=datetime(2026, 3, 5, 17, 0, tzinfo=timezone.utc))
    assert late.receipt_number == "LC00-260306-0001"


def test_clock_going_backwards_never_repeats_a_number(ctx):
    numbers = [make_opinion(now=SHANGHAI_MORNING + timedelta(days=d)).receipt_number for d in (0, 1, 0, -1, 0)]
    assert len(set(numbers)) == len(numbers)
    assert numbers[2] == "LC00-260305-0002"


def test_secret_is_short_and_easy_to_read_aloud(ctx):
    opinion = make_opinion()
    assert re.fullmatch(f"[{SECRET_ALPHABET}]{{6}}", opinion.secret)
    assert not set("0O1IL5S8BUVZ2") & set(SECRET_ALPHABET)


def test_submitting_twice_makes_one_opinion(ctx):
    draft = make_draft()
    first = intake.submit_draft(draft.id)
    again = intake.submit_draft(draft.id)
    assert first.created and not again.created
    assert again.opinion.receipt_number == first.opinion.receipt_number
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Opinion)) == 1
    assert db.session.get(Draft, draft.id) is None


def test_submission_writes_opinion_event_and_removes_draft_together(ctx):
    opinion = make_opinion(consent_version="2026-11", name="陈大文", phone="13812345678", anonymous=False)
    events = db.session.scalars(sa.select(OpinionEvent).where(OpinionEvent.opinion_uuid == opinion.uuid)).all()
    assert [e.status for e in events] == ["submitted"]
    assert opinion.contact_phone == "13812345678" and opinion.consent_version == "2026-11"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Draft)) == 0


def test_incomplete_or_missing_drafts_are_refused(ctx):
    draft = make_draft(content=None)
    with pytest.raises(intake.DraftIncomplete) as error:
        intake.submit_draft(draft.id)
    assert error.value.step == "content"
    with pytest.raises(intake.DraftMissing):
        intake.submit_draft("no-such-draft")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Opinion)) == 0


def test_receipt_is_found_only_with_its_secret(ctx):
    opinion = make_opinion()
    assert find_receipt(opinion.receipt_number.lower(), opinion.secret.lower()) == opinion
    assert find_receipt(opinion.receipt_number, "AAAAAA") is None
    assert find_receipt(opinion.receipt_number, "") is None
    assert find_receipt("LC00-000000-0001", opinion.secret) is None


def test_discarding_a_draft_wipes_it(ctx):
    draft = make_draft(name="陈大文", phone="13812345678")
    intake.discard_draft(draft.id)
    assert db.session.get(Draft, draft.id) is None
    intake.discard_draft(draft.id)  # twice is fine


def test_starting_a_draft_wipes_drafts_abandoned_long_ago(ctx):
    old = make_draft(name="陈大文", phone="13812345678")
    old.touched_at = datetime.now(timezone.utc) - intake.STALE_DRAFT_AGE - timedelta(minutes=1)
    recent = make_draft()
    recent.touched_at = datetime.now(timezone.utc) - intake.STALE_DRAFT_AGE + timedelta(minutes=5)
    db.session.commit()
    fresh = intake.start_draft("LC00")
    assert db.session.get(Draft, old.id) is None
    assert db.session.get(Draft, recent.id) is not None and db.session.get(Draft, fresh.id) is not None


def test_rate_count_ignores_opinions_dated_after_a_clock_jump_back(ctx):
    for minutes in (0, 1, 2):
        make_opinion(now=SHANGHAI_MORNING + timedelta(hours=3, minutes=minutes))
    make_opinion(now=SHANGHAI_MORNING)
    assert intake.submissions_in_last_minute("LC00", now=SHANGHAI_MORNING + timedelta(seconds=5)) == 1


@pytest.mark.parametrize(
    "typed, kept",
    [
        ("路灯\u200b坏了\u200d", "路灯坏了"),
        ("第一行\r\n第二行\x00\x07", "第一行\n第二行"),
        ("<script>alert(1)</script>", "<script>alert(1)</script>"),
        ('<div hx-get="/x">路</div>', '<div hx-get="/x">路</div>'),
        ("\u202e反向\u202c文字", "反向文字"),
        ("  前后空格  ", "前后空格"),
        # Format characters by category, wherever they are in Unicode.
        ("阿\u061c拉\u180e伯", "阿拉伯"),
        ("路\U000e0041\U000e007f灯", "路灯"),  # tag characters
        ("路\ufff9灯\ufffa坏\ufffb了", "路灯坏了"),  # interlinear annotation
        ("第一行\u2028第二行\u2029", "第一行第二行"),
        ("路\ue000灯\U0010fffd", "路灯"),  # private use
        # Reviewed one by one: blank, though letters or marks by category.
        ("陈\u3164大\u115f\u1160文\uffa0", "陈大文"),
        ("路\u034f灯", "路灯"),
        # A zero-width joiner inside an emoji sequence stays, or the emoji splits.
        ("一家人👨\u200d👩\u200d👧", "一家人👨\u200d👩\u200d👧"),
        ("🏳\ufe0f\u200d🌈", "🏳\ufe0f\u200d🌈"),
        ("👍🏽\u200d好", "👍🏽好"),
        ("路\u200d👍", "路👍"),
        ("\t路灯\t", "路灯"),
    ],
)
def test_clean_text_removes_invisible_characters_and_keeps_the_rest(typed, kept):
    assert clean_text(typed) == kept


def test_phone_numbers_are_masked():
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone(None) == ""


def test_a_failed_write_never_carries_contact_details_into_logs(ctx):
    """Error messages (which end up in logs) hide the values being written."""
    draft_id = make_draft(name="陈大文", phone="13812345678").id
    db.session.expunge_all()
    with pytest.raises(sa.exc.IntegrityError) as error:
        db.session.execute(
            sa.insert(Draft).values(id=draft_id, station_code="LC00", data='{"phone": "13812345678"}')
        )
    db.session.rollback()
    assert "13812345678" not in str(error.value)
    assert "hidden" in str(error.value)
