"""The filtered queue as a spreadsheet: CSV (for any program) or XLSX (for Excel).

Rules:
- The rows are exactly the queue's for the same filters
  (``kiosk.staff.queue.filtered``), so township scoping holds as in the queue.
- Contact details (name, phone) are columns only for roles that may see
  them: ``kiosk.auth.scope.may_see_contacts``, the policy every other place follows too.
- Rows stream from the database in batches (``yield_per``: a server-side
  cursor on PostgreSQL), so a city's year of opinions never sits in memory.
- A cell that a spreadsheet would take for a formula (text starting with
  = + - @, or a tab or carriage return) gets a leading apostrophe: what a
  constituent typed at a kiosk must never run in a clerk's Excel.
- CSV starts with a UTF-8 byte order mark, or Excel shows Chinese as noise.
- Every export writes an audit row (who, which filters, with or without
  contact details): it takes personal data out of the system.
"""

import csv
import io
import logging
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import aliased

from .. import audit
from ..auth.scope import may_see_contacts
from ..clock import now, to_local
from ..extensions import db
from ..models import (
    Category,
    Department,
    Deputy,
    Opinion,
    OpinionStatus,
    Satisfaction,
    Station,
    Township,
    User,
    VoiceMessage,
)
from ..models.voice import seconds_of
from ..parsing import bounded_int, parse_day
from ..refusals import Refused
from ..staff.queue import QueueFilters, filtered

log = logging.getLogger(__name__)

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
COLUMNS = [
    "回执号",
    "提交时间",
    "联络站",
    "镇街",
    "类别",
    "办理状态",
    "意见内容",
    "承办部门",
    "办结期限",
    "办结日期",
    "答复内容",
    "满意度",
    "代表",
    # 说话留言: its length, and what staff wrote down of it (转写).
    "语音（秒）",
    "转写",
]
CONTACT_COLUMNS = ["联系人", "联系电话"]
BATCH = 1000
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class ExportRefused(Refused):
    """An export asked for in a way that cannot be read: nothing is exported."""


def filters_from_args(args) -> QueueFilters:
    """The queue's filters for an export, with its dates read as every date from a request is.

    ``QueueFilters.from_args`` reads the rest; a date outside 2000 to 2099
    (``kiosk.parsing.parse_day``) is left out, as an unreadable one is, and
    dates given backwards are swapped. Without dates, ``year`` (as on the
    dashboard) is that year's days; a year that cannot be read is refused,
    never taken for "every year".
    """
    start, end = parse_day(args.get("date_from")), parse_day(args.get("date_to"))
    if start and end and start > end:
        start, end = end, start
    year = (args.get("year") or "").strip()
    if year and not (start or end):
        number = bounded_int(year, 2000, 2099)
        if number is None:
            raise ExportRefused("年度无法识别：须为 2000 年至 2099 年间的年份，如 2019。没有导出任何数据。")
        start, end = date(number, 1, 1), date(number, 12, 31)
    return replace(QueueFilters.from_args(args), date_from=start, date_to=end)


def period_names(filters: QueueFilters, moment: datetime) -> tuple[str, str]:
    """What the file's name says of its period (Chinese, ASCII): the year or the dates exported,
    or, with no dates, the time of the export (everything up to then)."""
    start, end = filters.date_from, filters.date_to
    if start and end:
        if (start, end) == (date(start.year, 1, 1), date(start.year, 12, 31)):
            return f"{start.year}年", f"{start.year}"
        return f"{start:%Y-%m-%d}至{end:%Y-%m-%d}", f"{start:%Y-%m-%d}-{end:%Y-%m-%d}"
    if start:
        return f"{start:%Y-%m-%d}起", f"from-{start:%Y-%m-%d}"
    if end:
        return f"至{end:%Y-%m-%d}", f"to-{end:%Y-%m-%d}"
    return f"截至{moment:%Y-%m-%d}", f"{moment:%Y-%m-%d-%H%M}"


