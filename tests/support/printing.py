"""Helpers the receipt and printing tests share: print jobs and the status fragment."""

import re
import time

from kiosk.extensions import db
from kiosk.models import PrintJob
from kiosk.receipts import printing


def printer_without_cups(app):
    """A printer is set, but no CUPS answers at its address: every job fails, and a reprint may help."""
    from tests.support.servers import free_port

    app.config.update(PRINTER="receipt", CUPS_SERVER=f"127.0.0.1:{free_port()}")


def wait_for_state(app, job_id, states=printing.FINISHED, timeout=60):
    """The job once it reaches one of ``states``; generous, for a busy machine."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with app.app_context():
            job = db.session.get(PrintJob, job_id)
            if job.state in states:
                return job
        time.sleep(0.1)
    raise AssertionError(f"print job still {job.state} after {timeout} s")


def status_fragment(client, job_id):
    """The print status fragment as htmx fetches it, checked for its headers."""
    response = client.get(f"/print-jobs/{job_id}", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert "HX-Request" in response.headers["Vary"]
    return response.get_data(as_text=True)


def reprint_form(html):
    """The reprint form's action and fields, as a browser would send them."""
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    secret = re.search(r'name="secret" value="([^"]+)"', html).group(1)
    action = re.search(r'<form method="post" action="([^"]+)"', html).group(1)
    return action, {"csrf_token": token, "secret": secret}
