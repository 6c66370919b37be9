"""Talking to the app as a browser does: a page's text, its CSRF token, a form's post."""

import re

from flask import url_for

FORM_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
# The one htmx sends on every request, from ``hx-headers`` on <body>.
PAGE_TOKEN = re.compile(r'"X-CSRFToken":\s*"([^"]+)"')


def text(response) -> str:
    return response.get_data(as_text=True)


def csrf_token(html: str) -> str:
    """The page's CSRF token: its form's hidden field, else the one htmx sends."""
    found = FORM_TOKEN.search(html) or PAGE_TOKEN.search(html)
    assert found, "the page carries no CSRF token"
    return found.group(1)


def page_token(client, path: str) -> str:
    """The session's CSRF token, from the page at ``path`` (or where it leads)."""
    return csrf_token(text(client.get(path, follow_redirects=True)))


def path(app, endpoint: str, **values) -> str:
    with app.test_request_context():
        return url_for(endpoint, **values)


def post(client, endpoint: str, data=None, *, token_from: str, **values):
    """Submit a form the way the browser does: with the CSRF token of the page at endpoint ``token_from``."""
    app = client.application
    token = page_token(client, path(app, token_from))
    return client.post(path(app, endpoint, **values), data={"csrf_token": token, **(data or {})})
