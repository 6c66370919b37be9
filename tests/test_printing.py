"""Printing receipts on a real (private) CUPS with a cups-pdf printer."""

import re
import time

import cups
import pytest

from kiosk.extensions import db
from kiosk.models import Opinion, PrintJob
from kiosk.receipts import printing, services
from tests.support import receipts as check
from tests.support.apps import copy_database
from tests.support.crashes import Villager
from tests.support.cups import disabled_queue, printed_files, wait_for_new_file
from tests.support.factories import make_opinion
from tests.support.printing import reprint_form, status_fragment, wait_for_state
from tests.support.servers import ServerProcess, free_port

pytestmark = pytest.mark.cups

# Long, so that a test passing proves the failure was noticed, not timed out.
PATIENT = 300


def use_printer(app, server, printer="receipt", deadline=PATIENT):
    app.config.update(PRINTER=printer, CUPS_SERVER=server.server, PRINT_DEADLINE_SECONDS=deadline)


def print_receipt(app, **answers):
    with app.app_context():
        opinion = make_opinion(**answers)
        return printing.start_printing(opinion).id, opinion.uuid


def opinion_exists(app, uuid):
    with app.app_context():
        return db.session.get(Opinion, uuid) is not None


def job_already_in_cups(app, server, job_id) -> int:
    """A print job row whose file CUPS already has, as a process that died leaves it."""
    with app.app_context():
        opinion = make_opinion()
        job = PrintJob(id=job_id, opinion_uuid=opinion.uuid, state="queued")
        job.cups_job_id = server.connect().printFile(server.printer, "/etc/hostname", "left over", {})
        db.session.add(job)
        db.session.commit()
        return job.cups_job_id


def test_a_receipt_really_prints_on_80_mm_paper(app, cups_server, tmp_path):
    use_printer(app, cups_server)
    before = printed_files(cups_server)
    job_id, uuid = print_receipt(app)
    job = wait_for_state(app, job_id, timeout=120)
    assert job.state == "printed", job.detail
    assert job.cups_job_id
    printed = wait_for_new_file(cups_server, before)
    width, height = check.page_size_mm(printed)
    assert width == pytest.approx(80, abs=0.5)
    assert 100 < height < 250

    # What came out of CUPS's filters looks like what was rendered: the
    # Chinese font survived pdftops and Ghostscript.
    with app.app_context():
        opinion = db.session.get(Opinion, uuid)
        rendered = check.write(services.receipt_pdf(opinion).data, tmp_path / "rendered.pdf")
    on_paper = check.rasterise(printed, check.RESULTS / "printed-receipt.png", dpi=100)
    on_screen = check.rasterise(rendered, tmp_path / "rendered.png", dpi=100)
    assert check.difference(on_screen, on_paper) < 0.5  # about 0.2; blank boxes give over 1


def test_a_tap_on_submit_prints_the_receipt_behind_a_real_server(tmp_path, demo_database, cups_server):
    """The whole path as on a box: waitress, the submit route, the printer's thread, CUPS.

    The job starts once the receipt screen has been sent; the screen's
    status fragment then follows it to "printed".
    """
    instance = copy_database(demo_database, tmp_path / "instance")
    box = ServerProcess(instance, {"PRINTER": cups_server.printer, "CUPS_SERVER": cups_server.server}).start()
    try:
        before = printed_files(cups_server)
        villager = Villager(box.url)
        villager.fill_in("村口的路灯坏了三个月，晚上很黑。")
        screen = villager.submit()
        assert screen.receipt_number
        poll = re.search(r'hx-get="(/print-jobs/[^"]+)"', screen.text).group(1)
        deadline = time.monotonic() + 120
        while 'data-state="printed"' not in (status := villager.get(poll).text):
            assert "data-state=\"failed\"" not in status, status
            assert time.monotonic() < deadline, status
            time.sleep(0.2)
        assert "回执已打印" in status
        printed = wait_for_new_file(cups_server, before)
        assert check.page_size_mm(printed)[0] == pytest.approx(80, abs=0.5)
    finally:
        box.stop()


def test_a_disabled_queue_fails_promptly_and_keeps_the_opinion(app, client, cups_server):
    use_printer(app, cups_server)
    with disabled_queue(cups_server):
        job_id, uuid = print_receipt(app)
        job = wait_for_state(app, job_id, timeout=60)
    assert job.state == "failed" and job.detail == printing.UNAVAILABLE
    assert opinion_exists(app, uuid)
    html = status_fragment(client, job_id)
    assert "请用手机拍下屏幕上的二维码" in html and 'data-testid="reprint"' in html


def test_a_queue_disabled_while_the_job_waits_fails_promptly(app, cups_server):
    """A job CUPS holds in a stopped queue is not printed, and is cancelled."""
    use_printer(app, cups_server)
    job_id = "00000000-0000-4000-8000-0000000000c1"
    with disabled_queue(cups_server):
        cups_job_id = job_already_in_cups(app, cups_server, job_id)
        printing.printer_for(app).submit(job_id, None)
        job = wait_for_state(app, job_id, timeout=60)
    assert job.state == "failed" and job.detail == printing.UNAVAILABLE
    assert cups_server.connect().getJobAttributes(cups_job_id)["job-state"] == cups.IPP_JOB_CANCELED


def test_cups_not_running_fails_and_keeps_the_opinion(app, own_cups_server):
    use_printer(app, own_cups_server)
    own_cups_server.stop()
    job_id, uuid = print_receipt(app)
    job = wait_for_state(app, job_id, timeout=60)
    assert job.state == "failed" and job.detail == printing.UNAVAILABLE
    assert opinion_exists(app, uuid)


def test_a_printer_that_never_prints_fails_at_the_deadline(app, cups_server):
    # A socket printer nobody listens on: CUPS keeps the job processing forever.
    cups_server.add_printer("offline", f"socket://127.0.0.1:{free_port()}")
    use_printer(app, cups_server, printer="offline", deadline=5)
    job_id, uuid = print_receipt(app)
    job = wait_for_state(app, job_id, timeout=120)
    assert job.state == "failed" and job.detail == printing.TOO_SLOW
    assert opinion_exists(app, uuid)
    assert cups_server.connect().getJobAttributes(job.cups_job_id)["job-state"] == cups.IPP_JOB_CANCELED


def test_a_job_left_by_a_dead_process_is_followed_to_the_end(app, client, cups_server):
    use_printer(app, cups_server)
    job_id = "00000000-0000-4000-8000-0000000000d1"
    job_already_in_cups(app, cups_server, job_id)
    client.get("/healthz")  # the first request of the new process recovers
    job = wait_for_state(app, job_id, timeout=120)
    assert job.state == "printed"


def test_after_a_failure_the_one_reprint_prints(app, client, cups_server):
    use_printer(app, cups_server)
    with disabled_queue(cups_server):
        job_id, uuid = print_receipt(app)
        wait_for_state(app, job_id, timeout=60)

    action, data = reprint_form(status_fragment(client, job_id))
    response = client.post(action, data=data, headers={"HX-Request": "true"})
    assert response.status_code == 200
    with app.app_context():
        reprint = db.session.query(PrintJob).filter_by(opinion_uuid=uuid, kind="reprint").one()
    assert wait_for_state(app, reprint.id, timeout=120).state == "printed"
    html = status_fragment(client, reprint.id)
    assert "已打印" in html and 'data-testid="reprint"' not in html
