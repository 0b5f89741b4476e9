import getpass
import time

from django.core.management.base import BaseCommand, CommandError

from cost.billing.pull import PullFailed
from cost.locks import Busy
from cost.usage.jobs import JobImportFailed
from cost.usage.pull import JOBS_DEFAULT_DAYS, JOBS_MAX_DAYS, JOBS_OVERLAP, pull_jobs


class Command(BaseCommand):
    help = (
        "Pull BigQuery job history from PROJECT.region-xx.INFORMATION_SCHEMA.JOBS_BY_PROJECT "
        "(application default credentials). Incremental: each pull reads the jobs created "
        "since the newest one stored, less a few hours for jobs that were still running; "
        "unchanged jobs are skipped, changed ones replaced."
    )

    # A data load needs no URL configuration (checks would import every view).
    requires_system_checks: list[str] = []

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--project",
            required=True,
            help="Google Cloud project whose jobs are read; the query runs (and is billed) there",
        )
        parser.add_argument(
            "--region",
            required=True,
            help="where the jobs ran: region-us, region-eu, region-europe-west2, ... "
            "(us and US mean region-us)",
        )
        parser.add_argument(
            "--days",
            type=int,
            default=JOBS_DEFAULT_DAYS,
            help=f"how far back the first pull of a project reads, 1 to {JOBS_MAX_DAYS} "
            "(default: %(default)s); later pulls continue from the newest job stored",
        )

    def handle(self, *args, project: str, region: str, days: int, **options) -> None:
        started = time.perf_counter()
        try:
            run = pull_jobs(
                project=project, region=region, days=days, by_name=f"cli:{getpass.getuser()}"
            )
        except Busy as busy:  # another import holds the source
            raise CommandError(str(busy)) from None
        except PullFailed as failed:
            raise CommandError(f"nothing was pulled: {failed}") from None
        except JobImportFailed as failed:
            lines = [str(problem) for problem in failed.problems] or [failed.run.error]
            raise CommandError(
                f"nothing was pulled (job import run {failed.run.pk} marked failed): "
                + "\n  ".join(lines)
            ) from None
        source = run.files[0]
        hours = int(JOBS_OVERLAP.total_seconds() // 3600)
        start = (
            f"the newest job stored less {hours} hours"
            if source["incremental"]
            else f"first pull: the last {days} day(s)"
        )
        self.stdout.write(
            f"Read {run.rows_read:,} rows from {source['name']} created after "
            f"{source['since']} ({start}) in {time.perf_counter() - started:.1f} s: "
            f"{run.jobs_written:,} jobs new or changed"
            + (f", {run.rows_skipped:,} skipped (days already pruned)" if run.rows_skipped else "")
            + (f", days {run.first_day} to {run.last_day}" if run.first_day else "")
            + "."
        )
        self.stdout.write(
            f"BigQuery processed {source['bytes_processed']:,} bytes, billed "
            f"{source['bytes_billed']:,} bytes (job import run {run.pk})."
        )
