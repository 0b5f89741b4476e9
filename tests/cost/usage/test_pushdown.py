"""The job history summed in BigQuery (cost.usage.pushdown, `pull_usage`) gives the daily
usage rows the file import gives.

The pushed-down SQL runs on DuckDB (tests/cost/usage/bigquery_on_duckdb.py: sqlglot's
transpilation, with the few things it cannot map handled there by name); the same JOBS
rows go through the file import (cost.usage.runs.import_job_files) and the two sets of
JobUsageDay rows must be equal. Only the Google client is fake, at cost.google.make_client.
"""

import datetime
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from google.api_core.exceptions import Forbidden

import cost.google
from cost.models import BigQueryJob, JobImportRun, JobUsageDay, TableSetMember
from cost.usage.pushdown import UsageRow, UsageSource, usage_parameters, usage_sql
from cost.usage.pushdown_pull import pull_usage, usage_window
from cost.usage.runs import import_job_files
from tests.cost.usage.bigquery_on_duckdb import FakeBigQuery, Jobs, utc

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


# --- pull_usage, end to end, with the client replaced at cost.google.make_client -----------


@pytest.fixture
def bigquery(monkeypatch: pytest.MonkeyPatch) -> FakeBigQuery:
    jobs = Jobs()
    fake = FakeBigQuery(jobs)
    monkeypatch.setattr(cost.google, "make_client", fake.client)
    return fake


def shifted(rows: list[dict], *, days_back: int = 3) -> list[dict]:
    """The rows moved by whole days so that their first day is `days_back` days before
    today: the command reads up to the clock's now."""
    first = datetime.datetime.combine(
        timezone.now().date() - datetime.timedelta(days=days_back), datetime.time(), UTC
    )
    delta = first - utc("2026-11-28 00:00:00")
    times = ("creation_time", "start_time", "end_time")
    return [row | {name: row[name] + delta for name in times if row.get(name)} for row in rows]


def asia_jobs() -> list[dict]:
    # 1 TiB at asia-northeast1's 7.5 USD per TiB.
    sales = tbl("acme-tokyo", "jp", "sales")
    return [job("t1", "2026-11-29 15:00:00", project_id="acme-tokyo",
                user_email="kei@acme.example", principal_subject="user:kei@acme.example",
                total_bytes_billed=2**40, referenced_tables=[sales])]  # fmt: skip


def command(*args: str) -> str:
    out = io.StringIO()
    call_command("pull_usage", *args, stdout=out)
    return out.getvalue()


def usage_by_location() -> dict[str, int]:
    counts: dict[str, int] = {}
    for location in JobUsageDay.objects.values_list("location", flat=True):
        counts[location] = counts.get(location, 0) + 1
    return counts


def test_command_pulls_two_regions_and_stores_only_daily_rows(bigquery, settings) -> None:
    bigquery.jobs.add("region-us", shifted(constructed_jobs()))
    bigquery.jobs.add("region-asia-northeast1", shifted(asia_jobs()))

    out = command("--region", "region-us", "--region", "asia-northeast1", "--region", "US",
                  "--billing-project", "acme-admin")  # fmt: skip

    assert usage_by_location() == {"US": 7, "asia-northeast1": 1}
    assert BigQueryJob.objects.count() == 0  # no job row unless asked
    tokyo = JobUsageDay.objects.get(location="asia-northeast1")
    assert (tokyo.project_id, tokyo.user.email, tokyo.cost_nanos) == (
        "acme-tokyo",
        "kei@acme.example",
        7_500_000_000,
    )
    runs = JobImportRun.objects.order_by("id")
    assert [(r.kind, r.location, r.status) for r in runs] == [
        ("usage", "US", "succeeded"), ("usage", "asia-northeast1", "succeeded")
    ]  # fmt: skip
    assert all(run.watermark is not None for run in runs)
    assert bigquery.projects == ["acme-admin", "acme-admin"]
    assert [location for _sql, _config, location in bigquery.queries] == ["US", "asia-northeast1"]
    _sql, config, _location = bigquery.queries[0]
    assert config.maximum_bytes_billed == settings.QUARTERDECK_BIGQUERY_MAX_BYTES_BILLED
    assert "region-us: 7 daily usage rows, 4 table sets" in out
    assert "region-asia-northeast1: 1 daily usage rows, 1 table sets" in out


def test_a_second_pull_rereads_the_day_of_the_watermark_less_six_hours_and_replaces_it(
    bigquery,
) -> None:
    bigquery.jobs.add("region-us", constructed_jobs())
    source = UsageSource.parse("region-us")
    first = pull_usage(source=source, billing_project="acme-admin", now=utc("2026-11-30 09:00"))
    before = {(r.day, r.user.email): r.queries
              for r in JobUsageDay.objects.filter(day__lt=datetime.date(2026, 11, 30))}  # fmt: skip

    # Meanwhile the running job finished, and another one ran.
    rows = constructed_jobs()
    for row in rows:
        if row["job_id"] == "c1":
            row.update(state="DONE", total_bytes_billed=GIB, total_bytes_processed=GIB)
    cy = {"user_email": "cy@acme.example", "principal_subject": "user:cy@acme.example"}
    rows.append(job("c2", "2026-11-30 10:00:00", project_id="acme-etl", **cy))
    bigquery.jobs = Jobs()
    bigquery.jobs.add("region-us", rows)
    second = pull_usage(source=source, billing_project="acme-admin", now=utc("2026-11-30 12:00"))

    assert first.watermark == utc("2026-11-30 09:00")
    assert second.watermark == utc("2026-11-30 12:00")
    assert second.files[0]["since"] == "2026-11-30T00:00:00+00:00"  # 03:00 is the same day
    assert second.files[0]["incremental"] is True
    (cy,) = JobUsageDay.objects.filter(day=datetime.date(2026, 11, 30))  # replaced, not doubled
    assert (cy.queries, cy.bytes_billed) == (2, GIB + 10 * 2**20)
    after = {(r.day, r.user.email): r.queries
             for r in JobUsageDay.objects.filter(day__lt=datetime.date(2026, 11, 30))}  # fmt: skip
    assert after == before


