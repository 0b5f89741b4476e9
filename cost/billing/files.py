"""Billing export files -> daily facts.

Reading and aggregating a million hourly rows is DuckDB's job: one streaming scan of the
newline-delimited JSON (gzipped or not) groups the rows into daily facts with exact
DECIMAL sums, in bounded memory. CSV and Parquet files are first rewritten as
newline-delimited JSON, so every format goes through the same query and the same rules.

The query also counts rows that break a rule (a missing field, a value that is not a
number or a time, an unknown currency). If there is any, nothing is stored: the files
are read again in Python, slowly but precisely, to name the file, line and field of
each problem.
"""

import ast
import csv
import functools
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
from django.conf import settings

from core.money import ISO_CURRENCIES
from core.times import TimeWindow, data_window
from cost.billing import shapes
from cost.billing.facts import DailyFact, fact_from_row, fold_resources
from cost.billing.rows import MAX_ERRORS, MAX_LINE_BYTES, BadInput, check_row, json_lines
from cost.models.billing import RESOURCE_LENGTH

DECIMAL = "DECIMAL(38, 18)"
JSON_SUFFIXES = (".json", ".jsonl", ".ndjson")

# The export's columns as the reader sees them, and only the fields used: every field
# named here is parsed for every row. Every leaf is text, so that numbers written as
# strings ("5e-06") and as JSON numbers go through the same checks.
KV = "STRUCT(key VARCHAR, value VARCHAR)[]"
COLUMNS = {
    "billing_account_id": "VARCHAR",
    "service": "STRUCT(id VARCHAR, description VARCHAR)",
    "sku": "STRUCT(id VARCHAR, description VARCHAR)",
    "usage_start_time": "VARCHAR",
    "usage_end_time": "VARCHAR",
    "project": f"STRUCT(id VARCHAR, number VARCHAR, name VARCHAR, labels {KV}, "
    "ancestry_numbers VARCHAR)",
    "labels": KV,
    "location": "STRUCT(location VARCHAR, region VARCHAR)",
    "export_time": "VARCHAR",
    "cost": "VARCHAR",
    "currency": "VARCHAR",
    "currency_conversion_rate": "VARCHAR",
    "usage": "STRUCT(amount VARCHAR, unit VARCHAR, amount_in_pricing_units VARCHAR, "
    "pricing_unit VARCHAR)",
    "credits": "STRUCT(amount VARCHAR, type VARCHAR)[]",
    "invoice": "STRUCT(month VARCHAR)",
    "cost_type": "VARCHAR",
    "cost_at_list": "VARCHAR",
    "adjustment_info": "STRUCT(id VARCHAR, type VARCHAR)",
    # The detailed export's (and a FOCUS row's, rewritten; cost.billing.shapes).
    "resource": "STRUCT(name VARCHAR, global_name VARCHAR)",
}
REPEATED = {"labels", "project.labels", "system_labels", "credits", "tags"}


class BadFiles(Exception):
    def __init__(self, problems: list[BadInput]):
        super().__init__("; ".join(str(problem) for problem in problems[:3]))
        self.problems = problems


@dataclass(frozen=True)
class InputFile:
    path: Path
    name: str
    format: str  # "json", "csv" or "parquet"
    size: int
    sha256: str

    def as_json(self) -> dict:
        return {"name": self.name, "format": self.format, "bytes": self.size, "sha256": self.sha256}


@dataclass
class Aggregate:
    facts: list[DailyFact]
    rows_read: int
    shape: str = shapes.STANDARD


Progress = Callable[[float], None]  # called with the fraction of bytes read, 0..1


# --- Files -------------------------------------------------------------------------------


def file_format(path: Path) -> str | None:
    name = path.name.lower().removesuffix(".gz")
    if name.endswith(JSON_SUFFIXES):
        return "json"
    if name.endswith(".csv"):
        return "csv"
    if name.endswith(".parquet") and not path.name.lower().endswith(".gz"):
        return "parquet"
    return None


