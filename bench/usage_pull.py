"""The `usage_pull` scenario: `pull_usage` over the `jobs` scenario's million JOBS rows
(180 days), with BigQuery stood in for by DuckDB: the tests' stand-in
(tests/cost/usage/bigquery_on_duckdb.py) runs the pushed-down SQL as sent, through sqlglot.

Measured: the aggregation alone on DuckDB (what BigQuery would do), the first pull end to
end (the aggregation, the daily rows crossing, storing them), the next pull an hour later
(the watermark's day re-read and replaced), and the table-usage report over the rows.

Imported by bench.scenarios once Django is set up."""

import datetime
import time
from pathlib import Path

from bench.jobs import DAYS, LAST_DAY, REPORT_BAR_MS, _row, _timed, ensure_jobs_file
from cost import google
from cost.models import JobUsageDay, TableSet
from cost.usage.pushdown import UsageSource, usage_parameters, usage_sql
from cost.usage.pushdown_pull import pull_usage
from cost.usage.reports import table_usage
from tests.cost.usage.bigquery_on_duckdb import COLUMNS, FakeBigQuery, Jobs

READ_TYPES = {
    "creation_time": "TIMESTAMPTZ", "start_time": "TIMESTAMPTZ", "end_time": "TIMESTAMPTZ",
    "project_id": "VARCHAR", "job_id": "VARCHAR", "user_email": "VARCHAR",
    "principal_subject": "VARCHAR", "job_type": "VARCHAR", "statement_type": "VARCHAR",
    "state": "VARCHAR", "priority": "VARCHAR", "query": "VARCHAR",
    "total_bytes_processed": "BIGINT", "total_bytes_billed": "BIGINT",
    "total_slot_ms": "BIGINT", "cache_hit": "BOOLEAN",
    "referenced_tables": "STRUCT(project_id VARCHAR, dataset_id VARCHAR, table_id VARCHAR)[]",
    "destination_table": "STRUCT(project_id VARCHAR, dataset_id VARCHAR, table_id VARCHAR)",
    "labels": "STRUCT(key VARCHAR, value VARCHAR)[]", "reservation_id": "VARCHAR",
    "parent_job_id": "VARCHAR",
    "error_result": "STRUCT(reason VARCHAR, location VARCHAR, debug_info VARCHAR, "
                    "message VARCHAR)",
}  # fmt: skip


def _loaded(path: Path) -> tuple[Jobs, int]:
    jobs = Jobs()
    jobs.add("region-us", [])
    columns = "{" + ", ".join(f"'{name}': '{kind}'" for name, kind in READ_TYPES.items()) + "}"
    names = ", ".join(COLUMNS)
    jobs.db.execute(
        f'INSERT INTO "region-us"."INFORMATION_SCHEMA.JOBS_BY_ORGANIZATION" ({names}) '  # noqa: S608
        f"SELECT {names} FROM read_json(?, format = 'newline_delimited', columns = {columns})",
        [str(path)],
    )
    (count,) = jobs.db.execute(
        'SELECT COUNT(*) FROM "region-us"."INFORMATION_SCHEMA.JOBS_BY_ORGANIZATION"'
    ).fetchone()
    return jobs, count


def usage_pull(database: str) -> list[dict]:
    path = ensure_jobs_file()  # made once, shared with the `jobs` scenario
    started = time.perf_counter()
    jobs, count = _loaded(path)
    loaded = time.perf_counter() - started
    fake = FakeBigQuery(jobs)
    source = UsageSource.parse("region-us")
    now = datetime.datetime.combine(LAST_DAY + datetime.timedelta(days=1), datetime.time(),
                                    datetime.UTC)  # fmt: skip
    start = now - datetime.timedelta(days=DAYS)
    parameters = usage_parameters(source=source, start=start, end=now)
    sql = usage_sql(source)
    aggregation = _timed(lambda: jobs.run(sql, parameters), runs=3)

    real_client = google.make_client
    google.make_client = fake.client  # type: ignore[assignment]  # the seam, as the tests
    try:
        began = time.perf_counter()
        first = pull_usage(source=source, billing_project="acme-admin", days=DAYS, now=now)
        first_seconds = time.perf_counter() - began
        began = time.perf_counter()
        again = pull_usage(source=source, billing_project="acme-admin", days=DAYS,
                           now=now + datetime.timedelta(hours=1))  # fmt: skip
        again_seconds = time.perf_counter() - began
    finally:
        google.make_client = real_client  # type: ignore[method-assign]
    rows, sets = JobUsageDay.objects.count(), TableSet.objects.count()
    report = _timed(lambda: table_usage(since=start.date(), until=LAST_DAY))
    return [
        _row(
            database,
            f"DuckDB stand-in: the pushed-down SQL over {count:,} jobs",
            aggregation,
            None,
            f"{count / (min(aggregation) / 1000):,.0f} jobs/s; loading "
            f"the stand-in took {loaded:.0f} s",
        )
        | {"bar_on": "median"},
        _row(
            database,
            f"pull_usage, first pull ({DAYS} days, 1 region)",
            [first_seconds * 1000],
            None,
            f"{count / first_seconds:,.0f} jobs/s; {first.rows_read:,} daily rows and "
            f"{first.files[0]['table_sets']:,} table sets crossed; {rows:,} rows, {sets:,} "
            "table sets stored",
        )
        | {"bar_on": "median"},
        _row(
            database,
            "pull_usage an hour later (last day re-read, replaced)",
            [again_seconds * 1000],
            None,
            f"{again.rows_read:,} daily rows of {again.first_day} to {again.last_day}",
        )
        | {"bar_on": "median"},
        _row(
            database,
            f"table usage over {DAYS} days of pushed-down rows",
            report,
            REPORT_BAR_MS,
            f"{rows:,} daily usage rows",
        ),
    ]
