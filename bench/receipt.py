"""Receipt PDF: warm median at most 120 ms, at most 1.1× bare WeasyPrint, cold first at most 1.5 s.

Warm: the product's whole path, ``receipt_pdf(opinion)`` (template, QR code,
one layout on a tall page, the page cut at the content, PDF with the cut
Chinese fonts in regular and bold), against the floor: bare WeasyPrint
writing the very same HTML with the same fonts and stylesheets at a fixed
page size. Interleaved in random order, so the machine's mood touches both alike.

Cold: a fresh Python process creates the station app and renders its first
receipt; it reports how long that first receipt took, how long since the
process started, and its memory (RSS). Then the same for a station with a
printer, whose renderer warms up in the background on its first request. Prints figures; exits non-zero only
when the product errors.
"""

import gc
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STARTED = time.perf_counter()
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import median, ms, ratio, report, timed, timed_cpu  # noqa: E402

ROUNDS = 80
COLD_RUNS = 3
WARM_UP = 5
URL = "https://lc.rd.example.cn/r/{number}?k={secret}"


def station_app(instance: Path):
    from kiosk import create_app

    for key in [k for k in os.environ if k.startswith("KIOSK_")]:
        del os.environ[key]
    return create_app({"INSTANCE_PATH": str(instance), "PRINTER": None})


def set_up(instance: Path) -> None:
    """A station with demo data and one opinion with contact details."""
    from kiosk.demo.services import load_demo
    from tests.support.factories import make_opinion

    app = station_app(instance)
    with app.app_context():
        load_demo()
        make_opinion(
            content="村口的路灯坏了三个月，晚上很黑，老人小孩出门都不安全，请尽快修好。" * 3,
            anonymous=False, consent_version="2026-11", name="陈秀英", phone="13812345678",
        )  # fmt: skip


def the_opinion():
    from kiosk.extensions import db
    from kiosk.models import Opinion

    return db.session.query(Opinion).one()


def warm(instance: Path) -> None:
    from kiosk.receipts import pdf, services

    app = station_app(instance)
    with app.app_context():
        opinion = the_opinion()
        url = URL.format(number=opinion.receipt_number, secret=opinion.secret)
        fixed_html = pdf.receipt_html(services.receipt_context(opinion, url), page_height_mm=200)
        engine = pdf.engine()

        def product():
            return services.receipt_pdf(opinion, url)

        def floor():
            return engine.HTML(string=fixed_html).write_pdf(font_config=engine.font_config, stylesheets=engine.stylesheets)

        for _ in range(WARM_UP):
            product(), floor()
        samples = {product: [], floor: []}
        for _ in range(ROUNDS):
            # Random order and a collection before each: neither side gets
            # the other's garbage or always runs second.
            for call in random.sample([product, floor], 2):
                gc.collect()
                samples[call].append(timed_cpu(call)[:2])
        ours, bare = [w for w, _ in samples[product]], [w for w, _ in samples[floor]]
        ours_cpu, bare_cpu = [c for _, c in samples[product]], [c for _, c in samples[floor]]
        receipt = product()
    print(f"Receipt PDF, warm ({ROUNDS} rounds each, interleaved; {receipt.height_mm:.1f} mm long, {len(receipt.data) // 1024} KB)")
    report("receipt_pdf median", ms(median(ours)), "≤ 120 ms", median(ours) <= 0.120)
    report("bare WeasyPrint, fixed page, median", ms(median(bare)))
    ratio("ratio to the floor", median(ours), median(bare), 1.1)
    report("receipt_pdf CPU time, median", ms(median(ours_cpu)), "≤ 120 ms", median(ours_cpu) <= 0.120)
    report("bare WeasyPrint CPU time, median", ms(median(bare_cpu)))
    ratio("CPU time ratio to the floor", median(ours_cpu), median(bare_cpu), 1.1)


def cold_child(instance: Path, warmed: bool) -> None:
    """Runs in the fresh process: the first receipt of a new station process.

    ``warmed``: as a station with a printer, which warms the renderer up in
    the background on its first request; the receipt is timed after that.
    """
    from kiosk.receipts import services

    app = station_app(instance)
    if warmed:
        app.config["PRINTER"] = "receipt"
        app.test_client().get("/healthz")
        deadline = time.monotonic() + 60
        while not services._warmed_up:
            if time.monotonic() > deadline:
                raise SystemExit("the renderer did not warm up within 60 s")
            time.sleep(0.01)
    with app.app_context():
        opinion = the_opinion()
        app_ready = time.perf_counter() - STARTED
        first, first_cpu, receipt = timed_cpu(services.receipt_pdf, opinion, URL.format(number="x", secret="y"))
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"first": first, "first_cpu": first_cpu, "app_ready": app_ready, "total": time.perf_counter() - STARTED, "rss_mb": rss_mb}))


def fresh_process(instance: Path, mode: str) -> dict:
    wall, result = timed(
        subprocess.run, [sys.executable, __file__, f"--{mode}", str(instance)], capture_output=True, text=True
    )
    if result.returncode != 0:
        print(result.stderr, file=sys.stderr)
        raise SystemExit(f"the {mode} receipt failed")
    return {**json.loads(result.stdout.strip().splitlines()[-1]), "wall": wall}


def cold(instance: Path) -> None:
    """Each figure is the median of a few fresh processes: one start is one sample."""
    runs = {mode: [fresh_process(instance, mode) for _ in range(COLD_RUNS)] for mode in ("cold", "warmed")}
    cold = {key: median([run[key] for run in runs["cold"]]) for key in runs["cold"][0]}
    warmed = {key: median([run[key] for run in runs["warmed"]]) for key in runs["warmed"][0]}
    firsts = ", ".join(ms(run["first"]) for run in runs["cold"])
    print(f"Receipt PDF, cold (fresh station processes, nothing loaded before the first receipt; {firsts})")
    report("first receipt, median", ms(cold["first"]), "≤ 1.5 s", cold["first"] <= 1.5)
    report("first receipt, CPU time", ms(cold["first_cpu"]))
    report("process start to app ready", ms(cold["app_ready"]))
    report("process start to first PDF", ms(cold["total"]))
    report("process wall time (spawn to exit)", ms(cold["wall"]))
    report("process peak RSS", f"{cold['rss_mb']:.0f} MB", "≤ 150 MB", cold["rss_mb"] <= 150)
    print("Receipt PDF, first after a station with a printer warmed up in the background")
    report("first receipt, median", ms(warmed["first"]))
    report("process peak RSS", f"{warmed['rss_mb']:.0f} MB", "≤ 150 MB", warmed["rss_mb"] <= 150)


def main() -> None:
    if sys.argv[1:2] in (["--cold"], ["--warmed"]):
        cold_child(Path(sys.argv[2]), warmed=sys.argv[1] == "--warmed")
        return
    with tempfile.TemporaryDirectory(prefix="bench-receipt-") as folder:
        instance = Path(folder)
        set_up(instance)
        cold(instance)
        warm(instance)


if __name__ == "__main__":
    main()