def describe_files(paths: list[Path]) -> list[InputFile]:
    """Check every path before reading any: it exists, has a known format, is not empty."""
    problems, files = [], []
    for path in paths:
        name = str(path)
        if not path.is_file():
            problems.append(BadInput(name, None, None, "no such file"))
            continue
        kind = file_format(path)
        if kind is None:
            problems.append(BadInput(
                name, None, None,
                "unknown format: expected .json/.jsonl/.ndjson, .csv (each optionally .gz) "
                "or .parquet",
            ))  # fmt: skip
            continue
        size = path.stat().st_size
        if size == 0:
            problems.append(BadInput(name, None, None, "the file is empty"))
            continue
        files.append(InputFile(path, name, kind, size, _sha256(path)))
    if problems:
        raise BadFiles(problems)
    return files


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _open_text(path: Path) -> io.TextIOBase:
    # utf-8-sig: spreadsheets start their CSV files with a byte-order mark.
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8-sig", newline="")
    return path.open("r", encoding="utf-8-sig", newline="")


# --- CSV and Parquet become newline-delimited JSON ---------------------------------------


def _exact_floats(value: object) -> object:
    """Floats from a Python-literal cell, back to the shortest text that reads as them."""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list):
        return [_exact_floats(item) for item in value]
    if isinstance(value, dict):
        return {key: _exact_floats(item) for key, item in value.items()}
    return value


def _repeated_cell(text: str) -> Any:
    """Repeated fields flattened into one cell: JSON, or the Python literal some tools
    write (single quotes, None). Numbers keep their text, so amounts stay exact."""
    try:
        return json.loads(text, parse_float=str)
    except json.JSONDecodeError:
        return _exact_floats(ast.literal_eval(text))


class _NotUtf8(Exception):
    def __init__(self, line: int) -> None:
        self.line = line


