"""What queries cost, from the BigQuery job history: by table or label, the most expensive
queries, and the job-history cost reconciled with the billing export.

Cost by label and the most expensive queries read `BigQueryJob`, kept for
QUARTERDECK_JOBS_RETENTION_DAYS only (`cost.usage.runs.retention_start`). Every cost here is an
allocation at list prices (`BigQueryJob.cost_nanos`), in USD, not an invoice amount;
`reconcile` compares it with the billing export."""

import datetime
import re
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from django.db import models
from django.db.models import Count, Max, Min, Q, Sum
from django.db.models.fields.json import KeyTextTransform
from django.utils.translation import gettext

from cost.models import (
    BigQueryJob,
    BigQueryTable,
    CostFact,
    JobUsageDay,
)
from cost.models.usage import USD
from cost.usage.reports import (
    BILLED_SERVICES,
    CAPACITY_SKU_WORDS,
    GROUPINGS,
    LABEL_KEY,
    LABEL_PREFIX,
    ON_DEMAND_SKU_WORDS,
    TABLES,
    as_int,
    check_period,
    fetch_rows,
    gap_percent,
    sql_day,
    usd_from_nanos,
    utc_bounds,
)
from cost.usage.runs import retention_start

# --- Query cost -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CostRow:
    """One user, team, project, table, day or label value.

    `key` is None for the row of what has none: users mapped to no team, queries that
    read no table, jobs without the label. By table, `queries` and `cache_hits` count
    the queries that read the table; `bytes_billed` and `cost` are split evenly among
    the tables each query read, so the table costs add up to the total."""

    key: str | None
    label: str
    queries: int
    cache_hits: int
    bytes_billed: int
    cost: Decimal  # allocated, USD
    currency: str = USD


@dataclass(frozen=True, slots=True)
class QueryCost:
    by: str
    since: datetime.date
    until: datetime.date
    rows: list[CostRow]
    total: CostRow  # every query of the period (key None)
    # By label: jobs are kept one by one from this day on (retention); before it the
    # label figures are missing. None for the groupings read from the daily usage.
    jobs_kept_from: datetime.date | None = None


def query_cost(*, since: datetime.date, until: datetime.date, by: str) -> QueryCost:
    """Allocated query cost grouped `by` user, team, project, table, day or
    `label:<key>`. Rows by cost, highest first (by day: by day), the key-None row last.

    Counted like the daily usage: QUERY jobs, SCRIPT children but not their parents.
    By label reads the job rows, so it covers the retention window only."""
    check_period(since, until)
    if re.fullmatch(LABEL_PREFIX + LABEL_KEY, by):
        return _cost_by_label(since, until, by)
    if by not in GROUPINGS:
        raise ValueError(f"by is one of {', '.join(GROUPINGS)} or label:<key>, not {by!r}")
    usage = JobUsageDay.objects.filter(day__gte=since, day__lte=until)
    sums = {
        "queries": Sum("queries"),
        "cache_hits": Sum("cache_hits"),
        "bytes_billed": Sum("bytes_billed"),
        "cost_nanos": Sum("cost_nanos"),
    }
    total = _cost_row(None, gettext("Total"), usage.aggregate(**sums))
    if by == "table":
        rows = _cost_by_table(since, until, usage, sums)
    else:
        column, name = {
            "user": ("user__email", None),
            "team": ("user__team__slug", "user__team__name"),
            "project": ("project_id", None),
            "day": ("day", None),
        }[by]
        values = [column] + ([name] if name else [])
        rows = [
            _cost_row(
                None if row[column] is None else str(row[column]),
                (row[name] if name else str(row[column]))
                if row[column] is not None
                else gettext("No team"),
                row,
            )
            for row in usage.values(*values).annotate(**sums).order_by()
        ]
    return QueryCost(by=by, since=since, until=until, rows=_ordered(rows, by), total=total)


def _cost_row(key: str | None, label: str, sums: dict) -> CostRow:
    return CostRow(
        key=key,
        label=label,
        queries=as_int(sums["queries"]),
        cache_hits=as_int(sums["cache_hits"]),
        bytes_billed=as_int(sums["bytes_billed"]),
        cost=usd_from_nanos(sums["cost_nanos"]),
    )


def _ordered(rows: list[CostRow], by: str) -> list[CostRow]:
    if by == "day":
        return sorted(rows, key=lambda row: row.key or "")
    return sorted(rows, key=lambda row: (row.key is None, -row.cost, -row.queries, row.key or ""))


