"""pull_jobs: the job history straight from INFORMATION_SCHEMA.JOBS_BY_PROJECT, incremental.

Only the Google client is fake (FakeBigQuery, put in place of cost.google.make_client,
the seam test_pull_billing.py uses too): it records the SQL, the parameters, the location
and the job configuration it is given, and answers with google.cloud.bigquery Row objects
holding what the client really returns (aware datetimes, ints, records as dicts, repeated
fields as lists). It honours the @since parameter, so a wrong `since` shows up as wrong
jobs; the conversion, the import and the daily usage are ours and run for real.
"""

import datetime
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from google.api_core.exceptions import BadRequest, Forbidden, ServiceUnavailable
from google.auth.exceptions import DefaultCredentialsError
from google.cloud.bigquery import QueryJobConfig, ScalarQueryParameter
from google.cloud.bigquery.table import Row
from pytest_django.fixtures import Settings

import cost.google
from cost.billing.pull import PullFailed
from cost.models import BigQueryJob, JobImportRun, JobUsageDay
from cost.usage.jobs import JobImportFailed, parse_job
from cost.usage.pull import job_rows, jobs_sql, pull_jobs
from cost.usage.runs import import_job_files

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
PROJECT = "acme-analytics"
VIEW = "`acme-analytics`.`region-us`.INFORMATION_SCHEMA.JOBS_BY_PROJECT"
NOW = datetime.datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
TIB = 2**40
# What cost/usage/jobs.py parse_job reads, in the order the query selects it.
COLUMNS = [
    "creation_time", "start_time", "end_time", "project_id", "job_id", "user_email",
    "principal_subject", "job_type", "statement_type", "state", "priority", "query",
    "total_bytes_processed", "total_bytes_billed", "total_slot_ms", "cache_hit",
    "referenced_tables", "destination_table", "labels", "reservation_id", "parent_job_id",
    "error_result",
]  # fmt: skip


# --- The fake Google client -------------------------------------------------------------


@dataclass
class Query:
    sql: str
    parameters: list[ScalarQueryParameter]
    config: QueryJobConfig
    location: str | None

    @property
    def since(self) -> datetime.datetime:
        (parameter,) = [p for p in self.parameters if p.name == "since"]
        return parameter.value


class FakeJob:
    def __init__(self, rows: list[Row], *, page_error: Exception | None = None) -> None:
        self._rows = rows
        self._page_error = page_error
        self.total_bytes_processed = 52_428_800
        self.total_bytes_billed = 52_428_800

    def result(self) -> Iterator[Row]:
        # Like a RowIterator: pages are fetched while the rows are read.
        for number, row in enumerate(self._rows):
            if self._page_error is not None and number == 1:
                raise self._page_error
            yield row


def as_row(job: dict) -> Row:
    return Row(tuple(job.get(name) for name in COLUMNS), {n: i for i, n in enumerate(COLUMNS)})


class FakeBigQuery:
    """What BigQuery would answer for a project whose JOBS view holds `jobs`."""

    def __init__(self) -> None:
        self.jobs: list[dict] = []
        self.queries: list[Query] = []
        self.projects: list[str] = []
        self.errors: dict[str, Exception] = {}  # "client", "query" or "page"

    def client(self, project: str) -> "FakeBigQuery":
        self.projects.append(project)
        if "client" in self.errors:
            raise self.errors["client"]
        return self

    def query(self, sql: str, job_config: QueryJobConfig, location: str | None = None) -> FakeJob:
        query = Query(sql, list(job_config.query_parameters), job_config, location)
        self.queries.append(query)
        if "query" in self.errors:
            raise self.errors["query"]
        created = sorted(
            (job for job in self.jobs if job["creation_time"] > query.since),
            key=lambda job: job["creation_time"],
        )
        return FakeJob([as_row(job) for job in created], page_error=self.errors.get("page"))

    def last(self) -> Query:
        return self.queries[-1]


@pytest.fixture
def bigquery(monkeypatch: pytest.MonkeyPatch) -> FakeBigQuery:
    fake = FakeBigQuery()
    monkeypatch.setattr(cost.google, "make_client", fake.client)
    return fake


def table(name: str, dataset: str = "marts") -> dict:
    return {"project_id": PROJECT, "dataset_id": dataset, "table_id": name}


