"""The Rime data every test shares: built once per machine (and again only when its sources change)."""

import os
import tempfile
from pathlib import Path

from kiosk.ime import deploy

RIME_FOLDER = Path(tempfile.gettempdir()) / f"kiosk-test-rime-{os.getuid()}"


def rime_folder() -> Path:
    """The shared folder, built if it is not current (under deploy's lock, so workers take turns)."""
    deploy.ensure(RIME_FOLDER)
    return RIME_FOLDER
