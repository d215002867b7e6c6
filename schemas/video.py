"""YouTube Studio video analytics (optional source): the files of Studio's "Export current view" of the
Content tab. Table data.csv has a row per video over the export's date range (no date per row), Chart
data.csv a row per video and day with the one metric the chart showed, Totals.csv a row per day for the
whole channel."""

import polars as pl

from schemas.spec import ColumnSpec as C, FrameRule, SourceSpec

VIDEO = SourceSpec(
    name="video",
    title="YouTube Studio video analytics",
    optional=True,
    # Totals.csv has no video column: its rows are the channel's, dated by day.
    substitutes={"content_id": ("date",)},
    columns=(
        C("date", "date", comment="Day of the row (Chart data.csv, Totals.csv); for a table without a date "
          "column (Table data.csv) the first day of the export's date range when its folder or file name gives "
          "one (Studio names the export Content 2024-01-01_2024-01-31 and the channel name), else empty."),
        C("date_end", "date", comment="Last day of that date range for a table without a date column; empty for "
          "day rows and for a table whose range is not known."),
        C("content_id", required=True, nullable=False, comment="YouTube video id (Studio's Content column), without "
          "the leading space Studio puts before an id starting with '-'. Empty for the channel's totals."),
        C("video_title", comment="Video title as exported."),
        C("published_at", "date", comment="When the video was published (Studio writes Sep 30, 2023)."),
        C("duration_seconds", "count", non_negative=True, comment="Length of the video in seconds."),
        C("impressions", "count", non_negative=True, comment="Thumbnail impressions on YouTube."),
        C("impression_ctr_percent", "number", non_negative=True, comment="Impressions click-through rate in percent "
          "as exported (4.36 = 4.36%): views that came from an impression / impressions."),
        C("views", "count", non_negative=True, comment="Views."),
        C("watch_time_hours", "number", non_negative=True, comment="Watch time in hours."),
        C("average_view_duration_seconds", "duration", non_negative=True,
          comment="Average view duration as exported (H:MM:SS), in seconds; the marts recompute it from watch "
          "time and views."),
        C("average_percentage_viewed", "number", non_negative=True, comment="Average percentage viewed in percent "
          "as exported; above 100 when viewers watch again."),
        C("engaged_views", "count", non_negative=True, comment="Engaged views."),
        C("subscribers", "count", comment="Subscribers gained minus subscribers lost (can be negative)."),
    ),
    replaces_by=("date", "date_end", "content_id"),
    notes="A newer export replaces a metric only where it has that metric (a Chart data.csv holds one). A table "
    "whose date range is not known (neither a date column nor a range in its folder or file name) is kept per "
    "export: it replaces nothing and is never added to another export. The Total row of a table is left out, "
    "never added: it is the channel's, not the sum of the rows.",
    frame_rules=(
        FrameRule("not_before_start:date_end", ("date_end", "date"),
                  pl.col("date_end").is_null() | (pl.col("date_end") >= pl.col("date"))),
    ),
)
