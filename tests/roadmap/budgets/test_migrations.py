"""roadmap 0009: incidents recorded twice before the uniqueness rule are numbered, not
lost, and the rule then holds in the database."""

import datetime

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

BEFORE = ("roadmap", "0008_teams_move_to_core")
AFTER = ("roadmap", "0009_incident_once")


def migrate(roadmap_target):
    """Every app at its latest migration, roadmap at `roadmap_target`; the models then."""
    executor = MigrationExecutor(connection)
    leaves = executor.loader.graph.leaf_nodes()
    targets = [node for node in leaves if node[0] != "roadmap"] + [roadmap_target]
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state(targets).apps


@pytest.fixture
def back_to_the_latest_migrations():
    """Every app at its latest migration again afterwards: the tests after this one (in
    the same database) expect the whole schema."""
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("back_to_the_latest_migrations")
def test_repeated_incidents_are_numbered_then_the_pair_is_unique():
    apps = migrate(BEFORE)
    Incident = apps.get_model("roadmap", "Incident")
    moment = datetime.datetime(2026, 11, 2, 9, 30, tzinfo=datetime.UTC)
    long_title = "x" * 200
    for title in ["Orders late", "Orders late", "Orders late", long_title, long_title, "Alone"]:
        Incident.objects.create(title=title, detected_at=moment, severity="sev2",
                                impact="late_data")  # fmt: skip
    apps = migrate(AFTER)
    Incident = apps.get_model("roadmap", "Incident")
    titles = list(Incident.objects.order_by("id").values_list("title", flat=True))
    assert titles == ["Orders late", "Orders late (2)", "Orders late (3)", long_title,
                      "x" * 196 + " (2)", "Alone"]  # fmt: skip
    with pytest.raises(IntegrityError), transaction.atomic():
        Incident.objects.create(title="Alone", detected_at=moment, severity="sev2",
                                impact="late_data")  # fmt: skip
