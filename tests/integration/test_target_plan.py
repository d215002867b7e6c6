"""marts.target_plan (逆算表): the reverse calculation, periods, lookback, channel split and pace,
on numbers worked out by hand.

The tiny marts.channel_funnel used below (counts: sessions, leads, mqls, sqls, opportunities, wins, revenue):

    month    Webinar                               Event
    2025-12  1000 100 50 20 10 5 10,000,000        0 10 10 10 10 10 10,000,000   (outside a 3-month lookback)
    2026-01   400   8  4  2  2 1  2,000,000        0  5  5  3  2  0          0
    2026-02   600  12  6  4  2 1  1,000,000        0  0  0  0  0  0          0
    2026-03     0   0  0  0  0 0          0        0  5  3  3  2  2  3,000,000
    2026-04   300   6  3  1  1 0          0        0  2  1  1  1  1  1,500,000   (inside 2026-Q1, April start)
    2026-05   200   4  2  1  1 1  2,000,000        0  0  0  0  0  0          0

Ad impressions (the fixture funnel_rows): Webinar 30,000 in 2026-04 and 20,000 in 2026-05, none elsewhere.

Lookback of 3 months before 2026-04-01 = 2026-01 .. 2026-03:
    Webinar 1000 20 10 6 4 2 3,000,000 | Event 0 10 8 6 4 2 3,000,000 | All 1000 30 18 12 8 4 6,000,000
    All rates: session->lead 30/1000, lead->mql 18/30, mql->sql 12/18 = 2/3, sql->opp 8/12 = 2/3, win 4/8;
    avg deal 1,500,000. Mix of wins (won deals counted): Webinar 1 + 1, Event 2 -> 50/50.
Lookback of 3 months before 2026-06-01 = 2026-03 .. 2026-05:
    wins Webinar 1, Event 2 + 1 = 3 -> mix of wins 1/4 : 3/4 (the revenue mix, 2,000,000 : 4,500,000, would
    be 4/13 : 9/13).
"""

import shutil
from datetime import date, datetime, timedelta
from decimal import Decimal as D
from fractions import Fraction
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import duckdb
import pytest

from assets.checks.keys import STAGES
from assets.plan.reverse import (
    FunnelMonth,
    TargetPlanError,
    allocate_cents,
    channel_split,
    choose_assumptions,
    elapsed_share,
    lookback_window,
    observed_rate,
    pace,
    parse_period,
    read_channel_funnel,
    reverse_plan,
    stage_totals,
    to_decimal,
)
from assets.plan.target_plan import TARGET_PLAN_KEY, TARGET_PLAN_TABLE, build_target_plan, write_target_plan
from assets.transform.step import transform
from assets.core import settings
from assets.core.resource import FunnelResource
from schemas.config import TargetsConfig
from tests.conftest import CONFIG_DIR

CONTRACT_RATES = {"win_rate": D("0.25"), "sql_to_opportunity_rate": D("0.5"), "mql_to_sql_rate": D("1.0"),
                  "lead_to_mql_rate": D("1.0"), "session_to_lead_rate": D("0.02"), "ctr": D("0.05")}

FUNNEL = [  # (month, channel, sessions, leads, mqls, sqls, opportunities, wins, revenue)
    ("2025-12-01", "Webinar", 1000, 100, 50, 20, 10, 5, "10000000"),
    ("2025-12-01", "Event", 0, 10, 10, 10, 10, 10, "10000000"),
    ("2026-01-01", "Webinar", 400, 8, 4, 2, 2, 1, "2000000"),
    ("2026-01-01", "Event", 0, 5, 5, 3, 2, 0, "0"),
    ("2026-02-01", "Webinar", 600, 12, 6, 4, 2, 1, "1000000"),
    ("2026-02-01", "Event", 0, 0, 0, 0, 0, 0, "0"),
    ("2026-03-01", "Webinar", 0, 0, 0, 0, 0, 0, "0"),
    ("2026-03-01", "Event", 0, 5, 3, 3, 2, 2, "3000000"),
    ("2026-04-01", "Webinar", 300, 6, 3, 1, 1, 0, "0"),
    ("2026-04-01", "Event", 0, 2, 1, 1, 1, 1, "1500000"),
    ("2026-05-01", "Webinar", 200, 4, 2, 1, 1, 1, "2000000"),
    ("2026-05-01", "Event", 0, 0, 0, 0, 0, 0, "0"),
]


