"""What ops see in the Dagster UI, read through Dagster's own GraphQL API after a
real run (issue 6): descriptions, owners, groups, kinds, column schemas, run
metadata, check names and a failed load's message."""

from __future__ import annotations

import re

import dagster as dg
import pytest

from tests.conftest import CONFIG_DIR, REPO, write_export

QUERY = """
{
  assetNodes {
    assetKey { path }
    description
    groupName
    kinds
    owners { __typename ... on TeamAssetOwner { team } }
    assetChecksOrError { ... on AssetChecks { checks { name description } } }
    assetMaterializations(limit: 1) {
      runId
      metadataEntries {
        label
        __typename
        ... on IntMetadataEntry { intValue }
        ... on MarkdownMetadataEntry { mdStr }
        ... on PathMetadataEntry { path }
        ... on UrlMetadataEntry { url }
        ... on TableSchemaMetadataEntry { schema { columns { name type description } } }
      }
    }
  }
}
"""


@pytest.fixture(scope="module")
def graphql(tmp_path_factory):
    """One real run on a persistent test instance, then the UI's GraphQL API over the same
    definitions loaded the way `dagster dev` loads them (a code server process)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FUNNEL_OWNER_TEAM", "marketing-data")
        yield from _run_and_query(tmp_path_factory.mktemp("ui") / "inbox")


def _run_and_query(tmp_inbox):
    from dagster_graphql.test.utils import define_out_of_process_context, execute_dagster_graphql

    from pipelines.definitions import defs

    write_export(tmp_inbox, "leads", "leads.csv", "lead_id,created_at,lead_source\n"
                 + "".join(f"L{i},2026-07-03,Webinar\n" for i in range(1, 30)) + "L99,2031-01-01,Webinar\n")
    write_export(tmp_inbox, "deals", "deals.csv", "deal_id,created_at,stage,lead_id,amount\nD1,2026-07-10,受注,L1,5\n")
    with dg.instance_for_test() as instance:
        result = defs().resolve_job_def("funnel_job").execute_in_process(
            instance=instance, raise_on_error=False,
            run_config={"resources": {"funnel": {"config": {
                "inbox_dir": str(tmp_inbox), "config_dir": str(CONFIG_DIR),
                "warehouse_path": str(tmp_inbox.parent / "wh" / "funnel.duckdb"), "timezone": "Asia/Tokyo"}}}})
        assert result.success
        with define_out_of_process_context(str(REPO / "pipelines" / "definitions.py"), "defs", instance) as ctx:
            response = execute_dagster_graphql(ctx, QUERY)
            assert not response.errors, response.errors
            yield result, {"/".join(n["assetKey"]["path"]): n for n in response.data["assetNodes"]}


def entries(node: dict) -> dict:
    [materialization] = node["assetMaterializations"]
    return {e["label"]: e for e in materialization["metadataEntries"]}


def test_every_asset_explains_itself_in_the_ui(graphql):
    result, nodes = graphql
    assert {n["groupName"] for n in nodes.values()} == {"ingest", "staging", "marts", "publish", "report"}
    for key, node in nodes.items():
        assert node["description"] and len(node["description"]) > 40, key
        assert node["owners"] == [{"__typename": "TeamAssetOwner", "team": "marketing-data"}], key
        assert ("html" if key == "report/funnel_report" else "duckdb") in node["kinds"], key
        assert node["assetMaterializations"][0]["runId"] == result.run_id, key
    assert {"pandera", "csv"} <= set(nodes["raw/leads"]["kinds"])
    # the report links its file
    report = entries(nodes["report/funnel_report"])
    assert report["path"]["path"].endswith("/wh/report/funnel_report.html")
    assert report["url"]["url"] == "file://" + report["path"]["path"]
    # every table asset shows its rows, its columns with their definitions and a preview
    for key, node in nodes.items():
        if key in ("published/funnel_duckdb", "report/funnel_report"):
            continue
        meta = entries(node)
        assert meta["dagster/row_count"]["intValue"] >= 0, key
        columns = meta["dagster/column_schema"]["schema"]["columns"]
        assert columns and all(c["type"] for c in columns), key
        assert meta["preview"]["__typename"] == "MarkdownMetadataEntry", key
    funnel = {c["name"]: c for c in entries(nodes["marts/channel_funnel"])["dagster/column_schema"]["schema"]["columns"]}
    assert funnel["mql_to_sql_rate"]["description"] == "sqls / mqls of the same month; NULL when mqls = 0."
    raw = {c["name"]: c for c in entries(nodes["raw/leads"])["dagster/column_schema"]["schema"]["columns"]}
    assert raw["lead_source"]["description"].startswith("Raw lead source value")


def test_loads_show_files_rows_and_quarantine_and_checks_say_what_they_check(graphql):
    _, nodes = graphql
    leads = entries(nodes["raw/leads"])
    assert (leads["files_loaded"]["intValue"], leads["rows_loaded"]["intValue"],
            leads["rows_quarantined"]["intValue"], leads["dagster/row_count"]["intValue"]) == (1, 29, 1, 29)
    assert "| leads/leads.csv | loaded | 29 | 1 | native |" in leads["files"]["mdStr"]
    checks = {c["name"]: c["description"] for n in nodes.values()
              for c in (n["assetChecksOrError"] or {}).get("checks", [])}
    assert {"leads_no_rows_quarantined", "leads_newest_export_is_fresh", "channel_funnel_expectation_suite",
            "channel_funnel_reconciles_with_inputs", "every_raw_value_mapped"} <= set(checks)
    assert all(len(d) > 40 for d in checks.values()), [n for n, d in checks.items() if len(d) <= 40]


WORKSPACE = """
{
  workspaceOrError { ... on Workspace { locationEntries {
    name locationOrLoadError { ... on RepositoryLocation { repositories { name pipelines { name } } } } } } }
}
"""
JOB_RUNS = """
query JobRuns($filter: RunsFilter, $job: PipelineSelector!) {
  runsOrError(filter: $filter) { ... on Runs { results {
    runId pipelineName status repositoryOrigin { repositoryLocationName repositoryName } } } }
  pipelineOrError(params: $job) { ... on Pipeline { runs { runId } } }
}
"""


def test_a_funnel_run_is_filed_under_its_job_and_code_location(tmp_path, monkeypatch):
    """The UI's job page lists the runs of its job with its repository's label (the Runs tab's filter,
    pipelineName and the `.dagster/repository` tag); the Overview timeline places a run by its
    repositoryOrigin. Read here from the code location `make ui` serves, as the UI reads it: a code
    server process started from the Makefile's own `dagster dev -m` module."""
    import uuid

    from dagster._core.workspace.context import WorkspaceProcessContext
    from dagster._core.workspace.load_target import ModuleTarget
    from dagster_graphql.test.utils import execute_dagster_graphql

    from pipelines.cli import main

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    (tmp_path / "dagster_home").mkdir()
    inbox = tmp_path / "inbox"
    write_export(inbox, "leads", "leads.csv", "lead_id,created_at,lead_source\nL1,2026-07-03,Webinar\n")
    assert main(["run", "--inbox", str(inbox), "--warehouse", str(tmp_path / "wh" / "funnel.duckdb")]) == 0
    [module] = re.findall(r"dagster dev -m (\S+)", (REPO / "Makefile").read_text())
    with dg.DagsterInstance.get() as instance:
        [ours] = [r.run_id for r in instance.get_runs()]
        # a run without a code location (execute_in_process's kind): only in the global run list
        bare = str(uuid.uuid4())
        instance.add_run(dg.DagsterRun(job_name="funnel_job", run_id=bare, status=dg.DagsterRunStatus.SUCCESS))
        target = ModuleTarget(module_name=module, attribute=None, working_directory=str(REPO), location_name=None)
        with WorkspaceProcessContext(instance, target, version="") as process:
            [location] = execute_dagster_graphql(process.create_request_context(), WORKSPACE
                                                 ).data["workspaceOrError"]["locationEntries"]
            [repository] = location["locationOrLoadError"]["repositories"]
            assert "funnel_job" in {p["name"] for p in repository["pipelines"]}
            label = f"{repository['name']}@{location['name']}"
            response = execute_dagster_graphql(process.create_request_context(), JOB_RUNS, {
                "filter": {"pipelineName": "funnel_job", "tags": [{"key": ".dagster/repository", "value": label}]},
                "job": {"repositoryLocationName": location["name"], "repositoryName": repository["name"],
                        "pipelineName": "funnel_job"}})
    assert not response.errors, response.errors
    runs = response.data["runsOrError"]["results"]
    assert [(r["runId"], r["status"]) for r in runs] == [(ours, "SUCCESS")]
    assert runs[0]["repositoryOrigin"] == {"repositoryLocationName": location["name"],
                                           "repositoryName": repository["name"]}
    assert [r["runId"] for r in response.data["pipelineOrError"]["runs"]] == [ours]
    assert bare not in {r["runId"] for r in runs}


