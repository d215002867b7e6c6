"""The fiscal quarter and fiscal year views marts.<mart>_fiscal (assets/sql/marts/*_fiscal.sql) on the inbox of
tests/integration/test_analytics_marts.py (fiscal year from April): hand-checked rows around the March / April
boundary, every roll-up recomputed by an independent route (pandas over the monthly mart, Python's
own fiscal calendar), medians from the records rather than from monthly medians, and the fiscal year
start taken from targets.yaml.

The monthly data that matters below (see tests/integration/test_analytics_marts.py for the inbox):
  Webinar  Feb 2026: leads A1 A2 (both MQL, SQL, opportunity DA1 DA2, both won), spend 2,000,000
           DA1 won 2026-03-12 (FY2025, 2025-Q4), 30 days; DA2 won 2026-05-20 (FY2026, 2026-Q1), 97 days
           Jul: leads B1 (MQL) B2, spend 300,000; Aug: leads B3 B4 (MQL, SQL, deals DB3 lost 08-25, DB4 open),
           spend 200,000
  Event    Jul: leads C1 C2 (MQL, SQL; C1's DC1 won 2026-08-09, 2,000,000, 30 days), spend 2,500,000;
           Aug: lead C3 (MQL); Sep: spend 50,000
"""

import math
from datetime import date
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import duckdb
import pytest

from assets.checks.keys import FISCAL_KEYS, FISCAL_MARTS as FISCAL
from assets.core.database import SQL_DIR
from assets.plan.reverse import parse_period
from assets.plan.target_settings import write_target_settings
from schemas.config import TargetsConfig
from tests.conftest import query
from tests.integration.test_analytics_marts import build_work_db

D = Decimal
D0 = D("0.00")
GROSS_MARGIN = Fraction(7, 10)  # tests/integration/test_analytics_marts.py TARGETS_YAML
LTV_MULTIPLIER = Fraction(7, 10) * Fraction(35, 12)


@pytest.fixture(scope="module")
def work_db(tmp_path_factory) -> Path:
    return build_work_db(tmp_path_factory.mktemp("fiscal"))


def period_columns(table: str) -> tuple[str, str, str]:
    """(label, first day, last day) of a roll-up's period: cohort_period, cohort_start, cohort_end for the cohort
    marts' (the period their leads were created in), period, period_start, period_end for the others'."""
    if FISCAL_KEYS[table][1] == "cohort_period":
        return "cohort_period", "cohort_start", "cohort_end"
    return "period", "period_start", "period_end"


def rows_of(work_db: Path, table: str, columns: str, channel: str) -> list[tuple]:
    label, start, end = period_columns(table)
    return query(work_db, f"SELECT grain, {label}, {start}, {end}, {columns} FROM marts.{table} "
                          f"WHERE channel = ? ORDER BY grain, {start}", [channel])


def approx(row: tuple) -> tuple:
    return tuple(pytest.approx(v) if isinstance(v, float) else v for v in row)


Q4_25 = ("fiscal_quarter", "2025-Q4", date(2026, 1, 1), date(2026, 3, 31))
Q1_26 = ("fiscal_quarter", "2026-Q1", date(2026, 4, 1), date(2026, 6, 30))
Q2_26 = ("fiscal_quarter", "2026-Q2", date(2026, 7, 1), date(2026, 9, 30))
FY25 = ("fiscal_year", "FY2025", date(2025, 4, 1), date(2026, 3, 31))
FY26 = ("fiscal_year", "FY2026", date(2026, 4, 1), date(2027, 3, 31))


# --------------------------------------------------------------------------- hand-checked rows


