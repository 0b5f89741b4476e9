"""import_jobs: JOBS exports in, checked field by field, priced, idempotent, summed per day."""

import datetime
import gzip
import hashlib
import json
import os
import resource
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone

from cost.models import (
    BigQueryJob,
    BigQueryTable,
    JobImportRun,
    JobUsageDay,
    JobUser,
    TableCombo,
    TableSet,
)
from cost.usage.jobs import JobImportFailed
from cost.usage.runs import compact_jobs, import_job_files
from tests.cost.factories import job_row, table_ref, write_jobs

pytestmark = pytest.mark.django_db

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "real-samples"
SAMPLE = SAMPLES / "bq-information-schema-jobs-row.json"
TODAY = datetime.date(2026, 11, 26)
TIB = 2**40


job, table, write = job_row, table_ref, write_jobs


def load(tmp_path: Path, rows: list, name: str = "jobs.jsonl", **options) -> JobImportRun:
    return import_job_files([write(tmp_path / name, rows)], today=TODAY, **options)


# --- The real sample ---------------------------------------------------------------------


def test_real_sample_file_is_refused_as_pretty_printed_json(tmp_path):
    with pytest.raises(JobImportFailed) as failed:
        import_job_files([SAMPLE], today=TODAY)
    (problem,) = failed.value.problems
    assert problem.file == str(SAMPLE)
    assert problem.line is None
    assert "not one job per line" in problem.message
    assert not BigQueryJob.objects.exists()
    assert failed.value.run.status == JobImportRun.Status.FAILED


def test_real_sample_row_names_the_columns_it_lacks(tmp_path):
    row = json.loads(SAMPLE.read_text())["information_schema_jobs_by_project_rows"][0]
    with pytest.raises(JobImportFailed) as failed:
        load(tmp_path, [row])
    named = {(p.line, p.field, p.message) for p in failed.value.problems}
    assert named == {
        (1, "project_id", "missing"),
        (1, "job_id", "missing"),
        (1, "creation_time", "missing"),
    }


def test_real_sample_row_imports_with_its_job_reference(tmp_path):
    sample = json.loads(SAMPLE.read_text())
    row = dict(sample["information_schema_jobs_by_project_rows"][0])
    resource = sample["jobs_get_resource"]
    created = int(resource["statistics"]["creationTime"]) / 1000
    row.update(
        project_id=resource["jobReference"]["projectId"],
        job_id=resource["jobReference"]["jobId"],
        creation_time=datetime.datetime.fromtimestamp(created, datetime.UTC).isoformat(),
        job_type="QUERY",
        statement_type="SELECT",
        referenced_tables=[
            {"project_id": "bigquery-public-data", "dataset_id": "new_york_citibike",
             "table_id": "citibike_trips"}
        ],
        total_bytes_billed=resource["statistics"]["query"]["totalBytesBilled"],
    )  # fmt: skip
    run = import_job_files([write(tmp_path / "one.jsonl", [row])], today=datetime.date(2023, 7, 3))
    stored = BigQueryJob.objects.get()
    assert run.rows_read == 1
    assert run.jobs_written == 1
    assert stored.job_id == "bquxjob_451f07ae_18915f3eea3"
    assert stored.creation_time == datetime.datetime(2023, 7, 2, 9, 34, 15, 920000, datetime.UTC)
    assert stored.total_bytes_processed == 1135353688  # an INT64 that came as a string
    assert stored.total_slot_ms == 7534
    assert stored.total_bytes_billed == 1135607808
    assert stored.user.email == "*****@qwiklabs.net"
    assert not stored.user.is_service_account
    assert stored.query_hash == hashlib.sha256(row["query"].encode()).hexdigest()
    assert stored.query_text == ""  # not kept unless the setting allows it
    # 1,135,607,808 bytes / 2^40 x 6.25 USD = 0.006455... USD
    assert stored.cost == (Decimal(1135607808) / TIB * Decimal("6.25")).quantize(Decimal("1e-9"))
    assert (
        str(stored.table_set.tables.get())
        == "bigquery-public-data.new_york_citibike.citibike_trips"
    )