def create_channel_funnel(con: duckdb.DuckDBPyConnection, rows=FUNNEL) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS marts")
    con.execute("CREATE OR REPLACE TABLE marts.channel_funnel (period_start DATE, channel VARCHAR, sessions BIGINT, "
                "leads BIGINT, mqls BIGINT, sqls BIGINT, opportunities BIGINT, wins BIGINT, revenue DECIMAL(18, 2), "
                "impressions BIGINT DEFAULT 0)")
    con.executemany("INSERT INTO marts.channel_funnel (period_start, channel, sessions, leads, mqls, sqls, opportunities, "
                    "wins, revenue) VALUES (CAST(? AS DATE), ?, ?, ?, ?, ?, ?, ?, CAST(? AS DECIMAL(18, 2)))",
                    [list(r) for r in rows])


@pytest.fixture
def funnel_rows() -> list[FunnelMonth]:
    with duckdb.connect() as con:
        create_channel_funnel(con)
        con.execute("UPDATE marts.channel_funnel SET impressions = CASE period_start WHEN '2026-04-01' THEN 30000 "
                    "WHEN '2026-05-01' THEN 20000 END WHERE channel = 'Webinar' AND period_start >= '2026-04-01'")
        return read_channel_funnel(con)


def plan_table(rows, period=None):
    """{(channel, stage): row} of one period."""
    return {(r.channel, r.stage): r for r in rows if period is None or r.period == period}


def required_of(table, channel):
    return {s: table[(channel, s)].required for s in STAGES}


# --------------------------------------------------------------------------- reverse calculation


def test_contract_worked_example_is_exact():
    plan = reverse_plan(D("40000000"), D("2000000"), CONTRACT_RATES)
    assert plan == {"revenue": D("40000000"), "wins": 20, "opportunities": 80, "sqls": 160, "mqls": 160,
                    "leads": 160, "sessions": 8000, "impressions": 160000}


@pytest.mark.parametrize("wins_needed, rate, expected", [
    (20, "0.25", 80),   # never 81
    (21, "0.25", 84),   # 84 exactly
    (22, "0.25", 88),
    (23, "0.25", 92),
    (30, "0.3", 100),   # 0.3 has no exact binary floating point value
    (31, "0.3", 104),   # 103.33 -> 104
    (7, "0.7", 10),
    (21, "0.7", 30),    # in floats 21 / 0.7 == 30.000000000000004, whose ceiling is 31
    (21, "0.35", 60),   # in floats 60.00000000000001
    (10, "0.1", 100),
])
def test_ceilings_are_taken_on_exact_values(wins_needed, rate, expected):
    # revenue = wins x deal size, so wins come out exactly as wanted
    plan = reverse_plan(D(wins_needed) * 1000, D(1000), {"win_rate": D(rate)})
    assert plan["wins"] == wins_needed
    assert plan["opportunities"] == expected
    # the same from the float YAML gives to targets.yaml's 'rate' value
    assert reverse_plan(D(wins_needed), D(1), {"win_rate": to_decimal(float(rate))})["opportunities"] == expected


def test_yaml_floats_become_the_decimals_the_user_wrote():
    assert to_decimal(0.3) == D("0.3")
    assert to_decimal(0.02) == D("0.02")
    assert to_decimal(40000000.0) == D("40000000")
    assert to_decimal(2000000) == D("2000000")
    plan = reverse_plan(to_decimal(40000000.0), to_decimal(2000000.0),
                        {k: to_decimal(float(v)) for k, v in CONTRACT_RATES.items()})
    assert (plan["wins"], plan["opportunities"], plan["sessions"], plan["impressions"]) == (20, 80, 8000, 160000)
    with pytest.raises(TypeError):
        reverse_plan(D(1), D(1), {"win_rate": 0.25})  # floats are refused, never silently used