def test_channel_funnel_fiscal_splits_march_from_april(work_db):
    # DA1 closes in March (FY2025), DA2 in May (FY2026). Webinar's months run Feb .. Sep (channel_funnel is dense).
    assert rows_of(work_db, "channel_funnel_fiscal", "leads, mqls, sqls, opportunities, wins, revenue, "
                   "session_to_lead_rate, lead_to_mql_rate, mql_to_sql_rate, sql_to_opportunity_rate, "
                   "opportunity_to_win_rate", "Webinar") == [approx(r) for r in [
        (*Q4_25, 2, 2, 2, 2, 1, D("1000000.00"), None, 1.0, 1.0, 1.0, 0.5),
        (*Q1_26, 0, 0, 0, 0, 1, D("1000000.00"), None, None, None, None, None),
        (*Q2_26, 4, 3, 2, 2, 0, D0, None, 0.75, 2 / 3, 1.0, 0.0),
        (*FY25, 2, 2, 2, 2, 1, D("1000000.00"), None, 1.0, 1.0, 1.0, 0.5),
        (*FY26, 4, 3, 2, 2, 1, D("1000000.00"), None, 0.75, 2 / 3, 1.0, 0.5),
    ]]


def test_lead_cohort_funnel_fiscal(work_db):
    assert rows_of(work_db, "lead_cohort_funnel_fiscal", "leads, reached_mql, reached_sql, reached_opportunity, "
                   "reached_win, revenue, lead_to_mql_rate, opportunity_to_win_rate, lead_to_win_rate", "Webinar") == [
        approx(r) for r in [
            (*Q4_25, 2, 2, 2, 2, 2, D("2000000.00"), 1.0, 1.0, 1.0),
            (*Q2_26, 4, 3, 2, 2, 0, D0, 0.75, 0.0, 0.0),
            (*FY25, 2, 2, 2, 2, 2, D("2000000.00"), 1.0, 1.0, 1.0),
            (*FY26, 4, 3, 2, 2, 0, D0, 0.75, 0.0, 0.0),
        ]]


def test_mql_to_sql_fiscal(work_db):
    assert rows_of(work_db, "mql_to_sql_fiscal", "mqls, reached_sql, mql_to_sql_rate, median_days_mql_to_sql",
                   "Webinar") == [approx(r) for r in [
        (*Q4_25, 2, 2, 1.0, 1.0),
        (*Q2_26, 3, 2, 2 / 3, 1.0),  # B1 never became SQL; B3, B4 took a day each
        (*FY25, 2, 2, 1.0, 1.0),
        (*FY26, 3, 2, 2 / 3, 1.0),
    ]]


def test_deal_to_win_fiscal(work_db):
    assert rows_of(work_db, "deal_to_win_fiscal", "wins, losses, win_rate, revenue, avg_deal_size, "
                   "median_days_opportunity_to_win", "Webinar") == [
        (*Q4_25, 1, 0, 1.0, D("1000000.00"), D("1000000.00"), 30.0),
        (*Q1_26, 1, 0, 1.0, D("1000000.00"), D("1000000.00"), 97.0),
        (*Q2_26, 0, 1, 0.0, D0, None, None),  # DB3 lost in August; nothing won: no deal size, no median
        (*FY25, 1, 0, 1.0, D("1000000.00"), D("1000000.00"), 30.0),
        (*FY26, 1, 1, 0.5, D("1000000.00"), D("1000000.00"), 97.0),
    ]


def test_channel_roi_fiscal(work_db):
    # Webinar FY2026: spend 300,000 + 200,000; leads 4, MQLs 3, opportunities 2, wins 1 (DA2), revenue 1,000,000:
    # CPA 125,000, cost per MQL 166,666.666... -> 166,666.67, per opportunity 250,000, CAC 500,000, ROAS 2, ROI 1.
    assert rows_of(work_db, "channel_roi_fiscal", "spend, leads, mqls, opportunities, wins, revenue, cpa, "
                   "cost_per_mql, cost_per_opportunity, cac, roas, roi", "Webinar") == [approx(r) for r in [
        (*Q4_25, D("2000000.00"), 2, 2, 2, 1, D("1000000.00"), D("1000000.00"), D("1000000.00"), D("1000000.00"),
         D("2000000.00"), 0.5, -0.5),
        (*Q1_26, D0, 0, 0, 0, 1, D("1000000.00"), None, None, None, None, None, None),
        (*Q2_26, D("500000.00"), 4, 3, 2, 0, D0, D("125000.00"), D("166666.67"), D("250000.00"), None, 0.0, -1.0),
        (*FY25, D("2000000.00"), 2, 2, 2, 1, D("1000000.00"), D("1000000.00"), D("1000000.00"), D("1000000.00"),
         D("2000000.00"), 0.5, -0.5),
        (*FY26, D("500000.00"), 4, 3, 2, 1, D("1000000.00"), D("125000.00"), D("166666.67"), D("250000.00"),
         D("500000.00"), 2.0, 1.0),
    ]]


