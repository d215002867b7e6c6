-- What each incrementally maintained table was last built from (assets/transform/incremental.py), and was last published as (assets/publish/publish.py).
CREATE TABLE IF NOT EXISTS staging.build_state (
    model VARCHAR PRIMARY KEY,
    fingerprint VARCHAR NOT NULL,
    load_id BIGINT,
    version VARCHAR
);
ALTER TABLE staging.build_state ADD COLUMN IF NOT EXISTS version VARCHAR;  -- a working database made before it
COMMENT ON TABLE staging.build_state IS 'Build state of the tables of the transform step: those assets/transform/incremental.py keeps up to date, the value mappings they read (model mappings), and the tables built from one SQL file (assets/transform/sql_tables.py), which are not built again while their SQL and the tables they read are as they were.';
COMMENT ON COLUMN staging.build_state.model IS 'The table (its asset), or mappings for staging.channel_lookup, deal_stage_map, lifecycle_map and run_settings.';
COMMENT ON COLUMN staging.build_state.fingerprint IS 'An incremental table: SHA-256 of its SQL, the macros, the mapping generation and the fingerprints of the tables it reads; a different one means a full build. A table of one SQL file: SHA-256 of its SQL, the macros and the versions of the tables it reads; a different one means it is built again. mappings: SHA-256 of the mapping tables when a value already mapped last mapped differently.';
COMMENT ON COLUMN staging.build_state.load_id IS 'The newest ops.load_log load the table holds: an incremental build recomputes what the loads after it touched.';
COMMENT ON COLUMN staging.build_state.version IS 'What the tables that read this one compare: the same version means the same rows. A table of one SQL file: its fingerprint. An incremental table: SHA-256 of its fingerprint, the files loaded into the raw tables it reads and the versions of the models it reads; the same one again means nothing to do.';
-- Replaced whenever these files change (prepare_working_database runs them again): a cache of the last
-- publish, so an upgrade forgets it (the next publish writes everything) instead of reading an old layout.
CREATE OR REPLACE TABLE staging.publish_state (
    published_file VARCHAR NOT NULL,
    rules VARCHAR NOT NULL,
    model VARCHAR NOT NULL,
    fingerprint VARCHAR,
    load_id BIGINT
);
COMMENT ON TABLE staging.publish_state IS 'What the last publish left (assets/publish/publish.py): a row per incremental model in the published file. The next publish starts from a copy of that file when it is still the same file.';
COMMENT ON COLUMN staging.publish_state.published_file IS 'size:mtime_ns of the published file right after its rename (a file replaced or changed since differs).';
COMMENT ON COLUMN staging.publish_state.rules IS 'SHA-256 of the rules the file was written under: the schemas published and the personal-data patterns its rows were scanned with.';
COMMENT ON COLUMN staging.publish_state.model IS 'An incremental model (staging.build_state.model) whose tables are published.';
COMMENT ON COLUMN staging.publish_state.fingerprint IS 'The model''s build fingerprint when its tables were published (NULL: not built).';
COMMENT ON COLUMN staging.publish_state.load_id IS 'The newest load the published tables of the model held.';
