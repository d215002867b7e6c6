"""Inbox -> raw: one asset per source (all loaded side by side in one step, `raw`) reads
every new export file of its folder, validates it with the source's pandera schema and
appends its valid rows to `raw.<source>`; rows failing a check go to `quarantine.<source>`.

Each file is loaded in one DuckDB transaction together with its `ops.load_log`
row, so a file is either in raw (and quarantine) or not at all: a run killed
mid-file leaves nothing of it. A file that cannot be read, or whose failing rows
exceed the source's max_rejected_share, is refused whole. Raw keeps every
version of every record (one per snapshot file); staging picks the newest.
"""

import csv
import os
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import duckdb

from assets.core import pii
from assets.core.database import prepare_working_database, transaction
from assets.ingest.csv_tables import (READ_PIECE_BYTES, FileRejected, Table, detect_encoding, find_tables,
                                      read_pieces)
from assets.ingest.export_moment import backfill_export_moments, export_moment
from assets.ingest.table_layout import header_candidates, range_from_path, refuse_unbounded
from assets.ingest.inbox import Skipped, inbox_bytes, modified_at, scan_inbox, sha256_of
from assets.ingest.unzip import unpack_zips
from assets.ingest.currency import refuse_without_rates
from assets.ingest.parsing import ID_COLUMNS, TEXT_COLUMNS, clean_text_columns, derive_keys, parse_sql, secret_for_ids
from assets.ingest.problems import (MAX_LISTED_PROBLEMS, FileProblems, RowsRejected, describe,
                                    duplicate_headers_text, duplicate_key_problems, insert_problems,
                                    pandera_problems, write_problems_csv)
from schemas.currency import FxRates
from schemas.profiles import Match, Profile, best_match, closest_miss
from schemas.spec import KIND_TYPES, SourceSpec



# Rows parsed and validated at a time (as one polars frame): memory holds one chunk, not a file.
VALIDATE_CHUNK_ROWS = 200_000


@dataclass
class FileOutcome:
    file_name: str
    status: str  # loaded, rejected
    rows: int = 0
    profile: str | None = None
    message: str = ""
    quarantined: int = 0
    seconds: dict[str, float] = field(default_factory=dict)  # read, parse, validate, load (what was reached)


@dataclass
class SourceLoad:
    loaded: list[FileOutcome] = field(default_factory=list)
    rejected: list[FileOutcome] = field(default_factory=list)
    skipped: int = 0  # files loaded before (the same bytes)
    not_read: list[Skipped] = field(default_factory=list)  # entries of the folder that are no export file
    hash_seconds: float = 0.0

    def seconds(self) -> dict[str, float]:
        """Time spent per ingest stage over the files of this load (for `funnel bench`)."""
        total = {"hash": self.hash_seconds, "read": 0.0, "parse": 0.0, "validate": 0.0, "load": 0.0}
        for outcome in self.loaded + self.rejected:
            for stage, sec in outcome.seconds.items():
                total[stage] += sec
        return {stage: round(sec, 3) for stage, sec in total.items()}


# quarantine.<source>: the rows of loaded files that failed a check (the table name is a
# source name of schemas/, never data).
QUARANTINE_TABLE = """
CREATE TABLE IF NOT EXISTS quarantine.{source} (
    load_id BIGINT NOT NULL, source VARCHAR NOT NULL, file_name VARCHAR NOT NULL, row_number BIGINT,
    record_key VARCHAR, column_name VARCHAR, check_name VARCHAR, raw_value VARCHAR, problem VARCHAR NOT NULL,
    recorded_at TIMESTAMP NOT NULL);
COMMENT ON TABLE quarantine.{source} IS 'Rows of loaded {source} files that failed a check and were left out of raw: one row per row, column and failed check. The rest of each file loaded; a file with more than max_rejected_share (config/sources.yaml) of such rows is refused whole instead (ops.load_errors).';
COMMENT ON COLUMN quarantine.{source}.load_id IS 'The ops.load_log row of the load.';
COMMENT ON COLUMN quarantine.{source}.source IS 'Inbox source folder.';
COMMENT ON COLUMN quarantine.{source}.file_name IS 'Path of the file relative to the inbox.';
COMMENT ON COLUMN quarantine.{source}.row_number IS 'Data row number in the file, 1 = first row under the header.';
COMMENT ON COLUMN quarantine.{source}.record_key IS 'Key of the record the row holds (lead_id, deal_id), when the source has one.';
COMMENT ON COLUMN quarantine.{source}.column_name IS 'Canonical column that failed.';
COMMENT ON COLUMN quarantine.{source}.check_name IS 'Name of the pandera check that failed.';
COMMENT ON COLUMN quarantine.{source}.raw_value IS 'The value as exported (first 200 characters); personal-data columns are never kept.';
COMMENT ON COLUMN quarantine.{source}.problem IS 'What is wrong, in words.';
COMMENT ON COLUMN quarantine.{source}.recorded_at IS 'When the row was quarantined (UTC).';
"""