def test_cohort_roi_fiscal(work_db):
    columns = ("spend, leads, reached_win, revenue, roas, roi, cac, payback_month, months_to_payback, "
               "gross_profit, romi, ltv, ltv_to_cac")
    # Webinar: the February cohort paid its 2,000,000 back in May (1M in March + 1M in May): 4 months after
    # 2025-Q4 starts (January), 13 after FY2025 starts (April 2025). LTV 1,000,000 x 49/24 = 2,041,666.67.
    assert rows_of(work_db, "cohort_roi_fiscal", columns, "Webinar") == [approx(r) for r in [
        (*Q4_25, D("2000000.00"), 2, 2, D("2000000.00"), 1.0, 0.0, D("1000000.00"), date(2026, 5, 1), 4,
         D("1400000.00"), -0.3, D("2041666.67"), 49 / 24),
        (*Q2_26, D("500000.00"), 4, 0, D0, 0.0, -1.0, None, None, None, D0, -1.0, None, None),
        (*FY25, D("2000000.00"), 2, 2, D("2000000.00"), 1.0, 0.0, D("1000000.00"), date(2026, 5, 1), 13,
         D("1400000.00"), -0.3, D("2041666.67"), 49 / 24),
        (*FY26, D("500000.00"), 4, 0, D0, 0.0, -1.0, None, None, None, D0, -1.0, None, None),
    ]]
    # Event 2026-Q2 = FY2026: spend 2,500,000 (Jul) + 50,000 (Sep) = 2,550,000 against C1's 2,000,000 (Aug):
    # ROAS 2 / 2.55, not paid back; gross profit 1,400,000, ROMI (1.4 - 2.55) / 2.55;
    # LTV 2,000,000 x 49/24 = 4,083,333.33, LTV/CAC 4,083,333.33 / 2,550,000.
    event = (D("2550000.00"), 3, 1, D("2000000.00"), 2 / 2.55, -0.55 / 2.55, D("2550000.00"), None, None,
             D("1400000.00"), -1.15 / 2.55, D("4083333.33"), 2000000 * 49 / 24 / 2550000)
    assert rows_of(work_db, "cohort_roi_fiscal", columns, "Event") == [approx((*Q2_26, *event)),
                                                                      approx((*FY26, *event))]


# --------------------------------------------------------------------------- independent recomputation


def fiscal_periods(month: date, start_month: int = 4) -> list[tuple[str, str, date, date]]:
    """Python's own fiscal calendar: (grain, label, first day, last day) of a month's quarter and year."""
    year = month.year - (month.month < start_month)
    quarter = (month.month - start_month) % 12 // 3 + 1
    out = []
    for grain, label in (("fiscal_quarter", f"{year}-Q{quarter}"), ("fiscal_year", f"FY{year}")):
        period = parse_period(label, start_month)
        out.append((grain, label, period.start, period.end))
    return out


def ratio(a, b):
    return None if not b else float(Fraction(a) / Fraction(b))


def money(amount, numerator=1, denominator=1):
    """amount x numerator / denominator, exact, rounded half up to the cent (amounts here are >= 0);
    None without an amount or a denominator."""
    if amount is None or not denominator:
        return None
    cents = Fraction(amount) * Fraction(numerator) * 100 / Fraction(denominator)
    return (D(math.floor(cents + Fraction(1, 2))) / 100).quantize(D("0.01"))


def no_spend(x):
    return None if not x else x


