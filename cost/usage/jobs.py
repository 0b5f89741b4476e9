"""BigQuery job history rows (INFORMATION_SCHEMA.JOBS) read and checked: `parse_job` names
the file, line and field of each problem; `price_job` prices a job at list prices.

Rows come from newline-delimited JSON exports (gzipped or not, `read_job_files`) or
straight from BigQuery (`cost.usage.pull.job_rows`). cost.usage.runs stores them."""

import datetime
import gzip
import hashlib
import io
import itertools
import json
import re
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils.translation import gettext as _

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

from core.times import TimeWindow, data_window
from cost.billing.files import BadFiles, InputFile
from cost.billing.rows import BadInput, bounded_lines, parse_timestamp, too_long, unstorable
from cost.models import (
    BigQueryJob,
    BigQueryTable,
    JobImportRun,
    JobUser,
)

BATCH = 5000
ANALYZE_AFTER = 50_000  # jobs written
TIB = Decimal(2**40)
SLOT_MS_PER_HOUR = Decimal(3_600_000)
NANOS = Decimal(1_000_000_000)
LARGEST_INT64 = 2**63 - 1

Progress = Callable[[float], None]
NOT_ONE_PER_LINE = (
    "pretty-printed JSON or a JSON array, not one job per line: export the job history as "
    "newline-delimited JSON (bq extract --destination_format NEWLINE_DELIMITED_JSON, or "
    "bq query --format=json piped through jq -c '.[]')"
)


class JobImportFailed(Exception):
    def __init__(self, run: JobImportRun, problems: list[BadInput] | None = None):
        super().__init__(run.error)
        self.run = run
        self.problems = problems or []


# --- One row --------------------------------------------------------------------------


@dataclass(frozen=True)
class TableName:
    project_id: str
    dataset_id: str
    table_id: str


@dataclass
class JobRow:
    """A JOBS row, checked and normalised."""

    project_id: str
    job_id: str
    creation_time: datetime.datetime
    start_time: datetime.datetime | None
    end_time: datetime.datetime | None
    user_email: str
    is_service_account: bool
    job_type: str
    statement_type: str
    state: str
    priority: str
    total_bytes_processed: int
    total_bytes_billed: int
    total_slot_ms: int
    cache_hit: bool
    referenced_tables: tuple[TableName, ...]
    destination_table: TableName | None
    labels: dict[str, str]
    reservation_id: str
    parent_job_id: str
    error_reason: str
    error_message: str
    query_hash: str
    query_text: str
    pricing: str = ""
    cost_nanos: int = 0
    digest: str = field(default="", compare=False)

    @property
    def day(self) -> datetime.date:
        return self.creation_time.astimezone(datetime.UTC).date()


class RowProblems(Exception):
    def __init__(self, problems: list[tuple[str, str]]):
        super().__init__(problems[0][1])
        self.problems = problems  # (field, message)


def _text(
    row: Mapping, name: str, problems: list, *, required: bool = False, longest: int = 0
) -> str:
    value = row.get(name)
    if value is None or value == "":
        if required:
            problems.append((name, "missing"))
        return ""
    if not isinstance(value, str):
        problems.append((name, f"expected text, got {json.dumps(value)[:40]}"))
        return ""
    if (problem := unstorable(value)) is not None:
        problems.append((name, problem))
        return ""
    if longest and len(value) > longest:
        problems.append((name, f"longer than {longest} characters"))
        return ""
    return value


def _time(
    row: Mapping[str, Any],
    name: str,
    problems: list[tuple[str, str]],
    *,
    window: TimeWindow,
    required: bool = False,
) -> datetime.datetime | None:
    value = row.get(name)
    if value is None or value == "":
        if required:
            problems.append((name, "missing"))
        return None
    parsed = parse_timestamp(value) or _epoch_seconds(value)
    if parsed is not None:
        try:
            parsed.astimezone(datetime.UTC)  # its UTC day is the job's day
        except OverflowError:
            parsed = None
    if parsed is None:
        problems.append(
            (name, f"{str(value)[:40]!r} is not a time such as 2026-11-01 12:00:00 UTC")
        )
    elif not window.holds(parsed):
        problems.append((name, window.outside(str(value)[:40])))
        return None
    return parsed