# --- What is stored --------------------------------------------------------------------------


def test_query_text_is_kept_only_when_the_setting_allows(tmp_path):
    with override_settings(QUARTERDECK_JOBS_KEEP_QUERY_TEXT=True):
        load(tmp_path, [job("j1", query="SELECT email FROM customers")])
    assert BigQueryJob.objects.get().query_text == "SELECT email FROM customers"


def test_fields_are_stored_as_the_export_gives_them(tmp_path):
    load(tmp_path, [job(
        "j1",
        creation_time="2026-11-20T10:00:00.250Z",
        start_time="2026-11-20 10:00:01 UTC",
        end_time="2026-11-20T10:00:05+00:00",
        user_email=None,
        principal_subject="serviceAccount:dbt@acme.iam.gserviceaccount.com",
        statement_type="MERGE",
        state="DONE",
        priority="BATCH",
        total_bytes_processed=123,
        cache_hit="false",
        referenced_tables=[table("b"), table("a"), table("a")],
        destination_table=table("out"),
        labels=[{"key": "dbt_model", "value": "fct_orders"}, {"key": "team", "value": "ae"}],
        error_result={"reason": "quotaExceeded", "message": "Quota exceeded"},
        job_stages=[{"name": "S00"}],
        unknown_column="ignored",
    )])  # fmt: skip
    stored = BigQueryJob.objects.get()
    assert stored.creation_time == datetime.datetime(2026, 11, 20, 10, 0, 0, 250000, datetime.UTC)
    assert stored.end_time - stored.start_time == datetime.timedelta(seconds=4)
    assert stored.user.email == "dbt@acme.iam.gserviceaccount.com"
    assert stored.user.is_service_account
    assert (stored.statement_type, stored.state, stored.priority) == ("MERGE", "DONE", "BATCH")
    assert stored.total_bytes_processed == 123
    assert sorted(t.table_id for t in stored.table_set.tables.all()) == ["a", "b"]
    assert stored.destination_table.full_name == "acme.marts.out"
    assert stored.labels == {"dbt_model": "fct_orders", "team": "ae"}
    assert (stored.error_reason, stored.error_message) == ("quotaExceeded", "Quota exceeded")


def test_times_as_seconds_since_1970_are_read_as_bq_query_writes_them(tmp_path):
    rows = [job("j1", creation_time="1.68829045592E9", end_time=1688290456.728)]
    import_job_files([write(tmp_path / "j.jsonl", rows)], today=datetime.date(2023, 7, 3))
    stored = BigQueryJob.objects.get()
    assert stored.creation_time == datetime.datetime(2023, 7, 2, 9, 34, 15, 920000, datetime.UTC)
    assert stored.end_time == datetime.datetime(2023, 7, 2, 9, 34, 16, 728000, datetime.UTC)


def test_an_anonymous_result_table_is_not_a_destination(tmp_path):
    load(tmp_path, [job("j1", destination_table=table("anon1234", dataset="_5a38c5e2"))])
    assert BigQueryJob.objects.get().destination_table is None
    assert not BigQueryTable.objects.filter(table_id="anon1234").exists()


def test_jobs_reading_the_same_tables_share_one_set_with_its_pairs_and_triples(tmp_path):
    three = [table("a"), table("b"), table("c")]
    load(tmp_path, [
        job("j1", referenced_tables=three),
        job("j2", referenced_tables=list(reversed(three))),
        job("j3", referenced_tables=[table("a")]),
    ])  # fmt: skip
    assert TableSet.objects.count() == 2
    big = TableSet.objects.get(size=3)
    assert big.jobs.count() == 2
    assert TableCombo.objects.filter(table_set=big, third__isnull=True).count() == 3
    assert TableCombo.objects.filter(table_set=big, third__isnull=False).count() == 1


# --- Cost ------------------------------------------------------------------------------------


