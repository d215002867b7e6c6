"""GA4 traffic exports: aggregate rows, day x source x medium (x campaign, landing page...)."""

import pandera.pandas as pa

from schemas.spec import ColumnSpec as C, SourceSpec

DIMENSIONS = ("date", "session_source", "session_medium", "session_campaign",
              "session_default_channel_group", "landing_page")

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
    substitutes={"session_source": ("session_default_channel_group",),
                 "session_medium": ("session_default_channel_group",)},
    extra_checks=(
        pa.Check(
            lambda df: (df["engaged_sessions"].isna() | (df["engaged_sessions"] <= df["sessions"]))
            if "engaged_sessions" in df
            else True,
            name="not_above_sessions:engaged_sessions",
        ),
        pa.Check(
            lambda df: (df["date_end"].isna() | (df["date_end"] >= df["date"])) if "date_end" in df else True,
            name="not_before_start:date_end",
        ),
    ),
)
