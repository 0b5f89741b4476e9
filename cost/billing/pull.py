"""The Cloud Billing export in BigQuery -> daily facts (Google is reached through cost.google).

BigQuery does the aggregation: one query groups the hourly rows into the same daily facts
cost/billing/files.py makes from files, with credits unnested and summed per type, so only facts
cross the network. Which invoice months to read again is decided by a cheap query first:
per invoice month the newest `export_time` in the recent partitions, compared with the
watermark the source keeps from the last pull. A month that moved is read whole and stored
as a new version (cost.billing.facts.store_facts); a month that did not move is not read at all.

`make_client` is the seam tests replace with a fake; the SQL, its parameters, the rows ->
facts conversion and the watermarks are ours and are tested for real.
"""

import datetime
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, overload
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from google.api_core.exceptions import GoogleAPIError
from google.auth.exceptions import GoogleAuthError
from google.cloud import bigquery

from core.times import TimeWindow, data_window
from cost import google
from cost.billing import shapes
from cost.billing.facts import DailyFact, Labels, fold_resources
from cost.billing.facts import fact_from_row as fact_from_query_row
from cost.billing.runs import fail_run, finish_run, holding, start_run
from cost.google import Scanned, byte_cap, describe_error, query_config, run_query
from cost.models import INVOICE_MONTH, BillingSource, ImportRun
from cost.models.billing import OTHER_RESOURCES, RESOURCE_LENGTH

# Google's rows for a day keep arriving for several days, and the last hours of a month
# are billed on the next invoice: 45 days always reaches back into the previous month.
DEFAULT_LOOKBACK_DAYS = 45

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
    writes into the files cost/billing/files.py reads, so both paths sum the same decimals.
    """
    return f"CAST(CAST({column} AS STRING) AS BIGNUMERIC)"


def _sorted_pairs(column: str) -> str:
    # GROUP BY does not take ARRAY values everywhere; the JSON text of the sorted pairs is
    # an exact, groupable stand-in.
    return (
        "TO_JSON_STRING(ARRAY(SELECT AS STRUCT pair.key, IFNULL(pair.value, '') AS value "  # noqa: S608
        f"FROM UNNEST({column}) AS pair ORDER BY pair.key, IFNULL(pair.value, '')))"
    )


# (name, expression): what makes a fact; the same grouping as cost/billing/files.py's query.
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
# The rows of a fact with a time no real export holds (core.times): the file import
# refuses such a row, and a pull refuses the fact (`_check_window`).
OUTSIDE_WINDOW = " OR ".join(
    f"{column} NOT BETWEEN @earliest AND @latest"
    for column in ("usage_start_time", "usage_end_time", "export_time")
)


# A FOCUS export's columns as the standard export's fields, with the rules of
# cost.billing.shapes (the mapping and its documentation page are described there):
# the cost before credits is BilledCost minus the credits, the invoice month is
# BillingPeriodStart's month on Pacific time, and so on.
FOCUS_AS_STANDARD = f"""
  SELECT
    BillingAccountId AS billing_account_id,
    STRUCT(x_ServiceId AS id, ServiceName AS description) AS service,
    STRUCT(IFNULL(NULLIF(SkuId, ''), '{shapes.NO_SKU}') AS id,
           ChargeDescription AS description) AS sku,
    ChargePeriodStart AS usage_start_time,
    ChargePeriodEnd AS usage_end_time,
    STRUCT(x_Project.Id AS id, x_Project.Number AS number, x_Project.Name AS name,
           x_Project.AncestryNumbers AS ancestry_numbers,
           ARRAY(SELECT AS STRUCT pair.Key AS key, pair.Value AS value
                 FROM UNNEST(x_ProjectLabels) AS pair) AS labels) AS project,
    ARRAY(SELECT AS STRUCT pair.Key AS key, pair.Value AS value
          FROM UNNEST(x_Labels) AS pair) AS labels,
    STRUCT(x_Location AS location, RegionId AS region) AS location,
    STRUCT(ResourceName AS name, ResourceId AS global_name) AS resource,
    x_ExportTime AS export_time,
    BilledCost - IFNULL((SELECT SUM(credit.Amount) FROM UNNEST(x_Credits) AS credit), 0)
      AS cost,
    BillingCurrency AS currency,
    x_CurrencyConversionRate AS currency_conversion_rate,
    STRUCT(ConsumedQuantity AS amount, ConsumedUnit AS unit,
           PricingQuantity AS amount_in_pricing_units, PricingUnit AS pricing_unit) AS usage,
    ARRAY(SELECT AS STRUCT credit.Type AS type, credit.Amount AS amount
          FROM UNNEST(x_Credits) AS credit) AS credits,
    STRUCT(FORMAT_TIMESTAMP('%Y%m', BillingPeriodStart, '{shapes.INVOICE_ZONE.key}')
           AS month) AS invoice,
    IFNULL(NULLIF(x_CostType, ''),
           IF(LOWER(ChargeCategory) = 'usage', 'regular', LOWER(ChargeCategory))) AS cost_type,
    ListCost AS cost_at_list,
    STRUCT(CAST(NULL AS STRING) AS id,
           IF(LOWER(ChargeClass) = 'correction', 'CORRECTION', NULL) AS type) AS adjustment_info
