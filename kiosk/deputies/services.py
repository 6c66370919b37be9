"""The deputy directory's writes: one deputy from the staff page, or a whole spreadsheet.

Every change writes one audit row (subject ``deputy:ID``, the changed fields
before and after) in the same transaction; stations hear of it through the
sync change listener. A deputy is never deleted: retiring keeps their
history, and stations drop them on their next pull.

An import is one transaction per file: rows are checked one by one, a
refused row is reported and skipped, the others are written, and nothing is
committed until the whole file is done (a crash leaves nothing). A row
matches a deputy by 手机, else by 姓名 + 镇街; importing the same file again
changes nothing.
"""

import logging
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.security import check_password_hash, generate_password_hash

from .. import audit
from ..crash import crash_point
from ..extensions import db
from ..models import LEVELS, SEXES, TOWNSHIP_LEVEL, Deputy, Station, StationLevel, Township, User
from ..refusals import Refused
from ..text import clean_text
from . import photos, sheets

log = logging.getLogger(__name__)

# What a staff page or a spreadsheet may set; ``mobile`` is private.
FIELDS = (
    "name", "sex", "township_id", "level", "occupation", "mobile", "public_phone",
    "term_start", "term_end", "photo", "retired",
)  # fmt: skip
HEADERS = {
    "姓名": "name",
    "性别": "sex",
    "镇街": "township",
    "层级": "level",
    "职业": "occupation",
    "手机": "mobile",
    "公开电话": "public_phone",
    "联络站": "stations",
    "任期开始": "term_start",
    "任期结束": "term_end",
}
REQUIRED_HEADERS = ("姓名", "镇街")
# The names an office's spreadsheet may use for each level.
LEVEL_NAMES = {
    "全国": "全国", "全国人大": "全国",
    "省": "省", "省级": "省", "广东省": "省",
    "云浮市": "云浮市", "地级市": "云浮市", "市": "云浮市",
    "罗定市": "罗定市", "县级市": "罗定市", "县": "罗定市",
    "镇": "镇", "乡镇": "镇",
}  # fmt: skip
MOBILE = re.compile(r"1[3-9]\d{9}")
PHONE = re.compile(r"[0-9()（）+\- ]{5,20}")
STATION_SEPARATORS = re.compile(r"[、，,;；\s]+")
PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png"}


class DeputyRefused(Refused):
    """A deputy that cannot be saved as asked; nothing was changed."""


def subject(deputy: Deputy) -> str:
    return f"deputy:{deputy.id}"


# --- checking one deputy's values ---------------------------------------------


def digits_of(phone: str | None) -> str:
    return re.sub(r"[\s\-－—]", "", phone or "")


def check_mobile(value: str | None) -> str | None:
    mobile = digits_of(value)
    if not mobile:
        return None
    if mobile.startswith("+86"):
        mobile = mobile[3:]
    if not MOBILE.fullmatch(mobile):
        raise DeputyRefused(f"手机号码“{value}”不对（应为 11 位，以 1 开头）", "mobile")
    return mobile


def check_public_phone(value: str | None) -> str | None:
    phone = clean_text(value or "").strip()
    if not phone:
        return None
    if not PHONE.fullmatch(phone) or sum(c.isdigit() for c in phone) < 5:
        raise DeputyRefused(f"公开电话“{value}”不对", "public_phone")
    return phone


def check_level(value: str | None) -> str:
    level = LEVEL_NAMES.get((value or "").strip().removesuffix("人大代表").removesuffix("代表") or "镇")
    if level is None:
        raise DeputyRefused(f"层级“{value}”不对（应为 {'、'.join(LEVELS)}）", "level")
    return level


def check_sex(value: str | None) -> str | None:
    sex = (value or "").strip().removesuffix("性") or None
    if sex is not None and sex not in SEXES:
        raise DeputyRefused(f"性别“{value}”不对（应为 男 或 女）", "sex")
    return sex


