"""The kiosk screens."""

from . import bp  # noqa: F401