"""  # noqa: S608 - constant text


def _rows_of(table: ExportTable, shape: str) -> tuple[str, str]:
    """(FROM clause, partition condition) reading the export's rows as standard rows."""
    if shape == shapes.FOCUS:
        return f"(\n{FOCUS_AS_STANDARD}  FROM {table.sql}\n  WHERE {PARTITION_FILTER}\n)", "TRUE"
    return table.sql, PARTITION_FILTER


# A fact's resource (detailed and FOCUS exports): the global name (unique), else the name.
RESOURCE = (
    "SUBSTR(IFNULL(COALESCE(NULLIF(resource.global_name, ''), NULLIF(resource.name, '')), ''), "
    f"1, {RESOURCE_LENGTH})"
)


# Per invoice month, day, billing account and SKU, the @resources_per_sku resources of
# the highest cost (ties: by name) keep their name and the others become "(other)": the
# rule of cost.billing.facts.fold_resources, run in BigQuery so that only bounded facts
# cross the network.
RESOURCE_GROUP = "invoice_month, usage_date, billing_account_id, sku_id"
RESOURCE_RANKS = f"""
resource_costs AS (
  SELECT {RESOURCE_GROUP}, resource, SUM(cost) AS resource_cost
  FROM export_rows
  WHERE resource != '' AND resource != '{OTHER_RESOURCES}'
  GROUP BY {RESOURCE_GROUP}, resource
),
kept_resources AS (
  SELECT {RESOURCE_GROUP}, resource
  FROM (
    SELECT {RESOURCE_GROUP}, resource,
      ROW_NUMBER() OVER (PARTITION BY {RESOURCE_GROUP}
                         ORDER BY resource_cost DESC, resource) AS position
    FROM resource_costs
  )
  WHERE position <= @resources_per_sku
),
folded_rows AS (
  SELECT export_rows.* REPLACE (
    IF(export_rows.resource = '' OR kept.resource IS NOT NULL, export_rows.resource,
       '{OTHER_RESOURCES}') AS resource)
  FROM export_rows
  LEFT JOIN kept_resources AS kept
    USING ({RESOURCE_GROUP}, resource)
),"""  # noqa: S608 - constant text


def export_times_sql(table: ExportTable, shape: str = shapes.STANDARD) -> str:
    """Per invoice month, the newest export_time in the recent partitions: two small
    columns of the last weeks, so it costs next to nothing."""
    rows, partitions = _rows_of(table, shape)
    return f"""
SELECT invoice.month AS invoice_month, MAX(export_time) AS last_export_time
FROM {rows}
WHERE {partitions}
GROUP BY invoice_month
ORDER BY invoice_month
"""  # noqa: S608 - the table name is validated by ExportTable.parse; values are parameters


