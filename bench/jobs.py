"""The `jobs` scenario: a million INFORMATION_SCHEMA.JOBS rows imported with
`manage.py import_jobs` (time, rows per second, peak memory), imported again (nothing
written), and the table-usage and joined-together reports over them.

Imported by bench.scenarios once Django is set up."""

import datetime
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from django.db import connection

from cost.models import BigQueryJob, JobImportRun, JobUsageDay
from cost.usage.reports import joined_tables, table_usage
from demo.job_history import write_jobs_file

ROOT = Path(__file__).resolve().parent.parent
# 180 days of ~5,570 jobs a day (busy weekdays, quiet weekends): 1,000,008 rows. The
# dates are fixed, so the file is made once and the figures compare from run to run.
JOBS_FILE = ROOT / "bench" / "results" / "jobs-1m-v1.jsonl.gz"
LAST_DAY = datetime.date(2026, 11, 25)
DAYS = 180
JOBS_PER_DAY = 5570
FIRST_DAY = LAST_DAY - datetime.timedelta(days=DAYS - 1)
# Jobs are kept this many days before LAST_DAY (the default retention), whatever the
# date the benchmark runs on: the import also folds the older 90 days into daily usage
# and deletes their job rows, as it would for a fresh 180-day export.
KEEP_DAYS = 90
REPORT_RUNS = 10
REPORT_BAR_MS = 500


def ensure_jobs_file() -> Path:
    """The generated 1M-row job history, made once and kept in bench/results/."""
    if not JOBS_FILE.exists():
        JOBS_FILE.parent.mkdir(parents=True, exist_ok=True)
        partial = JOBS_FILE.with_name("partial-" + JOBS_FILE.name)  # complete files only
        started = time.perf_counter()
        count = write_jobs_file(partial, start=FIRST_DAY, days=DAYS, jobs_per_day=JOBS_PER_DAY)
        partial.rename(JOBS_FILE)
        print(f"generated {JOBS_FILE.name}: {count:,} rows in "
              f"{time.perf_counter() - started:.0f} s", file=sys.stderr)  # fmt: skip
    return JOBS_FILE


def _database_url() -> str:
    database = connection.settings_dict
    if connection.vendor == "postgresql":
        return (f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/"
                f"{database['NAME']}")  # fmt: skip
    return f"sqlite:///{database['NAME']}"


def run_import_jobs(path: Path) -> tuple[float, float]:
    """`manage.py import_jobs` as a user runs it, in its own process, into the
    benchmark's database: (seconds, peak resident memory in MB) of that process alone."""
    retention = KEEP_DAYS + (datetime.date.today() - LAST_DAY).days
    env = {**os.environ, "DATABASE_URL": _database_url(),
           "QUARTERDECK_JOBS_RETENTION_DAYS": str(max(retention, 1))}  # fmt: skip
    started = time.perf_counter()
    child = subprocess.Popen(  # noqa: S603 - our own command, our own file
        [sys.executable, "manage.py", "import_jobs", str(path), "--region", "US"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    _pid, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit("import_jobs failed")
    return seconds, usage.ru_maxrss / 1024


def _timed(call, runs: int = REPORT_RUNS) -> list[float]:
    call()  # warm the database's cache and the connection
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def _row(database: str, scenario: str, timings: list[float], bar_ms: float | None,
         note: str = "") -> dict:  # fmt: skip
    ordered = sorted(timings)
    return {
        "database": database,
        "scenario": scenario,
        "median_ms": statistics.median(ordered),
        "p95_ms": ordered[max(0, round(len(ordered) * 0.95) - 1)],
        "bar_ms": bar_ms,
        "bar_on": "p95",
        "note": note,
        "runs": len(ordered),
    }


def job_history(database: str) -> list[dict]:
    if connection.vendor != "postgresql":
        return []  # the bar is for PostgreSQL; SQLite's bulk insert would take many minutes
    path = ensure_jobs_file()
    size_mb = path.stat().st_size / 1e6
    with path.open("rb") as warm:  # the file in the page cache, as for billing
        while warm.read(1 << 24):
            pass
    connection.close()  # the child process writes; keep no transaction open here
    seconds, peak_mb = run_import_jobs(path)
    reimport, reimport_peak_mb = run_import_jobs(path)
    first, again = JobImportRun.objects.order_by("id")[:2]
    assert first.status == again.status == JobImportRun.Status.SUCCEEDED
    assert again.jobs_written == 0, "re-import changed jobs"
    kept, usage_rows = BigQueryJob.objects.count(), JobUsageDay.objects.count()
    rows = [
        {
            "database": database,
            "scenario": f"import_jobs {first.rows_read:,} rows ({size_mb:.0f} MB gz)",
            "median_ms": seconds * 1000,
            "p95_ms": seconds * 1000,
            "bar_ms": None,
            "note": (
                f"{first.rows_read / seconds:,.0f} rows/s; peak memory {peak_mb:.0f} MB; "
                f"{first.jobs_written:,} jobs written, {kept:,} kept after folding days "
                f"older than {KEEP_DAYS} into {usage_rows:,} daily usage rows"
            ),
            "peak_mb": peak_mb,
            "runs": 1,
        },
        {
            "database": database,
            "scenario": "re-import of the same file (0 jobs written)",
            "median_ms": reimport * 1000,
            "p95_ms": reimport * 1000,
            "bar_ms": None,
            "note": (
                f"{again.rows_read / reimport:,.0f} rows/s; peak memory "
                f"{reimport_peak_mb:.0f} MB; {again.rows_skipped:,} rows of folded days skipped"
            ),
            "runs": 1,
        },
    ]
    for days in (DAYS, 28):
        since = LAST_DAY - datetime.timedelta(days=days - 1)
        usage = table_usage(since=since, until=LAST_DAY)
        rows.append(_row(
            database, f"table usage over {days} days (top 100 and the curve)",
            _timed(lambda since=since: table_usage(since=since, until=LAST_DAY)), REPORT_BAR_MS,
            f"{usage.tables} tables, {usage.total_queries:,} table-reading queries",
        ))  # fmt: skip
        for size, kind in ((2, "pairs"), (3, "triples")):
            top = joined_tables(since=since, until=LAST_DAY, size=size)
            rows.append(_row(
                database, f"joined together over {days} days (top 50 {kind})",
                _timed(lambda since=since, size=size: joined_tables(
                    since=since, until=LAST_DAY, size=size)), REPORT_BAR_MS,
                f"top: {top[0].queries:,} queries" if top else "none",
            ))  # fmt: skip
    return rows