def test_on_demand_cost_is_bytes_billed_times_the_regions_price(tmp_path):
    load(tmp_path, [job("j1", total_bytes_billed=str(2 * TIB))])
    assert BigQueryJob.objects.get().cost == Decimal("12.5")  # 2 TiB x 6.25
    with override_settings(QUARTERDECK_BQ_PRICE_PER_TIB={"asia-northeast1": Decimal("7.5"),
                                                         "*": Decimal("6.25")}):  # fmt: skip
        import_job_files(
            [write(tmp_path / "tokyo.jsonl", [job("j2", total_bytes_billed=str(TIB))])],
            location="region-asia-northeast1", today=TODAY,
        )  # fmt: skip
    tokyo = BigQueryJob.objects.get(job_id="j2")
    assert (tokyo.cost, tokyo.location, tokyo.pricing) == (Decimal("7.5"), "region-asia-northeast1",
                                                           "on_demand")  # fmt: skip


def test_capacity_cost_is_slot_hours_times_the_editions_price(tmp_path):
    with override_settings(
        QUARTERDECK_BQ_RESERVATION_EDITIONS={"admin:us.gold": "enterprise_plus", "*": "enterprise"}
    ):
        load(tmp_path, [
            job("j1", reservation_id="admin:US.prod", total_slot_ms="7200000",
                total_bytes_billed=str(TIB)),
            job("j2", reservation_id="admin:US.gold", total_slot_ms="1800000"),
        ])  # fmt: skip
    prod, gold = BigQueryJob.objects.get(job_id="j1"), BigQueryJob.objects.get(job_id="j2")
    assert (prod.pricing, prod.cost) == ("capacity", Decimal("0.12"))  # 2 slot-hours x 0.06
    assert gold.cost == Decimal("0.05")  # half a slot-hour x 0.10


# --- Daily usage -------------------------------------------------------------------------


def test_daily_usage_counts_query_jobs_once_and_leaves_script_parents_out(tmp_path):
    load(tmp_path, [
        job("q1", total_bytes_billed=str(TIB)),
        job("q2", cache_hit=True, referenced_tables=[]),
        job("script", statement_type="SCRIPT", total_bytes_billed=str(3 * TIB),
            referenced_tables=[table("orders"), table("customers")]),
        job("child1", parent_job_id="script", statement_type="INSERT",
            total_bytes_billed=str(TIB)),
        job("child2", parent_job_id="script", statement_type="MERGE",
            total_bytes_billed=str(2 * TIB), referenced_tables=[table("customers")]),
        job("load", job_type="LOAD", statement_type="", total_bytes_billed="0"),
        job("next-day", creation_time="2026-11-21 00:00:00 UTC", total_slot_ms="5"),
    ])  # fmt: skip
    day = datetime.date(2026, 11, 20)
    rows = JobUsageDay.objects.filter(day=day)
    # q1 and child1 read {orders}; child2 {customers}; q2 read nothing; script and load out
    assert sum(r.queries for r in rows) == 4
    assert sum(r.cache_hits for r in rows) == 1
    assert sum(r.bytes_billed for r in rows) == 4 * TIB
    assert sum(r.cost_nanos for r in rows) == 25 * 10**9  # 4 TiB x 6.25 USD
    orders = rows.get(table_set__members__table__table_id="orders", table_set__size=1)
    assert (orders.queries, orders.bytes_billed) == (2, 2 * TIB)
    assert rows.get(table_set__isnull=True).queries == 1
    assert JobUsageDay.objects.get(day=datetime.date(2026, 11, 21)).slot_ms == 5


def test_a_second_import_of_the_same_file_writes_nothing(tmp_path):
    rows = [job("j1", total_bytes_billed=str(TIB)), job("j2")]
    first = load(tmp_path, rows)
    usage = list(JobUsageDay.objects.values_list("id", "queries", "cost_nanos"))
    second = load(tmp_path, rows, name="again.jsonl")
    assert (first.jobs_written, second.jobs_written, second.rows_read) == (2, 0, 2)
    assert list(JobUsageDay.objects.values_list("id", "queries", "cost_nanos")) == usage
    assert BigQueryJob.objects.count() == 2