def ensure_raw_table(con: duckdb.DuckDBPyConnection, spec: SourceSpec) -> None:
    con.execute(
        f"CREATE TABLE IF NOT EXISTS raw.{spec.name} (_load_id BIGINT NOT NULL, _source_file VARCHAR NOT NULL, "
        "_source_row BIGINT NOT NULL, _loaded_at TIMESTAMP NOT NULL)"
    )
    con.execute(f"COMMENT ON TABLE raw.{spec.name} IS '{spec.title}: every row of every loaded file, one version per snapshot.'")
    con.execute(QUARANTINE_TABLE.format(source=spec.name))
    for col in spec.stored_columns:
        con.execute(f"ALTER TABLE raw.{spec.name} ADD COLUMN IF NOT EXISTS {col.name} {KIND_TYPES[col.kind]}")
        if col.comment:  # our own text from schemas/, never data
            con.execute(f"COMMENT ON COLUMN raw.{spec.name}.{col.name} IS '{col.comment.replace(chr(39), chr(39) * 2)}'")
        if col.kind == "period":
            con.execute(f"ALTER TABLE raw.{spec.name} ADD COLUMN IF NOT EXISTS {col.name}_grain VARCHAR")


class _Laps:
    """Seconds spent per stage of a file's load; a stage met again (a chunk) adds up."""

    def __init__(self):
        self.seconds: dict[str, float] = {}
        self._clock = time.perf_counter()

    def __call__(self, stage: str) -> None:
        now = time.perf_counter()
        self.seconds[stage] = self.seconds.get(stage, 0.0) + now - self._clock
        self._clock = now


@dataclass
class _Reading:
    """What reading a file found: its rows parsed (temp table `parsed`), their problems, the personal data
    masked per (column, kind) and the canonical columns present."""
    found: FileProblems
    rows: int = 0
    present: set[str] = field(default_factory=set)
    masked: dict[tuple[str, str], tuple[int, list[int]]] = field(default_factory=dict)


