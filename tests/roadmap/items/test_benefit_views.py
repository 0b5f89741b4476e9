"""The item page's Realised panel and GET /api/v1/roadmap-items/{id}/benefit/, on the
constructed job history of tests/roadmap/evidence (figures worked out there)."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from core.models import ApiToken
from core.roles import Role
from roadmap.models import ItemTable, RoadmapItem, StakeholderInterview
from tests.roadmap.evidence.job_history import (
    D,
    constructed_world,
    item,
    table,
    used,
    user,
)
from tests.roadmap.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> dict:
    return constructed_world()


def page(client: Client, target: RoadmapItem) -> str:
    response = client.get(reverse("roadmap:item-detail", args=[target.pk]))
    assert response.status_code == 200
    return response.content.decode()


def benefit_url(target: RoadmapItem) -> str:
    return reverse("roadmap-item-benefit", args=[target.pk])


def test_a_done_item_shows_what_it_changed(manager_client, world):
    html = page(manager_client, world["main"])
    assert 'id="realised"' in html
    assert "2026-09-02" in html  # delivered on
    # Adoption: week 36 had 2 people, 1 service account, 1 team, 6 queries.
    assert '<th scope="row">2026-W36</th><td class="num">2</td><td class="num">1</td>' in (html)
    assert "after 13 days" in html  # the 10th person
    assert "1 of the 2 teams interviewed query it" in html
    # Cost: 8.69 a month before, 3.26 after, -5.43 measured against -100 declared.
    assert "8.69 USD" in html
    assert "3.26 USD" in html
    assert "<strong>-5.43 USD</strong>" in html
    assert "An estimate" in html
    # Hours: 4.7 a month by the proxy, against the 40 promised.
    assert "<strong>4.7</strong>" in html
    # The people to talk to: the last 28 days of job history (to 28 October).
    assert "lee@acme.example" in html
    assert "Read on or after the switch-off date, 2026-10-01" in html
    assert "missed" in html


def test_the_panel_is_for_done_items_and_items_in_progress_that_build_on_tables(
    manager_client, world
):
    assert 'id="realised"' in page(manager_client, world["building"])  # in progress, builds
    planned = item("Next year", build_on=[world["new"]], status=RoadmapItem.Status.PLANNED)
    assert 'id="realised"' not in page(manager_client, planned)
    retiring = item("Retire", retire=[world["legacy"]], status=RoadmapItem.Status.IN_PROGRESS)
    assert 'id="realised"' not in page(manager_client, retiring)  # builds on nothing


def test_the_page_runs_the_same_queries_however_much_history_and_evidence(manager_client, world):
    target = world["main"]
    with CaptureQueriesContext(connection) as first:
        page(manager_client, target)
    # More readers, weeks, tables and interviews.
    extra, team = table("extra"), TeamFactory(name="More", slug="more")
    ItemTable.objects.create(item=target, table=extra, role=ItemTable.Role.BUILD_ON)
    for n in range(20):
        used(D(2026, 9, 1 + n), user(f"more{n}@acme.example", team), extra, world["legacy"])
    StakeholderInterview.objects.create(date=D(2026, 6, 1), team=team,
                                        people="Mo").items.add(target)  # fmt: skip
    with CaptureQueriesContext(connection) as second:
        html = page(manager_client, target)
    assert "more19@acme.example" not in html  # read in September: not a remaining reader
    assert len(second.captured_queries) == len(first.captured_queries)


# --- API ---------------------------------------------------------------------------------


def token_client(role: str) -> APIClient:
    _token, key = ApiToken.issue(user=UserFactory(username=f"api-{role}", role=role), name="t")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_the_api_gives_the_figures_as_of_a_day(world):
    response = token_client(Role.FINANCE).get(benefit_url(world["main"]), {"as_of": "2026-10-28"})
    assert response.status_code == 200
    body = response.json()
    assert (body["item"], body["delivered_on"], body["quarter"], body["as_of"]) == (
        world["main"].pk, "2026-09-02", "2026-Q3", "2026-10-28")  # fmt: skip
    assert body["outcome"] == "missed"
    assert [(t["kind"], t["outcome"]) for t in body["targets"]] == [
        ("adoption", "met"), ("retirement", "missed"), ("cost", "missed")]  # fmt: skip
    adoption = body["adoption"]
    assert adoption["tables"] == ["acme.marts.new"]
    assert adoption["weeks"][0] == {"week": "2026-W36", "start": "2026-08-31", "people": 2,
                                    "service_accounts": 1, "teams": 1, "queries": 6}  # fmt: skip
    assert (adoption["people"], adoption["days_to_10_people"], adoption["interviewed_share"]) == (
        12, 13, "0.50")  # fmt: skip
    retirement = body["retirement"]
    assert [r["email"] for r in retirement["remaining"]] == [
        "lee@acme.example", "dash@acme-analytics.iam.gserviceaccount.com"]  # fmt: skip
    assert retirement["last_reader_left_on"] is None
    assert len(retirement["flagged"]) == 3
    cost = body["cost"]
    assert cost["source"] == "queries"
    assert cost["before"]["monthly"] == {"amount": "8.69", "currency": "USD"}
    assert cost["monthly_change"] == {"amount": "-5.43", "currency": "USD"}
    assert cost["declared"] == {"amount": "-100.00", "currency": "USD"}
    assert body["hours"]["measured"] == "4.7"
    assert body["hours"]["promised"] == "40.0"


def test_the_api_judges_later_days_the_same_and_earlier_days_differently(world):
    client = token_client(Role.MANAGER)
    early = client.get(benefit_url(world["main"]), {"as_of": "2026-09-09"}).json()
    assert early["adoption"]["people"] == 3
    assert early["cost"]["complete"] is False
    assert client.get(benefit_url(world["retired"]), {"as_of": "2026-10-28"}).json()[
        "retirement"]["last_reader_left_on"] == "2026-09-11"  # fmt: skip


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"as_of": "2026-02-30"}, "as_of", "YYYY-MM-DD"),
        ({"as_of": "1999-12-31"}, "as_of", "outside the years 2000 to 2099"),
        ({"status": "done"}, "status", "Unknown parameter."),
        ({"limit": "5"}, "limit", "Unknown parameter."),
    ],
)
def test_bad_parameters_are_refused_naming_them(world, query, field, message):
    response = token_client(Role.FINANCE).get(benefit_url(world["main"]), query)
    assert response.status_code == 400
    assert message in " ".join(response.json()[field])


def test_an_unknown_item_is_a_json_404(world):
    response = token_client(Role.FINANCE).get(reverse("roadmap-item-benefit", args=[999999]))
    assert response.status_code == 404
    assert response.json() == {"detail": "No RoadmapItem matches the given query."}


@pytest.mark.parametrize(
    ("role", "status"),
    [(Role.MANAGER, 200), (Role.FINANCE, 200), (Role.REVIEWER, 403), (None, 403)],
)
def test_managers_and_finance_may_read_it_and_no_one_else(world, role, status):
    session = APIClient()
    session.force_login(UserFactory(username=f"s-{role}", role=role))
    assert session.get(benefit_url(world["main"])).status_code == status
    anonymous = APIClient().get(benefit_url(world["main"]))
    assert anonymous.status_code == 401
    assert anonymous["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.FINANCE, None])
def test_only_managers_see_the_panel(world, role):
    url = reverse("roadmap:item-detail", args=[world["main"].pk])
    client = Client()
    client.force_login(UserFactory(username=f"p-{role}", role=role))
    response = client.get(url)
    assert response.status_code == 403
    assert b"lee@acme.example" not in response.content
    anonymous = Client().get(url)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("login"))
