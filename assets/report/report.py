"""published warehouse -> the funnel report: one self-contained HTML file per run (issue 6).

First, the headline the marketing manager reads (assets/report/headline.py): the current target
period, revenue against its target with the pace, the forecast at that pace, the biggest bottleneck,
how fresh the data is (with a warning when it ends before yesterday) and month over month.

Then, over the latest `months` months of data (config/report.yaml, default 12):
the funnel per channel with every conversion rate next to the counts behind it, spend,
CPA, CAC, ROAS and ROI per channel, the target plan of the current target period
(marts.target_plan, channel All stage by stage and every channel's revenue) against the
actual with its pace, and the bottlenecks of marts.bottlenecks with the flagged
transitions highlighted; the top of the funnel (ad impressions -> clicks -> sessions per channel) and the
video funnel and ROI per YouTube video; then attribution by model, cohort ROI with LTV:CAC and pipeline
velocity (assets/report/sections.py), each left out when its mart is empty.

Money is whole yen (rounded half up); CPA, CAC, ROAS and ROI are – where there is no spend. The page
fits a phone's width (390 px): tables scroll inside their own box and the charts scale down.

Every number comes from the marts. Sums over the months are taken in SQL and every
rate, ROAS, ROI, CPA and CAC of a sum is computed with the metric macros of
assets/sql/metric_macros.sql (the one definition of each); money stays DECIMAL and is
printed from the exact value. The charts are inline SVG drawn here; the page loads
nothing (its Content-Security-Policy forbids any fetch), so it opens offline and can be
mailed as one file. Every value from the data or the configuration is HTML-escaped:
the template autoescapes and the SVG is built with markupsafe, which escapes every
argument it formats in.

Labels are Japanese by default, English with `language: en` in config/report.yaml;
channel labels come from config/channels.yaml (`label_ja`; in English `label_en`, else
the channel name).
"""

import os
from datetime import datetime
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

import dagster as dg
import jinja2
from pydantic import Field

from assets.core import settings
from assets.core.resource import FunnelResource
from assets.report.charts import funnel_chart, plan_chart, roas_chart
from assets.report.data import BottleneckRow, BottleneckSummary, ReportData, read_report_data
from assets.report.headline import build_headline
from assets.report.labels import (DASH, FUNNEL_RATES, FUNNEL_STAGES, MODELS, TRANSITIONS, Labels, fmt_count, fmt_days,
                                  fmt_month, fmt_percent, fmt_rate, fmt_ratio, fmt_signed_count, fmt_signed_percent,
                                  fmt_signed_yen, fmt_yen)
from schemas.config import ChannelsConfig, ConfigError, _Strict, load_yaml_model

TEMPLATE_DIR = Path(__file__).parent / "templates"
TEMPLATE = "funnel_report.html.j2"


# --------------------------------------------------------------------------- configuration


class ReportConfig(_Strict):
    language: Literal["ja", "en"] = "ja"
    months: int = Field(default=12, ge=1, le=120)


def load_report_config(config_dir: str | Path) -> ReportConfig:
    """`<config>/report.yaml` when present (it is optional), else the defaults. A wrong
    value raises ConfigError naming the file and the key."""
    path = Path(config_dir) / "report.yaml"
    return load_yaml_model(path, ReportConfig) if path.is_file() else ReportConfig()


# --------------------------------------------------------------------------- the page


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATE_DIR), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(count=fmt_count, yen=fmt_yen, percent=fmt_percent, ratio=fmt_ratio, month=fmt_month,
                       days=fmt_days, signed_yen=fmt_signed_yen, signed_count=fmt_signed_count,
                       signed_percent=fmt_signed_percent)
    return env


