"""The job history summed in BigQuery (cost.usage.pushdown, `pull_usage`) gives the daily
usage rows the file import gives.

The pushed-down SQL runs on DuckDB (tests/cost/usage/bigquery_on_duckdb.py: sqlglot's
transpilation, with the few things it cannot map handled there by name); the same JOBS
rows go through the file import (cost.usage.runs.import_job_files) and the two sets of
JobUsageDay rows must be equal. Only the Google client is fake, at cost.google.make_client.
"""

import datetime
import json
from decimal import Decimal
from pathlib import Path

import pytest

from cost.models import JobUsageDay, TableSetMember
from cost.usage.pushdown import UsageRow, UsageSource, usage_parameters, usage_sql
from cost.usage.runs import import_job_files
from tests.cost.usage.bigquery_on_duckdb import Jobs, utc

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
GIB = 2**30
TODAY = datetime.date(2026, 12, 1)
START = utc("2026-11-27 00:00:00")
END = utc("2026-12-01 00:00:00")
EDITIONS = {"*": "enterprise", "ops-admin:us.cheap": "standard"}


@pytest.fixture(autouse=True)
def _prices(settings) -> None:
    settings.QUARTERDECK_BQ_PRICE_PER_TIB = {
        "us": Decimal("6.25"),
        "asia-northeast1": Decimal("7.5"),
        "*": Decimal("6.25"),
    }
    settings.QUARTERDECK_BQ_SLOT_HOUR_PRICE = {
        "standard": Decimal("0.04"),
        "enterprise": Decimal("0.06"),
        "*": Decimal("0.06"),
    }
    settings.QUARTERDECK_BQ_RESERVATION_EDITIONS = EDITIONS


def tbl(project: str, dataset: str, table: str) -> dict:
    return {"project_id": project, "dataset_id": dataset, "table_id": table}


def job(job_id: str, created: str, **fields) -> dict:
    """A JOBS row with datetimes, as the client (and DuckDB) gives it."""
    moment = utc(created)
    row = {
        "creation_time": moment,
        "start_time": moment + datetime.timedelta(seconds=1),
        "end_time": moment + datetime.timedelta(seconds=9),
        "project_id": "acme-analytics",
        "job_id": job_id,
        "user_email": "ann@acme.example",
        "principal_subject": "user:ann@acme.example",
        "job_type": "QUERY",
        "statement_type": "SELECT",
        "state": "DONE",
        "priority": "INTERACTIVE",
        "query": f"SELECT 1 -- {job_id}",
        "total_bytes_processed": 10 * 2**20,
        "total_bytes_billed": 10 * 2**20,
        "total_slot_ms": 1_000,
        "cache_hit": False,
        "referenced_tables": [tbl("acme-analytics", "marts", "orders")],
        "destination_table": None,
        "labels": [],
        "reservation_id": None,
        "parent_job_id": None,
        "error_result": None,
    }
    return row | fields