def check_place(township: Township, level: str) -> None:
    if township.is_subdistrict and level == TOWNSHIP_LEVEL:
        raise DeputyRefused(f"{township.name}是街道，没有镇人大，不能有镇级代表", "level")


def check_term(start: date | None, end: date | None) -> None:
    if start and end and start > end:
        raise DeputyRefused("任期结束早于任期开始", "term_end")


def parse_date(value: str, label: str) -> date | None:
    text = (value or "").strip()
    if not text:
        return None
    match = re.fullmatch(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*(?:[-/.月]\s*(\d{1,2})\s*日?|月)?", text)
    try:
        if match is None:
            raise ValueError
        year, month, day = int(match[1]), int(match[2]), int(match[3] or 1)
        return date(year, month, day)
    except ValueError:
        raise DeputyRefused(f"{label}“{value}”不是日期（如 2021-10-01）", label)


# --- one deputy, from the staff page --------------------------------------------


def save_deputy(actor: User, deputy: Deputy | None, *, stations: list[Station], **values) -> Deputy:
    """Add a deputy (``deputy`` None) or change one; an audit row for what changed.

    ``values``: the names of ``FIELDS`` (photo and retired optional).
    ``stations``: the stations they are attached to.
    """
    township = db.session.get(Township, values["township_id"])
    check_place(township, values["level"])
    check_term(values.get("term_start"), values.get("term_end"))
    values["mobile"] = check_mobile(values.get("mobile"))
    values["public_phone"] = check_public_phone(values.get("public_phone"))
    if values["mobile"]:
        taken = db.session.scalar(select(Deputy).where(Deputy.mobile == values["mobile"]))
        if taken is not None and taken is not deputy:
            raise DeputyRefused(f"手机号码 {values['mobile']} 已是代表“{taken.name}”的。", "mobile")
    if deputy is None:
        deputy = Deputy(**values)
        deputy.stations = stations
        db.session.add(deputy)
        db.session.flush()
        audit.record("deputy.create", actor=actor, subject=subject(deputy), after=_audited(deputy))
        log.info("deputy.create %s by %s", subject(deputy), actor.username)
    elif _change(deputy, values, stations, actor):
        log.info("deputy.update %s by %s", subject(deputy), actor.username)
    db.session.commit()
    return deputy


def set_retired(actor: User, deputy: Deputy, retired: bool) -> bool:
    """Retire a deputy (or bring one back); False if already so."""
    changed = _change(deputy, {"retired": retired}, None, actor)
    db.session.commit()
    return changed


def set_photo(actor: User, deputy: Deputy, data: bytes | None) -> None:
    """Give a deputy a photo (checked, resized, without EXIF), or take it away (None)."""
    sha = photos.keep(data) if data is not None else None
    _change(deputy, {"photo": sha}, None, actor)
    db.session.commit()


def _audited(deputy: Deputy) -> dict:
    values = _plain({f: getattr(deputy, f) for f in FIELDS})
    values["stations"] = [s.code for s in deputy.stations]
    return values


def _plain(values: dict) -> dict:
    """Values as the audit log's JSON holds them (dates as text)."""
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in values.items()}


def _change(deputy: Deputy, values: dict, stations: list[Station] | None, actor: User | None) -> bool:
    """Set what differs and add its audit row (the caller commits); False if nothing did."""
    before = {f: getattr(deputy, f) for f, v in values.items() if getattr(deputy, f) != v}
    after = {f: values[f] for f in before}
    if stations is not None:
        old, new = [s.code for s in deputy.stations], sorted(s.code for s in stations)
        if sorted(old) != new:
            before["stations"], after["stations"] = old, new
            deputy.stations = sorted(stations, key=lambda s: s.code)
    if not before:
        return False
    for f in values:
        if f in before:
            setattr(deputy, f, values[f])
    audit.record("deputy.update", actor=actor, subject=subject(deputy), before=_plain(before), after=_plain(after))
    return True


