"""Sign-in and sign-out pages."""

from . import bp  # noqa: F401
