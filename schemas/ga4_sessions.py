"""GA4 traffic exports: aggregate rows, day x source x medium (x campaign, landing page...)."""

import polars as pl

from schemas.spec import ColumnSpec as C, FrameRule, SourceSpec

GA4_SESSIONS = SourceSpec(
    name="ga4_sessions",
    title="GA4 sessions",
    columns=(
        C("date", "date", required=True, nullable=False,
          comment="Day of the sessions (GA4 property time zone); the first day of the range for range totals."),
        C("date_end", "date", comment="Last day of the range when the row is a total over a date range "
          "(a GA4 UI download without a date column, dated by its preamble); NULL for daily rows."),
        C("session_source", required=True, nullable=False, comment="GA4 session source."),
        C("session_medium", required=True, nullable=False, comment="GA4 session medium."),
        C("sessions", "count", required=True, nullable=False, non_negative=True, comment="Sessions."),
        C("session_campaign", comment="GA4 session campaign."),
        C("session_default_channel_group", comment="GA4 default channel group, when exported."),
        C("landing_page", comment="Landing page path."),
        C("engaged_sessions", "count", non_negative=True, comment="Engaged sessions."),
        C("key_events", "count", non_negative=True, comment="Key events (conversions)."),
        C("total_users", "count", non_negative=True, comment="Total users."),
        C("new_users", "count", non_negative=True, comment="New users."),
    ),
    replaces_by=("date", "date_end", "session_source", "session_medium", "session_campaign",
                 "session_default_channel_group", "landing_page"),
    substitutes={"session_source": ("session_default_channel_group",),
                 "session_medium": ("session_default_channel_group",)},
    frame_rules=(
        FrameRule("not_above_sessions:engaged_sessions", ("engaged_sessions", "sessions"),
                  pl.col("engaged_sessions").is_null() | (pl.col("engaged_sessions") <= pl.col("sessions"))),
        FrameRule("not_before_start:date_end", ("date_end", "date"),
                  pl.col("date_end").is_null() | (pl.col("date_end") >= pl.col("date"))),
    ),
)