def constructed_jobs() -> list[dict]:
    orders, people = tbl("acme-analytics", "marts", "orders"), tbl("acme-analytics", "hr", "people")
    events = tbl("acme-etl", "raw", "events")
    return [
        # Ann, 28 Nov: 4 GiB billed costs 24,414,062.5 billionths: rounded to even.
        job("a1", "2026-11-28 09:00:00", total_bytes_billed=4 * GIB, total_bytes_processed=4 * GIB,
            referenced_tables=[people, orders]),
        # The same set in another order, one table named twice: the same table set.
        job("a2", "2026-11-28 10:00:00", referenced_tables=[orders, people, orders]),
        # A cache hit reads no table and bills nothing.
        job("a3", "2026-11-28 11:00:00", cache_hit=True, total_bytes_billed=0,
            total_bytes_processed=0, total_slot_ms=0, referenced_tables=[]),
        # SELECT 1: no table at all (null, not an empty list).
        job("a4", "2026-11-28 12:00:00", referenced_tables=None, statement_type=None),
        # A script: its parent row repeats its children's bytes and is left out.
        job("s0", "2026-11-28 13:00:00", statement_type="SCRIPT", total_bytes_billed=2**40,
            total_bytes_processed=2**40, user_email="bo@acme.example",
            principal_subject="user:bo@acme.example", referenced_tables=[orders]),
        job("s1", "2026-11-28 13:00:01", parent_job_id="s0", user_email="bo@acme.example",
            principal_subject="user:bo@acme.example", total_bytes_billed=3 * GIB),
        job("s2", "2026-11-28 13:00:02", parent_job_id="s0", user_email="bo@acme.example",
            principal_subject="user:bo@acme.example", referenced_tables=[people]),
        # Either side of midnight UTC.
        job("m1", "2026-11-28 23:59:59.999999", user_email="bo@acme.example",
            principal_subject="user:bo@acme.example"),
        job("m2", "2026-11-29 00:00:00", user_email="bo@acme.example",
            principal_subject="user:bo@acme.example"),
        # A service account named only by its principal, on a reservation: 2 slot-hours
        # of enterprise at 0.06 = 0.12 USD.
        job("e1", "2026-11-29 03:00:00", project_id="acme-etl", user_email=None,
            principal_subject="serviceAccount:etl@acme-etl.iam.gserviceaccount.com",
            reservation_id="ops-admin:US.batch", total_slot_ms=7_200_000,
            referenced_tables=[events]),
        # A reservation mapped to standard: 1,000 slot-ms x 0.04 / 3,600,000 = 11,111.1.
        job("e2", "2026-11-29 04:00:00", project_id="acme-etl", user_email=None,
            principal_subject="serviceAccount:etl@acme-etl.iam.gserviceaccount.com",
            reservation_id="ops-admin:US.cheap", referenced_tables=[events]),
        # The free pool pays by bytes, as on-demand.
        job("e3", "2026-11-29 05:00:00", project_id="acme-etl", user_email=None,
            principal_subject="serviceAccount:etl@acme-etl.iam.gserviceaccount.com",
            reservation_id="default-pipeline", referenced_tables=[events]),
        # A load job is no query.
        job("l1", "2026-11-29 06:00:00", job_type="LOAD", statement_type=None,
            total_bytes_billed=0, referenced_tables=[]),
        # Another person, another project, a running job (no statistics yet).
        job("c1", "2026-11-30 08:00:00", project_id="acme-etl", user_email="cy@acme.example",
            principal_subject="user:cy@acme.example", state="RUNNING", end_time=None,
            total_bytes_billed=None, total_bytes_processed=None, total_slot_ms=None),
    ]  # fmt: skip


def as_export_line(row: dict) -> str:
    plain = {
        name: value.isoformat() if isinstance(value, datetime.datetime) else value
        for name, value in row.items()
    }
    return json.dumps(plain)


def comparable(rows) -> list[tuple]:
    """JobUsageDay rows, or UsageRows, as what a report sees of them."""
    result = []
    for row in rows:
        if isinstance(row, JobUsageDay):
            tables = frozenset(
                TableSetMember.objects.filter(table_set_id=row.table_set_id).values_list(
                    "table__project_id", "table__dataset_id", "table__table_id"
                )
            )
            email, robot = row.user.email, row.user.is_service_account
        else:
            tables = frozenset((t.project_id, t.dataset_id, t.table_id) for t in row.tables)
            email, robot = row.user_email, row.is_service_account
        result.append((row.day, row.project_id, email, robot, tables, row.queries,
                       row.cache_hits, row.bytes_processed, row.bytes_billed, row.slot_ms,
                       row.cost_nanos, row.last_seen))  # fmt: skip
    return sorted(result, key=lambda r: (r[0], r[1], r[2], sorted(r[4])))


def pushed_down(jobs: Jobs, source: UsageSource) -> list[UsageRow]:
    parameters = usage_parameters(source=source, start=START, end=END)
    return [UsageRow.read(row) for row in jobs.run(usage_sql(source), parameters)]