def test_wins_round_up_and_repeating_fractions_stay_exact():
    assert reverse_plan(D("40000001"), D("2000000"), {})["wins"] == 21
    # 12 opportunities at an observed 8/12 = 2/3 is exactly 18 SQLs (a rounded 0.6667 would give 19 or 17.99...)
    plan = reverse_plan(D("9000000"), Fraction(1500000), {"win_rate": Fraction(1, 2),
                                                           "sql_to_opportunity_rate": Fraction(2, 3)})
    assert (plan["wins"], plan["opportunities"], plan["sqls"]) == (6, 12, 18)


def test_zero_or_unknown_rate_makes_every_stage_above_it_null():
    rates = dict(CONTRACT_RATES, mql_to_sql_rate=D(0))
    plan = reverse_plan(D("40000000"), D("2000000"), rates)
    assert (plan["wins"], plan["opportunities"], plan["sqls"]) == (20, 80, 160)
    assert plan["mqls"] is plan["leads"] is plan["sessions"] is plan["impressions"] is None
    rates = {k: v for k, v in CONTRACT_RATES.items() if k != "ctr"}
    plan = reverse_plan(D("40000000"), D("2000000"), rates)
    assert plan["sessions"] == 8000 and plan["impressions"] is None
    plan = reverse_plan(D("40000000"), None, CONTRACT_RATES)
    assert all(plan[s] is None for s in STAGES if s != "revenue")


# --------------------------------------------------------------------------- periods


@pytest.mark.parametrize("label, start_month, start, end", [
    ("FY2026", 4, date(2026, 4, 1), date(2027, 3, 31)),
    ("FY2026", 1, date(2026, 1, 1), date(2026, 12, 31)),
    ("FY2026", 10, date(2026, 10, 1), date(2027, 9, 30)),
    ("2026-Q1", 4, date(2026, 4, 1), date(2026, 6, 30)),
    ("2026-Q3", 4, date(2026, 10, 1), date(2026, 12, 31)),
    ("2026-Q4", 4, date(2027, 1, 1), date(2027, 3, 31)),
    ("2026-Q4", 1, date(2026, 10, 1), date(2026, 12, 31)),
    ("2026-07", 4, date(2026, 7, 1), date(2026, 7, 31)),
    ("2028-02", 4, date(2028, 2, 1), date(2028, 2, 29)),
])
def test_fiscal_periods(label, start_month, start, end):
    period = parse_period(label, start_month)
    assert (period.label, period.start, period.end) == (label, start, end)


@pytest.mark.parametrize("bad", ["FY26", "2026-Q5", "2026-13", "2026", "Q3-2026"])
def test_malformed_periods_are_refused(bad):
    with pytest.raises(TargetPlanError, match="FY2026, 2026-Q3 or 2026-07"):
        parse_period(bad)


# --------------------------------------------------------------------------- lookback and observed rates


MONTHS = [date(2025, 12, 1)] + [date(2026, m, 1) for m in range(1, 6)]


@pytest.mark.parametrize("period_start, n, expected", [
    (date(2026, 4, 1), 3, [date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)]),  # full months before the period
    (date(2026, 4, 1), 6, [date(2025, 12, 1), date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)]),  # data starts later
    (date(2026, 10, 1), 3, [date(2026, 3, 1), date(2026, 4, 1), date(2026, 5, 1)]),  # data stops earlier
    (date(2025, 4, 1), 2, [date(2026, 4, 1), date(2026, 5, 1)]),  # nothing before: latest months available
])
def test_lookback_window(period_start, n, expected):
    assert lookback_window(MONTHS, period_start, n) == expected
    assert lookback_window([], period_start, n) == []