def _cost_by_table(
    since: datetime.date, until: datetime.date, usage: models.QuerySet, sums: dict
) -> list[CostRow]:
    """Each query's bytes and cost split evenly among its tables: summed per table and
    set size in SQL, divided exactly here, rounded once per table."""
    sql = f"""
        WITH per_set AS (
            SELECT table_set_id, SUM(queries) AS queries, SUM(cache_hits) AS cache_hits,
                SUM(bytes_billed) AS bytes_billed, SUM(cost_nanos) AS cost_nanos
            FROM {TABLES["usage"]}
            WHERE day >= %s AND day <= %s AND table_set_id IS NOT NULL
            GROUP BY table_set_id
        )
        SELECT m.table_id, s.size, SUM(p.queries), SUM(p.cache_hits), SUM(p.bytes_billed),
            SUM(p.cost_nanos)
        FROM per_set p
        JOIN {TABLES["member"]} m ON m.table_set_id = p.table_set_id
        JOIN {TABLES["set"]} s ON s.id = p.table_set_id
        GROUP BY m.table_id, s.size
    """  # noqa: S608
    per_table: dict[int, list] = defaultdict(lambda: [0, 0, Fraction(0), Fraction(0)])
    for table_id, size, queries, cache_hits, bytes_billed, cost in fetch_rows(
        sql, [sql_day(since), sql_day(until)]
    ):
        sums_of = per_table[table_id]
        sums_of[0] += as_int(queries)
        sums_of[1] += as_int(cache_hits)
        sums_of[2] += Fraction(as_int(bytes_billed), size)
        sums_of[3] += Fraction(as_int(cost), size)
    tables = BigQueryTable.objects.in_bulk(list(per_table))
    rows = [
        CostRow(
            key=tables[table_id].full_name,
            label=tables[table_id].full_name,
            queries=queries,
            cache_hits=cache_hits,
            bytes_billed=round(bytes_billed),
            cost=usd_from_nanos(cost),
        )
        for table_id, (queries, cache_hits, bytes_billed, cost) in per_table.items()
    ]
    no_table = usage.filter(table_set__isnull=True).aggregate(**sums)
    if no_table["queries"]:
        rows.append(
            _cost_row(None, gettext("No table (cache hits, queries on no table)"), no_table)
        )
    return rows


def counted_jobs() -> models.QuerySet[BigQueryJob]:
    """The jobs the usage counts: queries, SCRIPT children but not their parents."""
    return BigQueryJob.objects.filter(job_type="QUERY").exclude(statement_type="SCRIPT")


def _jobs_in(since: datetime.date, until: datetime.date) -> models.QuerySet[BigQueryJob]:
    start, end = utc_bounds(since, until)
    return counted_jobs().filter(creation_time__gte=start, creation_time__lt=end)


def _cost_by_label(since: datetime.date, until: datetime.date, by: str) -> QueryCost:
    key = by[len(LABEL_PREFIX) :]
    jobs = _jobs_in(since, until)
    sums = {
        "queries": Count("id"),
        "cache_hits": Count("id", filter=Q(cache_hit=True)),
        "bytes_billed": Sum("total_bytes_billed"),
        "cost_nanos": Sum("cost_nanos"),
    }
    rows = [
        _cost_row(
            row["value"],
            row["value"]
            if row["value"] is not None
            else gettext("No %(key)s label") % {"key": key},
            row,
        )
        for row in jobs.annotate(value=KeyTextTransform(key, "labels"))
        .values("value")
        .annotate(**sums)
        .order_by()
    ]
    return QueryCost(
        by=by,
        since=since,
        until=until,
        rows=_ordered(rows, by),
        total=_cost_row(None, gettext("Total"), jobs.aggregate(**sums)),
        jobs_kept_from=retention_start(),
    )


# --- Most expensive queries -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QueryRow:
    """Every run of one query text (by its SHA-256) in the period."""

    query_hash: str
    query_text: str  # empty unless QUARTERDECK_JOBS_KEEP_QUERY_TEXT
    first_seen: datetime.datetime
    last_seen: datetime.datetime
    runs: int
    users: int  # distinct people and service accounts
    bytes_billed: int
    cost: Decimal  # allocated, USD
    currency: str = USD


@dataclass(frozen=True, slots=True)
class ExpensiveQueries:
    since: datetime.date
    until: datetime.date
    rows: list[QueryRow]
    jobs_kept_from: datetime.date  # job rows before this day are deleted (retention)


