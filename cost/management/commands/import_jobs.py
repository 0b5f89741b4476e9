import getpass
import sys
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from cost.jobs import JobImportFailed, import_job_files


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
        total = sum(path.stat().st_size for path in paths if path.is_file())
        bar = None
        if sys.stderr.isatty() and options["verbosity"] > 0:
            bar = tqdm(total=total, unit="B", unit_scale=True, desc="reading", leave=False)
        started = time.perf_counter()

        def progress(fraction: float) -> None:
            if bar is not None:
                bar.update(int(fraction * total) - bar.n)

        try:
            run = import_job_files(
                paths, location=region, by_name=f"cli:{getpass.getuser()}", progress=progress
            )
        except JobImportFailed as failed:
            lines = [str(problem) for problem in failed.problems] or [failed.run.error]
            raise CommandError("nothing was imported:\n  " + "\n  ".join(lines)) from None
        finally:
            if bar is not None:
                bar.close()
        seconds = time.perf_counter() - started
        rate = run.rows_read / seconds if seconds else 0
        self.stdout.write(
            f"Read {len(paths)} file(s), {run.rows_read:,} rows in {seconds:.1f} s "
            f"({rate:,.0f} rows/s): {run.jobs_written:,} jobs new or changed"
            + (f", {run.rows_skipped:,} skipped (days already pruned)" if run.rows_skipped else "")
            + (f", days {run.first_day} to {run.last_day}" if run.first_day else "")
            + f" (import run {run.pk})."
        )
