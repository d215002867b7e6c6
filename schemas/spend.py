"""Marketing cost per channel: ad platforms, event invoices, a sheet. Day or month rows."""

from schemas.spec import ColumnSpec as C, SourceSpec

SPEND = SourceSpec(
    name="spend",
    title="Channel spend",
    columns=(
        C("date", "period", required=True, nullable=False, comment="Day of the cost, or first day of its month."),
        C("channel", required=True, nullable=False, comment="Raw channel value; mapped through channels.yaml."),
        C("cost", "money", required=True, nullable=False, non_negative=True, comment="Cost."),
        C("campaign", comment="Campaign name."),
        C("impressions", "count", non_negative=True, comment="Ad impressions."),
        C("clicks", "count", non_negative=True, comment="Ad clicks."),
        C("currency", comment="Currency code of cost as exported."),
    ),
)
