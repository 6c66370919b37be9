"""Station process memory after a realistic session (target: RSS at most 150 MB).

A real station server (waitress serving ``wsgi:app``, as on the box) takes a
villager's session over HTTP: the home screen, a few opinions submitted,
their status pages, a receipt look-up and the receipt PDF (WeasyPrint and
its fonts are the big part). Then the process's resident set is read from
``/proc``. Twice: on a box without a printer, and on a box with one (a
private CUPS with a cups-pdf queue), where every receipt is rendered and
printed by the background printer threads, waited for until printed.

Then the station as villagers use it with both input engines (target: the
station's processes together at most 200 MB PSS while printing): a printing
box whose villagers first type by pinyin (Rime: every keystroke of words of
the quality list, in full and by initials) and write by hand (zinnia: ink
of recorded strokes, each character followed by its 联想 row), then submit
and print as above; against a printing box on which no engine is used, in
the same run, alternating, ``BENCH_MEMORY_REPEATS`` times each. PSS comes
from /proc/PID/smaps_rollup, summed over the server and every process it
started, read every ``SAMPLE_EVERY`` seconds through the session (the peak)
and at its end. Prints medians and the ratio to the bare box.
Prints figures; exits non-zero only when the product errors.
"""

import json
import os
import random
import re
import shutil
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import median, ratio, report  # noqa: E402
from tests.support.crashes import UNLIMITED, Villager, unique_content  # noqa: E402
from tests.support.cups import LocalCups, usable  # noqa: E402
from tests.support.servers import flask_command, station_box  # noqa: E402

SUBMISSIONS = int(os.environ.get("BENCH_MEMORY_SUBMISSIONS", 5))
REPEATS = int(os.environ.get("BENCH_MEMORY_REPEATS", 3))
TARGET_MB = 150
TARGET_PSS_MB = 200
SAMPLE_EVERY = 0.2
# What one morning's villagers type and write before submitting.
TYPED_WORDS = 60
WRITTEN_CHARACTERS = 40


def memory_mb(pid: int) -> dict[str, float]:
    """VmRSS (now) and VmHWM (peak) of a process, in MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return fields


def session(url: str, printing: bool = False) -> None:
    """What one busy morning at the kiosk asks of the server."""
    person = Villager(url)
    receipts = []
    for i in range(SUBMISSIONS):
        person.open_home()
        person.fill_in(unique_content(f"memory-{i}"))
        page = person.submit()
        if page.status != 200 or not page.receipt_number:
            raise SystemExit(f"submit failed: {page.status} {page.text[:300]}")
        receipts.append((page.receipt_number, page.receipt_secret))
        if printing:
            wait_until_printed(person, page.text)
    for number, secret in receipts:
        expect(person.get(f"/r/{number}?k={secret}"), f"status page {number}")
    expect(person.post("/lookup", {"number": receipts[0][0], "secret": receipts[0][1]}), "look-up")
    number, secret = receipts[-1]
    pdf = person.get(f"/receipts/{number}.pdf?k={secret}")
    if pdf.status == 404:
        print("  (no receipt PDF route yet: memory without WeasyPrint)")
    else:
        expect(pdf, "receipt PDF")


def wait_until_printed(person: Villager, receipt_screen: str, timeout: float = 120) -> None:
    """Poll the receipt screen's print status, as the screen does, until the receipt is printed."""
    poll = re.search(r'hx-get="(/print-jobs/[^"]+)"', receipt_screen)
    if poll is None:
        raise SystemExit(f"the receipt screen follows no print job: {receipt_screen[:300]}")
    deadline = time.monotonic() + timeout
    while 'data-state="printed"' not in (status := person.get(poll.group(1)).text):
        if 'data-state="failed"' in status or time.monotonic() > deadline:
            raise SystemExit(f"the receipt did not print: {status[:300]}")
        time.sleep(0.2)


def expect(page, what: str) -> None:
    if page.status != 200:
        raise SystemExit(f"{what}: status {page.status}: {page.text[:300]}")


def measure(instance: Path, printing: bool = False, **settings) -> tuple[dict, dict]:
    box = station_box(instance, **UNLIMITED, **settings).start()
    try:
        started = memory_mb(box.process.pid)
        session(box.url, printing)
        return started, memory_mb(box.process.pid)
    finally:
        box.stop()


def process_tree(pid: int) -> list[int]:
    """``pid`` and every process descended from it, alive now."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    tree, waiting = [], [pid]
    while waiting:
        current = waiting.pop()
        tree.append(current)
        waiting.extend(children.get(current, []))
    return tree


def pss_mb(pid: int) -> float:
    """The PSS of ``pid`` and its descendants, summed, in MB (a process gone meanwhile counts nothing)."""
    total = 0
    for member in process_tree(pid):
        try:
            lines = Path(f"/proc/{member}/smaps_rollup").read_text().splitlines()
        except OSError:
            continue
        total += next((int(line.split()[1]) for line in lines if line.startswith("Pss:")), 0)
    return total / 1024


class PssSampler(threading.Thread):
    """Reads the tree's PSS every SAMPLE_EVERY seconds until stopped; keeps the peak."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak = pid, 0.0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(SAMPLE_EVERY):
            self.peak = max(self.peak, pss_mb(self.pid))

    def stop(self) -> float:
        self.done.set()
        self.join()
        return self.peak


