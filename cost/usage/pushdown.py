"""The job history summed in BigQuery: INFORMATION_SCHEMA.JOBS -> the daily usage rows
(`JobUsageDay`) and the table sets they point at, with only those rows crossing the
network. `pull_usage` is the organisation-scale alternative to `pull_jobs`, which copies
every job row.

The SQL reproduces the file import exactly (cost.usage.runs.rebuild_usage_days over the
jobs cost.usage.jobs.parse_job and price_job make): QUERY jobs only, SCRIPT parents left
out and their children counted; the user is `user_email`, else what follows the colon of
`principal_subject`, cut at 320 characters; a job's table set is the set of its distinct
referenced tables; the allocated cost of each job is rounded to a USD billionth half to
even before it is summed, in exact integer arithmetic (BIGNUMERIC), as price_job does in
Decimal. tests/cost/usage/test_pushdown.py runs this SQL on DuckDB and compares it with
the file import.

Values only ever reach the SQL as query parameters (@start, @end, @projects, the prices);
the project ids and the region are identifiers, checked against strict patterns
(cost.usage.pull.PROJECT_ID, REGION) before they are put in the FROM clause.

A daily row names its table set by `table_key`: the set's tables as
`project<US>dataset<US>table`, sorted and joined by <RS> (the ASCII unit and record
separators). BigQuery names cannot hold control characters, so the key is the member
list itself: `table_names` reads it back.
"""

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from google.cloud import bigquery

from cost.billing.pull import PullFailed
from cost.usage.jobs import (
    FREE_POOL,
    TABLE_PART_LENGTHS,
    TableName,
    region_key,
)
from cost.usage.pull import (
    JOBS_COLUMNS,
    PROJECT_ID,
    REGION,
)

UNIT = "\x1f"  # between the parts of a table name in a table_key
RECORD = "\x1e"  # between the tables of a table_key
NANOS = 10**9
TIB = 2**40
SLOT_MS_PER_HOUR = 3_600_000
LONGEST_USER = 320  # JobUser.email, as parse_job cuts it
LONGEST_RESERVATION = 256  # BigQueryJob.reservation_id, as parse_job cuts it

# The daily usage rows, in the order the query returns them.
USAGE_COLUMNS = (
    "day", "project_id", "user_email", "is_service_account", "table_key", "queries",
    "cache_hits", "bytes_processed", "bytes_billed", "slot_ms", "cost_nanos", "last_seen",
)  # fmt: skip
# What the usage needs of a job; --keep-jobs reads every column parse_job reads.
USAGE_INPUTS = (
    "creation_time", "project_id", "job_id", "user_email", "principal_subject", "job_type",
    "statement_type", "cache_hit", "total_bytes_processed", "total_bytes_billed",
    "total_slot_ms", "referenced_tables", "reservation_id",
)  # fmt: skip


@dataclass(frozen=True)
class UsageSource:
    """Where the jobs are read: the organisation's JOBS_BY_ORGANIZATION view of a region
    (no projects), or the JOBS_BY_PROJECT views of a few projects. Validated."""

    region: str  # always `region-<location>`, lower case
    projects: tuple[str, ...] = ()

    @classmethod
    def parse(cls, region: str, projects: Sequence[str] = ()) -> "UsageSource":
        match = REGION.fullmatch((region or "").strip().lower())
        if match is None:
            shown = region if len(region or "") <= 80 else region[:80] + "…"
            raise PullFailed(
                f"{shown!r} is not a BigQuery region: expected e.g. region-us, region-eu or "
                "region-asia-northeast1 (us and US mean region-us)"
            )
        for project in projects:
            if not PROJECT_ID.fullmatch(project or ""):
                shown = project if len(project or "") <= 80 else project[:80] + "…"
                raise PullFailed(
                    f"{shown!r} is not a Google Cloud project id: expected 6 to 30 lower-case "
                    "letters, digits and '-', starting with a letter (e.g. acme-analytics)"
                )
        return cls(region=f"region-{match['location']}", projects=tuple(sorted(set(projects))))

    @property
    def location(self) -> str:
        """As BigQuery writes it (US, EU, asia-northeast1): where the query runs, and the
        `location` of the runs, usage rows and jobs it stores (as pull_jobs)."""
        location = self.region.removeprefix("region-")
        return location if "-" in location else location.upper()

    @property
    def organisation_wide(self) -> bool:
        return not self.projects

    def views(self) -> list[str]:
        if self.organisation_wide:
            return [f"`{self.region}`.INFORMATION_SCHEMA.JOBS_BY_ORGANIZATION"]
        return [f"`{p}`.`{self.region}`.INFORMATION_SCHEMA.JOBS_BY_PROJECT" for p in self.projects]

    def __str__(self) -> str:
        return ", ".join(view.replace("`", "") for view in self.views())


