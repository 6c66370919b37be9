"""Station process memory after a realistic session (target: RSS at most 150 MB).

A real station server (waitress serving ``wsgi:app``, as on the box) takes a
villager's session over HTTP: the home screen, a few opinions submitted,
their status pages, a receipt look-up and the receipt PDF (WeasyPrint and
its fonts are the big part). Then the process's resident set is read from
``/proc``. Prints figures; exits non-zero only when the product errors.
"""

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import report  # noqa: E402
from tests.crashes import UNLIMITED, Villager, unique_content  # noqa: E402
from tests.servers import station_box  # noqa: E402

SUBMISSIONS = 5
TARGET_MB = 150


def memory_mb(pid: int) -> dict[str, float]:
    """VmRSS (now) and VmHWM (peak) of a process, in MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return fields


def session(url: str) -> None:
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
    for number, secret in receipts:
        expect(person.get(f"/r/{number}?k={secret}"), f"status page {number}")
    expect(person.post("/lookup", {"number": receipts[0][0], "secret": receipts[0][1]}), "look-up")
    number, secret = receipts[-1]
    pdf = person.get(f"/receipts/{number}.pdf?k={secret}")
    if pdf.status == 404:
        print("  (no receipt PDF route yet: memory without WeasyPrint)")
    else:
        expect(pdf, "receipt PDF")


def expect(page, what: str) -> None:
    if page.status != 200:
        raise SystemExit(f"{what}: status {page.status}: {page.text[:300]}")


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        box = station_box(Path(folder) / "instance", **UNLIMITED).start()
        try:
            started = memory_mb(box.process.pid)
            session(box.url)
            after = memory_mb(box.process.pid)
        finally:
            box.stop()
    print(f"station process memory, after {SUBMISSIONS} submissions, status pages, a look-up and a receipt PDF:")
    report("RSS after start", f"{started['VmRSS']:.1f} MB")
    report("RSS after the session", f"{after['VmRSS']:.1f} MB", f"≤ {TARGET_MB} MB", after["VmRSS"] <= TARGET_MB)
    report("peak RSS (VmHWM)", f"{after['VmHWM']:.1f} MB")


if __name__ == "__main__":
    main()
