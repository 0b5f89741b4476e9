"""Allocation rules: which rule gets a cost, and that every change through the pages
allocates all billing data again."""

from decimal import Decimal

import pytest
from django.urls import reverse

from core.money import Money
from cost.billing import reports
from cost.billing.allocation import reallocate_all
from cost.models import AllocationRule, CostFact
from tests.cost.factories import CostFactFactory, label_set
from tests.roadmap.factories import RoadmapItemFactory, TeamFactory

pytestmark = pytest.mark.django_db


def rule(name: str, position: int, **conditions) -> AllocationRule:
    team = conditions.pop("team", None) or TeamFactory(name=f"Team of {name}", slug=name.lower())
    return AllocationRule.objects.create(name=name, position=position, team=team, **conditions)


def allocated(fact: CostFact) -> str | None:
    fact.refresh_from_db()
    return fact.allocation_rule.name if fact.allocation_rule else None


def rule_data(**overrides) -> dict:
    data = {
        "name": "Rule",
        "match_project": "",
        "match_label_key": "",
        "match_label_value": "",
        "match_service": "",
        "match_sku": "",
        "team": overrides.pop("team", None) or TeamFactory().pk,
        "roadmap_item": "",
    }
    return {**data, **overrides}


def test_the_first_matching_rule_wins():
    fact = CostFactFactory(project_id="acme-dbt-prod")
    rule("Late", 2, match_project="acme-dbt-prod")
    rule("Early", 1, match_service="BigQuery")
    reallocate_all()
    assert allocated(fact) == "Early"


def test_a_rule_with_blank_conditions_matches_anything():
    facts = [CostFactFactory(project_id="a"), CostFactFactory(project_id="b", sku_id="X")]
    rule("Specific", 1, match_project="a")
    rule("Catch-all", 2)
    reallocate_all()
    assert [allocated(fact) for fact in facts] == ["Specific", "Catch-all"]


def test_all_conditions_of_a_rule_must_hold():
    both = CostFactFactory(project_id="p", label_set=label_set(team="ae"))
    only_project = CostFactFactory(project_id="p", label_set=label_set(team="mkt"))
    rule("Both", 1, match_project="p", match_label_key="team", match_label_value="ae")
    reallocate_all()
    assert (allocated(both), allocated(only_project)) == ("Both", None)


def test_a_label_key_without_value_matches_any_value_of_that_key():
    ae = CostFactFactory(label_set=label_set(team="ae", env="prod"))
    marketing = CostFactFactory(label_set=label_set(team="marketing"))
    unlabelled = CostFactFactory(label_set=label_set(env="prod"))
    rule("AE", 1, match_label_key="team", match_label_value="ae")
    rule("Any team", 2, match_label_key="team")
    reallocate_all()
    assert [allocated(f) for f in (ae, marketing, unlabelled)] == ["AE", "Any team", None]


@pytest.mark.parametrize("service", ["24E6-581D-38E5", "BigQuery"])
def test_a_service_matches_by_id_or_description(service):
    bigquery = CostFactFactory(service_id="24E6-581D-38E5", service_description="BigQuery")
    storage = CostFactFactory(service_id="95FF-2EF5-5EA1", service_description="Cloud Storage")
    rule("BQ", 1, match_service=service)
    reallocate_all()
    assert (allocated(bigquery), allocated(storage)) == ("BQ", None)


@pytest.mark.parametrize("sku", ["F17B-412E-CB64", "Analysis"])
def test_a_sku_matches_by_id_or_description(sku):
    analysis = CostFactFactory(sku_id="F17B-412E-CB64", sku_description="Analysis")
    storage = CostFactFactory(sku_id="95FF-2EF5-5EA2", sku_description="Active Logical Storage")
    rule("Queries", 1, match_sku=sku)
    reallocate_all()
    assert (allocated(analysis), allocated(storage)) == ("Queries", None)


