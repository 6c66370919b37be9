"""Reading the township office's spreadsheet: CSV (UTF-8 with or without BOM, or GB18030) or XLSX.

The result is the header and the rows as text, each with its row number as
the spreadsheet shows it (the header is row 1). XLSX is read with the
standard library (it is a zip of XML files): the first worksheet, shared
and inline strings, numbers, and date cells as dates.
"""

import csv
import io
import re
import zipfile
from dataclasses import dataclass
from datetime import date, timedelta
from xml.etree import ElementTree

MAX_ROWS = 20_000
XLSX_MAGIC = b"PK\x03\x04"
NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
# Excel's day zero (its 1900 leap-year bug included).
EXCEL_EPOCH = date(1899, 12, 30)


class Unreadable(Exception):
    """The file is neither a CSV in a known encoding nor an XLSX, or has no header."""


@dataclass(frozen=True)
class Sheet:
    header: list[str]
    rows: list[tuple[int, list[str]]]


def read(data: bytes) -> Sheet:
    """The header and rows of a CSV or XLSX file's bytes; ``Unreadable`` if it is neither."""
    if data.startswith(XLSX_MAGIC):
        table = _xlsx(data)
    else:
        table = _csv(data)
    numbered = [(n, [cell.strip() for cell in row]) for n, row in enumerate(table, start=1)]
    numbered = [(n, row) for n, row in numbered if any(row)]
    if not numbered:
        raise Unreadable("文件是空的")
    if len(numbered) > MAX_ROWS:
        raise Unreadable(f"一个文件最多 {MAX_ROWS} 行")
    (_first, header), *rows = numbered
    return Sheet(header, rows)


def _csv(data: bytes) -> list[list[str]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise Unreadable("文件既不是 UTF-8 也不是 GB18030 编码的 CSV，也不是 XLSX")
    if "\x00" in text:
        raise Unreadable("文件不是文本格式的 CSV")
    try:
        return list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as error:
        raise Unreadable(f"CSV 格式不对：{error}")


def _xlsx(data: bytes) -> list[list[str]]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as book:
            shared = _shared_strings(book)
            sheet = ElementTree.fromstring(book.read(_first_sheet(book)))
            dates = _date_styles(book)
    except (zipfile.BadZipFile, KeyError, ElementTree.ParseError, ValueError) as error:
        raise Unreadable(f"XLSX 文件打不开：{error}")
    table: list[list[str]] = []
    for row in sheet.iterfind(".//m:sheetData/m:row", NS):
        number = int(row.get("r", len(table) + 1))
        while len(table) < number:
            table.append([])
        cells = table[number - 1]
        for cell in row.iterfind("m:c", NS):
            column = _column(cell.get("r", "")) if cell.get("r") else len(cells)
            while len(cells) <= column:
                cells.append("")
            cells[column] = _value(cell, shared, dates)
    return table


def _first_sheet(book: zipfile.ZipFile) -> str:
    workbook = ElementTree.fromstring(book.read("xl/workbook.xml"))
    first = workbook.find("m:sheets/m:sheet", NS)
    if first is None:
        raise ValueError("no worksheet")
    rel_id = first.get(f"{{{REL_NS}}}id")
    rels = ElementTree.fromstring(book.read("xl/_rels/workbook.xml.rels"))
    for rel in rels:
        if rel.get("Id") == rel_id:
            target = rel.get("Target", "")
            return target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    raise ValueError("worksheet not found")


def _shared_strings(book: zipfile.ZipFile) -> list[str]:
    try:
        root = ElementTree.fromstring(book.read("xl/sharedStrings.xml"))
    except KeyError:
        return []
    return ["".join(t.text or "" for t in item.iterfind(".//m:t", NS)) for item in root.iterfind("m:si", NS)]


# Excel's built-in number formats that are dates.
BUILTIN_DATE_FORMATS = set(range(14, 23)) | {45, 46, 47}


def _date_styles(book: zipfile.ZipFile) -> set[int]:
    """The cell style indexes whose number format shows a date."""
    try:
        root = ElementTree.fromstring(book.read("xl/styles.xml"))
    except KeyError:
        return set()
    custom = {
        int(f.get("numFmtId")) for f in root.iterfind("m:numFmts/m:numFmt", NS)
        if re.search(r"[yd]", re.sub(r'"[^"]*"|\[[^]]*]', "", f.get("formatCode", "")), re.I)
    }  # fmt: skip
    styles = root.find("m:cellXfs", NS)
    if styles is None:
        return set()
    return {
        index for index, xf in enumerate(styles.iterfind("m:xf", NS))
        if int(xf.get("numFmtId", 0)) in BUILTIN_DATE_FORMATS | custom
    }  # fmt: skip


def _column(ref: str) -> int:
    letters = re.match(r"[A-Z]+", ref)
    if not letters:
        raise ValueError(f"bad cell reference {ref!r}")
    index = 0
    for letter in letters.group():
        index = index * 26 + ord(letter) - 64
    return index - 1


def _value(cell, shared: list[str], dates: set[int]) -> str:
    kind = cell.get("t")
    if kind == "inlineStr":
        return "".join(t.text or "" for t in cell.iterfind(".//m:t", NS))
    raw = cell.findtext("m:v", "", NS)
    if kind == "s":
        return shared[int(raw)] if raw else ""
    if kind in ("str", "b", "e") or not raw:
        return raw
    number = float(raw)
    if int(cell.get("s", 0)) in dates:
        return (EXCEL_EPOCH + timedelta(days=int(number))).isoformat()
    # A phone number typed as a number: no ".0", no exponent.
    return str(int(number)) if number.is_integer() else raw