def imported(tmp_path: Path, rows: list[dict]) -> list[JobUsageDay]:
    path = tmp_path / "jobs.jsonl"
    path.write_text("".join(as_export_line(row) + "\n" for row in rows))
    import_job_files([path], location="US", today=TODAY)
    return list(JobUsageDay.objects.select_related("user"))


# --- The same daily usage ----------------------------------------------------------------


def test_pushed_down_sql_gives_the_daily_usage_of_the_file_import(tmp_path) -> None:
    jobs = Jobs()
    jobs.add("region-us", constructed_jobs())

    pushed = pushed_down(jobs, UsageSource.parse("region-us"))
    from_files = imported(tmp_path, constructed_jobs())

    assert comparable(pushed) == comparable(from_files)
    assert len(pushed) == 7  # 28 Nov: 4, 29 Nov: 2, 30 Nov: 1


def test_pushed_down_rows_hold_the_hand_computed_sums() -> None:
    jobs = Jobs()
    jobs.add("region-us", constructed_jobs())

    rows = {(r.day.day, r.user_email, len(r.tables)): r
            for r in pushed_down(jobs, UsageSource.parse("region-us"))}  # fmt: skip

    ann = rows[(28, "ann@acme.example", 2)]
    # a1: 4 GiB x 6.25e9 / 2^40 = 24,414,062.5 -> 24,414,062 (to even);
    # a2: 10 MiB -> 59,604.64 -> 59,605.
    assert (ann.queries, ann.bytes_billed, ann.cost_nanos) == (2, 4 * GIB + 10 * 2**20, 24_473_667)
    no_tables = rows[(28, "ann@acme.example", 0)]
    assert (no_tables.queries, no_tables.cache_hits, no_tables.bytes_billed) == (2, 1, 10 * 2**20)
    # The script's children only, and the job a microsecond before midnight.
    bo_orders = rows[(28, "bo@acme.example", 1)]
    assert bo_orders.queries == 2  # s1 and m1 read orders; s2 read people
    assert bo_orders.last_seen == utc("2026-11-28 23:59:59.999999")
    assert rows[(29, "bo@acme.example", 1)].queries == 1
    etl = rows[(29, "etl@acme-etl.iam.gserviceaccount.com", 1)]
    # 0.12 USD + 11,111 billionths + 10 MiB on demand (59,605).
    assert etl.is_service_account
    assert (etl.queries, etl.slot_ms, etl.cost_nanos) == (
        3,
        7_202_000,
        120_000_000 + 11_111 + 59_605,
    )
    running = rows[(30, "cy@acme.example", 1)]
    assert (running.queries, running.bytes_billed, running.cost_nanos) == (1, 0, 0)


def test_a_list_of_projects_reads_each_projects_view_and_only_those_projects(tmp_path) -> None:
    jobs = Jobs()
    jobs.add("region-us", constructed_jobs())
    source = UsageSource.parse("region-us", ["acme-etl"])

    pushed = pushed_down(jobs, source)
    from_files = imported(
        tmp_path, [row for row in constructed_jobs() if row["project_id"] == "acme-etl"]
    )

    assert "`acme-etl`.`region-us`.INFORMATION_SCHEMA.JOBS_BY_PROJECT" in usage_sql(source)
    assert "IN UNNEST(@projects)" in usage_sql(source)
    assert comparable(pushed) == comparable(from_files)
    assert {row.project_id for row in pushed} == {"acme-etl"}


def test_the_sql_holds_no_value_only_parameters() -> None:
    sql = usage_sql(UsageSource.parse("region-us", ["acme-etl", "acme-analytics"]))

    for value in ("2026", "6.25", "6250000000", "ops-admin", "enterprise"):
        assert value not in sql
    for name in ("@start", "@end", "@projects", "@tib_price_nanos", "@reservations"):
        assert name in sql