def load_file(
    con: duckdb.DuckDBPyConnection,
    spec: SourceSpec,
    path: Path,
    file_name: str,
    digest: str,
    profiles: list[Profile],
    tz: str,
    run_id: str,
    max_rejected_share: float = 0.05,
    problems_dir: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
    hashed: tuple[int, int] | None = None,
    fx: FxRates | None = None,
) -> FileOutcome:
    """Load one export file: its valid rows into raw.<source>, rows failing a check into
    quarantine.<source>, and its ops.load_log row, all in one transaction. The file is
    refused whole (nothing written but the log and ops.load_errors) when it cannot be
    read, or when more than `max_rejected_share` of its rows fail a check, or when it changed since it was
    hashed (`hashed`: its size and modification time then) or while it was read, or when it holds money
    in a currency without an exchange rate for its month (`fx`, default: JPY and no rates)."""
    stat = path.stat()
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    label = file_name
    log_row = dict(source=spec.name, file_name=file_name, sha256=digest, size_bytes=stat.st_size,
                   file_modified_at=modified_at(stat), profile=None, encoding=None, rows_read=0, rows_skipped=None,
                   header_line=None, run_id=run_id, loaded_at=now, exported_at=None, exported_at_basis=None)
    lap = _Laps()
    try:
        if stat.st_size == 0:
            raise FileRejected("is empty (0 bytes)")
        log_row["encoding"] = detect_encoding(path)
        table, match = _matched_table(path, log_row["encoding"], spec, profiles)
        range_from_path(table, match, file_name)
        log_row.update(profile=match.profile.name, rows_skipped=0, header_line=table.header_line)
        if table.header_line > 1:
            label = f"{file_name} (table at line {table.header_line})"
        reading = _Reading(FileProblems(con))
        _read_and_check(con, spec, path, stat, table, match, tz, reading, log_row, lap, progress)
        n_problems, n_bad_rows = _judge(spec, reading, max_rejected_share)
        refuse_without_rates(con, spec, fx or FxRates())
        if reading.rows > VALIDATE_CHUNK_ROWS:  # the checks across chunks
            lap("validate")
        modified_local = datetime.fromtimestamp(stat.st_mtime, ZoneInfo(tz)).replace(tzinfo=None)
        log_row["exported_at"], log_row["exported_at_basis"] = export_moment(
            con, spec, reading.present, file_name, table.date_range, modified_local, tz, table.range_basis)
        _refuse_if_changed(path, stat, hashed)  # last, right before the rows are kept
        _keep(con, spec, reading, n_bad_rows, log_row)
        message = ""
        if n_problems:
            message = (f"{label}: {n_bad_rows:,} of {reading.rows:,} rows quarantined (quarantine.{spec.name}), "
                       "the rest loaded\n" + describe(label, reading.found.first(MAX_LISTED_PROBLEMS), n_problems))
            write_problems_csv(problems_dir, spec.name, file_name, reading.found)
        lap("load")
        return FileOutcome(file_name, "loaded", reading.rows - n_bad_rows, log_row["profile"], message, n_bad_rows,
                           lap.seconds)
    except csv.Error as exc:  # Python's reader of headers and odd lines: a field over its 128 KiB limit
        reason = ("has a field longer than 128 KiB where a header or a row should be: not an export, or a quote "
                  "never closes" if "field limit" in str(exc) else f"is not well-formed CSV: {exc}")
        return _refuse(con, spec, FileRejected(reason), label, log_row, problems_dir)
    except UnicodeError as exc:
        return _refuse(con, spec, FileRejected(f"is not in the encoding it starts in ({exc.reason})"), label,
                       log_row, problems_dir)
    except OSError as exc:  # vanished, unreadable, a disk error: refused like a bad file, nothing written
        return _refuse(con, spec, FileRejected(f"cannot be read: {exc.strerror or exc}"), label, log_row,
                       problems_dir)
    except FileRejected as rej:
        return _refuse(con, spec, rej, label, log_row, problems_dir)
    finally:
        try:
            con.execute(f"DROP TABLE IF EXISTS {FileProblems.TABLE}")
        except duckdb.Error:  # never hide what went wrong in the load itself
            pass


def _matched_table(path: Path, encoding: str, spec: SourceSpec, profiles: list[Profile]) -> tuple[Table, Match]:
    """The first table of the file whose header a profile of the source matches, and the match (a candidate
    header line below the first only for a profile whose header_within reaches it)."""
    tables = find_tables(path, encoding, profiles)
    matched = _first_match(tables, spec, profiles)
    if matched is None and tables[0].prefix is None:  # an ad platform's preamble before the header?
        tables += header_candidates(path, encoding, profiles)
        matched = _first_match(tables[1:], spec, profiles)
    if matched is None:
        # the closest miss; among equals, the highest candidate header line (the first line of a file without
        # preamble), then the message
        misses = [(*closest_miss(profiles, spec.name, t.headers, t.has_range, t.prefix, t.header_line),
                   t.header_line if t.prefix is None else 0) for t in tables]
        _, miss, _ = min(misses, key=lambda m: (m[0], m[2], m[1]))
        several = len([t for t in tables if not t.candidate])
        raise FileRejected(miss if several == 1 else f"holds {several} tables and none {miss[:1].lower()}{miss[1:]}")
    table, match = matched
    if match.duplicated:
        raise FileRejected(duplicate_headers_text(match, table.header_line))
    refuse_unbounded(table, match)
    return table, match


