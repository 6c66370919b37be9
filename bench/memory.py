"""Station process memory after a realistic session (target: RSS at most 150 MB).

A real station server (waitress serving ``wsgi:app``, as on the box) takes a
villager's session over HTTP: the home screen, a few opinions submitted,
their status pages, a receipt look-up and the receipt PDF (WeasyPrint and
its fonts are the big part). Then the process's resident set is read from
``/proc``. Twice: on a box without a printer, and on a box with one (a
private CUPS with a cups-pdf queue), where every receipt is rendered and
printed by the background printer threads, waited for until printed.
Prints figures; exits non-zero only when the product errors.
"""

import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import report  # noqa: E402
from tests.support.crashes import UNLIMITED, Villager, unique_content  # noqa: E402
from tests.support.cups import LocalCups, usable  # noqa: E402
from tests.support.servers import station_box  # noqa: E402

SUBMISSIONS = int(os.environ.get("BENCH_MEMORY_SUBMISSIONS", 5))
TARGET_MB = 150


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
    finally:
        cups.stop()
        shutil.rmtree(cups_root, ignore_errors=True)


if __name__ == "__main__":
    main()
