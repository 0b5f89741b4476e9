"""BigQuery job history (INFORMATION_SCHEMA.JOBS rows) -> jobs, table sets, daily usage.

Rows come from newline-delimited JSON exports (gzipped or not) or straight from
BigQuery (`cost.bigquery.job_rows`); both go through `JobRows`, which checks every field
and names the file, line and field of each problem. An import is all or nothing: the
first problem stops the writing, the rest of the input is still read to report up to
MAX_ERRORS problems, and the transaction is rolled back.

Memory stays flat: rows are read and written in batches; only the ids of users, tables
and table sets stay in memory. A job already stored with the same content is skipped,
so a second import of a file writes nothing; a job whose row changed (a running job
that finished) is replaced. After the jobs, `JobUsageDay` is rebuilt for every day the
import changed.
"""

import datetime
import gzip
import hashlib
import io
import itertools
import json
import re
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.utils import timezone

from cost.ingest import (
    MAX_ERRORS,
    BadFiles,
    BadInput,
    InputFile,
    describe_files,
    parse_timestamp,
)
from cost.models import (
    BigQueryJob,
    BigQueryTable,
    JobImportRun,
    JobUsageDay,
    JobUser,
    TableCombo,
    TableSet,
    TableSetMember,
)
from cost.models.jobs import MAX_PAIR_SET_SIZE, MAX_TRIPLE_SET_SIZE

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


def unstorable(text: str) -> str | None:
    """Why the database would refuse this text, or None. PostgreSQL refuses NUL in text
    and JSON (SQLite takes it), and neither stores half a surrogate pair, which JSON can
    write ("\\ud800") and json.loads returns."""
    if "\x00" in text:
        return "contains a NUL character (\\u0000)"
    try:
        text.encode()
    except UnicodeEncodeError:
        return "contains half a surrogate pair (\\ud800-\\udfff)"
    return None


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


def _time(row: Mapping, name: str, problems: list, *, required: bool = False):
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


TABLE_PART_LENGTHS = {
    part: BigQueryTable._meta.get_field(part).max_length
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


def parse_job(row: Any, *, keep_query_text: bool) -> JobRow:
    """One JOBS row -> JobRow, or RowProblems naming every bad field."""
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
        creation_time=_time(row, "creation_time", problems, required=True),
        start_time=_time(row, "start_time", problems),
        end_time=_time(row, "end_time", problems),
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


def _digest(job: JobRow, location: str) -> str:
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

    def __init__(self, raw):
        self.raw, self.position = raw, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
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
            text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="\n")
            try:
                for number, line in enumerate(text, start=1):
                    if number % 10_000 == 0 and progress is not None:
                        progress((done + counter.position) / total)
                    if not line.strip():
                        continue
                    try:
                        yield Located(file.name, number, json.loads(line))
                    except ValueError as error:
                        if number == 1 and line.strip() in {"[", "{"}:
                            yield BadInput(file.name, None, None, NOT_ONE_PER_LINE)
                            break  # every other line would fail the same way
                        yield BadInput(file.name, number, None, f"not valid JSON ({error})")
            except (OSError, EOFError, UnicodeDecodeError, zlib.error) as error:
                yield BadInput(file.name, None, None, f"cannot be read: {error}")
        done += file.size
        if progress is not None:
            progress(done / total)


# --- Writing ----------------------------------------------------------------------------