def test_a_job_that_finished_since_the_last_import_is_replaced(tmp_path):
    load(tmp_path, [job("j1", state="RUNNING")])
    run = load(tmp_path, [job("j1", state="DONE", total_bytes_billed=str(TIB))], name="b.jsonl")
    assert run.jobs_written == 1
    stored = BigQueryJob.objects.get()
    assert (stored.state, stored.cost) == ("DONE", Decimal("6.25"))
    assert JobUsageDay.objects.get().cost_nanos == 6_250_000_000


def test_a_job_whose_day_changed_on_reimport_leaves_its_old_day(tmp_path):
    load(tmp_path, [job("j1", creation_time="2026-11-20 23:30:00 UTC"), job("j2")])
    # The same job, now written with the time it ran in UTC+1: the next UTC day.
    moved = job("j1", creation_time="2026-11-21T23:30:00+01:00", total_bytes_billed=str(TIB))
    run = load(tmp_path, [moved, job("j2")], name="b.jsonl")
    assert run.jobs_written == 1
    assert list(JobUsageDay.objects.values_list("day", "queries", "cost_nanos")) == [
        (datetime.date(2026, 11, 20), 1, 0),  # j2 only
        (datetime.date(2026, 11, 21), 1, 6_250_000_000),  # j1
    ]
    assert (run.first_day, run.last_day) == (datetime.date(2026, 11, 20),
                                             datetime.date(2026, 11, 21))  # fmt: skip


def test_gzipped_exports_are_read_and_progress_reaches_the_end(tmp_path):
    seen = []
    path = write(tmp_path / "jobs.json.gz", [job(f"j{i}") for i in range(3)], compress=True)
    run = import_job_files([path], today=TODAY, progress=seen.append)
    assert run.jobs_written == 3
    assert seen[-1] == 1.0


# --- Bad input ---------------------------------------------------------------------------


def test_one_bad_row_writes_nothing_and_every_problem_is_named(tmp_path):
    good = write(tmp_path / "good.jsonl", [job("g1"), job("g2")])
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        json.dumps(job("b1")) + "\n"
        + json.dumps(job("b2", total_bytes_billed="12.5", cache_hit="maybe")) + "\n"
        + "{not json\n"
        + json.dumps(job("b4", referenced_tables=[{"project_id": "acme", "dataset_id": "d"}]))
        + "\n"
    )  # fmt: skip
    with pytest.raises(JobImportFailed) as failed:
        import_job_files([good, bad], today=TODAY)
    assert [str(p) for p in failed.value.problems] == [
        f"{bad}, line 2, field total_bytes_billed: '12.5' is not a whole number of at least 0",
        f'{bad}, line 2, field cache_hit: expected true or false, got "maybe"',
        f"{bad}, line 3: not valid JSON (Expecting property name enclosed in double quotes: "
        "line 1 column 2 (char 1))",
        f"{bad}, line 4, field referenced_tables[0].table_id: missing",
    ]
    assert not BigQueryJob.objects.exists()
    assert not JobUser.objects.exists()
    assert not BigQueryTable.objects.exists()
    assert not JobUsageDay.objects.exists()
    run = failed.value.run
    assert run.status == JobImportRun.Status.FAILED
    assert "line 2" in run.error


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        # PostgreSQL refuses NUL in text and JSON; SQLite takes it: refused on both.
        ({"user_email": "ann\u0000@acme.example"}, "user_email", "contains a NUL character"),
        ({"query": "SELECT '\u0000'"}, "query", "contains a NUL character"),
        ({"labels": [{"key": "team", "value": "a\u0000"}]}, "labels", "contains a NUL"),
        ({"error_result": {"reason": "x", "message": "\u0000"}}, "error_result", "contains a"),
        ({"referenced_tables": [table("t\u0000")]}, "referenced_tables[0].table_id",
         "contains a NUL character"),
        # json.loads gives half a surrogate pair, which no database stores.
        ({"job_id": "j\ud800"}, "job_id", "contains half a surrogate pair"),
        ({"query": "SELECT '\udc00'"}, "query", "contains half a surrogate pair"),
        # Longer than the columns: PostgreSQL refuses, SQLite takes it.
        ({"referenced_tables": [{"project_id": "p" * 129, "dataset_id": "d", "table_id": "t"}]},
         "referenced_tables[0].project_id", "longer than 128 characters"),
        ({"referenced_tables": [table("t" * 1025)]}, "referenced_tables[0].table_id",
         "longer than 1024 characters"),
        ({"parent_job_id": "p" * 1025}, "parent_job_id", "longer than 1024 characters"),
        ({"total_bytes_billed": "9" * 5000}, "total_bytes_billed", "is not a whole number"),
        ({"creation_time": "0001-01-01T00:30:00+01:00"}, "creation_time", "is not a time"),
        ({"end_time": "9999-12-31T23:00:00-05:00"}, "end_time", "is not a time"),
    ],
)  # fmt: skip
def test_values_no_database_stores_are_named_with_their_line_and_field(
    tmp_path, fields, field, message
):
    with pytest.raises(JobImportFailed) as failed:
        load(tmp_path, [job("j0"), job("j1") | fields])
    (problem,) = failed.value.problems
    assert (problem.line, problem.field) == (2, field)
    assert message in problem.message
    assert failed.value.run.status == JobImportRun.Status.FAILED
    assert not BigQueryJob.objects.exists()