# --- The SQL ---------------------------------------------------------------------------


def _jobs_cte(source: UsageSource, columns: Sequence[str]) -> str:
    """The QUERY jobs created in [@start, @end), SCRIPT parents left out, with their cost.
    JOBS is partitioned by creation_time, so only those days are scanned."""
    selected = ", ".join(columns)
    parts = [
        f"SELECT {selected} FROM {view} "  # noqa: S608 - validated identifiers, as usage_sql
        "WHERE creation_time >= @start AND creation_time < @end"
        for view in source.views()
    ]
    union = "\n    UNION ALL\n    ".join(parts)
    only = "" if source.organisation_wide else "\n    AND j.project_id IN UNNEST(@projects)"
    return f"""reservation_prices AS (
  -- QUARTERDECK_BQ_RESERVATION_EDITIONS x QUARTERDECK_BQ_SLOT_HOUR_PRICE, per reservation.
  SELECT reservation, @reservation_prices[OFFSET(n)] AS price_nanos
  FROM UNNEST(@reservations) AS reservation WITH OFFSET AS n
),
jobs AS (
  SELECT
    j.*,
    SUBSTR(COALESCE(NULLIF(j.user_email, ''),
                    NULLIF(SUBSTR(IFNULL(j.principal_subject, ''),
                                  STRPOS(IFNULL(j.principal_subject, ''), ':') + 1), ''),
                    j.principal_subject), 1, {LONGEST_USER}) AS user_name,
    STARTS_WITH(IFNULL(j.principal_subject, ''), 'serviceAccount:')
      OR ENDS_WITH(COALESCE(NULLIF(j.user_email, ''),
                            NULLIF(SUBSTR(IFNULL(j.principal_subject, ''),
                                          STRPOS(IFNULL(j.principal_subject, ''), ':') + 1), ''),
                            j.principal_subject, ''), '.gserviceaccount.com') AS robot,
    (SELECT STRING_AGG(DISTINCT CONCAT(t.project_id, '\\x1f', t.dataset_id, '\\x1f', t.table_id),
                       '\\x1e'
                       ORDER BY CONCAT(t.project_id, '\\x1f', t.dataset_id, '\\x1f', t.table_id))
     FROM UNNEST(j.referenced_tables) AS t) AS table_key,
    -- On a reservation (not the free pool): slot-ms x the edition's slot-hour price;
    -- otherwise bytes billed x the region's price per TiB. Numerator and divisor of the
    -- cost in USD billionths, exact.
    IF(IFNULL(j.reservation_id, '') != ''
         AND LOWER(SUBSTR(j.reservation_id, 1, {LONGEST_RESERVATION})) != '{FREE_POOL}',
       CAST(IFNULL(j.total_slot_ms, 0) AS BIGNUMERIC(38, 0))
         * IFNULL(p.price_nanos, @slot_price_nanos),
       CAST(IFNULL(j.total_bytes_billed, 0) AS BIGNUMERIC(38, 0))
         * @tib_price_nanos) AS cost_numerator,
    IF(IFNULL(j.reservation_id, '') != ''
         AND LOWER(SUBSTR(j.reservation_id, 1, {LONGEST_RESERVATION})) != '{FREE_POOL}',
       {SLOT_MS_PER_HOUR}, {TIB}) AS cost_divisor
  FROM (
    {union}
  ) AS j
  LEFT JOIN reservation_prices AS p
    ON p.reservation = LOWER(SUBSTR(j.reservation_id, 1, {LONGEST_RESERVATION}))
  WHERE j.job_type = 'QUERY' AND IFNULL(j.statement_type, '') != 'SCRIPT'{only}
),
priced AS (
  -- Rounded half to even, as price_job's Decimal quantize.
  SELECT
    jobs.*,
    CAST(DIV(cost_numerator, cost_divisor)
         + IF(2 * MOD(cost_numerator, cost_divisor) > cost_divisor
                OR (2 * MOD(cost_numerator, cost_divisor) = cost_divisor
                    AND MOD(DIV(cost_numerator, cost_divisor), 2) = 1), 1, 0)
         AS INT64) AS cost_nanos
  FROM jobs
)"""  # noqa: S608 - as usage_sql


