"""The read-only error-budget API: /api/v1/data-products/, /api/v1/incidents/ and
/api/v1/budget-status/."""

import datetime
import json
from dataclasses import dataclass

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from core.roles import Role
from roadmap.models import DataProduct, Incident, RoadmapItem
from tests.api.queries import work_queries
from tests.roadmap.factories import RoadmapItemFactory, TeamFactory, UserFactory
from tests.roadmap.items.test_api import token_client

pytestmark = pytest.mark.django_db

PRODUCTS = reverse("data-product-list")
INCIDENTS = reverse("incident-list")
STATUS = reverse("budget-status-list")


def product(slug: str, name: str, allowed: int, **fields) -> DataProduct:
    return DataProduct.objects.create(slug=slug, name=name, incidents_allowed=allowed, **fields)


def incident(
    title: str,
    detected: datetime.datetime,
    *products: DataProduct,
    severity: str = "sev2",
    impact: str = "wrong_numbers",
    **fields,
) -> Incident:
    record = Incident.objects.create(
        title=title, detected_at=detected, severity=severity, impact=impact, **fields
    )
    record.products.set(products)
    return record


def at(day: str, time: str = "10:00") -> datetime.datetime:
    """A local moment (the tests' time zone is UTC)."""
    return timezone.make_aware(datetime.datetime.fromisoformat(f"{day}T{time}"))


@dataclass
class Budgets:
    revenue: DataProduct  # quarterly, 4 allowed, freshness objective of 2 late days
    support: DataProduct  # quarterly, 1 allowed
    finance: DataProduct  # yearly, 8 allowed
    exports: DataProduct  # quarterly, 0 allowed, no incidents
    late_revenue: Incident
    shared: Incident
    fix: RoadmapItem
    cause: RoadmapItem


def make_budgets() -> Budgets:
    """Q4 2026 (1 October to 31 December, 92 days), seen from 15 November (day 46, half
    the quarter gone) and 20 October (day 20)."""
    owner = UserFactory(username="kenji", role=Role.MANAGER)
    finance_team = TeamFactory(name="Finance", slug="finance")
    support_team = TeamFactory(name="Customer Support", slug="support")
    fix = RoadmapItemFactory(title="Row-count checks on the revenue marts")
    cause = RoadmapItemFactory(title="Move orders to incremental models")
    revenue = product(
        "revenue-marts",
        "Revenue marts",
        4,
        kind="tables",
        owner=owner,
        description="Daily revenue by product and region.",
        tables="analytics.marts.fct_revenue\nanalytics.marts.dim_region\n",
        ready_by=datetime.time(7, 0),
        late_days_allowed=2,
    )
    revenue.consumers.set([support_team, finance_team])
    revenue.reliability_items.set([fix])
    support = product("support-dashboard", "Support dashboard", 1, kind="dashboard")
    finance = product("finance-pipeline", "Finance pipeline", 8, kind="pipeline",
                      budget_period="year")  # fmt: skip
    exports = product("ad-hoc-exports", "Ad-hoc exports", 0, kind="table")

    incident("Revenue double-counted refunds", at("2026-09-28"), revenue)  # last quarter
    shared = incident(
        "Orders table lost a day of rows",
        at("2026-10-05", "09:30"),
        revenue,
        support,
        severity="sev1",
        resolved_at=at("2026-10-05", "15:45"),
        cause="The incremental model skipped a late partition.",
        caused_by=cause,
        follow_up=fix,
    )
    late_revenue = incident("Revenue marts ready at 11:00", at("2026-10-20"), revenue,
                            severity="sev3", impact="late_data")  # fmt: skip
    incident("Ticket counts frozen", at("2026-11-02"), support, impact="outage")
    incident("Revenue marts empty", at("2026-11-20"), revenue)  # after 15 November
    incident("Cost allocation missing a project", at("2026-03-10"), finance)
    return Budgets(revenue, support, finance, exports, late_revenue, shared, fix, cause)


def status_by_product(client: APIClient, **params) -> dict[str, dict]:
    response = client.get(STATUS, params)
    assert response.status_code == 200, response.content
    return {entry["product"]: entry for entry in response.json()}


# --- Budget status ---------------------------------------------------------------------


