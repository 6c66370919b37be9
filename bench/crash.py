"""A thousand crashes on the submit path; the box must lose and repeat nothing.

The suite crashes the station about fifty times (tests/test_crash_safety.py);
this does it a thousand times with the same harness: a real server dies at
each crash point in turn (``KIOSK_CRASH_POINT``), and one crash in ten is a
``kill -9`` at a random moment of a stream of submissions. After each crash
the box is restarted on the same instance folder, villagers tap "submit"
again, and the database is checked. Servers are forked from a zygote that
did the imports once (tests/support/crashes.py). Prints the count and every failure;
exits non-zero when there is one. ``BENCH_CRASHES`` changes the count.
"""

import os
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.apps import copy_database, seed_database  # noqa: E402
from tests.support.crashes import (  # noqa: E402
    CRASH_POINTS,
    Ledger,
    Zygote,
    check_box,
    claim_port,
    crash_once,
    kill_during_stream,
    last_traceback,
)

CRASHES = int(os.environ.get("BENCH_CRASHES", 1000))
# Boxes crashed side by side: a crash cycle waits on sockets and disks as much as on CPU.
BOXES = 4 * (os.cpu_count() or 1)
# A box's database grows with every crash; a fresh box every so often keeps checks quick.
CRASHES_PER_BOX = 25


_progress = {"done": 0, "lock": threading.Lock(), "started": time.monotonic()}


def progress() -> None:
    """A line every hundred crashes: the whole run takes minutes."""
    with _progress["lock"]:
        _progress["done"] += 1
        if _progress["done"] % 100 == 0:
            elapsed = time.monotonic() - _progress["started"]
            print(f"  … {_progress['done']} crashes, {elapsed:.0f} s", file=sys.stderr, flush=True)


def plan(n: int) -> list[str]:
    """What each crash is: a crash point in turn, and every tenth a kill -9."""
    return ["kill -9" if i % 10 == 9 else CRASH_POINTS[i % len(CRASH_POINTS)] for i in range(n)]


def run_box(zygote: Zygote, seed: Path, folder: Path, number: int, crashes: list[str]) -> tuple[Counter, list[str]]:
    instance = copy_database(seed, folder / f"box{number}")
    port = claim_port()
    ledger, done, failures = Ledger(), Counter(), []
    rng = random.Random(number)
    for i, kind in enumerate(crashes):
        try:
            if kind == "kill -9":
                kill_during_stream(instance, ledger, villagers=3, rng=rng, zygote=zygote, port=port)
            else:
                crash_once(instance, kind, ledger, villagers=1 + i % 3, label=f"bench-{number}-{i}",
                            zygote=zygote, port=port)
        except Exception as error:  # noqa: BLE001  (reported, and the run goes on)
            failures.append(f"box {number} crash {i} ({kind}): {str(error)[:600]}\n{last_traceback(instance)}")
            continue
        done[kind] += 1
        progress()
        if problems := check_box(instance / "kiosk.sqlite3", ledger):
            failures += [f"box {number} crash {i} ({kind}): {p}" for p in problems]
            break  # this box is already wrong; later checks would repeat it
    if missing := ledger.attempted - ledger.answered.keys():
        failures.append(f"box {number}: {len(missing)} submissions never got a receipt")
    return done, failures


def main() -> None:
    started = time.monotonic()
    crashes = plan(CRASHES)
    batches = [crashes[i : i + CRASHES_PER_BOX] for i in range(0, len(crashes), CRASHES_PER_BOX)]
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        seed = seed_database(folder / "seed")
        with Zygote() as zygote, ThreadPoolExecutor(BOXES) as pool:
            results = list(pool.map(lambda nb: run_box(zygote, seed, folder, *nb), enumerate(batches)))
    done = sum((r[0] for r in results), Counter())
    failures = [f for r in results for f in r[1]]
    print(f"crashes survived: {sum(done.values())} of {CRASHES} in {time.monotonic() - started:.0f} s")
    for kind in (*CRASH_POINTS, "kill -9"):
        print(f"  {kind}: {done[kind]}")
    print(f"failures: {len(failures)}")
    for failure in failures:
        print(f"  {failure}")
    if failures:
        sys.exit(1)


if __name__ == "__main__":
    main()
