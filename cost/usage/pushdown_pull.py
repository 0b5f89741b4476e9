"""`pull_usage`: the job history of one region summed in BigQuery (cost.usage.pushdown's
SQL) and stored as daily usage rows, incrementally per region and projects.

Each pull reads whole UTC days, from the day the last pull's watermark less JOBS_OVERLAP
(6 hours) falls in up to now, and replaces those days' rows of its region and projects in
one transaction: today's rows are replaced, never added to. Rows it writes carry the
region in JobUsageDay.location, so the file import (which sums stored jobs into rows with
no location) and pull_usage never delete each other's rows. With `keep`, the most
expensive jobs of each day are stored too, as BigQueryJob rows, for the expensive-query
list; the usage is never summed again from them.

The client comes from cost.google (the seam tests replace)."""

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from google.api_core.exceptions import GoogleAPIError
from google.auth.exceptions import GoogleAuthError
from google.cloud import bigquery

from core.times import data_window
from cost import google
from cost.billing.pull import PullFailed, lookback_since
from cost.google import Scanned, query_config
from cost.models import BigQueryJob, BigQueryTable, JobImportRun, JobUsageDay, JobUser, TableSet
from cost.usage.jobs import (
    BATCH,
    JobImportFailed,
    RowProblems,
    TableName,
    job_digest,
    parse_job,
    price_job,
)
from cost.usage.pull import (
    JOBS_DEFAULT_DAYS,
    JOBS_MAX_DAYS,
    JOBS_OVERLAP,
    PROJECT_ID,
    describe_jobs_error,
    job_rows,
)
from cost.usage.pushdown import (
    BadUsageRow,
    UsageRow,
    UsageSource,
    kept_jobs_sql,
    usage_parameters,
    usage_sql,
)
from cost.usage.runs import JobWriter, table_set_id

# --- Where a pull starts ----------------------------------------------------------------------


def _previous(source: UsageSource) -> JobImportRun | None:
    """The newest succeeded usage pull of the same region and projects."""
    runs = JobImportRun.objects.filter(
        kind=JobImportRun.Kind.USAGE, status=JobImportRun.Status.SUCCEEDED,
        location=source.location, watermark__isnull=False,
    ).order_by("-watermark", "-id")  # fmt: skip
    for run in runs.only("files", "watermark").iterator():
        if run.files and run.files[0].get("projects") == list(source.projects):
            return run
    return None


@dataclass(frozen=True)
class Window:
    """The jobs read, [start, end): whole UTC days from `start`, up to now."""

    start: datetime.datetime
    end: datetime.datetime
    incremental: bool

    @property
    def days(self) -> tuple[datetime.date, datetime.date]:
        last = (self.end - datetime.timedelta(microseconds=1)).astimezone(datetime.UTC).date()
        return self.start.astimezone(datetime.UTC).date(), last


def usage_window(*, source: UsageSource, days: int, now: datetime.datetime) -> Window:
    """From the start of the UTC day the last pull's watermark less JOBS_OVERLAP falls in
    (so the jobs still running then are read finished, and the days read are whole and
    replaced, never added to), or `days` days back for the first pull."""
    check_days(days)
    previous = _previous(source)
    if previous is None or previous.watermark is None:
        return Window(lookback_since(now, days), now, incremental=False)
    resume = (previous.watermark - JOBS_OVERLAP).astimezone(datetime.UTC)
    start = datetime.datetime.combine(resume.date(), datetime.time(), tzinfo=datetime.UTC)
    # Never replace a day JOBS may have pruned (it keeps 180 days): its stored rows stand.
    return Window(max(start, lookback_since(now, JOBS_MAX_DAYS - 1)), now, incremental=True)


def check_days(days: int) -> None:
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= JOBS_MAX_DAYS:
        raise PullFailed(
            f"--days must be a whole number from 1 to {JOBS_MAX_DAYS} "
            f"(INFORMATION_SCHEMA.JOBS keeps {JOBS_MAX_DAYS} days of jobs), not {days!r}"
        )


def check_keep(keep: int) -> None:
    if isinstance(keep, bool) or not isinstance(keep, int) or keep < 0:
        raise PullFailed(f"--keep-jobs must be a whole number of at least 0, not {keep!r}")


def _billing_project(source: UsageSource, billing_project: str | None) -> str:
    project = billing_project or (source.projects[0] if source.projects else "")
    if not project:
        raise PullFailed(
            "an organisation-wide pull (no --project) needs --billing-project: the project "
            "the query runs in and is billed to"
        )
    if not PROJECT_ID.fullmatch(project):
        raise PullFailed(f"{project[:80]!r} is not a Google Cloud project id (--billing-project)")
    return project


