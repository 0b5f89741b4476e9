import getpass
import time

from django.core.management.base import BaseCommand, CommandError

from cost.billing.pull import DEFAULT_LOOKBACK_DAYS, PullFailed, estimate_pull, pull_billing
from cost.billing.shapes import SHAPE_NAMES, SHAPES
from cost.locks import Busy


def _bytes(count: int) -> str:
    size, units = float(count), ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
    while size >= 1024 and len(units) > 1:
        size /= 1024
        units.pop(0)
    return f"{count:,} bytes ({size:,.1f} {units[0]})"


class Command(BaseCommand):
    help = (
        "Pull daily cost facts from a Cloud Billing export table in BigQuery (application "
        "default credentials). BigQuery aggregates; only invoice months whose export_time "
        "moved since the last pull are read again, each replacing its previous version."
    )

    # A data load needs no URL configuration (checks would import every view, and with
    # them matplotlib): faster to start and lighter on memory.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--table",
            help="the export table, PROJECT.DATASET.TABLE (may be left out with a --source "
            "that already has one)",
        )
        parser.add_argument(
            "--source",
            help="billing source name (default: one named after the table, made if new)",
        )
        parser.add_argument(
            "--months",
            nargs="+",
            metavar="YYYYMM",
            help="pull these invoice months whether or not they changed",
        )
        parser.add_argument(
            "--lookback-days",
            type=int,
            default=DEFAULT_LOOKBACK_DAYS,
            help="partitions to look at for changed months (default: %(default)s days)",
        )
        parser.add_argument(
            "--project",
            help="Google Cloud project that runs and pays for the queries "
            "(default: the table's project)",
        )
        parser.add_argument(
            "--shape",
            choices=SHAPES,
            help="which export the table is: standard, detailed (with resources) or focus "
            "(default: the source's, else what the table's name says, else standard)",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="print the bytes the queries would process; run nothing, write nothing",
        )

    def handle(self, *args, dry_run: bool, **options) -> None:
        arguments = {
            "table": options["table"],
            "source_name": options["source"],
            "months": options["months"],
            "lookback_days": options["lookback_days"],
            "project": options["project"],
            "shape": options["shape"],
        }
        try:
            if dry_run:
                self._estimate(**arguments)
            else:
                self._pull(**arguments)
        except Busy as busy:  # another import holds the source
            raise CommandError(str(busy)) from None
        except PullFailed as failed:
            run = f" (import run {failed.run.pk} marked failed)" if failed.run else ""
            raise CommandError(f"nothing was pulled{run}: {failed}") from None

    def _estimate(self, **arguments) -> None:
        estimate = estimate_pull(**arguments)
        self.stdout.write(
            f"Dry run on {estimate.table} ({SHAPE_NAMES[estimate.shape]}): nothing billed, "
            "nothing written."
        )
        if estimate.export_times_bytes is not None:
            self.stdout.write(
                f"  changed months (last {arguments['lookback_days']} days): "
                f"{_bytes(estimate.export_times_bytes)}"
            )
        self.stdout.write(
            f"  daily facts of {', '.join(estimate.months)}: {_bytes(estimate.daily_facts_bytes)}"
        )
        if estimate.cap is None:
            self.stdout.write("  no byte cap (QUARTERDECK_BIGQUERY_MAX_BYTES_BILLED=0)")
        else:
            verdict = "fits" if estimate.daily_facts_bytes <= estimate.cap else "EXCEEDS"
            self.stdout.write(
                f"  byte cap {_bytes(estimate.cap)}: the aggregation {verdict} it "
                "(QUARTERDECK_BIGQUERY_MAX_BYTES_BILLED)"
            )

    def _pull(self, **arguments) -> None:
        started = time.perf_counter()
        pull = pull_billing(**arguments, by_name=f"cli:{getpass.getuser()}")
        run = pull.run
        self.stdout.write(f"Reading {pull.table} as the {SHAPE_NAMES[pull.shape]}.")
        if pull.forced:
            self.stdout.write(f"Pulled {', '.join(pull.pulled)} from {pull.table} (forced).")
        else:
            self.stdout.write(
                f"Checked {len(pull.checked)} invoice month(s) of {pull.table} in the last "
                f"{arguments['lookback_days']} days: {len(pull.pulled)} changed since the "
                f"last pull{': ' + ', '.join(pull.pulled) if pull.pulled else ''}."
            )
        for month in run.months:
            self.stdout.write(
                f"  {month['month']}: {month['outcome']:<9} {month['facts']:>8,} facts "
                f"from {month['rows']:>10,} rows"
            )
        self.stdout.write(
            f"BigQuery processed {_bytes(run.bytes_read)}, billed {_bytes(pull.bytes_billed)} "
            f"in {time.perf_counter() - started:.1f} s. {run.facts_written:,} facts written "
            f"into source {run.source.name!r} (import run {run.pk})."
        )
