"""The receipt printer's queue as a box makes it at boot (deploy/station/printer-queue).

Run against the tests' private CUPS and their network ESC/POS printer: the
queue is a raw one to the device, retrying jobs; a queue CUPS stopped is put
back in order without being made again; and the app's receipt goes through
it to the printer's head.
"""

import os
import subprocess

import cups
import pytest

from kiosk.receipts import printing, services
from tests.support import receipts as check
from tests.support.factories import make_opinion
from tests.support.printing import wait_for_state
from tests.support.servers import ROOT
from tests.support.thermal import ThermalPrinter

SCRIPT = ROOT / "deploy" / "station" / "printer-queue"


@pytest.fixture
def device():
    printer = ThermalPrinter().start()
    yield printer
    printer.stop()


def printer_queue(cups_server, settings_file):
    env = {**os.environ, **cups_server.env()}
    return subprocess.run([str(SCRIPT), str(settings_file)], env=env, capture_output=True, text=True, timeout=60)


def settings(tmp_path, queue, uri):
    path = tmp_path / "printer.env"
    path.write_text(f"STATION_PRINTER_QUEUE={queue}\nSTATION_PRINTER_URI={uri}\n")
    return path


def test_a_raw_queue_to_the_printer_made_once_and_put_back_in_order(cups_server, device, tmp_path, app):
    queue = f"receipt-{device.port}"
    first = printer_queue(cups_server, settings(tmp_path, queue, device.uri))
    assert first.returncode == 0, first.stderr
    assert f"queue {queue} -> {device.uri}" in first.stderr
    connection = cups.Connection(host="127.0.0.1", port=int(cups_server.server.rsplit(":", 1)[1]))
    attributes = connection.getPrinterAttributes(queue)
    assert attributes["device-uri"] == device.uri
    assert attributes["printer-make-and-model"] == "Local Raw Printer"
    assert attributes["printer-error-policy"] == "retry-job"

    # CUPS stopped it (a printer away too long): the next boot starts it again, and makes nothing new.
    connection.disablePrinter(queue)
    connection.rejectJobs(queue)
    again = printer_queue(cups_server, settings(tmp_path, queue, device.uri))
    assert again.returncode == 0, again.stderr
    assert "->" not in again.stderr
    attributes = connection.getPrinterAttributes(queue)
    assert attributes["printer-state"] != 5 and attributes["printer-is-accepting-jobs"]

    # The app's receipt through that queue, read back off the printer's head.
    app.config.update(PRINTER=queue, PRINTER_KIND="escpos", CUPS_SERVER=cups_server.server, PRINT_DEADLINE_SECONDS=300)
    with app.app_context():
        opinion = make_opinion()
        url = services.receipt_url(opinion)
        job_id = printing.start_printing(opinion, url=url).id
    printout = device.wait_for_printout()
    assert printout.cut and check.qr_texts(printout.image) == [url]
    assert wait_for_state(app, job_id).state == "printed"


@pytest.mark.parametrize(
    "uri, status, words",
    [("none", 0, "no receipt printer set"), ("http://example.test/", 1, "must be socket://HOST:9100")],
)
def test_no_printer_and_a_wrong_address(cups_server, tmp_path, uri, status, words):
    result = printer_queue(cups_server, settings(tmp_path, "receipt-none", uri))
    assert result.returncode == status and words in result.stderr
    assert "receipt-none" not in cups.Connection(
        host="127.0.0.1", port=int(cups_server.server.rsplit(":", 1)[1])
    ).getPrinters()