# --- the duty PIN ----------------------------------------------------------------------

PIN = re.compile(r"\d{4,6}")


def check_pin(pin: str | None) -> str:
    if not isinstance(pin, str) or not PIN.fullmatch(pin):
        raise DeputyRefused("值班密码应为 4 到 6 位数字。", "pin")
    return pin


def hash_pin(pin: str) -> str:
    # Slow and salted, as staff passwords are: a box can be stolen with the hashes on it.
    return generate_password_hash(check_pin(pin), method="scrypt")


def pin_matches(deputy: Deputy, pin: str | None) -> bool:
    """Whether ``pin`` is this deputy's PIN; False where none is set."""
    if not deputy.pin_hash or not isinstance(pin, str) or not PIN.fullmatch(pin):
        return False
    return check_password_hash(deputy.pin_hash, pin)


def set_pin(actor: User | None, deputy: Deputy, pin: str) -> None:
    """Give a deputy a new duty PIN (4 to 6 digits), stored hashed; an audit row without it.

    Their stations receive the hash with the next pull.
    """
    deputy.pin_hash = hash_pin(pin)
    audit.record("deputy.pin", actor=actor, subject=subject(deputy), note="设置值班密码")
    db.session.commit()
    log.info("deputy.pin %s by %s", subject(deputy), actor.username if actor else "command line")


# --- a whole spreadsheet ------------------------------------------------------------


@dataclass
class ImportResult:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    refused: list[tuple[int, str]] = field(default_factory=list)

    @property
    def summary(self) -> str:
        return f"{self.added} added, {self.updated} updated, {self.unchanged} unchanged, {len(self.refused)} refused"

    def lines(self) -> list[str]:
        return [f"第{n}行：{reason}" for n, reason in sorted(self.refused)] + [self.summary]


@dataclass
class _Row:
    number: int
    values: dict
    stations: list[Station]
    key: tuple
    photo_data: bytes | None = None
    deputy: Deputy | None = None


def photo_files(folder: Path | None) -> dict[str, Path]:
    """The photos of a folder by file name without suffix (姓名, or 姓名-手机后四位)."""
    if folder is None:
        return {}
    return {p.stem.strip(): p for p in sorted(folder.iterdir()) if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES}


def import_file(
    data: bytes, photo_folder: dict[str, Path | bytes] | None = None, actor: User | None = None, township_ids=None
) -> ImportResult:
    """Import a spreadsheet's bytes: add and change deputies, one transaction.

    ``township_ids``: the townships the importer may touch (None: all);
    rows of another are refused. ``sheets.Unreadable`` if the file cannot be
    read at all (then nothing is changed).
    """
    sheet = sheets.read(data)
    missing = [h for h in REQUIRED_HEADERS if h not in sheet.header]
    if missing:
        raise sheets.Unreadable(f"第1行（表头）缺少：{'、'.join(missing)}")
    columns = {HEADERS[h]: i for i, h in enumerate(sheet.header) if h in HEADERS}
    result = ImportResult()
    townships = {t.name: t for t in db.session.scalars(select(Township))}
    by_code, by_name = station_index()
    rows: list[_Row] = []
    for number, cells in sheet.rows:
        raw = {key: (cells[i] if i < len(cells) else "") for key, i in columns.items()}
        try:
            rows.append(_check_row(number, raw, townships, by_code, by_name, township_ids))
        except DeputyRefused as refused:
            result.refused.append((number, refused.message))
    rows = _without_repeats(rows, result)
    names = {}
    for row in rows:
        names[row.values["name"]] = names.get(row.values["name"], 0) + 1
    photo_folder = photo_folder or {}
    for row in list(rows):
        try:
            row.photo_data = _photo_of(row, photo_folder, names)
        except photos.PhotoRefused as refused:
            result.refused.append((row.number, refused.message))
            rows.remove(row)
    _match(rows, result, township_ids)
    rows = _without_repeats(rows, result, by_deputy=True)
    for index, row in enumerate(rows):
        if row.photo_data is not None:
            row.values["photo"] = photos.keep_prepared(row.photo_data)
        _write(row, actor, result)
        if index == len(rows) // 2:
            db.session.flush()
            # Tests die here to prove that half a file is never kept.
            crash_point("deputies_import_midway")
    db.session.commit()
    log.info("deputies import by %s: %s", actor.username if actor else "command line", result.summary)
    return result


