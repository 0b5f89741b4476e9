"""The Cloud Billing export in BigQuery -> daily facts. The only module that talks to Google.

BigQuery does the aggregation: one query groups the hourly rows into the same daily facts
cost/ingest.py makes from files, with credits unnested and summed per type, so only facts
cross the network. Which invoice months to read again is decided by a cheap query first:
per invoice month the newest `export_time` in the recent partitions, compared with the
watermark the source keeps from the last pull. A month that moved is read whole and stored
as a new version (cost.facts.store_facts); a month that did not move is not read at all.

`make_client` is the seam tests replace with a fake; the SQL, its parameters, the rows ->
facts conversion and the watermarks are ours and are tested for real.
"""

import datetime
import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.text import slugify
from google.api_core.exceptions import GoogleAPICallError, GoogleAPIError
from google.auth.exceptions import GoogleAuthError
from google.cloud import bigquery

from cost.facts import DailyFact, Labels
from cost.facts import fact_from_row as fact_from_query_row
from cost.imports import fail_run, finish_run, start_run
from cost.jobs import JobImportFailed, import_job_rows
from cost.models import INVOICE_MONTH, BigQueryJob, BillingSource, ImportRun, JobImportRun

# Google's rows for a day keep arriving for several days, and the last hours of a month
# are billed on the next invoice: 45 days always reaches back into the previous month.
DEFAULT_LOOKBACK_DAYS = 45
CAP_SETTING = "QUARTERDECK_BIGQUERY_MAX_BYTES_BILLED"

# Deliberately narrower than BigQuery allows (no spaces, no Unicode in table names, no
# wildcards or decorators): the name is the one thing spliced into the SQL, so it must
# not be able to carry a quote, a backtick or a second statement. Billing export tables
# are plain ASCII.
TABLE_NAME = re.compile(
    r"(?P<project>(?:[a-z0-9][a-z0-9.-]{0,62}:)?[a-z][a-z0-9-]{4,28}[a-z0-9])"
    r"\.(?P<dataset>[A-Za-z0-9_]{1,1024})"
    r"\.(?P<table>[A-Za-z0-9_-]{1,1024})",
    re.ASCII,
)


class PullFailed(Exception):
    """Nothing was stored; `run` is the failed ImportRun when one had started."""

    def __init__(self, message: str, run: ImportRun | None = None):
        super().__init__(message)
        self.run = run


@dataclass(frozen=True)
class ExportTable:
    project: str
    dataset: str
    table: str

    @classmethod
    def parse(cls, name: str) -> "ExportTable":
        match = TABLE_NAME.fullmatch(name or "")
        if match is None:
            shown = name if len(name or "") <= 120 else name[:120] + "…"
            raise PullFailed(
                f"{shown!r} is not a BigQuery table name: expected PROJECT.DATASET.TABLE "
                "(letters, digits, '_' and '-'; e.g. "
                "acme-billing.billing_export.gcp_billing_export_v1_01A2B3_C4D5E6_F7A8B9)"
            )
        return cls(**match.groupdict())

    def __str__(self) -> str:
        return f"{self.project}.{self.dataset}.{self.table}"

    @property
    def sql(self) -> str:
        return f"`{self}`"


# --- The seam ----------------------------------------------------------------------------


def make_client(project: str) -> bigquery.Client:
    """A client on the application default credentials; query jobs run (and are billed)
    in `project`."""
    return bigquery.Client(project=project)


# --- SQL ---------------------------------------------------------------------------------

# Rows still in the streaming buffer have no _PARTITIONTIME yet; reading them too means a
# row that lands there cannot hide behind a watermark set from rows already partitioned.
PARTITION_FILTER = "(_PARTITIONTIME >= @since OR _PARTITIONTIME IS NULL)"


def exact(column: str) -> str:
    """A FLOAT64 column as the decimal it was written as.

    CAST(FLOAT64 AS BIGNUMERIC) expands the binary value (5e-06 becomes
    0.0000049999999999999997737...), and CAST(FLOAT64 AS NUMERIC) rounds every row to
    nine places before summing. FLOAT64 -> STRING gives the shortest text that reads back
    as the same float (15 significant digits, 17 when needed): the same text `bq extract`
    writes into the files cost/ingest.py reads, so both paths sum the same decimals.
    """
    return f"CAST(CAST({column} AS STRING) AS BIGNUMERIC)"