def _days_from_now(days: float) -> str:
    moment = timezone.now() + datetime.timedelta(days=days)
    return f"{moment.astimezone(datetime.UTC):%Y-%m-%d %H:%M:%S} UTC"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"creation_time": "2999-12-31 10:00:00 UTC"}, "creation_time"),
        ({"creation_time": "1970-01-01 00:00:00 UTC"}, "creation_time"),
        ({"creation_time": "0"}, "creation_time"),  # bq --format=json: seconds since 1970
        ({"creation_time": "2014-12-31T23:59:59Z"}, "creation_time"),
        ({"start_time": "2999-12-31 10:00:01 UTC"}, "start_time"),
        ({"end_time": "1970-01-01T00:00:05Z"}, "end_time"),
    ],
    ids=["created-2999", "created-1970", "epoch-zero", "just-before-2015", "started-2999",
         "ended-1970"],
)  # fmt: skip
def test_times_outside_the_job_history_era_are_refused_and_nothing_is_written(
    tmp_path, fields, field
):
    load(tmp_path, [job("kept")])
    before = list(BigQueryJob.objects.values_list("job_id", "creation_time"))
    with pytest.raises(JobImportFailed) as failed:
        load(tmp_path, [job("j0"), job("j1") | fields], name="odd.jsonl")
    (problem,) = failed.value.problems
    assert (problem.file, problem.line, problem.field) == (str(tmp_path / "odd.jsonl"), 2, field)
    assert "is outside 2015-01-01 to " in problem.message
    assert list(BigQueryJob.objects.values_list("job_id", "creation_time")) == before
    assert list(JobUsageDay.objects.values_list("day", flat=True)) == [datetime.date(2026, 11, 20)]


def test_a_job_created_more_than_two_days_ahead_is_refused_one_day_ahead_is_not(tmp_path):
    with pytest.raises(JobImportFailed) as failed:
        load(tmp_path, [job("ahead", creation_time=_days_from_now(3))])
    assert failed.value.problems[0].field == "creation_time"
    run = load(tmp_path, [job("soon", creation_time=_days_from_now(1))], name="soon.jsonl")
    assert run.jobs_written == 1


def test_import_jobs_of_a_job_created_in_2999_exits_naming_the_line(tmp_path):
    path = write(tmp_path / "2999.jsonl", [job("j1", creation_time="2999-12-31 10:00:00 UTC")])
    with pytest.raises(CommandError) as error:
        call_command("import_jobs", str(path))
    assert f"{path}, line 1, field creation_time: '2999-12-31 10:00:00 UTC' is outside" in str(
        error.value
    )
    assert not BigQueryJob.objects.exists()
    assert not JobUsageDay.objects.exists()


