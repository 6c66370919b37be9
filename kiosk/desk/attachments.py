"""A 一键通 suggestion's attachment: a photo or a PDF, checked by decoding, at most 10 MB.

An image must decode fully with Pillow (JPEG, PNG, WebP, GIF); a PDF must
be read to its page tree by poppler's ``pdfinfo`` (the box has poppler for
the receipt printer already). A file named ``.pdf`` that is a PNG is kept as
the PNG it is: the bytes decide, never the name.
"""

import io
import subprocess
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from ..deputies.photos import MAX_PIXELS, _truncated_images_refused
from ..refusals import Refused

MAX_BYTES = 10 * 1024 * 1024
PDFINFO_SECONDS = 20
IMAGE_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}
PDF = "application/pdf"
NOT_READABLE = "附件只能是图片（JPEG、PNG、WebP、GIF）或 PDF 文件，这个文件打不开。"


class AttachmentRefused(Refused):
    """Not an image or PDF that decodes, empty, or larger than 10 MB."""


@dataclass(frozen=True)
class Checked:
    filename: str
    media_type: str
    data: bytes


def check(filename: str | None, data: bytes) -> Checked:
    """The attachment as kept, or ``AttachmentRefused`` (field ``attachment``)."""
    if not data:
        raise AttachmentRefused("附件是空文件。", "attachment")
    if len(data) > MAX_BYTES:
        raise AttachmentRefused(f"附件太大（最多 {MAX_BYTES // 1024 // 1024} MB）。", "attachment")
    media_type = PDF if data[:5] == b"%PDF-" else _image_type(data)
    if media_type == PDF:
        _check_pdf(data)
    name = Path((filename or "").replace("\\", "/")).name.strip()[:120] or "附件"
    return Checked(name, media_type, data)


def _image_type(data: bytes) -> str:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            kind = image.format
            if kind not in IMAGE_TYPES:
                raise AttachmentRefused(NOT_READABLE, "attachment")
            if image.width * image.height > MAX_PIXELS:
                raise AttachmentRefused("图片像素太多，请换一张小一些的。", "attachment")
            with _truncated_images_refused():
                image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError,
            Image.DecompressionBombWarning):  # fmt: skip
        raise AttachmentRefused(NOT_READABLE, "attachment") from None
    return IMAGE_TYPES[kind]


def _check_pdf(data: bytes) -> None:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as file:
        file.write(data)
        file.flush()
        try:
            result = subprocess.run(
                ["pdfinfo", file.name], capture_output=True, timeout=PDFINFO_SECONDS, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            raise AttachmentRefused(NOT_READABLE, "attachment") from None
    pages = [line for line in result.stdout.decode("utf-8", "replace").splitlines() if line.startswith("Pages:")]
    if result.returncode != 0 or not pages or pages[0].split()[-1] in ("0", ""):
        raise AttachmentRefused(NOT_READABLE, "attachment")
