import getpass
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.progress import reading_progress
from cost.billing.runs import ImportFailed, import_files
from cost.billing.shapes import SHAPE_NAMES, SHAPES
from cost.locks import Busy


class Command(BaseCommand):
    help = (
        "Load Google Cloud Billing export files (newline-delimited JSON as bq extract writes "
        "it, gzipped or not; flattened CSV; Parquet) of the standard, detailed or FOCUS "
        "export into a billing source. Re-running with "
        "the same files changes nothing; a newer extract replaces the invoice months it "
        "covers, keeping the old figures as superseded."
    )

    # A data load needs no URL configuration (checks would import every view, and with
    # them matplotlib): faster to start and lighter on memory.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser) -> None:
        parser.add_argument("paths", nargs="+", type=Path, help="export files")
        parser.add_argument(
            "--source", default="billing-files", help="billing source name (default: %(default)s)"
        )
        parser.add_argument(
            "--shape",
            choices=SHAPES,
            help="which export the files are: standard, detailed (with resources) or focus "
            "(default: told from the files' first rows)",
        )

    def handle(self, *args, paths: list[Path], source: str, shape: str | None, **options) -> None:
        started = time.perf_counter()
        try:
            with reading_progress(paths, verbosity=options["verbosity"]) as progress:
                run = import_files(
                    paths=paths, source_name=source, by_name=f"cli:{getpass.getuser()}",
                    progress=progress, shape=shape,
                )  # fmt: skip
        except Busy as busy:  # another import holds the source
            raise CommandError(str(busy)) from None
        except ImportFailed as failed:
            lines = [str(problem) for problem in failed.problems] or [str(failed)]
            raise CommandError("nothing was imported:\n  " + "\n  ".join(lines)) from None
        seconds = time.perf_counter() - started
        rate = run.rows_read / seconds if seconds else 0
        self.stdout.write(
            f"Read {len(paths)} file(s), {run.bytes_read / 1e6:,.1f} MB, {run.rows_read:,} rows "
            f"in {seconds:.1f} s ({rate:,.0f} rows/s) into source {run.source.name!r}, "
            f"read as the {SHAPE_NAMES[run.files[0]['shape']]}."
        )
        for month in run.months:
            self.stdout.write(
                f"  {month['month']}: {month['outcome']:<9} {month['facts']:>8,} facts "
                f"from {month['rows']:>10,} rows"
            )
        self.stdout.write(f"{run.facts_written:,} facts written (import run {run.pk}).")
