"""SFA/CRM opportunities (Salesforce, HubSpot deals, ...): one row per deal."""

from schemas.spec import ColumnSpec as C, SourceSpec

DEALS = SourceSpec(
    name="deals",
    title="SFA/CRM deals",
    key=("deal_id",),
    columns=(
        C("deal_id", required=True, nullable=False, comment="Deal (opportunity) identifier of the CRM."),
        C("created_at", "timestamp", required=True, nullable=False, comment="When the deal was created (local time)."),
        C("stage", required=True, nullable=False, comment="Raw deal stage; mapped to open/won/lost through stages.yaml."),
        C("lead_id", key_from="contact_email",
          comment="The MA lead this deal came from, when linked; else the HMAC of contact_email, which matches the "
          "key of a lead list keyed by e-mail."),
        C("contact_email", pii=True),
        C("deal_source", comment="Raw source of the deal itself; used when no lead links."),
        C("amount", "money", non_negative=True, comment="Deal amount."),
        C("currency", comment="Currency code of amount as exported."),
        C("close_date", "date", future_ok=True, comment="Close date (actual for won/lost deals)."),
        C("company", comment="Account name (an organisation, not a person)."),
        C("owner", pii=True),
        C("pipeline", comment="CRM pipeline name."),
        C("updated_at", "timestamp", comment="Last modification of the record as exported."),
    ),
)