# Mart -> (its month column, summed columns, {derived column: f(sums)}).
RECOMPUTE = {
    "channel_funnel": ("period_start", ["sessions", "leads", "mqls", "sqls", "opportunities", "wins", "revenue"], {
        "session_to_lead_rate": lambda s: ratio(s["leads"], s["sessions"]),
        "lead_to_mql_rate": lambda s: ratio(s["mqls"], s["leads"]),
        "mql_to_sql_rate": lambda s: ratio(s["sqls"], s["mqls"]),
        "sql_to_opportunity_rate": lambda s: ratio(s["opportunities"], s["sqls"]),
        "opportunity_to_win_rate": lambda s: ratio(s["wins"], s["opportunities"]),
    }),
    "lead_cohort_funnel": ("cohort_start", ["leads", "reached_mql", "reached_sql", "reached_opportunity",
                                            "reached_win", "revenue"], {
        "lead_to_mql_rate": lambda s: ratio(s["reached_mql"], s["leads"]),
        "mql_to_sql_rate": lambda s: ratio(s["reached_sql"], s["reached_mql"]),
        "sql_to_opportunity_rate": lambda s: ratio(s["reached_opportunity"], s["reached_sql"]),
        "opportunity_to_win_rate": lambda s: ratio(s["reached_win"], s["reached_opportunity"]),
        "lead_to_win_rate": lambda s: ratio(s["reached_win"], s["leads"]),
    }),
    "mql_to_sql": ("period_start", ["mqls", "reached_sql"], {
        "mql_to_sql_rate": lambda s: ratio(s["reached_sql"], s["mqls"]),
    }),
    "deal_to_win": ("period_start", ["wins", "losses", "revenue"], {
        "win_rate": lambda s: ratio(s["wins"], s["wins"] + s["losses"]),
        "avg_deal_size": lambda s: money(s["revenue"], 1, s["wins"]),
    }),
    "channel_roi": ("period_start", ["spend", "leads", "mqls", "opportunities", "wins", "revenue"], {
        "cpa": lambda s: money(no_spend(s["spend"]), 1, s["leads"]),
        "cost_per_mql": lambda s: money(no_spend(s["spend"]), 1, s["mqls"]),
        "cost_per_opportunity": lambda s: money(no_spend(s["spend"]), 1, s["opportunities"]),
        "cac": lambda s: money(no_spend(s["spend"]), 1, s["wins"]),
        "roas": lambda s: ratio(s["revenue"], s["spend"]),
        "roi": lambda s: ratio(s["revenue"] - s["spend"], s["spend"]),
    }),
    "cohort_roi": ("cohort_start", ["spend", "leads", "reached_win", "revenue"], {
        "roas": lambda s: ratio(s["revenue"], s["spend"]),
        "roi": lambda s: ratio(s["revenue"] - s["spend"], s["spend"]),
        "cac": lambda s: money(no_spend(s["spend"]), 1, s["reached_win"]),
        "gross_profit": lambda s: money(s["revenue"], GROSS_MARGIN),
        "romi": lambda s: ratio(money(s["revenue"], GROSS_MARGIN) - s["spend"], s["spend"]),
        "ltv": lambda s: money(s["revenue"], LTV_MULTIPLIER, s["reached_win"]),
        "ltv_to_cac": lambda s: None if not s["reached_win"] else ratio(Fraction(s["revenue"]) * LTV_MULTIPLIER, s["spend"]),
    }),
    "attributed_revenue": ("period_start", ["attributed_revenue", "revenue_from_touches", "revenue_without_touches",
                                            "deals_credited"], {}),
}


def test_every_rollup_is_recomputed_from_its_monthly_mart():
    assert set(RECOMPUTE) == set(FISCAL)