def _sorted_pairs(column: str) -> str:
    # GROUP BY does not take ARRAY values everywhere; the JSON text of the sorted pairs is
    # an exact, groupable stand-in.
    return (
        "TO_JSON_STRING(ARRAY(SELECT AS STRUCT pair.key, IFNULL(pair.value, '') AS value "  # noqa: S608
        f"FROM UNNEST({column}) AS pair ORDER BY pair.key, IFNULL(pair.value, '')))"
    )


# (name, expression): what makes a fact; the same grouping as cost/ingest.py's query.
FACT_KEY = [
    ("invoice_month", "invoice.month"),
    ("usage_date", "DATE(usage_start_time, @time_zone)"),
    ("billing_account_id", "IFNULL(billing_account_id, '')"),
    ("project_id", "IFNULL(project.id, '')"),
    ("project_name", "IFNULL(project.name, '')"),
    ("project_number", "IFNULL(project.number, '')"),
    ("project_ancestry", "IFNULL(project.ancestry_numbers, '')"),
    ("service_id", "IFNULL(service.id, '')"),
    ("service_description", "IFNULL(service.description, '')"),
    ("sku_id", "IFNULL(sku.id, '')"),
    ("sku_description", "IFNULL(sku.description, '')"),
    ("location", "IFNULL(location.location, '')"),
    ("region", "IFNULL(location.region, '')"),
    ("cost_type", "IFNULL(NULLIF(cost_type, ''), 'regular')"),
    ("currency", "currency"),
    ("conversion_rate", exact("currency_conversion_rate")),
    ("labels_json", _sorted_pairs("labels")),
    ("project_labels_json", _sorted_pairs("project.labels")),
    ("is_correction", "(adjustment_info.id IS NOT NULL OR adjustment_info.type IS NOT NULL)"),
    ("usage_unit", "IFNULL(usage.unit, '')"),
    ("pricing_unit", "IFNULL(usage.pricing_unit, '')"),
]
AMOUNTS = [
    ("cost", "cost"),
    ("cost_at_list", "cost_at_list"),
    ("usage_amount", "usage.amount"),
    ("usage_in_pricing_units", "usage.amount_in_pricing_units"),
]


def export_times_sql(table: ExportTable) -> str:
    """Per invoice month, the newest export_time in the recent partitions: two small
    columns of the last weeks, so it costs next to nothing."""
    return f"""
SELECT invoice.month AS invoice_month, MAX(export_time) AS last_export_time
FROM {table.sql}
WHERE {PARTITION_FILTER}
GROUP BY invoice_month
ORDER BY invoice_month
"""  # noqa: S608 - the table name is validated by ExportTable.parse; values are parameters


def daily_facts_sql(table: ExportTable) -> str:
    """The export's rows of @months grouped into daily facts, credits summed per type."""
    rows = ",\n    ".join(
        [f"{expression} AS {name}" for name, expression in FACT_KEY]
        + [f"{exact(column)} AS {name}" for name, column in AMOUNTS]
        + [
            "export_time",
            "ARRAY(SELECT AS STRUCT IFNULL(credit.type, 'UNKNOWN') AS type, "  # noqa: S608
            f"{exact('credit.amount')} AS amount FROM UNNEST(credits) AS credit) AS credits",
        ]
    )
    keys = ", ".join(name for name, _expression in FACT_KEY)
    sums = ",\n    ".join(f"SUM({name}) AS {name}" for name, _column in AMOUNTS)
    return f"""
WITH export_rows AS (
  SELECT
    {rows}
  FROM {table.sql}
  WHERE invoice.month IN UNNEST(@months)
    AND {PARTITION_FILTER}
),
facts AS (
  SELECT
    {keys},
    {sums},
    COUNT(*) AS row_count,
    MAX(export_time) AS last_export_time,
    ARRAY_CONCAT_AGG(credits) AS credit_lines
  FROM export_rows
  GROUP BY {keys}
)
SELECT
  * EXCEPT (credit_lines),
  ARRAY(
    SELECT AS STRUCT credit.type, SUM(credit.amount) AS amount
    FROM UNNEST(credit_lines) AS credit
    GROUP BY credit.type
    ORDER BY credit.type
  ) AS credits
FROM facts
"""  # noqa: S608 - the table name is validated by ExportTable.parse; values are parameters


# --- Queries -----------------------------------------------------------------------------


def _cap() -> int | None:
    cap = settings.QUARTERDECK_BIGQUERY_MAX_BYTES_BILLED
    return cap or None