def _first_match(tables: list[Table], spec: SourceSpec, profiles: list[Profile]) -> tuple[Table, Match] | None:
    return next(((t, m) for t in tables
                 for m in [best_match(profiles, spec.name, t.headers, t.has_range, t.prefix, t.header_line)] if m),
                None)


def _read_and_check(con: duckdb.DuckDBPyConnection, spec: SourceSpec, path: Path, stat: os.stat_result,
                    table: Table, match: Match, tz: str, reading: _Reading, log_row: dict, lap: _Laps,
                    progress: Callable[[int, int], None] | None) -> None:
    """Parse the file's rows into temp table `parsed` and validate them, a piece of the file at a time
    (csv_tables.read_pieces) and a chunk of a piece at a time: memory holds a piece and a chunk's frame,
    not the file. Personal data in text columns is masked as each piece is read."""
    from pandera.errors import SchemaErrors  # pandera (and pandas) only for a run that reads a file

    latest = (datetime.now(ZoneInfo(tz)) + timedelta(days=1)).replace(tzinfo=None)
    bytes_read = 0
    for piece in read_pieces(path, log_row["encoding"], table, match):
        log_row["rows_skipped"] += piece.total_rows + len(piece.footer_lines)
        bytes_read += piece.source_bytes
        incoming = derive_keys(spec, piece.table)
        incoming, found_here = pii.mask_columns(incoming, TEXT_COLUMNS[spec.name], ID_COLUMNS[spec.name],
                                                secret_for_ids)
        for key, (n, first_rows) in found_here.items():
            count, rows_so_far = reading.masked.get(key, (0, []))
            reading.masked[key] = (count + n, (rows_so_far + first_rows)[:pii.MAX_ROWS_NAMED])
        columns = set(incoming.column_names) - {"_source_row"}
        if not reading.present:
            reading.present = columns
            select, params = parse_sql(spec, columns, tz, match.source.formats, match.source.number_format,
                                       match.months)
            schema = spec.pandera_schema(columns, latest, match.source.number_format is not None)
        elif columns != reading.present:  # derive_keys gives every piece the same columns
            raise RuntimeError(f"{path.name}: a piece of the file has columns {sorted(columns)}, "
                               f"the first {sorted(reading.present)}")
        lap("read")
        several_chunks = reading.rows or incoming.num_rows > VALIDATE_CHUNK_ROWS or bytes_read < stat.st_size
        for start in range(0, incoming.num_rows, VALIDATE_CHUNK_ROWS):
            con.register("incoming", clean_text_columns(incoming.slice(start, VALIDATE_CHUNK_ROWS)))
            try:
                con.execute(("CREATE OR REPLACE TEMP TABLE parsed AS " if reading.rows + start == 0
                             else "INSERT INTO parsed ") + select, params or None)
            finally:
                con.unregister("incoming")
            lap("parse")
            rows = incoming.column("_source_row").slice(start, VALIDATE_CHUNK_ROWS)  # increasing
            frame = con.sql("SELECT * FROM parsed WHERE _source_row BETWEEN $first AND $last",
                            params={"first": rows[0].as_py(), "last": rows[-1].as_py()}).pl()
            try:
                schema.validate(frame, lazy=True)
            except SchemaErrors as err:
                reading.found.add(pandera_problems(spec, frame, err))
            del frame
            lap("validate")
            if progress and several_chunks:  # of the file's rows, estimated from the bytes read so far
                done = reading.rows + min(start + VALIDATE_CHUNK_ROWS, incoming.num_rows)
                seen = reading.rows + incoming.num_rows
                progress(done, max(seen, round(seen * stat.st_size / max(bytes_read, 1))))
        reading.rows += incoming.num_rows
        log_row["rows_read"] = reading.rows


