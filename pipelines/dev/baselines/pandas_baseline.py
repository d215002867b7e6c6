"""What an analyst would write: the core marts from the inbox CSVs with plain pandas.

    python -m pipelines.dev.baselines.pandas_baseline --inbox DIR --lookups DIR --out FILE.pickle

Reads every export file whole (only the columns it needs), orders the files by their
export moment (the later of the day in the name and the rows' latest timestamp; file
times break ties), keeps the newest row per lead / deal (its updated_at first) / GA4
key / spend key, maps raw values through the
lookup CSVs of `lookups.py` and groups by month and channel. Money is Decimal.
Writes a pickle of {mart name: DataFrame}. No validation, no Dagster.
"""

import argparse
import pickle
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import numpy as np
import pandas as pd

CENT = Decimal("0.01")
TIMESTAMP_FORMATS = ("%Y/%m/%d %H:%M", "%Y-%m-%d", "%Y/%m/%d")
KEYS = ["k1", "k2", "k3", "k4"]  # the cleaned raw values a channel_lookup row matches
BY = ["period_start", "channel"]


def text(s: pd.Series) -> pd.Series:
    s = s.str.replace("\u3000", " ").str.strip(" ")
    return s.mask(s == "")


def timestamps(s: pd.Series, tz: str) -> pd.Series:
    """Local timestamps from the formats the exports use; +09:00 style offsets converted to tz."""
    s = text(s)
    out = pd.to_datetime(s, format="%Y-%m-%d %H:%M:%S", errors="coerce")
    offset = out.isna() & s.str.contains(r"[+-]\d\d:\d\d$", na=False)
    if offset.any():
        out[offset] = (pd.to_datetime(s[offset], format="%Y-%m-%dT%H:%M:%S%z", utc=True)
                       .dt.tz_convert(tz).dt.tz_localize(None))
    for fmt in TIMESTAMP_FORMATS:
        left = out.isna() & s.notna()
        if not left.any():
            break
        out[left] = pd.to_datetime(s[left], format=fmt, errors="coerce")
    return out


def yen(s: pd.Series) -> pd.Series:
    return text(s).str.replace(r"[¥,円]", "", regex=True).map(lambda v: Decimal(v) if isinstance(v, str) else None)


def month(s: pd.Series) -> pd.Series:
    return s.dt.to_period("M").dt.to_timestamp()


def read_source(inbox: Path, source: str, columns: list[str], tz: str) -> pd.DataFrame:
    """All files of a source, each row with its file's name and modification time."""
    frames = []
    for path in sorted((inbox / source).glob("*.csv")):
        df = pd.read_csv(path, dtype=str, keep_default_na=False, usecols=lambda c: c in columns)
        df["file_name"] = path.name
        df["file_time"] = path.stat().st_mtime_ns
        frames.append(df)
    df = pd.concat(frames, ignore_index=True)
    for col in columns:
        if col not in df:
            df[col] = ""
    return df


def order_files(df: pd.DataFrame, moments: list[pd.Series]) -> None:
    """Each row's file's export moment (`exported_at`: the later of the day in the file name and the
    latest of `moments` in the file's rows) and the file's place in that order (`file_order`;
    ties by file time, then name)."""
    named = pd.to_datetime(df["file_name"].str.extract(r"(\d{4}-\d{2}-\d{2})\.csv$")[0], format="%Y-%m-%d",
                           errors="coerce")
    latest = pd.concat(moments, axis=1).max(axis=1).groupby(df["file_name"]).transform("max")
    df["exported_at"] = pd.concat([named, latest], axis=1).max(axis=1)
    files = df[["file_name", "exported_at", "file_time"]].drop_duplicates("file_name")
    files = files.sort_values(["exported_at", "file_time", "file_name"], na_position="first")
    df["file_order"] = df["file_name"].map(dict(zip(files["file_name"], range(len(files)))))


def newest_versions(df: pd.DataFrame, key: str) -> pd.DataFrame:
    """The newest row per key: the latest updated_at (else the file's export moment), then the file order."""
    df = df.assign(_moment=df["updated_at"].fillna(df["exported_at"]))
    df = df.sort_values(["_moment", "file_order"], kind="stable").drop_duplicates(key, keep="last")
    return df.drop(columns="_moment")


def rate(n: pd.Series, d: pd.Series) -> pd.Series:
    return (n / d.where(d != 0)).astype(float)


