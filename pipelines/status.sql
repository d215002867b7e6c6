-- The queries of `funnel status` (pipelines/status.py) over the working database, read-only.
-- Each query opens with its `-- query: name` line. Times are as stored: UTC.

-- query: loaded_per_source
SELECT source,
       count(*) FILTER (WHERE status = 'loaded') AS files_loaded,
       count(*) FILTER (WHERE status = 'rejected') AS attempts_refused,
       coalesce(sum(rows_loaded), 0) AS rows_loaded,
       coalesce(sum(rows_quarantined), 0) AS rows_quarantined,
       max(loaded_at) AS last_load
FROM ops.load_log GROUP BY ALL ORDER BY 1;

-- query: last_refused
-- Per source, its last refused file: when, which, and what the refusal said.
SELECT source, arg_max(file_name, load_id), max(loaded_at), arg_max(message, load_id)
FROM ops.load_log WHERE status = 'rejected' GROUP BY source ORDER BY source;

-- query: latest_attempt
-- The last time a run read this file: loaded or refused, the size and modification time it had then.
SELECT status, size_bytes, file_modified_at, message, loaded_at
FROM ops.load_log WHERE source = $source AND file_name = $file ORDER BY load_id DESC LIMIT 1;

-- query: last_alerts
-- The alerts of the run that raised the last one.
SELECT raised_at, run_id, coalesce(asset_key, 'the run'), error, webhook FROM ops.alerts
WHERE run_id = (SELECT arg_max(run_id, raised_at) FROM ops.alerts) ORDER BY step_key;

-- query: unmapped_values
-- Raw values no rule maps, the most common first per column, with how many there are in all.
SELECT kind, raw_value, records, mapped_to, count(*) OVER () AS values_in_all
FROM ops.unmapped_values ORDER BY kind, records DESC, raw_value LIMIT $limit;
