"""Receipt PDFs and print status."""

from . import bp  # noqa: F401