def _export_times_parameters(since: datetime.datetime) -> list:
    return [bigquery.ScalarQueryParameter("since", "TIMESTAMP", since)]


def _daily_facts_parameters(months: list[str]) -> list:
    return [
        bigquery.ArrayQueryParameter("months", "STRING", months),
        bigquery.ScalarQueryParameter(
            "time_zone", "STRING", settings.QUARTERDECK_BILLING_TIME_ZONE
        ),
        bigquery.ScalarQueryParameter("since", "TIMESTAMP", months_since(months)),
    ]


def _config(step: str, parameters: list, *, dry_run: bool = False) -> bigquery.QueryJobConfig:
    config = bigquery.QueryJobConfig(
        query_parameters=parameters,
        # The job history (INFORMATION_SCHEMA.JOBS) then says what these queries were for.
        labels={"application": "quarterdeck", "quarterdeck-step": step},
    )
    if dry_run:
        config.dry_run = True
        config.use_query_cache = False
    elif _cap() is not None:
        # Only when there is a cap: the client would send None as the string "None".
        config.maximum_bytes_billed = _cap()
    return config


@dataclass
class Scanned:
    processed: int = 0
    billed: int = 0

    def add(self, job: bigquery.QueryJob) -> None:
        self.processed += job.total_bytes_processed or 0
        self.billed += job.total_bytes_billed or 0


def _run(
    client: bigquery.Client, sql: str, config: bigquery.QueryJobConfig, scanned: Scanned
) -> list[Mapping[str, Any]]:
    job = client.query(sql, job_config=config)
    rows = list(job.result())
    scanned.add(job)
    return rows


# --- Months and watermarks -----------------------------------------------------------------


def months_since(months: list[str]) -> datetime.datetime:
    """Lower bound of _PARTITIONTIME for reading `months` whole: a month's rows are not
    ingested before the day before it starts (in UTC, which is earlier than the Pacific
    time invoices are cut on)."""
    first = min(months)
    start = datetime.datetime(int(first[:4]), int(first[4:]), 1, tzinfo=datetime.UTC)
    return start - datetime.timedelta(days=1)


def lookback_since(now: datetime.datetime, lookback_days: int) -> datetime.datetime:
    day = now.astimezone(datetime.UTC).date() - datetime.timedelta(days=lookback_days)
    return datetime.datetime.combine(day, datetime.time(0), datetime.UTC)


def lookback_months(now: datetime.datetime, lookback_days: int) -> list[str]:
    """The invoice months the lookback window touches (in the billing time zone)."""
    zone = ZoneInfo(settings.QUARTERDECK_BILLING_TIME_ZONE)
    day = lookback_since(now, lookback_days).astimezone(zone).date().replace(day=1)
    last = now.astimezone(zone).date()
    months = []
    while day <= last:
        months.append(f"{day:%Y%m}")
        day = (day + datetime.timedelta(days=32)).replace(day=1)
    return months


def _watermark(source: BillingSource, month: str) -> datetime.datetime | None:
    try:
        return datetime.datetime.fromisoformat(source.watermarks[month])
    except (KeyError, TypeError, ValueError):
        return None  # never pulled, or edited by hand: read the month again


def changed_months(source: BillingSource, export_times: Iterable[Mapping[str, Any]]) -> list[str]:
    """Months whose newest export_time is newer than what the last pull read."""
    changed = []
    for row in export_times:
        newest, seen = row["last_export_time"], _watermark(source, row["invoice_month"])
        if newest is not None and (seen is None or newest > seen):
            changed.append(row["invoice_month"])
    return sorted(changed)


def _advance_watermarks(source: BillingSource, facts: list[DailyFact]) -> None:
    newest: dict[str, datetime.datetime] = {}
    for fact in facts:
        if fact.last_export_time is not None:
            month = fact.invoice_month
            newest[month] = max(newest.get(month, fact.last_export_time), fact.last_export_time)
    if not newest:
        return
    # Locked and re-read: a pull running alongside must not lose its months.
    locked = BillingSource.objects.select_for_update().get(pk=source.pk)
    for month, moment in newest.items():
        seen = _watermark(locked, month)
        locked.watermarks[month] = max(moment, seen or moment).isoformat()
    locked.save(update_fields=["watermarks"])
    source.watermarks = locked.watermarks


def _check_months(months: list[str] | None) -> list[str] | None:
    if not months:
        return None
    bad = [month for month in months if not re.fullmatch(INVOICE_MONTH, month)]
    if bad:
        raise PullFailed(f"not an invoice month written YYYYMM: {', '.join(bad)}")
    return sorted(set(months))