def test_budget_status_as_of_a_day_matches_the_hand_computed_budgets():
    make_budgets()
    statuses = status_by_product(token_client(), as_of="2026-11-15")
    assert list(statuses) == [  # by name
        "ad-hoc-exports", "finance-pipeline", "revenue-marts", "support-dashboard",
    ]  # fmt: skip
    quarter = {"label": "2026-Q4", "start": "2026-10-01", "end": "2026-12-31"}
    # 2 of 4 incidents (5 and 20 October; not 28 September, not 20 November) with half
    # the quarter gone: exactly on pace. One late-data day of 2 allowed: on pace too.
    assert statuses["revenue-marts"] == {
        "product": "revenue-marts",
        "name": "Revenue marts",
        "period": quarter,
        "allowed": 4,
        "used": 2,
        "remaining": 2,
        "over": 0,
        "burn_rate": "1.00",  # (2 / 4) / (46 / 92)
        "elapsed": "0.5000",
        "state": "healthy",
        "policy": "ship as planned",
        "move_faster": False,  # half the budget used, not a quarter
        "late_days_used": 1,
    }
    # The incident of 5 October spends both products' budgets; with 2 of 1, one over.
    support = statuses["support-dashboard"]
    assert (support["used"], support["remaining"], support["over"]) == (2, 0, 1)
    assert (support["burn_rate"], support["state"]) == ("4.00", "exhausted")  # (2/1) / 0.5
    assert support["policy"] == "fix before new features"
    assert support["late_days_used"] is None  # no freshness objective
    # A yearly budget: day 319 of 365, 1 of 8 used.
    finance = statuses["finance-pipeline"]
    assert finance["period"] == {"label": "2026", "start": "2026-01-01", "end": "2026-12-31"}
    assert (finance["used"], finance["remaining"]) == (1, 7)
    assert finance["elapsed"] == "0.8740"  # 319 / 365 = 0.87397
    assert finance["burn_rate"] == "0.14"  # (1 / 8) / (319 / 365) = 0.143
    assert (finance["state"], finance["move_faster"]) == ("healthy", True)
    # A budget of 0: no rate to speak of, and healthy while nothing happens.
    exports = statuses["ad-hoc-exports"]
    assert (exports["allowed"], exports["used"], exports["burn_rate"]) == (0, 0, None)
    assert (exports["state"], exports["move_faster"]) == ("healthy", False)


def test_early_in_the_quarter_the_same_incidents_burn_faster_than_time():
    make_budgets()
    revenue = status_by_product(token_client(), as_of="2026-10-20")["revenue-marts"]
    # Day 20 of 92 (0.2174 gone) with 2 of 4 spent, and 1 of 2 late days.
    assert (revenue["used"], revenue["late_days_used"]) == (2, 1)
    assert (revenue["elapsed"], revenue["burn_rate"]) == ("0.2174", "2.30")
    assert revenue["state"] == "at_risk"
    assert revenue["policy"] == "burning faster than time: slow down risky changes"


def test_budget_status_without_as_of_is_todays():
    make_budgets()
    today = timezone.localdate()
    client = token_client()
    assert status_by_product(client) == status_by_product(client, as_of=today.isoformat())


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"as_of": "2026-02-30"}, "as_of", "is not a day; write it as YYYY-MM-DD"),
        ({"as_of": "15/11/2026"}, "as_of", "is not a day"),
        ({"as_of": "2026-11-15T09:00"}, "as_of", "is not a day"),
        ({"as_of": "1999-12-31"}, "as_of", "years 2000 to 2099"),
        ({"as_of": ""}, "as_of", "is not a day"),
        ({"asof": "2026-11-15"}, "asof", "Unknown parameter"),
    ],
)
def test_a_bad_as_of_gets_a_400_naming_it(params, field, message):
    make_budgets()
    response = token_client().get(STATUS, params)
    assert response.status_code == 400
    assert message in json.dumps(response.json()[field])


# --- Data products ---------------------------------------------------------------------


