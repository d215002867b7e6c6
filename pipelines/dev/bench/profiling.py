"""`funnel bench --profile FILE`: where the time and memory of loading one export file go."""

import time
from pathlib import Path

import duckdb

from assets.core import settings


def profile_ingest(path: Path, source: str, top: int = 25) -> str:
    """cProfile of loading one export file into a fresh working database (the slowest stage),
    the seconds of each ingest stage, and the size of each form the file takes in memory."""
    import cProfile
    import io
    import pstats
    import resource
    import tempfile

    from assets.ingest.csv_tables import detect_encoding, find_tables, read_table
    from assets.core.database import prepare_working_database
    from assets.ingest.load import ensure_raw_table, load_file
    from assets.ingest.parsing import clean_text_columns, derive_keys, parse_sql
    from schemas import SOURCES
    from schemas.profiles import best_match, load_profiles

    spec, profiles = SOURCES[source], load_profiles(settings.config_dir())
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with tempfile.TemporaryDirectory() as tmp, duckdb.connect(
            str(Path(tmp) / "work.duckdb"), config={"memory_limit": settings.duckdb_memory_limit()}) as con:
        prepare_working_database(con)  # as the pipeline connects (FunnelResource.connect)
        ensure_raw_table(con, spec)
        profiler = cProfile.Profile()
        profiler.enable()
        outcome = load_file(con, spec, path, path.name, "profile", profiles, "Asia/Tokyo", "profile")
        profiler.disable()
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        duckdb_mib = con.execute("SELECT sum(memory_usage_bytes) FROM duckdb_memory()").fetchall()[0][0] / 2**20
        # the same steps again, to weigh each form of the file
        encoding = detect_encoding(path)
        table = find_tables(path, encoding, profiles)[0]
        match = best_match(profiles, spec.name, table.headers, table.date_range is not None, table.prefix)
        incoming = clean_text_columns(derive_keys(spec, read_table(path, encoding, table, match).table))
        con.register("incoming", incoming)
        present = set(incoming.column_names) - {"_source_row"}
        select, params = parse_sql(spec, present, "Asia/Tokyo", match.source.formats)
        con.execute("CREATE OR REPLACE TEMP TABLE parsed AS " + select, params or None)
        per_column = []  # parse seconds of each column on its own (with its __raw copy)
        for col in spec.columns:
            if col.name in present:
                select, params = parse_sql(spec, {col.name}, "Asia/Tokyo", match.source.formats)
                start = time.perf_counter()
                con.execute("CREATE OR REPLACE TEMP TABLE one_column AS " + select, params or None)
                per_column.append(f"{col.name} ({col.kind}) {time.perf_counter() - start:.2f}")
        con.unregister("incoming")
        frame = con.sql("SELECT * FROM parsed").pl()  # the form pandera validates (a chunk at a time)
        sizes = (f"arrow text table {incoming.nbytes / 2**20:,.0f} MiB; parsed DuckDB table {len(frame.columns)} "
                 f"columns; as one polars frame {frame.estimated_size() / 2**20:,.0f} MiB")
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(top)
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(12)
    return (f"{path.name}: {outcome.status}, {outcome.rows:,} rows; seconds "
            + ", ".join(f"{k} {v:.1f}" for k, v in outcome.seconds.items())
            + f"\npeak RSS {rss_before:,.0f} MiB before, {rss_after:,.0f} MiB after loading "
            f"(DuckDB holds {duckdb_mib:,.0f} MiB after it); {sizes}"
            + "\nparse seconds per column: " + ", ".join(per_column) + "\n\n" + out.getvalue())
