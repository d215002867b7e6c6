-- Queries of the funnel report (assets/report/) outside the marts. Each opens with its `-- query: name` line.

-- query: held_back
-- The files this run refused: their sources' figures are as of the data loaded before.
SELECT source, file_name, message FROM ops.load_log
WHERE run_id = $run AND status = 'rejected' ORDER BY source, file_name;
