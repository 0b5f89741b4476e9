"""The job history straight from BigQuery: INFORMATION_SCHEMA.JOBS_BY_PROJECT -> the same
import as the files (cost.usage.runs.import_job_rows), incrementally from the newest job
already stored, re-reading a few hours of overlap.

The client comes from cost.google (the seam tests replace); the SQL, its parameters and
the rows -> jobs conversion are ours and are tested for real."""

import datetime
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Max
from django.utils import timezone
from google.api_core.exceptions import GoogleAPICallError, GoogleAPIError
from google.auth.exceptions import GoogleAuthError
from google.cloud import bigquery

from cost import google
from cost.billing.pull import PullFailed, lookback_since
from cost.google import describe_error, query_config
from cost.models import BigQueryJob, JobImportRun
from cost.usage.jobs import JobImportFailed
from cost.usage.runs import import_job_rows

# --- Job history: INFORMATION_SCHEMA.JOBS_BY_PROJECT -----------------------------------------
#
# `pull_jobs` reads the jobs created since the last pull and hands them, as the same dicts a
# JSON export of JOBS holds, to cost.usage.runs.import_job_rows: every check, the pricing, the
# skipping of unchanged jobs and the daily usage are the file import's.

JOBS_DEFAULT_DAYS = 7
JOBS_MAX_DAYS = 180  # INFORMATION_SCHEMA.JOBS keeps 180 days of jobs
# A query job runs for at most 6 hours: a job that was still running at the last pull was
# created at most 6 hours before the newest job then stored, so reading again from there
# sees it finish. JOBS rows also show up with a short delay; the overlap covers that too.
JOBS_OVERLAP = datetime.timedelta(hours=6)

# The project and region are spliced into the SQL as identifiers, so they must not be able
# to carry a backtick, a quote or a second statement. The project is TABLE_NAME's.
PROJECT_ID = re.compile(r"(?:[a-z0-9][a-z0-9.-]{0,62}:)?[a-z][a-z0-9-]{4,28}[a-z0-9]", re.ASCII)
# A multi-region (us, eu) or a region (europe-west2, us-central1, northamerica-northeast1),
# with or without the `region-` prefix of INFORMATION_SCHEMA names.
REGION = re.compile(r"(?:region-)?(?P<location>[a-z]{2,20}(?:-[a-z]{2,20}[0-9]{1,2})?)", re.ASCII)

# Exactly what cost.usage.jobs.parse_job reads.
JOBS_COLUMNS = (
    "creation_time", "start_time", "end_time", "project_id", "job_id", "user_email",
    "principal_subject", "job_type", "statement_type", "state", "priority", "query",
    "total_bytes_processed", "total_bytes_billed", "total_slot_ms", "cache_hit",
    "referenced_tables", "destination_table", "labels", "reservation_id", "parent_job_id",
    "error_result",
)  # fmt: skip


@dataclass(frozen=True)
class JobsView:
    """`PROJECT`.`region-xx`.INFORMATION_SCHEMA.JOBS_BY_PROJECT, validated."""

    project: str
    region: str  # always `region-<location>`, lower case

    @classmethod
    def parse(cls, project: str, region: str) -> "JobsView":
        if not PROJECT_ID.fullmatch(project or ""):
            shown = project if len(project or "") <= 80 else project[:80] + "…"
            raise PullFailed(
                f"{shown!r} is not a Google Cloud project id: expected 6 to 30 lower-case "
                "letters, digits and '-', starting with a letter (e.g. acme-analytics)"
            )
        match = REGION.fullmatch((region or "").lower())
        if match is None:
            shown = region if len(region or "") <= 80 else region[:80] + "…"
            raise PullFailed(
                f"{shown!r} is not a BigQuery region: expected e.g. region-us, region-eu or "
                "region-europe-west2 (us and US mean region-us)"
            )
        return cls(project=project, region=f"region-{match['location']}")

    def __str__(self) -> str:
        return f"{self.project}.{self.region}.INFORMATION_SCHEMA.JOBS_BY_PROJECT"

    @property
    def sql(self) -> str:
        return f"`{self.project}`.`{self.region}`.INFORMATION_SCHEMA.JOBS_BY_PROJECT"

    @property
    def location(self) -> str:
        """The location as BigQuery writes it: `US` and `EU` for the multi-regions,
        `europe-west2` for a region. The job runs there, and the import's prices and its
        row digests use it (the same as `import_jobs --region US`)."""
        location = self.region.removeprefix("region-")
        return location if "-" in location else location.upper()


def jobs_sql(*, project: str, region: str) -> str:
    """The jobs of `project` in `region` created after @since (a TIMESTAMP parameter),
    oldest first. JOBS is partitioned by creation_time, so only those days are read.
    Raises PullFailed for a project or region that is not a plain identifier."""
    view = JobsView.parse(project, region)
    columns = ",\n  ".join(JOBS_COLUMNS)
    return f"""
SELECT
  {columns}
FROM {view.sql}
WHERE creation_time > @since
ORDER BY creation_time
"""  # noqa: S608 - project and region are validated by JobsView.parse; since is a parameter