class JobWriter:
    """Resolves users, tables and table sets to ids and writes jobs in batches."""

    def __init__(self, run: JobImportRun, location: str):
        self.run, self.location = run, location
        self.users: dict[str, int] = {}
        self.tables: dict[TableName, int] = {}
        self.sets: dict[str, int] = {}
        self.days: set[datetime.date] = set()
        self.written = 0

    def write(self, jobs: list[JobRow]) -> None:
        latest: dict[tuple[str, str], JobRow] = {}
        for job in jobs:
            latest[(job.project_id, job.job_id)] = job  # the last copy of a job wins
        if connection.vendor == "postgresql":
            self._upsert(list(latest.values()))
            return
        existing = self._existing(latest)
        fresh = [
            job for key, job in latest.items() if existing.get(key, (None, ""))[1] != job.digest
        ]
        if not fresh:
            return
        stale = [existing[(job.project_id, job.job_id)] for job in fresh
                 if (job.project_id, job.job_id) in existing]  # fmt: skip
        for chunk in _chunks([pk for pk, _digest, _created in stale], 500):
            BigQueryJob.objects.filter(pk__in=chunk).delete()
        self._resolve(fresh)
        _insert_sqlite([self._row(job) for job in fresh])
        # A replaced job may have moved to another day: the day it left is summed again too.
        self.days.update(created.astimezone(datetime.UTC).date() for *_, created in stale)
        self.days.update(job.day for job in fresh)
        self.written += len(fresh)

    def _upsert(self, jobs: list[JobRow]) -> None:
        """PostgreSQL: COPY the batch into a scratch table, then one INSERT ... ON CONFLICT
        that skips unchanged jobs and replaces changed ones. Looking the batch up first
        would cost a query per 500 jobs, planned without statistics in a long load."""
        self._resolve(jobs)
        table = BigQueryJob._meta.db_table
        names = ", ".join(JOB_COLUMNS)
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in JOB_COLUMNS if c not in KEY_COLUMNS)
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS job_stage ON COMMIT DROP AS "  # noqa: S608
                f"SELECT {names} FROM {table} WITH NO DATA"
            )
            cursor.execute("TRUNCATE job_stage")
            with cursor.copy(f"COPY job_stage ({names}) FROM STDIN") as copy:
                for job in jobs:
                    copy.write_row(self._row(job))
            # The SELECT sees the table as it was before the INSERT (one snapshot), so it
            # gives a replaced job's old creation time too: the day a job left is summed
            # again. A subquery per row, not a join, so that it is always an index lookup.
            cursor.execute(
                f"WITH written AS (INSERT INTO {table} ({names}) "  # noqa: S608
                f"SELECT {names} FROM job_stage "
                f"ON CONFLICT (project_id, job_id) DO UPDATE SET {updates} "
                f"WHERE {table}.digest <> EXCLUDED.digest "
                f"RETURNING project_id, job_id, creation_time) "
                f"SELECT creation_time, (SELECT old.creation_time FROM {table} old "
                f"WHERE old.project_id = written.project_id AND old.job_id = written.job_id) "
                f"FROM written"
            )
            written = cursor.fetchall()
        self.days.update(moment.astimezone(datetime.UTC).date()
                         for row in written for moment in row if moment is not None)  # fmt: skip
        self.written += len(written)

    def _existing(self, jobs: dict[tuple[str, str], JobRow]) -> dict[tuple[str, str], tuple]:
        by_project: dict[str, list[str]] = {}
        for project, job_id in jobs:
            by_project.setdefault(project, []).append(job_id)
        found = {}
        for project, job_ids in by_project.items():
            for chunk in _chunks(job_ids, 500):
                query = BigQueryJob.objects.filter(project_id=project, job_id__in=chunk)
                for pk, job_id, digest, created in query.values_list(
                    "pk", "job_id", "digest", "creation_time"
                ):
                    found[(project, job_id)] = (pk, digest, created)
        return found

    def _resolve(self, jobs: list[JobRow]) -> None:
        emails = {job.user_email: job.is_service_account for job in jobs}
        missing = [email for email in emails if email not in self.users]
        for chunk in _chunks(missing, 500):
            known = dict(JobUser.objects.filter(email__in=chunk).values_list("email", "pk"))
            new = [JobUser(email=e, is_service_account=emails[e]) for e in chunk if e not in known]
            JobUser.objects.bulk_create(new, ignore_conflicts=True)
            if new:
                known = dict(JobUser.objects.filter(email__in=chunk).values_list("email", "pk"))
            self.users.update(known)
        for job in jobs:
            for table in (*job.referenced_tables, job.destination_table):
                if table is not None and table not in self.tables:
                    self.tables[table] = self._table_id(table)
            if job.referenced_tables:
                ids = [self.tables[table] for table in job.referenced_tables]
                digest = TableSet.digest_of(ids)
                if digest not in self.sets:
                    self.sets[digest] = table_set_id(ids, digest)

    @staticmethod
    def _table_id(table: TableName) -> int:
        found, _created = BigQueryTable.objects.get_or_create(
            project_id=table.project_id, dataset_id=table.dataset_id, table_id=table.table_id
        )
        return found.pk

    def _row(self, job: JobRow) -> tuple:
        table_set = None
        if job.referenced_tables:
            table_set = self.sets[
                TableSet.digest_of([self.tables[t] for t in job.referenced_tables])
            ]
        destination = self.tables[job.destination_table] if job.destination_table else None
        return (
            job.project_id, job.job_id, self.location, job.creation_time, job.start_time,
            job.end_time, self.users[job.user_email], job.job_type, job.statement_type,
            job.state, job.priority, job.total_bytes_processed, job.total_bytes_billed,
            job.total_slot_ms, job.cache_hit, table_set, destination, _json(job.labels),
            job.reservation_id, job.parent_job_id, job.error_reason, job.error_message,
            job.query_hash, job.query_text, job.pricing, job.cost_nanos, self.run.pk,
            job.digest,
        )  # fmt: skip