def test_observed_rates_are_recomputed_from_summed_counts(funnel_rows):
    window = lookback_window({r.period_start for r in funnel_rows}, date(2026, 4, 1), 3)
    everything = stage_totals(funnel_rows, window)
    assert everything == {"impressions": 0, "sessions": 1000, "leads": 30, "mqls": 18, "sqls": 12,
                          "opportunities": 8, "wins": 4, "revenue": D("6000000")}  # impressions start in April
    assert observed_rate(everything, "session_to_lead_rate") == Fraction(3, 100)
    assert observed_rate(everything, "mql_to_sql_rate") == Fraction(2, 3)
    # Event has no sessions: its own session->lead rate is unknown, so the plan falls back to all channels
    event = stage_totals(funnel_rows, window, {"Event"})
    chosen = choose_assumptions({}, None, event, everything)
    assert chosen["session_to_lead_rate"].value == Fraction(3, 100)
    assert chosen["session_to_lead_rate"].source == "observed_all_channels"
    assert (chosen["lead_to_mql_rate"].value, chosen["lead_to_mql_rate"].source) == (Fraction(4, 5), "observed")
    assert chosen["avg_deal_size"].value == 1500000
    assert chosen["ctr"].value is None and chosen["ctr"].source is None
    # Overrides win, for every channel
    chosen = choose_assumptions({"win_rate": D("0.25")}, D("2000000"), event, everything)
    assert (chosen["win_rate"].value, chosen["win_rate"].source) == (Fraction(1, 4), "override")
    assert (chosen["avg_deal_size"].value, chosen["avg_deal_size"].source) == (2000000, "override")


def test_observed_rate_above_one_is_capped():
    # 3 wins of deals created before the window, 1 opportunity in it
    assert observed_rate({"wins": 3, "opportunities": 1}, "win_rate") == 1
    assert observed_rate({"wins": 3, "opportunities": 0}, "win_rate") is None


def test_plan_from_the_lookback(funnel_rows):
    config = TargetsConfig(fiscal_year_start_month=4, lookback_months=3,
                           targets=[{"period": "2026-Q1", "revenue": 9000000}])
    rows = build_target_plan(config, funnel_rows, today=date(2026, 5, 15))
    table = plan_table(rows)
    assert {c for c, _ in table} == {"All", "Webinar", "Event"}
    assert len(rows) == 3 * 8
    # All: 9M / 1.5M = 6 wins; /0.5 = 12 opps; /(2/3) = 18 SQLs; /(2/3) = 27 MQLs; /0.6 = 45 leads; /0.03 = 1,500
    assert required_of(table, "All") == {"impressions": None, "sessions": 1500, "leads": 45, "mqls": 27, "sqls": 18,
                                         "opportunities": 12, "wins": 6, "revenue": D("9000000")}
    # Mix of wins 2:2 -> 4.5M each. Webinar's own rates: 0.02, 0.5, 0.6, 2/3, 0.5
    assert required_of(table, "Webinar") == {"impressions": None, "sessions": 1500, "leads": 30, "mqls": 15,
                                             "sqls": 9, "opportunities": 6, "wins": 3, "revenue": D("4500000")}
    # Event: 0.8 lead->mql, 0.75 mql->sql of its own; no sessions of its own -> all-channel 0.03
    assert required_of(table, "Event") == {"impressions": None, "sessions": 500, "leads": 15, "mqls": 12, "sqls": 9,
                                           "opportunities": 6, "wins": 3, "revenue": D("4500000")}
    ev = table[("Event", "sessions")]
    assert (ev.rate_name, ev.rate_used, ev.rate_source) == ("session_to_lead_rate", 0.03, "observed_all_channels")
    assert table[("Event", "revenue")].channel_share == 0.5
    assert table[("Event", "revenue")].share_source == "lookback_wins"
    assert table[("All", "mqls")].rate_used == pytest.approx(2 / 3)
    assert table[("All", "wins")].rate_name == "avg_deal_size" and table[("All", "wins")].rate_used is None
    assert table[("All", "wins")].rate_source == "observed"
    assert table[("All", "revenue")].avg_deal_size == D("1500000.00")
    assert (table[("All", "revenue")].rate_name, table[("All", "revenue")].rate_source) == (None, None)
    assert (table[("All", "revenue")].lookback_start, table[("All", "revenue")].lookback_end) == (
        date(2026, 1, 1), date(2026, 3, 1))
    # Actual to date: April + May
    actual = {s: table[("All", s)].actual for s in STAGES}
    assert actual == {"impressions": 50000, "sessions": 500, "leads": 12, "mqls": 6, "sqls": 3, "opportunities": 3,
                      "wins": 2, "revenue": D("3500000")}
    assert table[("Webinar", "revenue")].actual == D("2000000")
    assert table[("All", "revenue")].gap == D("5500000")
    assert table[("All", "leads")].gap == 33
    assert table[("All", "impressions")].gap is None
    # Pace on 2026-05-15: 45 of 91 days elapsed
    assert table[("All", "revenue")].pace == pytest.approx(3500000 * 91 / (9000000 * 45))
    assert table[("All", "leads")].pace == pytest.approx(12 * 91 / (45 * 45))
    assert table[("All", "impressions")].pace is None
    assert table[("All", "revenue")].as_of == date(2026, 5, 15)


