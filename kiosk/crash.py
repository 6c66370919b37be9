"""The crash hook: tests prove a process may die anywhere without losing or doubling a record.

``CRASH_POINT`` names one point on the submit or sync path; a process that
reaches it exits at once (``os._exit``: no clean-up, no commit), as a power
cut would. Never set in the field.
"""

import logging
import os

from flask import current_app

log = logging.getLogger(__name__)


def crash_point(name: str) -> None:
    """Die here, as a power cut would, if configured to."""
    if current_app.config.get("CRASH_POINT") == name:
        log.warning("crash point %s reached: exiting", name)
        os._exit(70)