def _decoded_lines(path: Path, counter: list[int]) -> Iterator[str]:
    """The file's lines as text, decoded one by one, so a bad byte is found on its line
    (a text stream decodes ahead in blocks and would blame an earlier line)."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            counter[0] = number
            try:
                # utf-8-sig: spreadsheets start their CSV files with a byte-order mark.
                yield raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError:
                raise _NotUtf8(number) from None


def _csv_to_json(
    file: InputFile, out: io.TextIOBase, window: TimeWindow, shape: str = shapes.STANDARD
) -> list[BadInput]:
    problems: list[BadInput] = []
    line = 1
    counter = [0]
    try:
        # strict: a file cut short inside a quoted cell is an error, not a last row.
        reader = csv.DictReader(_decoded_lines(file.path, counter), strict=True)
        header = reader.fieldnames or []
        if not header:
            return [BadInput(file.name, 1, None, "no header row")]
        twice = sorted({name for name in header if header.count(name) > 1})
        if twice:
            return [BadInput(file.name, 1, name, "appears twice in the header")
                    for name in twice]  # fmt: skip
        line = reader.line_num + 1
        rows = 0
        repeated = shapes.FOCUS_REPEATED if shape == shapes.FOCUS else REPEATED
        for cells in reader:
            rows += 1
            row, cell_problems = _csv_row(cells, repeated)
            if shape == shapes.FOCUS and not cell_problems:
                row, cell_problems = _focus_checked(row, window)
            found = [BadInput(file.name, line, field, message)
                     for field, message in cell_problems
                     or check_row(row, window=window)]  # fmt: skip
            problems += found
            if len(problems) >= MAX_ERRORS:
                break
            if not found:  # a refused row may hold text UTF-8 cannot write (a surrogate)
                out.write(json.dumps(row, ensure_ascii=False))
                out.write("\n")
            line = reader.line_num + 1
    except _NotUtf8 as bad:
        return [*problems, BadInput(file.name, bad.line, None, "not UTF-8 text")]
    except csv.Error as error:
        return [*problems, BadInput(file.name, counter[0], None, f"not readable as CSV: {error}")]
    except (EOFError, OSError, zlib.error) as error:
        return [*problems, BadInput(file.name, None, None, f"cannot be read: {error}")]
    if not rows:
        problems.append(BadInput(file.name, None, None, "the file has a header but no rows"))
    return problems


def _csv_row(cells: dict, repeated: set[str] = REPEATED) -> tuple[dict, list[tuple[str, str]]]:
    """A flattened CSV row as the nested record the export has."""
    row: dict = {}
    problems = []
    for column, text in cells.items():
        if column is None:
            problems.append(("-", "more cells than columns in the header"))
            continue
        if text is None or text == "":
            continue
        if column in repeated:
            try:
                text = _repeated_cell(text)
            except (ValueError, SyntaxError, RecursionError, MemoryError):
                problems.append((column, "not a JSON list of records"))
                continue
        target = row
        *parents, leaf = column.split(".")
        for parent in parents:
            target = target.setdefault(parent, {})
            if not isinstance(target, dict):
                problems.append((column, f"{parent} is both a value and a record"))
                break
        else:
            target[leaf] = text
    return row, problems


def _focus_checked(row: object, window: TimeWindow) -> tuple[Any, list[tuple[str, str]]]:
    """A FOCUS row as the standard row it maps to, checked by the standard rules; the
    problems name the FOCUS columns (cost.billing.shapes)."""
    standard, problems = shapes.focus_row(row)
    if problems:
        return standard, problems
    found = [(shapes.focus_field(field), message)
             for field, message in check_row(standard, window=window)]  # fmt: skip
    return standard, found


def _focus_to_json(
    file: InputFile, source: Path, out: io.TextIOBase, window: TimeWindow, unit: str = "line"
) -> list[BadInput]:
    """Rewrite a FOCUS file's newline-delimited JSON into the standard export's shape, row
    by row, naming the file, line and FOCUS column of each problem."""
    problems: list[BadInput] = []
    for line, row, error in json_lines(source):
        if error:
            problems.append(BadInput(file.name, line, None, error, unit))
        else:
            standard, found = _focus_checked(row, window)
            problems += [BadInput(file.name, line, field, message, unit)
                         for field, message in found]  # fmt: skip
            if not found:
                out.write(json.dumps(standard, ensure_ascii=False))
                out.write("\n")
        if len(problems) >= MAX_ERRORS:
            break
    return problems


def first_columns(file: InputFile, con: duckdb.DuckDBPyConnection) -> set[str]:
    """The top-level columns of a file's first row (a CSV file's header), to tell its
    shape; empty when it cannot be read (the reading proper then says why)."""
    try:
        if file.format == "parquet":
            path = str(file.path).replace("'", "''")
            result = con.execute(f"SELECT * FROM read_parquet('{path}') LIMIT 0")  # noqa: S608
            return {column[0] for column in result.description}
        if file.format == "csv":
            counter = [0]
            header = next(csv.reader(_decoded_lines(file.path, counter)), [])
            return set(header)
        for _line, row, _error in json_lines(file.path):
            return set(row) if isinstance(row, dict) else set()
    except (duckdb.Error, csv.Error, _NotUtf8, EOFError, OSError, zlib.error):
        return set()
    return set()


def _parquet_to_json(file: InputFile, target: Path, con: duckdb.DuckDBPyConnection) -> None:
    path = str(file.path).replace("'", "''")
    out = str(target).replace("'", "''")
    # In file order, so that a problem's line in the copy is its row in the file.
    con.execute("SET preserve_insertion_order = true")
    try:
        con.execute(f"COPY (SELECT * FROM read_parquet('{path}')) TO '{out}' (FORMAT json)")  # noqa: S608
    finally:
        con.execute("SET preserve_insertion_order = false")


def _has_rows(path: Path) -> bool:
    """Whether a text file (gzipped or not) holds anything but white space."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as handle:
        while chunk := handle.read(1 << 16):
            if chunk.strip():
                return True
    return False


