import getpass
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.progress import reading_progress
from cost.locks import Busy
from cost.usage.jobs import JobImportFailed
from cost.usage.runs import import_job_files


class Command(BaseCommand):
    help = (
        "Load BigQuery job history: newline-delimited JSON exports (gzipped or not) of "
        "INFORMATION_SCHEMA.JOBS, JOBS_BY_PROJECT or JOBS_BY_ORGANIZATION. Re-running with "
        "the same files changes nothing; a job whose row changed is replaced."
    )

    requires_system_checks: list[str] = []

    def add_arguments(self, parser) -> None:
        parser.add_argument("paths", nargs="+", type=Path, help="export files")
        parser.add_argument(
            "--region",
            default="US",
            help="the region the jobs ran in, for on-demand prices (default: %(default)s)",
        )

    def handle(self, *args, paths: list[Path], region: str, **options) -> None:
        started = time.perf_counter()
        try:
            with reading_progress(paths, verbosity=options["verbosity"]) as progress:
                run = import_job_files(
                    paths, location=region, by_name=f"cli:{getpass.getuser()}", progress=progress
                )
        except Busy as busy:  # another import holds the source
            raise CommandError(str(busy)) from None
        except JobImportFailed as failed:
            lines = [str(problem) for problem in failed.problems] or [failed.run.error]
            raise CommandError("nothing was imported:\n  " + "\n  ".join(lines)) from None
        seconds = time.perf_counter() - started
        rate = run.rows_read / seconds if seconds else 0
        self.stdout.write(
            f"Read {len(paths)} file(s), {run.rows_read:,} rows in {seconds:.1f} s "
            f"({rate:,.0f} rows/s): {run.jobs_written:,} jobs new or changed"
            + (f", {run.rows_skipped:,} skipped (days already pruned)" if run.rows_skipped else "")
            + (f", days {run.first_day} to {run.last_day}" if run.first_day else "")
            + f" (import run {run.pk})."
        )