JOB_COLUMNS = [
    "project_id", "job_id", "location", "creation_time", "start_time", "end_time",
    "user_id", "job_type", "statement_type", "state", "priority", "total_bytes_processed",
    "total_bytes_billed", "total_slot_ms", "cache_hit", "table_set_id",
    "destination_table_id", "labels", "reservation_id", "parent_job_id", "error_reason",
    "error_message", "query_hash", "query_text", "pricing", "cost_nanos", "run_id", "digest",
]  # fmt: skip


KEY_COLUMNS = {"project_id", "job_id"}
TIME_COLUMNS = [JOB_COLUMNS.index(c) for c in ("creation_time", "start_time", "end_time")]
LABELS_COLUMN = JOB_COLUMNS.index("labels")


def _insert_sqlite(rows: list[tuple]) -> None:
    """SQLite: one executemany, values adapted as Django would (a quarter of the time of
    bulk_create, which builds a model instance per job)."""
    adapt = connection.ops.adapt_datetimefield_value
    prepared = []
    for row in rows:
        values = list(row)
        for index in TIME_COLUMNS:
            values[index] = adapt(values[index])
        values[LABELS_COLUMN] = json.dumps(values[LABELS_COLUMN])
        prepared.append(values)
    marks = ", ".join(["%s"] * len(JOB_COLUMNS))
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {BigQueryJob._meta.db_table} ({', '.join(JOB_COLUMNS)}) "  # noqa: S608
            f"VALUES ({marks})",
            prepared,
        )


def _json(labels: dict[str, str]):
    if connection.vendor == "postgresql":
        from psycopg.types.json import Jsonb

        return Jsonb(labels)
    return labels


def _chunks(items: list, size: int) -> Iterator[list]:
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def table_set_id(table_ids: list[int], digest: str) -> int:
    """The set of these tables, created with its members, pairs and triples if new."""
    found = TableSet.objects.filter(digest=digest).values_list("pk", flat=True).first()
    if found is not None:
        return found
    ids = sorted(set(table_ids))
    table_set = TableSet.objects.create(digest=digest, size=len(ids))
    TableSetMember.objects.bulk_create(
        TableSetMember(table_set=table_set, table_id=table_id) for table_id in ids
    )
    combos = []
    if len(ids) <= MAX_PAIR_SET_SIZE:
        combos += [TableCombo(table_set=table_set, first_id=a, second_id=b)
                   for a, b in itertools.combinations(ids, 2)]  # fmt: skip
    if len(ids) <= MAX_TRIPLE_SET_SIZE:
        combos += [TableCombo(table_set=table_set, first_id=a, second_id=b, third_id=c)
                   for a, b, c in itertools.combinations(ids, 3)]  # fmt: skip
    TableCombo.objects.bulk_create(combos, batch_size=500)
    return table_set.pk


