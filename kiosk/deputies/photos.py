"""Deputies' photos: checked by decoding, resized, stripped of EXIF, named by their SHA-256."""

import hashlib
import io
import threading
import warnings
from contextlib import contextmanager

from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError
from sqlalchemy import select

from ..extensions import db
from ..models import DeputyPhoto
from ..refusals import Refused

MAX_SIDE = 600
# An upload or a photo file larger than this is refused before decoding.
MAX_BYTES = 8 * 1024 * 1024
# A photo of more pixels than this (a "decompression bomb") is refused.
MAX_PIXELS = 40_000_000
FORMATS = {"JPEG", "PNG"}
NOT_A_PHOTO = "照片只能是 JPEG 或 PNG 格式的图片，这个文件打不开。"


_STRICT = threading.Lock()


@contextmanager
def _truncated_images_refused():
    """Pillow's switch is process-wide and WeasyPrint turns it on when imported
    (it pads a cut image with grey): turned off while a photo decodes."""
    with _STRICT:
        was = ImageFile.LOAD_TRUNCATED_IMAGES
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        try:
            yield
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = was


class PhotoRefused(Refused):
    """Not a JPEG or PNG that decodes, or too large."""


def prepare(data: bytes) -> bytes:
    """The photo as stored: JPEG, at most ``MAX_SIDE`` px a side, upright, without EXIF."""
    if len(data) > MAX_BYTES:
        raise PhotoRefused(f"照片太大（最多 {MAX_BYTES // 1024 // 1024} MB）。", "photo")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in FORMATS:
                raise PhotoRefused(NOT_A_PHOTO, "photo")
            if image.width * image.height > MAX_PIXELS:
                raise PhotoRefused("照片像素太多，请换一张小一些的。", "photo")
            # A JPEG is decoded straight at a smaller scale (1/2, 1/4, 1/8) where it
            # is still larger than kept: several times less work for a camera's photo.
            image.draft("RGB", (MAX_SIDE, MAX_SIDE))
            with _truncated_images_refused():
                image.load()  # decodes the whole file: a truncated one fails here
            # The camera's orientation, applied before its EXIF goes.
            image = ImageOps.exif_transpose(image)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError,
            Image.DecompressionBombWarning):  # fmt: skip
        raise PhotoRefused(NOT_A_PHOTO, "photo")
    if image.mode not in ("RGB", "L"):
        # Transparency on white, as the kiosk shows it.
        background = Image.new("RGB", image.size, "white")
        rgba = image.convert("RGBA")
        background.paste(rgba, mask=rgba.getchannel("A"))
        image = background
    image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    # Saved without the exif argument: no EXIF, no GPS position, no camera serial.
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def digest(stored: bytes) -> str:
    return hashlib.sha256(stored).hexdigest()


def keep(data: bytes) -> str:
    """Prepare a photo and keep it (once, whoever else has the same); its SHA-256."""
    stored = prepare(data)
    return keep_prepared(stored)


def keep_prepared(stored: bytes) -> str:
    sha = digest(stored)
    # Asked by its key only: a re-import must not read back every photo it already has.
    if db.session.scalar(select(DeputyPhoto.sha256).where(DeputyPhoto.sha256 == sha)) is None:
        db.session.add(DeputyPhoto(sha256=sha, data=stored))
        # Written now: a deputy's row names it by a plain foreign key, which the
        # session would not know to write after it.
        db.session.flush()
    return sha