# --------------------------------------------------------------------------- channel split


def test_channel_shares_are_used_as_given_and_the_rest_is_unallocated(funnel_rows):
    config = TargetsConfig(lookback_months=3, targets=[{
        "period": "2026-Q1", "revenue": 10000000, "avg_deal_size": 1000000,
        "rates": {"win_rate": 0.25}, "channel_shares": {"Webinar": 0.3}}])
    table = plan_table(build_target_plan(config, funnel_rows, today=date(2026, 3, 1), known_channels={"Webinar", "Event"}))
    assert {c for c, _ in table} == {"All", "Webinar", "Unallocated"}
    web, rest = table[("Webinar", "revenue")], table[("Unallocated", "revenue")]
    assert (web.required, web.channel_share, web.share_source) == (D("3000000"), 0.3, "channel_shares")
    assert (rest.required, rest.channel_share, rest.share_source) == (D("7000000"), pytest.approx(0.7), "remainder")
    assert (table[("Webinar", "wins")].required, table[("Webinar", "opportunities")].required) == (3, 12)
    assert (table[("Unallocated", "wins")].required, table[("Unallocated", "opportunities")].required) == (7, 28)
    assert table[("Unallocated", "opportunities")].rate_source == "override"
    # Unallocated plans with the all-channel rates; its actuals are the channels not in channel_shares
    assert table[("Unallocated", "sqls")].rate_source == "observed_all_channels"
    assert table[("Unallocated", "sqls")].rate_used == pytest.approx(2 / 3)
    assert table[("Unallocated", "sqls")].required == 42
    assert table[("Unallocated", "revenue")].actual == D("1500000")  # Event's April win
    # Before the period has started there is no pace
    assert table[("All", "revenue")].pace is None


def test_shares_that_sum_to_one_leave_nothing_unallocated():
    parts = channel_split(D("100"), {"A": D("0.5"), "B": D("0.5")}, {})
    assert [(p.channel, p.revenue) for p in parts] == [("A", D("50.00")), ("B", D("50.00"))]


def test_split_by_the_mix_of_wins_adds_up_to_the_cent():
    parts = channel_split(D("100"), {}, {"A": 1, "B": 1, "C": 1, "D": 0})
    assert [(p.channel, p.revenue, p.source) for p in parts] == [
        ("A", D("33.34"), "lookback_wins"), ("B", D("33.33"), "lookback_wins"),
        ("C", D("33.33"), "lookback_wins")]
    assert channel_split(D("100"), {}, {"A": 0}) == []


