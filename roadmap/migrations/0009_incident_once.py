"""One incident per title and detection time. Incidents recorded twice before the rule get
a number after their title ("Orders late (2)"), oldest record first, so the constraint
can be added and nothing is lost; the manager can then merge or delete them."""

from django.conf import settings
from django.db import migrations, models
from django.db.models import Count

TITLE_LENGTH = 200


def number_the_repeats(apps, schema_editor):
    Incident = apps.get_model("roadmap", "Incident")
    repeated = (
        Incident.objects.values("title", "detected_at")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .values_list("title", "detected_at")
    )
    for title, detected_at in repeated:
        records = Incident.objects.filter(title=title, detected_at=detected_at).order_by("id")
        for number, incident in enumerate(records[1:], start=2):
            suffix = f" ({number})"
            incident.title = title[: TITLE_LENGTH - len(suffix)] + suffix
            incident.save(update_fields=["title"])


class Migration(migrations.Migration):
    dependencies = [
        ("roadmap", "0008_teams_move_to_core"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(number_the_repeats, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="incident",
            constraint=models.UniqueConstraint(
                fields=("title", "detected_at"),
                name="incident_once",
                violation_error_message=(
                    "An incident with this title and detection time is already recorded: "
                    "edit that one, or tell the two apart in the title."
                ),
            ),
        ),
    ]