def _judge(spec: SourceSpec, reading: _Reading, max_rejected_share: float) -> tuple[int, int]:
    """(problems, rows with a problem) of a file that may load; a file that may not is refused here."""
    if reading.rows == 0:
        raise FileRejected("has a header but no data rows")
    found = reading.found
    if reading.rows > VALIDATE_CHUNK_ROWS and spec.key:  # a key repeated across chunks
        found.add(duplicate_key_problems(found.con, spec))
    found.merge()  # one per (row, column, check): a column problem may be seen per chunk
    n_problems, whole, n_bad_rows = found.counts()
    if whole:
        raise RowsRejected(f"has {whole} problem(s) with whole columns; nothing of it was loaded", found, n_problems)
    if n_bad_rows > max_rejected_share * reading.rows:
        raise RowsRejected(
            f"{n_bad_rows:,} of its {reading.rows:,} rows ({n_bad_rows / reading.rows:.1%}) fail a check, more "
            f"than the {max_rejected_share:.0%} allowed for {spec.name} (max_rejected_share in "
            "config/sources.yaml); the whole file was refused and nothing of it was loaded", found, n_problems)
    return n_problems, n_bad_rows


def _keep(con: duckdb.DuckDBPyConnection, spec: SourceSpec, reading: _Reading, n_bad_rows: int,
          log_row: dict) -> None:
    """The file's valid rows into raw, its failing rows into quarantine, the personal data masked and its
    log row, in one transaction."""
    stored = [c.name for c in spec.stored_columns if c.name in reading.present]
    stored += [f"{c.name}_grain" for c in spec.stored_columns if c.kind == "period" and c.name in reading.present]
    if n_bad_rows:  # out of the temp table first: a filtered INSERT would no longer run in parallel
        con.execute(f"DELETE FROM parsed WHERE _source_row IN "
                    f"(SELECT row_number FROM {FileProblems.TABLE} WHERE row_number IS NOT NULL)")
    file_name, now = log_row["file_name"], log_row["loaded_at"]
    with transaction(con):
        load_id = con.execute("SELECT nextval('ops.load_id_seq')").fetchone()[0]
        con.execute(
            f"INSERT INTO raw.{spec.name} BY NAME SELECT $load_id AS _load_id, $file AS _source_file, "
            f"_source_row, $now AS _loaded_at, {', '.join(stored)} FROM parsed",
            {"load_id": load_id, "file": file_name, "now": now},
        )
        reading.found.insert_into(f"quarantine.{spec.name}", load_id, spec.name, file_name, now)
        for (column, kind), (n, first_rows) in sorted(reading.masked.items()):
            con.execute("INSERT INTO ops.masked_values VALUES ($id, $source, $file, $column, $kind, $n, $rows)",
                        {"id": load_id, "source": spec.name, "file": file_name, "column": column, "kind": kind,
                         "n": n, "rows": first_rows})
        _log(con, **log_row, load_id=load_id, rows_loaded=reading.rows - n_bad_rows,
             rows_quarantined=n_bad_rows, status="loaded", message=None)


def _refuse_if_changed(path: Path, stat: os.stat_result, hashed: tuple[int, int] | None) -> None:
    """A file still being written (a copy, a sync, a download) is read again by the next run, whole."""
    now = path.stat()
    if (now.st_size, now.st_mtime_ns) != (stat.st_size, stat.st_mtime_ns) or (
            hashed is not None and hashed != (stat.st_size, stat.st_mtime_ns)):
        raise FileRejected("changed while it was read (still being copied or written?): the next run loads it "
                           "once it stays unchanged")


def refuse_unreadable(con: duckdb.DuckDBPyConnection, spec: SourceSpec, file_name: str, exc: OSError,
                      run_id: str) -> FileOutcome:
    """A file that cannot even be opened or hashed (no permission, vanished): logged as refused by name."""
    return refuse_entry(con, spec, file_name, f"cannot be read: {exc.strerror or exc}", run_id)


