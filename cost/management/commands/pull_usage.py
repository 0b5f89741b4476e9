import getpass
import time

from django.core.management.base import BaseCommand, CommandError

from cost.billing.pull import PullFailed
from cost.locks import Busy
from cost.usage.jobs import JobImportFailed
from cost.usage.pull import JOBS_DEFAULT_DAYS, JOBS_MAX_DAYS, JOBS_OVERLAP
from cost.usage.pushdown import UsageSource
from cost.usage.pushdown_pull import estimate_usage, pull_usage


class Command(BaseCommand):
    help = (
        "Pull the BigQuery job history summed in BigQuery: only the daily usage rows (day, "
        "project, user, table set) cross the network, from "
        "region-xx.INFORMATION_SCHEMA.JOBS_BY_ORGANIZATION, or each --project's "
        "JOBS_BY_PROJECT. Incremental per region: each pull re-reads the days from its last "
        "pull less a few hours and replaces them."
    )

    # A data load needs no URL configuration (checks would import every view).
    requires_system_checks: list[str] = []

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--region",
            action="append",
            required=True,
            help="where the jobs ran: region-us, region-eu, region-asia-northeast1, ...; "
            "repeat it for several regions",
        )
        parser.add_argument(
            "--project",
            action="append",
            default=[],
            help="read this project's JOBS_BY_PROJECT (repeatable); without it, the whole "
            "organisation's JOBS_BY_ORGANIZATION",
        )
        parser.add_argument(
            "--billing-project",
            help="the project the queries run in and are billed to (default: the first "
            "--project; needed for an organisation-wide pull)",
        )
        parser.add_argument(
            "--days",
            type=int,
            default=JOBS_DEFAULT_DAYS,
            help=f"how far back the first pull of a region reads, 1 to {JOBS_MAX_DAYS} "
            "(default: %(default)s)",
        )
        parser.add_argument(
            "--keep-jobs",
            type=int,
            default=0,
            metavar="N",
            help="also keep the N most expensive queries of each day as job rows, for the "
            "expensive-query list (default: none)",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="print the SQL and the bytes each region's queries would scan; store nothing",
        )

    def handle(
        self,
        *args,
        region: list[str],
        project: list[str],
        billing_project: str | None,
        days: int,
        keep_jobs: int,
        dry_run: bool,
        **options,
    ) -> None:
        try:  # every region checked before anything is asked of Google
            parsed = [UsageSource.parse(name, project) for name in region]
        except PullFailed as failed:
            raise CommandError(f"nothing was pulled: {failed}") from None
        # us, US and region-us are one region: read once.
        sources = list({source.region: source for source in parsed}.values())
        for source in sources:
            if dry_run:
                self._estimate(source, days=days, keep=keep_jobs, billing_project=billing_project)
            else:
                self._pull(source, days=days, keep=keep_jobs, billing_project=billing_project)

    def _estimate(self, source: UsageSource, **options) -> None:
        try:
            estimate = estimate_usage(source=source, **options)
        except PullFailed as failed:
            raise CommandError(f"{source.region}: {failed}") from None
        start, end = estimate.window.start, estimate.window.end
        self.stdout.write(
            f"{source.region}: would read {source} for jobs created from {start.isoformat()} "
            f"to {end.isoformat()}: {estimate.bytes_processed:,} bytes processed "
            "(dry run; nothing stored)."
        )
        self.stdout.write(estimate.sql)
        if estimate.kept_sql:
            self.stdout.write(
                f"{source.region}: the most expensive jobs: "
                f"{estimate.kept_bytes_processed:,} bytes processed."
            )
            self.stdout.write(estimate.kept_sql)

    def _pull(self, source: UsageSource, **options) -> None:
        started = time.perf_counter()
        self.stdout.write(f"{source.region}: summing the jobs of {source} in BigQuery…")
        try:
            run = pull_usage(source=source, by_name=f"cli:{getpass.getuser()}", **options)
        except Busy as busy:  # another import holds the job history
            raise CommandError(f"{source.region}: {busy}") from None
        except PullFailed as failed:
            raise CommandError(f"{source.region}: nothing was pulled: {failed}") from None
        except JobImportFailed as failed:
            raise CommandError(
                f"{source.region}: nothing of this region was stored (job import run "
                f"{failed.run.pk} marked failed): {failed.run.error}"
            ) from None
        described = run.files[0]
        hours = int(JOBS_OVERLAP.total_seconds() // 3600)
        start = (
            f"from the last pull less {hours} hours"
            if described["incremental"]
            else f"first pull: the last {options['days']} day(s)"
        )
        self.stdout.write(
            f"{source.region}: {run.rows_read:,} daily usage rows, {described['table_sets']:,} "
            f"table sets, days {run.first_day} to {run.last_day} replaced ({start})"
            + (f", {run.jobs_written:,} expensive jobs kept" if run.jobs_written else "")
            + f" in {time.perf_counter() - started:.1f} s. BigQuery processed "
            f"{described['bytes_processed']:,} bytes, billed {described['bytes_billed']:,} "
            f"bytes (job import run {run.pk})."
        )
