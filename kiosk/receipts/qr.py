"""QR codes as vector SVG, for the printed receipt and for the screen.

Both come from one function so the screen and the paper always carry the
same code. The modules come from the ``qrcode`` package (pure Python, the
encoder the product's design names); the SVG is drawn here. The path draws
each row's run of dark modules as one stroke a module thick: two path
commands per run instead of one rectangle per module, which keeps the
receipt PDF small and quick to draw (WeasyPrint parses SVG paths in Python).

Encoding takes a few milliseconds, so the submit does not wait for it: the
receipt screen fetches its code as an SVG of its own (``receipts.receipt_qr``),
and the printer's thread draws it into the PDF after the response is sent.
"""

from functools import lru_cache
from itertools import groupby

import qrcode
from markupsafe import Markup, escape
from qrcode.constants import ERROR_CORRECT_M

# Four light modules around the code: the quiet zone the standard asks for,
# drawn in white so the code scans on any background.
QUIET_ZONE = 4
# M recovers a code with 15% of it smudged or torn: a receipt kept in a
# pocket for months, yet a small code for a short URL.
ERROR_CORRECTION = ERROR_CORRECT_M


@lru_cache(maxsize=64)
def qr_path(data: str) -> tuple[int, str]:
    """Side (in modules, quiet zone included) and SVG path data of the code."""
    # The quiet zone is drawn by the SVG itself (its white background).
    code = qrcode.QRCode(error_correction=ERROR_CORRECTION, border=0)
    code.add_data(data)
    code.make(fit=True)
    modules = code.get_matrix()
    parts = []
    for y, row in enumerate(modules):
        x = 0
        for dark, run in groupby(row):
            length = sum(1 for _ in run)
            if dark:
                parts.append(f"M{x + QUIET_ZONE} {y + QUIET_ZONE}.5h{length}")
            x += length
    return len(modules) + 2 * QUIET_ZONE, "".join(parts)


def qr_svg(url: str, **attributes) -> Markup:
    """An ``<svg>`` QR code for ``url``, sized by CSS (it scales).

    Extra keyword arguments become attributes of the ``<svg>`` element,
    with ``_`` written as ``-`` (``data_testid="receipt-qr"``).
    """
    side, path = qr_path(url)
    extra = "".join(f' {name.replace("_", "-")}="{escape(value)}"' for name, value in attributes.items())
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {side} {side}" '
        f'shape-rendering="crispEdges" role="img" aria-label="二维码"{extra}>'
        f'<rect width="{side}" height="{side}" fill="#fff"/>'
        f'<path stroke="#000" stroke-width="1" fill="none" d="{path}"/></svg>'
    )