def test_without_channel_shares_the_target_is_split_by_wins_not_by_revenue(funnel_rows):
    # 2026-06, lookback 2026-03 .. 2026-05: Webinar 1 win (2,000,000), Event 3 wins (4,500,000).
    config = TargetsConfig(lookback_months=3, targets=[{"period": "2026-06", "revenue": 8000000}])
    table = plan_table(build_target_plan(config, funnel_rows, today=date(2026, 6, 1)))
    web, event = table[("Webinar", "revenue")], table[("Event", "revenue")]
    assert (web.required, web.channel_share, web.share_source) == (D("2000000"), 0.25, "lookback_wins")
    assert (event.required, event.channel_share, event.share_source) == (D("6000000"), 0.75, "lookback_wins")
    # Each channel's own deal size: Webinar 2,000,000 / 1 -> 1 win; Event 4,500,000 / 3 = 1,500,000 -> 4 wins.
    assert (table[("Webinar", "wins")].required, table[("Event", "wins")].required) == (1, 4)
    # All: 6,500,000 / 4 = 1,625,000 a deal -> 8,000,000 / 1,625,000 = 4.92 -> 5 wins.
    assert table[("All", "wins")].required == 5
    assert allocate_cents(D("10"), [("x", Fraction(1, 6)), ("y", Fraction(5, 6))]) == {"x": D("1.67"), "y": D("8.33")}


@pytest.mark.parametrize("shares, message", [
    ({"Webinar": 0.7, "Event": 0.4}, "sum to 1.1, more than 1"),
    ({"Webinr": 0.3}, "not a channel of channels.yaml"),
    ({"Unallocated": 0.3}, "reserved"),
])
def test_bad_channel_shares_are_refused_with_the_key(funnel_rows, shares, message):
    config = TargetsConfig(targets=[{"period": "FY2026", "revenue": 1000, "channel_shares": shares}])
    with pytest.raises(TargetPlanError, match=message):
        build_target_plan(config, funnel_rows, today=date(2026, 1, 1), known_channels={"Webinar", "Event"})


def test_the_same_period_twice_is_refused(funnel_rows):
    config = TargetsConfig(targets=[{"period": "FY2026", "revenue": 1000}, {"period": "FY2026", "revenue": 2000}])
    with pytest.raises(TargetPlanError, match=r"targets\[1\].*already targeted by targets\[0\]"):
        build_target_plan(config, funnel_rows, today=date(2026, 1, 1))


def test_without_data_or_overrides_only_the_revenue_row_is_known():
    config = TargetsConfig(targets=[{"period": "2026-07", "revenue": 1000}])
    rows = build_target_plan(config, [], today=date(2026, 7, 1))
    table = plan_table(rows)
    assert {c for c, _ in table} == {"All"}
    assert table[("All", "revenue")].required == D("1000")
    assert table[("All", "revenue")].actual == 0
    assert all(table[("All", s)].required is None for s in STAGES if s != "revenue")
    assert table[("All", "revenue")].lookback_start is None


# --------------------------------------------------------------------------- pace


def test_pace_with_a_fixed_today():
    july = parse_period("2026-07")
    assert elapsed_share(july, date(2026, 6, 30)) is None
    assert elapsed_share(july, date(2026, 7, 1)) == Fraction(1, 31)
    assert elapsed_share(july, date(2026, 7, 10)) == Fraction(10, 31)
    assert elapsed_share(july, date(2026, 9, 1)) == 1
    # 31 required in July, 10 days in: 10 are on track
    assert pace(D(10), D(31), july, date(2026, 7, 10)) == 1.0
    assert pace(D(5), D(31), july, date(2026, 7, 10)) == 0.5
    assert pace(D(31), D(31), july, date(2026, 12, 31)) == 1.0
    assert pace(D(5), D(31), july, date(2026, 6, 1)) is None
    assert pace(D(5), D(0), july, date(2026, 7, 10)) is None
    assert pace(None, D(31), july, date(2026, 7, 10)) is None


# --------------------------------------------------------------------------- the table


def test_empty_targets_give_an_empty_table_with_comments():
    with duckdb.connect() as con:
        write_target_plan(con, build_target_plan(TargetsConfig(), [], today=date(2026, 7, 1)))
        assert con.execute("SELECT count(*) FROM marts.target_plan").fetchone() == (0,)
        assert con.execute("SELECT comment FROM duckdb_tables() WHERE table_name = 'target_plan'").fetchone()[0]
        assert con.execute("SELECT count(*) FROM duckdb_columns() WHERE table_name = 'target_plan' "
                           "AND coalesce(comment, '') = ''").fetchone() == (0,)


