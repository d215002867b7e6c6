-- Load state of the working database: what was read from the inbox, and how it went.
CREATE SCHEMA IF NOT EXISTS raw;
CREATE SCHEMA IF NOT EXISTS staging;
CREATE SCHEMA IF NOT EXISTS marts;
CREATE SCHEMA IF NOT EXISTS ops;
CREATE SCHEMA IF NOT EXISTS quarantine;
CREATE SEQUENCE IF NOT EXISTS ops.load_id_seq START 1;

CREATE TABLE IF NOT EXISTS ops.load_log (
    load_id BIGINT PRIMARY KEY,
    source VARCHAR NOT NULL,
    file_name VARCHAR NOT NULL,
    sha256 VARCHAR NOT NULL,
    size_bytes BIGINT,
    file_modified_at TIMESTAMP,
    profile VARCHAR,
    encoding VARCHAR,
    rows_read BIGINT,
    rows_loaded BIGINT,
    rows_skipped BIGINT,
    header_line BIGINT,
    status VARCHAR NOT NULL,
    message VARCHAR,
    run_id VARCHAR,
    loaded_at TIMESTAMP NOT NULL
);
-- Columns added after the first release, for working databases created before them.
ALTER TABLE ops.load_log ADD COLUMN IF NOT EXISTS rows_skipped BIGINT;
ALTER TABLE ops.load_log ADD COLUMN IF NOT EXISTS header_line BIGINT;
ALTER TABLE ops.load_log ADD COLUMN IF NOT EXISTS rows_quarantined BIGINT;
ALTER TABLE ops.load_log ADD COLUMN IF NOT EXISTS exported_at TIMESTAMP;
ALTER TABLE ops.load_log ADD COLUMN IF NOT EXISTS exported_at_basis VARCHAR;
COMMENT ON TABLE ops.load_log IS 'One row per inbox file a run tried to load: loaded (its valid rows are in raw, rows failing a check in the quarantine table of its source), or rejected (none are, see ops.load_errors). A file whose sha256 was already loaded for its source is skipped and not logged again.';
COMMENT ON COLUMN ops.load_log.load_id IS 'Load sequence number, in the order files arrived; it never decides which snapshot is newer.';
COMMENT ON COLUMN ops.load_log.source IS 'Inbox source folder: ga4_sessions, leads, deals, spend, touchpoints or video.';
COMMENT ON COLUMN ops.load_log.file_name IS 'Path of the file relative to the inbox.';
COMMENT ON COLUMN ops.load_log.sha256 IS 'SHA-256 of the file bytes; the same content is never loaded twice.';
COMMENT ON COLUMN ops.load_log.size_bytes IS 'File size in bytes.';
COMMENT ON COLUMN ops.load_log.file_modified_at IS 'File modification time (UTC). It orders snapshots only as the last resort: when exported_at ties (then the check snapshot_order_from_data of the source, such as leads_snapshot_order_from_data, warns naming the files).';
COMMENT ON COLUMN ops.load_log.exported_at IS 'When the file was exported, read from the file itself (local time of the configured zone): the latest of a date or time in its name (leads_2026-06-30.csv, or report1782345600000.csv: Salesforce''s epoch milliseconds), the last day of its preamble''s date range and the latest past timestamp in its loaded rows; the file time only when it has none (exported_at_basis). Orders the snapshots: a record''s newest version is the one with the latest updated_at, else of the file exported last.';
COMMENT ON COLUMN ops.load_log.exported_at_basis IS 'What exported_at was read from: file name, preamble, rows, or file time (none of those in the file).';
COMMENT ON COLUMN ops.load_log.profile IS 'Export profile the file was read with.';
COMMENT ON COLUMN ops.load_log.encoding IS 'Detected text encoding.';
COMMENT ON COLUMN ops.load_log.rows_read IS 'Data rows read from the table (totals and footer excluded).';
COMMENT ON COLUMN ops.load_log.rows_loaded IS 'Rows written to the raw table (0 when rejected).';
COMMENT ON COLUMN ops.load_log.rows_quarantined IS 'Rows that failed a check and went to the quarantine table of its source (quarantine.leads ...) instead of raw; rows_loaded + rows_quarantined = rows_read for a loaded file.';
COMMENT ON COLUMN ops.load_log.rows_skipped IS 'Rows left out as total rows (GA4 Grand total, an ad platform''s summary row) or footer lines (Salesforce Grand Totals and copyright); not data.';
COMMENT ON COLUMN ops.load_log.header_line IS 'Line of the file holding the header of the table read (1 unless the file has a preamble or several tables).';
COMMENT ON COLUMN ops.load_log.status IS 'loaded or rejected.';

-- Every load in snapshot order: by export moment, then (the last resort) file time, then file name and
-- content hash, so that the order never depends on the order files arrived in. Staging picks a record's
-- newest version by version_key: its own updated_at, else its file's exported_at, then snapshot_order.
CREATE OR REPLACE MACRO load_snapshots() AS TABLE
    SELECT load_id, exported_at,
           row_number() OVER (ORDER BY exported_at NULLS FIRST, file_modified_at, file_name, sha256) AS snapshot_order
    FROM ops.load_log;
-- A version's place in time as one HUGEINT: its moment (microseconds), then the snapshot order (a
-- STRUCT key made arg_max about twice as slow).
CREATE OR REPLACE MACRO version_key(moment, snapshot_order) AS
    CAST(epoch_us(moment) AS HUGEINT) * 4294967296 + snapshot_order;
