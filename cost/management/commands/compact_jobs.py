from django.conf import settings
from django.core.management.base import BaseCommand

from cost.usage.runs import compact_jobs


class Command(BaseCommand):
    help = (
        "Delete BigQuery job rows older than QUARTERDECK_JOBS_RETENTION_DAYS. Their usage "
        "stays, summed per day; run it daily (imports also run it when they bring old rows)."
    )

    requires_system_checks: list[str] = []

    def handle(self, *args, **options) -> None:
        deleted = compact_jobs()
        days = settings.QUARTERDECK_JOBS_RETENTION_DAYS
        self.stdout.write(f"Deleted {deleted:,} job rows older than {days} days.")
