"""MA lead lists (HubSpot, Marketo, Account Engagement, SATORI, ...): one row per lead."""

from schemas.spec import ColumnSpec as C, SourceSpec

LEADS = SourceSpec(
    name="leads",
    title="MA lead list",
    key=("lead_id",),
    substitutes={"lead_id": ("email",)},
    columns=(
        C("lead_id", required=True, nullable=False, key_from="email",
          comment="Lead identifier of the MA tool; for a list without one, 'hmac:' followed by the "
          "HMAC-SHA256 of the e-mail address keyed with FUNNEL_PII_SALT."),
        C("created_at", "timestamp", required=True, nullable=False, comment="When the lead was created (local time)."),
        C("lead_source", required=True, comment="Raw lead source value as exported; mapped to a channel in staging."),
        C("lead_source_detail", comment="Free-text detail of the lead source."),
        C("campaign", comment="Campaign the lead came from."),
        C("utm_source", comment="utm_source of the first conversion; used when lead_source is empty."),
        C("utm_medium", comment="utm_medium of the first conversion; used when lead_source is empty."),
        C("utm_campaign", comment="utm_campaign of the first conversion."),
        C("email", pii=True),
        C("company", comment="Company name of the lead (an organisation, not a person)."),
        C("job_title", comment="Job title as exported."),
        C("lifecycle_stage", comment="Raw lifecycle stage; mapped through stages.yaml."),
        C("lead_score", "number", comment="Lead score of the MA tool."),
        C("mql_at", "timestamp", comment="When the lead became an MQL, if exported."),
        C("sql_at", "timestamp", comment="When the lead became an SQL, if exported."),
        C("disqualified_at", "timestamp", comment="When the lead was disqualified, if exported."),
        C("owner", pii=True),
        C("updated_at", "timestamp", comment="Last modification of the record as exported."),
    ),
)