def render_report(data: ReportData, channels: ChannelsConfig, language: str, generated_at: datetime) -> str:
    """The page. `generated_at` is now in the pipeline time zone: its day is the today of the headline."""
    labels = Labels(language, channels)
    by_channel = lambda r: labels.channel_sort_key(r.channel)  # noqa: E731
    funnel = sorted((r for r in data.funnel if not r.is_empty() or r.channel is None), key=by_channel)
    roi = sorted((r for r in data.roi if r.spend or r.revenue or r.leads or r.channel is None), key=by_channel)
    summary: dict[str, dict[str, BottleneckSummary]] = {}
    for s in data.bottleneck_summary:
        summary.setdefault(s.channel, {})[s.transition] = s
    # each channel's transition flagged in the most months (then: losing the most revenue in them)
    top = {c: max(cells.values(), key=lambda s: (s.months_flagged, s.lost_revenue, -TRANSITIONS.index(s.transition)))
           for c, cells in summary.items()}
    top = {c: s for c, s in top.items() if s.months_flagged}
    detail: dict[str, dict[str, BottleneckRow]] = {}
    for r in data.bottlenecks:
        detail.setdefault(r.channel, {})[r.transition] = r
    return _environment().get_template(TEMPLATE).render(
        lang=language, t=labels.text, labels=labels, data=data,
        generated_at=f"{generated_at:%Y-%m-%d %H:%M %Z}",
        funnel=funnel,
        funnel_charts=[(r, funnel_chart(r, labels)) for r in funnel if r.channel is not None],
        funnel_stages=FUNNEL_STAGES, funnel_rates=FUNNEL_RATES,
        roi=roi, roas_chart=roas_chart(roi, labels),
        plans=[(p, sorted(p.channels, key=lambda r: labels.channel_sort_key(r.channel)), plan_chart(p, labels))
               for p in data.plans],
        transitions=TRANSITIONS,
        bottleneck_channels=sorted(summary, key=labels.channel_sort_key),
        bottleneck_summary=summary, bottleneck_top=top,
        bottleneck_detail=[(c, detail[c]) for c in sorted(detail, key=labels.channel_sort_key)],
        fmt_rate=fmt_rate,
        h=build_headline(data, generated_at.date()),
        freshness=sorted(data.freshness, key=lambda f: labels.source_sort_key(f.source)),
        models=MODELS,
        attribution=sorted(data.attribution, key=by_channel) if any(r.channel for r in data.attribution) else [],
        cohorts=sorted(data.cohorts, key=by_channel) if any(r.channel for r in data.cohorts) else [],
        velocity=sorted(data.velocity, key=by_channel),
        top_funnel=sorted(data.top_funnel, key=by_channel),
        videos=data.videos,
    )


def write_report(path: Path, html: str, run_id: str) -> None:
    """Write `html` to `path` through a temporary file renamed over it: a reader never sees half a page."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{run_id}.tmp")
    try:
        tmp.write_text(html, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@dg.asset(
    key=["report", "funnel_report"],
    deps=[dg.AssetKey(["published", "funnel_duckdb"])],
    group_name="report",
    kinds={"html"},
    owners=settings.owners(),
    description="The funnel report: one self-contained HTML file (charts embedded, opens offline) in the "
    "`report` folder beside the warehouse, named after it (`data/warehouse/report/funnel_report.html` for "
    "`data/warehouse/funnel.duckdb`), rewritten after each publish. Over the latest "
    "months of data (config/report.yaml): the funnel per channel with conversion rates and the counts behind them, "
    "ROI and ROAS per channel, ad impressions to clicks to sessions, the funnel and ROI of each YouTube video, "
    "the target plan of the current target period against the actual with pace, and the bottlenecks highlighted. "
    "Japanese by default, English with `language: en`.\n\nPython: `assets/report/`",
)
def funnel_report(context: dg.AssetExecutionContext, funnel: FunnelResource) -> dg.MaterializeResult:
    try:
        report_config = load_report_config(funnel.config_dir)
    except ConfigError as exc:
        raise dg.Failure(description=str(exc)) from None
    channels = funnel.load_config().channels
    with funnel.connect() as con:
        data = read_report_data(con, report_config.months, context.run.run_id)
    generated_at = datetime.now(ZoneInfo(funnel.timezone))
    path = settings.report_path(funnel.warehouse_path).resolve()
    write_report(path, render_report(data, channels, report_config.language, generated_at), context.run.run_id)
    context.log.info(f"funnel report {path} ({data.period_label})")
    return dg.MaterializeResult(metadata={
        "path": dg.MetadataValue.path(str(path)),
        "url": dg.MetadataValue.url(path.as_uri()),
        "size_bytes": path.stat().st_size,
        "period": data.period_label,
        "language": report_config.language,
        "target_periods": ", ".join(p.period.label for p in data.plans) or DASH,
        "held_back": ", ".join(sorted({h.source for h in data.held_back})) or "none",
    })