# --- Dry run ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class UsageEstimate:
    source: UsageSource
    window: Window
    sql: str
    bytes_processed: int
    kept_sql: str = ""
    kept_bytes_processed: int = 0


def estimate_usage(
    *,
    source: UsageSource,
    days: int,
    keep: int = 0,
    billing_project: str | None = None,
    client: bigquery.Client | None = None,
    now: datetime.datetime | None = None,
) -> UsageEstimate:
    """What a pull of `source` would scan (BigQuery dry runs, which bill nothing), and
    its SQL. Nothing is recorded."""
    check_keep(keep)
    window = usage_window(source=source, days=days, now=now or timezone.now())
    project = _billing_project(source, billing_project)
    sql, kept_sql = usage_sql(source), kept_jobs_sql(source) if keep else ""
    try:
        client = google.make_client(project) if client is None else client
        config = query_config("usage", usage_parameters(source=source, start=window.start,
                                                        end=window.end), dry_run=True)  # fmt: skip
        scanned = client.query(sql, job_config=config, location=source.location)
        kept_scanned = 0
        if keep:
            parameters = usage_parameters(source=source, start=window.start, end=window.end,
                                          keep=keep)  # fmt: skip
            config = query_config("usage-kept-jobs", parameters, dry_run=True)
            kept = client.query(kept_sql, job_config=config, location=source.location)
            kept_scanned = kept.total_bytes_processed or 0
    except (GoogleAPIError, GoogleAuthError) as error:
        raise PullFailed(describe_jobs_error(error)) from error
    return UsageEstimate(
        source=source, window=window, sql=sql, bytes_processed=scanned.total_bytes_processed or 0,
        kept_sql=kept_sql, kept_bytes_processed=kept_scanned,
    )  # fmt: skip


# --- Storing ----------------------------------------------------------------------------------


def _user_ids(rows: Sequence[UsageRow]) -> dict[str, int]:
    robots = {row.user_email: row.is_service_account for row in rows}
    ids: dict[str, int] = {}
    emails = list(robots)
    for offset in range(0, len(emails), 500):
        chunk = emails[offset : offset + 500]
        known = dict(JobUser.objects.filter(email__in=chunk).values_list("email", "pk"))
        new = [JobUser(email=e, is_service_account=robots[e]) for e in chunk if e not in known]
        if new:
            JobUser.objects.bulk_create(new, ignore_conflicts=True)
            known = dict(JobUser.objects.filter(email__in=chunk).values_list("email", "pk"))
        ids.update(known)
    return ids


def _table_set_ids(rows: Sequence[UsageRow]) -> dict[tuple[TableName, ...], int]:
    tables: dict[TableName, int] = {}
    sets: dict[tuple[TableName, ...], int] = {}
    for row in rows:
        if not row.tables or row.tables in sets:
            continue
        for name in row.tables:
            if name not in tables:
                found, _created = BigQueryTable.objects.get_or_create(
                    project_id=name.project_id, dataset_id=name.dataset_id, table_id=name.table_id
                )
                tables[name] = found.pk
        ids = [tables[name] for name in row.tables]
        sets[row.tables] = table_set_id(ids, TableSet.digest_of(ids))
    return sets


def _in_source(queryset: Any, source: UsageSource) -> Any:
    queryset = queryset.filter(location=source.location)
    return queryset if source.organisation_wide else queryset.filter(project_id__in=source.projects)


def store_usage(
    *,
    run: JobImportRun,
    source: UsageSource,
    window: Window,
    rows: Sequence[UsageRow],
    kept: Sequence[bigquery.Row] = (),
) -> None:
    """Replace the daily usage of the window's days for this region and these projects,
    and the jobs earlier usage pulls kept for them, in one transaction."""
    first, last = window.days
    with transaction.atomic():
        users, sets = _user_ids(rows), _table_set_ids(rows)
        _in_source(JobUsageDay.objects.filter(day__gte=first, day__lte=last), source).delete()
        JobUsageDay.objects.bulk_create(
            (
                JobUsageDay(
                    day=row.day,
                    project_id=row.project_id,
                    user_id=users[row.user_email],
                    table_set_id=sets.get(row.tables),
                    queries=row.queries,
                    cache_hits=row.cache_hits,
                    bytes_processed=row.bytes_processed,
                    bytes_billed=row.bytes_billed,
                    slot_ms=row.slot_ms,
                    cost_nanos=row.cost_nanos,
                    last_seen=row.last_seen,
                    location=source.location,
                )
                for row in rows
            ),
            batch_size=1000,
        )
        written = _keep_jobs(run=run, source=source, window=window, kept=kept)
        run.status = JobImportRun.Status.SUCCEEDED
        run.rows_read, run.jobs_written = len(rows), written
        run.first_day, run.last_day = first, last
        run.watermark = window.end
        run.finished_at = timezone.now()
        run.save()


