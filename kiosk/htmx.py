"""The one place that reads and writes htmx's headers.

Every answer to htmx goes through here: whether a request wants a fragment
or a whole page, a redirect of the whole page, a fragment swapped somewhere
else than the request said; each sets ``Vary: HX-Request``, since the same
URL answers differently with and without it.
"""

from flask import Response, make_response, render_template, request


def is_htmx_request() -> bool:
    """True for any request htmx sends: a fragment, a boosted link or a history restore."""
    return request.headers.get("HX-Request") == "true"


def is_fragment_request() -> bool:
    """True when htmx asks for a piece of a page it already shows.

    A boosted link or a history restore wants the whole page.
    """
    return (
        is_htmx_request()
        and request.headers.get("HX-Boosted") != "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def current_url() -> str | None:
    """The address of the page htmx sent the request from (``HX-Current-URL``), if it did."""
    return request.headers.get("HX-Current-URL") if is_htmx_request() else None


def vary(response: Response) -> Response:
    """Mark ``response`` as depending on ``HX-Request`` (a cache must not hand it to the other kind)."""
    response.vary.add("HX-Request")
    return response


def render(page: str, fragment: str, status: int = 200, **context) -> Response:
    """Render ``fragment`` for htmx, else ``page`` (which includes it)."""
    template = fragment if is_fragment_request() else page
    return vary(make_response(render_template(template, **context), status))


def render_elsewhere(fragment: str, target: str, swap: str = "outerHTML", **context) -> Response:
    """Render ``fragment`` into ``target`` with ``swap``, whatever element the request named.

    For a form whose success replaces more than the form (``HX-Retarget``,
    ``HX-Reswap``).
    """
    response = vary(make_response(render_template(fragment, **context)))
    response.headers["HX-Retarget"] = target
    response.headers["HX-Reswap"] = swap
    return response


def redirect_page(url: str, status: int = 200) -> Response:
    """Send htmx's whole page to ``url`` (``HX-Redirect``), instead of swapping an answer in."""
    response = vary(make_response("", status))
    response.headers["HX-Redirect"] = url
    return response