@pytest.mark.parametrize("mart", sorted(RECOMPUTE))
def test_rollup_equals_the_recomputation_from_the_monthly_mart(work_db, mart):
    """Sums in Python over the monthly rows (money as exact Decimal), periods from Python's own calendar,
    rates and money per unit recomputed from the sums; every row and column of the roll-up must match."""
    month_column, summed, derived = RECOMPUTE[mart]
    keys = FISCAL_KEYS[f"{mart}_fiscal"][2:]  # channel (and model)
    label, start_column, end_column = period_columns(f"{mart}_fiscal")
    expected: dict[tuple, dict] = {}
    records = query(work_db, f"SELECT {month_column}, {', '.join(keys + summed)} FROM marts.{mart}")
    assert records
    for month, *values in records:
        key, values = tuple(values[:len(keys)]), values[len(keys):]
        for grain, period, start, end in fiscal_periods(month):
            sums = expected.setdefault((grain, period, *key), {start_column: start, end_column: end,
                                                                **{c: 0 for c in summed}})
            for column, value in zip(summed, values):
                sums[column] += value
    for sums in expected.values():
        sums.update({column: f(sums) for column, f in derived.items()})
    actual = {}
    with duckdb.connect(str(work_db), read_only=True) as con:
        names = [d[0] for d in con.execute(f"SELECT * FROM marts.{mart}_fiscal LIMIT 0").description]
        for row in con.execute(f"SELECT * FROM marts.{mart}_fiscal").fetchall():
            record = dict(zip(names, row))
            actual[(record.pop("grain"), record.pop(label), *(record.pop(k) for k in keys))] = record
    assert set(actual) == set(expected)
    for key, sums in expected.items():
        for column, value in sums.items():
            got = actual[key][column]
            if isinstance(value, float):
                assert got == pytest.approx(value), (key, column)
            else:
                assert got == value, (key, column)


def test_each_grain_adds_up_to_the_monthly_total(work_db):
    for mart, (_, summed, _) in RECOMPUTE.items():
        totals = ", ".join(f"sum({c})" for c in summed)
        monthly = query(work_db, f"SELECT {totals} FROM marts.{mart}")[0]
        for grain in ("fiscal_quarter", "fiscal_year"):
            assert query(work_db, f"SELECT {totals} FROM marts.{mart}_fiscal WHERE grain = ?", [grain])[0] == monthly


# --------------------------------------------------------------------------- medians, calendar, comments


def _staged(leads: list[tuple] = (), deals: list[tuple] = (), start_month: int = 4) -> duckdb.DuckDBPyConnection:
    """leads: (channel, mql_date, sql_date or None); deals: (channel, created_at, closed_on, outcome, amount)."""
    con = duckdb.connect()
    con.execute((SQL_DIR / "metric_macros.sql").read_text(encoding="utf-8"))
    write_target_settings(con, TargetsConfig(fiscal_year_start_month=start_month))
    con.execute("CREATE SCHEMA marts; CREATE TABLE staging.lead_funnel (channel VARCHAR, mql_date TIMESTAMP, "
                "sql_date TIMESTAMP, reached_mql BOOLEAN, reached_sql BOOLEAN);"
                "CREATE TABLE staging.deals (channel VARCHAR, created_at TIMESTAMP, closed_on DATE, outcome VARCHAR, "
                "amount DECIMAL(18, 2))")
    for channel, mql, sql in leads:
        con.execute("INSERT INTO staging.lead_funnel VALUES (?, ?, ?, true, ?)", [channel, mql, sql, sql is not None])
    for deal in deals:
        con.execute("INSERT INTO staging.deals VALUES (?, ?, ?, ?, ?)", list(deal))
    return con


