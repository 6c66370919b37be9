"""QR codes as vector SVG, for the printed receipt and for the screen.

Both come from one function so the screen and the paper always carry the
same code. The path draws each row's run of dark modules as one
stroke a module thick: two path commands per run instead of qrcode's five
per module, which keeps the receipt PDF small and quick to draw (WeasyPrint
parses SVG paths in Python).
"""

from functools import lru_cache

import qrcode
from markupsafe import Markup, escape

# Four light modules around the code: the quiet zone the standard asks for,
# drawn in white so the code scans on any background.
QUIET_ZONE = 4
MASK_PATTERN = 2


@lru_cache(maxsize=64)
def qr_path(data: str) -> tuple[int, str]:
    """Side (in modules, quiet zone included) and SVG path data of the code."""
    # A fixed mask: qrcode otherwise tries all eight in pure Python to score
    # them, which is most of a submit's time on a slow box. Every mask is
    # valid; the score only steers away from rare finder-like patterns, and
    # the tests decode each code the kiosk makes.
    code = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M, border=QUIET_ZONE, mask_pattern=MASK_PATTERN
    )
    code.add_data(data)
    code.make(fit=True)
    matrix = code.get_matrix()
    parts = []
    for y, row in enumerate(matrix):
        x = 0
        while x < len(row):
            if row[x]:
                start = x
                while x < len(row) and row[x]:
                    x += 1
                parts.append(f"M{start} {y}.5h{x - start}")
            else:
                x += 1
    return len(matrix), "".join(parts)


def qr_svg(url: str, **attributes) -> Markup:
    """An inline ``<svg>`` QR code for ``url``, sized by CSS (it scales).

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
