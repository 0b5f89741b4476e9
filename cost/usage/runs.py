"""Job-history import runs: checked job rows -> jobs, table sets, daily usage.

An import is all or nothing: the first problem stops the writing, the rest of the input
is still read to report up to MAX_ERRORS problems, and the transaction is rolled back.

Memory stays flat: rows are read and written in batches; only the ids of users, tables
and table sets stay in memory. A job already stored with the same content is skipped,
so a second import of a file writes nothing; a job whose row changed (a running job
that finished) is replaced. After the jobs, `JobUsageDay` is rebuilt for every day the
import changed."""

import datetime
import itertools
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.utils import timezone

from core.times import data_window
from cost.billing.files import BadFiles, describe_files
from cost.billing.rows import MAX_ERRORS, BadInput
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
from cost.models.usage import MAX_PAIR_SET_SIZE, MAX_TRIPLE_SET_SIZE
from cost.usage.jobs import (
    ANALYZE_AFTER,
    BAD_LOCATION,
    BATCH,
    LOCATION,
    JobImportFailed,
    JobRow,
    Located,
    Progress,
    RowProblems,
    TableName,
    job_digest,
    parse_job,
    price_job,
    read_job_files,
)

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
        for chunk in _chunks([pk for pk, _stored_digest, _created in stale], 500):
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


def _json(labels: dict[str, str]) -> object:
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
            # Days BigQuery summed (pull_usage, `location` set) are that pull's to replace.
            cursor.execute(f"DELETE FROM {usage} WHERE day = %s AND location = ''", [day])  # noqa: S608
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


def _start_run(
    *,
    kind: str,
    location: str,
    project_id: str = "",
    by: User | None,
    by_name: str,
    files: Iterable[dict[str, Any]] = (),
) -> JobImportRun:
    """A running run holding the job history; cost.locks.Busy (nothing written) while
    another live job import holds it. The run's end (`_fail`, `_run`) lets it go."""
    run = JobImportRun(
        kind=kind, location=location[:64], project_id=project_id, started_by=by,
        started_by_name=by_name, files=list(files),
    )  # fmt: skip
    run.start()
    return run


def _fail(run: JobImportRun, message: str, problems: list | None = None) -> JobImportFailed:
    run.mark_failed(message)
    run.release()
    return JobImportFailed(run, problems)


class _Abort(Exception):
    def __init__(self, problems: list[BadInput]):
        self.problems = problems


def _load(run: JobImportRun, items: Iterable[Located | BadInput], *, today: datetime.date) -> None:
    """Check and write every row in one transaction; problems roll it all back."""
    keep_text = settings.QUARTERDECK_JOBS_KEEP_QUERY_TEXT
    window = data_window()  # once: every row of the run is held to the same window
    first_kept = retention_start(today)
    writer = JobWriter(run, run.location)
    # Days before the retention start that were summed already: their jobs are gone, so
    # rows for them cannot be told from new ones and are skipped.
    closed = set(
        JobUsageDay.objects.filter(day__lt=first_kept, location="").values_list("day", flat=True)
    )
    problems: list[BadInput] = []
    batch: list[JobRow] = []
    read = skipped = 0
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:  # re-runnable bulk load (as billing/runs.py)
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        for item in items:
            if isinstance(item, BadInput):
                problems.append(item)
            else:
                read += 1
                try:
                    job = parse_job(item.row, keep_query_text=keep_text, window=window)
                except RowProblems as bad:
                    problems += [BadInput(item.file, item.line, name or None, message, item.unit)
                                 for name, message in bad.problems]  # fmt: skip
                else:
                    if job.day in closed:
                        skipped += 1
                    elif not problems:
                        price_job(job, location=run.location)
                        job.digest = job_digest(job, run.location)
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


def _run(
    run: JobImportRun,
    items: Iterable[Located | BadInput],
    *,
    today: datetime.date,
    describe: Callable[[Exception], str],
) -> JobImportRun:
    """Load, or mark the run failed whatever stopped it: nothing is stored then."""
    try:
        _load(run, items, today=today)
        run.release()  # after _load's transaction: the next import sees its jobs
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
    by: User | None = None,
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
    by: User | None = None,
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