def per(amounts: pd.Series, units: pd.Series) -> list:
    return [None if a is None or pd.isna(u) or u == 0 else (a / int(u)).quantize(CENT, ROUND_HALF_UP)
            for a, u in zip(amounts, units)]


def decimal_sum(s: pd.Series) -> Decimal:
    return sum((v for v in s if isinstance(v, Decimal)), Decimal(0))


def compute_marts(inbox: Path, lookups: Path) -> dict[str, pd.DataFrame]:
    """The five core marts of the inbox's exports, with the value mappings of `lookups`."""
    settings = pd.read_csv(lookups / "run_settings.csv").iloc[0]
    tz, mql_rank, mql_score = settings["timezone"], int(settings["mql_stage_rank"]), settings["mql_score_threshold"]
    lookup = pd.read_csv(lookups / "channel_lookup.csv", dtype=str, keep_default_na=False, na_values=[""])
    lifecycle_rank = pd.read_csv(lookups / "lifecycle_map.csv", dtype={"raw_value": str}).set_index("raw_value")["stage_rank"]
    outcome_of = pd.read_csv(lookups / "deal_stage_map.csv", dtype=str).set_index("raw_value")["outcome"]

    leads = read_leads(inbox, tz, lookup, lifecycle_rank, mql_rank)
    deals = read_deals(inbox, tz, lookup, outcome_of, leads.set_index("lead_id")["channel"])
    funnel = lead_funnel(leads, deals, mql_rank, mql_score)
    ga4, spend = read_ga4(inbox, tz, lookup), read_spend(inbox, tz, lookup)
    cf, grid = channel_funnel(funnel, deals, ga4, spend)
    return {name: df.reset_index() for name, df in (
        ("channel_funnel", cf), ("channel_roi", channel_roi(cf, spend, grid)),
        ("lead_cohort_funnel", lead_cohort_funnel(funnel)), ("mql_to_sql", mql_to_sql(funnel)),
        ("deal_to_win", deal_to_win(deals)))}


def channels_of(lookup: pd.DataFrame, kind: str) -> pd.DataFrame:
    return lookup[lookup["kind"] == kind]


def read_leads(inbox: Path, tz: str, lookup: pd.DataFrame, lifecycle_rank: pd.Series, mql_rank: int) -> pd.DataFrame:
    """Each lead's newest version, with the first time it was seen at MQL / SQL, and its channel."""
    leads = read_source(inbox, "leads", ["lead_id", "created_at", "lead_source", "utm_source", "utm_medium",
                                         "utm_campaign", "lifecycle_stage", "lead_score", "mql_at", "sql_at",
                                         "disqualified_at", "updated_at"], tz)
    for col in ["lead_id", "lead_source", "utm_source", "utm_medium", "utm_campaign", "lifecycle_stage"]:
        leads[col] = text(leads[col])
    for col in ["created_at", "mql_at", "sql_at", "disqualified_at", "updated_at"]:
        leads[col] = timestamps(leads[col], tz)
    order_files(leads, [leads[c] for c in ["created_at", "mql_at", "sql_at", "disqualified_at", "updated_at"]])
    leads["lead_score"] = pd.to_numeric(text(leads["lead_score"]), errors="coerce")
    leads["lifecycle_rank"] = leads["lifecycle_stage"].map(lifecycle_rank).fillna(1)
    seen = leads["updated_at"].fillna(leads["exported_at"])
    history = pd.DataFrame({
        "first_seen_mql_at": seen.where(leads["lifecycle_rank"] >= mql_rank).groupby(leads["lead_id"]).min(),
        "first_seen_sql_at": seen.where(leads["lifecycle_rank"] >= 3).groupby(leads["lead_id"]).min(),
    })
    leads = newest_versions(leads, "lead_id")
    leads = leads.join(history, on="lead_id")
    return leads.merge(channels_of(lookup, "lead")[KEYS + ["channel"]],
                       left_on=["lead_source", "utm_source", "utm_medium", "utm_campaign"], right_on=KEYS)