def safe_cell(value):
    """Text a spreadsheet would run as a formula when opening a CSV, made plain with a leading apostrophe."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


@dataclass
class ExportFile:
    chunks: Iterator[bytes]
    mimetype: str
    # 罗城街道-意见-2019年.csv, and an ASCII name for clients without RFC 6266's filename*.
    filename: str
    ascii_filename: str


def scope_name(user: User, filters: QueueFilters) -> str:
    """Whose opinions the file holds, for its name: the township, or 全市."""
    township_id = user.township_id if not user.is_city else filters.township_id
    township = db.session.get(Township, township_id) if township_id else None
    return township.name if township else "全市"


def export(user: User, filters: QueueFilters, kind: str) -> ExportFile:
    """The queue as ``user`` may see it with ``filters``, as ``kind`` (csv or xlsx)."""
    contacts = may_see_contacts(user)
    audit.record(
        "export",
        actor=user,
        subject=f"export:{kind}",
        after={"filters": filters.to_args(), "contacts": contacts},
    )
    db.session.commit()
    header = COLUMNS + (CONTACT_COLUMNS if contacts else [])
    # The query is built now, while the request's user is at hand; the rows
    # are read as the response streams, in a context of their own.
    rows = _rows(_query(user, filters, contacts), user.username)
    period, ascii_period = period_names(filters, to_local(now()))
    filename = f"{scope_name(user, filters)}-意见-{period}.{kind}"
    ascii_filename = f"opinions-{ascii_period}.{kind}"
    chunks = _xlsx(header, rows) if kind == "xlsx" else _csv(header, rows)
    return ExportFile(chunks, FORMATS[kind], filename, ascii_filename)


def _query(user: User, filters: QueueFilters, contacts: bool):
    o = aliased(Opinion, filtered(user, filters).subquery(), name="o")
    columns = [
        o.receipt_number,
        o.created_at,
        Station.name,
        Township.name,
        Category.name,
        o.status,
        o.content,
        Department.name,
        o.close_due_on,
        o.closed_at,
        o.public_reply,
        o.satisfaction,
        Deputy.name,
        VoiceMessage.duration_ms,
        VoiceMessage.transcript,
    ]
    if contacts:
        columns += [o.contact_name, o.contact_phone]
    query = (
        select(*columns)
        .outerjoin(Station, Station.code == o.station_code)
        .outerjoin(Township, Township.id == o.township_id)
        .outerjoin(Category, Category.code == o.category_code)
        .outerjoin(Department, Department.id == o.department_id)
        .outerjoin(Deputy, Deputy.id == o.deputy_id)
        .outerjoin(VoiceMessage, VoiceMessage.opinion_uuid == o.uuid)
    )
    if filters.order == "urgent":
        query = query.order_by(o.close_due_on.is_(None), o.close_due_on, o.created_at, o.uuid)
    else:
        query = query.order_by(o.created_at.desc(), o.uuid.desc())
    return query.execution_options(yield_per=BATCH)


def _rows(query, username: str) -> Iterator[list]:
    """Each opinion as the list of its cells (dates as local datetimes or dates), as held."""
    count = 0
    for row in db.session.execute(query):
        (
            number,
            created,
            station,
            township,
            category,
            status,
            content,
            department,
            due,
            closed_at,
            reply,
            rating,
            deputy,
            voice_ms,
            transcript,
        ) = row[:15]
        cells = [
            number,
            to_local(created).replace(tzinfo=None),
            station,
            township,
            category,
            OpinionStatus(status).label,
            content,
            department,
            due,
            to_local(closed_at).date() if closed_at and status == OpinionStatus.CLOSED else None,
            reply,
            Satisfaction(rating).label if rating else None,
            deputy,
            seconds_of(voice_ms) if voice_ms else None,
            transcript,
            *row[15:],
        ]
        count += 1
        yield cells
    log.info("export of %d opinions by %s", count, username)


def _text(cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, datetime):
        return f"{cell:%Y-%m-%d %H:%M}"
    return str(cell)


def _csv(header: list[str], rows: Iterator[list]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(header)
    for row in rows:
        # Only CSV needs the guard: an XLSX cell written as a string never becomes a formula.
        writer.writerow([_text(safe_cell(cell)) for cell in row])
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def _xlsx(header: list[str], rows: Iterator[list]) -> Iterator[bytes]:
    """Written to a temporary file row by row (constant memory), then streamed from it."""
    # Imported here: only an XLSX export needs it (about 40 ms to import).
    import xlsxwriter

    handle, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(handle)
    try:
        workbook = xlsxwriter.Workbook(
            path,
            {
                "constant_memory": True,
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "strings_to_numbers": False,
                "tmpdir": tempfile.gettempdir(),
            },
        )
        sheet = workbook.add_worksheet("意见建议")
        bold = workbook.add_format({"bold": True})
        when = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"})
        day = workbook.add_format({"num_format": "yyyy-mm-dd"})
        sheet.set_column(0, 0, 20)
        sheet.set_column(1, 1, 17)
        sheet.set_column(2, 2, 26)
        sheet.set_column(6, 6, 50)
        sheet.set_column(10, 10, 40)
        sheet.write_row(0, 0, header, bold)
        for r, row in enumerate(rows, start=1):
            for c, cell in enumerate(row):
                if cell is None:
                    continue
                if isinstance(cell, datetime):
                    sheet.write_datetime(r, c, cell, when)
                elif hasattr(cell, "isoformat"):
                    sheet.write_datetime(r, c, datetime(cell.year, cell.month, cell.day), day)
                else:
                    sheet.write_string(r, c, str(cell))
        workbook.close()
    except BaseException:
        os.unlink(path)
        raise
    return _file_chunks(path)


def _file_chunks(path: str) -> Iterator[bytes]:
    try:
        with open(path, "rb") as file:
            while chunk := file.read(64 * 1024):
                yield chunk
    finally:
        os.unlink(path)
