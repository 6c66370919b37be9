"""A private CUPS server for the printing tests (kiosk/receipts/localcups.py).

Import the fixtures into a test module. ``cups_server`` is one server for
the session; ``own_cups_server`` is a server a test may stop or break.
Both live under /tmp, not pytest's tmp folder: CUPS filters run as the lp
user, and pytest's folders are private to root.
"""

import os
import shutil
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from kiosk.receipts.localcups import LocalCups, usable


def _private_cups():
    reason = usable()
    if reason:
        pytest.skip(f"no private CUPS here: {reason}")
    root = Path(tempfile.mkdtemp(prefix="kiosk-cups-"))
    server = LocalCups(root).start()
    return server


def _remove(server: LocalCups) -> None:
    server.stop()
    shutil.rmtree(server.root, ignore_errors=True)


@pytest.fixture(scope="session")
def cups_server():
    server = _private_cups()
    yield server
    _remove(server)


@pytest.fixture
def own_cups_server():
    server = _private_cups()
    yield server
    _remove(server)


def printed_files(server: LocalCups) -> set[Path]:
    return set(server.output_dir.glob("*.pdf"))


def wait_for_new_file(server: LocalCups, before: set[Path], timeout: float = 60) -> Path:
    """The PDF cups-pdf wrote after ``before`` was taken, once it is complete."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        new = printed_files(server) - before
        for path in new:
            if path.stat().st_size > 0 and path.read_bytes().rstrip().endswith(b"%%EOF"):
                return path
        time.sleep(0.2)
    raise AssertionError(f"nothing printed into {server.output_dir} within {timeout} s")


@contextmanager
def disabled_queue(server: LocalCups):
    """The receipt queue stopped with ``cupsdisable``, as a jam or an operator would."""
    env = {**os.environ, **server.env()}
    subprocess.run(["cupsdisable", server.printer], check=True, env=env)
    try:
        yield
    finally:
        subprocess.run(["cupsenable", server.printer], check=True, env=env)
