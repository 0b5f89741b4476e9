from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from roadmap.budgets.incidents import COLUMNS, ImportRejected, import_incidents


class Command(BaseCommand):
    help = (
        f"Record incidents from a CSV file with the columns {', '.join(COLUMNS)}. All or "
        "nothing: every problem is listed with its line and column. A row with the title and "
        "detected_at of a recorded incident updates it, so importing a file again changes "
        "nothing."
    )

    # A data load needs no URL configuration (checks would import every view).
    requires_system_checks: list[str] = []

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", type=Path, help="the CSV file (UTF-8, with or without BOM)")
        parser.add_argument(
            "--dry-run", action="store_true", help="check the file and count; write nothing"
        )

    def handle(self, *args, path: Path, dry_run: bool, **options) -> None:
        try:
            result = import_incidents(path=path, dry_run=dry_run)
        except ImportRejected as rejected:
            problems = "\n  ".join(str(error) for error in rejected.errors)
            raise CommandError(f"nothing was imported:\n  {problems}") from None
        counts = f"{result.created} created, {result.updated} updated, {result.unchanged} unchanged"
        if dry_run:
            self.stdout.write(f"{path}: dry run, nothing written; it would be {counts}.")
        else:
            self.stdout.write(f"{path}: incidents {counts}.")
