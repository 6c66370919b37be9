"""What every request's text passes before a view: no control characters, text fields as text.

A NUL byte reaches PostgreSQL as an error, and the other C0 controls are
nothing a person types. Query and form values lose them, as the kiosk's
cleaning would; a path holding one names no page (404). No view takes an
uploaded file, so a file part sent where a text field is expected is
dropped and the form says, as usual, that the field is missing.
"""

import flask
from flask import Flask, abort, request
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import BadRequest

from .text import CONTROL


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
        super()._load_form_data()
        if not loaded:
            self.__dict__["files"] = ImmutableMultiDict()

    def get_json(self, *args, **kwargs):
        # JSON nested deeper than the parser's recursion limit is a bad request, not a crash.
        try:
            return super().get_json(*args, **kwargs)
        except RecursionError:
            raise BadRequest("JSON nested too deeply")


def init_app(app: Flask) -> None:
    app.request_class = Request

    @app.before_request
    def no_page_at_an_address_with_controls():
        if CONTROL.search(request.path):
            abort(404)
