-- What each incrementally maintained table was last built from (assets/incremental.py).
CREATE TABLE IF NOT EXISTS staging.build_state (
    model VARCHAR PRIMARY KEY,
    fingerprint VARCHAR NOT NULL,
    load_id BIGINT
);
COMMENT ON TABLE staging.build_state IS 'Build state of the tables assets/incremental.py keeps up to date, and of the value mappings they read (model mappings).';
COMMENT ON COLUMN staging.build_state.model IS 'The table (its asset), or mappings for staging.channel_lookup, deal_stage_map, lifecycle_map and run_settings.';
COMMENT ON COLUMN staging.build_state.fingerprint IS 'A table: SHA-256 of its SQL, the macros, the mapping generation and the fingerprints of the tables it reads; a different one means a full build. mappings: SHA-256 of the mapping tables when a value already mapped last mapped differently.';
COMMENT ON COLUMN staging.build_state.load_id IS 'The newest ops.load_log load the table holds: an incremental build recomputes what the loads after it touched.';
