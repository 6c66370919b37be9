"""Pinyin at the station: keystroke to candidates over HTTP, taps per character, memory.

A real station server (waitress serving ``wsgi:app``) is typed at as the
kiosk's keyboard does: every word of the quality list
(tests/data/ime_quality_words.txt) letter by letter, each keystroke one
``/ime/candidates`` request with the text before it as context. The floor is
the bare route ``/healthz`` in the same run (target: keystroke p95 at most
30 ms). Taps per character for the same list, against the engine directly:
whole words by full pinyin or by initials (whichever is fewer taps, paging
counted as a tap), and
single-syllable picking (a syllable, then its character, paging as needed),
the way the keyboard typed before (goal: at most 2 taps a character); and the
list's rates, typed in full and as initials, inside and outside the domain
dictionary apart. Then the
station process's PSS after the typing and a submitted opinion with its
receipt PDF (target: at most 200 MB). Prints figures; exits non-zero only when
the product errors.
"""

import os
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import median, ms, p95, ratio, report  # noqa: E402
from kiosk.ime import rime  # noqa: E402
from kiosk.ime.dictionary import reading  # noqa: E402
from tests.support.crashes import UNLIMITED, Villager, unique_content  # noqa: E402
from tests.support.ime import in_dictionary, quality_rates, quality_words, rime_folder  # noqa: E402
from tests.support.servers import station_box  # noqa: E402

PAGE = 8
TARGET_P95 = 0.030
TARGET_PSS_MB = 200
TARGET_TAPS = 2.0


def pss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) / 1024
    raise SystemExit("no Pss in smaps_rollup")


def cpu_seconds(pid: int) -> float:
    """User and system CPU the process has used (clock ticks, 10 ms each)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def keystrokes(url: str, words, pid: int) -> tuple[list[float], list[float], float, float]:
    """Wall seconds of each keystroke and of each bare request; the server's CPU seconds for all of each."""
    person = Villager(url)
    person.open_home()
    bare, typed = [], []
    typed_cpu = bare_cpu = 0.0
    context = ""
    for word, full, _ in words:
        for end in range(1, len(full) + 1):
            query = urllib.parse.urlencode({"letters": full[:end], "context": context[-40:], "limit": PAGE})
            cpu, started = cpu_seconds(pid), time.perf_counter()
            page = person.get(f"/ime/candidates?{query}")
            typed.append(time.perf_counter() - started)
            typed_cpu += cpu_seconds(pid) - cpu
            if page.status != 200:
                raise SystemExit(f"candidates for {full[:end]}: {page.status} {page.text[:300]}")
            cpu, started = cpu_seconds(pid), time.perf_counter()
            person.get("/healthz")
            bare.append(time.perf_counter() - started)
            bare_cpu += cpu_seconds(pid) - cpu
        context += word
    return typed, bare, typed_cpu, bare_cpu


def engine_cpu(engine, words) -> list[float]:
    """The engine's own CPU seconds for each keystroke, in this process (no HTTP, no other load)."""
    samples, context = [], ""
    for word, full, _ in words:
        for end in range(1, len(full) + 1):
            started = time.process_time()
            engine.candidates(full[:end], context[-40:], PAGE, key="bench")
            samples.append(time.process_time() - started)
        context += word
    return samples


def taps_for(engine, letters: str, wanted: str, pages: int = 5) -> int | None:
    """Letters plus the taps to reach and pick ``wanted`` (paging on), or None if not within ``pages``."""
    page = engine.candidates(letters, limit=PAGE * pages).candidates
    if wanted not in page:
        return None
    return len(letters) + page.index(wanted) // PAGE + 1


def taps_per_character(engine, words) -> tuple[float, float, int]:
    chars = words_taps = syllable_taps = 0
    missing = 0
    for word, full, initials in words:
        chars += len(word)
        options = [t for t in (taps_for(engine, full, word), taps_for(engine, initials, word, pages=3)) if t]
        if not options:
            missing += 1
        words_taps += min(options) if options else len(full) + 1 + 5
        for char in word:
            syllable = (reading(char) or "").replace(" ", "")
            found = taps_for(engine, syllable, char, pages=20) if syllable else None
            syllable_taps += found if found else len(syllable) + 21
    return words_taps / chars, syllable_taps / chars, missing


def main() -> None:
    words = quality_words()
    engine = rime.Engine(rime_folder())
    rates = quality_rates(engine, words, in_dictionary())
    print(f"the intended word on the first page (8), over the {len(words)} words of the quality list:")
    for kind, goal in (("full", 0.97), ("initials", 0.70)):
        r = rates[kind]
        report(f"typed as {kind}", f"{r['all']:.1%}", f"≥ {goal:.0%}", r["all"] >= goal)
        report(f"  in the domain dictionary ({r['inside_words']})", f"{r['inside']:.1%}")
        report(f"  outside it ({r['words'] - r['inside_words']})", f"{r['outside']:.1%}")
    by_words, by_syllables, missing = taps_per_character(engine, words)
    print(f"taps per character over the {len(words)} words of the quality list:")
    report("whole words (full or initials)", f"{by_words:.2f}", f"≤ {TARGET_TAPS}", by_words <= TARGET_TAPS)
    report("single syllables, picked", f"{by_syllables:.2f}")
    if missing:
        report("words not found in 5 pages", str(missing))
    engine_cpu(engine, words)  # warm
    cpu = engine_cpu(engine, words)
    print(f"the engine alone, CPU a keystroke ({len(cpu)} keystrokes, context included):")
    report("median", ms(median(cpu)))
    report("p95", ms(p95(cpu)))
    with tempfile.TemporaryDirectory() as folder:
        box = station_box(Path(folder) / "station", **UNLIMITED).start()
        try:
            keystrokes(box.url, words, box.process.pid)  # warm: the second pass is the kiosk's day
            typed, bare, typed_cpu, bare_cpu = keystrokes(box.url, words, box.process.pid)
            print(f"keystroke to candidates over HTTP ({len(typed)} keystrokes):")
            report("/ime/candidates median", ms(median(typed)))
            report("/ime/candidates p95", ms(p95(typed)), ms(TARGET_P95), p95(typed) <= TARGET_P95)
            report("bare route (/healthz) median", ms(median(bare)))
            ratio("candidates ÷ bare route (median)", median(typed), median(bare))
            report("server CPU a keystroke (mean)", ms(typed_cpu / len(typed)))
            report("server CPU a bare request (mean)", ms(bare_cpu / len(bare)))
            print(f"  (load average while measured: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
            person = Villager(box.url)
            person.fill_in(unique_content("ime-bench"))
            page = person.submit()
            if page.status != 200 or not page.receipt_number:
                raise SystemExit(f"submit failed: {page.status} {page.text[:300]}")
            pdf = person.get(f"/receipts/{page.receipt_number}.pdf?k={page.receipt_secret}")
            if pdf.status != 200:
                raise SystemExit(f"receipt PDF: {pdf.status}")
            pss = pss_mb(box.process.pid)
            print("station process with the pinyin engine loaded, after typing and a receipt PDF:")
            report("PSS", f"{pss:.1f} MB", f"≤ {TARGET_PSS_MB} MB", pss <= TARGET_PSS_MB)
        finally:
            box.stop()


if __name__ == "__main__":
    main()
