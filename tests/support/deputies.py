"""Spreadsheets and photos of deputies, as a township office keeps them (tests and bench)."""

import csv
import io
import random
import sqlite3
from contextlib import closing

import xlsxwriter
from PIL import Image, ImageDraw

from kiosk.deputies.services import hash_pin

HEADER = ["姓名", "性别", "镇街", "层级", "职业", "手机", "公开电话", "联络站", "任期开始", "任期结束"]


def row(name, township="罗镜镇", *, sex="男", level="镇", occupation="种养大户", mobile="", public_phone="",
        stations="LJ00", start="2021-10-01", end="2026-09-30") -> list[str]:  # fmt: skip
    return [name, sex, township, level, occupation, mobile, public_phone, stations, start, end]


def csv_bytes(rows: list[list[str]], encoding: str = "utf-8") -> bytes:
    """A CSV as a spreadsheet program saves it (``utf-8-sig`` for one with a BOM, or ``gb18030``)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list], header: list[str] = HEADER) -> bytes:
    """An XLSX with real cell types: a date cell stays a date, a mobile may be a number."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    sheet = book.add_worksheet("代表")
    dated = book.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write_row(0, 0, header)
    for r, values in enumerate(rows, start=1):
        for c, value in enumerate(values):
            if hasattr(value, "isoformat") and not isinstance(value, str):
                sheet.write_datetime(r, c, value, dated)
            else:
                sheet.write(r, c, value)
    book.close()
    return out.getvalue()


def portrait(seed: int = 0, size: tuple[int, int] = (900, 1200), kind: str = "JPEG", exif: bool = True) -> bytes:
    """A simple generated portrait (a head and shoulders on a coloured ground), with EXIF if asked."""
    rng = random.Random(seed)
    image = Image.new("RGB", size, tuple(rng.randrange(120, 230) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    w, h = size
    draw.ellipse((w * 0.3, h * 0.15, w * 0.7, h * 0.5), fill=(240, 200, 170))
    draw.rectangle((w * 0.2, h * 0.55, w * 0.8, h), fill=tuple(rng.randrange(0, 120) for _ in range(3)))
    out = io.BytesIO()
    if kind == "JPEG" and exif:
        tags = Image.Exif()
        tags[0x010F] = "CameraMaker"  # Make
        tags[0x0131] = "SecretSoftware"  # Software
        image.save(out, "JPEG", exif=tags.tobytes(), quality=90)
    else:
        image.save(out, kind)
    return out.getvalue()


def give_pin(database, deputy_id: int, pin: str) -> None:
    """Set a deputy's duty PIN hash in a station box's SQLite file, as a pull would bring it."""
    with closing(sqlite3.connect(database, timeout=10)) as conn, conn:
        conn.execute("UPDATE deputies SET pin_hash = ? WHERE id = ?", (hash_pin(pin), deputy_id))
        conn.execute("DELETE FROM limit_failures WHERE kind = 'deputy-pin' AND key = ?", (str(deputy_id),))
