"""The report's charts as inline SVG built with markupsafe, which escapes every value it formats in."""

from collections.abc import Sequence

from markupsafe import Markup

from assets.report.data import FunnelRow, PlanPeriod, RoiRow
from assets.report.labels import FUNNEL_RATES, FUNNEL_STAGES, Labels, fmt_count, fmt_percent, fmt_ratio, fmt_yen


FONT = 12
ROW = 22


def _svg(width: int, height: int, label: str, body: Sequence[Markup]) -> Markup:
    return Markup('<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{w}" height="{h}" '
                  'viewBox="0 0 {w} {h}" role="img" aria-label="{label}"><title>{label}</title>{body}</svg>').format(
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


def roas_chart(rows: Sequence[RoiRow], labels: Labels) -> Markup | None:
    """ROAS per channel with spend, a bar each, and a line at 1.0 (break-even)."""
    rows = [r for r in rows if r.channel is not None and r.spend > 0]
    if not rows:
        return None
    label_w, bar_w, value_w = 200, 320, 70
    scale = max([1.0] + [r.roas for r in rows if r.roas is not None]) * 1.05
    height = len(rows) * ROW + 24
    body = []
    for i, r in enumerate(rows):
        y = i * ROW + 4
        body.append(_text(label_w - 6, y + 14, labels.channel(r.channel), "end"))
        body.append(_rect(label_w, y, bar_w * (r.roas or 0) / scale, ROW - 6,
                          "bar" if (r.roas or 0) >= 1 else "bar below"))
        body.append(_text(label_w + bar_w + 6, y + 14, fmt_ratio(r.roas)))
    x = label_w + bar_w / scale
    body.append(_line(x, 0, x, height - 18, "reference"))
    body.append(_text(x, height - 4, labels.text["break_even"], "middle", "note"))
    return _svg(label_w + bar_w + value_w, height, "ROAS", body)


def plan_chart(plan: PlanPeriod, labels: Labels) -> Markup:
    """Channel All of one target period: per stage the actual as a share of the required
    (the track is 100%), and a line at the elapsed share of the period."""
    rows = [r for r in plan.stages if r.required]
    label_w, track_w, value_w = 110, 300, 230
    height = len(rows) * ROW + 24
    body = []
    for i, r in enumerate(rows):
        y = i * ROW + 4
        share = min(float((r.actual or 0) / r.required), 1.5)
        money = r.stage == "revenue"
        body.append(_text(label_w - 6, y + 14, labels.stages[r.stage], "end"))
        body.append(_rect(label_w, y, track_w, ROW - 6, "track"))
        body.append(_rect(label_w, y, track_w * share / 1.5, ROW - 6,
                          "bar" if r.pace is None or r.pace >= 1 else "bar below"))
        fmt = fmt_yen if money else fmt_count
        body.append(_text(label_w + track_w + 6, y + 14,
                          f"{fmt(r.actual)} / {fmt(r.required)} ({labels.text['pace']} {fmt_percent(r.pace, 0)})"))
    # the track is 150% of the required: 100% sits at two thirds
    full = label_w + track_w / 1.5
    body.append(_line(full, 0, full, height - 18, "reference"))
    if plan.elapsed is None or abs(plan.elapsed - 1) > 0.15:  # else the elapsed label says it
        body.append(_text(full, height - 4, "100%", "middle", "note"))
    if plan.elapsed is not None:
        x = label_w + track_w * plan.elapsed / 1.5
        body.append(_line(x, 0, x, height - 18, "elapsed"))
        body.append(_text(x, height - 4, f"{labels.text['elapsed']} {fmt_percent(plan.elapsed, 0)}",
                          "end" if plan.elapsed > 0.5 else "start", "note"))
    return _svg(label_w + track_w + value_w, height, plan.period.label, body)