def test_cost_no_rule_matches_is_kept_as_unallocated():
    CostFactFactory(project_id="ae", cost=Decimal("40"), credits=Decimal("-4"))
    CostFactFactory(project_id="sandbox", cost=Decimal("7"))
    CostFactFactory(project_id="sandbox", cost=Decimal("800"), currency="JPY")
    ae = rule("AE", 1, match_project="ae")
    reallocate_all()

    summary = reports.allocation_summary()

    assert [(entry.rule, entry.amounts) for entry in summary.rules] == [
        (ae, (Money(Decimal("36"), "USD"),))
    ]
    assert summary.unallocated == (Money(Decimal("800"), "JPY"), Money(Decimal("7"), "USD"))
    assert CostFact.objects.count() == 3


def test_creating_a_rule_in_the_page_allocates_existing_cost(manager_client):
    fact = CostFactFactory(project_id="acme-dbt-prod")
    item = RoadmapItemFactory()
    response = manager_client.post(
        reverse("cost:rule-create"),
        rule_data(name="dbt", match_project="acme-dbt-prod", roadmap_item=item.pk),
    )
    assert response.status_code == 302
    assert allocated(fact) == "dbt"
    assert fact.allocation_rule.roadmap_item == item


def test_new_rules_are_tried_after_the_existing_ones(manager_client):
    rule("Existing", 5, match_project="p")
    fact = CostFactFactory(project_id="p")
    manager_client.post(reverse("cost:rule-create"), rule_data(name="Catch-all"))
    assert list(AllocationRule.objects.values_list("name", "position")) == [
        ("Existing", 5),
        ("Catch-all", 6),
    ]
    assert allocated(fact) == "Existing"


def test_editing_a_rule_in_the_page_allocates_again(manager_client):
    fact = CostFactFactory(project_id="new-project")
    edited = rule("Projects", 1, match_project="old-project")
    reallocate_all()
    assert allocated(fact) is None
    response = manager_client.post(
        reverse("cost:rule-edit", args=[edited.pk]),
        rule_data(name="Projects", match_project="new-project", team=edited.team_id),
    )
    assert response.status_code == 302
    assert allocated(fact) == "Projects"


def test_moving_a_rule_up_gives_it_the_cost_and_renumbers_positions(manager_client):
    fact = CostFactFactory(project_id="p")
    first = rule("Project rule", 3, match_project="p")
    second = rule("Service rule", 7, match_service="BigQuery")
    reallocate_all()
    assert allocated(fact) == "Project rule"

    response = manager_client.post(reverse("cost:rule-move", args=[second.pk]), {"direction": "up"})

    assert response.status_code == 302
    assert allocated(fact) == "Service rule"
    assert list(AllocationRule.objects.values_list("name", "position")) == [
        ("Service rule", 1),
        ("Project rule", 2),
    ]
    manager_client.post(reverse("cost:rule-move", args=[first.pk]), {"direction": "up"})
    assert allocated(fact) == "Project rule"


def test_moving_the_first_rule_up_changes_nothing(manager_client):
    top = rule("Top", 1)
    rule("Bottom", 2)
    manager_client.post(reverse("cost:rule-move", args=[top.pk]), {"direction": "up"})
    assert list(AllocationRule.objects.values_list("name", "position")) == [
        ("Top", 1),
        ("Bottom", 2),
    ]


def test_deleting_a_rule_passes_its_cost_to_the_next_match_or_unallocated(manager_client):
    fact = CostFactFactory(project_id="p")
    lonely = CostFactFactory(project_id="q")
    first = rule("Project p", 1, match_project="p")
    projects = rule("Project q", 2, match_project="q")
    rule("BigQuery p", 3, match_project="p", match_service="BigQuery")
    reallocate_all()

    manager_client.post(reverse("cost:rule-delete", args=[first.pk]))
    manager_client.post(reverse("cost:rule-delete", args=[projects.pk]))

    assert allocated(fact) == "BigQuery p"
    assert allocated(lonely) is None
    assert CostFact.objects.count() == 2
