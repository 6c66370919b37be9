"""Text that arrives as bytes that are not UTF-8: refused with a message that says so.

Werkzeug keeps percent-encoded bytes that are not UTF-8 as the literal
``%ED%A0%80`` (stored as if typed), and drops a whole form whose raw body
is not UTF-8, so the CSRF check then says the page has expired. Both are
refused here, before the CSRF check, with the reason in Chinese (a page
answered 200, as a form's mistake is: nothing was taken).
"""

from urllib.parse import unquote_to_bytes

from flask import Flask, request
from werkzeug.exceptions import BadRequest

MESSAGE = "提交的文字里有无法识别的字符（不是 UTF-8 编码），请删掉这些字符后重新输入。"


class UnreadableText(BadRequest):
    """A query string or form body that is not UTF-8 once percent-decoded."""

    description = MESSAGE


def is_utf8(encoded: bytes) -> bool:
    """Whether a query string or urlencoded body, percent-decoded, is UTF-8 text."""
    try:
        unquote_to_bytes(encoded.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def init_app(app: Flask) -> None:
    """Register the check; call before ``csrf.init_app`` so that it runs first."""

    @app.before_request
    def refuse_text_that_is_not_utf8():
        if not is_utf8(request.query_string):
            raise UnreadableText()
        # The body is read once and kept, so that the form is parsed from it as usual.
        if request.mimetype == "application/x-www-form-urlencoded" and not is_utf8(request.get_data(cache=True)):
            raise UnreadableText()