def _prepare(
    files: list[InputFile],
    workdir: Path,
    con: duckdb.DuckDBPyConnection,
    window: TimeWindow,
    shape: str = shapes.STANDARD,
) -> tuple[list[Path], list[BadInput]]:
    """A newline-delimited JSON file per input, under names of our own: DuckDB would read
    `*`, `?` or `[` in a user's file name as a pattern and take in other files."""
    paths, problems = [], []
    seen: dict[str, str] = {}
    for index, file in enumerate(files):
        if file.sha256 in seen:
            problems.append(BadInput(file.name, None, None,
                                     f"the same content as {seen[file.sha256]}"))  # fmt: skip
            continue
        seen[file.sha256] = file.name
        target = workdir / f"{index}.jsonl"
        found: list[BadInput] = []  # a CSV file's, checked row by row as it is rewritten
        try:
            if shape == shapes.FOCUS:
                found = _prepare_focus(file, target, workdir / f"{index}.focus.jsonl", con, window)
                problems += found
            elif file.format == "json":
                suffix = ".jsonl.gz" if file.path.name.lower().endswith(".gz") else ".jsonl"
                target = workdir / f"{index}{suffix}"
                target.symlink_to(file.path.resolve())
            elif file.format == "csv":
                with target.open("w", encoding="utf-8") as out:
                    found = _csv_to_json(file, out, window, shape)
                problems += found
            else:
                _parquet_to_json(file, target, con)
            if not found and not _has_rows(target):
                problems.append(BadInput(file.name, None, None, "the file has no rows"))
        except duckdb.Error as error:
            problems.append(BadInput(file.name, None, None, f"not readable: {error}"))
        except (EOFError, OSError, zlib.error) as error:
            problems.append(BadInput(file.name, None, None, f"cannot be read: {error}"))
        paths.append(target)
    return paths, problems


def _prepare_focus(
    file: InputFile,
    target: Path,
    copy: Path,
    con: duckdb.DuckDBPyConnection,
    window: TimeWindow,
) -> list[BadInput]:
    """A FOCUS file as newline-delimited JSON of standard rows at `target` (a Parquet
    file goes through a JSON copy first); its problems, found row by row."""
    with target.open("w", encoding="utf-8") as out:
        if file.format == "csv":
            return _csv_to_json(file, out, window, shapes.FOCUS)
        if file.format == "parquet":
            _parquet_to_json(file, copy, con)
            return _focus_to_json(file, copy, out, window, unit="row")
        return _focus_to_json(file, file.path, out, window)


# --- The working folder ------------------------------------------------------------------

# A folder per import in the system's temporary folder, named after the process: the
# copies of the files and DuckDB's spill files go there, and it goes when the import
# ends. A killed import (SIGKILL, the OOM killer) cannot remove it; the next import does.
WORKDIR_PREFIX = "quarterdeck-ingest-"
WORKDIR_NAME = re.compile(r"quarterdeck-ingest-(?P<pid>[0-9]{1,10})-\w+", re.ASCII)
# Folders named before they carried their process id: stale once this old, as no import
# runs for a day.
UNOWNED_STALE_AFTER = 24 * 3600


