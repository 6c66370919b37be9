"""朗读: every kiosk screen's words, read aloud in 普通话 and 粤语 from files made at set-up.

The wording test renders each screen through the Flask test client and
reads what it marks ``data-read``: when a template's words change and
``kiosk.prompts.WORDING`` (from which the prompts are made) does not, it
fails. The files are made by the real espeak-ng and heard with ffmpeg.
"""

import re
import wave

import pytest

from kiosk import prompts
from tests.support.voice import heard

HTMX = {"HX-Request": "true"}


@pytest.fixture
def screens(client):
    """Every kiosk screen as a villager meets it, rendered: {screen: html}."""
    page = client.get("/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)

    def post(path, **fields):
        answer = client.post(path, data={"csrf_token": token, **fields}, headers=HTMX)
        assert answer.status_code == 200
        return answer.get_data(as_text=True)

    rendered = {"home": client.get("/", headers=HTMX).get_data(as_text=True)}
    rendered["category"] = post("/opinion/start")
    rendered["content"] = post("/opinion/category", category="road")
    rendered["contact"] = post("/opinion/content", content="村口的路灯坏了三个月。")
    rendered["deputy"] = post("/opinion/contact", anonymous="1")
    rendered["review"] = post("/opinion/deputy", deputy_id="")
    rendered["receipt"] = post("/opinion/submit")
    rendered["lookup"] = client.get("/lookup", headers=HTMX).get_data(as_text=True)
    rendered["deputies"] = client.get("/deputies", headers=HTMX).get_data(as_text=True)
    return rendered


def test_every_screen_reads_its_current_wording_and_has_the_button(screens):
    assert set(screens) == set(prompts.WORDING)
    for screen, html in screens.items():
        assert prompts.wording_of(html) == prompts.WORDING[screen], (
            f"the {screen} screen's words changed: put them in kiosk.prompts.WORDING so its prompt is made again"
        )
        assert f'data-testid="read-aloud" data-read-aloud="{screen}"' in html


def test_wording_is_read_from_the_marked_text_only():
    html = '<h1 data-read>请核对<b>一下</b></h1><p>不读</p><button data-read><span>←</span> 上一步</button><img data-read alt="x">'
    assert prompts.wording_of(html) == "请核对一下。上一步。"


def test_mandarin_is_given_to_espeak_as_pinyin_with_tones():
    assert prompts.spoken_form("查询回执。", "mandarin") == "cha2 xun2 hui2 zhi2 ."
    assert prompts.spoken_form("查询回执。", "cantonese") == "查询回执。"


def test_set_up_makes_every_prompt_in_both_languages_and_remakes_a_changed_one(app, runner, monkeypatch):
    result = runner.invoke(args=["prompts", "make"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        folder = prompts.folder()
        names = {prompts.name_of(s, lang) for s in prompts.WORDING for lang in prompts.LANGUAGES}
    assert {p.name for p in folder.glob("*.wav")} == names
    for language in prompts.LANGUAGES:
        path = folder / next(n for n in names if n.startswith(f"review-{language}-"))
        with wave.open(str(path)) as sound:
            assert sound.getnchannels() == 1
        listened = heard(path.read_bytes())
        assert listened.seconds > 2 and listened.loudness > 0.02  # speech, not silence
    assert "0 prompts made" in runner.invoke(args=["prompts", "make"]).output
    # A screen's words change with an upgrade: its two prompts are made again, the old ones go.
    monkeypatch.setitem(prompts.WORDING, "home", prompts.WORDING["home"] + "谢谢。")
    assert "2 prompts made, 2 old ones removed" in runner.invoke(args=["prompts", "make"]).output


def test_the_station_serves_a_prompt_and_keeps_the_language_for_the_visit(client):
    page = client.get("/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    answer = client.get("/read-aloud/category/cantonese.wav")
    assert answer.status_code == 200 and answer.mimetype == "audio/wav" and answer.data[:4] == b"RIFF"
    assert client.get("/read-aloud/category/english.wav").status_code == 404
    assert client.get("/read-aloud/nowhere/mandarin.wav").status_code == 404
    assert client.post("/read-aloud/language", data={"csrf_token": token, "language": "klingon"}).status_code == 400
    assert client.post("/read-aloud/language", data={"csrf_token": token, "language": "cantonese"}).status_code == 204
    step = client.post("/opinion/start", data={"csrf_token": token}, headers=HTMX).get_data(as_text=True)
    assert 'data-read-language="cantonese"' in step
    # The visit ends at the home screen: the next person is asked again.
    assert 'data-read-language=""' in client.get("/", headers=HTMX).get_data(as_text=True)


def test_a_release_brings_its_prompts_and_the_station_makes_none(app, client, runner, monkeypatch, tmp_path):
    shipped = tmp_path / "release" / "prompts"
    made = prompts.make_into(shipped)
    names = {prompts.name_of(s, lang) for s in prompts.WORDING for lang in prompts.LANGUAGES}
    assert {p.name for p in made} == names == {p.name for p in shipped.glob("*.wav")}
    monkeypatch.setattr(prompts, "SHIPPED", shipped)
    # A box without espeak-ng: nothing it runs can find it.
    monkeypatch.setenv("PATH", str(tmp_path / "no-programs"))
    answer = client.get("/read-aloud/review/mandarin.wav")
    assert answer.status_code == 200
    assert answer.data == (shipped / prompts.name_of("review", "mandarin")).read_bytes()
    result = runner.invoke(args=["prompts", "make"])
    assert result.exit_code == 0 and "0 prompts made" in result.output, result.output
    with app.app_context():
        assert not list(prompts.folder().glob("*.wav"))
