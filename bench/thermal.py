"""Thermal printer: a tap on 提交 to the receipt's last byte at the printer, p95 at most 1.5 s.

The whole path as on a station box, over HTTP: waitress serving the app,
the submit route, the printer's background thread (receipt PDF,
rasterised by pdftoppm, ESC/POS by python-escpos, the printer's status
asked), a private CUPS with a raw queue, its socket backend, and the
tests' own network ESC/POS printer (tests/support/thermal.py), which
notes when the last byte of each job arrives.

Against the floor of the same run: the cups-pdf path the demo prints on
(the same PDF through CUPS's PDF filters and Ghostscript to a file), timed
from the same tap to the last write of the PDF file. Two station servers,
one each, taps interleaved in random order so that the machine's mood
touches both alike. Needs root (cups-pdf's backend runs only as root);
says why and stops where a private CUPS cannot run. Prints figures; exits
non-zero only when the product errors.
"""

import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import median, ms, p95, ratio, report  # noqa: E402
from tests.support import cups  # noqa: E402
from tests.support.apps import seed_database  # noqa: E402
from tests.support.crashes import UNLIMITED, Villager, unique_content  # noqa: E402
from tests.support.servers import station_box  # noqa: E402
from tests.support.thermal import ThermalPrinter  # noqa: E402

WARM_UP = 3
ROUNDS = 30
TIMEOUT = 60
THERMAL_QUEUE = "thermal"


def tap_submit(person: Villager, label: str) -> tuple[float, float]:
    """Walk to the review screen, then tap 提交: the moment of the tap (perf counter, wall clock)."""
    person.fill_in(unique_content(label))
    tapped = time.perf_counter(), time.time()
    page = person.submit()
    if page.status != 200 or not page.receipt_number:
        sys.exit(f"submit failed: {page.status}: {page.text[:500]}")
    return tapped


def thermal_round(person: Villager, printer: ThermalPrinter, label: str) -> float:
    count = len(printer.printouts) + 1
    tapped, _ = tap_submit(person, label)
    printout = printer.wait_for_printout(count, timeout=TIMEOUT)
    if not (printout.cut and printout.blocks) or printer.unknown:
        sys.exit(f"the thermal printer got no whole receipt (unknown bytes: {printer.unknown[:5]})")
    return printout.last_byte_at - tapped


def pdf_round(person: Villager, server: cups.LocalCups, label: str) -> float:
    before = cups.printed_files(server)
    _, tapped_wall = tap_submit(person, label)
    printed = cups.wait_for_new_file(server, before, timeout=TIMEOUT)
    # The file's last write, on the wall clock the tap was noted on.
    return printed.stat().st_mtime - tapped_wall


def main() -> None:
    reason = cups.usable()
    if reason:
        print(f"  skipped: no private CUPS here: {reason}")
        return
    folder = Path(tempfile.mkdtemp(prefix="bench-thermal-"))
    # A folder of its own, open to the lp user its backends run as.
    server = cups.LocalCups(Path(tempfile.mkdtemp(prefix="kiosk-cups-"))).start()
    printer = ThermalPrinter().start()
    boxes = []
    try:
        server.add_printer(THERMAL_QUEUE, printer.uri, "回执打印机 (ESC/POS)", raw=True)
        seed = seed_database(folder / "seed")
        common_settings = {"CUPS_SERVER": server.server, "PRINT_DEADLINE_SECONDS": TIMEOUT, **UNLIMITED}
        thermal_box = station_box(
            folder / "thermal", seed=seed, PRINTER=THERMAL_QUEUE, PRINTER_KIND="escpos", **common_settings
        ).start()
        boxes.append(thermal_box)
        pdf_box = station_box(folder / "pdf", seed=seed, PRINTER=server.printer, **common_settings).start()
        boxes.append(pdf_box)
        thermal_person, pdf_person = Villager(thermal_box.url), Villager(pdf_box.url)
        rounds = {"thermal": [], "pdf": []}
        run = {
            "thermal": lambda i: thermal_round(thermal_person, printer, f"thermal-{i}"),
            "pdf": lambda i: pdf_round(pdf_person, server, f"pdf-{i}"),
        }
        for i in range(WARM_UP + ROUNDS):
            for path in random.sample(sorted(run), 2):
                seconds = run[path](i)
                if i >= WARM_UP:
                    rounds[path].append(seconds)
    finally:
        for box in boxes:
            box.stop()
        printer.stop()
        cups.remove(server)
        shutil.rmtree(folder, ignore_errors=True)

    thermal, pdf = rounds["thermal"], rounds["pdf"]
    print(f"Tap on 提交 to the receipt's last byte ({ROUNDS} taps each, interleaved; {WARM_UP} warm-up taps)")
    report("ESC/POS, raw queue, p95", ms(p95(thermal)), "≤ 1.5 s", p95(thermal) <= 1.5)
    report("ESC/POS, raw queue, median", ms(median(thermal)))
    report("cups-pdf (the floor), p95", ms(p95(pdf)))
    report("cups-pdf (the floor), median", ms(median(pdf)))
    ratio("ESC/POS p95 to cups-pdf p95", p95(thermal), p95(pdf))


if __name__ == "__main__":
    main()
