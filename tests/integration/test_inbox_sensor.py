"""The inbox sensor (pipelines/sensors.py), evaluated as Dagster evaluates it: one run request for complete
new files, none for the same files again (cursor and run key), none while a file was modified seconds ago."""

import os
import time

import dagster as dg

from pipelines.definitions import defs
from pipelines.sensors import inbox_sensor
from tests.conftest import write_export

LEADS = "lead_id,created_at,lead_source\nL1,2026-07-03 10:00,Webinar\n"


def evaluate(cursor=None):
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(instance=instance, cursor=cursor)
        result = inbox_sensor(context)
        return result, context.cursor


def settled(path, seconds_ago=600):
    then = time.time() - seconds_ago
    os.utime(path, (then, then))


def test_one_run_for_complete_new_files_and_none_for_the_same_files_again(tmp_path, monkeypatch):
    monkeypatch.setenv("FUNNEL_INBOX_DIR", str(tmp_path))
    settled(write_export(tmp_path, "leads", "leads.csv", LEADS))
    settled(write_export(tmp_path, "spend", "spend.csv", "date,channel,cost\n2026-07,Webinar,1000\n"))

    first, cursor = evaluate()
    assert isinstance(first, dg.RunRequest) and first.tags["funnel/new_files"] == "2"
    again, cursor_again = evaluate(cursor)
    assert isinstance(again, dg.SkipReason) and "no new or changed" in again.skip_message
    assert cursor_again == cursor

    # a changed file: a new request, with a new run key (the same content never gets a second one)
    path = write_export(tmp_path, "leads", "leads.csv", LEADS + "L2,2026-07-04 10:00,Webinar\n")
    settled(path)
    changed, _ = evaluate(cursor)
    assert isinstance(changed, dg.RunRequest) and changed.run_key != first.run_key
    assert changed.tags["funnel/new_files"] == "1"


def test_a_file_modified_seconds_ago_starts_no_run(tmp_path, monkeypatch):
    monkeypatch.setenv("FUNNEL_INBOX_DIR", str(tmp_path))
    monkeypatch.setenv("FUNNEL_INBOX_QUIET_SECONDS", "120")
    settled(write_export(tmp_path, "leads", "leads.csv", LEADS))
    write_export(tmp_path, "deals", "deals.csv", "deal_id,created_at,stage\nD1,2026-07-03,Closed Won\n")  # just now

    result, cursor = evaluate()
    assert isinstance(result, dg.SkipReason) and "deals/deals.csv" in result.skip_message
    assert cursor is None  # nothing recorded: the complete files still start a run once all settle


def test_an_empty_inbox_and_files_that_are_no_exports_start_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("FUNNEL_INBOX_DIR", str(tmp_path))
    (tmp_path / "leads").mkdir()
    settled(write_export(tmp_path, "leads", "notes.xlsx", "not an export"))
    result, _ = evaluate()
    assert isinstance(result, dg.SkipReason) and "no export file" in result.skip_message


def test_the_sensor_is_on_by_default_and_targets_the_job():
    sensor = defs().get_sensor_def("inbox_files")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert sensor.job_name == "funnel_job"


def test_a_dropped_zip_starts_a_run_and_what_the_run_unpacks_from_it_does_not(tmp_path, monkeypatch):
    import zipfile

    from assets.ingest.unzip import unpack_zips

    monkeypatch.setenv("FUNNEL_INBOX_DIR", str(tmp_path))
    (tmp_path / "leads").mkdir()
    archive = tmp_path / "leads" / "hubspot-export.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("all-contacts.csv", LEADS)
    settled(archive)

    first, cursor = evaluate()
    assert isinstance(first, dg.RunRequest) and first.tags["funnel/new_files"] == "1"
    assert unpack_zips(tmp_path, "leads") == []  # as the run does, beside the zip
    assert (tmp_path / "leads" / "hubspot-export.zip.unzipped" / "all-contacts.csv").is_file()
    again, _ = evaluate(cursor)
    assert isinstance(again, dg.SkipReason) and "no new or changed" in again.skip_message