def _check_lookback(lookback_days: int) -> None:
    if lookback_days < 1:
        raise PullFailed(f"--lookback-days must be at least 1, not {lookback_days}")


# --- Rows -> facts -------------------------------------------------------------------------


def _labels(text: str | None) -> Labels:
    # A missing key becomes "" here and is refused, with the fact named, when stored.
    pairs = json.loads(text or "[]")
    return tuple(sorted((pair["key"] or "", pair["value"] or "") for pair in pairs))


def fact_from_row(row: Mapping[str, Any]) -> DailyFact:
    return fact_from_query_row(
        row, labels=_labels(row["labels_json"]), project_labels=_labels(row["project_labels_json"])
    )


# --- Sources -------------------------------------------------------------------------------


def source_name_for(table: ExportTable) -> str:
    name = slugify(str(table).replace(".", "-").replace(":", "-"))
    if len(name) > 80:
        digest = hashlib.sha256(str(table).encode()).hexdigest()[:8]
        name = f"{name[:71]}-{digest}"
    return name


def _table_and_source(
    table_name: str | None, source_name: str | None, *, create: bool
) -> tuple[ExportTable, BillingSource | None]:
    """The export table and its BigQuery billing source (made when `create` and new)."""
    source = BillingSource.objects.filter(name=source_name).first() if source_name else None
    if not table_name:
        if source is None or not source.table:
            raise PullFailed("name the export table with --table PROJECT.DATASET.TABLE")
        table_name = source.table
    table = ExportTable.parse(table_name)
    name = source_name or source_name_for(table)
    if source is None:
        source = BillingSource.objects.filter(name=name).first()
    if source is not None and source.kind != BillingSource.Kind.BIGQUERY:
        raise PullFailed(f"source {name!r} is a {source.get_kind_display()} source, not a "
                         "BigQuery one: pick another --source name")  # fmt: skip
    if source is not None and source.table and source.table != str(table):
        # Two exports in one source would replace each other's months on every pull.
        raise PullFailed(f"source {name!r} reads {source.table}, not {table}: "
                         "one source per export table")  # fmt: skip
    if create and source is None:
        source = BillingSource.objects.create(
            name=name, kind=BillingSource.Kind.BIGQUERY, table=str(table)
        )
    elif create and not source.table:
        source.table = str(table)
        source.save(update_fields=["table"])
    return table, source


# --- Errors --------------------------------------------------------------------------------


def describe_error(
    error: Exception, *, narrower: str = "See the size with --dry-run; then pull fewer --months"
) -> str:
    """A Google error in words, with what to do; `narrower` says how to bill fewer bytes."""
    if isinstance(error, GoogleAuthError):
        return (
            f"no usable Google credentials ({error}); run `gcloud auth application-default "
            "login` or set GOOGLE_APPLICATION_CREDENTIALS to a service account key"
        )
    if isinstance(error, GoogleAPICallError):
        reasons = {
            detail.get("reason") for detail in error.errors or [] if isinstance(detail, dict)
        }
        if "bytesBilledLimitExceeded" in reasons or "bytes billed" in error.message.lower():
            cap = f"{_cap():,} bytes" if _cap() else "the limit"
            return (
                f"BigQuery refused the query: it would bill more than {cap} ({CAP_SETTING}): "
                f"{error.message.rstrip('.')}. {narrower} "
                "or raise the cap"
            )
        return f"BigQuery error {error.code}: {error.message}"
    return f"BigQuery error: {error}"


# --- What the command calls ----------------------------------------------------------------


@dataclass
class Pull:
    run: ImportRun
    table: ExportTable
    checked: list[str] = field(default_factory=list)  # months seen in the lookback window
    pulled: list[str] = field(default_factory=list)
    forced: bool = False
    bytes_billed: int = 0


@dataclass
class Estimate:
    table: ExportTable
    months: list[str]
    export_times_bytes: int | None  # None when --months made the first query unnecessary
    daily_facts_bytes: int
    cap: int | None


