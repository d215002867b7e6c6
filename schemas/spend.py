"""Marketing cost per channel: ad platforms, event invoices, a sheet. Day or month rows."""

import polars as pl

from schemas.spec import ColumnSpec as C, FrameRule, SourceSpec

SPEND = SourceSpec(
    name="spend",
    title="Channel spend",
    columns=(
        C("date", "period", required=True, nullable=False, comment="Day of the cost, or first day of its month."),
        C("date_end", "date", comment="Last day of the range when the row is a total over a date range "
          "(an ad platform's report with Reporting starts/ends); NULL for day or month rows."),
        C("channel", required=True, nullable=False, comment="Raw channel value; mapped through channels.yaml."),
        C("cost", "money", required=True, nullable=False, non_negative=True, comment="Cost."),
        C("campaign", comment="Campaign name."),
        C("impressions", "count", non_negative=True, comment="Ad impressions."),
        C("clicks", "count", non_negative=True, comment="Ad clicks."),
        C("currency", comment="Currency code of cost as exported."),
    ),
    replaces_by=("date", "date_grain", "date_end", "channel", "campaign"),
    currency_of=("cost", "currency", "date"),
    frame_rules=(
        FrameRule("not_before_start:date_end", ("date_end", "date"),
                  pl.col("date_end").is_null() | (pl.col("date_end") >= pl.col("date"))),
    ),
)