def usage_sql(source: UsageSource) -> str:
    """The daily usage rows (USAGE_COLUMNS) of the jobs created in [@start, @end)."""
    return f"""WITH {_jobs_cte(source, USAGE_INPUTS)}
SELECT
  DATE(creation_time) AS day,
  project_id,
  user_name AS user_email,
  LOGICAL_OR(robot) AS is_service_account,
  table_key,
  COUNT(*) AS queries,
  COUNTIF(IFNULL(cache_hit, FALSE)) AS cache_hits,
  SUM(IFNULL(total_bytes_processed, 0)) AS bytes_processed,
  SUM(IFNULL(total_bytes_billed, 0)) AS bytes_billed,
  SUM(IFNULL(total_slot_ms, 0)) AS slot_ms,
  SUM(cost_nanos) AS cost_nanos,
  MAX(creation_time) AS last_seen
FROM priced
GROUP BY day, project_id, user_name, table_key
ORDER BY day, project_id, user_name, table_key
"""  # noqa: S608 - the views are validated identifiers (UsageSource.parse); values are parameters


def kept_jobs_sql(source: UsageSource) -> str:
    """The @keep most expensive jobs of each UTC day (those the usage counts), with the
    columns parse_job reads. JOBS_BY_ORGANIZATION has no query text: none is read there."""
    columns = [c for c in JOBS_COLUMNS if c != "query" or not source.organisation_wide]
    query = "" if "query" in columns else "CAST(NULL AS STRING) AS query, "
    listed = ", ".join(columns)
    return f"""WITH {_jobs_cte(source, columns)}
SELECT {query}{listed}
FROM priced
WHERE TRUE
QUALIFY ROW_NUMBER() OVER (
  PARTITION BY DATE(creation_time) ORDER BY cost_nanos DESC, project_id, job_id) <= @keep
ORDER BY creation_time, project_id, job_id
"""  # noqa: S608 - as usage_sql


# --- The parameters ---------------------------------------------------------------------


def _nanos(price: Decimal, setting: str) -> int:
    nanos = Decimal(price) * NANOS
    if nanos != nanos.to_integral_value():
        raise PullFailed(
            f"{setting}: the price {price} has more than 9 decimal places, which the job "
            "history cannot allocate exactly"
        )
    return int(nanos)


@dataclass(frozen=True)
class Prices:
    """The list prices price_job uses, in USD billionths, for one region."""

    tib: int
    slot_default: int
    reservations: tuple[tuple[str, int], ...]

    @classmethod
    def for_location(cls, location: str) -> "Prices":
        per_tib = settings.QUARTERDECK_BQ_PRICE_PER_TIB
        slot_hour = settings.QUARTERDECK_BQ_SLOT_HOUR_PRICE
        editions = settings.QUARTERDECK_BQ_RESERVATION_EDITIONS

        def slot(edition: str) -> int:
            price = slot_hour.get(edition, slot_hour["*"])
            return _nanos(price, "QUARTERDECK_BQ_SLOT_HOUR_PRICE")

        return cls(
            tib=_nanos(per_tib.get(region_key(location), per_tib["*"]),
                       "QUARTERDECK_BQ_PRICE_PER_TIB"),
            slot_default=slot(editions["*"]),
            reservations=tuple(sorted((reservation, slot(edition))
                                      for reservation, edition in editions.items()
                                      if reservation != "*")),
        )  # fmt: skip