def _process_exists(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process is there
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    except OverflowError:  # more than a process id holds
        return False
    return True


def remove_stale_workdirs() -> list[Path]:
    """Remove the working folders whose import is gone; returns them. A folder of a live
    process (this one's other imports included) is left alone."""
    removed = []
    for path in Path(tempfile.gettempdir()).glob(f"{WORKDIR_PREFIX}*"):
        if path.is_symlink() or not path.is_dir():
            continue
        match = WORKDIR_NAME.fullmatch(path.name)
        try:
            if match and _process_exists(int(match["pid"])):
                continue
            if not match and time.time() - path.stat().st_mtime < UNOWNED_STALE_AFTER:
                continue
        except OSError:  # gone meanwhile
            continue
        shutil.rmtree(path, ignore_errors=True)
        if not path.exists():
            removed.append(path)
    return removed


@contextmanager
def _workdir() -> Iterator[Path]:
    remove_stale_workdirs()
    with tempfile.TemporaryDirectory(prefix=f"{WORKDIR_PREFIX}{os.getpid()}-") as folder:
        yield Path(folder)


# --- The aggregation ---------------------------------------------------------------------


def _sql_list(values: Iterable[str]) -> str:
    return ", ".join("'" + value.replace("'", "''") + "'" for value in sorted(values))


def _query(
    paths: list[Path], time_zone: str, window: TimeWindow, shape: str = shapes.STANDARD
) -> str:
    """One scan: rows -> daily facts. Values are cast once; a row whose cast fails or whose
    times fall outside `window` counts in `bad_rows`, and Python checks the group keys
    (currency, month, ids, labels), so the expensive checks run per fact, not per row."""
    files = "[" + _sql_list(str(path) for path in paths) + "]"
    # Our own moments, written by isoformat: nothing from a file reaches the SQL text.
    inside = (f"BETWEEN TIMESTAMPTZ '{window.earliest.isoformat()}' "
              f"AND TIMESTAMPTZ '{window.latest.isoformat()}'")  # fmt: skip
    columns = "{" + ", ".join(f"'{name}': '{kind}'" for name, kind in COLUMNS.items()) + "}"
    tz = time_zone.replace("'", "''")
    # Labels as JSON text, in the export's order: sorting a list per row costs a second
    # a million rows; Python reads each distinct text once and puts its pairs in order.
    labels = "to_json(coalesce({0}, []))"
    # The resource's global name (unique), else its name; a standard export has none.
    resource = "''" if shape == shapes.STANDARD else (
        "left(coalesce(nullif(resource.global_name, ''), nullif(resource.name, ''), ''), "
        f"{RESOURCE_LENGTH})"
    )  # fmt: skip
    return f"""
    WITH rows AS (
        SELECT
            invoice.month AS invoice_month,
            parse_ts(usage_start_time) AS usage_start,
            parse_ts(usage_end_time) AS usage_end,
            billing_account_id, project, service, sku, location, currency, usage,
            coalesce(nullif(cost_type, ''), 'regular') AS cost_type,
            TRY_CAST(cost AS {DECIMAL}) AS cost_value,
            TRY_CAST(cost_at_list AS {DECIMAL}) AS list_value,
            TRY_CAST(usage.amount AS {DECIMAL}) AS usage_value,
            TRY_CAST(usage.amount_in_pricing_units AS {DECIMAL}) AS pricing_value,
            TRY_CAST(currency_conversion_rate AS {DECIMAL}) AS rate_value,
            parse_ts(export_time) AS exported,
            list_transform(coalesce(credits, []), lambda c:
                {{'type': coalesce(c.type, 'UNKNOWN'),
                  'amount': TRY_CAST(c.amount AS {DECIMAL})}}) AS credit_values,
            (adjustment_info.id IS NOT NULL OR adjustment_info.type IS NOT NULL) AS corrects,
            {resource} AS resource_name,
            abs(cost_value) >= 1e15 OR abs(list_value) >= 1e15
              OR (cost_at_list IS NOT NULL AND list_value IS NULL)
              OR (usage.amount IS NOT NULL AND usage_value IS NULL)
              OR (usage.amount_in_pricing_units IS NOT NULL AND pricing_value IS NULL)
              OR (currency_conversion_rate IS NOT NULL AND (rate_value IS NULL
                                                          OR rate_value < 0.000000001))
              OR (export_time IS NOT NULL AND exported IS NULL)
              OR (usage_end_time IS NOT NULL AND usage_end IS NULL)
              OR (usage_start IS NOT NULL AND usage_start NOT {inside})
              OR (usage_end IS NOT NULL AND usage_end NOT {inside})
              OR (exported IS NOT NULL AND exported NOT {inside}) AS broken,
            {labels.format("labels")}::VARCHAR AS label_text,
            {labels.format("project.labels")}::VARCHAR AS project_label_text
        FROM read_json({files}, format = 'newline_delimited', columns = {columns},
                       compression = 'auto', maximum_object_size = {MAX_LINE_BYTES})
    )
    SELECT
        invoice_month,
        CAST(timezone('{tz}', usage_start) AS DATE) AS usage_date,
        coalesce(billing_account_id, '') AS billing_account_id,
        coalesce(project.id, '') AS project_id,
        coalesce(project.name, '') AS project_name,
        coalesce(project.number, '') AS project_number,
        coalesce(project.ancestry_numbers, '') AS project_ancestry,
        coalesce(service.id, '') AS service_id,
        coalesce(service.description, '') AS service_description,
        coalesce(sku.id, '') AS sku_id,
        coalesce(sku.description, '') AS sku_description,
        coalesce(location.location, '') AS location,
        coalesce(location.region, '') AS region,
        cost_type,
        coalesce(currency, '') AS currency,
        rate_value AS conversion_rate,
        label_text AS labels,
        project_label_text AS project_labels,
        corrects AS is_correction,
        coalesce(usage.unit, '') AS usage_unit,
        coalesce(usage.pricing_unit, '') AS pricing_unit,
        resource_name AS resource,
        sum(cost_value) AS cost,
        sum(list_value) AS cost_at_list,
        sum(usage_value) AS usage_amount,
        sum(pricing_value) AS usage_in_pricing_units,
        count(*) AS row_count,
        max(exported) AS last_export_time,
        flatten(list(credit_values)) AS credits,
        count(*) FILTER (WHERE cost_value IS NULL OR usage_start IS NULL OR broken) AS bad_rows
    FROM rows
    GROUP BY ALL
    """  # noqa: S608 - files are our own names, the zone is quoted, the rest is constant


# The group's text columns that come from the export as they are (cost.billing.rows
# STORED_TEXT): PostgreSQL stores no NUL in them.
GROUP_TEXT = (
    "billing_account_id", "project_id", "project_name", "project_number", "project_ancestry",
    "service_id", "service_description", "sku_id", "sku_description", "location", "region",
    "cost_type", "usage_unit", "pricing_unit", "resource",
)  # fmt: skip


def _group_is_valid(record: dict, window: TimeWindow) -> bool:
    """The checks on what a group of rows has in common, done once per fact."""
    return (
        record["bad_rows"] == 0
        and not any("\x00" in record[name] for name in GROUP_TEXT)
        and not any("\x00" in (credit["type"] or "") for credit in record["credits"] or [])
        and record["currency"] in ISO_CURRENCIES
        and bool(INVOICE_MONTH.fullmatch(record["invoice_month"] or ""))
        and window.holds_month(record["invoice_month"])
        and bool(record["billing_account_id"] and record["service_id"] and record["sku_id"])
        and _labels_are_valid(record["labels"])
        and _labels_are_valid(record["project_labels"])
        and all(credit["amount"] is not None for credit in record["credits"] or [])
    )


INVOICE_MONTH = re.compile(r"[0-9]{4}(0[1-9]|1[0-2])", re.ASCII)


@functools.lru_cache(maxsize=4096)
def _labels_are_valid(text: str) -> bool:
    labels = json.loads(text)
    if not isinstance(labels, list) or not all(isinstance(label, dict) for label in labels):
        return False
    keys = [label.get("key") for label in labels]
    values = [label.get("value") for label in labels]
    return (
        all(isinstance(key, str) and key and "\x00" not in key for key in keys)
        and len(set(keys)) == len(keys)
        and all(value is None or (isinstance(value, str) and "\x00" not in value)
                for value in values)
    )  # fmt: skip


def _connect(spill: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(config={
        "memory_limit": f"{settings.QUARTERDECK_INGEST_MEMORY_MB}MB",
        "threads": settings.QUARTERDECK_INGEST_THREADS,
        "preserve_insertion_order": False,
        "temp_directory": str(spill),
    })  # fmt: skip
    con.execute("SET TimeZone = 'UTC'")
    con.execute(
        "CREATE MACRO parse_ts(s) AS CASE "
        "WHEN s LIKE '% UTC' THEN TRY_CAST(replace(s, ' UTC', '+00:00') AS TIMESTAMPTZ) "
        "ELSE TRY_CAST(s AS TIMESTAMPTZ) END"
    )
    return con


def _watch(con: duckdb.DuckDBPyConnection, progress: Progress | None) -> Callable[[], None]:
    """Report DuckDB's progress through the scan every quarter second; returns a stopper."""
    if progress is None:
        return lambda: None
    done = threading.Event()

    def poll() -> None:
        while not done.wait(0.25):
            try:
                percent = con.query_progress()
            except duckdb.Error:
                continue
            if percent >= 0:
                progress(min(percent, 100) / 100)

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()

    def stop() -> None:
        done.set()
        thread.join()
        progress(1.0)

    return stop


def aggregate_files(
    files: list[InputFile], *, shape: str | None = None, progress: Progress | None = None
) -> Aggregate:
    """Read every file and group its rows into daily facts; raise BadFiles on any problem.
    `shape` is the export's (cost.billing.shapes), or None to tell it from the files."""
    window = data_window()
    with _workdir() as folder:
        con = _connect(folder / "spill")
        try:
            shape = shapes.choose([(file.name, first_columns(file, con)) for file in files], shape)
        except shapes.WrongShape as wrong:
            con.close()
            raise BadFiles(wrong.problems) from None
        paths, problems = _prepare(files, folder, con, window, shape)
        if problems:
            con.close()
            raise BadFiles(problems[:MAX_ERRORS])
        stop = _watch(con, progress)
        facts: dict[tuple, DailyFact] = {}
        rows_read, valid = 0, True
        try:
            time_zone = settings.QUARTERDECK_BILLING_TIME_ZONE
            result = con.execute(_query(paths, time_zone, window, shape))
            columns = [column[0] for column in result.description]
            # Batches, straight into compact DailyFacts: a year of an account is tens of
            # thousands of facts, and three copies of them would double peak memory.
            while batch := result.fetchmany(5000):
                for row in batch:
                    record = dict(zip(columns, row, strict=True))
                    rows_read += record["row_count"]
                    valid = valid and _group_is_valid(record, window)
                    if valid:
                        fact = _daily_fact(record)
                        # Groups whose labels differ only in order are one fact.
                        if (same := facts.get(fact.sort_key())) is not None:
                            same.absorb(fact)
                        else:
                            facts[fact.sort_key()] = fact
        except duckdb.OutOfMemoryException as error:
            raise BadFiles([_unplaced(files, error, hint=(
                "raise QUARTERDECK_INGEST_MEMORY_MB (now "
                f"{settings.QUARTERDECK_INGEST_MEMORY_MB}) or lower QUARTERDECK_INGEST_THREADS"
            ))]) from None  # fmt: skip
        except duckdb.Error as error:
            # DuckDB's reader refuses a line of about twice maximum_object_size and more:
            # the Python pass then finds it, over MAX_LINE_BYTES, by file and line.
            located = [] if shape == shapes.FOCUS else _locate(files, paths, window)
            raise BadFiles(located or [_unplaced(files, error, paths=paths)]) from None
        finally:
            stop()
            con.close()
        if not valid:
            located = [] if shape == shapes.FOCUS else _locate(files, paths, window)
            raise BadFiles(located or [_unplaced(files, None)])
    found = list(facts.values())
    if shape != shapes.STANDARD:
        found = fold_resources(found, keep=settings.QUARTERDECK_RESOURCES_PER_SKU)
    return Aggregate(facts=found, rows_read=rows_read, shape=shape)


def _unplaced(
    files: list[InputFile], error: Exception | None, hint: str = "", paths: Sequence[Path] = ()
) -> BadInput:
    detail = str(error).splitlines()[0] if error else "a row breaks a rule"
    for file, path in zip(files, paths, strict=False):
        detail = detail.replace(str(path), file.name)  # our copy's name means nothing to them
    if hint:
        detail = f"{detail} ({hint})"
    return BadInput(", ".join(file.name for file in files), None, None, detail)


@functools.lru_cache(maxsize=4096)
def _labels(text: str) -> tuple[tuple[str, str], ...]:
    """Sorted (key, value) pairs: the same label set however the export ordered it."""
    return tuple(sorted((label["key"], label.get("value") or "") for label in json.loads(text)))


def _daily_fact(record: dict) -> DailyFact:
    return fact_from_row(
        record, labels=_labels(record["labels"]), project_labels=_labels(record["project_labels"])
    )


# --- Finding the problems, precisely ----------------------------------------------------


def _locate(files: list[InputFile], paths: list[Path], window: TimeWindow) -> list[BadInput]:
    """Read the files again in Python to name file, line and field of each problem."""
    problems: list[BadInput] = []
    for file, path in zip(files, paths, strict=True):
        if file.format == "csv":
            continue  # checked row by row while converting
        # A Parquet file was rewritten one row per line: its line number is the row.
        unit = "row" if file.format == "parquet" else "line"
        try:
            for line, row, error in json_lines(path):
                if error:
                    problems.append(BadInput(file.name, line, None, error, unit))
                else:
                    problems += [BadInput(file.name, line, field, message, unit)
                                 for field, message in check_row(row, window=window)]  # fmt: skip
                if len(problems) >= MAX_ERRORS:
                    return problems[:MAX_ERRORS]
        except (EOFError, OSError, zlib.error) as error:
            problems.append(BadInput(file.name, None, None, f"cannot be read to the end: {error}"))
    return problems