def bq_job(job_id: str, created: datetime.datetime, **fields) -> dict:
    """One JOBS row as the client returns it."""
    row = {
        "creation_time": created,
        "start_time": created + datetime.timedelta(seconds=1),
        "end_time": created + datetime.timedelta(seconds=20),
        "project_id": PROJECT,
        "job_id": job_id,
        "user_email": "ann@acme.example",
        "principal_subject": "user:ann@acme.example",
        "job_type": "QUERY",
        "statement_type": "SELECT",
        "state": "DONE",
        "priority": "INTERACTIVE",
        "query": f"SELECT * FROM marts.fct_orders -- {job_id}",
        "total_bytes_processed": TIB // 4,
        "total_bytes_billed": TIB // 4,
        "total_slot_ms": 12_000,
        "cache_hit": False,
        "referenced_tables": [table("fct_orders")],
        "destination_table": {"project_id": PROJECT, "dataset_id": "_0a1b2c", "table_id": "anon"},
        "labels": [],
        "reservation_id": None,
        "parent_job_id": None,
        "error_result": None,
    }
    row.update(fields)
    return row


def at(day: int, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def week_of_jobs() -> list[dict]:
    return [
        bq_job("job_a", at(20, 9)),
        bq_job("job_b", at(22, 23, 30)),
        bq_job("job_c", at(23, 1)),
        bq_job("job_d", at(26, 10)),
    ]


def pull(**options) -> JobImportRun:
    return pull_jobs(**({"project": PROJECT, "region": "region-us", "days": 7, "now": NOW}
                        | options))  # fmt: skip


def command(*args: str) -> str:
    out = io.StringIO()
    call_command("pull_jobs", *args, stdout=out)
    return out.getvalue()


def stored_ids() -> list[str]:
    return sorted(BigQueryJob.objects.values_list("job_id", flat=True))


def usage(day: datetime.date) -> tuple:
    row = JobUsageDay.objects.get(day=day)
    return (row.queries, row.bytes_billed, row.slot_ms, row.cost_nanos)


# --- The query ----------------------------------------------------------------------------


def test_query_reads_jobs_by_project_of_the_region_after_a_since_parameter() -> None:
    sql = jobs_sql(project=PROJECT, region="region-us")

    selected = re.search(r"SELECT(.*)FROM", sql, re.DOTALL).group(1)
    assert [column.strip() for column in selected.split(",")] == COLUMNS
    assert f"FROM {VIEW}\n" in sql
    assert "WHERE creation_time > @since" in sql
    assert sql.rstrip().endswith("ORDER BY creation_time")


def test_pull_sends_since_as_a_timestamp_parameter_and_runs_in_the_region(
    bigquery: FakeBigQuery,
) -> None:
    pull()

    query = bigquery.last()
    assert VIEW in query.sql
    assert "@since" in query.sql
    (parameter,) = query.parameters
    assert (parameter.name, parameter.type_) == ("since", "TIMESTAMP")
    assert parameter.value == datetime.datetime(2026, 11, 19, tzinfo=UTC)
    assert query.location == "US"
    assert query.config.labels == {"application": "quarterdeck", "quarterdeck-step": "jobs"}
    assert bigquery.projects == [PROJECT]


@pytest.mark.parametrize(
    ("region", "view_region", "location"),
    [
        ("region-us", "region-us", "US"),
        ("us", "region-us", "US"),
        ("US", "region-us", "US"),
        ("region-eu", "region-eu", "EU"),
        ("region-europe-west2", "region-europe-west2", "europe-west2"),
        ("REGION-US-CENTRAL1", "region-us-central1", "us-central1"),
        ("northamerica-northeast1", "region-northamerica-northeast1", "northamerica-northeast1"),
    ],
)
def test_region_is_normalised_to_the_information_schema_qualifier(
    bigquery: FakeBigQuery, region: str, view_region: str, location: str
) -> None:
    bigquery.jobs = [bq_job("job_a", at(26, 9))]

    run = pull(region=region)

    assert f"`{PROJECT}`.`{view_region}`.INFORMATION_SCHEMA.JOBS_BY_PROJECT" in bigquery.last().sql
    assert bigquery.last().location == location
    assert (run.location, run.project_id) == (location, PROJECT)
    assert BigQueryJob.objects.get().location == location


@pytest.mark.parametrize(
    ("project", "region"),
    [
        ("Acme-Analytics", "region-us"),
        ("acme", "region-us"),  # shorter than a project id can be
        ("acme-analytics`.`region-us`.INFORMATION_SCHEMA.JOBS; DROP TABLE x; --", "region-us"),
        ("acme-analytics.marts", "region-us"),
        ("", "region-us"),
        (PROJECT, "region-us`; SELECT 1; --"),
        (PROJECT, "region-"),
        (PROJECT, "us central1"),
        (PROJECT, "region-us.INFORMATION_SCHEMA"),
        (PROJECT, "europe-west"),
        (PROJECT, ""),
    ],
)
def test_bad_project_or_region_is_refused_before_any_client_call(
    bigquery: FakeBigQuery, project: str, region: str
) -> None:
    with pytest.raises(PullFailed, match="is not a"):
        pull(project=project, region=region)

    with pytest.raises(CommandError, match=r"nothing was pulled: .* is not a"):
        command("--project", project, "--region", region)

    assert bigquery.projects == []
    assert bigquery.queries == []
    assert not JobImportRun.objects.exists()


@pytest.mark.parametrize("days", ["0", "181", "-7"])
def test_days_outside_what_jobs_keeps_are_refused(bigquery: FakeBigQuery, days: str) -> None:
    with pytest.raises(CommandError, match=f"--days must be a whole number from 1 to 180 .*{days}"):
        command("--project", PROJECT, "--region", "region-us", "--days", days)

    assert bigquery.projects == []
    assert not JobImportRun.objects.exists()


# --- Incremental on creation_time ------------------------------------------------------------


def test_first_pull_reads_the_last_days_whole(bigquery: FakeBigQuery) -> None:
    bigquery.jobs = week_of_jobs()

    run = pull(days=3)

    assert bigquery.last().since == datetime.datetime(2026, 11, 23, tzinfo=UTC)
    assert stored_ids() == ["job_c", "job_d"]
    assert (run.status, run.kind) == (JobImportRun.Status.SUCCEEDED, JobImportRun.Kind.BIGQUERY)
    assert (run.rows_read, run.jobs_written) == (2, 2)
    assert (run.first_day, run.last_day) == (
        datetime.date(2026, 11, 23),
        datetime.date(2026, 11, 26),
    )
    assert run.files == [{
        "name": "acme-analytics.region-us.INFORMATION_SCHEMA.JOBS_BY_PROJECT",
        "format": "bigquery", "since": "2026-11-23T00:00:00+00:00", "incremental": False,
        "bytes_processed": 52_428_800, "bytes_billed": 52_428_800,
    }]  # fmt: skip


def test_command_first_pull_uses_seven_days_and_prints_counts(bigquery: FakeBigQuery) -> None:
    now = timezone.now()
    bigquery.jobs = [
        bq_job("older", now - datetime.timedelta(days=9)),
        bq_job("recent", now - datetime.timedelta(days=2)),
        bq_job("latest", now - datetime.timedelta(hours=1)),
    ]

    out = command("--project", PROJECT, "--region", "US")

    since = bigquery.last().since
    assert since.time() == datetime.time(0)
    assert since.tzinfo == UTC
    assert (now - since).days == 7
    assert stored_ids() == ["latest", "recent"]
    run = JobImportRun.objects.get()
    assert "Read 2 rows from acme-analytics.region-us.INFORMATION_SCHEMA.JOBS_BY_PROJECT" in out
    assert f"created after {since.isoformat()} (first pull: the last 7 day(s))" in out
    assert "2 jobs new or changed" in out
    assert f"days {run.first_day} to {run.last_day}" in out
    assert f"billed 52,428,800 bytes (job import run {run.pk})" in out


def test_second_pull_starts_six_hours_before_the_newest_stored_job(
    bigquery: FakeBigQuery,
) -> None:
    bigquery.jobs = week_of_jobs()
    pull()
    bigquery.jobs.append(bq_job("job_e", at(26, 11, 30)))

    run = pull(now=NOW + datetime.timedelta(hours=1))

    assert bigquery.last().since == at(26, 4)  # job_d at 10:00, less 6 hours
    assert (run.rows_read, run.jobs_written) == (2, 1)  # job_d again, and job_e
    assert stored_ids() == ["job_a", "job_b", "job_c", "job_d", "job_e"]
    assert run.files[0]["incremental"] is True
    assert run.files[0]["since"] == "2026-11-26T04:00:00+00:00"


def test_command_says_a_later_pull_continues_from_the_newest_job(bigquery: FakeBigQuery) -> None:
    now = timezone.now()
    newest = now - datetime.timedelta(hours=2)
    bigquery.jobs = [bq_job("recent", now - datetime.timedelta(days=2)), bq_job("newest", newest)]
    command("--project", PROJECT, "--region", "region-us")

    out = command("--project", PROJECT, "--region", "region-us", "--days", "30")

    assert bigquery.last().since == newest - datetime.timedelta(hours=6)
    assert "Read 1 rows" in out
    assert "(the newest job stored less 6 hours)" in out
    assert "0 jobs new or changed." in out


def test_repulling_the_same_rows_writes_nothing(bigquery: FakeBigQuery) -> None:
    bigquery.jobs = [bq_job("job_a", at(26, 7)), bq_job("job_b", at(26, 9)),
                     bq_job("job_c", at(26, 10))]  # fmt: skip
    first = pull()
    before = (list(BigQueryJob.objects.values_list("pk", "digest", "run_id")),
              usage(datetime.date(2026, 11, 26)))  # fmt: skip

    again = pull()

    assert again.rows_read == 3  # all within six hours of the newest
    assert again.jobs_written == 0
    assert (again.first_day, again.last_day) == (None, None)
    assert (list(BigQueryJob.objects.values_list("pk", "digest", "run_id")),
            usage(datetime.date(2026, 11, 26))) == before  # fmt: skip
    assert set(BigQueryJob.objects.values_list("run_id", flat=True)) == {first.pk}


def test_job_that_finished_since_the_last_pull_is_replaced_and_its_day_changes(
    bigquery: FakeBigQuery,
) -> None:
    running = bq_job(
        "job_running", at(26, 9), state="RUNNING", end_time=None,
        total_bytes_processed=None, total_bytes_billed=None, total_slot_ms=None,
    )  # fmt: skip
    bigquery.jobs = [bq_job("job_done", at(26, 8)), running]
    pull()
    assert usage(datetime.date(2026, 11, 26)) == (2, TIB // 4, 12_000, 1_562_500_000)
    running |= {"state": "DONE", "end_time": at(26, 9, 40), "total_bytes_processed": 2 * TIB,
                "total_bytes_billed": 2 * TIB, "total_slot_ms": 3_600_000}  # fmt: skip
    bigquery.jobs[1] = running

    run = pull(now=NOW + datetime.timedelta(hours=1))

    assert (run.rows_read, run.jobs_written) == (2, 1)
    job = BigQueryJob.objects.get(job_id="job_running")
    assert (job.state, job.end_time, job.total_bytes_billed) == ("DONE", at(26, 9, 40), 2 * TIB)
    assert job.cost_nanos == 12_500_000_000  # 2 TiB at 6.25 USD
    assert job.run_id == run.pk
    # 0.25 TiB + 2 TiB billed, at 6.25 USD per TiB.
    assert usage(datetime.date(2026, 11, 26)) == (2, TIB // 4 + 2 * TIB, 3_612_000,
                                                  14_062_500_000)  # fmt: skip


def test_another_projects_jobs_do_not_move_where_a_pull_starts(bigquery: FakeBigQuery) -> None:
    bigquery.jobs = [bq_job("theirs", at(26, 10), project_id="acme-marketing")]
    pull(project="acme-marketing")
    bigquery.jobs = week_of_jobs()

    run = pull()

    assert bigquery.last().since == datetime.datetime(2026, 11, 19, tzinfo=UTC)
    assert run.files[0]["incremental"] is False
    assert run.jobs_written == 4


# --- Rows as the client gives them -----------------------------------------------------------


def test_records_repeated_fields_and_timestamps_become_what_the_import_reads() -> None:
    row = as_row(bq_job(
        "job_a", datetime.datetime(2026, 11, 26, 9, 0, 0, 123456, tzinfo=UTC),
        end_time=datetime.datetime(2026, 11, 26, 9, 5),  # naive: UTC
        labels=[{"key": "dbt_model", "value": "fct_orders"}],
        referenced_tables=[table("fct_orders"), table("dim_customers")],
    ))  # fmt: skip

    (plain,) = job_rows([row])

    assert plain["creation_time"] == "2026-11-26T09:00:00.123456+00:00"
    assert plain["end_time"] == "2026-11-26T09:05:00+00:00"
    assert plain["referenced_tables"] == [table("fct_orders"), table("dim_customers")]
    assert plain["labels"] == [{"key": "dbt_model", "value": "fct_orders"}]
    assert plain["total_bytes_billed"] == TIB // 4
    parsed = parse_job(plain, keep_query_text=False)
    assert parsed.creation_time == datetime.datetime(2026, 11, 26, 9, 0, 0, 123456, tzinfo=UTC)
    assert parsed.end_time == datetime.datetime(2026, 11, 26, 9, 5, tzinfo=UTC)


def test_nested_records_and_repeated_fields_are_stored(bigquery: FakeBigQuery) -> None:
    bigquery.jobs = [
        bq_job(
            "script_child", at(26, 9), user_email=None,
            principal_subject="serviceAccount:dbt@acme-analytics.iam.gserviceaccount.com",
            statement_type="CREATE_TABLE_AS_SELECT", parent_job_id="script_job",
            referenced_tables=[table("fct_orders"), table("dim_customers"), table("fct_orders")],
            destination_table=table("orders_by_customer", "intermediate"),
            labels=[{"key": "dbt_model", "value": "orders_by_customer"},
                    {"key": "env", "value": None}],
            reservation_id="acme-admin:US.etl", total_slot_ms=7_200_000,
            error_result={"reason": "stopped", "location": None, "message": "Job was cancelled"},
        ),
    ]  # fmt: skip

    pull()

    job = BigQueryJob.objects.select_related("user", "destination_table", "table_set").get()
    assert job.user.email == "dbt@acme-analytics.iam.gserviceaccount.com"
    assert job.user.is_service_account
    assert sorted(t.full_name for t in job.table_set.tables.all()) == [
        "acme-analytics.marts.dim_customers", "acme-analytics.marts.fct_orders",
    ]  # fmt: skip
    assert job.destination_table.full_name == "acme-analytics.intermediate.orders_by_customer"
    assert job.labels == {"dbt_model": "orders_by_customer", "env": ""}
    assert (job.error_reason, job.error_message) == ("stopped", "Job was cancelled")
    assert (job.parent_job_id, job.start_time) == (
        "script_job",
        at(26, 9) + datetime.timedelta(seconds=1),
    )
    assert job.pricing == BigQueryJob.Pricing.CAPACITY
    assert job.query_text == ""
    assert len(job.query_hash) == 64


def as_export_line(job: dict) -> str:
    """The same job as a line of `bq extract` JSON: times as text, INT64 as strings."""
    exported = {}
    for name, value in job.items():
        if isinstance(value, datetime.datetime):
            exported[name] = value.strftime("%Y-%m-%d %H:%M:%S.%f UTC")
        elif isinstance(value, int) and not isinstance(value, bool):
            exported[name] = str(value)
        elif value is not None:
            exported[name] = value
    return json.dumps(exported) + "\n"


def test_pull_after_a_file_import_of_the_same_jobs_continues_it_and_writes_nothing(
    bigquery: FakeBigQuery, tmp_path: Path
) -> None:
    bigquery.jobs = week_of_jobs()
    export = tmp_path / "jobs.jsonl"
    export.write_text("".join(as_export_line(job) for job in bigquery.jobs))
    imported = import_job_files([export], location="US", today=NOW.date())
    assert imported.jobs_written == 4

    run = pull(region="us")

    assert bigquery.last().since == at(26, 4)
    assert (run.rows_read, run.jobs_written) == (1, 0)


def test_a_client_can_be_handed_in(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_google(project: str) -> None:
        raise AssertionError("make_client must not be called")

    monkeypatch.setattr(cost.google, "make_client", no_google)
    fake = FakeBigQuery()
    fake.jobs = week_of_jobs()

    run = pull(client=fake)

    assert run.jobs_written == 4
    assert VIEW in fake.last().sql


# --- The byte cap ------------------------------------------------------------------------------


@pytest.mark.parametrize(("cap", "expected"), [(5 * 1024**3, 5 * 1024**3), (0, None)])
def test_byte_cap_is_set_on_the_job_config(
    bigquery: FakeBigQuery, settings: Settings, cap: int, expected: int | None
) -> None:
    settings.QUARTERDECK_BIGQUERY_MAX_BYTES_BILLED = cap

    pull()

    assert bigquery.last().config.maximum_bytes_billed == expected
    assert not bigquery.last().config.dry_run


# --- Failures ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "error", "message"),
    [
        ("client", DefaultCredentialsError("Your default credentials were not found."),
         "no usable Google credentials"),
        ("query", Forbidden("Access Denied: Table acme-analytics:region-us.INFORMATION_SCHEMA"
                            ".JOBS_BY_PROJECT: User does not have permission"),
         "BigQuery error 403: Access Denied: .* needs bigquery.jobs.listAll"),
        ("query", BadRequest("Query exceeded limit for bytes billed: 10485760. 20971520 or higher "
                             "required.", errors=[{"reason": "bytesBilledLimitExceeded"}]),
         r"would bill more than 10,485,760 bytes \(QUARTERDECK_BIGQUERY_MAX_BYTES_BILLED\).* "
         "Pull fewer --days"),
        ("query", ConnectionRefusedError(111, "Connection refused"),
         r"could not reach BigQuery: ConnectionRefusedError\(111, 'Connection refused'\)"),
    ],
)  # fmt: skip
def test_google_error_records_a_failed_run_with_a_clear_message(
    bigquery: FakeBigQuery, settings: Settings, where: str, error: Exception, message: str
) -> None:
    settings.QUARTERDECK_BIGQUERY_MAX_BYTES_BILLED = 10 * 1024**2
    bigquery.jobs = week_of_jobs()
    bigquery.errors[where] = error

    with pytest.raises(CommandError, match=message) as raised:
        command("--project", PROJECT, "--region", "region-us")

    run = JobImportRun.objects.get()
    assert f"nothing was pulled (job import run {run.pk} marked failed)" in str(raised.value)
    assert (run.kind, run.status) == (JobImportRun.Kind.BIGQUERY, JobImportRun.Status.FAILED)
    assert re.search(message, run.error)
    assert (run.project_id, run.location) == (PROJECT, "US")
    assert run.files[0]["name"] == "acme-analytics.region-us.INFORMATION_SCHEMA.JOBS_BY_PROJECT"
    assert run.finished_at is not None
    assert run.started_by_name.startswith("cli:")
    assert not BigQueryJob.objects.exists()


def test_error_while_rows_arrive_fails_the_run_and_stores_nothing(
    bigquery: FakeBigQuery,
) -> None:
    bigquery.jobs = week_of_jobs()
    bigquery.errors["page"] = ServiceUnavailable("Backend error, try again")

    with pytest.raises(JobImportFailed) as raised:
        pull()

    run = JobImportRun.objects.get()
    assert raised.value.run == run
    assert run.status == JobImportRun.Status.FAILED
    assert run.error == "BigQuery error 503: Backend error, try again"
    assert run.files[0]["since"] == "2026-11-19T00:00:00+00:00"
    assert not BigQueryJob.objects.exists()
    assert not JobUsageDay.objects.exists()


def test_bad_row_fails_the_run_naming_the_row_and_field(bigquery: FakeBigQuery) -> None:
    now = timezone.now()
    bigquery.jobs = [bq_job("job_a", now - datetime.timedelta(hours=2)),
                     bq_job("", now - datetime.timedelta(hours=1))]  # fmt: skip

    with pytest.raises(CommandError, match="JOBS_BY_PROJECT, row 2, field job_id: missing"):
        command("--project", PROJECT, "--region", "region-us")

    run = JobImportRun.objects.get()
    assert run.status == JobImportRun.Status.FAILED
    assert run.files[0]["name"] == "acme-analytics.region-us.INFORMATION_SCHEMA.JOBS_BY_PROJECT"
    assert not BigQueryJob.objects.exists()


def test_a_job_from_google_outside_the_window_fails_the_pull_and_stores_nothing(
    bigquery: FakeBigQuery,
) -> None:
    now = timezone.now()
    bigquery.jobs = [bq_job("job_a", now - datetime.timedelta(hours=2)),
                     bq_job("job_b", now - datetime.timedelta(hours=1),
                            end_time=datetime.datetime(2999, 1, 1, tzinfo=UTC))]  # fmt: skip

    with pytest.raises(CommandError) as failed:
        command("--project", PROJECT, "--region", "region-us")

    assert "JOBS_BY_PROJECT, row 2, field end_time: '2999-01-01T00:00:00+00:00' is outside" in (
        str(failed.value)
    )
    assert JobImportRun.objects.get().status == JobImportRun.Status.FAILED
    assert not BigQueryJob.objects.exists()
    assert not JobUsageDay.objects.exists()
