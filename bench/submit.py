"""Submit, saved without printing: p95 at most 15 ms, and at most 8x a bare Flask route.

The fair comparison, and why: both are timed over HTTP against one real
station server (waitress serving ``wsgi:app`` with its ``KIOSK_*``
settings, as on the box), from one client, interleaved so that the
machine's mood touches both alike. The bare route is the app's own
``/healthz``: Flask and waitress, no database, no template. So the ratio is
what the product adds to a request the kiosk's browser makes anyway: the
rate check, the transaction (SQLite fsyncs on commit, ``synchronous=FULL``),
the print job record, and the receipt screen (its QR code is an image the
screen fetches afterwards, not timed here). In-process
through Flask's test client the bare route costs a fraction of one fsync,
which would make 8x a measure of the disk, not of the code.

Also printed: the save alone (``intake.services.submit_draft`` in-process,
as the route calls it: rate check, opinion, first status event and print
job in one transaction), to show how much of a submit is the database.

The walk to the review screen is not timed; only the tap on "submit" is.
No printer is configured (``KIOSK_PRINTER`` unset). Prints figures; exits
non-zero only when the product errors.
"""

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import median, ms, p95, ratio, report, timed  # noqa: E402
from kiosk import create_app  # noqa: E402
from kiosk.extensions import db  # noqa: E402
from kiosk.intake import services  # noqa: E402
from kiosk.receipts import printing  # noqa: E402
from tests.support.crashes import UNLIMITED, Villager, unique_content  # noqa: E402
from tests.support.servers import station_box  # noqa: E402

WARM_UP = 20
SUBMISSIONS = 300
BARE_PER_SUBMISSION = 3
SAVES = 300


def over_http(url: str) -> tuple[list[float], list[float]]:
    """Seconds of each submit and of each bare request, after a warm-up."""
    person = Villager(url)
    person.open_home()
    submit_ms, bare_ms = [], []
    for i in range(WARM_UP + SUBMISSIONS):
        person.fill_in(unique_content(f"bench-{i}"))
        elapsed, page = timed(person.submit)
        if page.status != 200 or not page.receipt_number:
            sys.exit(f"submit failed: {page.status}: {page.text[:500]}")
        bare = [timed(lambda: person.get("/healthz")) for _ in range(BARE_PER_SUBMISSION)]
        if any(page.status != 200 for _, page in bare):
            sys.exit("the bare route failed")
        if i >= WARM_UP:
            submit_ms.append(elapsed)
            bare_ms += [ms for ms, _ in bare]
    return submit_ms, bare_ms


def save_alone(instance: Path) -> list[float]:
    """Seconds of ``submit_draft`` by itself, on the same box's database."""
    app = create_app({"INSTANCE_PATH": str(instance), "PRINTER": None})
    limit = UNLIMITED["SUBMIT_PER_MINUTE"]
    saves = []
    with app.app_context():
        station = services.this_station().code
        for i in range(WARM_UP + SAVES):
            draft = services.start_draft(station)
            services.save_answers(draft, category="road", content=unique_content(f"save-{i}"), anonymous=True)
            elapsed, submitted = timed(
                lambda: services.submit_draft(draft.id, per_minute=limit, with_print_job=True)
            )
            # Not printed: only the save is timed here.
            printing.forget_job(submitted.print_job)
            if i >= WARM_UP:
                saves.append(elapsed)
        db.engine.dispose()
    return saves


def main() -> None:
    for key in [k for k in os.environ if k.startswith("KIOSK_")]:
        del os.environ[key]  # this box's settings are the defaults, nothing inherited
    with tempfile.TemporaryDirectory() as folder:
        instance = Path(folder) / "instance"
        box = station_box(instance, **UNLIMITED).start()
        try:
            submit_ms, bare_ms = over_http(box.url)
        finally:
            box.stop()
        saves = save_alone(instance)

    print(f"submit over HTTP, saved without printing ({len(submit_ms)} taps; bare route {len(bare_ms)} times):")
    report("submit median", ms(median(submit_ms)))
    report("submit p95", ms(p95(submit_ms)), "≤ 15 ms", p95(submit_ms) <= 0.015)
    report("bare Flask route (/healthz) median", ms(median(bare_ms)))
    report("bare Flask route (/healthz) p95", ms(p95(bare_ms)))
    ratio("submit / bare, medians", median(submit_ms), median(bare_ms), 8)
    ratio("submit / bare, p95", p95(submit_ms), p95(bare_ms), 8)
    report("of which the save alone, median", ms(median(saves)))
    report("of which the save alone, p95", ms(p95(saves)))


if __name__ == "__main__":
    main()