def _check_row(number, raw, townships, by_code, by_name, township_ids) -> _Row:
    name = clean_text(raw.get("name", "")).strip()
    if not name:
        raise DeputyRefused("没有姓名")
    if len(name) > 40:
        raise DeputyRefused("姓名太长（最多 40 字）")
    township_name = raw.get("township", "").strip()
    township = townships.get(township_name)
    if township is None:
        raise DeputyRefused(f"没有名为“{township_name}”的镇街" if township_name else "没有填镇街")
    if township_ids is not None and township.id not in township_ids:
        raise DeputyRefused(f"只能导入本镇街的代表，这一行是{township.name}的")
    level = check_level(raw.get("level"))
    check_place(township, level)
    attached = resolve_stations(raw.get("stations", ""), by_code, by_name)
    occupation = clean_text(raw.get("occupation", "")).strip() or None
    if occupation and len(occupation) > 60:
        raise DeputyRefused("职业太长（最多 60 字）")
    values = {
        "name": name,
        "sex": check_sex(raw.get("sex")),
        "township_id": township.id,
        "level": level,
        "occupation": occupation,
        "mobile": check_mobile(raw.get("mobile")),
        "public_phone": check_public_phone(raw.get("public_phone")),
        "term_start": parse_date(raw.get("term_start", ""), "任期开始"),
        "term_end": parse_date(raw.get("term_end", ""), "任期结束"),
    }
    check_term(values["term_start"], values["term_end"])
    key = ("mobile", values["mobile"]) if values["mobile"] else ("name", name, township.id)
    return _Row(number, values, attached, key)


def station_index() -> tuple[dict[str, Station], dict[str, list[Station]]]:
    """Every station by code, and by name (names may repeat); not the online one, where no deputy sits."""
    by_code, by_name = {}, {}
    for station in db.session.scalars(select(Station).where(Station.level != StationLevel.ONLINE)):
        by_code[station.code] = station
        by_name.setdefault(station.name, []).append(station)
    return by_code, by_name


def resolve_stations(text: str, by_code=None, by_name=None) -> list[Station]:
    """The stations named in ``text`` by code or name, separated by 、 or ，; sorted by code."""
    if by_code is None:
        by_code, by_name = station_index()
    attached = []
    for code in (c for c in STATION_SEPARATORS.split((text or "").strip()) if c):
        station = by_code.get(code.upper())
        if station is None:
            named = by_name.get(code, [])
            if len(named) > 1:
                raise DeputyRefused(f"有几个联络站都叫“{code}”，请写联络站编号", "stations")
            station = named[0] if named else None
        if station is None:
            raise DeputyRefused(f"没有编号或名称为“{code}”的联络站", "stations")
        if station not in attached:
            attached.append(station)
    return sorted(attached, key=lambda s: s.code)


def _without_repeats(rows: list[_Row], result: ImportResult, by_deputy: bool = False) -> list[_Row]:
    """Rows for a person no other row of the file names; the others refused, every one of them."""
    groups: dict = {}
    for row in rows:
        key = (row.deputy.id if row.deputy is not None else None) if by_deputy else row.key
        if key is not None:
            groups.setdefault(key, []).append(row)
    kept = []
    for row in rows:
        key = (row.deputy.id if row.deputy is not None else None) if by_deputy else row.key
        group = groups.get(key, [row])
        if len(group) > 1:
            others = "、".join(str(r.number) for r in group if r is not row)
            result.refused.append((row.number, f"与第{others}行是同一位代表，这几行都没有导入"))
        else:
            kept.append(row)
    return kept