def read_deals(inbox: Path, tz: str, lookup: pd.DataFrame, outcome_of: pd.Series,
               lead_channel: pd.Series) -> pd.DataFrame:
    """Each deal's newest version, with its outcome, its close day and its channel: its lead's
    (`lead_channel`, by lead_id) when it has one, else its own deal source's."""
    deals = read_source(inbox, "deals", ["deal_id", "created_at", "stage", "lead_id", "deal_source", "amount",
                                         "close_date", "updated_at"], tz)
    for col in ["deal_id", "stage", "lead_id", "deal_source"]:
        deals[col] = text(deals[col])
    for col in ["created_at", "close_date", "updated_at"]:
        deals[col] = timestamps(deals[col], tz)
    deals["close_date"] = deals["close_date"].dt.normalize()
    order_files(deals, [deals["created_at"], deals["updated_at"]])
    deals["outcome"] = deals["stage"].map(outcome_of).fillna("unknown")
    deals["amount"] = yen(deals["amount"])
    first_seen = (deals["updated_at"].fillna(deals["exported_at"])
                  .groupby([deals["deal_id"], deals["outcome"]]).min().rename("first_seen_at"))
    deals = newest_versions(deals, "deal_id")
    deals = deals.join(first_seen, on=["deal_id", "outcome"])
    closed = deals["outcome"].isin(["won", "lost"])
    deals["closed_on"] = (deals["close_date"].fillna(deals["first_seen_at"].dt.normalize())
                          .fillna(deals["created_at"].dt.normalize()).where(closed))
    deals["lead_linked"] = deals["lead_id"].isin(lead_channel.index)
    source_channel = deals["deal_source"].map(channels_of(lookup, "deal").set_index("k1")["channel"])
    deals["channel"] = np.where(deals["lead_linked"], deals["lead_id"].map(lead_channel),
                                np.where(deals["deal_source"].notna(), source_channel, "Unattributed"))
    return deals


def lead_funnel(leads: pd.DataFrame, deals: pd.DataFrame, mql_rank: int, mql_score) -> pd.DataFrame:
    """Each lead's funnel: its deals, wins and won revenue; whether and on which day it reached MQL,
    SQL and opportunity (a later stage implies the earlier ones, on its day at the latest)."""
    linked = deals[deals["lead_linked"]]
    won_deals = deals[deals["outcome"] == "won"]
    funnel = leads.join(pd.DataFrame({
        "first_opportunity_at": linked.groupby("lead_id")["created_at"].min(),
        "won_deals": linked["outcome"].eq("won").groupby(linked["lead_id"]).sum(),
        "won_revenue": won_deals[won_deals["lead_linked"]].groupby("lead_id")["amount"].agg(decimal_sum),
    }), on="lead_id")
    funnel["won"] = funnel["won_deals"].fillna(0) > 0
    funnel["won_revenue"] = funnel["won_revenue"].map(lambda v: v if isinstance(v, Decimal) else Decimal(0))
    funnel["reached_opportunity"] = funnel["first_opportunity_at"].notna() | (funnel["lifecycle_rank"] >= 4)
    funnel["reached_sql"] = (funnel["reached_opportunity"] | funnel["sql_at"].notna()
                             | funnel["first_seen_sql_at"].notna() | (funnel["lifecycle_rank"] >= 3))
    first_opp = funnel["first_opportunity_at"]
    sql_date = (funnel["sql_at"].fillna(funnel["first_seen_sql_at"]).fillna(first_opp)
                .fillna(funnel["updated_at"]).fillna(funnel["created_at"]))
    sql_date = sql_date.where(first_opp.isna() | (sql_date <= first_opp), first_opp)
    funnel["sql_date"] = sql_date.where(sql_date >= funnel["created_at"], funnel["created_at"]).where(funnel["reached_sql"])
    funnel["reached_mql"] = (funnel["reached_sql"] | funnel["mql_at"].notna() | funnel["first_seen_mql_at"].notna()
                             | (funnel["lifecycle_rank"] >= mql_rank)
                             | (funnel["lead_score"] >= mql_score).fillna(False))
    mql_date = (funnel["mql_at"].fillna(funnel["first_seen_mql_at"]).fillna(funnel["sql_date"])
                .fillna(funnel["updated_at"]).fillna(funnel["created_at"]))
    mql_date = mql_date.where(funnel["sql_date"].isna() | (mql_date <= funnel["sql_date"]), funnel["sql_date"])
    funnel["mql_date"] = mql_date.where(mql_date >= funnel["created_at"], funnel["created_at"]).where(funnel["reached_mql"])
    return funnel