def daily_facts_sql(table: ExportTable, shape: str = shapes.STANDARD) -> str:
    """The export's rows of @months grouped into daily facts, credits summed per type
    (and, for a detailed or FOCUS export, by resource, folded to @resources_per_sku per
    day and SKU)."""
    fact_key = FACT_KEY
    if shape != shapes.STANDARD:
        fact_key = [*FACT_KEY, ("resource", RESOURCE)]
    rows = ",\n    ".join(
        [f"{expression} AS {name}" for name, expression in fact_key]
        + [f"{exact(column)} AS {name}" for name, column in AMOUNTS]
        + [
            "export_time",
            f"IFNULL({OUTSIDE_WINDOW}, FALSE) AS outside_window",
            "ARRAY(SELECT AS STRUCT IFNULL(credit.type, 'UNKNOWN') AS type, "  # noqa: S608
            f"{exact('credit.amount')} AS amount FROM UNNEST(credits) AS credit) AS credits",
        ]
    )
    keys = ", ".join(name for name, _expression in fact_key)
    sums = ",\n    ".join(f"SUM({name}) AS {name}" for name, _column in AMOUNTS)
    source, partitions = _rows_of(table, shape)
    folding, grouped = ("", "export_rows") if shape == shapes.STANDARD else (
        RESOURCE_RANKS, "folded_rows"
    )  # fmt: skip
    return f"""
WITH export_rows AS (
  SELECT
    {rows}
  FROM {source}
  WHERE invoice.month IN UNNEST(@months)
    AND {partitions}
),{folding}
facts AS (
  SELECT
    {keys},
    {sums},
    COUNT(*) AS row_count,
    COUNTIF(outside_window) AS rows_outside_window,
    MAX(export_time) AS last_export_time,
    ARRAY_CONCAT_AGG(credits) AS credit_lines
  FROM {grouped}
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


def _export_times_parameters(since: datetime.datetime) -> list:
    return [bigquery.ScalarQueryParameter("since", "TIMESTAMP", since)]


def _daily_facts_parameters(
    months: list[str], window: TimeWindow, shape: str = shapes.STANDARD
) -> list:
    resources = []
    if shape != shapes.STANDARD:
        resources = [bigquery.ScalarQueryParameter(
            "resources_per_sku", "INT64", settings.QUARTERDECK_RESOURCES_PER_SKU
        )]  # fmt: skip
    return [
        *resources,
        bigquery.ArrayQueryParameter("months", "STRING", months),
        bigquery.ScalarQueryParameter(
            "time_zone", "STRING", settings.QUARTERDECK_BILLING_TIME_ZONE
        ),
        bigquery.ScalarQueryParameter("since", "TIMESTAMP", months_since(months)),
        bigquery.ScalarQueryParameter("earliest", "TIMESTAMP", window.earliest),
        bigquery.ScalarQueryParameter("latest", "TIMESTAMP", window.latest),
    ]


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


def _check_months(months: list[str] | None, window: TimeWindow) -> list[str] | None:
    if not months:
        return None
    bad = [month for month in months if not re.fullmatch(INVOICE_MONTH, month)]
    if bad:
        raise PullFailed(f"not an invoice month written YYYYMM: {', '.join(bad)}")
    outside = [month for month in months if not window.holds_month(month)]
    if outside:
        raise PullFailed(
            _("invoice months outside %(first)s to %(last)s: %(months)s")
            % {"first": window.first_month, "last": window.last_month,
               "months": ", ".join(outside)}
        )  # fmt: skip
    return sorted(set(months))


def _check_lookback(lookback_days: int) -> None:
    if lookback_days < 1:
        raise PullFailed(f"--lookback-days must be at least 1, not {lookback_days}")


# --- Rows -> facts -------------------------------------------------------------------------


def _labels(text: str | None) -> Labels:
    # A missing key becomes "" here and is refused, with the fact named, when stored.
    pairs = json.loads(text or "[]")
    return tuple(sorted((pair["key"] or "", pair["value"] or "") for pair in pairs))


class OutsideWindow(ValueError):
    """A fact whose month or rows no real export holds; the message says which."""


def _check_window(row: Mapping[str, Any], window: TimeWindow) -> None:
    """The file import's rule on times (core.times), for a fact BigQuery summed: its
    invoice month and every one of its rows' usage and export times inside `window`."""
    where = " ".join(str(row[name]) for name in ("invoice_month", "usage_date", "project_id",
                                                  "sku_description"))  # fmt: skip
    if not window.holds_month(row["invoice_month"]):
        raise OutsideWindow(
            _("%(where)s: invoice.month %(problem)s")
            % {"where": where, "problem": window.outside(row["invoice_month"])}
        )
    if row["rows_outside_window"]:
        raise OutsideWindow(
            _("%(where)s: %(count)s export row(s) with a usage_start_time, usage_end_time or "
              "export_time outside %(window)s, which no real export holds")
            % {"where": where, "count": row["rows_outside_window"], "window": window.shown()}
        )  # fmt: skip


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


@overload
def _table_and_source(
    table_name: str | None, source_name: str | None, *, create: Literal[True]
) -> tuple[ExportTable, BillingSource]: ...
@overload
def _table_and_source(
    table_name: str | None, source_name: str | None, *, create: bool
) -> tuple[ExportTable, BillingSource | None]: ...
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
    elif create and source is not None and not source.table:
        source.table = str(table)
        source.save(update_fields=["table"])
    return table, source


def _shape(table: ExportTable, source: BillingSource | None, given: str | None) -> str:
    """The export's shape: as given, else the source's, else what Google's table name
    says (gcp_billing_export_resource_v1_..., gcp_billing_export_focus_...), else standard."""
    if given is not None:
        if given not in shapes.SHAPES:
            raise PullFailed(f"--shape must be one of {', '.join(shapes.SHAPES)}, not {given!r}")
        return given
    if source is not None and source.table:
        return source.shape
    return shapes.shape_of_table(str(table)) or shapes.STANDARD


def _keep_shape(source: BillingSource, shape: str) -> None:
    if source.shape != shape:
        source.shape = shape
        source.save(update_fields=["shape"])


# --- What the command calls ----------------------------------------------------------------