def _check_days(days: int) -> None:
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= JOBS_MAX_DAYS:
        raise PullFailed(
            f"--days must be a whole number from 1 to {JOBS_MAX_DAYS} "
            f"(INFORMATION_SCHEMA.JOBS keeps {JOBS_MAX_DAYS} days of jobs), not {days!r}"
        )


def jobs_since(
    *, view: JobsView, days: int, now: datetime.datetime
) -> tuple[datetime.datetime, bool]:
    """Where a pull starts, and whether it continues an earlier one: the newest job stored
    for the project in this location minus JOBS_OVERLAP, or the start of the UTC day `days`
    before `now` (so the first day's usage is whole: later pulls never reach before it)."""
    newest = BigQueryJob.objects.filter(
        project_id=view.project, location__iexact=view.location
    ).aggregate(newest=Max("creation_time"))["newest"]
    if newest is None:
        return lookback_since(now, days), False
    return newest - JOBS_OVERLAP, True


# --- Rows -> the dicts of a JOBS export ------------------------------------------------------


def _plain(value: Any) -> Any:
    """A Row value as JSON-like data: records are dicts, repeated fields lists, times RFC
    3339 text (what cost.billing.rows.parse_timestamp reads), INT64 stay ints."""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:  # the client gives UTC; a naive time can only mean UTC
            value = value.replace(tzinfo=datetime.UTC)
        return value.astimezone(datetime.UTC).isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def job_rows(rows: Iterable[bigquery.Row]) -> Iterator[dict[str, Any]]:
    """The query's Rows, one at a time, as plain dicts for cost.usage.runs.import_job_rows."""
    for row in rows:
        yield {name: _plain(value) for name, value in row.items()}


# --- Errors ------------------------------------------------------------------------------------


def describe_jobs_error(error: Exception) -> str:
    """describe_error, with the advice that fits reading the job history."""
    described = describe_error(error, narrower="Pull fewer --days")
    if isinstance(error, GoogleAPICallError) and error.code == 403:
        return (
            f"{described} (reading INFORMATION_SCHEMA.JOBS_BY_PROJECT needs "
            "bigquery.jobs.listAll on the project, e.g. the BigQuery Resource Viewer role)"
        )
    return described


# --- What the command calls --------------------------------------------------------------------


def pull_jobs(
    *,
    project: str,
    region: str,
    days: int = JOBS_DEFAULT_DAYS,
    by: User | None = None,
    by_name: str = "",
    client: bigquery.Client | None = None,
    now: datetime.datetime | None = None,
) -> JobImportRun:
    """Read the project's jobs created since the last pull (the first pull: the last `days`
    days) from INFORMATION_SCHEMA.JOBS_BY_PROJECT and import them.

    Returns the succeeded JobImportRun; its `files` entry names the view and says where the
    pull started (`since`, `incremental`) and what BigQuery scanned. Raises PullFailed for
    a bad project, region or number of days (before anything is asked of Google or
    recorded), JobImportFailed with a failed run for anything else: nothing is stored then.
    """
    view = JobsView.parse(project, region)
    _check_days(days)
    now = now or timezone.now()
    since, incremental = jobs_since(view=view, days=days, now=now)
    sql = jobs_sql(project=view.project, region=view.region)
    config = query_config("jobs", [bigquery.ScalarQueryParameter("since", "TIMESTAMP", since)])
    source = {"name": str(view), "format": "bigquery", "since": since.isoformat(),
              "incremental": incremental}  # fmt: skip

    def failed(message: str) -> JobImportFailed:
        run = JobImportRun.objects.create(
            kind=JobImportRun.Kind.BIGQUERY, location=view.location, project_id=view.project,
            started_by=by, started_by_name=by_name, files=[source],
            status=JobImportRun.Status.FAILED, error=message, finished_at=timezone.now(),
        )  # fmt: skip
        return JobImportFailed(run)

    try:
        client = google.make_client(view.project) if client is None else client
        job = client.query(sql, job_config=config, location=view.location)
        rows = job.result()  # waits for the job: a refused or failed query raises here
    except (GoogleAPIError, GoogleAuthError) as error:
        raise failed(describe_jobs_error(error)) from error
    except Exception as error:  # a connection refused, a timeout: still a failed run
        raise failed(f"could not reach BigQuery: {error!r}") from error

    def describe(error: Exception) -> str:
        if isinstance(error, (GoogleAPIError, GoogleAuthError)):
            return describe_jobs_error(error)  # a page of rows could not be fetched
        return f"could not read or store the jobs: {error!r}"

    try:
        run = import_job_rows(
            job_rows(rows), location=view.location, project_id=view.project, source=str(view),
            by=by, by_name=by_name, today=now.date(), describe_error=describe,
        )  # fmt: skip
    except JobImportFailed as failure:
        _describe_source(failure.run, source, job)
        raise
    _describe_source(run, source, job)
    return run


def _describe_source(run: JobImportRun, source: dict, job: bigquery.QueryJob) -> None:
    run.files = [source | {"bytes_processed": job.total_bytes_processed or 0,
                           "bytes_billed": job.total_bytes_billed or 0}]  # fmt: skip
    run.save(update_fields=["files"])