def test_a_data_product_shows_its_objectives_and_todays_budget():
    today = timezone.localdate()
    quarter_start = datetime.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    midnight = datetime.time(0, 0)
    kpi = product("kpi", "KPI tables", 4, ready_by=datetime.time(6, 30), late_days_allowed=3)
    kpi.reliability_items.set([fix := RoadmapItemFactory()])
    # Two incidents this quarter (today and its first day), one in the last quarter.
    for day in (today, quarter_start, quarter_start - datetime.timedelta(days=1)):
        detected = timezone.make_aware(datetime.datetime.combine(day, midnight))
        incident(f"Incident of {day}", detected, kpi)
    client = token_client()
    response = client.get(reverse("data-product-detail", args=[kpi.pk]))
    assert response.status_code == 200
    body = response.json()
    budget = body.pop("budget")
    assert body == {
        "id": kpi.pk,
        "name": "KPI tables",
        "slug": "kpi",
        "kind": "tables",
        "description": "",
        "owner": None,
        "consumers": [],
        "tables": [],
        "incidents_allowed": 4,
        "budget_period": "quarter",
        "ready_by": "06:30",
        "late_days_allowed": 3,
        "reliability_items": [fix.pk],
    }
    label = f"{today.year}-Q{(today.month - 1) // 3 + 1}"
    assert (budget["period"]["label"], budget["period"]["start"]) == (label, str(quarter_start))
    assert (budget["allowed"], budget["used"], budget["remaining"], budget["over"]) == (4, 2, 2, 0)
    assert budget["late_days_used"] == 0  # no late-data incident
    # The same figures as the budget-status report of today.
    assert budget == {
        name: value
        for name, value in status_by_product(client)["kpi"].items()
        if name not in ("product", "name")
    }


def test_the_product_list_shows_owner_consumers_tables_and_items_by_name():
    budgets = make_budgets()
    response = token_client().get(PRODUCTS)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 4
    assert [p["slug"] for p in body["results"]] == [
        "ad-hoc-exports", "finance-pipeline", "revenue-marts", "support-dashboard",
    ]  # fmt: skip
    revenue = body["results"][2]
    assert revenue["owner"] == "kenji"
    assert revenue["consumers"] == ["finance", "support"]
    assert revenue["tables"] == ["analytics.marts.fct_revenue", "analytics.marts.dim_region"]
    assert revenue["reliability_items"] == [budgets.fix.pk]
    assert revenue["budget"]["allowed"] == 4
    assert body["results"][0]["budget"]["burn_rate"] is None  # a budget of 0


def test_budgets_are_computed_once_per_request_not_per_product():
    make_budgets()
    client = token_client()
    client.get(PRODUCTS)  # the token's user and groups, cached from here on
    with CaptureQueriesContext(connection) as four:
        assert client.get(PRODUCTS).status_code == 200
    for n in range(6):
        more = product(f"extra-{n}", f"Extra {n}", 2, owner=UserFactory())
        more.consumers.set([TeamFactory()])
        more.reliability_items.set([RoadmapItemFactory()])
        incident(f"Extra incident {n}", timezone.now(), more)
    with CaptureQueriesContext(connection) as ten:
        response = client.get(PRODUCTS)
    assert response.json()["count"] == 10
    assert len(work_queries(ten)) == len(work_queries(four))


def test_a_data_product_that_does_not_exist_is_a_json_404():
    make_budgets()
    client = token_client()
    for ref in (999999, "revenue-marts"):
        response = client.get(reverse("data-product-detail", args=[ref]))
        assert response.status_code == 404
        assert set(response.json()) == {"detail"}


# --- Incidents -------------------------------------------------------------------------


def test_an_incident_shows_when_how_bad_which_products_and_its_items():
    budgets = make_budgets()
    response = token_client().get(reverse("incident-detail", args=[budgets.shared.pk]))
    assert response.status_code == 200
    assert response.json() == {
        "id": budgets.shared.pk,
        "title": "Orders table lost a day of rows",
        "detected_at": "2026-10-05T09:30:00Z",
        "resolved_at": "2026-10-05T15:45:00Z",
        "severity": "sev1",
        "impact": "wrong_numbers",
        "products": ["revenue-marts", "support-dashboard"],
        "cause": "The incremental model skipped a late partition.",
        "caused_by": budgets.cause.pk,
        "follow_up": budgets.fix.pk,
    }


def titles(client: APIClient, **params) -> list[str]:
    response = client.get(INCIDENTS, params)
    assert response.status_code == 200, response.content
    return [row["title"] for row in response.json()["results"]]


