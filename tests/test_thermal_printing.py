"""Printing receipts on a thermal printer: ESC/POS raster through a CUPS raw queue.

The printer is the tests' own network ESC/POS device (tests/support/thermal.py)
on a free port of 127.0.0.1, where a real one listens on 9100: it turns the
``GS v 0`` blocks back into an image and answers ``DLE EOT`` status queries.
"""

import socket

import cups
import pytest

from kiosk.extensions import db
from kiosk.models import PrintJob
from kiosk.receipts import printing, raster, services
from kiosk.setup.services import printer_label
from kiosk.sync.registry import SyncStation
from tests.support import receipts as check
from tests.support.apps import copy_database, make_app
from tests.support.crashes import Villager
from tests.support.factories import make_opinion
from tests.support.inprocess import sync
from tests.support.printing import reprint_form, status_fragment, wait_for_state
from tests.support.servers import ServerProcess, free_port
from tests.support.thermal import ThermalPrinter

# Long, so that a test passing proves the failure was noticed, not timed out.
PATIENT = 300


@pytest.fixture
def device():
    printer = ThermalPrinter().start()
    yield printer
    printer.stop()


@pytest.fixture
def thermal_queue(cups_server, device):
    """A CUPS raw queue to the device, as a station with a thermal printer has."""
    name = f"thermal-{device.port}"
    cups_server.add_printer(name, device.uri, raw=True)
    return name


def use_thermal_printer(app, cups_server, queue, deadline=PATIENT, **settings):
    app.config.update(
        PRINTER=queue, PRINTER_KIND="escpos", CUPS_SERVER=cups_server.server,
        PRINT_DEADLINE_SECONDS=deadline, **settings,
    )  # fmt: skip


def thermal_printer_without_cups(device) -> dict:
    """Settings of a thermal printer at the device's address, and no CUPS answering."""
    return {
        "PRINTER": "thermal", "PRINTER_KIND": "escpos", "PRINTER_DEVICE": device.address,
        "CUPS_SERVER": f"127.0.0.1:{free_port()}",
    }  # fmt: skip


def print_receipt(app):
    """Start printing a new opinion's receipt: the job's id and the address its QR code must hold."""
    with app.app_context():
        opinion = make_opinion()
        url = services.receipt_url(opinion)
        return printing.start_printing(opinion, url=url).id, url


def assert_is_the_receipt(printout, url, dots=576):
    """A whole receipt as the printer printed it: its width, its QR code, the cut."""
    assert printout.initialised and printout.cut
    assert printout.width == dots
    assert 700 < printout.image.height < 2000  # 8 dots a millimetre: about 140 mm
    assert check.qr_texts(printout.image) == [url]


# --- the raster itself, straight to the device ----------------------------------


@pytest.mark.parametrize("dots", [576, 384])
def test_the_receipt_becomes_escpos_raster_the_printer_reads_back(app, device, dots):
    """80 mm rolls have 576 dots a line, 58 mm rolls 384: the QR code reads on both."""
    with app.app_context():
        opinion = make_opinion()
        url = services.receipt_url(opinion)
        job = raster.escpos_job(services.receipt_pdf(opinion, url), dots)
    assert job.startswith(b"\x1b@\x1dv0")  # ESC @, then GS v 0
    with socket.create_connection(("127.0.0.1", device.port)) as connection:
        connection.sendall(job)
    printout = device.wait_for_printout()
    check.RESULTS.mkdir(exist_ok=True)
    printout.image.save(check.RESULTS / f"thermal-receipt-{dots}.png")
    assert_is_the_receipt(printout, url, dots)
    assert device.unknown == []


# --- through CUPS ------------------------------------------------------------------


@pytest.mark.cups
def test_a_receipt_prints_on_the_thermal_printer_through_a_raw_queue(app, cups_server, thermal_queue, device):
    use_thermal_printer(app, cups_server, thermal_queue)
    job_id, url = print_receipt(app)
    job = wait_for_state(app, job_id, timeout=120)
    assert job.state == "printed", job.detail
    assert job.cups_job_id
    assert_is_the_receipt(device.wait_for_printout(), url)
    assert device.unknown == []
    # The printer was asked before the job went to it, over its own connection.
    assert device.status_queries == [1]


@pytest.mark.slow
@pytest.mark.cups
def test_a_tap_on_submit_prints_on_the_thermal_printer_behind_a_real_server(
    tmp_path, demo_database, cups_server, thermal_queue, device
):
    """As on a box: waitress, settings from KIOSK_* variables, the printer's thread, CUPS, the printer."""
    instance = copy_database(demo_database, tmp_path / "instance")
    settings = {"PRINTER": thermal_queue, "PRINTER_KIND": "escpos", "CUPS_SERVER": cups_server.server}
    box = ServerProcess(instance, settings).start()
    try:
        villager = Villager(box.url)
        villager.fill_in("村口的路灯坏了三个月，晚上很黑。")
        screen = villager.submit()
        printout = device.wait_for_printout()
    finally:
        box.stop()
    assert_is_the_receipt(printout, f"{box.url}/r/{screen.receipt_number}?k={screen.receipt_secret}")


