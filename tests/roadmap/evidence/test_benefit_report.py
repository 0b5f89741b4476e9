"""GET /api/v1/benefit-report/: the realised-benefit report of a quarter for finance, on the
constructed job history (figures worked out by hand in test_benefit.py)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from core.models import ApiToken
from core.roles import Role
from roadmap.models import RoadmapItem
from tests.roadmap.evidence.job_history import constructed_world, item
from tests.roadmap.factories import UserFactory

pytestmark = pytest.mark.django_db
URL = reverse("benefit-report")


@pytest.fixture
def world() -> dict:
    return constructed_world()


def client_for(role: str | None) -> APIClient:
    client = APIClient()
    if role is not None:
        _token, key = ApiToken.issue(user=UserFactory(username=f"api-{role}", role=role),
                                     name="t")  # fmt: skip
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_the_items_delivered_in_the_quarter_promised_against_measured(world):
    response = client_for(Role.FINANCE).get(URL, {"quarter": "2026-Q3", "as_of": "2026-10-28"})
    assert response.status_code == 200
    body = response.json()
    assert (body["quarter"], body["as_of"]) == ("2026-Q3", "2026-10-28")
    # Both delivered on 2 September: the main item missed (retirement, cost), old2 met.
    assert (body["delivered"], body["met"], body["missed"], body["not_yet_due"]) == (2, 1, 1, 0)
    assert body["ratio"] == 0.5
    main, retired = body["items"]
    assert main["id"] == world["main"].pk
    assert (main["title"], main["delivered_on"]) == ("Intermediate sales tables", "2026-09-02")
    assert main["declared_monthly_change"] == {"amount": "-100.00", "currency": "USD"}
    # 3.26 - 8.69 USD a month (test_benefit: 6 and 16 USD over 56 days).
    assert main["measured_monthly_change"] == {"amount": "-5.43", "currency": "USD"}
    assert main["cost_complete"] is True
    assert "estimate" in main["cost_explanation"]
    assert (main["hours_promised"], main["hours_measured"]) == ("40.0", "4.7")
    assert main["outcome"] == "missed"
    assert [(t["kind"], t["outcome"], t["due_on"]) for t in main["targets"]] == [
        ("adoption", "met", "2026-09-15"),  # 2 weeks from 2 September
        ("retirement", "missed", "2026-10-01"),
        ("cost", "missed", "2026-10-27"),  # the 8 weeks after
    ]
    assert retired["id"] == world["retired"].pk
    assert retired["declared_monthly_change"] is None
    assert retired["hours_promised"] is None
    assert retired["hours_measured"] is None
    assert [(t["kind"], t["outcome"]) for t in retired["targets"]] == [("retirement", "met")]


def test_a_quarter_whose_items_are_not_yet_due_has_no_ratio(world):
    body = client_for(Role.MANAGER).get(URL, {"quarter": "2026-Q4", "as_of": "2026-10-28"}).json()
    # The sales cube, shipped 20 October: 5 people within 4 weeks, judged 16 November.
    assert [i["title"] for i in body["items"]] == ["Sales cube"]
    assert (body["delivered"], body["not_yet_due"], body["ratio"]) == (1, 1, None)
    # As of 19 October it was not delivered yet: no item, no ratio.
    early = client_for(Role.MANAGER).get(URL, {"quarter": "2026-Q4", "as_of": "2026-10-19"})
    assert early.json()["items"] == []
    assert early.json()["delivered"] == 0


def test_bad_and_unknown_parameters_are_refused_naming_them(world):
    client = client_for(Role.FINANCE)
    response = client.get(URL, {"quarter": "2026-q4", "asof": "2026-10-28"})
    assert response.status_code == 400
    errors = response.json()
    assert set(errors) == {"quarter", "asof"}
    assert "2027-Q1" in errors["quarter"][0]
    assert errors["asof"] == ["Unknown parameter."]
    assert client.get(URL, {"as_of": "2026-13-01"}).status_code == 400


def test_only_finance_and_managers_read_it(world):
    assert client_for(Role.REVIEWER).get(URL).status_code == 403
    assert client_for(None).get(URL).status_code == 401
    for role in (Role.FINANCE, Role.MANAGER):
        assert client_for(role).get(URL).status_code == 200


def _queries(client: APIClient) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(URL, {"quarter": "2026-Q3", "as_of": "2026-10-28"})
    assert response.status_code == 200
    return len(queries)


def test_the_report_reads_the_same_number_of_queries_for_2_or_32_items(world):
    client = client_for(Role.FINANCE)
    _queries(client)  # the token's first use is recorded once: not the report's queries
    few = _queries(client)
    for n in range(30):
        item(f"Bulk {n}", retire=[world["legacy"]], build_on=[world["new"]],
             status=RoadmapItem.Status.DONE, delivered_on=world["main"].delivered_on,
             adoption_target_people=3, adoption_target_weeks=2)  # fmt: skip
    assert _queries(client) == few
    assert len(client.get(URL, {"quarter": "2026-Q3", "as_of": "2026-10-28"}).json()["items"]) == 32
