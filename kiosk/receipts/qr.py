"""QR codes as vector SVG, for the printed receipt and for the screen.

Both come from one function so the screen and the paper always carry the
same code. The modules come from zxing-cpp's writer (C++, about a tenth of
a millisecond for a receipt's URL, where pure-Python encoders take most of
a millisecond of the submit the villager waits for); the SVG is drawn
here. The path draws each row's run of dark modules as one stroke a module
thick: two path commands per run instead of one rectangle per module, which
keeps the receipt PDF small and quick to draw (WeasyPrint parses SVG paths
in Python).
"""

import re
from functools import lru_cache

import zxingcpp
from markupsafe import Markup, escape

# Four light modules around the code: the quiet zone the standard asks for,
# drawn in white so the code scans on any background.
QUIET_ZONE = 4
# M recovers a code with 15% of it smudged or torn: a receipt kept in a
# pocket for months, yet a small code for a short URL.
ERROR_CORRECTION = "M"
# The writer's image has one byte per module: 0 for dark, 255 for light.
_DARK_RUN = re.compile(rb"\x00+")


@lru_cache(maxsize=64)
def qr_path(data: str) -> tuple[int, str]:
    """Side (in modules, quiet zone included) and SVG path data of the code."""
    code = zxingcpp.create_barcode(data, zxingcpp.BarcodeFormat.QRCode, ec_level=ERROR_CORRECTION)
    modules = memoryview(code.to_image(scale=1, add_quiet_zones=False))
    side = modules.shape[0]
    rows = modules.tobytes()
    parts = []
    for y in range(side):
        row = rows[y * side : (y + 1) * side]
        for run in _DARK_RUN.finditer(row):
            parts.append(f"M{run.start() + QUIET_ZONE} {y + QUIET_ZONE}.5h{run.end() - run.start()}")
    return side + 2 * QUIET_ZONE, "".join(parts)


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