def test_asset_definition():
    spec = TARGET_PLAN_TABLE.spec
    assert spec.key == dg.AssetKey(["marts", "target_plan"])
    assert {d.asset_key for d in spec.deps} == {dg.AssetKey(["marts", "channel_funnel"])}
    assert spec.group_name == "marts"
    assert set(spec.kinds) == {"duckdb", "python"}
    assert spec.owners == ["team:funnel-ops"]
    assert spec.description


def test_materialize_against_a_working_database(tmp_path: Path):
    warehouse = tmp_path / "warehouse" / "funnel.duckdb"
    working = settings.working_database_path(warehouse)
    working.parent.mkdir(parents=True)
    with duckdb.connect(str(working)) as con:
        create_channel_funnel(con)
    config_dir = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config_dir)
    (config_dir / "targets.yaml").write_text("""\
fiscal_year_start_month: 4
lookback_months: 3
targets:
  - period: 2026-Q1
    revenue: 9000000
  - period: 2026-07
    revenue: 40000000
    avg_deal_size: 2000000
    rates:
      win_rate: 0.25
      sql_to_opportunity_rate: 0.5
      mql_to_sql_rate: 1.0
      lead_to_mql_rate: 1.0
      session_to_lead_rate: 0.02
      ctr: 0.05
    channel_shares:
      Webinar: 0.3
""", encoding="utf-8")
    before = datetime.now(ZoneInfo("Asia/Tokyo")).date()
    result = dg.materialize([transform], selection=[TARGET_PLAN_KEY], resources={"funnel": FunnelResource(
        inbox_dir=str(tmp_path / "inbox"), config_dir=str(config_dir), warehouse_path=str(warehouse),
        timezone="Asia/Tokyo")}, instance=dg.DagsterInstance.ephemeral())
    assert result.success
    after = datetime.now(ZoneInfo("Asia/Tokyo")).date()
    [event] = result.get_asset_materialization_events()
    metadata = event.materialization.metadata
    assert metadata["dagster/row_count"].value == 48
    assert set(metadata["dagster/column_schema"].value.columns[i].name for i in range(3)) == {
        "period", "period_start", "period_end"}

    with duckdb.connect(str(working), read_only=True) as con:
        rows = con.execute("SELECT period, period_start, period_end, channel, stage, rate_used, rate_source, required, "
                           "actual, gap FROM marts.target_plan WHERE period = '2026-07' AND channel = 'All' "
                           "ORDER BY stage_order").fetchall()
        assert rows == [
            ("2026-07", date(2026, 7, 1), date(2026, 7, 31), "All", "impressions", 0.05, "override", D("160000.00"), D("0.00"), D("160000.00")),
            ("2026-07", date(2026, 7, 1), date(2026, 7, 31), "All", "sessions", 0.02, "override", D("8000.00"), D("0.00"), D("8000.00")),
            ("2026-07", date(2026, 7, 1), date(2026, 7, 31), "All", "leads", 1.0, "override", D("160.00"), D("0.00"), D("160.00")),
            ("2026-07", date(2026, 7, 1), date(2026, 7, 31), "All", "mqls", 1.0, "override", D("160.00"), D("0.00"), D("160.00")),
            ("2026-07", date(2026, 7, 1), date(2026, 7, 31), "All", "sqls", 0.5, "override", D("160.00"), D("0.00"), D("160.00")),
            ("2026-07", date(2026, 7, 1), date(2026, 7, 31), "All", "opportunities", 0.25, "override", D("80.00"), D("0.00"), D("80.00")),
            ("2026-07", date(2026, 7, 1), date(2026, 7, 31), "All", "wins", None, "override", D("20.00"), D("0.00"), D("20.00")),
            ("2026-07", date(2026, 7, 1), date(2026, 7, 31), "All", "revenue", None, None, D("40000000.00"), D("0.00"), D("40000000.00")),
        ]
        # Webinar 30% = 12M -> 6 wins -> 24 opportunities -> 48 SQLs -> 2,400 sessions -> 48,000 impressions
        web = dict(con.execute("SELECT stage, required FROM marts.target_plan WHERE period = '2026-07' "
                               "AND channel = 'Webinar'").fetchall())
        assert web == {"impressions": D("48000"), "sessions": D("2400"), "leads": D("48"), "mqls": D("48"),
                       "sqls": D("48"), "opportunities": D("24"), "wins": D("6"), "revenue": D("12000000")}
        assert con.execute("SELECT DISTINCT channel FROM marts.target_plan WHERE period = '2026-07' ORDER BY 1"
                           ).fetchall() == [("All",), ("Unallocated",), ("Webinar",)]
        q1 = dict(con.execute("SELECT stage, required FROM marts.target_plan WHERE period = '2026-Q1' "
                              "AND channel = 'All'").fetchall())
        assert (q1["wins"], q1["opportunities"], q1["sqls"], q1["mqls"], q1["leads"], q1["sessions"]) == (6, 12, 18, 27, 45, 1500)
        assert q1["impressions"] is None
        as_of = {d for (d,) in con.execute("SELECT DISTINCT as_of FROM marts.target_plan").fetchall()}
        assert len(as_of) == 1 and as_of <= {before, after}
        # Pace as of the run date (once 2026-Q1 is over: actual / the whole required volume)
        [today] = as_of
        assert con.execute("SELECT pace FROM marts.target_plan WHERE period = '2026-Q1' AND channel = 'All' "
                           "AND stage = 'revenue'").fetchone()[0] == pace(
            D("3500000"), D("9000000"), parse_period("2026-Q1"), today)
        types = dict(con.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = 'marts' "
                                 "AND table_name = 'target_plan'").fetchall())
        assert types["required"] == types["actual"] == types["gap"] == "DECIMAL(20,2)"
        assert types["period_start"] == types["period_end"] == "DATE"
        assert con.execute("SELECT comment FROM duckdb_tables() WHERE schema_name = 'marts' "
                           "AND table_name = 'target_plan'").fetchone()[0].startswith("Reverse plan (逆算表)")
        missing = con.execute("SELECT column_name FROM duckdb_columns() WHERE schema_name = 'marts' "
                              "AND table_name = 'target_plan' AND coalesce(comment, '') = ''").fetchall()
        assert missing == []


