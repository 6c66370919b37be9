"""Charts as SVG drawn on the server: no script, no chart library, no CDN.

Each chart compares opinions received with those closed: the received bar
drawn pale, the closed bar dark inside it (closed is never more than
received). Every chart carries a ``<title>`` and ``<desc>`` for screen
readers, every bar its figure written beside it, and the page shows the
same figures as a table, so nothing is told by colour or shape alone.
"""

from dataclasses import dataclass
from itertools import count

from markupsafe import Markup, escape

from .services import TOP_STATIONS, Figures

_ids = count(1)


@dataclass(frozen=True)
class Bar:
    label: str
    received: int
    closed: int


def _number(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _legend(x: float, y: float) -> str:
    return (
        f'<g class="legend" transform="translate({_number(x)} {_number(y)})">'
        '<rect class="bar-received" width="12" height="12" fill="#b9cde8"/>'
        '<text x="18" y="11">收到</text>'
        '<rect class="bar-closed" x="64" width="12" height="12" fill="#1d4f91"/>'
        '<text x="82" y="11">办结</text></g>'
    )


def _frame(kind: str, width: float, height: float, title: str, desc: str, body: str) -> Markup:
    n = next(_ids)
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{kind}" role="img" '
        f'viewBox="0 0 {_number(width)} {_number(height)}" width="100%" '
        f'aria-labelledby="chart-{n}-title chart-{n}-desc">'
        f'<title id="chart-{n}-title">{escape(title)}</title>'
        f'<desc id="chart-{n}-desc">{escape(desc)}</desc>'
        f"{body}</svg>"
    )


def _describe(bars: list[Bar]) -> str:
    if not bars:
        return "没有数据。"
    return "；".join(f"{b.label}：收到 {b.received} 条，办结 {b.closed} 条" for b in bars) + "。"


def horizontal_bars(title: str, bars: list[Bar], label_width: int = 150) -> Markup:
    """One row per item (a category, a station), longest labels kept on the left."""
    width, row, top, value_room = 720, 30, 28, 110
    plot = width - label_width - value_room
    biggest = max((b.received for b in bars), default=0) or 1
    parts = [_legend(label_width, 4)]
    for i, bar in enumerate(bars):
        y = top + i * row
        received_w = plot * bar.received / biggest
        closed_w = plot * bar.closed / biggest
        parts.append(
            f'<g class="bar">'
            f'<text class="label" x="{label_width - 8}" y="{y + 17}" text-anchor="end">{escape(bar.label)}</text>'
            f'<rect class="bar-received" x="{label_width}" y="{y + 3}" width="{_number(received_w)}" height="20" fill="#b9cde8"/>'
            f'<rect class="bar-closed" x="{label_width}" y="{y + 7}" width="{_number(closed_w)}" height="12" fill="#1d4f91"/>'
            f'<text class="value" x="{_number(label_width + received_w + 6)}" y="{y + 17}">'
            f"{bar.received}（办结 {bar.closed}）</text></g>"
        )
    height = top + max(len(bars), 1) * row + 6
    if not bars:
        parts.append(f'<text class="empty" x="{label_width}" y="{top + 17}">没有数据</text>')
    return _frame("horizontal", width, height, title, _describe(bars), "".join(parts))


def columns(title: str, bars: list[Bar]) -> Markup:
    """One column per item in order (months), labels underneath."""
    width, height, top, bottom, left = 720, 260, 30, 30, 10
    plot_h = height - top - bottom - 16
    slot = (width - 2 * left) / max(len(bars), 1)
    bar_w = min(slot * 0.7, 40)
    biggest = max((b.received for b in bars), default=0) or 1
    base = height - bottom
    parts = [
        _legend(left, 4),
        f'<line class="axis" x1="{left}" y1="{base}" x2="{width - left}" y2="{base}" stroke="#8c96a3"/>',
    ]
    for i, bar in enumerate(bars):
        cx = left + slot * i + slot / 2
        x = cx - bar_w / 2
        received_h = plot_h * bar.received / biggest
        closed_h = plot_h * bar.closed / biggest
        parts.append(
            f'<g class="bar">'
            f'<rect class="bar-received" x="{_number(x)}" y="{_number(base - received_h)}" width="{_number(bar_w)}" '
            f'height="{_number(received_h)}" fill="#b9cde8"/>'
            f'<rect class="bar-closed" x="{_number(x + bar_w * 0.2)}" y="{_number(base - closed_h)}" '
            f'width="{_number(bar_w * 0.6)}" height="{_number(closed_h)}" fill="#1d4f91"/>'
            f'<text class="value" x="{_number(cx)}" y="{_number(base - received_h - 4)}" text-anchor="middle">{bar.received}</text>'
            f'<text class="label" x="{_number(cx)}" y="{base + 18}" text-anchor="middle">{escape(bar.label)}</text></g>'
        )
    return _frame("columns", width, height, title, _describe(bars), "".join(parts))


def bars_of(rows) -> list[Bar]:
    """Bars from ``kiosk.stats.services.Row``s."""
    return [Bar(r.label, r.counts.received, r.counts.closed) for r in rows]


def dashboard_charts(figures: "Figures") -> dict[str, Markup]:
    """The dashboard's charts, by section: month, category, station, and for the city township.

    Each title says whose figures and which period, as the page's heading does.
    """
    scope, period = figures.scope_label, figures.period.label
    charts = {
        "month": columns(f"{scope}{period}各月意见办理情况", bars_of(figures.by_month)),
        "category": horizontal_bars(f"{scope}{period}各类别意见办理情况", bars_of(figures.by_category)),
        "station": horizontal_bars(
            f"{scope}{period}收到意见最多的{TOP_STATIONS}个联络站", bars_of(figures.top_stations()), label_width=220
        ),
    }
    if figures.by_township:
        charts["township"] = horizontal_bars(f"全市{period}各镇街意见办理情况", bars_of(figures.by_township))
    return charts
