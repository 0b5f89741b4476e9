"""Create the three role groups. Managers also get the admin permissions on roadmap
models (themes, teams, quarters and capacity are kept there)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLES = ["Manager", "Reviewer", "Finance"]
MANAGER_MODELS = ["quarter", "theme", "team", "teamcapacity", "roadmapitem", "historicalroadmapitem"]


def create_roles(apps, schema_editor):
    # Permissions are normally created after all migrations ran; make sure they exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name in ROLES:
        Group.objects.get_or_create(name=name)
    manager = Group.objects.get(name="Manager")
    manager.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="roadmap", content_type__model__in=MANAGER_MODELS
        ).exclude(codename__startswith="delete_historical")
    )


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("roadmap", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