def refuse_entry(con: duckdb.DuckDBPyConnection, spec: SourceSpec, file_name: str, reason: str,
                 run_id: str) -> FileOutcome:
    """An inbox entry refused before it is read as a table (unreadable, a zip that cannot be unpacked)."""
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    log_row = dict(source=spec.name, file_name=file_name, sha256="", size_bytes=None, file_modified_at=None,
                   profile=None, encoding=None, rows_read=0, rows_skipped=None, header_line=None, run_id=run_id,
                   loaded_at=now, exported_at=None, exported_at_basis=None)
    return _refuse(con, spec, FileRejected(reason), file_name, log_row, None)


def _refuse(con: duckdb.DuckDBPyConnection, spec: SourceSpec, rej: FileRejected, label: str, log_row: dict,
            problems_dir: Path | None) -> FileOutcome:
    """Log a refused file and its problems; nothing of it reaches raw."""
    file_name, now = log_row["file_name"], log_row["loaded_at"]
    stored = rej.stored if isinstance(rej, RowsRejected) else None  # its rows' problems; else a problem of the file
    first = stored.first(MAX_LISTED_PROBLEMS) if stored is not None else []
    # The run's log and the problems sheet show the values; the working database (which is published)
    # keeps a refused file's problems without them.
    message = f"{label}: {pii.mask(str(rej))}" + ("\n" + describe(label, first, rej.total) if first else "")
    kept = f"{label}: {pii.mask(str(rej))}" + ("\n" + describe(label, first, rej.total, values=False) if first else "")
    con.begin()
    load_id = con.execute("SELECT nextval('ops.load_id_seq')").fetchone()[0]
    _log(con, **log_row, load_id=load_id, rows_loaded=0, rows_quarantined=0, status="rejected", message=kept)
    if stored is not None:
        stored.insert_into("ops.load_errors", load_id, spec.name, file_name, now, values=False)
    else:
        insert_problems(con, "ops.load_errors", load_id, spec.name, file_name, [
            {"row_number": None, "record_key": None, "column_name": None, "check_name": "file", "raw_value": None,
             "problem": pii.mask(str(rej))}], now)
    con.commit()
    if stored is not None:
        write_problems_csv(problems_dir, spec.name, file_name, stored)
    return FileOutcome(file_name, "rejected", 0, log_row["profile"], message)


def _log(con: duckdb.DuckDBPyConnection, **row) -> None:
    con.execute(
        f"INSERT INTO ops.load_log BY NAME SELECT {', '.join(f'${k} AS {k}' for k in row)}", row)


def ingest_source(con: duckdb.DuckDBPyConnection, spec: SourceSpec, inbox_dir: Path, profiles: list[Profile],
                  tz: str, run_id: str, log=None, max_rejected_share: float = 0.05,
                  problems_dir: Path | None = None, fx: FxRates | None = None) -> SourceLoad:
    """Prepare the working database for the source and load its new files (load_new_files)."""
    prepare_working_database(con)
    ensure_raw_table(con, spec)
    return load_new_files(con, spec, inbox_dir, profiles, tz, run_id, log, max_rejected_share, problems_dir,
                          fx=fx)