def test_medians_come_from_the_records_not_from_monthly_medians():
    # July: MQL -> SQL in 1, 2, 3 days (monthly median 2); August: 10 days (monthly median 10).
    # The quarter's median over the four leads is 2.5; the median (or mean) of the monthly medians would be 6.
    leads = [("X", date(2026, 7, 1), date(2026, 7, 1 + d)) for d in (1, 2, 3)] + [
        ("X", date(2026, 8, 1), date(2026, 8, 11)), ("X", date(2026, 8, 2), None)]
    # Won deals closed on 07-01 after 10, 20, 30 days and on 08-11 after 100 (05-03 + 31 + 30 + 31 + 8); one lost.
    deals = [("X", created, date(2026, 7, 1), "won", D(100))
             for created in (date(2026, 6, 21), date(2026, 6, 11), date(2026, 6, 1))]
    deals += [("X", date(2026, 5, 3), date(2026, 8, 11), "won", D(100)),
              ("X", date(2026, 8, 1), date(2026, 8, 20), "lost", D(100))]
    con = _staged(leads, deals)
    for mart in ("mql_to_sql", "deal_to_win", "mql_to_sql_fiscal", "deal_to_win_fiscal"):
        con.execute((SQL_DIR / "marts" / f"{mart}.sql").read_text(encoding="utf-8"))
    assert con.execute("SELECT period_start, median_days_mql_to_sql FROM marts.mql_to_sql ORDER BY 1").fetchall() == [
        (date(2026, 7, 1), 2.0), (date(2026, 8, 1), 10.0)]
    assert con.execute("SELECT grain, mqls, reached_sql, median_days_mql_to_sql FROM marts.mql_to_sql_fiscal "
                       "ORDER BY grain").fetchall() == [("fiscal_quarter", 5, 4, 2.5), ("fiscal_year", 5, 4, 2.5)]
    # Deals: July closes took 10, 20, 30 days (monthly median 20), August's 100 (median 100): quarter median 25.
    assert con.execute("SELECT period_start, median_days_opportunity_to_win FROM marts.deal_to_win ORDER BY 1").fetchall() == [
        (date(2026, 7, 1), 20.0), (date(2026, 8, 1), 100.0)]
    assert con.execute("SELECT grain, wins, losses, win_rate, median_days_opportunity_to_win FROM marts.deal_to_win_fiscal "
                       "ORDER BY grain").fetchall() == [("fiscal_quarter", 4, 1, 0.8, 25.0),
                                                        ("fiscal_year", 4, 1, 0.8, 25.0)]


def test_the_fiscal_year_start_comes_from_targets_yaml():
    # A calendar fiscal year (fiscal_year_start_month: 1): March and April 2026 are both in FY2026, in Q1 and Q2.
    con = _staged([("X", date(2026, 3, 5), None), ("X", date(2026, 4, 5), date(2026, 4, 6))], start_month=1)
    con.execute((SQL_DIR / "marts" / "mql_to_sql.sql").read_text(encoding="utf-8"))
    con.execute((SQL_DIR / "marts" / "mql_to_sql_fiscal.sql").read_text(encoding="utf-8"))
    assert con.execute("SELECT grain, period, period_start, period_end, mqls, reached_sql FROM marts.mql_to_sql_fiscal "
                       "ORDER BY grain, period_start").fetchall() == [
        ("fiscal_quarter", "2026-Q1", date(2026, 1, 1), date(2026, 3, 31), 1, 0),
        ("fiscal_quarter", "2026-Q2", date(2026, 4, 1), date(2026, 6, 30), 1, 1),
        ("fiscal_year", "FY2026", date(2026, 1, 1), date(2026, 12, 31), 2, 1),
    ]


def test_every_fiscal_table_and_column_has_a_comment_and_money_is_decimal(work_db):
    tables = dict(query(work_db, "SELECT table_name, comment FROM duckdb_tables() WHERE schema_name = 'marts' "
                                 "AND table_name LIKE '%\\_fiscal' ESCAPE '\\'"))
    assert set(tables) == set(FISCAL_KEYS)
    assert all(c and c.strip() for c in tables.values())
    columns = query(work_db, "SELECT table_name, column_name, data_type, comment FROM duckdb_columns() "
                             "WHERE schema_name = 'marts' AND table_name IN ?", [list(FISCAL_KEYS)])
    assert [(t, c) for t, c, _, comment in columns if not (comment and comment.strip())] == []
    types = {(t, c): ty for t, c, ty, _ in columns}
    for (table, column), type_ in types.items():
        if column in ("revenue", "spend", "cpa", "cost_per_mql", "cost_per_opportunity", "cac", "avg_deal_size",
                      "gross_profit", "ltv"):
            assert type_ == "DECIMAL(18,2)", (table, column)
        if column in ("period_start", "period_end", "cohort_start", "cohort_end"):
            assert type_ == "DATE"
    # Every monthly column is there too, under the same name (a cohort mart's cohort_start too).
    for mart in FISCAL:
        monthly = {c for (c,) in query(work_db, "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'marts' "
                                                "AND table_name = ?", [mart])}
        assert monthly <= {c for t, c in types if t == f"{mart}_fiscal"}, mart