COMMENT ON COLUMN ops.load_log.message IS 'Why the file was rejected: file, row, column and problem, never the values the file held.';
COMMENT ON COLUMN ops.load_log.run_id IS 'Dagster run that read the file.';
COMMENT ON COLUMN ops.load_log.loaded_at IS 'When the run read the file (UTC).';

CREATE TABLE IF NOT EXISTS ops.load_errors (
    load_id BIGINT NOT NULL,
    source VARCHAR NOT NULL,
    file_name VARCHAR NOT NULL,
    row_number BIGINT,
    column_name VARCHAR,
    check_name VARCHAR,
    raw_value VARCHAR,
    problem VARCHAR NOT NULL
);
ALTER TABLE ops.load_errors ADD COLUMN IF NOT EXISTS record_key VARCHAR;
ALTER TABLE ops.load_errors ADD COLUMN IF NOT EXISTS recorded_at TIMESTAMP;
COMMENT ON TABLE ops.load_errors IS 'Every problem found in a rejected file: file, data row (1 = first row under the header), column, failed check and raw value.';
COMMENT ON COLUMN ops.load_errors.load_id IS 'The ops.load_log row of the attempt.';
COMMENT ON COLUMN ops.load_errors.source IS 'Inbox source folder.';
COMMENT ON COLUMN ops.load_errors.file_name IS 'Path of the file relative to the inbox.';
COMMENT ON COLUMN ops.load_errors.row_number IS 'Data row number, 1 = first row under the header; NULL for a problem of the whole file or column.';
COMMENT ON COLUMN ops.load_errors.column_name IS 'Canonical column the problem is in.';
COMMENT ON COLUMN ops.load_errors.check_name IS 'Name of the pandera check that failed.';
COMMENT ON COLUMN ops.load_errors.raw_value IS 'Always NULL for a refused file: nothing of its content beyond the header names is kept or published (the value is in its problems sheet beside the warehouse: funnel.problems/leads/ for the leads files of data/warehouse/funnel.duckdb).';
COMMENT ON COLUMN ops.load_errors.problem IS 'What is wrong, in words.';
COMMENT ON COLUMN ops.load_errors.record_key IS 'Key of the record the row holds (lead_id, deal_id), when the source has one.';
COMMENT ON COLUMN ops.load_errors.recorded_at IS 'When the problem was found (UTC).';

CREATE TABLE IF NOT EXISTS ops.masked_values (
    load_id BIGINT NOT NULL,
    source VARCHAR NOT NULL,
    file_name VARCHAR NOT NULL,
    column_name VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    rows_masked BIGINT NOT NULL,
    first_rows BIGINT[] NOT NULL
);
COMMENT ON TABLE ops.masked_values IS 'Personal data found in columns that must not hold it (a source, a company, a campaign, a stage) and masked when the file was loaded: one row per file, column and kind. The values were never stored.';
COMMENT ON COLUMN ops.masked_values.load_id IS 'The ops.load_log row of the load.';
COMMENT ON COLUMN ops.masked_values.source IS 'Inbox source folder.';
COMMENT ON COLUMN ops.masked_values.file_name IS 'Path of the file relative to the inbox.';
COMMENT ON COLUMN ops.masked_values.column_name IS 'Canonical column that held it.';
COMMENT ON COLUMN ops.masked_values.kind IS 'e-mail (replaced by the words e-mail removed in angle brackets; in an id column, by the keyed hash of the address) or phone (replaced by the words phone removed in angle brackets).';
COMMENT ON COLUMN ops.masked_values.rows_masked IS 'Data rows in which the column held it.';
COMMENT ON COLUMN ops.masked_values.first_rows IS 'The first (at most 20) of those rows, 1 = first row under the header.';

CREATE TABLE IF NOT EXISTS ops.alerts (
    run_id VARCHAR NOT NULL,
    step_key VARCHAR NOT NULL,
    job_name VARCHAR,
    asset_key VARCHAR,
    error VARCHAR NOT NULL,
    raised_at TIMESTAMP NOT NULL,
    webhook VARCHAR,
    PRIMARY KEY (run_id, step_key)
);
COMMENT ON TABLE ops.alerts IS 'One row per failed step of a failed run (run-failure sensor or funnel run; a killed funnel run is recorded by the next one), and one per source a run held back because a file of it was refused (the run published the other sources), recorded once; posted to FUNNEL_ALERT_WEBHOOK when set.';
COMMENT ON COLUMN ops.alerts.run_id IS 'Dagster run id (open it in the UI under /runs/ followed by the id).';
COMMENT ON COLUMN ops.alerts.step_key IS 'Failed step; for a source held back, its failed check (leads_no_file_refused); empty when the run failed outside any step (a killed funnel run: the process was gone).';
COMMENT ON COLUMN ops.alerts.job_name IS 'Dagster job of the run.';
COMMENT ON COLUMN ops.alerts.asset_key IS 'Asset the failed step materialises (marts/channel_funnel ...), or the source held back (raw/leads).';
COMMENT ON COLUMN ops.alerts.error IS 'The error as shown in the UI: for a refused file, the file, row, column, problem and what to do.';
COMMENT ON COLUMN ops.alerts.raised_at IS 'When the alert was recorded (UTC).';
COMMENT ON COLUMN ops.alerts.webhook IS 'What happened to the webhook message: sent (HTTP status), refused, not sent (reason), or no webhook configured.';
