"""One name per concept across the marts (issue 23): the list analysts and tests hold the marts to.

Analysts join and compare marts by column name, so a thing has one name wherever it appears: deals
won are `wins` in every mart that counts them, the first day of a month of events is `period_start`,
clicks / impressions is `impression_to_click_rate`. Each `Concept` below is one such thing: its
canonical column name, what it means, the names it had in some marts before `RENAMED_IN`, and names
it must never take. A column that only looks alike but means something else keeps a name of its own,
said in `not_to_confuse` and in its COMMENT (cohort_start is not period_start; win_rate is not
opportunity_to_win_rate).

- tests/unit/test_names.py fails when a mart's column has an old or forbidden name of a concept, so the
  drift cannot come back;
- the publish (assets/publish/publish.py) writes a view `compat.<mart>` per renamed mart, its columns
  under their old names, until `COMPAT_REMOVED_IN`;
- docs/metrics.md lists the concepts and the renames (pipelines/dev/names_doc.py).

A new mart reuses these names for these things; a new concept shared by two marts gets a `Concept`."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

RENAMED_IN = "0.2.0"  # the release whose marts carry the canonical names
COMPAT_SCHEMA = "compat"  # the published schema holding the old names, one view per renamed mart
COMPAT_REMOVED_IN = "0.3.0"  # the release that drops it

_COHORTS = ("lead_cohort_funnel_fiscal", "cohort_roi_fiscal")  # the roll-ups of the cohort marts


@dataclass(frozen=True)
class Concept:
    name: str  # the canonical column name
    group: str  # keys, periods, counts, money, rates, durations
    meaning: str
    renamed: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # old name -> marts that had it
    never: tuple[str, ...] = ()  # other names of the same thing that no mart may take
    not_to_confuse: str = ""  # a similar name that means something else, and why


CONCEPTS: tuple[Concept, ...] = (
    Concept("channel", "keys", "Channel name (channels.yaml; Unattributed, Other).", never=("channel_name",)),
    # ---------------------------------------------------------------- periods
    Concept("period_start", "periods",
            "First day of the period the row's events happened in: a month (monthly marts) or a fiscal period "
            "(the _fiscal roll-ups); for deals won or lost, their close month.",
            never=("month", "month_start", "period_month"),
            not_to_confuse="cohort_start: the period the row's leads (or deals) were created in."),
    Concept("period_end", "periods", "Last day of the period, inclusive (fiscal roll-ups, target_plan)."),
    Concept("period", "periods", "Label of the fiscal or target period: FY2026, 2026-Q3 (2026-07 in target_plan)."),
    Concept("grain", "periods", "What a roll-up's row covers: fiscal_quarter or fiscal_year."),
    Concept("cohort_start", "periods",
            "First day of the period the row's leads (bottlenecks' opportunity_to_win: deals) were created in; "
            "what they did later is counted whenever it happened.",
            renamed={"period_start": ("bottlenecks", *_COHORTS)}, never=("cohort_month",),
            not_to_confuse="period_start: the period the counted events themselves happened in."),
    Concept("cohort_end", "periods", "Last day of the fiscal period the cohort's leads were created in, inclusive.",
            renamed={"period_end": _COHORTS}),
    Concept("cohort_period", "periods", "Label of the fiscal period the cohort's leads were created in (FY2026).",
            renamed={"period": _COHORTS}),
    # ---------------------------------------------------------------- counts
    Concept("impressions", "counts", "Ad impressions of the spend rows (ad platform exports)."),
    Concept("clicks", "counts", "Ad clicks of the spend rows."),
    Concept("sessions", "counts", "GA4 sessions."),
    Concept("leads", "counts", "Leads created (in the period; of the cohort)."),
    Concept("mqls", "counts", "Leads that became MQL in the period."),
    Concept("sqls", "counts", "Leads that became SQL in the period."),
    Concept("opportunities", "counts", "Deals created (in the period).", never=("deals_created",)),
    Concept("wins", "counts", "Deals won, counted in the period of their close date.",
            renamed={"won": ("deal_to_win", "deal_to_win_fiscal")}, never=("won_deals", "deals_won"),
            not_to_confuse="reached_win: leads of a cohort with a won deal, each counted once."),
    Concept("losses", "counts", "Deals lost, counted in the period of their close date.",
            renamed={"lost": ("deal_to_win", "deal_to_win_fiscal")}, never=("lost_deals", "deals_lost")),
    Concept("reached_mql", "counts", "Of the row's cohort leads, those that ever reached MQL, so far."),
    Concept("reached_sql", "counts", "Of the row's leads (a cohort, or the MQLs of mql_to_sql), those that ever "
            "reached SQL, so far.", renamed={"became_sql": ("mql_to_sql", "mql_to_sql_fiscal")}),
    Concept("reached_opportunity", "counts", "Of the row's cohort leads, those with a linked deal (or lifecycle "
            "opportunity or customer), so far."),
    Concept("reached_win", "counts", "Of the row's cohort leads, those with a won linked deal so far (customers).",
            renamed={"won": ("lead_cohort_funnel", "lead_cohort_funnel_fiscal", "cohort_roi", "cohort_roi_fiscal")},
            not_to_confuse="wins: deals won in the period; a lead with two won deals is 1 reached_win, 2 wins."),
    # ---------------------------------------------------------------- money
    Concept("revenue", "money", "Sum of the amounts of won deals (DECIMAL): of the period's closes, or of the "
            "cohort's leads so far.", never=("won_amount", "won_revenue", "amount"),
            not_to_confuse="attributed_revenue: the part of it credited to a channel under an attribution model."),
    Concept("spend", "money", "Cost of the channel in the period (staging.spend's cost; DECIMAL).",
            never=("cost", "ad_cost", "ad_spend")),
    Concept("avg_deal_size", "money", "revenue / deals won, exact decimal."),
    Concept("cac", "money", "spend / wins (channel_roi), spend / reached_win (cohort_roi): cost per customer."),
    # ---------------------------------------------------------------- rates
    Concept("impression_to_click_rate", "rates", "clicks / impressions (CTR).",
            renamed={"ctr": ("channel_roi", "channel_roi_fiscal")}, never=("click_through_rate",),
            not_to_confuse="targets.yaml's rate key ctr (and target_plan.rate_name) is this rate: configuration "
                           "keeps its name."),
    Concept("click_to_session_rate", "rates", "sessions / clicks."),
    Concept("session_to_lead_rate", "rates", "leads / sessions."),
    Concept("lead_to_mql_rate", "rates", "mqls / leads (cohort marts: reached_mql / leads)."),
    Concept("mql_to_sql_rate", "rates", "sqls / mqls (cohort marts and mql_to_sql: reached_sql / reached_mql, "
            "reached_sql / mqls)."),
    Concept("sql_to_opportunity_rate", "rates", "opportunities / sqls (cohort: reached_opportunity / reached_sql)."),
    Concept("opportunity_to_win_rate", "rates", "wins / opportunities (cohort: reached_win / reached_opportunity).",
            not_to_confuse="win_rate: wins / (wins + losses), closed deals only. targets.yaml's rate key win_rate "
                           "(and target_plan.rate_name) is opportunity_to_win_rate: configuration keeps its name."),
    Concept("win_rate", "rates", "wins / (wins + losses): the share of closed deals that were won; open deals "
            "are in neither.", not_to_confuse="opportunity_to_win_rate, whose denominator is every deal created."),
    Concept("lead_to_win_rate", "rates", "reached_win / leads of a cohort."),
    Concept("roas", "rates", "revenue / spend of the row (cohort_roi: the cohort's revenue so far).",
            renamed={"cohort_roas": ("cohort_roi", "cohort_roi_fiscal")}),
    Concept("roi", "rates", "(revenue - spend) / spend of the row.",
            renamed={"cohort_roi": ("cohort_roi", "cohort_roi_fiscal")}),
    # ---------------------------------------------------------------- durations
    Concept("median_days_opportunity_to_win", "durations",
            "Median days from a deal's creation to its close date, won deals (the opportunity_to_win transition).",
            renamed={"median_days_to_close": ("deal_to_win", "deal_to_win_fiscal")}, never=("days_to_close",),
            not_to_confuse="avg_sales_cycle_days (pipeline_velocity): the mean over a trailing window."),
    Concept("median_days_mql_to_sql", "durations", "Median days from MQL date to SQL date."),
)


def compat_renames() -> dict[str, dict[str, str]]:
    """Mart -> {canonical name: the name it had before RENAMED_IN}: the columns of each compat view."""
    renames: dict[str, dict[str, str]] = {}
    for concept in CONCEPTS:
        for old, marts in concept.renamed.items():
            for mart in marts:
                renames.setdefault(mart, {})[concept.name] = old
    return {mart: dict(sorted(renames[mart].items())) for mart in sorted(renames)}


COMPAT = compat_renames()


def misnamed_columns(columns: Mapping[str, Iterable[str]]) -> list[str]:
    """One line per mart column (`columns`: mart -> its column names) that carries an old or forbidden name of
    a concept, saying what to call it. An old name that is itself another concept's name (period_start, once
    cohort_start in bottlenecks) is wrong only in the marts that had it."""
    canonical = {c.name for c in CONCEPTS}
    problems = []
    for mart, names in sorted(columns.items()):
        for column in names:
            instead = [c for c in CONCEPTS if column != c.name and (
                column in c.never or (column in c.renamed and (column not in canonical or mart in c.renamed[column])))]
            if instead:
                problems.append(f"marts.{mart}.{column}: call it " + " or ".join(
                    f"{c.name} ({c.meaning.rstrip('.')})" for c in instead))
    return problems


def compat_view_sql(mart: str, catalog: str) -> list[str]:
    """The statements writing view compat.<mart> into `catalog`: marts.<mart> with its renamed columns under
    their old names (every other column as it is), and its comments. The view reads `marts.<mart>` without a
    catalog: the published file is opened under any name."""
    renames = COMPAT[mart]
    target = f"{catalog}.{COMPAT_SCHEMA}.{mart}"
    old = ", ".join(renames.values())
    sql = [f"CREATE OR REPLACE VIEW {target} AS SELECT * RENAME ("
           + ", ".join(f"{new} AS {was}" for new, was in renames.items()) + f") FROM marts.{mart}",
           f"COMMENT ON VIEW {target} IS 'marts.{mart} with the column names it had before {RENAMED_IN} "
           f"({old}), for queries not yet moved to the new names. Removed in {COMPAT_REMOVED_IN}: query "
           f"marts.{mart} instead.'"]
    sql += [f"COMMENT ON COLUMN {target}.{was} IS 'marts.{mart}.{new} (named {was} before {RENAMED_IN}).'"
            for new, was in renames.items()]
    return sql
