"""Receipts for thermal printers: the receipt PDF as ESC/POS raster.

Thermal receipt printers print 8 dots a millimetre (203 dpi) across a head
576 dots wide on 80 mm rolls (384 on 58 mm rolls), centred on the paper.
They take ESC/POS, not PDF, and Debian has no CUPS driver for them. So the
PDF is rasterised here with poppler's ``pdftoppm`` at the head's
resolution, one bit a dot, and encoded with python-escpos: ``ESC @``, the
image as ``GS v 0`` blocks, a feed and a cut. The bytes go to the printer
through a CUPS raw queue (``kiosk.receipts.printing``).
"""

import logging
import os
import subprocess
import tempfile
import threading
from io import BytesIO
from types import SimpleNamespace

from PIL import Image

from .pdf import ReceiptPDF

DOTS_PER_MM = 8
# The receipt's side margins (templates/receipts/receipt.css, the body's
# padding): what lies between them must reach the paper.
RECEIPT_MARGIN_MM = 4
PDFTOPPM_SECONDS = 30

_import_lock = threading.Lock()
_escpos = None


def escpos_job(receipt: ReceiptPDF, dots: int) -> bytes:
    """The whole print job for a printer ``dots`` wide: initialise, the receipt, feed and cut."""
    image = rasterise(receipt, dots)
    printer = escpos_library().Dummy()
    # The library checks an image's width against its profile's, and says
    # so on stdout when the profile has none: this printer's, on this
    # instance only (the profiles are shared by the process).
    printer.profile.profile_data = {
        **printer.profile.profile_data,
        "media": {"width": {"pixels": dots, "mm": dots / DOTS_PER_MM}, "dpi": round(DOTS_PER_MM * 25.4)},
    }
    printer.hw("INIT")
    printer.image(image, impl="bitImageRaster")
    printer.cut()
    return printer.output


def rasterise(receipt: ReceiptPDF, dots: int) -> Image.Image:
    """The receipt one bit a dot, exactly ``dots`` wide, as the head prints it.

    Drawn at the head's 8 dots a millimetre, so that the QR code's modules
    stay whole dots, when what lies between the margins fits the head (an
    80 mm roll and 576 dots: exactly); smaller when it does not (a 58 mm
    roll and 384 dots). Then the middle ``dots`` columns: the paper's
    edges, which the head does not reach, are the receipt's margins.
    """
    inked_mm = receipt.width_mm - 2 * RECEIPT_MARGIN_MM
    dots_per_mm = min(DOTS_PER_MM, dots / inked_mm)
    result = subprocess.run(
        ["pdftoppm", "-r", f"{dots_per_mm * 25.4:.3f}", "-mono", "-singlefile", "-"],
        input=receipt.data,
        capture_output=True,
        timeout=PDFTOPPM_SECONDS,
    )
    if result.returncode != 0:
        reason = result.stderr.decode(errors="replace")[:500]
        raise RuntimeError(f"pdftoppm failed ({result.returncode}): {reason}")
    page = Image.open(BytesIO(result.stdout))
    page.load()
    left = (page.width - dots) // 2
    if left >= 0:
        return page.crop((left, 0, left + dots, page.height))
    head = Image.new("1", (dots, page.height), 1)
    head.paste(page, (-left, 0))
    return head


def escpos_library() -> SimpleNamespace:
    """What the kiosk uses of python-escpos, imported once per process.

    Its import reads the library's printer database (a third of a second:
    the warm-up does it), caches it in a new temporary folder it never
    removes, and calls ``logging.basicConfig()``, which would change how
    every log line of the process looks. The cache goes to a folder of
    ours, removed after, and the root logger keeps its own handlers.
    """
    global _escpos
    with _import_lock:
        if _escpos is None:
            root = logging.getLogger()
            handlers = list(root.handlers)
            with tempfile.TemporaryDirectory(prefix="kiosk-escpos-") as cache:
                os.environ["ESCPOS_CAPABILITIES_PICKLE_DIR"] = cache
                try:
                    from escpos import constants, exceptions, printer
                finally:
                    os.environ.pop("ESCPOS_CAPABILITIES_PICKLE_DIR", None)
            for handler in root.handlers[:]:
                if handler not in handlers:
                    root.removeHandler(handler)
            _escpos = SimpleNamespace(
                Dummy=printer.Dummy,
                Network=printer.Network,
                DeviceNotFoundError=exceptions.DeviceNotFoundError,
                RT_STATUS=constants.RT_STATUS,
            )
    return _escpos