def expensive_queries(
    *, since: datetime.date, until: datetime.date, limit: int = 50
) -> ExpensiveQueries:
    """Query texts by total allocated cost, highest first (then runs, then hash).
    Reads the job rows: the retention window only. Cache hits count as runs."""
    check_period(since, until)
    rows = (
        _jobs_in(since, until)
        .exclude(query_hash="")
        .values("query_hash")
        .annotate(
            first_seen=Min("creation_time"),
            last_seen=Max("creation_time"),
            runs=Count("id"),
            users=Count("user", distinct=True),
            bytes_billed=Sum("total_bytes_billed"),
            cost_nanos=Sum("cost_nanos"),
            query_text=Max("query_text"),
        )
        .order_by("-cost_nanos", "-runs", "query_hash")[:limit]
    )
    return ExpensiveQueries(
        since=since,
        until=until,
        rows=[
            QueryRow(
                query_hash=row["query_hash"],
                query_text=row["query_text"] or "",
                first_seen=row["first_seen"],
                last_seen=row["last_seen"],
                runs=row["runs"],
                users=row["users"],
                bytes_billed=as_int(row["bytes_billed"]),
                cost=usd_from_nanos(row["cost_nanos"]),
            )
            for row in rows
        ],
        jobs_kept_from=retention_start(),
    )


# --- Reconciliation with the billing export -------------------------------------------


@dataclass(frozen=True, slots=True)
class ReconciledDay:
    day: datetime.date
    allocated: Decimal  # the job history's allocation, USD
    billed: Decimal  # the billing export, net of credits, USD

    currency = USD

    @property
    def gap_percent(self) -> Decimal | None:
        return gap_percent(self.allocated, self.billed)


@dataclass(frozen=True, slots=True)
class Reconciliation:
    since: datetime.date
    until: datetime.date
    days: list[ReconciledDay]  # days with allocated or billed cost, oldest first
    allocated: Decimal
    billed: Decimal
    # Billing lines in another currency with no USD rate in the export: left out of
    # `billed`, so a gap may come from them.
    unconverted_facts: int = 0
    currency: str = field(default=USD)

    @property
    def gap_percent(self) -> Decimal | None:
        return gap_percent(self.allocated, self.billed)


def billed_query_facts() -> models.QuerySet[CostFact]:
    """Current billing facts that pay for queries: on-demand analysis and slot capacity."""
    skus = Q()
    for word in (*ON_DEMAND_SKU_WORDS, *CAPACITY_SKU_WORDS):
        skus |= Q(sku_description__icontains=word)
    return CostFact.objects.current().filter(skus, service_description__in=BILLED_SERVICES)


def reconcile(*, since: datetime.date, until: datetime.date) -> Reconciliation:
    """Per day, the allocated cost of the job history against the BigQuery query cost
    the billing export billed (analysis, editions and slots SKUs; net of credits; in USD
    with the export's own rates), with the gap in percent of what was billed.

    The two days are not quite the same day: job days are UTC days, while a billing
    fact's usage_date is a day in the billing account's time zone (America/Los_Angeles,
    QUARTERDECK_BILLING_TIME_ZONE), 7 or 8 hours behind. They are compared day by day
    anyway, so a single day's gap carries some of its neighbours' queries; the gap over
    the period is the one to trust. The allocation prices jobs at list prices and does
    not see the free tier, discounts or idle reserved slots, which the bill does."""
    check_period(since, until)
    allocated = {
        row["day"]: as_int(row["cost_nanos"])
        for row in JobUsageDay.objects.filter(day__gte=since, day__lte=until)
        .values("day")
        .annotate(cost_nanos=Sum("cost_nanos"))
        .order_by()
    }
    # The export's USD amounts where it has them; a USD account's own amounts otherwise.
    usd = models.Q(currency=USD)
    cost_usd = models.Case(
        models.When(cost_usd_nanos__isnull=False, then="cost_usd_nanos"),
        models.When(usd, then="cost_nanos"),
    )
    credits_usd = models.Case(
        models.When(cost_usd_nanos__isnull=False, then="credits_usd_nanos"),
        models.When(usd, then="credits_nanos"),
    )
    facts = billed_query_facts().filter(usage_date__gte=since, usage_date__lte=until)
    billed, unconverted = {}, 0
    for row in (
        facts.values("usage_date")
        # The plugin takes these names for CostFact's properties; they name values() columns.
        .annotate(  # type: ignore[no-redef]
            cost=Sum(cost_usd),
            credits=Sum(credits_usd),
            unconverted=Count("id", filter=Q(cost_usd_nanos__isnull=True) & ~usd),
        )
        .order_by()
    ):
        billed[row["usage_date"]] = as_int(row["cost"]) + as_int(row["credits"])
        unconverted += row["unconverted"]
    days = [
        ReconciledDay(
            day=day,
            allocated=usd_from_nanos(allocated.get(day)),
            billed=usd_from_nanos(billed.get(day)),
        )
        for day in sorted(allocated.keys() | billed.keys())
    ]
    return Reconciliation(
        since=since,
        until=until,
        days=days,
        allocated=usd_from_nanos(sum(allocated.values())),
        billed=usd_from_nanos(sum(billed.values())),
        unconverted_facts=unconverted,
    )