def load_new_files(con: duckdb.DuckDBPyConnection, spec: SourceSpec, inbox_dir: Path, profiles: list[Profile],
                   tz: str, run_id: str, log=None, max_rejected_share: float = 0.05,
                   problems_dir: Path | None = None, large_file: AbstractContextManager | None = None,
                   fx: FxRates | None = None) -> SourceLoad:
    """Load the source's files not loaded yet, oldest first, each in its own transaction
    (load_file). With `large_file`, a file over READ_PIECE_BYTES is loaded holding that lock,
    so that sources loaded side by side hold one large file in memory at a time."""
    rows = con.execute(
        "SELECT sha256, file_name, size_bytes, file_modified_at FROM ops.load_log "
        "WHERE source = $source AND status = 'loaded'", {"source": spec.name}).fetchall()
    loaded = {digest for digest, *_ in rows}
    backfill_export_moments(con, spec, tz)
    # A file still under the name, size and modification time it was loaded with is not read again
    # to hash it (the quick check rsync makes): a nightly run reads only new files.
    seen = {(name, size, modified): digest for digest, name, size, modified in rows}
    refused_zips = unpack_zips(inbox_dir, spec.name)
    files, not_read = scan_inbox(inbox_dir, spec.name)
    result = SourceLoad(not_read=not_read)
    for refused in refused_zips:
        result.rejected.append(refuse_entry(con, spec, refused.zip_path.relative_to(inbox_dir).as_posix(),
                                            refused.reason, run_id))
    pending = []
    start = time.perf_counter()
    for path in files:
        file_name = path.relative_to(inbox_dir).as_posix()
        try:
            stat = path.stat()
            digest = seen.get((file_name, stat.st_size, modified_at(stat))) or sha256_of(path)
        except OSError as exc:  # unreadable (permissions), or gone: refused by name, the other files load
            result.rejected.append(refuse_unreadable(con, spec, file_name, exc, run_id))
            continue
        if digest in loaded:
            result.skipped += 1
        else:
            pending.append((path, digest, (stat.st_size, stat.st_mtime_ns)))
    result.hash_seconds = time.perf_counter() - start
    for i, (path, digest, hashed) in enumerate(pending, 1):
        file_name = path.relative_to(inbox_dir).as_posix()
        if digest in loaded:  # a copy of a file loaded earlier in this run
            result.skipped += 1
            continue
        prefix = f"[{i}/{len(pending)}] {file_name}"
        # a large file also reports how far its checks have got
        progress = (lambda done, total: log.info(f"{prefix}: {done:,} of {total:,} rows checked")) if log else None
        with (large_file if large_file is not None and hashed[0] > READ_PIECE_BYTES else nullcontext()):
            outcome = load_file(con, spec, path, file_name, digest, profiles, tz, run_id, max_rejected_share,
                                problems_dir, progress, hashed, fx)
        if log:  # "[i/n] <source>/file: ..." is what `funnel run` shows as progress
            log.info(f"{prefix}: {outcome.status}, {outcome.rows:,} rows"
                     + (f", {outcome.quarantined:,} quarantined" if outcome.quarantined else "")
                     + (f"\n{outcome.message}" if outcome.message else ""))
        (result.loaded if outcome.status == "loaded" else result.rejected).append(outcome)
        if outcome.status == "loaded":
            loaded.add(digest)
    return result


def load_sources(con: duckdb.DuckDBPyConnection, specs: list[SourceSpec], inbox_dir: Path,
                 profiles: list[Profile], tz: str, run_id: str, limits: dict[str, float], log=None,
                 problems_dir: Path | None = None, fx: FxRates | None = None) -> dict[str, SourceLoad]:
    """Load the new files of several sources side by side: a thread and a cursor (its own
    transactions and temp tables) per source, at most one thread per core, the largest source
    first. Each file is still one transaction, and a source's files load in their order; only
    one file larger than READ_PIECE_BYTES is in memory at a time. Log lines from the threads are
    passed to `log` from the calling thread (Dagster's step log)."""
    prepare_working_database(con)
    for spec in specs:  # DDL first, in one thread
        ensure_raw_table(con, spec)
    messages: queue.Queue[str] = queue.Queue()
    relay = SimpleNamespace(info=messages.put)
    large_file = threading.Lock()

    def one(spec: SourceSpec) -> SourceLoad:
        cursor = con.cursor()
        try:
            return load_new_files(cursor, spec, inbox_dir, profiles, tz, run_id, relay if log else None,
                                  limits[spec.name], problems_dir, large_file, fx)
        finally:
            cursor.close()

    ordered = sorted(specs, key=lambda spec: -inbox_bytes(inbox_dir, spec.name))
    with ThreadPoolExecutor(max_workers=max(1, min(len(ordered), os.cpu_count() or 1))) as pool:
        futures = {spec.name: pool.submit(one, spec) for spec in ordered}
        running = set(futures.values())
        while running:  # (waiting on finished futures too would return at once: a busy loop holding the GIL)
            _, running = wait(running, timeout=0.2, return_when=FIRST_COMPLETED)
            while not messages.empty():
                log.info(messages.get())
    return {name: future.result() for name, future in futures.items()}  # a thread's exception is raised here


