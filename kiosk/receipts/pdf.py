"""Receipt PDFs: the template laid out by WeasyPrint, fitted to its content.

A receipt is as long as what it says. The page is laid out once on a tall
page and then cut at the bottom of the content before the PDF is written;
laying it out a second time at the right height would double the cost, and
WeasyPrint has no ``size: 80mm auto``.

One font configuration serves every receipt of the process: WeasyPrint
loads the ``@font-face`` fonts into it once and reuses them. Rendering holds
a lock, because Pango's font map is not safe to share between threads.
"""

import atexit
import ctypes.util
import logging
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass

from flask import current_app, render_template

from .. import PROJECT_ROOT

log = logging.getLogger(__name__)

MM = 96 / 25.4  # CSS pixels per millimetre
# Tall enough for any receipt: the excerpt is at most 30 characters.
LAYOUT_HEIGHT_MM = 600
STYLESHEET = PROJECT_ROOT / "templates" / "receipts" / "receipt.css"

_lock = threading.Lock()
_engine = None


@dataclass(frozen=True)
class ReceiptPDF:
    data: bytes
    width_mm: float
    height_mm: float


class _Engine:
    """WeasyPrint, its font configuration and the font stylesheet, made once."""

    def __init__(self):
        # Imported here: WeasyPrint takes half a second to import, and only
        # the processes that render receipts should pay for it.
        with _libraries_found_by_ldconfig():
            from weasyprint import CSS, HTML
            from weasyprint.text.fonts import FontConfiguration

        self.HTML = HTML
        self.font_config = FontConfiguration()
        self.font_faces = CSS(string=font_face_css(), font_config=self.font_config)
        # Parsed once: the template carries only the page size.
        self.stylesheets = [self.font_faces, CSS(filename=str(STYLESHEET), font_config=self.font_config)]


@contextmanager
def _libraries_found_by_ldconfig():
    """While WeasyPrint loads, look shared libraries up in ldconfig's cache only.

    WeasyPrint tries several names for each library (for other systems);
    cffi looks every name up with ``ctypes.util.find_library``, which runs
    ldconfig, then gcc and ld, for each name that does not exist: measured
    at 0.45 s of a cold start on a busy two-core box. Debian's libraries are
    all in ldconfig's cache.
    """
    quick = getattr(ctypes.util, "_findSoname_ldconfig", None)
    if quick is None or sys.platform != "linux":
        yield
        return
    original = ctypes.util.find_library
    ctypes.util.find_library = lambda name: quick(name) or None
    try:
        yield
    finally:
        ctypes.util.find_library = original


def font_face_css() -> str:
    """``@font-face`` rules for the cut fonts, read from ``static/fonts``.

    The full Noto face needs no rule: the font stack names it next, and
    fontconfig finds it among the system fonts for characters the cut lacks.
    """
    # Imported here so that ``python -m kiosk.receipts.fonts`` does not
    # find itself imported already through the blueprint.
    from . import fonts

    rules = []
    for weight, css_weight in (("regular", 400), ("bold", 700)):
        path = fonts.font_path(weight)
        if not path.exists():
            raise RuntimeError(f"receipt font {path} is missing: run `make` (python -m kiosk.receipts.fonts)")
        rules.append(
            f'@font-face {{ font-family: "{fonts.FAMILY}"; font-weight: {css_weight}; '
            f'src: url("{path.as_uri()}"); }}'
        )
    return "\n".join(rules)


def engine() -> _Engine:
    global _engine
    if _engine is None:
        _engine = _Engine()
        # Let the font configuration go while Python can still run its
        # clean-up; at interpreter teardown it prints a spurious traceback.
        atexit.register(_drop_engine)
    return _engine


def _drop_engine() -> None:
    global _engine
    _engine = None


def render_html(html: str, base_url: str | None = None) -> ReceiptPDF:
    """Lay out ``html`` once, cut the page at its content, write the PDF."""
    with _lock:
        started = time.perf_counter()
        e = engine()
        document = e.HTML(string=html, base_url=base_url).render(
            font_config=e.font_config, stylesheets=e.stylesheets
        )
        if len(document.pages) != 1:
            raise ValueError(f"a receipt must fit one page, got {len(document.pages)}")
        page = document.pages[0]
        # The root box (<html>) ends where the last line (plus the body's
        # bottom padding) ends; WeasyPrint draws from the top, so shortening
        # the page only moves its bottom edge.
        root = page._page_box.children[0]
        page.height = root.position_y + root.margin_height()
        data = document.write_pdf()
        log.debug("receipt rendered in %.0f ms", (time.perf_counter() - started) * 1000)
        return ReceiptPDF(data, width_mm=page.width / MM, height_mm=page.height / MM)


def render_document(html: str, base_url: str | None = None) -> bytes:
    """Any other paper (an A4 slip, a report) with the receipt fonts; its styles are its own."""
    with _lock:
        e = engine()
        document = e.HTML(string=html, base_url=base_url)
        return document.write_pdf(font_config=e.font_config, stylesheets=[e.font_faces])


def render_documents(htmls: list[str], base_url: str | None = None) -> bytes:
    """Several papers (each its own HTML and page styles) as one PDF, each starting on a new page."""
    with _lock:
        e = engine()
        documents = [
            e.HTML(string=html, base_url=base_url).render(font_config=e.font_config, stylesheets=[e.font_faces])
            for html in htmls
        ]
        pages = [page for document in documents for page in document.pages]
        return documents[0].copy(pages).write_pdf()


def receipt_html(context: dict, page_height_mm: float = LAYOUT_HEIGHT_MM) -> str:
    """The receipt template filled in, laid out on a page that tall."""
    return render_template(
        "receipts/receipt.html",
        paper_width_mm=current_app.config["PAPER_WIDTH_MM"],
        page_height_mm=page_height_mm,
        **context,
    )
