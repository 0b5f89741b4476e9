"""The retirement tracker of an item, on the constructed job history of
tests/roadmap/evidence/job_history.py (figures worked out in test_benefit.py): its job
history ends on 28 October 2026, so as of today the readers left are those of the 28 days
up to then."""

import csv
import io

import pytest
from django.test import Client
from django.urls import reverse

from core.models import Team
from core.roles import Role
from roadmap.models import StakeholderInterview
from tests.roadmap.evidence.job_history import SA, D, constructed_world
from tests.roadmap.factories import RoadmapItemFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> dict:
    return constructed_world()


@pytest.fixture
def manager_client() -> Client:
    client = Client()
    client.force_login(UserFactory(username="mika", role=Role.MANAGER))
    return client


def test_the_tracker_lists_the_readers_left_by_team_with_their_interviews(world, manager_client):
    sales_team = Team.objects.get(name="Sales")
    StakeholderInterview.objects.create(date=D(2026, 10, 1), team=sales_team, people="Lee")
    response = manager_client.get(reverse("roadmap:item-retirement", args=[world["main"].pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "acme.marts.legacy" in page
    assert "2 users read them in the last 28 days" in page
    # Sales (lee) first, then the dashboard's service account, which is in no team.
    sales, no_team = page.index("<h3>Sales"), page.index("<h3>No team")
    assert sales < page.index("lee@acme.example") < no_team < page.index(SA)
    # The interviews held with Sales, newest first, whatever item they were about.
    assert page.index("2026-10-01</a> (Lee)") < page.index("2026-05-03</a> (Sam)")
    # Reads on or after the switch-off date, 1 October: three days.
    flagged = page[page.index("Read on or after the switch-off date, 2026-10-01") :]
    assert flagged.count("<tr><td>2026-10-") == 3
    assert reverse("roadmap:item-retirement-chart", args=[world["main"].pk]) in page


def test_the_remaining_readers_csv_is_the_next_interview_list(world, manager_client):
    url = reverse("roadmap:item-retirement-readers", args=[world["main"].pk])
    response = manager_client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert f"item-{world['main'].pk}-remaining-readers.csv" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows == [
        ["Team", "User", "Service account", "Last query (UTC day)",
         "Queries in the last 28 days", "Retired tables read", "Last interview"],
        ["", SA, "yes", "2026-10-20", "3", "acme.marts.legacy", ""],
        ["Sales", "lee@acme.example", "no", "2026-10-25", "3", "acme.marts.legacy",
         "2026-05-03"],
    ]  # fmt: skip


def test_the_chart_counts_readers_per_week_and_marks_delivery_and_switch_off(world, manager_client):
    url = reverse("roadmap:item-retirement-chart", args=[world["main"].pk])
    response = manager_client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml; charset=utf-8"
    svg = response.content.decode()
    for text in ("2026-W28", "delivered", "switch-off target", "Readers"):
        assert text in svg, text
    assert "<script" not in svg


def test_an_item_that_retires_no_table_has_no_tracker(manager_client):
    plain = RoadmapItemFactory()
    for name in ("roadmap:item-retirement", "roadmap:item-retirement-readers",
                 "roadmap:item-retirement-chart"):  # fmt: skip
        assert manager_client.get(reverse(name, args=[plain.pk])).status_code == 404


def test_the_items_realised_panel_links_to_its_tracker(world, manager_client):
    page = manager_client.get(reverse("roadmap:item-detail", args=[world["main"].pk]))
    assert reverse("roadmap:item-retirement", args=[world["main"].pk]) in page.content.decode()
