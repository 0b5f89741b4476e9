import datetime

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from roadmap.demo import load_demo
from roadmap.models import RoadmapItem, TeamCapacity, Theme

pytestmark = pytest.mark.django_db
TODAY = datetime.date(2026, 11, 26)


def test_demo_is_a_realistic_roadmap_for_four_quarters():
    result = load_demo(today=TODAY, billing=False)
    assert result.items_created >= 25
    assert (
        Theme.objects.filter(
            name__in=[
                "Legacy pipeline retirement",
                "Intermediate tables",
                "Dashboards",
                "Data quality",
            ]
        ).count()
        == 4
    )
    targets = set(
        RoadmapItem.objects.exclude(target_quarter=None).values_list(
            "target_quarter__code", flat=True
        )
    )
    assert {"2026-Q4", "2027-Q1", "2027-Q2", "2027-Q3"} <= targets
    assert TeamCapacity.objects.filter(quarter__code="2027-Q1").exists()
    open_ranks = sorted(
        RoadmapItem.objects.filter(status__in=["proposed", "planned", "in_progress"]).values_list(
            "rank", flat=True
        )
    )
    assert open_ranks == list(range(1, len(open_ranks) + 1))
    assert all(item.people_cost() for item in RoadmapItem.objects.select_related("team"))


def test_demo_users_have_their_roles_and_passwords():
    load_demo(today=TODAY, billing=False)
    users = {user.username: user for user in get_user_model().objects.all()}
    roles = {name: set(user.groups.values_list("name", flat=True)) for name, user in users.items()}
    assert roles == {
        "manager": {"Manager"},
        "vp": {"Reviewer"},
        "peer": {"Reviewer"},
        "finance": {"Finance"},
    }
    assert users["manager"].check_password("quarterdeck-manager")


def test_loading_the_demo_twice_changes_nothing():
    load_demo(today=TODAY, billing=False)
    snapshot = list(RoadmapItem.objects.order_by("pk").values())
    history = RoadmapItem.history.count()
    again = load_demo(today=TODAY, billing=False)
    assert again.items_created == 0
    assert list(RoadmapItem.objects.order_by("pk").values()) == snapshot
    assert RoadmapItem.history.count() == history


def test_demo_billing_export_is_imported_and_attributed():
    from django.db.models import Sum

    from cost.models import AllocationRule, BillingMonth, CostFact

    result = load_demo(today=TODAY)
    assert result.billing_rows > 10_000
    months = sorted(BillingMonth.objects.current().values_list("invoice_month", flat=True))
    assert months[0] == "202512"
    assert months[-1] in ("202611", "202612")  # late rows of November bill in December
    assert CostFact.objects.filter(usage_date__gte=TODAY).count() == 0
    assert AllocationRule.objects.count() == 7
    unallocated = CostFact.objects.filter(allocation_rule=None).aggregate(n=Sum("cost_nanos"))
    allocated = CostFact.objects.exclude(allocation_rule=None).aggregate(n=Sum("cost_nanos"))
    assert allocated["n"] > unallocated["n"] > 0  # the sandbox project has no team
    legacy = RoadmapItem.objects.get(title__startswith="Migrate legacy sales readers")
    assert CostFact.objects.filter(allocation_rule__roadmap_item=legacy).exists()
    assert load_demo(today=TODAY).billing_rows == 0  # idempotent


def test_load_demo_command_prints_the_logins(capsys):
    call_command("load_demo")
    output = capsys.readouterr().out
    for line in (
        "manager  / quarterdeck-manager",
        "vp       / quarterdeck-vp",
        "peer     / quarterdeck-peer",
        "finance  / quarterdeck-finance",
    ):
        assert line in output


def test_the_demo_prints_a_working_api_token_for_finance_once(client, capsys):
    import re

    call_command("load_demo", "--if-empty")
    printed = re.search(
        r"Demo API token of finance \(shown this once\): (\S+)", capsys.readouterr().out
    )
    assert printed is not None
    response = client.get("/api/v1/quarters/", HTTP_AUTHORIZATION=f"Token {printed[1]}")
    assert response.status_code == 200
    call_command("load_demo")  # loading again makes no second token and shows none
    assert "Demo API token" not in capsys.readouterr().out
    from cost.models import ApiToken

    assert ApiToken.objects.filter(user__username="finance").count() == 1