def read_ga4(inbox: Path, tz: str, lookup: pd.DataFrame) -> pd.DataFrame:
    """GA4 sessions: the rows of the newest file holding each dimension key, with their channel."""
    ga4 = read_source(inbox, "ga4_sessions", ["date", "session_source", "session_medium", "session_campaign",
                                              "session_default_channel_group", "landing_page", "sessions"], tz)
    dims = ["session_source", "session_medium", "session_campaign", "session_default_channel_group", "landing_page"]
    for col in dims:
        ga4[col] = text(ga4[col])
    ga4["date"] = timestamps(ga4["date"], tz).dt.normalize()
    ga4["sessions"] = text(ga4["sessions"]).astype("int64")
    order_files(ga4, [ga4["date"]])
    ga4 = ga4[ga4["file_order"] == ga4.groupby(["date", *dims], dropna=False)["file_order"].transform("max")]
    return ga4.merge(channels_of(lookup, "ga4_session")[KEYS + ["channel"]], left_on=dims[:4], right_on=KEYS)


def read_spend(inbox: Path, tz: str, lookup: pd.DataFrame) -> pd.DataFrame:
    """Ad spend: the rows of the newest file holding each (day or month, raw channel, campaign),
    with their channel and month."""
    spend = read_source(inbox, "spend", ["date", "channel", "campaign", "cost"], tz)
    spend["raw_channel"], spend["campaign"], spend["cost"] = text(spend["channel"]), text(spend["campaign"]), yen(spend["cost"])
    day = timestamps(spend["date"], tz)
    spend["daily"] = day.notna()
    spend["date"] = day.fillna(pd.to_datetime(text(spend["date"]), format="%Y-%m", errors="coerce")).dt.normalize()
    order_files(spend, [spend["date"]])
    spend = spend[spend["file_order"] == spend.groupby(["date", "daily", "raw_channel", "campaign"], dropna=False)[
        "file_order"].transform("max")]
    spend["channel"] = spend["raw_channel"].map(channels_of(lookup, "spend").set_index("k1")["channel"])
    spend["period_start"] = month(spend["date"])
    return spend


def channel_funnel(funnel: pd.DataFrame, deals: pd.DataFrame, ga4: pd.DataFrame,
                   spend: pd.DataFrame) -> tuple[pd.DataFrame, pd.MultiIndex]:
    """channel_funnel on the grid of every month from the first to the last and every channel seen
    (spend's too, so channel_roi has a row for spend without leads); and that grid."""
    mqls, sqls = funnel[funnel["reached_mql"]], funnel[funnel["reached_sql"]]
    won_deals = deals[deals["outcome"] == "won"]
    counts = pd.concat({
        "sessions": ga4.groupby([month(ga4["date"]).rename("period_start"), "channel"])["sessions"].sum(),
        "leads": funnel.groupby([month(funnel["created_at"]).rename("period_start"), "channel"]).size(),
        "mqls": mqls.groupby([month(mqls["mql_date"]).rename("period_start"), "channel"]).size(),
        "sqls": sqls.groupby([month(sqls["sql_date"]).rename("period_start"), "channel"]).size(),
        "opportunities": deals.groupby([month(deals["created_at"]).rename("period_start"), "channel"]).size(),
        "wins": won_deals.groupby([month(won_deals["closed_on"]).rename("period_start"), "channel"]).size(),
        "spend_rows": spend.groupby(BY).size(),
    }, axis=1)
    revenue = won_deals.groupby([month(won_deals["closed_on"]).rename("period_start"), "channel"])["amount"].agg(decimal_sum)
    months = pd.date_range(counts.index.get_level_values(0).min(), counts.index.get_level_values(0).max(), freq="MS")
    grid = pd.MultiIndex.from_product([months, sorted(counts.index.get_level_values(1).unique())], names=BY)
    cf = counts.reindex(grid).fillna(0).astype("int64").drop(columns="spend_rows")
    cf["revenue"] = revenue.reindex(grid).map(lambda v: v if isinstance(v, Decimal) else Decimal(0))
    cf["session_to_lead_rate"] = rate(cf["leads"], cf["sessions"])
    cf["lead_to_mql_rate"] = rate(cf["mqls"], cf["leads"])
    cf["mql_to_sql_rate"] = rate(cf["sqls"], cf["mqls"])
    cf["sql_to_opportunity_rate"] = rate(cf["opportunities"], cf["sqls"])
    cf["opportunity_to_win_rate"] = rate(cf["wins"], cf["opportunities"])
    return cf, grid


