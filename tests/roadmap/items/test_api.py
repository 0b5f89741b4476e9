"""The read-only roadmap API: /api/v1/roadmap-items/ and /api/v1/quarters/."""

from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from core.models import ApiToken, Team
from core.roles import Role
from roadmap.items.planning import build_board
from roadmap.models import RoadmapItem
from tests.api.queries import work_queries
from tests.roadmap.factories import (
    RoadmapItemFactory,
    TeamCapacityFactory,
    TeamFactory,
    ThemeFactory,
    UserFactory,
    quarter,
)

pytestmark = pytest.mark.django_db

ITEMS = reverse("roadmap-item-list")
QUARTERS = reverse("quarter-list")


@dataclass
class Roadmap:
    pipelines: RoadmapItem  # open, spans two quarters, every figure known
    dashboard: RoadmapItem  # open, in a JPY team, BigQuery change in USD
    backlog: RoadmapItem  # proposed, no quarter, no scores
    retired: RoadmapItem  # done
    dropped: RoadmapItem


def make_roadmap() -> Roadmap:
    """An Analytics Engineering roadmap over 2027: three themes, teams in two currencies,
    capacity, items in every status, dependencies and requesting teams."""
    legacy = ThemeFactory(name="Legacy pipeline retirement")
    dashboards = ThemeFactory(name="Dashboards")
    quality = ThemeFactory(name="Data quality")
    ae = TeamFactory(name="Analytics Engineering", slug="ae", weekly_rate=Decimal("4200.00"))
    platform = TeamFactory(name="Data Platform", slug="data-platform", weekly_rate=Decimal("4800"))
    tokyo = TeamFactory(
        name="Tokyo BI", slug="tokyo-bi", weekly_rate=Decimal("650000"), currency="JPY"
    )
    finance = TeamFactory(name="Finance", slug="finance", weekly_rate=None)
    support = TeamFactory(name="Customer Support", slug="support", weekly_rate=None)
    q1, q2, q3 = quarter("2027-Q1"), quarter("2027-Q2"), quarter("2027-Q3")
    for each in (q1, q2, q3):
        TeamCapacityFactory(quarter=each, team=ae, person_weeks=Decimal("55.0"))
        TeamCapacityFactory(quarter=each, team=platform, person_weeks=Decimal("24.5"))
    owner = UserFactory(username="mika", role=Role.MANAGER)

    pipelines = RoadmapItemFactory(
        title="Retire the nightly legacy pipelines",
        theme=legacy,
        team=ae,
        owner=owner,
        status=RoadmapItem.Status.IN_PROGRESS,
        start_quarter=q1,
        target_quarter=q2,
        rank=1,
        reach=150,
        impact=Decimal("2.00"),
        confidence=80,
        rice_effort_months=Decimal("3.0"),
        business_value=13,
        time_criticality=8,
        risk_reduction=8,
        job_size=5,
        effort_weeks=Decimal("12.5"),
        bq_monthly_cost_change=Decimal("-850.00"),
        one_off_cost=Decimal("2000.00"),
        users_affected=150,
        hours_saved_per_month=Decimal("40.0"),
        benefit_chain="analysts -> product managers -> customers",
    )
    pipelines.requesting_teams.set([finance, support])
    dashboard = RoadmapItemFactory(
        title="Support dashboard in Japanese",
        theme=dashboards,
        team=tokyo,
        status=RoadmapItem.Status.PLANNED,
        target_quarter=q2,
        rank=2,
        reach=40,
        impact=Decimal("1.00"),
        confidence=50,
        rice_effort_months=Decimal("0.5"),
        effort_weeks=Decimal("3.0"),
        currency="USD",
        bq_monthly_cost_change=Decimal("120.00"),
        hours_saved_per_month=Decimal("10.0"),
    )
    dashboard.depends_on.set([pipelines])
    dashboard.requesting_teams.set([support])
    backlog = RoadmapItemFactory(
        title="Freshness checks for finance marts",
        theme=quality,
        team=platform,
        status=RoadmapItem.Status.PROPOSED,
        target_quarter=None,
        rank=3,
    )
    retired = RoadmapItemFactory(
        title="Move ad-hoc exports to scheduled queries",
        theme=legacy,
        team=ae,
        status=RoadmapItem.Status.DONE,
        target_quarter=q1,
        rank=7,
        effort_weeks=Decimal("4.0"),
    )
    dropped = RoadmapItemFactory(
        title="Rebuild the marketing cube",
        theme=dashboards,
        team=platform,
        status=RoadmapItem.Status.DROPPED,
        start_quarter=q2,
        target_quarter=q3,
        rank=9,
        effort_weeks=Decimal("30.0"),
    )
    RoadmapItemFactory(
        title="Slot reservations for the nightly run",
        theme=quality,
        team=platform,
        status=RoadmapItem.Status.PLANNED,
        start_quarter=q1,
        target_quarter=q3,
        rank=4,
        effort_weeks=Decimal("10.0"),
    ).depends_on.set([pipelines, backlog])
    return Roadmap(pipelines, dashboard, backlog, retired, dropped)