ANGLE_WORD = re.compile(r"<[A-Za-z]")  # the UI renders descriptions and markdown with their HTML: `<word` is a tag


def shown_texts(metadata: dict) -> list[tuple[str, str]]:
    """(label, text) of every metadata value the UI shows as text or markdown (JSON is shown by a viewer, as
    data), the column descriptions of a column schema included."""
    out = []
    for label, value in metadata.items():
        if isinstance(value, dg.TableSchemaMetadataValue):
            out += [(f"{label}.{c.name}", c.description or "") for c in value.schema.columns]
        elif isinstance(value, (dg.TextMetadataValue, dg.MarkdownMetadataValue, dg.PathMetadataValue,
                                dg.UrlMetadataValue)):
            out.append((label, value.value))
        elif isinstance(value, str):
            out.append((label, value))
    return out


def test_no_description_or_metadata_text_holds_a_word_in_angle_brackets(tmp_path):
    """Every description of the definitions and every text of the metadata a run emits (materializations,
    check evaluations, failures), over a run that quarantines rows, masks an address typed into a source
    (the mask reads `<e-mail removed>` in the data), refuses a file, skips an entry it cannot read, and
    finds an unmapped value: none holds `<` followed by a letter, which the UI would swallow as a tag."""
    from pipelines.definitions import defs
    from tests.conftest import query, run_funnel_job

    inbox = tmp_path / "inbox"
    write_export(inbox, "leads", "leads.csv", "lead_id,created_at,lead_source\n"
                 + "".join(f"L{i},2026-07-03,Webinar\n" for i in range(1, 30))
                 + "L90,2026-07-03,sato@example.jp\nL99,2031-01-01,Webinar\n")
    write_export(inbox, "deals", "deals.csv", "deal_id,created_at,stage,lead_id,amount\nD1,2026-07-10,受注,L1,5\n")
    write_export(inbox, "spend", "spend.csv", "date,channel,cost\n2026-07,<script>,100\n")
    (inbox / "spend" / "spend.xlsx").write_bytes(b"PK\x03\x04")
    events = list(run_funnel_job(inbox, tmp_path / "wh" / "funnel.duckdb").all_events)
    write_export(inbox, "deals", "deals_bad.csv", "deal_id,created_at,stage,amount\nD9,2026-07-10,受注,-5\n")
    events += run_funnel_job(inbox, tmp_path / "wh" / "funnel.duckdb").all_events  # the file is refused
    texts = []
    d = defs()
    graph = d.resolve_asset_graph()
    texts += [(f"asset {s.key.to_user_string()}", s.description or "") for s in d.resolve_all_asset_specs()]
    texts += [(f"check {k.name}", graph.get_check_spec(k).description or "") for k in graph.asset_check_keys]
    texts += [(f"job {j.name}", j.description or "") for j in [d.resolve_job_def("funnel_job")]]
    texts += [(f"schedule {s.name}", s.description or "") for s in d.schedules]
    texts += [(f"sensor {s.name}", s.description or "") for s in d.sensors]
    for event in events:
        data = event.event_specific_data
        if event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            texts += [(f"{event.asset_key.to_user_string()} {label}", text)
                      for label, text in shown_texts(data.materialization.metadata)]
        elif event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            texts += [(f"{data.check_name} {label}", text) for label, text in shown_texts(data.metadata)]
            texts.append((f"{data.check_name} description", data.description or ""))
        elif event.event_type == dg.DagsterEventType.STEP_FAILURE and data.user_failure_data:
            texts.append((f"{event.step_key} failure", data.user_failure_data.description or ""))
            texts += [(f"{event.step_key} failure {label}", text)
                      for label, text in shown_texts(data.user_failure_data.metadata)]
    # the COMMENTs of the published file: column descriptions in the UI, and docs/metrics.md (markdown too)
    texts += [(f"COMMENT {where}", comment) for where, comment in query(tmp_path / "wh" / "funnel.duckdb", """
        SELECT schema_name || '.' || table_name, comment FROM duckdb_tables() WHERE comment IS NOT NULL
        UNION ALL SELECT schema_name || '.' || table_name || '.' || column_name, comment FROM duckdb_columns()
        WHERE comment IS NOT NULL""")]
    assert len(texts) > 500  # the first run reached the marts, the publish and the report
    assert any("e-mail removed" in text for _, text in texts)  # the mask is shown, as words
    assert any("script" in text for _, text in texts)
    assert any("deals/deals_bad.csv" in text for _, text in texts)  # what the refusal says
    wrong = [f"{where}: {text[max(0, m.start() - 40):m.start() + 40]!r}"
             for where, text in texts for m in [ANGLE_WORD.search(text)] if m]
    assert not wrong, "\n".join(wrong)