def pull_billing(
    *,
    table: str | None,
    source_name: str | None = None,
    months: list[str] | None = None,
    lookback_days: int = DEFAULT_LOOKBACK_DAYS,
    project: str | None = None,
    by: AbstractBaseUser | None = None,
    by_name: str = "",
    now: datetime.datetime | None = None,
) -> Pull:
    """Pull the invoice months that changed since the last pull (or exactly `months`)
    from the export table into its billing source; raise PullFailed if anything fails."""
    forced = _check_months(months)
    _check_lookback(lookback_days)
    export, source = _table_and_source(table, source_name, create=True)
    now = now or timezone.now()
    run = start_run(source=source, by=by, by_name=by_name,
                     files=[{"name": str(export), "format": "bigquery"}])  # fmt: skip
    pull = Pull(run=run, table=export, forced=forced is not None)
    scanned = Scanned()
    try:
        client = make_client(project or export.project)
        if forced:
            pull.pulled = forced
        else:
            since = lookback_since(now, lookback_days)
            config = _config("export-times", _export_times_parameters(since))
            times = _run(client, export_times_sql(export), config, scanned)
            pull.checked = sorted(row["invoice_month"] for row in times)
            pull.pulled = changed_months(source, times)
        facts = []
        if pull.pulled:
            config = _config("daily-facts", _daily_facts_parameters(pull.pulled))
            rows = _run(client, daily_facts_sql(export), config, scanned)
            facts = [fact_from_row(row) for row in rows]
    except (GoogleAPIError, GoogleAuthError) as error:
        raise _failed(run, describe_error(error)) from error
    except Exception as error:
        raise _failed(run, f"could not read the query results: {error!r}") from error
    except BaseException:
        fail_run(run, "interrupted")
        raise
    pull.bytes_billed = scanned.billed
    run.files = [{"name": str(export), "format": "bigquery", "months": pull.pulled}]
    try:
        # The watermarks move with the facts or not at all: a failed store leaves them
        # where they were, so the next pull reads the same months again.
        with transaction.atomic():
            finish_run(run=run, facts=facts, rows_read=sum(f.row_count for f in facts),
                       bytes_read=scanned.processed)  # fmt: skip
            _advance_watermarks(source, facts)
    except Exception as error:
        raise _failed(run, f"could not store the facts: {error}") from error
    except BaseException:
        fail_run(run, "interrupted")
        raise
    return pull


def _failed(run: ImportRun, message: str) -> PullFailed:
    fail_run(run, message)
    return PullFailed(message, run)


def estimate_pull(
    *,
    table: str | None,
    source_name: str | None = None,
    months: list[str] | None = None,
    lookback_days: int = DEFAULT_LOOKBACK_DAYS,
    project: str | None = None,
    now: datetime.datetime | None = None,
) -> Estimate:
    """Dry runs of the queries a pull would make: bytes they would process, nothing billed,
    nothing written. Without `months`, every month the lookback window touches is counted,
    the most a pull could read."""
    forced = _check_months(months)
    _check_lookback(lookback_days)
    export, _source = _table_and_source(table, source_name, create=False)
    now = now or timezone.now()
    chosen = forced or lookback_months(now, lookback_days)
    scanned_times, scanned_facts = Scanned(), Scanned()
    try:
        client = make_client(project or export.project)
        if not forced:
            since = lookback_since(now, lookback_days)
            config = _config("export-times", _export_times_parameters(since), dry_run=True)
            # A dry run's job carries its statistics at once; there is no result to wait for.
            scanned_times.add(client.query(export_times_sql(export), job_config=config))
        config = _config("daily-facts", _daily_facts_parameters(chosen), dry_run=True)
        scanned_facts.add(client.query(daily_facts_sql(export), job_config=config))
    except (GoogleAPIError, GoogleAuthError) as error:
        raise PullFailed(describe_error(error)) from error
    return Estimate(
        table=export,
        months=chosen,
        export_times_bytes=None if forced else scanned_times.processed,
        daily_facts_bytes=scanned_facts.processed,
        cap=_cap(),
    )


# --- Job history: INFORMATION_SCHEMA.JOBS_BY_PROJECT -----------------------------------------
#
# `pull_jobs` reads the jobs created since the last pull and hands them, as the same dicts a
# JSON export of JOBS holds, to cost.jobs.import_job_rows: every check, the pricing, the
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

# Exactly what cost.jobs.parse_job reads.
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
    3339 text (what cost.ingest.parse_timestamp reads), INT64 stay ints."""
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
    """The query's Rows, one at a time, as plain dicts for cost.jobs.import_job_rows."""
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
    by: AbstractBaseUser | None = None,
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
    config = _config("jobs", [bigquery.ScalarQueryParameter("since", "TIMESTAMP", since)])
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
        client = make_client(view.project) if client is None else client
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