def token_client(role: str | None = Role.FINANCE, username: str = "fiona") -> APIClient:
    user = UserFactory(username=username, role=role)
    _token, key = ApiToken.issue(user=user, name="notebook")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def session_client(role: str | None, username: str = "signed-in") -> APIClient:
    client = APIClient()
    client.force_login(UserFactory(username=username, role=role))
    return client


def detail(item: RoadmapItem) -> str:
    return reverse("roadmap-item-detail", args=[item.pk])


# --- Items ---------------------------------------------------------------------------


def test_an_item_shows_every_field_with_money_as_decimal_strings():
    roadmap = make_roadmap()
    response = token_client().get(detail(roadmap.pipelines))
    assert response.status_code == 200
    assert response.json() == {
        "id": roadmap.pipelines.pk,
        "title": "Retire the nightly legacy pipelines",
        "status": "in_progress",
        "theme": "Legacy pipeline retirement",
        "team": "ae",
        "owner": "mika",
        "start_quarter": "2027-Q1",
        "target_quarter": "2027-Q2",
        "delivered_on": None,  # not done yet
        "rank": 1,
        "reach": 150,
        "impact": "2.00",
        "confidence": 80,
        "rice_effort_months": "3.0",
        "rice_score": "80.00",  # 150 x 2 x 80 % / 3
        "business_value": 13,
        "time_criticality": 8,
        "risk_reduction": 8,
        "job_size": 5,
        "wsjf_score": "5.80",  # (13 + 8 + 8) / 5
        "effort_weeks": "12.5",
        "people_cost": {"amount": "52500.00", "currency": "USD"},  # 12.5 x 4200
        "currency": "USD",
        "bq_monthly_cost_change": "-850.00",
        "one_off_cost": "2000.00",
        "users_affected": 150,
        "hours_saved_per_month": "40.0",
        # (52500 + 2000 - 12 x 850) / (12 x 40)
        "cost_per_hour_saved": {"amount": "92.29", "currency": "USD"},
        # 54500 / (40 x 60 + 850)
        "payback_months": "16.8",
        "benefit_chain": "analysts -> product managers -> customers",
        "usage_evidence": "",
        "adoption_target_people": None,
        "adoption_target_weeks": None,
        "retirement_target_date": None,
        "requesting_teams": ["finance", "support"],
        "depends_on": [],
        "updated_at": response.json()["updated_at"],
    }
    assert "T" in response.json()["updated_at"]


def test_money_keeps_its_own_currency_and_mixed_currencies_are_not_added():
    roadmap = make_roadmap()
    body = token_client().get(detail(roadmap.dashboard)).json()
    assert body["people_cost"] == {"amount": "1950000", "currency": "JPY"}  # 3 x 650,000 yen
    assert body["currency"] == "USD"
    assert body["bq_monthly_cost_change"] == "120.00"
    # Yen of effort and dollars of BigQuery cannot make one figure.
    assert body["cost_per_hour_saved"] is None
    assert body["payback_months"] is None
    assert body["depends_on"] == [roadmap.pipelines.pk]


def test_unknown_figures_are_null_and_closed_items_have_no_rank():
    roadmap = make_roadmap()
    client = token_client()
    backlog = client.get(detail(roadmap.backlog)).json()
    assert backlog["rank"] == 3
    assert backlog["target_quarter"] is None
    assert backlog["rice_score"] is None
    assert backlog["wsjf_score"] is None
    assert backlog["people_cost"] is None
    assert backlog["owner"] is None
    assert client.get(detail(roadmap.retired)).json()["rank"] is None
    assert client.get(detail(roadmap.dropped)).json()["rank"] is None


