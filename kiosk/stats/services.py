"""The year's figures for a township or the whole city, the way the Luoding report counts them.

Rules:
- An opinion belongs to the period in which the constituent left it
  (``created_at``, local date); "received" counts every such opinion the hub
  holds (收集整理群众意见建议), "closed" those now 办结, and the closure rate
  is closed / received (392 条，办结 362 条，办结率 92%).
- "Accepted" (受理) counts opinions the township took on, whatever happened
  after: they have an acceptance time or a status that implies one.
- Days to close are calendar days from the hub's receipt to ``closed_at``,
  averaged over the period's closed opinions.
- Declined (不予受理) and merged (合并) opinions are not 办结: they lower the
  closure rate, so they are shown beside it, with "finished" (已办完: closed,
  declined or merged) for how many need nothing more.
- The satisfaction rate is (满意 + 基本满意) / rated, over the latest counted
  rating of each opinion; it is shown with its number of ratings, and not
  at all below ``MIN_RATED`` ratings (one 满意 is no "100%").
- The city's figures are its townships' together: every opinion at the hub
  has the township of its station.
- "Overdue now" is a state of today: it counts every overdue opinion of the
  scope whatever its year, as the queue's overdue filter does.

Whole months are read from the rollup kept per township, station,
category and local month (``kiosk.stats.rollup``), a few thousand cells
for the city's year; the days of a month a period covers only in part are
grouped from the opinions by the database. Python only adds up the
groups, never walks the opinions, so the city's dashboard stays quick over
a million opinions.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import case, exists, func, literal, literal_column, null, select, tuple_, union_all

from .. import clock
from ..extensions import db
from ..models import AssistedEntry, Category, Channel, Opinion, OpinionFigures, Satisfaction, Station, StationLevel, Township
from ..parsing import bounded_int, parse_day
from ..staff import services as staff_services
from ..staff.queue import OPEN_STATUSES
from . import rollup

# How many stations the dashboard's station chart shows.
TOP_STATIONS = 10
# Fewer ratings than this: the satisfaction rate is shown as "—" (with the count).
MIN_RATED = 3


@dataclass(frozen=True)
class Period:
    """Local dates from ``start`` to ``end``, both included."""

    start: date
    end: date

    @classmethod
    def year(cls, year: int) -> "Period":
        return cls(date(year, 1, 1), date(year, 12, 31))

    @property
    def is_year(self) -> bool:
        return self.start == date(self.start.year, 1, 1) and self.end == date(self.start.year, 12, 31)

    @property
    def label(self) -> str:
        if self.is_year:
            return f"{self.start.year}年"
        return f"{self.start:%Y-%m-%d} 至 {self.end:%Y-%m-%d}"

    def utc_bounds(self) -> tuple[datetime, datetime]:
        """[from, until) in UTC: local midnight of ``start`` to local midnight after ``end``."""
        return _local_midnight(self.start), _local_midnight(self.end + timedelta(days=1))

    def months(self) -> list[tuple[int, int]]:
        """Every (year, month) the period touches, in order."""
        result = []
        year, month = self.start.year, self.start.month
        while (year, month) <= (self.end.year, self.end.month):
            result.append((year, month))
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return result


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=clock.zone())


@dataclass
class Counts:
    """The figures of one group of opinions (a category, a station, a month, all)."""

    received: int = 0
    accepted: int = 0
    closed: int = 0
    declined: int = 0
    merged: int = 0
    # Closed opinions with both times known, and their calendar days summed.
    timed: int = 0
    days: float = 0.0
    satisfied: int = 0
    basic: int = 0
    unsatisfied: int = 0

    def add(self, other: "Counts") -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def minus(self, *others: "Counts") -> "Counts":
        """These counts without ``others`` (groups they include)."""
        left = Counts(**{name: getattr(self, name) for name in self.__dataclass_fields__})
        for other in others:
            for name in self.__dataclass_fields__:
                setattr(left, name, getattr(left, name) - getattr(other, name))
        return left

    @property
    def closure_rate(self) -> float | None:
        return self.closed / self.received if self.received else None

    @property
    def finished(self) -> int:
        """已办完: closed, declined or merged (nothing more for the township to do)."""
        return self.closed + self.declined + self.merged

    @property
    def finished_rate(self) -> float | None:
        return self.finished / self.received if self.received else None

    @property
    def average_days_to_close(self) -> float | None:
        return self.days / self.timed if self.timed else None

    @property
    def rated(self) -> int:
        return self.satisfied + self.basic + self.unsatisfied

    @property
    def satisfaction_rate(self) -> float | None:
        """(满意 + 基本满意) / rated."""
        return (self.satisfied + self.basic) / self.rated if self.rated else None

    @property
    def satisfaction_rate_shown(self) -> float | None:
        """The satisfaction rate once there are ``MIN_RATED`` ratings; None before."""
        return self.satisfaction_rate if self.rated >= MIN_RATED else None

    @property
    def satisfaction(self) -> list[tuple[str, str, int]]:
        """(value, label, count) for each rating, in the order people read them."""
        return [(s.value, s.label, getattr(self, _SATISFACTION_FIELD[s])) for s in Satisfaction]


_SATISFACTION_FIELD = {
    Satisfaction.SATISFIED: "satisfied",
    Satisfaction.BASIC: "basic",
    Satisfaction.UNSATISFIED: "unsatisfied",
}


@dataclass
class Row:
    """One line of a breakdown: what it is, what to call it, its figures."""

    key: object
    label: str
    counts: Counts = field(default_factory=Counts)
    # For stations: the township's name.
    note: str | None = None


@dataclass
class Figures:
    township: Township | None  # None: the whole city
    period: Period
    totals: Counts
    overdue_now: int
    today: date
    by_category: list[Row]
    by_station: list[Row]  # every station with opinions, most first
    by_township: list[Row]  # city only: every township, in the demo's order; else []
    by_month: list[Row]
    stations_by_level: list[tuple[str, str, int]]  # (level, label, count)
    # Kiosk, assisted entry, phone (``Channel``), in that order.
    by_channel: list[Row] = field(default_factory=list)

    @property
    def scope_label(self) -> str:
        return self.township.name if self.township else "全市"

    @property
    def stations_total(self) -> int:
        return sum(n for _level, _label, n in self.stations_by_level)

    def top_stations(self, n: int = TOP_STATIONS) -> list[Row]:
        return self.by_station[:n]


def percent(rate: float | None) -> str:
    """92% style, rounded half up to a whole percent; "—" when there is nothing to divide."""
    if rate is None:
        return "—"
    return f"{int(rate * 100 + 0.5)}%"


def figures(
    township_id: int | None, period: Period, today: date | None = None, rollup_cells: bool = True
) -> Figures:
    """The figures of one township (or the city, with None) for ``period``.

    The caller has checked that the user may see ``township_id``
    (``kiosk.auth.scope.township_or_404``). ``rollup_cells=False`` counts
    every opinion again instead of reading the rollup (to check it).
    """
    today = today or clock.today()
    township = db.session.get(Township, township_id) if township_id is not None else None
    stations = {
        code: (name, tid)
        for code, name, tid in db.session.execute(
            _scoped(select(Station.code, Station.name, Station.township_id), Station.township_id, township_id)
        )
    }
    township_names = dict(db.session.execute(select(Township.id, Township.name)).all())
    categories = list(
        db.session.execute(select(Category.code, Category.name).order_by(Category.position, Category.code))
    )
    months = period.months()

    totals = Counts()
    by_category = {code: Row(code, name) for code, name in categories}
    by_station: dict[str, Row] = {}
    by_month = {m: Row(m, f"{m[0]}年{m[1]}月" if len(months) > 12 else f"{m[1]}月") for m in months}
    by_township: dict[int, Row] = {}
    if township_id is None:
        by_township = {tid: Row(tid, name) for tid, name in sorted(township_names.items())}

    by_station_counts, by_category_month = _grouped_counts(
        [township_id] if township_id is not None else list(township_names), period, months, rollup_cells
    )
    for (category_code, month_index), counts in by_category_month.items():
        totals.add(counts)
        row = by_category.get(category_code)
        if row is None:  # a category since removed
            row = by_category[category_code] = Row(category_code, category_code)
        row.counts.add(counts)
        if month_index is not None:
            by_month[months[month_index]].counts.add(counts)
    online = set(
        db.session.scalars(
            _scoped(select(Station.code).where(Station.level == StationLevel.ONLINE), Station.township_id, township_id)
        )
    )
    by_phone = Counts()
    for station_code, counts in by_station_counts.items():
        name, tid = stations.get(station_code, (station_code, None))
        by_station[station_code] = Row(station_code, name, counts=counts, note=township_names.get(tid))
        if township_id is None and tid in by_township:
            by_township[tid].counts.add(counts)
        if station_code in online:
            by_phone.add(counts)
    townships = [township_id] if township_id is not None else list(township_names)
    assisted, suggested = _assisted_counts(townships, period), _suggestion_counts(townships, period)
    by_channel = [
        Row(Channel.KIOSK.value, Channel.KIOSK.label, counts=totals.minus(assisted, by_phone, suggested)),
        Row(Channel.ASSISTED.value, Channel.ASSISTED.label, counts=assisted),
        Row(Channel.PHONE.value, Channel.PHONE.label, counts=by_phone),
        Row(Channel.DESK.value, Channel.DESK.label, counts=suggested),
    ]

    return Figures(
        township=township,
        period=period,
        totals=totals,
        overdue_now=overdue_now(township_id, today),
        today=today,
        by_category=list(by_category.values()),
        by_station=sorted(by_station.values(), key=lambda r: (-r.counts.received, r.key)),
        by_township=list(by_township.values()),
        by_month=list(by_month.values()),
        stations_by_level=stations_by_level(township_id),
        by_channel=by_channel,
    )


def _assisted_counts(township_ids: list[int], period: Period) -> Counts:
    """The figures of the period's opinions a deputy on duty typed for someone (代为录入).

    Read from the assisted entries, a few a duty day, joined to their
    opinions: never a pass over the period's opinions. Phone opinions are
    the online stations' (every station's figures are kept already), and
    the kiosk's are the rest.
    """
    start, until = period.utc_bounds()
    query = (
        select(*rollup.counted(Opinion))
        .select_from(AssistedEntry)
        .join(Opinion, Opinion.uuid == AssistedEntry.opinion_uuid)
        .where(Opinion.township_id.in_(township_ids), Opinion.created_at >= start, Opinion.created_at < until)
    )
    return _counts(db.session.execute(query).one())


def _suggestion_counts(township_ids: list[int], period: Period) -> Counts:
    """The figures of the period's 一键通 suggestions: deputies' own, filed under a
    township's central station, so never counted as the kiosk's. Read through
    the index of their deputies, a few rows among all the opinions."""
    start, until = period.utc_bounds()
    query = select(*rollup.counted(Opinion)).where(
        Opinion.suggesting_deputy_id.is_not(None),
        Opinion.township_id.in_(township_ids),
        Opinion.created_at >= start,
        Opinion.created_at < until,
    )
    return _counts(db.session.execute(query).one())


def _scoped(query, column, township_id: int | None):
    return query if township_id is None else query.where(column == township_id)


def _grouped_counts(
    township_ids: list[int], period: Period, months: list[tuple[int, int]], rollup_cells: bool = True
) -> tuple[dict[str, Counts], dict[tuple[str, int | None], Counts]]:
    """Counts of the townships' opinions by station, and by category and month index.

    Whole months come from the rollup (``kiosk.stats.rollup``), a few
    hundred cells a month for the city; the days of a month the period
    covers only in part are grouped from the opinions themselves.
    ``rollup_cells=False`` counts everything from the opinions (the
    rollup's own check).
    """
    by_station: dict[str, Counts] = {}
    by_category_month: dict[tuple[str, int | None], Counts] = {}

    def merge(stations, categories):
        for key, counts in stations.items():
            by_station.setdefault(key, Counts()).add(counts)
        for key, counts in categories.items():
            by_category_month.setdefault(key, Counts()).add(counts)

    whole = [m for m in months if period.start <= date(*m, 1) and _month_end(m) <= period.end] if rollup_cells else []
    if whole:
        rollup.catch_up()
        merge(*_from_rollup(township_ids, whole, months))
    for part in _parts_not_in(period, whole):
        offset = months.index((part.start.year, part.start.month))
        merge(*_from_opinions(township_ids, part, part.months(), offset))
    return by_station, by_category_month


def _month_end(month: tuple[int, int]) -> date:
    year, m = month
    return date(year + (m == 12), m % 12 + 1, 1) - timedelta(days=1)


def _parts_not_in(period: Period, whole: list[tuple[int, int]]) -> list[Period]:
    """The runs of the period's days outside the ``whole`` months (none, one or two, or all of it)."""
    if not whole:
        return [period]
    parts = []
    first, last = date(*whole[0], 1), _month_end(whole[-1])
    if period.start < first:
        parts.append(Period(period.start, first - timedelta(days=1)))
    if last < period.end:
        parts.append(Period(last + timedelta(days=1), period.end))
    return parts


def _counts(values) -> Counts:
    received, accepted, closed_n, declined, merged, timed_n, days, satisfied, basic, unsatisfied = values
    return Counts(
        received, accepted, closed_n, declined, merged, timed_n, float(days or 0), satisfied, basic, unsatisfied
    )


def _from_rollup(township_ids: list[int], whole: list[tuple[int, int]], months: list[tuple[int, int]]):
    """By station, and by category and month index, summed from the rollup's cells of the ``whole`` months.

    One pass over the cells on PostgreSQL (GROUPING SETS), two GROUP BYs
    joined by UNION ALL on SQLite, as ``_from_opinions`` does.
    """
    f = OpinionFigures
    sums = [func.sum(getattr(f, name)) for name in rollup.COUNT_COLUMNS]
    scope = (f.township_id.in_(township_ids), f.month >= date(*whole[0], 1), f.month <= date(*whole[-1], 1))
    if db.session.get_bind().dialect.name == "postgresql":
        query = (
            select(func.grouping(f.station_code), f.station_code, f.category_code, f.month, *sums)
            .where(*scope)
            .group_by(func.grouping_sets(tuple_(f.station_code), tuple_(f.category_code, f.month)))
        )
    else:
        query = union_all(
            select(literal(0), f.station_code, null(), null(), *sums).where(*scope).group_by(f.station_code),
            select(literal(1), null(), f.category_code, f.month, *sums)
            .where(*scope)
            .group_by(f.category_code, f.month),
        )
    by_station: dict[str, Counts] = {}
    by_category_month: dict[tuple[str, int | None], Counts] = {}
    for not_by_station, station, category, month, *values in db.session.execute(query):
        if not_by_station:
            month = date.fromisoformat(month) if isinstance(month, str) else month
            by_category_month[category, months.index((month.year, month.month))] = _counts(values)
        else:
            by_station[station] = _counts(values)
    return by_station, by_category_month


def _from_opinions(township_ids: list[int], period: Period, months: list[tuple[int, int]], offset: int = 0):
    """By station, and by category and month index (plus ``offset``), grouped from the opinions in one statement.

    PostgreSQL groups both ways in one pass (GROUPING SETS), so a few
    hundred rows come back whatever the number of opinions; SQLite, which
    has no grouping sets, runs the same two GROUP BYs joined by UNION ALL.
    Every total is a sum of the category and month groups.
    """
    start, until = period.utc_bounds()
    # The local month as a CASE over its UTC boundaries: the same on every
    # database, and right in any time zone.
    ends = [_local_midnight(date(y + (m == 12), m % 12 + 1, 1)) for y, m in months]
    month = case(
        *((Opinion.created_at < end, literal_column(str(i))) for i, end in enumerate(ends)), else_=None
    )
    rows = select(
        Opinion.station_code,
        Opinion.category_code,
        month.label("month_index"),
        Opinion.status,
        Opinion.accepted_at,
        Opinion.closed_at,
        Opinion.hub_received_at,
        Opinion.satisfaction,
    ).where(
        # Township first: PostgreSQL reads each township's year from
        # ix_opinions_township_figures alone, one range after another.
        Opinion.township_id.in_(township_ids),
        Opinion.created_at >= start,
        Opinion.created_at < until,
    )
    postgresql = db.session.get_bind().dialect.name == "postgresql"
    if postgresql:
        # OFFSET 0 keeps the subquery whole, so the planner reckons with its
        # month as a column of a dozen values, not with one group per
        # created_at (which would make it sort every row instead of hashing).
        rows = rows.offset(0)
    o = rows.subquery("year")
    numbers = rollup.counted(o.c)
    if postgresql:
        # grouping(station_code) is 0 on the rows grouped by station.
        query = select(
            func.grouping(o.c.station_code), o.c.station_code, o.c.category_code, o.c.month_index, *numbers
        ).group_by(func.grouping_sets(tuple_(o.c.station_code), tuple_(o.c.category_code, o.c.month_index)))
    else:
        query = union_all(
            select(literal(0), o.c.station_code, null(), null(), *numbers).group_by(o.c.station_code),
            select(literal(1), null(), o.c.category_code, o.c.month_index, *numbers).group_by(
                o.c.category_code, o.c.month_index
            ),
        )
    by_station: dict[str, Counts] = {}
    by_category_month: dict[tuple[str, int | None], Counts] = {}
    for not_by_station, station, category, month_index, *values in db.session.execute(query):
        if not_by_station:
            by_category_month[category, None if month_index is None else month_index + offset] = _counts(values)
        else:
            by_station[station] = _counts(values)
    return by_station, by_category_month


def overdue_now(township_id: int | None, today: date) -> int:
    """Opinions of the scope overdue today, whatever their year (the queue's overdue filter)."""
    # The explicit open statuses let the queue index (township, status, …)
    # narrow first, as the queue's own overdue filter does.
    query = (
        select(func.count())
        .select_from(Opinion)
        .where(Opinion.status.in_(OPEN_STATUSES), staff_services.overdue_condition(today))
    )
    return db.session.scalar(_scoped(query, Opinion.township_id, township_id))


def townships_offered(user) -> list[tuple[int, str]]:
    """(id, name) of the townships the dashboard offers to choose: all for city staff, none for others."""
    if not user.is_city:
        return []
    return list(db.session.execute(select(Township.id, Township.name).order_by(Township.id)))


def years_offered(township_id: int | None, shown: Period) -> list[int]:
    """The years the dashboard offers, latest first: those with opinions in the scope, and the year shown.

    A few index probes (the first and last opinion, then one per year
    between), never a scan of the opinions.
    """
    bounds = _scoped(select(func.min(Opinion.created_at), func.max(Opinion.created_at)), Opinion.township_id, township_id)
    first, last = db.session.execute(bounds).one()
    years = {shown.start.year} if shown.is_year else set()
    if first is not None:
        for year in range(clock.to_local(first).year, clock.to_local(last).year + 1):
            start, until = Period.year(year).utc_bounds()
            held = exists().where(Opinion.created_at >= start, Opinion.created_at < until)
            if township_id is not None:
                held = held.where(Opinion.township_id == township_id)
            if db.session.scalar(select(held)):
                years.add(year)
    return sorted(years, reverse=True)


def stations_by_level(township_id: int | None) -> list[tuple[str, str, int]]:
    """(level, label, count) of the scope's stations: 中心联络站, 联络站, 联络点 (the online one has no box)."""
    query = _scoped(
        select(Station.level, func.count()).group_by(Station.level), Station.township_id, township_id
    )
    counts = dict(db.session.execute(query).all())
    return [(level.value, level.label, counts.get(level.value, 0)) for level in StationLevel.with_box()]


# The first year the dashboard offers (the stations opened in 2015).
FIRST_YEAR = 2015
# The longest period the dashboard counts at once: ten years, month by month.
MAX_MONTHS = 120


def period_from_args(args, today: date) -> tuple[Period, str | None]:
    """The period asked for, and a notice in Chinese when the request was not taken as it was.

    Rules: ``date_from``/``date_to`` (either may be left out: from 2015, or
    to today; given backwards, they are swapped), else ``year`` (2015 to this
    year), else this year. A date must be a real day between 2000 and 2099
    (``kiosk.parsing.parse_day``); one that is not is ignored. A period
    longer than ``MAX_MONTHS`` months keeps its last ``MAX_MONTHS`` months.
    Never an error.
    """
    asked = [args.get(name) for name in ("date_from", "date_to")]
    start, end = (parse_day(value) for value in asked)
    unreadable = any((value or "").strip() for value in asked) and not (start or end)
    if start or end:
        start = start or date(FIRST_YEAR, 1, 1)
        end = end or today
        start, end = min(start, end), max(start, end)
        first = _months_before(end, MAX_MONTHS - 1)
        if start < first:
            period = Period(first, end)
            return period, (
                f"一次最多统计 {MAX_MONTHS // 12} 年（{MAX_MONTHS} 个月）。"
                f"所选时间段太长，只统计最后 {MAX_MONTHS // 12} 年：{period.label}。"
            )
        return Period(start, end), None
    year = bounded_int(args.get("year"), FIRST_YEAR, today.year) or today.year
    notice = None
    if unreadable:
        notice = f"日期无法识别（须为 2000 年至 2099 年间的日期，如 {today.isoformat()}），已按{year}年统计。"
    return Period.year(year), notice


def _months_before(day: date, months: int) -> date:
    """The first day of the month ``months`` months before ``day``'s month."""
    index = day.year * 12 + day.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)