def test_incidents_are_newest_first_and_filter_by_product_severity_impact_and_days():
    make_budgets()
    client = token_client()
    assert titles(client) == [
        "Revenue marts empty",
        "Ticket counts frozen",
        "Revenue marts ready at 11:00",
        "Orders table lost a day of rows",
        "Revenue double-counted refunds",
        "Cost allocation missing a project",
    ]
    assert titles(client, product="support-dashboard") == [
        "Ticket counts frozen",
        "Orders table lost a day of rows",
    ]
    assert titles(client, severity=["sev1", "sev3"]) == [
        "Revenue marts ready at 11:00",
        "Orders table lost a day of rows",
    ]
    assert titles(client, impact="late_data") == ["Revenue marts ready at 11:00"]
    # Both ends included: local days.
    assert titles(client, detected_from="2026-10-05", detected_to="2026-11-02") == [
        "Ticket counts frozen",
        "Revenue marts ready at 11:00",
        "Orders table lost a day of rows",
    ]
    assert titles(client, product="revenue-marts", detected_from="2026-10-01",
                  severity="sev2") == ["Revenue marts empty"]  # fmt: skip
    # A well-formed value that matches nothing is an empty list, as a search would be.
    assert titles(client, product="no-such-product") == []
    assert titles(client, detected_from="2026-12-01", detected_to="2026-10-01") == []
    # Paged like every list.
    page = client.get(INCIDENTS, {"limit": 2, "offset": 1}).json()
    assert page["count"] == 6
    assert [row["title"] for row in page["results"]] == [
        "Ticket counts frozen",
        "Revenue marts ready at 11:00",
    ]


def test_each_bad_incident_filter_gets_a_400_naming_it():
    make_budgets()
    response = token_client().get(INCIDENTS, {
        "product": "Revenue marts",
        "severity": "sev9",
        "impact": "slow",
        "detected_from": "2026-13-01",
        "detected_to": "5 Oct 2026",
    })  # fmt: skip
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"product", "severity", "impact", "detected_from", "detected_to"}
    assert "valid “slug”" in body["product"][0]
    assert "sev9 is not one of the available choices" in body["severity"][0]
    assert "slow is not one of the available choices" in body["impact"][0]
    assert body["detected_from"] == [
        "'2026-13-01' is not a day; write it as YYYY-MM-DD, e.g. 2026-10-05 (years 2000 to 2099)."
    ]
    assert "'5 Oct 2026' is not a day" in body["detected_to"][0]


@pytest.mark.parametrize("params", [{"limit": "0"}, {"offset": "-1"}, {"limit": "501"}])
def test_bad_paging_of_incidents_and_products_is_a_400(params):
    client = token_client()
    for url in (INCIDENTS, PRODUCTS):
        response = client.get(url, params)
        assert response.status_code == 400
        assert set(response.json()) == set(params)


def test_an_incident_that_does_not_exist_is_a_json_404():
    make_budgets()
    client = token_client()
    for ref in (999999, "abc"):
        response = client.get(reverse("incident-detail", args=[ref]))
        assert response.status_code == 404
        assert set(response.json()) == {"detail"}


# --- Who may call ----------------------------------------------------------------------


def _urls(budgets: Budgets) -> list[str]:
    return [
        PRODUCTS,
        reverse("data-product-detail", args=[budgets.revenue.pk]),
        INCIDENTS,
        reverse("incident-detail", args=[budgets.shared.pk]),
        STATUS,
    ]


@pytest.mark.parametrize(
    ("role", "status"),
    [(Role.FINANCE, 200), (Role.MANAGER, 200), (Role.REVIEWER, 403), (None, 403)],
    ids=["finance", "manager", "reviewer", "no-role"],
)
def test_finance_and_managers_read_budgets_and_nobody_else(role, status):
    budgets = make_budgets()
    client = token_client(role, username=f"caller-{role or 'none'}")
    for url in _urls(budgets):
        response = client.get(url)
        assert response.status_code == status, url
        if status == 403:
            assert "detail" in response.json()


def test_anonymous_callers_get_401_naming_the_token_scheme():
    budgets = make_budgets()
    for url in _urls(budgets):
        response = APIClient().get(url)
        assert response.status_code == 401, url
        assert response["WWW-Authenticate"] == "Token"


def test_the_endpoints_are_read_only():
    budgets = make_budgets()
    client = token_client(Role.MANAGER, username="mika")
    assert client.post(INCIDENTS, {"title": "New"}).status_code == 405
    assert client.delete(reverse("incident-detail", args=[budgets.shared.pk])).status_code == 405
    assert client.post(STATUS, {}).status_code == 405
    assert Incident.objects.filter(pk=budgets.shared.pk).exists()