def test_a_label_given_twice_keeps_its_last_value(tmp_path):
    labels = [{"key": "team", "value": None}, {"key": "team", "value": "ae"}]
    load(tmp_path, [job("j1", labels=labels)])
    assert BigQueryJob.objects.get().labels == {"team": "ae"}


def test_a_corrupt_gzip_file_is_named(tmp_path):
    rows = [job(f"j{i}", query=f"SELECT {i * 7919 % 10007}") for i in range(3000)]
    path = write(tmp_path / "jobs.jsonl.gz", rows, compress=True)
    data = bytearray(path.read_bytes())
    data[100:200] = bytes(b ^ 0xFF for b in data[100:200])  # damaged in the middle
    path.write_bytes(bytes(data))
    with pytest.raises(JobImportFailed) as failed:
        import_job_files([path], today=TODAY)
    (problem,) = failed.value.problems
    assert (problem.file, problem.line) == (str(path), None)
    assert problem.message.startswith("cannot be read: Error -3 while decompressing")
    assert failed.value.run.status == JobImportRun.Status.FAILED
    assert not BigQueryJob.objects.exists()


def test_a_file_that_cannot_be_opened_fails_the_run_rather_than_leaving_it_running(tmp_path):
    path = write(tmp_path / "jobs.jsonl", [job("j1")])
    # No file descriptor left, as for a file the user may not read: opening it fails.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    lowest_free = os.open(os.devnull, os.O_RDONLY)
    os.close(lowest_free)
    resource.setrlimit(resource.RLIMIT_NOFILE, (lowest_free, hard))
    try:
        with pytest.raises(JobImportFailed) as failed:
            import_job_files([path], today=TODAY)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    run = JobImportRun.objects.get()
    assert run == failed.value.run
    assert run.status == JobImportRun.Status.FAILED
    assert "Too many open files" in run.error
    assert run.finished_at is not None


def test_missing_and_unknown_files_are_refused_before_reading(tmp_path):
    with pytest.raises(JobImportFailed) as failed:
        import_job_files([tmp_path / "nope.jsonl"], today=TODAY)
    assert failed.value.problems[0].message == "no such file"
    csv = tmp_path / "jobs.csv"
    csv.write_text("job_id\nj1\n")
    with pytest.raises(JobImportFailed) as failed:
        import_job_files([csv], today=TODAY)
    assert failed.value.problems[0].message == "expected newline-delimited JSON"


def test_the_command_prints_counts_and_lists_problems(tmp_path, capsys):
    path = write(tmp_path / "jobs.jsonl", [job("j1"), job("j2")])
    call_command("import_jobs", str(path), "--region", "EU")
    out = capsys.readouterr().out
    assert "2 rows" in out
    assert "2 jobs new or changed" in out
    assert BigQueryJob.objects.filter(location="EU").count() == 2
    bad = write(tmp_path / "bad.jsonl", [job("j3", creation_time="last tuesday")])
    with pytest.raises(CommandError) as error:
        call_command("import_jobs", str(bad))
    assert f"{bad}, line 1, field creation_time: 'last tuesday' is not a time" in str(error.value)


# --- Retention ---------------------------------------------------------------------------


@override_settings(QUARTERDECK_JOBS_RETENTION_DAYS=30)
def test_old_job_rows_are_deleted_and_their_daily_usage_stays(tmp_path):
    old = job("old", creation_time="2026-10-01 09:00:00 UTC", total_bytes_billed=str(TIB))
    recent = job("new", creation_time="2026-11-20 09:00:00 UTC")
    run = load(tmp_path, [old, recent])
    # 26 Nov - 30 days = 27 Oct: the 1 Oct job is summed, then its row is deleted
    assert list(BigQueryJob.objects.values_list("job_id", flat=True)) == ["new"]
    old_day = JobUsageDay.objects.get(day=datetime.date(2026, 10, 1))
    assert (old_day.queries, old_day.cost_nanos) == (1, 6_250_000_000)
    assert run.jobs_written == 2

    again = load(tmp_path, [old, recent], name="again.jsonl")
    assert (again.rows_skipped, again.jobs_written) == (1, 0)
    assert JobUsageDay.objects.get(day=datetime.date(2026, 10, 1)).queries == 1