def _keep_jobs(
    *, run: JobImportRun, source: UsageSource, window: Window, kept: Sequence[bigquery.Row]
) -> int:
    """The most expensive jobs of each day, as BigQueryJob rows (the expensive-query
    list); the ones earlier usage pulls kept for these days go first."""
    earlier = BigQueryJob.objects.filter(
        creation_time__gte=window.start, creation_time__lt=window.end,
        run__kind=JobImportRun.Kind.USAGE,
    )  # fmt: skip
    _in_source(earlier, source).delete()
    if not kept:
        return 0
    keep_text = settings.QUARTERDECK_JOBS_KEEP_QUERY_TEXT
    window_of_data = data_window()
    writer = JobWriter(run, source.location)
    jobs = []
    for number, row in enumerate(job_rows(kept), start=1):
        try:
            job = parse_job(row, keep_query_text=keep_text, window=window_of_data)
        except RowProblems as bad:
            name, message = bad.problems[0]
            raise BadUsageRow(f"kept job {number}, field {name or '-'}: {message}") from None
        price_job(job, location=source.location)
        job.digest = job_digest(job, source.location)
        jobs.append(job)
    for offset in range(0, len(jobs), BATCH):
        writer.write(jobs[offset : offset + BATCH])
    return writer.written


# --- What the command calls ---------------------------------------------------------------------


def pull_usage(
    *,
    source: UsageSource,
    days: int = JOBS_DEFAULT_DAYS,
    keep: int = 0,
    billing_project: str | None = None,
    by: User | None = None,
    by_name: str = "",
    client: bigquery.Client | None = None,
    now: datetime.datetime | None = None,
) -> JobImportRun:
    """Sum the jobs of one region in BigQuery and store the daily usage rows (and, with
    `keep`, the `keep` most expensive jobs of each day). Returns the succeeded run.

    Raises PullFailed for bad options (nothing recorded), cost.locks.Busy while another
    job import runs, JobImportFailed with a failed run for anything else: nothing of
    this region is stored then."""
    check_keep(keep)
    window = usage_window(source=source, days=days, now=now or timezone.now())
    project = _billing_project(source, billing_project)
    described = {"name": str(source), "format": "bigquery-usage",
                 "projects": list(source.projects), "since": window.start.isoformat(),
                 "until": window.end.isoformat(), "incremental": window.incremental}  # fmt: skip
    run = JobImportRun(
        kind=JobImportRun.Kind.USAGE, location=source.location,
        project_id=source.projects[0] if len(source.projects) == 1 else "", started_by=by,
        started_by_name=by_name, files=[described],
    )  # fmt: skip
    run.start()
    scanned = Scanned()
    try:
        client = google.make_client(project) if client is None else client
        parameters = usage_parameters(source=source, start=window.start, end=window.end)
        job = client.query(usage_sql(source), job_config=query_config("usage", parameters),
                           location=source.location)  # fmt: skip
        rows = [UsageRow.read(row) for row in job.result()]
        scanned.add(job)
        kept: list[bigquery.Row] = []
        if keep:
            parameters = usage_parameters(source=source, start=window.start, end=window.end,
                                          keep=keep)  # fmt: skip
            job = client.query(kept_jobs_sql(source),
                               job_config=query_config("usage-kept-jobs", parameters),
                               location=source.location)  # fmt: skip
            kept = list(job.result())
            scanned.add(job)
        table_sets = len({row.tables for row in rows if row.tables})
        statistics = {"bytes_processed": scanned.processed, "bytes_billed": scanned.billed,
                      "table_sets": table_sets}  # fmt: skip
        run.files = [described | statistics]
        store_usage(run=run, source=source, window=window, rows=rows, kept=kept)
    except (GoogleAPIError, GoogleAuthError) as error:
        raise _failed(run, describe_jobs_error(error)) from error
    except BadUsageRow as bad:
        raise _failed(run, f"nothing was stored: {bad}") from None
    except Exception as error:  # a connection refused, a timeout: still a failed run
        raise _failed(run, f"could not read or store the usage: {error!r}") from error
    except BaseException:
        _failed(run, "interrupted")
        raise
    run.release()
    return run


def _failed(run: JobImportRun, message: str) -> JobImportFailed:
    run.mark_failed(message)
    run.release()
    return JobImportFailed(run)