def test_the_list_is_paged_with_open_items_first_in_priority_order():
    roadmap = make_roadmap()
    client = token_client()
    body = client.get(ITEMS).json()
    assert body["count"] == 6
    assert [row["title"] for row in body["results"]] == [
        "Retire the nightly legacy pipelines",
        "Support dashboard in Japanese",
        "Freshness checks for finance marts",
        "Slot reservations for the nightly run",
        roadmap.retired.title,
        roadmap.dropped.title,
    ]
    assert client.get(ITEMS, {"offset": 10**17}).json()["results"] == []
    page = client.get(ITEMS, {"limit": 2, "offset": 2}).json()
    assert [row["rank"] for row in page["results"]] == [3, 4]
    assert "offset=4" in page["next"]
    assert "limit=2" in page["previous"]


@pytest.mark.parametrize(
    ("params", "titles"),
    [
        ({"status": "done"}, ["Move ad-hoc exports to scheduled queries"]),
        ({"status": ["done", "dropped"]}, ["Move ad-hoc exports to scheduled queries",
                                           "Rebuild the marketing cube"]),
        ({"theme": "Dashboards"}, ["Support dashboard in Japanese", "Rebuild the marketing cube"]),
        ({"team": "tokyo-bi"}, ["Support dashboard in Japanese"]),
        ({"target_quarter": "2027-Q1"}, ["Move ad-hoc exports to scheduled queries"]),
        ({"target_quarter": "2027-Q2", "team": "ae"}, ["Retire the nightly legacy pipelines"]),
        ({"theme": "No such theme"}, []),
        ({"team": "no-such-team"}, []),
        ({"target_quarter": "2031-Q4"}, []),
    ],
)  # fmt: skip
def test_filters(params, titles):
    make_roadmap()
    response = token_client().get(ITEMS, params)
    assert response.status_code == 200
    assert [row["title"] for row in response.json()["results"]] == titles


@pytest.mark.parametrize(
    ("params", "messages"),
    [
        ({"status": "archived"}, {"status": ["Select a valid choice. archived is not one of the "
                                             "available choices."]}),
        ({"target_quarter": "2027-q1"}, {"target_quarter": ["'2027-q1' is not a quarter; write it "
                                                            "like 2027-Q1 (years 2000 to 2099)."]}),
        ({"team": "a team"}, {"team": ["Enter a valid “slug” consisting of letters, numbers, "
                                       "underscores or hyphens."]}),
        ({"limit": "0"}, {"limit": ["Give a whole number from 1 to 500."]}),
        ({"limit": "501"}, {"limit": ["Give a whole number from 1 to 500."]}),
        ({"offset": "-1"}, {"offset": ["Give a whole number from 0 to 999999999999999999."]}),
        ({"offset": "ten"}, {"offset": ["Give a whole number from 0 to 999999999999999999."]}),
        ({"offset": "9" * 5000}, {"offset": ["Give a whole number from 0 to "
                                             "999999999999999999."]}),
    ],
)  # fmt: skip
def test_invalid_parameters_are_refused_with_a_message_each(params, messages):
    make_roadmap()
    response = token_client().get(ITEMS, params)
    assert response.status_code == 400
    assert response.json() == messages


def test_every_invalid_filter_is_named_at_once():
    response = token_client().get(ITEMS, {"status": "archived", "target_quarter": "next"})
    assert response.status_code == 400
    assert set(response.json()) == {"status", "target_quarter"}