@pytest.mark.cups
@pytest.mark.parametrize(
    "trouble, words, reported",
    [
        pytest.param(ThermalPrinter.run_out_of_paper, "打印机缺纸", "paper out", id="paper-out"),
        pytest.param(ThermalPrinter.open_cover, "打印机纸仓盖打开", "cover open", id="cover-open"),
    ],
)
def test_a_printer_that_cannot_print_fails_the_job_at_once_in_its_own_words(
    app, client, cups_server, thermal_queue, device, trouble, words, reported
):
    use_thermal_printer(app, cups_server, thermal_queue)
    trouble(device)
    job_id, _ = print_receipt(app)
    job = wait_for_state(app, job_id, timeout=60)
    assert job.state == "failed" and job.detail == printing.TROUBLE_MESSAGES[reported]
    assert job.cups_job_id is None  # CUPS never had it, so it cannot print later
    html = status_fragment(client, job_id)
    assert words in html and 'data-testid="reprint"' in html
    with app.app_context():
        assert printing.reported_state() == reported

    # Paper loaded, cover shut: the one reprint prints.
    device.load_paper()
    device.close_cover()
    action, data = reprint_form(html)
    assert client.post(action, data=data, headers={"HX-Request": "true"}).status_code == 200
    with app.app_context():
        reprint = db.session.query(PrintJob).filter_by(kind="reprint").one()
    assert wait_for_state(app, reprint.id, timeout=120).state == "printed"
    assert device.wait_for_printout().cut
    assert len(device.printouts) == 1


@pytest.mark.cups
def test_a_printer_nobody_answers_for_is_not_connected(app, client, cups_server):
    queue = "thermal-unplugged"
    cups_server.add_printer(queue, f"socket://127.0.0.1:{free_port()}", raw=True)
    use_thermal_printer(app, cups_server, queue)
    job_id, _ = print_receipt(app)
    job = wait_for_state(app, job_id, timeout=60)
    assert job.state == "failed" and job.detail == printing.TROUBLE_MESSAGES[printing.OFFLINE]
    assert "打印机未连接" in status_fragment(client, job_id)


@pytest.mark.cups
def test_paper_running_out_during_a_receipt_fails_it_with_the_printers_word(
    app, cups_server, thermal_queue, device
):
    """The printer stops taking the job; CUPS waits on it until the deadline; the printer says why."""
    use_thermal_printer(app, cups_server, thermal_queue, deadline=5)
    device.roll_ends_after(200)
    job_id, _ = print_receipt(app)
    job = wait_for_state(app, job_id, timeout=120)
    assert job.state == "failed" and job.detail == printing.TROUBLE_MESSAGES[printing.PAPER_OUT]
    assert cups_server.connect().getJobAttributes(job.cups_job_id)["job-state"] == cups.IPP_JOB_CANCELED


# --- what the hub hears --------------------------------------------------------------


def test_the_hub_hears_the_printer_is_out_of_paper(station_app, hub_app, transport, device):
    """Asked at the device's own address (``PRINTER_DEVICE``), even with CUPS not answering."""
    station_app.config.update(thermal_printer_without_cups(device))
    device.run_out_of_paper()
    sync(station_app, transport)
    assert device.status_queries
    with hub_app.app_context():
        state = db.session.get(SyncStation, "LC00").printer_state
    assert state == "paper out" and printer_label(state) == "缺纸"


def test_a_ready_printer_reports_how_the_last_receipt_went(app, device):
    app.config.update(thermal_printer_without_cups(device))
    with app.app_context():
        assert printing.reported_state() == "idle"
    device.wait_for_status_query()


# --- settings ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "setting, value",
    [
        ("PRINTER_KIND", "zebra"),
        ("PRINTER_DOTS", 500),
        ("PRINTER_DOTS", "576"),
        ("PRINTER_DEVICE", "usb://EPSON/TM-T20III"),
    ],
)
def test_printer_settings_that_cannot_work_stop_the_start(tmp_path, setting, value):
    with pytest.raises(RuntimeError, match=f"KIOSK_{setting}"):
        make_app(tmp_path / "instance", **{setting: value})


@pytest.mark.parametrize(
    "text, address",
    [
        ("socket://192.168.1.50:9100", ("192.168.1.50", 9100)),
        ("socket://printer.local", ("printer.local", 9100)),
        ("192.168.1.50:9101", ("192.168.1.50", 9101)),
        ("socket://[fe80::1]:9100?waiteof=false", ("fe80::1", 9100)),
        ("usb://EPSON/TM-T20III?serial=X", None),
        ("socket://host:99999", None),
        ("", None),
    ],
)
def test_the_devices_address_comes_from_the_setting_or_the_queue(text, address):
    assert printing.device_address(text) == address
