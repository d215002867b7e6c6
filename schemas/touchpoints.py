"""Lead touches (optional source): form fills, webinar attendance, video views, e-mail clicks. One row per touch."""

from schemas.spec import ColumnSpec as C, SourceSpec

TOUCHPOINTS = SourceSpec(
    name="touchpoints",
    title="Lead touchpoints",
    optional=True,
    substitutes={"lead_id": ("email",)},
    columns=(
        C("lead_id", required=True, nullable=False, key_from="email",
          comment="Lead the touch belongs to (the leads export's lead_id); for a tool without ids, 'hmac:' "
          "followed by the HMAC-SHA256 of the e-mail address keyed with FUNNEL_PII_SALT, as for leads."),
        C("touched_at", "timestamp", required=True, nullable=False, comment="When the touch happened (local time)."),
        C("touch_type", required=True, nullable=False,
          comment="Kind of touch as exported (form_submission, webinar_attendance, video_view, email_click, ...)."),
        C("source", comment="Source of the touch (utm_source, or a lead-source value such as webinar); mapped to "
          "a channel in staging."),
        C("medium", comment="Medium of the touch (utm_medium)."),
        C("campaign", comment="Campaign of the touch."),
        C("content_id", comment="Content touched: video, webinar, white paper or page id."),
        C("duration_seconds", "count", non_negative=True, comment="Seconds watched or attended, if exported."),
        C("email", pii=True),
    ),
)
