"""What every request's text passes before a view: no control characters, text fields as text.

A NUL byte reaches PostgreSQL as an error, and the other C0 controls are
nothing a person types. Query and form values lose them, as the kiosk's
cleaning would; a path holding one names no page (404). Only the views
marked ``takes_files`` take an uploaded file (a deputy's photo, the deputy
spreadsheet), each with its own cap on the request's size; anywhere else a
file part sent where a text field is expected is dropped and the form says,
as usual, that the field is missing.

Bytes that are not UTF-8: werkzeug keeps percent-encoded ones as the
literal ``%ED%A0%80`` (stored as if typed), and drops a whole form whose raw
body is not UTF-8, so the CSRF check would then say the page has expired.
Both are refused before the CSRF check, with the reason in Chinese (a page
answered 200, as a form's mistake is: nothing was taken).
"""

from urllib.parse import unquote_to_bytes

import flask
from flask import Flask, abort, request
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import BadRequest

from .text import CONTROL

UNREADABLE = "提交的文字里有无法识别的字符（不是 UTF-8 编码），请删掉这些字符后重新输入。"


class UnreadableText(BadRequest):
    """A query string or form body that is not UTF-8 once percent-decoded."""

    description = UNREADABLE


def is_utf8(encoded: bytes) -> bool:
    """Whether a query string or urlencoded body, percent-decoded, is UTF-8 text."""
    try:
        unquote_to_bytes(encoded.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _without_controls(value):
    return CONTROL.sub("", value) if isinstance(value, str) else value


class TextValues(ImmutableMultiDict):
    """Query and form values (werkzeug builds both from a list of pairs), without controls."""

    def __init__(self, mapping=None):
        if isinstance(mapping, list):
            mapping = [(_without_controls(key), _without_controls(value)) for key, value in mapping]
        super().__init__(mapping)


class Request(flask.Request):
    parameter_storage_class = TextValues

    def _load_form_data(self) -> None:
        loaded = "form" in self.__dict__
        limit = self.upload_limit
        if limit is not None and not loaded:
            self.max_content_length = limit
        super()._load_form_data()
        if not loaded:
            # Only the view's own file fields: a file sent for a text field is still dropped.
            fields = self._view_attribute("upload_fields") or ()
            kept = [(name, part) for name, part in self.__dict__["files"].items(multi=True) if name in fields]
            self.__dict__["files"] = ImmutableMultiDict(kept)

    @property
    def upload_limit(self) -> int | None:
        """The largest request the matched view takes with files in it; None: it takes no files."""
        return self._view_attribute("upload_limit")

    def _view_attribute(self, name: str):
        view = flask.current_app.view_functions.get(self.endpoint) if self.endpoint else None
        return getattr(view, name, None)

    def get_json(self, *args, **kwargs):
        # JSON nested deeper than the parser's recursion limit is a bad request, not a crash.
        try:
            return super().get_json(*args, **kwargs)
        except RecursionError:
            raise BadRequest("JSON nested too deeply")


def takes_files(max_bytes: int, *fields: str):
    """Mark a view that takes uploaded files in the form fields ``fields``, in requests
    of at most ``max_bytes`` (larger: 413)."""

    def decorate(view):
        view.upload_limit, view.upload_fields = max_bytes, fields
        return view

    return decorate


def init_app(app: Flask) -> None:
    """Set up the edge; call before ``csrf.init_app`` so that its checks run first."""
    app.request_class = Request

    @app.before_request
    def no_page_at_an_address_with_controls():
        if CONTROL.search(request.path):
            abort(404)

    @app.before_request
    def refuse_text_that_is_not_utf8():
        if not is_utf8(request.query_string):
            raise UnreadableText()
        # The body is read once and kept, so that the form is parsed from it as usual.
        if request.mimetype == "application/x-www-form-urlencoded" and not is_utf8(request.get_data(cache=True)):
            raise UnreadableText()