def test_a_watermark_just_after_midnight_rereads_the_whole_day_before(bigquery) -> None:
    bigquery.jobs.add("region-us", constructed_jobs())
    source = UsageSource.parse("region-us")
    pull_usage(source=source, billing_project="acme-admin", now=utc("2026-11-29 03:00"))

    window = usage_window(source=source, days=7, now=utc("2026-11-29 05:00"))
    # 03:00 less 6 hours is 21:00 on the 28th: the 28th is read again from its midnight.
    assert (window.start, window.incremental) == (utc("2026-11-28 00:00"), True)
    # Another set of projects in the same region has a watermark of its own.
    other = usage_window(source=UsageSource.parse("region-us", ["acme-etl"]), days=7,
                         now=utc("2026-11-29 05:00"))  # fmt: skip
    assert (other.start, other.incremental) == (utc("2026-11-22 00:00"), False)


def test_an_old_watermark_rereads_no_day_the_jobs_view_has_pruned(bigquery) -> None:
    bigquery.jobs.add("region-us", constructed_jobs())
    source = UsageSource.parse("region-us")
    pull_usage(source=source, billing_project="acme-admin", now=utc("2026-11-30 09:00"))

    window = usage_window(source=source, days=7, now=utc("2027-07-01 09:00"))

    # INFORMATION_SCHEMA.JOBS keeps 180 days: the read starts 179 days back.
    assert window.start == utc("2027-01-03 00:00")


def test_dry_run_prints_the_bytes_and_the_sql_and_stores_nothing(bigquery) -> None:
    bigquery.jobs.add("region-us", shifted(constructed_jobs()))

    out = command("--region", "us", "--project", "acme-etl", "--project", "acme-analytics",
                  "--dry-run")  # fmt: skip

    # The fake scans 10 MiB per view read: two projects' views.
    assert "20,971,520 bytes processed (dry run; nothing stored)" in out
    assert "`acme-analytics`.`region-us`.INFORMATION_SCHEMA.JOBS_BY_PROJECT" in out
    assert "GROUP BY day, project_id, user_name, table_key" in out
    ((_sql, config, _location),) = bigquery.queries
    assert config.dry_run is True
    assert bigquery.projects == ["acme-analytics"]  # the first project, sorted
    assert JobImportRun.objects.count() == JobUsageDay.objects.count() == 0


def test_keep_jobs_keeps_the_most_expensive_queries_of_each_day(bigquery) -> None:
    bigquery.jobs.add("region-us", shifted(constructed_jobs()))
    args = ("--region", "region-us", "--billing-project", "acme-admin", "--keep-jobs", "1")

    out = command(*args)
    command(*args)  # a second pull replaces them

    # 28th: a1 (4 GiB) over s1 (3 GiB); 29th: e1 (2 slot-hours); 30th: c1 alone.
    kept = BigQueryJob.objects.order_by("creation_time")
    assert [job.job_id for job in kept] == ["a1", "e1", "c1"]
    assert [job.cost_nanos for job in kept] == [24_414_062, 120_000_000, 0]
    assert kept[0].query_hash == ""  # JOBS_BY_ORGANIZATION holds no query text
    assert usage_by_location() == {"US": 7}
    assert "3 expensive jobs kept" in out


def test_a_bad_region_is_refused_before_anything_is_asked(bigquery) -> None:
    with pytest.raises(CommandError, match="'us central' is not a BigQuery region"):
        command("--region", "region-us", "--region", "us central", "--billing-project", "acme-x1")

    with pytest.raises(CommandError, match=r"organisation-wide pull .* needs --billing-project"):
        command("--region", "region-us")

    assert bigquery.queries == []
    assert JobImportRun.objects.count() == 0


def test_nothing_of_a_region_is_written_when_it_fails(bigquery) -> None:
    bigquery.jobs.add("region-us", shifted(constructed_jobs()))
    # The Tokyo jobs: one whose job id no database column holds, found while storing.
    bad = shifted(asia_jobs())[0] | {"job_id": "x" * 1100}
    bigquery.jobs.add("region-asia-northeast1", [bad])

    with pytest.raises(CommandError, match="asia-northeast1: nothing of this region was stored"):
        command("--region", "us", "--region", "asia-northeast1", "--billing-project",
                "acme-admin", "--keep-jobs", "5")  # fmt: skip

    assert usage_by_location() == {"US": 7}  # the first region's pull stands
    runs = JobImportRun.objects.order_by("id")
    assert [(r.location, r.status) for r in runs] == [("US", "succeeded"),
                                                      ("asia-northeast1", "failed")]  # fmt: skip
    assert "longer than 1024 characters" in runs[1].error
    assert not BigQueryJob.objects.filter(location="asia-northeast1").exists()


def test_google_refusing_a_region_fails_its_run_with_the_advice(bigquery) -> None:
    bigquery.jobs.add("region-us", shifted(constructed_jobs()))
    bigquery.failing["US"] = Forbidden("Access Denied: jobs.listAll")

    with pytest.raises(CommandError, match=r"bigquery\.jobs\.listAll"):
        command("--region", "us", "--billing-project", "acme-admin")

    (run,) = JobImportRun.objects.all()
    assert run.status == "failed"
    assert JobUsageDay.objects.count() == 0
