"""说话留言 in Debian's Chromium with a fake microphone: record, play back, redo, keep, submit, sync.

Chromium plays a WAV file as the microphone (``--use-fake-device-for-media-stream``,
``--use-file-for-fake-audio-capture``), headless. The recording the browser made
is then heard again (ffmpeg) at the station and, after a sync to a hub, at the hub.
"""

import hashlib
import sqlite3
from contextlib import closing

import pytest
from playwright.sync_api import expect

from kiosk.extensions import db
from kiosk.models import VoiceMessage
from kiosk.sync import enrolment
from kiosk.sync import registry as hub_services
from kiosk.sync import station as station_sync
from tests.support.apps import make_app
from tests.support.servers import station_box
from tests.support.touch import QUICK_SETTLE_MS, start, tap
from tests.support.voice import heard, microphone_wav

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def speaking_browser(browser_type, browser_type_launch_args, tmp_path_factory):
    """Chromium whose microphone plays a warbling tone, the page allowed to use it."""
    wav = microphone_wav(tmp_path_factory.mktemp("microphone") / "voice.wav")
    args = [
        *browser_type_launch_args["args"],
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-audio-capture={wav}",
        "--autoplay-policy=no-user-gesture-required",
    ]
    browser = browser_type.launch(**{**browser_type_launch_args, "args": args})
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def voice_box(tmp_path_factory, demo_database):
    server = station_box(
        tmp_path_factory.mktemp("voice-box"), seed=demo_database, SUBMIT_PER_MINUTE=1000,
        TAP_SETTLE_MS=QUICK_SETTLE_MS, SYNC_BACKGROUND="false",
    ).start()  # fmt: skip
    yield server
    server.stop()


@pytest.fixture
def kiosk_with_microphone(speaking_browser):
    context = speaking_browser.new_context(
        viewport={"width": 1080, "height": 1920}, has_touch=True, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: "Content Security Policy" in message.text and errors.append(message.text))
    yield page
    context.close()
    assert not errors, errors


def record(page, seconds: int) -> None:
    """Tap 说话留言, watch the time run to ``seconds``, tap 停止."""
    tap(page, "voice-record")
    expect(page.get_by_test_id("voice-stop")).to_be_visible()
    expect(page.locator("[data-voice-elapsed]")).to_have_text(f"0:0{seconds}", timeout=seconds * 1000 + 5000)
    tap(page, "voice-stop")
    expect(page.get_by_test_id("voice-keep")).to_be_visible()


def plays(page) -> None:
    """Tap 播放 and wait until the audio element is really playing."""
    tap(page, "voice-play")
    page.wait_for_function(
        "() => { const a = document.querySelector('[data-voice-audio]'); return a && a.currentTime > 0.2; }"
    )


@pytest.mark.parametrize("hub_app", ["sqlite"], indirect=True)
def test_a_villager_speaks_keeps_it_and_the_hub_gets_the_same_recording(
    kiosk_with_microphone, voice_box, hub_app, transport
):
    page = kiosk_with_microphone
    start(page, voice_box.url)
    tap(page, "category-road")
    expect(page.get_by_test_id("voice-record")).to_be_visible()
    # A first try, played back and redone.
    record(page, 1)
    plays(page)
    tap(page, "voice-redo")
    expect(page.get_by_test_id("voice-stop")).to_be_visible()
    expect(page.locator("[data-voice-elapsed]")).to_have_text("0:02", timeout=8000)
    tap(page, "voice-stop")
    plays(page)
    tap(page, "voice-keep")
    kept = page.get_by_test_id("voice-kept")
    expect(kept).to_contain_text("已附语音留言（")
    expect(page.locator("#content-counter")).to_contain_text("有语音留言，文字可不写")
    seconds = int(kept.get_attribute("data-voice-seconds"))
    assert 2 <= seconds <= 3
    plays(page)  # now from the station
    page.screenshot(path=str(voice_box.instance / "voice-kept.png"))
    # No text: the recording is the opinion.
    tap(page, "next")
    expect(page.get_by_test_id("anonymous")).to_have_attribute("aria-pressed", "true")
    tap(page, "next")
    tap(page, "deputy-none")
    expect(page.get_by_test_id("review-voice")).to_have_text(f"附语音留言（{seconds} 秒）")
    tap(page, "submit")
    expect(page.get_by_test_id("receipt-voice")).to_have_text(f"附语音留言（{seconds} 秒）")
    number = page.get_by_test_id("receipt-number").inner_text()

    with closing(sqlite3.connect(voice_box.instance / "kiosk.sqlite3")) as station_db:
        uuid, sha, data = station_db.execute(
            "SELECT v.opinion_uuid, v.sha256, v.data FROM voice_messages v JOIN opinions o ON o.uuid = v.opinion_uuid"
            " WHERE o.receipt_number = ?",
            (number,),
        ).fetchone()
    assert hashlib.sha256(data).hexdigest() == sha
    listened = heard(data)
    assert abs(listened.seconds - 2) < 0.6 and listened.loudness > 0.01  # the microphone's tone, not silence
    # WebM/Opus at about 24 kbit/s: some 3 KB a second, not the default rate's 16.
    assert len(data) < 6000 * listened.seconds

    # The box syncs with a township hub (in this process, over its test client).
    station = make_app(voice_box.instance, SYNC_BACKGROUND=False)
    with hub_app.app_context():
        token = hub_services.issue_token("LC00")
    with station.app_context():
        enrolment.enroll("http://hub.test", token, transport=transport)
        result = station_sync.sync_once(transport)
        assert result.ok and result.voices == 1, result.error
        assert db.session.get(VoiceMessage, uuid).data is None  # the box's copy went
        db.engine.dispose()
    with hub_app.app_context():
        at_hub = db.session.get(VoiceMessage, uuid)
        assert at_hub.sha256 == sha and hashlib.sha256(at_hub.data).hexdigest() == sha
        hub_heard = heard(at_hub.data)
        assert abs(hub_heard.seconds - listened.seconds) < 0.05 and hub_heard.loudness > 0.01


def test_read_aloud_asks_the_language_once_a_visit_and_reads_each_screen(kiosk_with_microphone, voice_box):
    page = kiosk_with_microphone
    page.goto(voice_box.url)
    audio = page.locator("[data-read-aloud-audio]")
    tap(page, "read-aloud")
    expect(page.get_by_test_id("read-aloud-cantonese")).to_be_visible()
    tap(page, "read-aloud-cantonese")
    expect(audio).to_have_attribute("src", "/read-aloud/home/cantonese.wav")
    page.wait_for_function("() => document.querySelector('[data-read-aloud-audio]').currentTime > 0.3")
    # The next screen reads in the same language without asking, and stops the last one's words.
    tap(page, "start")
    expect(page.get_by_test_id("category-road")).to_be_visible()
    tap(page, "read-aloud")
    expect(page.get_by_test_id("read-aloud-cantonese")).to_be_hidden()
    expect(audio).to_have_attribute("src", "/read-aloud/category/cantonese.wav")
    page.wait_for_function("() => document.querySelector('[data-read-aloud-audio]').currentTime > 0.3")
    # The visit ends at the home screen: the next person chooses again.
    tap(page, "restart")
    tap(page, "read-aloud")
    expect(page.get_by_test_id("read-aloud-mandarin")).to_be_visible()
    tap(page, "read-aloud-mandarin")
    expect(audio).to_have_attribute("src", "/read-aloud/home/mandarin.wav")
