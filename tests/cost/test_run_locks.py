"""Import runs whose process is gone show failed, and one import at a time holds a billing
source (or the job history): a second is refused, naming the first. On SQLite and on
PostgreSQL (DATABASE_URL=postgres://...)."""

import csv
import datetime
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from cost import locks
from cost.billing.runs import import_files
from cost.models import BillingSource, CostFact, ImportRun, JobImportRun
from cost.models.billing import Run
from cost.usage.runs import import_job_files
from tests.cost.factories import job_row, write_jobs

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "tests" / "data" / "real-samples"
SAMPLE_JSONL = SAMPLES / "gcp-billing-standard-koku-202011.jsonl"
SAMPLE_CSV = SAMPLES / "gcp-billing-standard-koku-202011.csv"

on_postgresql = connection.vendor == "postgresql"


def gone_pid() -> int:
    """The id of a process that has ended."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def database_url() -> str:
    """The test database, for a subprocess."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    return (
        f"postgres://{settings['USER']}{password}@{settings['HOST'] or '127.0.0.1'}:"
        f"{settings['PORT'] or 5432}/{settings['NAME']}"
    )


@pytest.fixture
def hold() -> Iterator[Callable[[Run], None]]:
    """hold(run): make `run` a live holder of its unit, as an import in another process is:
    on SQLite a running row with this (live) process as its pid; on PostgreSQL also the
    unit's advisory lock, taken by a second session."""
    sessions: list[psycopg.Connection] = []

    def holding(run: Run) -> None:
        assert run.status == Run.Status.RUNNING
        assert run.pid == os.getpid()
        if on_postgresql:
            settings = connection.settings_dict
            session = psycopg.connect(
                dbname=settings["NAME"], user=settings["USER"], host=settings["HOST"],
                port=settings["PORT"] or 5432, password=settings["PASSWORD"] or None,
                autocommit=True,
            )  # fmt: skip
            session.execute("SELECT pg_advisory_lock(%s, %s)", list(run.lock_key()))
            sessions.append(session)

    yield holding
    for session in sessions:
        session.close()


def running(model: type[Run], **fields) -> Run:
    return model.objects.create(
        pid=os.getpid(), host=locks.this_host(), started_by_name="cli:ann", **fields
    )


def wait_until_gone(process: subprocess.Popen, run: Run) -> None:
    """The process has ended, and (PostgreSQL) the server has closed its session."""
    process.wait()
    deadline = time.monotonic() + 20
    while on_postgresql and locks.is_locked(run.lock_key()):
        assert time.monotonic() < deadline, "the server kept the killed session's lock"
        time.sleep(0.05)


def kill_while_running(command: list[str], model: type[Run]) -> Run:
    """Start `manage.py COMMAND` against the test database and SIGKILL it once its run
    is running; the run as it was left."""
    env = {**os.environ, "DEBUG": "1", "DATABASE_URL": database_url()}
    process = subprocess.Popen(
        [sys.executable, "manage.py", *command], cwd=REPO, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    try:
        while (run := model.objects.filter(pid=process.pid).first()) is None:
            assert process.poll() is None, process.stderr.read().decode()  # type: ignore[union-attr]
            assert time.monotonic() < deadline
            time.sleep(0.01)
    finally:
        process.kill()
        process.wait()
        process.stderr.close()  # type: ignore[union-attr]
    run.refresh_from_db()
    assert run.status == Run.Status.RUNNING, "the import ended before it could be killed"
    wait_until_gone(process, run)
    return run


# --- A killed import ---------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_killed_import_billing_shows_failed_on_the_pages_and_in_the_api(
    tmp_path, manager_client, finance_api
):
    source = BillingSource.objects.create(name="killed")
    with SAMPLE_CSV.open(newline="") as sample:
        header, *rows = list(csv.reader(sample))
    big = tmp_path / "big.csv"  # 10,000 rows: seconds of reading to kill it in
    with big.open("w", newline="") as out:
        csv.writer(out).writerows([header, *rows * 400])

    run = kill_while_running(["import_billing", str(big), "--source", "killed"], ImportRun)

    page = manager_client.get(reverse("cost:import-list")).content.decode()
    assert "Failed" in page
    assert "Running" not in page
    detail = manager_client.get(run.get_absolute_url()).content.decode()
    assert f"the process (pid {run.pid} on host {locks.this_host()}) is gone" in detail
    listed = finance_api.get("/api/v1/imports/").json()["results"]
    assert [(item["id"], item["status"]) for item in listed] == [(run.pk, "failed")]
    one = finance_api.get(f"/api/v1/imports/{run.pk}/").json()
    assert one["status"] == "failed"
    assert "Stopped without finishing" in one["error"]
    run.refresh_from_db()
    assert run.finished_at is not None
    assert not CostFact.objects.filter(month__source=source).exists()


@pytest.mark.django_db(transaction=True)
def test_a_killed_import_jobs_shows_failed_on_its_page_and_the_next_import_runs(
    tmp_path, manager_client
):
    created = f"{timezone.now() - datetime.timedelta(days=1):%Y-%m-%d %H:%M:%S} UTC"
    rows = [job_row(f"j{number}", creation_time=created) for number in range(30_000)]
    jobs = write_jobs(tmp_path / "jobs.jsonl", rows)

    run = kill_while_running(["import_jobs", str(jobs)], JobImportRun)

    page = manager_client.get(reverse("cost:usage-imports")).content.decode()
    assert "Failed" in page
    assert f"pid {run.pid} on host" in page
    assert JobImportRun.objects.get(pk=run.pk).status == JobImportRun.Status.FAILED
    small = write_jobs(tmp_path / "small.jsonl", rows[:2])
    assert import_job_files([small]).status == JobImportRun.Status.SUCCEEDED


