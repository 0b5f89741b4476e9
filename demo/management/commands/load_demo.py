from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.test.utils import override_settings
from django.utils import timezone

from demo.loader import DEMO_USERS, load_demo
from roadmap.models import RoadmapItem


class Command(BaseCommand):
    help = "Load the demo roadmap and users. Safe to run again: nothing is duplicated."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Only load into a database with no users and no roadmap items (make run).",
        )

    def handle(self, *args, if_empty: bool = False, **options) -> None:
        users = get_user_model().objects
        if if_empty and (users.exists() or RoadmapItem.objects.exists()):
            self.stdout.write("The database already has data; the demo was not loaded.")
            created: set[str] = set()
        else:
            # The demo replays reviews that happened in the past: nobody is emailed.
            with override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"):
                result = load_demo(today=timezone.localdate())
            self.stdout.write(
                f"Demo roadmap: {result.items_created} items created, "
                f"{result.items_total} in total."
            )
            if result.products_created:
                self.stdout.write(
                    f"Error budgets: {result.products_created} data products, "
                    f"{result.incidents_created} incidents."
                )
            if result.billing_rows:
                self.stdout.write(
                    f"Demo billing export: {result.billing_rows:,} rows imported, "
                    "with allocation rules."
                )
            if result.jobs_imported:
                self.stdout.write(
                    f"Demo BigQuery job history: {result.jobs_imported:,} jobs imported "
                    "(usage pages under /cost/usage/)."
                )
            created = {username for username, _password, _role in result.users_created}
        present = set(
            users.filter(username__in=[u[0] for u in DEMO_USERS]).values_list("username", flat=True)
        )
        if not present:
            return
        self.stdout.write("Demo logins (username / password / role):")
        for username, password, *_names, role, _staff in DEMO_USERS:
            if username in present:
                note = "" if username in created else "  (existing user: password unchanged)"
                self.stdout.write(f"  {username:<8} / {password:<22} / {role}{note}")
        if created and result.api_key:
            self.stdout.write(
                f"Demo API token of finance (shown this once): {result.api_key}\n"
                f"  curl -H 'Authorization: Token {result.api_key}' "
                "'http://127.0.0.1:8000/api/v1/cost-reports/?group_by=invoice_month,service'"
            )