def use_engines(url: str) -> None:
    """Villagers typing by pinyin and writing by hand, over HTTP as the kiosk does."""
    from kiosk.ime.zinnia import Recognizer
    from tests.support.handwriting import SEED, fingered, ink, medians, written_characters
    from tests.support.ime import quality_words

    person = Villager(url)
    person.open_home()
    context = ""
    for word, full, initials in quality_words()[:TYPED_WORDS]:
        for letters in (full, initials):
            for end in range(1, len(letters) + 1):
                query = urllib.parse.urlencode({"letters": letters[:end], "context": context[-8:], "limit": 8})
                expect(person.get(f"/ime/candidates?{query}"), f"candidates for {letters[:end]}")
        context += word
    rng = random.Random(SEED)
    for ch, before in written_characters(set(Recognizer().characters()), WRITTEN_CHARACTERS):
        data = {**ink(fingered(medians(ch), rng)), "context": before[-8:]}
        found = post_json(person, "/ime/handwriting", data)["candidates"]
        post_json(person, "/ime/associated", {"text": (before + found[0])[-8:]})


def post_json(person: Villager, path: str, body: dict) -> dict:
    page = person.post(path, body=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    expect(page, path)
    return json.loads(page.text)


def measure_pss(instance: Path, engines: bool, **settings) -> tuple[float, float, float]:
    """PSS of a printing box's processes (MB): after start, the peak through the session, at its end."""
    made = flask_command(instance, "ime", "lexicon") if engines else None  # as set-up does
    box = station_box(instance, **UNLIMITED, **settings)
    if made is not None and made.returncode != 0:
        raise SystemExit(f"flask ime lexicon failed: {made.stderr}")
    box.start()
    try:
        started = pss_mb(box.process.pid)
        sampler = PssSampler(box.process.pid)
        sampler.start()
        try:
            if engines:
                use_engines(box.url)
            session(box.url, printing=True)
        finally:
            peak = sampler.stop()
        after = pss_mb(box.process.pid)
        return started, max(peak, after), after
    finally:
        box.stop()


def both_engines(cups: LocalCups) -> None:
    figures: dict[bool, list[tuple[float, float, float]]] = {False: [], True: []}
    for i in range(REPEATS):
        for engines in (False, True):
            with tempfile.TemporaryDirectory() as folder:
                figures[engines].append(measure_pss(Path(folder) / f"box-{i}", engines,
                                                    PRINTER=cups.printer, CUPS_SERVER=cups.server))
    load = os.getloadavg()
    print(f"the station's processes (PSS, summed) while printing, medians of {REPEATS} boxes each:")
    bare = [median([f[k] for f in figures[False]]) for k in range(3)]
    used = [median([f[k] for f in figures[True]]) for k in range(3)]
    for k, what in enumerate(("after start", "peak in the session", "at the session's end")):
        report(f"no engine used: {what}", f"{bare[k]:.1f} MB")
    for k, what in enumerate(("after start", "peak in the session", "at the session's end")):
        report(f"Rime and zinnia: {what}", f"{used[k]:.1f} MB",
               f"≤ {TARGET_PSS_MB} MB" if k else "", used[k] <= TARGET_PSS_MB if k else None)
    ratio("Rime and zinnia ÷ no engine (peak)", used[1], bare[1])
    print(f"  (each box's peak, no engine: {', '.join(f'{f[1]:.0f}' for f in figures[False])} MB;"
          f" Rime and zinnia: {', '.join(f'{f[1]:.0f}' for f in figures[True])} MB)")
    print(f"  (load average: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} cores)")


def show(title: str, started: dict, after: dict) -> None:
    print(title)
    report("RSS after start", f"{started['VmRSS']:.1f} MB")
    report("RSS after the session", f"{after['VmRSS']:.1f} MB", f"≤ {TARGET_MB} MB", after["VmRSS"] <= TARGET_MB)
    report("peak RSS (VmHWM)", f"{after['VmHWM']:.1f} MB")


def main() -> None:
    what = f"{SUBMISSIONS} submissions, status pages, a look-up and a receipt PDF"
    with tempfile.TemporaryDirectory() as folder:
        show(f"station process memory, no printer, after {what}:", *measure(Path(folder) / "plain"))
    if reason := usable():
        print(f"  (no private CUPS here, so no printing box: {reason})")
        return
    cups_root = Path(tempfile.mkdtemp(prefix="kiosk-bench-cups-"))
    cups = LocalCups(cups_root).start()
    try:
        with tempfile.TemporaryDirectory() as folder:
            figures = measure(Path(folder) / "printing", printing=True, PRINTER=cups.printer, CUPS_SERVER=cups.server)
        show(f"station process memory, with a printer (each receipt printed), after {what}:", *figures)
        both_engines(cups)
    finally:
        cups.stop()
        shutil.rmtree(cups_root, ignore_errors=True)


if __name__ == "__main__":
    main()
