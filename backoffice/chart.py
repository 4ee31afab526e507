"""Sales over the day as a server-rendered SVG line chart: cumulative units sold per product, hour
by hour. No script and no inline style (the Content-Security-Policy allows neither): presentation
attributes only, so the chart looks the same on screen, printed, and without JavaScript."""

from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 760, 300
LEFT, RIGHT, TOP, BOTTOM = 48, 28, 16, 36
# Distinguishable in colour and in print (dashes repeat the palette for an eleventh product on).
PALETTE = ("#1f5fa8", "#c0392b", "#2e8540", "#d35400", "#6c3483", "#7b4f2c", "#b83280", "#117a8b", "#555555",
           "#8a7d00")
DASHES = ("", "6 3", "2 3")


@dataclass(frozen=True)
class Series:
    label: str
    hourly: list[int]  # units sold in each hour 0–23

    @property
    def cumulative(self) -> list[int]:
        running, out = 0, []
        for units in self.hourly:
            running += units
            out.append(running)
        return out


def series_style(index: int) -> tuple[str, str]:
    return PALETTE[index % len(PALETTE)], DASHES[(index // len(PALETTE)) % len(DASHES)]


def hour_range(series: list[Series], *, opening: int = 8, closing: int = 20) -> tuple[int, int]:
    """From the first hour with a sale (or opening time) to the end of the last one (or closing)."""
    busy = [h for s in series for h, units in enumerate(s.hourly) if units]
    return min([opening, *busy]), max([closing, *(h + 1 for h in busy)])


def sales_chart_svg(series: list[Series], *, title: str, chart_id: str = "sales-chart",
                    until_hour: int = 24) -> SafeString:
    """`until_hour`: lines stop there (today: the hour under way), the axis still shows the day."""
    first, last = hour_range(series)
    top = max([1, *(s.cumulative[-1] for s in series)])
    step = _nice_step(top)
    y_max = -(-top // step) * step
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(hour: int) -> float:
        return LEFT + plot_w * (hour - first) / (last - first)

    def y(units: int) -> float:
        return TOP + plot_h * (1 - units / y_max)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'class="sales-chart" id="{chart_id}" aria-labelledby="{chart_id}-title {chart_id}-desc">',
             f'<title id="{chart_id}-title">{escape(title)}</title>',
             f'<desc id="{chart_id}-desc">{escape(_description(series, first, last))}</desc>']
    for units in range(0, y_max + 1, step):
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(units):.1f}" y2="{y(units):.1f}" '
                     f'stroke="#dddddd" stroke-width="1"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y(units) + 4:.1f}" text-anchor="end" font-size="12" '
                     f'fill="#333333">{units}</text>')
    for hour in range(first, last + 1):
        parts.append(f'<line x1="{x(hour):.1f}" x2="{x(hour):.1f}" y1="{TOP + plot_h}" y2="{TOP + plot_h + 4}" '
                     f'stroke="#333333"/>')
        if (hour - first) % (1 if last - first <= 14 else 2) == 0:
            parts.append(f'<text x="{x(hour):.1f}" y="{TOP + plot_h + 18}" text-anchor="middle" font-size="12" '
                         f'fill="#333333">{hour:02d}:00</text>')
    parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + plot_h}" y2="{TOP + plot_h}" stroke="#333333"/>')
    parts.append(f'<text x="{LEFT}" y="{HEIGHT - 2}" font-size="11" fill="#555555">units sold so far, by hour</text>')
    for index, s in enumerate(series):
        colour, dash = series_style(index)
        cumulative = [0, *s.cumulative]  # cumulative[h] = units sold before hour h
        points = " ".join(f"{x(h):.1f},{y(cumulative[h]):.1f}" for h in range(first, max(min(last, until_hour), first) + 1))
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(f'<polyline data-series="{escape(s.label)}" points="{points}" fill="none" stroke="{colour}" '
                     f'stroke-width="2.5"{dash_attr}><title>{escape(s.label)}: {s.cumulative[-1]} sold</title>'
                     f'</polyline>')
    parts.append("</svg>")
    return mark_safe("".join(parts))


def swatch_svg(index: int) -> SafeString:
    colour, dash = series_style(index)
    dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
    return mark_safe(f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 10" width="24" height="10" '
                     f'aria-hidden="true"><line x1="0" x2="24" y1="5" y2="5" stroke="{colour}" stroke-width="3"'
                     f'{dash_attr}/></svg>')


def _nice_step(top: int) -> int:
    """A tick step of 1, 2 or 5 × 10ⁿ giving at most six ticks."""
    magnitude = 1
    while True:
        for factor in (1, 2, 5):
            if top / (factor * magnitude) <= 5:
                return factor * magnitude
        magnitude *= 10


def _description(series: list[Series], first: int, last: int) -> str:
    if not series:
        return "No sales this day."
    totals = ", ".join(f"{s.label}: {s.cumulative[-1]}" for s in series)
    return f"Cumulative units sold from {first:02d}:00 to {last:02d}:00. Totals: {totals}."
