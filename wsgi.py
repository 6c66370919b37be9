"""Entry point for ``flask --app wsgi`` and WSGI servers."""

from kiosk import create_app

app = create_app()