@pytest.mark.parametrize("pk", ["999999", "abc", "1.5", "-1", "9" * 25, "9" * 5000])
def test_unknown_items_are_404_in_json(pk):
    response = token_client().get(f"{ITEMS}{pk}/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert set(response.json()) == {"detail"}


def _queries(client: APIClient, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(work_queries(queries))


def test_the_number_of_queries_does_not_grow_with_the_items():
    make_roadmap()
    client = token_client()
    client.get(ITEMS)  # the token's first use is recorded once
    few = _queries(client, ITEMS)
    few_quarters = _queries(client, QUARTERS)
    ae = Team.objects.get(slug="ae")
    for number in range(20):
        item = RoadmapItemFactory(
            team=TeamFactory(slug=f"more-{number}"),
            owner=UserFactory(),
            start_quarter=quarter("2027-Q1"),
            target_quarter=quarter(f"2027-Q{number % 4 + 1}"),
            effort_weeks=Decimal(number),
        )
        item.requesting_teams.set([ae])
        item.depends_on.set(RoadmapItem.objects.exclude(pk=item.pk)[:3])
        TeamCapacityFactory(quarter=quarter(f"2028-Q{number % 4 + 1}"), team=item.team)
    assert _queries(client, ITEMS) == few
    assert _queries(client, QUARTERS) == few_quarters


# --- Quarters ------------------------------------------------------------------------


def test_a_quarter_shows_capacity_per_team_and_the_boards_planned_effort():
    make_roadmap()
    response = token_client().get(reverse("quarter-detail", args=["2027-Q2"]))
    assert response.status_code == 200
    # Pipelines 12.5 over Q1-Q2, dashboard 3 in Q2, slot reservations 10 over Q1-Q3;
    # the dropped item does not count.
    assert response.json() == {
        "code": "2027-Q2",
        "start_date": "2027-04-01",
        "end_date": "2027-06-30",
        "capacity": [
            {"team": "ae", "person_weeks": "55.0"},
            {"team": "data-platform", "person_weeks": "24.5"},
        ],
        "capacity_weeks": "79.5",
        "planned_weeks": "12.6",  # 6.25 + 3 + 3.33
    }


def test_planned_effort_is_the_figure_the_board_shows():
    make_roadmap()
    RoadmapItemFactory(
        start_quarter=quarter("2027-Q1"),
        target_quarter=quarter("2027-Q3"),
        effort_weeks=Decimal("10.0"),  # a third per quarter: 3.333...
    )
    board = build_board(first_code="2027-Q1")
    body = token_client().get(QUARTERS).json()
    api = {row["code"]: row["planned_weeks"] for row in body["results"]}
    assert {code: api[code] for code in ("2027-Q1", "2027-Q2", "2027-Q3")} == {
        column.quarter.code: str(column.planned_weeks) for column in board.columns[:3]
    }
    assert api["2027-Q1"] == "16.9"  # 6.25 + 4 (done items count) + 3.33 + 3.33


def test_the_quarter_list_is_in_date_order_and_shows_quarters_without_capacity():
    make_roadmap()
    quarter("2026-Q4")
    body = token_client().get(QUARTERS).json()
    assert [row["code"] for row in body["results"]] == ["2026-Q4", "2027-Q1", "2027-Q2", "2027-Q3"]
    empty = body["results"][0]
    assert (empty["capacity"], empty["capacity_weeks"], empty["planned_weeks"]) == ([], None, "0.0")


@pytest.mark.parametrize("code", ["2031-Q1", "2027-q2", "next", "2027-Q5"])
def test_unknown_quarters_are_404(code):
    make_roadmap()
    response = token_client().get(f"{QUARTERS}{code}/")
    assert response.status_code == 404
    assert response.json() == {"detail": "No Quarter matches the given query."}


# --- Who may call --------------------------------------------------------------------

ENDPOINTS = ["items", "item", "quarters", "quarter"]


def _url(endpoint: str, roadmap: Roadmap) -> str:
    return {
        "items": ITEMS,
        "item": detail(roadmap.pipelines),
        "quarters": QUARTERS,
        "quarter": reverse("quarter-detail", args=["2027-Q1"]),
    }[endpoint]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize(
    ("role", "status"),
    [(Role.FINANCE, 200), (Role.MANAGER, 200), (Role.REVIEWER, 403), (None, 403)],
    ids=["finance", "manager", "reviewer", "no-role"],
)
@pytest.mark.parametrize("how", ["token", "session"])
def test_finance_and_managers_may_read_the_roadmap(endpoint, role, status, how):
    url = _url(endpoint, make_roadmap())
    client = token_client(role) if how == "token" else session_client(role)
    response = client.get(url)
    assert response.status_code == status
    if status == 403:
        assert response.json() == {"detail": "You do not have permission to perform this action."}


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_anonymous_callers_get_401_naming_the_token_scheme(endpoint):
    response = APIClient().get(_url(endpoint, make_roadmap()))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json() == {"detail": "Authentication credentials were not provided."}


def test_the_api_is_read_only():
    roadmap = make_roadmap()
    client = token_client()
    assert client.post(ITEMS, {"title": "Sneaky"}).status_code == 405
    assert client.patch(detail(roadmap.pipelines), {"title": "Changed"}).status_code == 405
    assert client.delete(detail(roadmap.pipelines)).status_code == 405
    assert client.delete(reverse("quarter-detail", args=["2027-Q1"])).status_code == 405
    roadmap.pipelines.refresh_from_db()
    assert roadmap.pipelines.title == "Retire the nightly legacy pipelines"
    assert RoadmapItem.objects.count() == 6