def _photo_of(row: _Row, folder: dict[str, Path | bytes], names: dict[str, int]) -> bytes | None:
    name, mobile = row.values["name"], row.values["mobile"]
    path = folder.get(f"{name}-{mobile[-4:]}") if mobile else None
    if path is None and names[name] == 1:
        path = folder.get(name)
    if path is None:
        return None
    return photos.prepare(path.read_bytes() if isinstance(path, Path) else path)


def _match(rows: list[_Row], result: ImportResult, township_ids=None) -> None:
    """Find each row's deputy: by 手机, else by 姓名 + 镇街 (one without another mobile).

    A deputy of a township the importer may not touch is never changed (nor moved into theirs)."""
    mobiles = [r.values["mobile"] for r in rows if r.values["mobile"]]
    names = {r.values["name"] for r in rows}
    known = db.session.scalars(
        select(Deputy)
        .where(Deputy.mobile.in_(mobiles) | Deputy.name.in_(names))
        .options(selectinload(Deputy.stations))
    ).all()
    by_mobile = {d.mobile: d for d in known if d.mobile}
    by_name: dict[tuple, list[Deputy]] = {}
    for d in known:
        by_name.setdefault((d.name, d.township_id), []).append(d)
    for row in list(rows):
        mobile = row.values["mobile"]
        if mobile and mobile in by_mobile:
            row.deputy = by_mobile[mobile]
            if township_ids is not None and row.deputy.township_id not in township_ids:
                result.refused.append((row.number, f"手机号码 {mobile} 是其他镇街的代表的"))
                rows.remove(row)
            continue
        candidates = [
            d for d in by_name.get((row.values["name"], row.values["township_id"]), [])
            if not (mobile and d.mobile)
        ]  # fmt: skip
        if len(candidates) > 1:
            result.refused.append((row.number, f"{row.values['name']}有几位同名代表，请填手机号码以区分"))
            rows.remove(row)
        elif candidates:
            row.deputy = candidates[0]


def _write(row: _Row, actor: User | None, result: ImportResult) -> None:
    values = row.values
    if row.deputy is None:
        deputy = Deputy(**values)
        deputy.stations = row.stations
        db.session.add(deputy)
        db.session.flush()
        audit.record("deputy.create", actor=actor, subject=subject(deputy), after=_audited(deputy), note="import")
        result.added += 1
        return
    if row.photo_data is None:
        values = {k: v for k, v in values.items() if k != "photo"}
    # A phone left empty in the file does not erase one staff entered.
    if values["mobile"] is None:
        values = {k: v for k, v in values.items() if k != "mobile"}
    if _change(row.deputy, values, row.stations, actor):
        result.updated += 1
    else:
        result.unchanged += 1


# --- reading the directory -------------------------------------------------------------


def listed(station_code: str | None = None) -> list[Deputy]:
    query = select(Deputy).options(selectinload(Deputy.stations)).order_by(Deputy.id)
    if station_code is not None:
        query = query.where(Deputy.stations.any(Station.code == station_code))
    return list(db.session.scalars(query))


def as_json(deputy: Deputy, townships: dict[int, str]) -> dict:
    """A deputy for ``deputies list --json``: the public fields, and the id every command takes."""
    return {
        "id": deputy.id,
        "public_id": deputy.public_id,
        "name": deputy.name,
        "sex": deputy.sex,
        "township": townships[deputy.township_id],
        "level": deputy.level,
        "occupation": deputy.occupation,
        "stations": [s.code for s in deputy.stations],
        "public_phone": deputy.public_phone,
        "term_start": deputy.term_start.isoformat() if deputy.term_start else None,
        "term_end": deputy.term_end.isoformat() if deputy.term_end else None,
        "photo": deputy.photo,
        "retired": deputy.retired,
    }