# --- Daily usage ----------------------------------------------------------------------------


def rebuild_usage_days(days: Iterable[datetime.date]) -> None:
    """JobUsageDay for these UTC days, summed again from the jobs of each day."""
    usage, jobs = JobUsageDay._meta.db_table, BigQueryJob._meta.db_table
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        for day in sorted(set(days)):
            start = datetime.datetime.combine(day, datetime.time(), tzinfo=datetime.UTC)
            end = start + datetime.timedelta(days=1)
            cursor.execute(f"DELETE FROM {usage} WHERE day = %s", [day])  # noqa: S608
            cursor.execute(
                f"""
                INSERT INTO {usage} (day, project_id, user_id, table_set_id, queries,
                    cache_hits, bytes_processed, bytes_billed, slot_ms, cost_nanos, last_seen)
                SELECT %s, project_id, user_id, table_set_id, COUNT(*),
                    SUM(CASE WHEN cache_hit THEN 1 ELSE 0 END), SUM(total_bytes_processed),
                    SUM(total_bytes_billed), SUM(total_slot_ms), SUM(cost_nanos),
                    MAX(creation_time)
                FROM {jobs}
                WHERE creation_time >= %s AND creation_time < %s
                    AND job_type = 'QUERY' AND statement_type <> 'SCRIPT'
                GROUP BY project_id, user_id, table_set_id
                """,  # noqa: S608
                [day, adapt(start), adapt(end)],
            )


def retention_start(today: datetime.date | None = None) -> datetime.date:
    """The first UTC day whose jobs are kept one by one. Older days live on only as
    JobUsageDay rows."""
    today = today or timezone.now().date()
    return today - datetime.timedelta(days=settings.QUARTERDECK_JOBS_RETENTION_DAYS)


# --- Runs -----------------------------------------------------------------------------------


def _start_run(*, kind: str, location: str, project_id: str = "", by, by_name: str, files=()):
    return JobImportRun.objects.create(
        kind=kind, location=location[:64], project_id=project_id, started_by=by,
        started_by_name=by_name, files=list(files),
    )  # fmt: skip


def _fail(run: JobImportRun, message: str, problems: list | None = None) -> JobImportFailed:
    run.mark_failed(message)
    return JobImportFailed(run, problems)


class _Abort(Exception):
    def __init__(self, problems: list[BadInput]):
        self.problems = problems


def _load(run: JobImportRun, items: Iterable[Located | BadInput], *, today: datetime.date) -> None:
    """Check and write every row in one transaction; problems roll it all back."""
    keep_text = settings.QUARTERDECK_JOBS_KEEP_QUERY_TEXT
    first_kept = retention_start(today)
    writer = JobWriter(run, run.location)
    # Days before the retention start that were summed already: their jobs are gone, so
    # rows for them cannot be told from new ones and are skipped.
    closed = set(JobUsageDay.objects.filter(day__lt=first_kept).values_list("day", flat=True))
    problems: list[BadInput] = []
    batch: list[JobRow] = []
    read = skipped = 0
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:  # a bulk load can be run again; see imports.py
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        for item in items:
            if isinstance(item, BadInput):
                problems.append(item)
            else:
                read += 1
                try:
                    job = parse_job(item.row, keep_query_text=keep_text)
                except RowProblems as bad:
                    problems += [BadInput(item.file, item.line, name or None, message, item.unit)
                                 for name, message in bad.problems]  # fmt: skip
                else:
                    if job.day in closed:
                        skipped += 1
                    elif not problems:
                        price_job(job, location=run.location)
                        job.digest = _digest(job, run.location)
                        batch.append(job)
            if len(problems) >= MAX_ERRORS:
                break
            if len(batch) >= BATCH and not problems:
                writer.write(batch)
                batch = []
        if problems:
            raise _Abort(problems[:MAX_ERRORS])
        writer.write(batch)
        rebuild_usage_days(writer.days)
        if connection.vendor == "postgresql" and writer.written >= ANALYZE_AFTER:
            # The reports' plans need row counts; autovacuum would get there minutes later.
            with connection.cursor() as cursor:
                for model in (BigQueryJob, JobUsageDay, TableSetMember, TableCombo):
                    cursor.execute(f"ANALYZE {model._meta.db_table}")
        if writer.days and min(writer.days) < first_kept:
            compact_jobs(today=today)
        run.status = JobImportRun.Status.SUCCEEDED
        run.rows_read, run.rows_skipped, run.jobs_written = read, skipped, writer.written
        run.first_day = min(writer.days, default=None)
        run.last_day = max(writer.days, default=None)
        run.finished_at = timezone.now()
        run.save()