@override_settings(QUARTERDECK_JOBS_RETENTION_DAYS=5)
def test_compact_jobs_deletes_rows_past_retention(tmp_path, capsys):
    rows = [job("a", creation_time="2026-11-20 09:00:00 UTC"),
            job("b", creation_time="2026-11-25 09:00:00 UTC")]  # fmt: skip
    import_job_files([write(tmp_path / "j.jsonl", rows)], today=datetime.date(2026, 11, 22))
    assert BigQueryJob.objects.count() == 2  # both within 5 days of 22 Nov
    assert compact_jobs(today=TODAY) == 1  # 26 Nov - 5 days: rows before 21 Nov go
    assert list(BigQueryJob.objects.values_list("job_id", flat=True)) == ["b"]
    assert JobUsageDay.objects.filter(day=datetime.date(2026, 11, 20)).exists()
    call_command("compact_jobs")
    assert "Deleted" in capsys.readouterr().out


@pytest.mark.parametrize("region", ["", "us central", "US;DROP", "x" * 65, "région"])
def test_a_region_that_is_no_bigquery_location_is_refused(tmp_path, region):
    path = write(tmp_path / "jobs.jsonl", [job("j1")])
    with pytest.raises(JobImportFailed) as failed:
        import_job_files([path], location=region, today=TODAY)
    assert "is not a BigQuery location" in failed.value.problems[0].message
    assert failed.value.run.status == JobImportRun.Status.FAILED
    assert not BigQueryJob.objects.exists()


def test_load_jobs_on_the_shared_free_pool_cost_nothing(tmp_path):
    load(tmp_path, [job("load", job_type="LOAD", reservation_id="default-pipeline",
                        total_slot_ms="36000000", total_bytes_billed="0")])  # fmt: skip
    assert BigQueryJob.objects.get().cost == 0


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzipped"])
def test_a_line_over_16_mib_is_named_by_file_and_line_and_nothing_is_written(tmp_path, compress):
    huge = json.dumps(job("huge", query="SELECT '" + "x" * (16 * 2**20) + "'"))
    text = "\n".join([json.dumps(job("j1")), huge, "{not json", json.dumps(job("j4"))]) + "\n"
    path = tmp_path / ("big.jsonl.gz" if compress else "big.jsonl")
    path.write_bytes(gzip.compress(text.encode(), compresslevel=1) if compress else text.encode())
    with pytest.raises(JobImportFailed) as failed:
        import_job_files([path], today=TODAY)
    assert [(p.file, p.line, p.message[:40]) for p in failed.value.problems] == [
        (str(path), 2, "longer than 16 MiB, the most a line may "),
        (str(path), 3, "not valid JSON (Expecting property name "),
    ]
    assert not BigQueryJob.objects.exists()
    assert not JobUser.objects.exists()


def test_a_line_that_is_not_utf8_is_named_and_the_next_lines_still_read(tmp_path):
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(json.dumps(job("j1")).encode() + b"\n"
                     + json.dumps(job("j2", user_email="ren\xe9@acme.example"),
                                  ensure_ascii=False).encode("latin-1") + b"\n"
                     + json.dumps(job("j3", total_bytes_billed="x")).encode() + b"\n")  # fmt: skip
    with pytest.raises(JobImportFailed) as failed:
        import_job_files([path], today=TODAY)
    assert [str(p) for p in failed.value.problems] == [
        f"{path}, line 2: not UTF-8 text",
        f"{path}, line 3, field total_bytes_billed: 'x' is not a whole number of at least 0",
    ]