# --- A second import while the first holds the unit -------------------------------------


@pytest.mark.django_db
def test_a_second_import_billing_into_a_held_source_is_refused_naming_the_first(hold):
    source = BillingSource.objects.create(name="busy")
    first = running(ImportRun, source=source)
    hold(first)

    with pytest.raises(CommandError) as refused:
        call_command("import_billing", str(SAMPLE_JSONL), "--source", "busy")

    message = str(refused.value)
    assert message.startswith("source 'busy' is being imported by run ")
    assert f"run {first.pk}, started by cli:ann at " in message
    assert f"(pid {os.getpid()} on host {locks.this_host()})" in message
    assert list(ImportRun.objects.values_list("pk", "status")) == [(first.pk, "running")]
    assert not CostFact.objects.exists()
    # Another source is not held.
    assert import_files(paths=[SAMPLE_JSONL], source_name="other").status == "succeeded"


@pytest.mark.django_db
def test_a_pull_into_a_held_source_is_refused_before_reaching_bigquery(hold, monkeypatch):
    from cost import google

    def no_client(project: str) -> None:
        raise AssertionError("a refused pull must not query BigQuery")

    monkeypatch.setattr(google, "make_client", no_client)
    table = "acme-billing.billing_export.gcp_billing_export_v1_01A2B3"
    source = BillingSource.objects.create(name="pulled", kind="bigquery", table=table)
    first = running(ImportRun, source=source)
    hold(first)

    with pytest.raises(CommandError, match=f"source 'pulled' is being imported by run {first.pk}"):
        call_command("pull_billing", "--source", "pulled")
    assert ImportRun.objects.count() == 1


@pytest.mark.django_db
def test_a_second_import_jobs_is_refused_naming_the_first(hold, tmp_path):
    first = running(JobImportRun, kind=JobImportRun.Kind.FILES, location="US")
    hold(first)
    jobs = write_jobs(tmp_path / "jobs.jsonl", [job_row("j1")])

    with pytest.raises(CommandError) as refused:
        call_command("import_jobs", str(jobs))

    assert str(refused.value).startswith(
        f"the job history is being imported by run {first.pk}, started by cli:ann at "
    )
    assert list(JobImportRun.objects.values_list("pk", "status")) == [(first.pk, "running")]


# --- A run whose process is gone ---------------------------------------------------------


@pytest.mark.django_db
def test_a_run_whose_process_is_gone_is_shown_failed(manager_client, finance_api):
    source = BillingSource.objects.create(name="stale")
    stale = running(ImportRun, source=source)
    ImportRun.objects.filter(pk=stale.pk).update(pid=gone_pid())
    stale.refresh_from_db()

    detail = manager_client.get(stale.get_absolute_url()).content.decode()

    assert "Failed" in detail
    assert f"the process (pid {stale.pid} on host {locks.this_host()}) is gone" in detail
    assert finance_api.get(f"/api/v1/imports/{stale.pk}/").json()["status"] == "failed"
    stale.refresh_from_db()
    assert stale.status == "failed"
    assert stale.finished_at is not None


@pytest.mark.django_db
def test_the_cost_overview_shows_a_dead_run_failed(manager_client):
    source = BillingSource.objects.create(name="stale")
    stale = running(ImportRun, source=source)
    ImportRun.objects.filter(pk=stale.pk).update(pid=gone_pid())
    manager_client.get(reverse("cost:overview"))
    stale.refresh_from_db()
    assert stale.status == "failed"


@pytest.mark.django_db
def test_a_run_whose_pid_now_names_a_newer_process_is_reaped():
    # This process's pid, on a run started before it was: a reused pid (SQLite), and no
    # lock held (PostgreSQL).
    stale = running(JobImportRun, kind=JobImportRun.Kind.FILES, location="US")
    JobImportRun.objects.filter(pk=stale.pk).update(
        started_at=timezone.now() - datetime.timedelta(days=400)
    )

    assert JobImportRun.objects.reap() == 1
    assert JobImportRun.objects.get(pk=stale.pk).status == "failed"


@pytest.mark.django_db
def test_a_dead_run_does_not_stop_the_next_import_and_is_marked_failed():
    source = BillingSource.objects.create(name="after-a-crash")
    stale = running(ImportRun, source=source)
    ImportRun.objects.filter(pk=stale.pk).update(pid=gone_pid())

    run = import_files(paths=[SAMPLE_JSONL], source_name="after-a-crash")

    assert run.status == "succeeded"
    assert CostFact.objects.filter(month__source=source).exists()
    stale.refresh_from_db()
    assert stale.status == "failed"
    assert "Stopped without finishing" in stale.error


@pytest.mark.django_db
def test_an_import_gives_its_source_back_when_it_ends(tmp_path):
    import_files(paths=[SAMPLE_JSONL], source_name="twice")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"cost": "twelve"}\n')
    with pytest.raises(Exception, match="cost"):
        import_files(paths=[bad], source_name="twice")
    run = import_files(paths=[SAMPLE_JSONL], source_name="twice")

    assert run.status == "succeeded"
    assert not locks.is_locked(run.lock_key()) if on_postgresql else True
