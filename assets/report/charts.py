"""The report's charts as inline SVG built with markupsafe, which escapes every value it formats in."""

from collections.abc import Sequence

from markupsafe import Markup

from assets.report.data import FunnelRow, PlanPeriod, RoiRow
from assets.report.labels import FUNNEL_RATES, FUNNEL_STAGES, Labels, fmt_count, fmt_percent, fmt_ratio, fmt_yen


FONT = 12
ROW = 22


def _svg(width: int, height: int, label: str, body: Sequence[Markup]) -> Markup:
    """Fluid: the viewBox keeps the drawing, the page's CSS makes it 100% wide (height in proportion) and
    the style attribute keeps it from growing past the width it is drawn at, so it shrinks on a phone."""
    return Markup('<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {w} {h}" '
                  'style="max-width: {w}px" preserveAspectRatio="xMinYMin meet" role="img" aria-label="{label}">'
                  '<title>{label}</title>{body}</svg>').format(
        w=width, h=height, label=label, body=Markup("").join(body))


def _text(x: float, y: float, text: str, anchor: str = "start", cls: str = "") -> Markup:
    return Markup('<text x="{:.1f}" y="{:.1f}" text-anchor="{}" class="{}">{}</text>').format(x, y, anchor, cls, text)


def _rect(x: float, y: float, w: float, h: float, cls: str) -> Markup:
    return Markup('<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" class="{}"/>').format(
        x, y, max(w, 0.0), h, cls)


def _line(x1: float, y1: float, x2: float, y2: float, cls: str) -> Markup:
    return Markup('<line x1="{:.1f}" y1="{:.1f}" x2="{:.1f}" y2="{:.1f}" class="{}"/>').format(x1, y1, x2, y2, cls)


def funnel_chart(row: FunnelRow, labels: Labels) -> Markup:
    """One channel's funnel from leads to wins: centred bars scaled to its largest stage,
    each with its count and the rate from the stage above."""
    stages = FUNNEL_STAGES[1:]
    rate_into = {later: rate for rate, later, _ in FUNNEL_RATES}
    label_w, bar_w, value_w = 90, 180, 110
    top = max(row.counts[s] for s in stages) or 1
    body = []
    for i, stage in enumerate(stages):
        y = i * ROW + 4
        n = row.counts[stage]
        w = bar_w * n / top
        body.append(_text(label_w - 6, y + 14, labels.stages[stage], "end"))
        body.append(_rect(label_w + (bar_w - w) / 2, y, w, ROW - 6, "bar"))
        rate = row.rates[rate_into[stage]] if stage != "leads" else None
        value = fmt_count(n) + ("" if rate is None else f" ({fmt_percent(rate)})")
        body.append(_text(label_w + bar_w + 6, y + 14, value))
    return _svg(label_w + bar_w + value_w, len(stages) * ROW + 6, labels.channel(row.channel), body)


# The ROAS and plan charts write each row's caption above its bar, so that they are narrow enough to stay
# legible when a phone shrinks them (390 px): WIDE px wide, a row of STACK px.
WIDE = 400
STACK = 36


def _row(y: float, caption: str, value: float, cls: str) -> list[Markup]:
    """A caption, and under it a bar `value` (0 .. 1) of the width on a track."""
    return [_text(0, y + 13, caption), _rect(0, y + 18, WIDE, 12, "track"), _rect(0, y + 18, WIDE * value, 12, cls)]


def _marker(x: float, n_rows: int, cls: str) -> list[Markup]:
    """A vertical line at x through the bar of every row (not through the captions)."""
    return [_line(x, i * STACK + 16, x, i * STACK + 32, cls) for i in range(n_rows)]


def _marker_label(x: float, y: float, text: str) -> Markup:
    anchor = "start" if x < WIDE * 0.2 else "end" if x > WIDE * 0.8 else "middle"
    return _text(x, y, text, anchor, "note")


def roas_chart(rows: Sequence[RoiRow], labels: Labels) -> Markup | None:
    """ROAS per channel with spend, a bar each, and a line at 1.0 (break-even)."""
    rows = [r for r in rows if r.channel is not None and r.spend > 0]
    if not rows:
        return None
    scale = max([1.0] + [r.roas for r in rows if r.roas is not None]) * 1.05
    height = len(rows) * STACK + 20
    body = []
    for i, r in enumerate(rows):
        body += _row(i * STACK, f"{fmt_ratio(r.roas)} · {labels.channel(r.channel)}", (r.roas or 0) / scale,
                     "bar" if (r.roas or 0) >= 1 else "bar below")
    x = WIDE / scale
    body += _marker(x, len(rows), "reference")
    body.append(_marker_label(x, height - 4, labels.text["break_even"]))
    return _svg(WIDE, height, "ROAS", body)


def plan_chart(plan: PlanPeriod, labels: Labels) -> Markup:
    """Channel All of one target period: per stage the actual as a share of the required
    (the track is 150% of it, 100% at two thirds), and a line at the elapsed share of the period."""
    rows = [r for r in plan.stages if r.required]
    height = len(rows) * STACK + 20
    body = []
    for i, r in enumerate(rows):
        share = min(float((r.actual or 0) / r.required), 1.5)
        fmt = fmt_yen if r.stage == "revenue" else fmt_count
        caption = (f"{labels.stages[r.stage]} {fmt(r.actual)} / {fmt(r.required)} "
                   f"({labels.text['pace']} {fmt_percent(r.pace, 0)})")
        body += _row(i * STACK, caption, share / 1.5, "bar" if r.pace is None or r.pace >= 1 else "bar below")
    full = WIDE / 1.5
    body += _marker(full, len(rows), "reference")
    if plan.elapsed is None or abs(plan.elapsed - 1) > 0.15:  # else the elapsed label says it
        body.append(_marker_label(full, height - 4, "100%"))
    if plan.elapsed is not None:
        x = WIDE * plan.elapsed / 1.5
        body += _marker(x, len(rows), "elapsed")
        body.append(_text(x, height - 4, f"{labels.text['elapsed']} {fmt_percent(plan.elapsed, 0)}",
                          "end" if plan.elapsed > 0.5 else "start", "note"))
    return _svg(WIDE, height, plan.period.label, body)
