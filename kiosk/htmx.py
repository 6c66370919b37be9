"""The one place that decides between a fragment and a full page."""

from flask import Flask, make_response, render_template, request


def is_fragment_request() -> bool:
    """True when htmx asks for a piece of a page it already shows.

    A boosted link or a history restore wants the whole page.
    """
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-Boosted") != "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def render(page: str, fragment: str, status: int = 200, **context):
    """Render ``fragment`` for htmx, else ``page`` (which includes it)."""
    template = fragment if is_fragment_request() else page
    response = make_response(render_template(template, **context), status)
    response.vary.add("HX-Request")
    return response


def init_app(app: Flask) -> None:
    app.jinja_env.globals["is_fragment_request"] = is_fragment_request