def test_the_plan_is_built_again_on_a_new_day_or_new_targets_only(tmp_path: Path, monkeypatch):
    """Pace moves with the day, so the plan is not as its last build left it on another day; on the same day,
    from the same targets and marts.channel_funnel, it is (and its suite is not run again)."""
    import assets.plan.target_plan as target_plan

    warehouse = tmp_path / "warehouse" / "funnel.duckdb"
    working = settings.working_database_path(warehouse)
    working.parent.mkdir(parents=True)
    with duckdb.connect(str(working)) as con:
        create_channel_funnel(con)
    config_dir = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config_dir)
    funnel = FunnelResource(inbox_dir=str(tmp_path / "inbox"), config_dir=str(config_dir),
                            warehouse_path=str(warehouse), timezone="Asia/Tokyo")

    def build() -> tuple[str, str]:
        result = dg.materialize([transform], selection=[TARGET_PLAN_KEY], resources={"funnel": funnel},
                                instance=dg.DagsterInstance.ephemeral())
        [event] = result.get_asset_materialization_events()
        [check] = result.get_asset_check_evaluations()
        return event.materialization.metadata["build"].value, "evaluated" not in check.metadata

    assert build() == ("full", True)
    assert build() == ("unchanged", False)
    targets = config_dir / "targets.yaml"
    targets.write_text(targets.read_text(encoding="utf-8").replace("revenue: 240000000", "revenue: 250000000"),
                       encoding="utf-8")
    assert build() == ("full", True)

    class Tomorrow(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime.now(tz) + timedelta(days=1)

    monkeypatch.setattr(target_plan, "datetime", Tomorrow)
    assert build() == ("full", True)
    assert build() == ("unchanged", False)