def usage_parameters(
    *,
    source: UsageSource,
    start: datetime.datetime,
    end: datetime.datetime,
    keep: int | None = None,
) -> list[bigquery.ScalarQueryParameter | bigquery.ArrayQueryParameter]:
    prices = Prices.for_location(source.location)
    parameters: list[bigquery.ScalarQueryParameter | bigquery.ArrayQueryParameter] = [
        bigquery.ScalarQueryParameter("start", "TIMESTAMP", start),
        bigquery.ScalarQueryParameter("end", "TIMESTAMP", end),
        bigquery.ScalarQueryParameter("tib_price_nanos", "INT64", prices.tib),
        bigquery.ScalarQueryParameter("slot_price_nanos", "INT64", prices.slot_default),
        bigquery.ArrayQueryParameter("reservations", "STRING",
                                     [name for name, _price in prices.reservations]),
        bigquery.ArrayQueryParameter("reservation_prices", "INT64",
                                     [price for _name, price in prices.reservations]),
    ]  # fmt: skip
    if not source.organisation_wide:
        parameters.append(bigquery.ArrayQueryParameter("projects", "STRING", source.projects))
    if keep is not None:
        parameters.append(bigquery.ScalarQueryParameter("keep", "INT64", keep))
    return parameters


# --- Reading the rows back ------------------------------------------------------------------


class BadUsageRow(Exception):
    pass


def table_names(key: str) -> tuple[TableName, ...]:
    """A table_key -> its tables, checked as parse_job checks referenced_tables."""
    tables = []
    for number, record in enumerate(key.split(RECORD), start=1):
        parts = record.split(UNIT)
        if len(parts) != 3 or not all(parts):
            raise BadUsageRow(f"table {number} of a table set is not project.dataset.table")
        for part, text in zip(TABLE_PART_LENGTHS, parts, strict=True):
            if len(text) > TABLE_PART_LENGTHS[part]:
                raise BadUsageRow(
                    f"{part} {text[:40]!r}… is longer than {TABLE_PART_LENGTHS[part]} characters"
                )
        tables.append(TableName(*parts))
    return tuple(tables)


@dataclass(frozen=True)
class UsageRow:
    """One daily usage row as BigQuery summed it."""

    day: datetime.date
    project_id: str
    user_email: str
    is_service_account: bool
    tables: tuple[TableName, ...]
    queries: int
    cache_hits: int
    bytes_processed: int
    bytes_billed: int
    slot_ms: int
    cost_nanos: int
    last_seen: datetime.datetime

    @classmethod
    def read(cls, row: Mapping[str, Any]) -> "UsageRow":
        user = row["user_email"]
        if not user:
            raise BadUsageRow(
                f"jobs of {row['project_id']} on {row['day']} have neither user_email nor "
                "principal_subject"
            )
        if len(row["project_id"] or "") > 128:
            raise BadUsageRow(f"project {row['project_id'][:40]!r}… is longer than 128 characters")
        last_seen = row["last_seen"]
        if last_seen.tzinfo is None:  # the client gives UTC; a naive time can only mean UTC
            last_seen = last_seen.replace(tzinfo=datetime.UTC)
        return cls(
            day=row["day"], project_id=row["project_id"], user_email=user,
            is_service_account=bool(row["is_service_account"]),
            tables=table_names(row["table_key"]) if row["table_key"] else (),
            queries=int(row["queries"]), cache_hits=int(row["cache_hits"]),
            bytes_processed=int(row["bytes_processed"]), bytes_billed=int(row["bytes_billed"]),
            slot_ms=int(row["slot_ms"]), cost_nanos=int(row["cost_nanos"]),
            last_seen=last_seen.astimezone(datetime.UTC),
        )  # fmt: skip
