"""Crash safety: a box that dies anywhere on the submit path loses nothing and repeats nothing.

Real waitress processes on real SQLite files: a server with
``KIOSK_CRASH_POINT`` set dies (``os._exit``) during a submission, a server
without it is started on the same instance folder, and the villager taps
"submit" again with the cookies their browser had. About fifty crashes in
all, several boxes side by side to keep the suite quick. The servers are
forked from a zygote that did the imports once (see ``tests/support/crashes.py``).
"""

import random
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.apps import copy_database
from tests.support.crashes import (
    CRASH_POINTS,
    Ledger,
    Zygote,
    check_box,
    claim_port,
    crash_once,
    kill_during_stream,
)

pytestmark = pytest.mark.slow

BOXES = 6  # crashed side by side, each on its own instance folder
CRASHES_PER_BOX = 2  # per crash point: 6 boxes x 2 crashes x 4 points = 48
KILLS_PER_BOX = 1  # and one kill -9 per box during a stream of submissions


@pytest.fixture(scope="module")
def zygote():
    with Zygote() as zygote:
        yield zygote


def on_boxes(seed, tmp_path, run) -> list[tuple[Ledger, list[str]]]:
    """``run(instance, port, ledger, i)`` on BOXES fresh boxes at once; each box's ledger and problems."""

    def one(i):
        instance = copy_database(seed, tmp_path / f"box{i}")
        ledger = Ledger()
        run(instance, claim_port(), ledger, i)
        return ledger, check_box(instance / "kiosk.sqlite3", ledger)

    with ThreadPoolExecutor(BOXES) as pool:
        return list(pool.map(one, range(BOXES)))


@pytest.mark.parametrize("point", CRASH_POINTS)
def test_a_crash_anywhere_in_submit_loses_nothing_and_repeats_nothing(point, demo_database, tmp_path, zygote):
    def crashes(instance, port, ledger, box):
        for n in range(CRASHES_PER_BOX):
            # One villager, or several tapping submit at the same moment.
            villagers = 1 + (box + n) % 3
            crash_once(instance, point, ledger, villagers=villagers, label=f"{point}-{box}-{n}",
                       zygote=zygote, port=port)

    for box, (ledger, problems) in enumerate(on_boxes(demo_database, tmp_path, crashes)):
        assert problems == []
        # Every villager got a receipt in the end, after the restart.
        assert ledger.answered.keys() == ledger.attempted
        assert len(ledger.attempted) == sum(1 + (box + n) % 3 for n in range(CRASHES_PER_BOX))


def test_kill_9_at_a_random_moment_during_a_stream_of_submissions(demo_database, tmp_path, zygote):
    seed = random.randrange(1 << 30)
    cut_off = []

    def kills(instance, port, ledger, box):
        rng = random.Random(seed + box)
        for _ in range(KILLS_PER_BOX):
            cut_off.append(kill_during_stream(instance, ledger, villagers=3, rng=rng, zygote=zygote, port=port))

    for ledger, problems in on_boxes(demo_database, tmp_path, kills):
        assert problems == [], f"random seed {seed}"
        assert ledger.answered.keys() == ledger.attempted, f"random seed {seed}"
    # The kills landed while villagers were talking to the server.
    assert sum(cut_off) > 0, f"random seed {seed}"