@dataclass
class Pull:
    run: ImportRun
    table: ExportTable
    shape: str = shapes.STANDARD
    checked: list[str] = field(default_factory=list)  # months seen in the lookback window
    pulled: list[str] = field(default_factory=list)
    forced: bool = False
    bytes_billed: int = 0


@dataclass
class Estimate:
    table: ExportTable
    shape: str
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
    by: User | None = None,
    by_name: str = "",
    now: datetime.datetime | None = None,
    shape: str | None = None,
) -> Pull:
    """Pull the invoice months that changed since the last pull (or exactly `months`)
    from the export table into its billing source; raise PullFailed if anything fails,
    a fact with a time outside core.times.data_window included. `shape` is the export's
    (standard, detailed or FOCUS; cost.billing.shapes), or None for the source's own or
    the one the table's name says."""
    window = data_window()
    forced = _check_months(months, window)
    _check_lookback(lookback_days)
    export, known = _table_and_source(table, source_name, create=False)
    chosen = _shape(export, known, shape)
    export, source = _table_and_source(table, source_name, create=True)
    with holding(source.pk):
        _keep_shape(source, chosen)
        return _pull_into(
            source=source, export=export, forced=forced, window=window,
            lookback_days=lookback_days, project=project, by=by, by_name=by_name,
            now=now or timezone.now(), shape=chosen,
        )  # fmt: skip


def _pull_into(
    *,
    source: BillingSource,
    export: ExportTable,
    forced: list[str] | None,
    window: TimeWindow,
    lookback_days: int,
    project: str | None,
    by: User | None,
    by_name: str,
    now: datetime.datetime,
    shape: str,
) -> Pull:
    described = {"name": str(export), "format": "bigquery", "shape": shape}
    run = start_run(source=source, by=by, by_name=by_name, files=[described])
    pull = Pull(run=run, table=export, shape=shape, forced=forced is not None)
    scanned = Scanned()
    try:
        client = google.make_client(project or export.project)
        if forced:
            pull.pulled = forced
        else:
            since = lookback_since(now, lookback_days)
            config = query_config("export-times", _export_times_parameters(since))
            times = run_query(client, export_times_sql(export, shape), config, scanned)
            pull.checked = sorted(row["invoice_month"] for row in times)
            pull.pulled = changed_months(source, times)
        facts = []
        if pull.pulled:
            parameters = _daily_facts_parameters(pull.pulled, window, shape)
            config = query_config("daily-facts", parameters)
            rows = run_query(client, daily_facts_sql(export, shape), config, scanned)
            for row in rows:
                _check_window(row, window)
                facts.append(fact_from_row(row))
            if shape != shapes.STANDARD:
                # BigQuery folded them already; folding again is a no-op that keeps the
                # bound whatever the query returned.
                facts = fold_resources(facts, keep=settings.QUARTERDECK_RESOURCES_PER_SKU)
    except (GoogleAPIError, GoogleAuthError) as error:
        raise _failed(run, describe_error(error)) from error
    except OutsideWindow as refused:
        raise _failed(run, str(refused)) from None
    except Exception as error:
        raise _failed(run, f"could not read the query results: {error!r}") from error
    except BaseException:
        fail_run(run, "interrupted")
        raise
    pull.bytes_billed = scanned.billed
    run.files = [{**described, "months": pull.pulled}]
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
    shape: str | None = None,
) -> Estimate:
    """Dry runs of the queries a pull would make: bytes they would process, nothing billed,
    nothing written. Without `months`, every month the lookback window touches is counted,
    the most a pull could read."""
    window = data_window()
    forced = _check_months(months, window)
    _check_lookback(lookback_days)
    export, source = _table_and_source(table, source_name, create=False)
    chosen_shape = _shape(export, source, shape)
    now = now or timezone.now()
    chosen = forced or lookback_months(now, lookback_days)
    scanned_times, scanned_facts = Scanned(), Scanned()
    try:
        client = google.make_client(project or export.project)
        if not forced:
            since = lookback_since(now, lookback_days)
            config = query_config("export-times", _export_times_parameters(since), dry_run=True)
            # A dry run's job carries its statistics at once; there is no result to wait for.
            sql = export_times_sql(export, chosen_shape)
            scanned_times.add(client.query(sql, job_config=config))
        parameters = _daily_facts_parameters(chosen, window, chosen_shape)
        config = query_config("daily-facts", parameters, dry_run=True)
        scanned_facts.add(client.query(daily_facts_sql(export, chosen_shape), job_config=config))
    except (GoogleAPIError, GoogleAuthError) as error:
        raise PullFailed(describe_error(error)) from error
    return Estimate(
        table=export,
        shape=chosen_shape,
        months=chosen,
        export_times_bytes=None if forced else scanned_times.processed,
        daily_facts_bytes=scanned_facts.processed,
        cap=byte_cap(),
    )
