"""Handwriting at the station: p95 at most 100 ms from the pad's ink to its candidates.

Timed over HTTP against one real station server (waitress serving
``wsgi:app``, as on the box), as the kiosk's pad asks after a stroke:
POST /ime/handwriting with a character's ink (a finger's copy of recorded
strokes, tests/support/handwriting.py) and what was written before it.
Interleaved with the bare route (``/healthz``: Flask and waitress, nothing
else), whose ratio shows what recognition adds. Also timed: the 联想 row
after a chosen character (POST /ime/associated), and in-process the engine
alone against its floor, zinnia's classification by itself, on the same
ink, so that the ratio is what normalising and ranking add. The lexicon is
made first as at set-up (``flask ime lexicon``), timed; then the station
process's memory with the engine loaded (RSS and PSS from /proc).

Prints figures; exits non-zero only when the product errors.
Settings (environment): BENCH_HANDWRITING_REQUESTS (default 300).
"""

import json
import os
import random
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import median, ms, p95, ratio, report, timed, timed_cpu  # noqa: E402
from kiosk.ime import handwriting, lexicon  # noqa: E402
from kiosk.ime.zinnia import Recognizer  # noqa: E402
from tests.support.crashes import UNLIMITED, Villager  # noqa: E402
from tests.support.handwriting import SEED, fingered, ink, medians, written_characters  # noqa: E402
from tests.support.servers import flask_command, station_box  # noqa: E402

WARM_UP = 10
REQUESTS = int(os.environ.get("BENCH_HANDWRITING_REQUESTS", "300"))
TARGET = 0.100


def samples(known: set[str]) -> list[tuple[dict, str]]:
    """Finger-written ink for the test characters, each with what came before it."""
    rng = random.Random(SEED)
    return [(ink(fingered(medians(ch), rng)), before[-8:]) for ch, before in written_characters(known)]


def post_json(person: Villager, path: str, body: dict) -> dict:
    request = urllib.request.Request(
        person.base_url + path, data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json", "X-CSRFToken": person.csrf_token},
    )
    with person.opener.open(request, timeout=person.timeout) as answer:
        if answer.status != 200:
            sys.exit(f"{path} answered {answer.status}")
        return json.load(answer)


def over_http(url: str, inks: list[tuple[dict, str]]) -> tuple[list[float], list[float], list[float]]:
    person = Villager(url)
    person.open_home()
    recognise, associate, bare = [], [], []
    for i in range(WARM_UP + REQUESTS):
        data, before = inks[i % len(inks)]
        elapsed, answer = timed(post_json, person, "/ime/handwriting", {**data, "context": before})
        if not answer.get("candidates"):
            sys.exit(f"no candidates: {answer}")
        chosen = before + answer["candidates"][0]
        associated, words = timed(post_json, person, "/ime/associated", {"text": chosen[-8:]})
        plain, page = timed(person.get, "/healthz")
        if page.status != 200:
            sys.exit("the bare route failed")
        if i >= WARM_UP:
            recognise.append(elapsed)
            associate.append(associated)
            bare.append(plain)
    return recognise, associate, bare


def in_process(folder: Path, inks: list[tuple[dict, str]]) -> tuple[list[float], list[float], list[float]]:
    """Seconds of the whole engine (wall and CPU) and of zinnia alone, on the same ink."""
    recognizer = Recognizer()
    engine = handwriting.Handwriting(recognizer, lexicon.Lexicon(folder / lexicon.LEXICON_FILE))
    whole, cpu, floor = [], [], []
    for data, before in inks[:REQUESTS]:
        drawn = handwriting.read_ink(data)
        raw = [[(round(x), round(y)) for x, y in stroke] for stroke in drawn.strokes]
        floor.append(timed(recognizer.classify, raw, round(drawn.width), round(drawn.height), 10)[0])
        wall, used, _ = timed_cpu(engine.recognise, drawn, before, 10)
        whole.append(wall)
        cpu.append(used)
    return whole, cpu, floor


def memory_mb(pid: int) -> dict[str, float]:
    fields = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("Rss", "Pss"):
            fields[key] = int(value.split()[0]) / 1024
    return fields


def main() -> None:
    for key in [k for k in os.environ if k.startswith("KIOSK_")]:
        del os.environ[key]  # this box's settings are the defaults, nothing inherited
    inks = samples(set(Recognizer().characters()))
    with tempfile.TemporaryDirectory() as folder:
        instance = Path(folder) / "instance"
        box = station_box(instance, **UNLIMITED)
        started = time.perf_counter()
        made = flask_command(instance, "ime", "lexicon")
        if made.returncode != 0:
            sys.exit(f"flask ime lexicon failed: {made.stderr}")
        made_in = time.perf_counter() - started
        box.start()
        try:
            recognise, associate, bare = over_http(box.url, inks)
            memory = memory_mb(box.process.pid)
        finally:
            box.stop()
        whole, cpu, floor = in_process(instance / "ime", inks)

    print(f"handwriting at the station ({len(recognise)} characters written by finger, over HTTP):")
    report("lexicon made at set-up", f"{made_in:.1f} s")
    report("ink → candidates median", ms(median(recognise)))
    report("ink → candidates p95", ms(p95(recognise)), "≤ 100 ms", p95(recognise) <= TARGET)
    report("联想 after a character median", ms(median(associate)))
    report("联想 after a character p95", ms(p95(associate)))
    report("bare Flask route (/healthz) median", ms(median(bare)))
    ratio("candidates / bare, medians", median(recognise), median(bare))
    print("in-process, the engine against zinnia alone on the same ink:")
    report("engine median", ms(median(whole)))
    report("engine p95", ms(p95(whole)))
    # CPU time hardly moves when other work shares the machine; wall time does.
    report("engine CPU time median", ms(median(cpu)))
    report("engine CPU time p95", ms(p95(cpu)))
    report("zinnia alone median", ms(median(floor)))
    ratio("engine / zinnia alone, medians", median(whole), median(floor))
    print("station process with the handwriting engine loaded:")
    report("RSS", f"{memory['Rss']:.1f} MB")
    report("PSS", f"{memory['Pss']:.1f} MB")


if __name__ == "__main__":
    main()