def _epoch_seconds(value: Any) -> datetime.datetime | None:
    """`bq query --format=json` writes TIMESTAMP columns as seconds since 1970 ("1.6882E9")."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    try:
        seconds = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    if not seconds.is_finite() or not 0 <= seconds < 10**11:
        return None
    whole = int(seconds)
    micros = int(((seconds - whole) * 1_000_000).to_integral_value(ROUND_HALF_EVEN))
    return datetime.datetime.fromtimestamp(whole, datetime.UTC) + datetime.timedelta(
        microseconds=micros
    )


def _count(row: Mapping, name: str, problems: list) -> int:
    """INT64 columns arrive as JSON strings ("1135607808") or numbers; null means 0."""
    value = row.get(name)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        problems.append((name, f"expected a whole number, got {json.dumps(value)[:40]}"))
        return 0
    text = value.strip() if isinstance(value, str) else str(value)
    # The length first: Python refuses to read a number of more than 4,300 digits.
    if len(text) > 19 or not text.isascii() or not text.isdigit() or int(text) > LARGEST_INT64:
        problems.append((name, f"{text[:40]!r} is not a whole number of at least 0"))
        return 0
    return int(text)


def _flag(row: Mapping, name: str, problems: list) -> bool:
    value = row.get(name)
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    problems.append((name, f"expected true or false, got {json.dumps(value)[:40]}"))
    return False


TABLE_PART_LENGTHS: dict[str, int] = {
    # CharFields with a max_length, which get_field(name) cannot type by a variable name.
    part: BigQueryTable._meta.get_field(part).max_length  # type: ignore[union-attr,misc]
    for part in ("project_id", "dataset_id", "table_id")
}


def _table(value: Any, name: str, problems: list) -> TableName | None:
    if not isinstance(value, Mapping):
        problems.append((name, "expected an object with project_id, dataset_id, table_id"))
        return None
    parts = []
    for part, longest in TABLE_PART_LENGTHS.items():
        text = value.get(part)
        if not isinstance(text, str) or not text:
            problems.append((f"{name}.{part}", "missing"))
            return None
        if (problem := unstorable(text)) is not None:
            problems.append((f"{name}.{part}", problem))
            return None
        if len(text) > longest:
            problems.append((f"{name}.{part}", f"longer than {longest} characters"))
            return None
        parts.append(text)
    return TableName(*parts)


def _tables(row: Mapping, problems: list) -> tuple[TableName, ...]:
    value = row.get("referenced_tables")
    if value is None:
        return ()
    if not isinstance(value, list):
        problems.append(("referenced_tables", "expected a list of tables"))
        return ()
    tables = []
    for index, item in enumerate(value):
        table = _table(item, f"referenced_tables[{index}]", problems)
        if table is not None:
            tables.append(table)
    return tuple(sorted(set(tables), key=lambda t: (t.project_id, t.dataset_id, t.table_id)))


def _labels(row: Mapping, problems: list) -> dict[str, str]:
    value = row.get("labels")
    if value is None:
        return {}
    if isinstance(value, Mapping):  # a hand-made export may write an object
        pairs = list(value.items())
    elif isinstance(value, list):
        pairs = []
        for index, item in enumerate(value):
            if not isinstance(item, Mapping) or not isinstance(item.get("key"), str):
                problems.append((f"labels[{index}]", "expected an object with key and value"))
                continue
            pairs.append((item["key"], item.get("value")))
    else:
        problems.append(("labels", "expected a list of {key, value}"))
        return {}
    labels = {str(key): "" if value is None else str(value) for key, value in pairs}
    if (problem := unstorable("".join(itertools.chain(*labels.items())))) is not None:
        problems.append(("labels", problem))
    return dict(sorted(labels.items()))


def _error(row: Mapping, problems: list) -> tuple[str, str]:
    value = row.get("error_result")
    if value is None:
        return "", ""
    if not isinstance(value, Mapping):
        problems.append(("error_result", "expected an object with reason and message"))
        return "", ""
    reason, message = str(value.get("reason") or "")[:64], str(value.get("message") or "")
    if (problem := unstorable(reason + message)) is not None:
        problems.append(("error_result", problem))
        return "", ""
    return reason, message


def parse_job(row: Any, *, keep_query_text: bool, window: TimeWindow | None = None) -> JobRow:
    """One JOBS row -> JobRow, or RowProblems naming every bad field. Its times must fall
    inside `window` (core.times.data_window(), by default as of now)."""
    window = window or data_window()
    if not isinstance(row, Mapping):
        raise RowProblems([("", "expected a JSON object (one job per line)")])
    problems: list[tuple[str, str]] = []
    user_email = _text(row, "user_email", problems)
    principal = _text(row, "principal_subject", problems)
    if row.get("user_email") in (None, ""):
        # A job run by a workload identity may have no email; the principal names it.
        user_email = principal.partition(":")[2] or principal
        if not user_email:
            problems.append(("user_email", "missing (and no principal_subject)"))
    query = row.get("query")
    if query is not None and not isinstance(query, str):
        problems.append(("query", "expected text"))
        query = None
    elif query is not None and (problem := unstorable(query)) is not None:
        problems.append(("query", problem))
        query = None
    destination = row.get("destination_table")
    destination_table = None
    if destination is not None:
        destination_table = _table(destination, "destination_table", problems)
        if destination_table and destination_table.dataset_id.startswith("_"):
            destination_table = None  # an anonymous dataset: the cached result of a query
    error_reason, error_message = _error(row, problems)
    job = JobRow(
        project_id=_text(row, "project_id", problems, required=True, longest=128),
        job_id=_text(row, "job_id", problems, required=True, longest=1024),
        # None only with a problem recorded, and then the row is refused below.
        creation_time=_time(row, "creation_time", problems, window=window, required=True),  # type: ignore[arg-type]
        start_time=_time(row, "start_time", problems, window=window),
        end_time=_time(row, "end_time", problems, window=window),
        user_email=user_email[:320],
        is_service_account=JobUser.looks_like_service_account(user_email, principal),
        job_type=_text(row, "job_type", problems)[:16],
        statement_type=_text(row, "statement_type", problems)[:40],
        state=_text(row, "state", problems)[:16],
        priority=_text(row, "priority", problems)[:16],
        total_bytes_processed=_count(row, "total_bytes_processed", problems),
        total_bytes_billed=_count(row, "total_bytes_billed", problems),
        total_slot_ms=_count(row, "total_slot_ms", problems),
        cache_hit=_flag(row, "cache_hit", problems),
        referenced_tables=_tables(row, problems),
        destination_table=destination_table,
        labels=_labels(row, problems),
        reservation_id=_text(row, "reservation_id", problems)[:256],
        parent_job_id=_text(row, "parent_job_id", problems, longest=1024),
        error_reason=error_reason,
        error_message=error_message,
        query_hash=hashlib.sha256(query.encode()).hexdigest() if query else "",
        query_text=(query or "") if keep_query_text else "",
    )
    if problems:
        raise RowProblems(problems)
    return job


# --- Cost ------------------------------------------------------------------------------


FREE_POOL = "default-pipeline"
LOCATION = re.compile(r"(region-)?[A-Za-z]+[0-9]*(-[A-Za-z0-9]+)*", re.ASCII)
BAD_LOCATION = (
    "“%(location)s” is not a BigQuery location such as US, EU, region-us or asia-northeast1"
)


def region_key(location: str) -> str:
    """`region-us`, `US`, `us` -> `us`: the key of the price settings."""
    return location.strip().lower().removeprefix("region-")


def price_job(job: JobRow, *, location: str) -> None:
    """An allocation at list prices: on-demand jobs pay for bytes billed, jobs on a
    reservation pay for slot time at their edition's slot-hour price. Load and extract
    jobs on the shared free pool (`default-pipeline`) bill nothing."""
    if job.reservation_id and job.reservation_id.lower() != FREE_POOL:
        editions = settings.QUARTERDECK_BQ_RESERVATION_EDITIONS
        edition = editions.get(job.reservation_id.lower(), editions["*"])
        prices = settings.QUARTERDECK_BQ_SLOT_HOUR_PRICE
        price = prices.get(edition, prices["*"])
        amount = Decimal(job.total_slot_ms) / SLOT_MS_PER_HOUR * price
        job.pricing = BigQueryJob.Pricing.CAPACITY
    else:
        prices = settings.QUARTERDECK_BQ_PRICE_PER_TIB
        price = prices.get(region_key(location), prices["*"])
        amount = Decimal(job.total_bytes_billed) / TIB * price
        job.pricing = BigQueryJob.Pricing.ON_DEMAND
    job.cost_nanos = int((amount * NANOS).to_integral_value(ROUND_HALF_EVEN))


def job_digest(job: JobRow, location: str) -> str:
    fields = [getattr(job, name) for name in JobRow.__dataclass_fields__ if name != "digest"]
    text = json.dumps([location, *fields], default=str, sort_keys=True)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


# --- Reading files ----------------------------------------------------------------------


@dataclass
class Located:
    """A row with the place it came from, for error messages."""

    file: str
    line: int
    row: Any
    unit: str = "line"  # "row" of a query result


class _CountingReader(io.RawIOBase):
    """Counts the compressed bytes read, for the progress bar."""

    def __init__(self, raw: io.BufferedIOBase) -> None:
        self.raw, self.position = raw, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: "WriteableBuffer") -> int:
        count = self.raw.readinto(buffer)
        self.position += count or 0
        return count


def read_job_files(
    files: Sequence[InputFile], *, progress: Progress | None = None
) -> Iterator[Located | BadInput]:
    """Every line of every file (as `describe_files` checked them), as a JSON value, or
    the problem with that line."""
    for file in files:
        if file.format != "json":
            raise BadFiles([BadInput(file.name, None, None, "expected newline-delimited JSON")])
    total = sum(file.size for file in files) or 1
    done = 0
    for file in files:
        with file.path.open("rb") as raw:
            counter = _CountingReader(raw)
            buffered = io.BufferedReader(counter, buffer_size=1 << 20)
            stream = (
                gzip.GzipFile(fileobj=buffered) if file.name.lower().endswith(".gz") else buffered
            )
            try:
                for number, data in bounded_lines(stream):
                    if number % 10_000 == 0 and progress is not None:
                        progress((done + counter.position) / total)
                    if data is None:
                        yield BadInput(file.name, number, None, too_long())
                        continue
                    try:
                        # utf-8-sig: a byte-order mark may start the file.
                        line = data.decode("utf-8-sig" if number == 1 else "utf-8")
                    except UnicodeDecodeError:
                        yield BadInput(file.name, number, None, _("not UTF-8 text"))
                        continue
                    if not line.strip():
                        continue
                    try:
                        yield Located(file.name, number, json.loads(line))
                    except ValueError as error:
                        if number == 1 and line.strip() in {"[", "{"}:
                            yield BadInput(file.name, None, None, NOT_ONE_PER_LINE)
                            break  # every other line would fail the same way
                        yield BadInput(file.name, number, None, f"not valid JSON ({error})")
            except (OSError, EOFError, zlib.error) as error:
                yield BadInput(file.name, None, None, f"cannot be read: {error}")
        done += file.size
        if progress is not None:
            progress(done / total)