def channel_roi(cf: pd.DataFrame, spend: pd.DataFrame, grid: pd.MultiIndex) -> pd.DataFrame:
    """channel_roi: channel_funnel's counts and revenue against the spend of the same month and channel."""
    roi = cf[["leads", "mqls", "opportunities", "wins", "revenue"]].copy()
    spent = spend.groupby(BY)["cost"].agg(decimal_sum).reindex(grid)
    roi.insert(0, "spend", spent.map(lambda v: v if isinstance(v, Decimal) else Decimal(0)))
    spent = spent.map(lambda v: v if isinstance(v, Decimal) and v != 0 else None)  # no spend: no cost per unit
    roi["cpa"] = per(spent, roi["leads"])
    roi["cost_per_mql"] = per(spent, roi["mqls"])
    roi["cost_per_opportunity"] = per(spent, roi["opportunities"])
    roi["cac"] = per(spent, roi["wins"])
    roi["roas"] = [None if s is None or s == 0 else float(r) / float(s) for r, s in zip(roi["revenue"], spent)]
    roi["roi"] = [None if s is None or s == 0 else float(r - s) / float(s) for r, s in zip(roi["revenue"], spent)]
    return roi


def lead_cohort_funnel(funnel: pd.DataFrame) -> pd.DataFrame:
    """lead_cohort_funnel: the leads created in a month, by channel, and how far they got."""
    cohort = funnel.assign(cohort_start=month(funnel["created_at"])).groupby(["cohort_start", "channel"]).agg(
        leads=("lead_id", "size"), reached_mql=("reached_mql", "sum"), reached_sql=("reached_sql", "sum"),
        reached_opportunity=("reached_opportunity", "sum"), reached_win=("won", "sum"),
        revenue=("won_revenue", decimal_sum))
    cohort["lead_to_mql_rate"] = rate(cohort["reached_mql"], cohort["leads"])
    cohort["mql_to_sql_rate"] = rate(cohort["reached_sql"], cohort["reached_mql"])
    cohort["sql_to_opportunity_rate"] = rate(cohort["reached_opportunity"], cohort["reached_sql"])
    cohort["opportunity_to_win_rate"] = rate(cohort["reached_win"], cohort["reached_opportunity"])
    cohort["lead_to_win_rate"] = rate(cohort["reached_win"], cohort["leads"])
    return cohort


def mql_to_sql(funnel: pd.DataFrame) -> pd.DataFrame:
    """mql_to_sql: the MQLs of a month, by channel, how many became SQL and the median days it took."""
    mqls = funnel[funnel["reached_mql"]]
    days = (mqls["sql_date"] - mqls["mql_date"]).dt.total_seconds() / 86400
    m2s = mqls.assign(period_start=month(mqls["mql_date"]), days=days.where(mqls["reached_sql"])).groupby(BY).agg(
        mqls=("lead_id", "size"), reached_sql=("reached_sql", "sum"), median_days_mql_to_sql=("days", "median"))
    m2s["mql_to_sql_rate"] = rate(m2s["reached_sql"], m2s["mqls"])
    return m2s


def deal_to_win(deals: pd.DataFrame) -> pd.DataFrame:
    """deal_to_win: the deals closed in a month, by channel: wins, losses, revenue, days to close."""
    closed = deals["outcome"].isin(["won", "lost"])
    closed_deals = deals[closed].assign(period_start=month(deals.loc[closed, "closed_on"]))
    is_won = closed_deals["outcome"] == "won"
    closed_deals["won_amount"] = closed_deals["amount"].where(is_won)
    closed_deals["days"] = ((closed_deals["closed_on"] - closed_deals["created_at"]).dt.total_seconds() / 86400).where(is_won)
    d2w = closed_deals.assign(is_won=is_won, is_lost=closed_deals["outcome"] == "lost").groupby(BY).agg(
        wins=("is_won", "sum"), losses=("is_lost", "sum"), revenue=("won_amount", decimal_sum),
        median_days_opportunity_to_win=("days", "median"))
    d2w["win_rate"] = rate(d2w["wins"], d2w["wins"] + d2w["losses"])
    d2w["avg_deal_size"] = per(d2w["revenue"], d2w["wins"])
    return d2w


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inbox", type=Path, required=True)
    parser.add_argument("--lookups", type=Path, required=True, help="folder of pipelines.dev.baselines.lookups CSVs")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    marts = compute_marts(args.inbox, args.lookups)
    with args.out.open("wb") as f:
        pickle.dump(marts, f)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