def _run(run: JobImportRun, items: Iterable, *, today, describe: Callable[[Exception], str]):
    """Load, or mark the run failed whatever stopped it: nothing is stored then."""
    try:
        _load(run, items, today=today)
    except BadFiles as bad:
        raise _fail(run, str(bad), bad.problems) from None
    except _Abort as abort:
        first = abort.problems[0]
        message = f"{len(abort.problems)} problem(s); nothing was imported. First: {first}"
        raise _fail(run, message, abort.problems) from None
    except Exception as error:
        raise _fail(run, describe(error)) from error
    except BaseException:
        _fail(run, "interrupted")
        raise
    return run


def _could_not(error: Exception) -> str:
    return f"could not read or store the jobs: {error!r}"


def import_job_files(
    paths: Sequence[Path],
    *,
    location: str = "US",
    by: AbstractBaseUser | None = None,
    by_name: str = "",
    progress: Progress | None = None,
    today: datetime.date | None = None,
) -> JobImportRun:
    """Load JOBS exports (newline-delimited JSON, gzipped or not): all or nothing."""
    run = _start_run(kind=JobImportRun.Kind.FILES, location=location, by=by, by_name=by_name)
    if len(location) > 64 or not LOCATION.fullmatch(location):
        problem = BadInput("--region", None, None, BAD_LOCATION % {"location": location[:80]})
        raise _fail(run, str(problem), [problem])
    try:
        files = describe_files(list(paths))
        run.files = [file.as_json() for file in files]
    except BadFiles as bad:
        raise _fail(run, str(bad), bad.problems) from None
    except Exception as error:  # a file that cannot be opened: as in _run, never "running"
        raise _fail(run, _could_not(error)) from error
    except BaseException:
        _fail(run, "interrupted")
        raise
    run.save(update_fields=["files"])
    items = read_job_files(files, progress=progress)
    return _run(run, items, today=today or timezone.now().date(), describe=_could_not)


def import_job_rows(
    rows: Iterable[Mapping[str, Any]],
    *,
    location: str,
    project_id: str = "",
    source: str = "bigquery",
    by: AbstractBaseUser | None = None,
    by_name: str = "",
    today: datetime.date | None = None,
    describe_error: Callable[[Exception], str] = _could_not,
) -> JobImportRun:
    """Load JOBS rows read from BigQuery (`pull_jobs`): the same rules as for files. An
    error while the rows stream in (a page that cannot be fetched) fails the run with
    `describe_error(error)` and raises JobImportFailed."""
    run = _start_run(
        kind=JobImportRun.Kind.BIGQUERY, location=location, project_id=project_id, by=by,
        by_name=by_name,
    )  # fmt: skip
    located = (Located(source, number, row, "row") for number, row in enumerate(rows, start=1))
    return _run(run, located, today=today or timezone.now().date(), describe=describe_error)


@transaction.atomic
def compact_jobs(*, today: datetime.date | None = None) -> int:
    """Retention: delete the job rows older than QUARTERDECK_JOBS_RETENTION_DAYS.

    Their days are already summed in JobUsageDay (every import rebuilds the days it
    touches), so the usage reports keep them; per-job reports (most expensive queries,
    cost by label) cover the retention window only. An import runs this itself when it
    brought old rows; `manage.py compact_jobs` runs it on its own."""
    start = datetime.datetime.combine(retention_start(today), datetime.time(), tzinfo=datetime.UTC)
    deleted, _by_model = BigQueryJob.objects.filter(creation_time__lt=start).delete()
    return deleted
