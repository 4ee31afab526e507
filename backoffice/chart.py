"""Sales over the day as server-rendered SVG line charts, one per product: units sold so far, hour
by hour. No script and no inline style (the Content-Security-Policy allows neither): presentation
attributes only, so the chart looks the same on screen, printed, and without JavaScript."""

from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

# One small chart per product (small multiples): no line hides another, and a chart this size keeps
# its 12-unit labels readable when a phone shows it at full width.
WIDTH, HEIGHT = 340, 150
LEFT, RIGHT, TOP, BOTTOM = 34, 22, 10, 26
COLOUR = "#1f5fa8"


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


def hour_range(series: list[Series], *, opening: int = 8, closing: int = 20) -> tuple[int, int]:
    """From the first hour with a sale (or opening time) to the end of the last one (or closing)."""
    busy = [h for s in series for h, units in enumerate(s.hourly) if units]
    return min([opening, *busy]), max([closing, *(h + 1 for h in busy)])


def sales_chart_svg(s: Series, *, title: str, chart_id: str, hours: tuple[int, int], top: int,
                    until: float = 24.0) -> SafeString:
    """One product's units sold so far, hour by hour, over `hours` (the same for every product of the
    day, and the same y scale up to `top`, so the small charts compare at a glance). The line stops
    at `until` (now, in hours since midnight, for today): nothing is drawn in the future."""
    first, last = hours
    step = _nice_step(max(top, 1))
    y_max = -(-max(top, 1) // step) * step
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(hour: float) -> float:
        return LEFT + plot_w * (hour - first) / (last - first)

    def y(units: int) -> float:
        return TOP + plot_h * (1 - units / y_max)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'class="sales-chart" id="{chart_id}" aria-labelledby="{chart_id}-title {chart_id}-desc">',
             f'<title id="{chart_id}-title">{escape(title)}</title>',
             f'<desc id="{chart_id}-desc">{escape(_description(s, first, last))}</desc>']
    for units in range(0, y_max + 1, step):
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(units):.1f}" y2="{y(units):.1f}" '
                     f'stroke="#dddddd" stroke-width="1"/>')
        parts.append(f'<text x="{LEFT - 5}" y="{y(units) + 4:.1f}" text-anchor="end" font-size="12" '
                     f'fill="#333333">{units}</text>')
    label_every = max(1, -(-(last - first) // 4))  # at most five hour labels
    for hour in range(first, last + 1):
        parts.append(f'<line x1="{x(hour):.1f}" x2="{x(hour):.1f}" y1="{TOP + plot_h}" y2="{TOP + plot_h + 3}" '
                     f'stroke="#333333"/>')
        if (hour - first) % label_every == 0:
            parts.append(f'<text x="{x(hour):.1f}" y="{TOP + plot_h + 17}" text-anchor="middle" font-size="12" '
                         f'fill="#333333">{hour:02d}:00</text>')
    parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + plot_h}" y2="{TOP + plot_h}" stroke="#333333"/>')
    parts.append(f'<polyline data-series="{escape(s.label)}" points="{_points(s, first, last, until, x, y)}" '
                 f'fill="none" stroke="{COLOUR}" stroke-width="2.5"><title>{escape(s.label)}: '
                 f'{s.cumulative[-1]} sold</title></polyline>')
    parts.append("</svg>")
    return mark_safe("".join(parts))


def _points(s: Series, first: int, last: int, until: float, x, y) -> str:
    """Units sold before each hour from `first`, as a step up at each hour, ending at `until`."""
    cumulative = [0, *s.cumulative]  # cumulative[h] = units sold before hour h
    end = max(float(first), min(float(last), until))
    points = [(float(h), cumulative[h]) for h in range(first, int(end) + 1)]
    if end > int(end):  # today: the hour under way, up to now, with what it sold so far
        points.append((end, cumulative[min(int(end) + 1, 24)]))
    return " ".join(f"{x(h):.1f},{y(units):.1f}" for h, units in points)


def _nice_step(top: int) -> int:
    """A tick step of 1, 2 or 5 × 10ⁿ giving at most six ticks."""
    magnitude = 1
    while True:
        for factor in (1, 2, 5):
            if top / (factor * magnitude) <= 5:
                return factor * magnitude
        magnitude *= 10


def _description(s: Series, first: int, last: int) -> str:
    return f"{s.label}: units sold so far, from {first:02d}:00 to {last:02d}:00; {s.cumulative[-1]} in all."
