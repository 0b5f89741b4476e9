"""Stakeholder interviews: recorded and corrected by managers, each save one history
record (items included), shown on the items they ask for."""

import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from config.roles import Role
from roadmap.evidence import interviews_as_of, save_interview
from roadmap.models import RoadmapItem, StakeholderInterview
from tests.roadmap.factories import RoadmapItemFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def interview_data(for_team, items=(), **overrides) -> dict:
    data = {
        "date": "2026-11-02",
        "team": for_team.pk,
        "people": "Priya Raman (FP&A lead)",
        "pain_points": "Close waits for the nightly job\r\nTwo revenue figures in board decks",
        "notes": "They need the *old numbers*, not the old table.",
        "items": [item.pk for item in items],
    }
    data.update(overrides)
    return data


def test_a_manager_records_an_interview_and_the_items_show_the_teams_words(manager_client, manager):
    finance, support = TeamFactory(name="Finance"), TeamFactory(name="Support")
    item = RoadmapItemFactory(title="Define a stable booked revenue metric")
    other = RoadmapItemFactory(title="Support SLA dashboard")
    create = reverse("roadmap:interview-create")
    form = manager_client.get(f"{create}?item={item.pk}")
    assert form.status_code == 200
    assert form.context["form"].initial["items"] == [item.pk]
    response = manager_client.post(create, interview_data(finance, [item]))
    interview = StakeholderInterview.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('roadmap:interview-list')}#interview-{interview.pk}"
    assert (interview.team, interview.created_by, interview.date) == (
        finance, manager, datetime.date(2026, 11, 2))  # fmt: skip
    assert (
        interview.pain_points
        == "Close waits for the nightly job\nTwo revenue figures in board decks"
    )
    assert list(interview.items.all()) == [item]
    record = interview.history.get()
    assert (record.history_user, [row.roadmapitem_id for row in record.items.all()]) == (
        manager, [item.pk])  # fmt: skip

    manager_client.post(create, interview_data(support, [item, other], people="Maria Lopez",
                                               pain_points="- Join rebuilt weekly"))  # fmt: skip
    page = manager_client.get(item.get_absolute_url()).content.decode()
    assert "Asked for by 2 teams" in page
    assert "Close waits for the nightly job" in page
    assert "<li>Join rebuilt weekly</li>" in page  # the list marker typed is left out
    assert "<em>old numbers</em>" in page
    assert "Asked for by 1 team" in manager_client.get(other.get_absolute_url()).content.decode()
    listing = manager_client.get(reverse("roadmap:interview-list")).content.decode()
    assert "Priya Raman" in listing
    assert "Maria Lopez" in listing
    only_support = manager_client.get(
        reverse("roadmap:interview-list"), {"team": support.slug}
    ).content.decode()
    assert "Maria Lopez" in only_support
    assert "Priya Raman" not in only_support


def test_a_corrected_interview_keeps_what_it_said_before_in_its_history(manager_client):
    finance = TeamFactory(name="Finance")
    first, second = RoadmapItemFactory(), RoadmapItemFactory()
    manager_client.post(reverse("roadmap:interview-create"), interview_data(finance, [first]))
    interview = StakeholderInterview.objects.get()
    edit = reverse("roadmap:interview-edit", args=[interview.pk])
    assert "Priya Raman" in manager_client.get(edit).content.decode()
    moment = timezone.now()
    response = manager_client.post(
        edit, interview_data(finance, [second], pain_points="Only one thing, really")
    )
    assert response.status_code == 302
    assert interview.history.count() == 2
    assert list(interview.items.all()) == [second]
    then = interviews_as_of(item_ids=[first.pk, second.pk], as_of=moment)
    assert [words.pain_points for words in then[first.pk]] == [
        ("Close waits for the nightly job", "Two revenue figures in board decks")
    ]
    assert second.pk not in then
    now = interviews_as_of(item_ids=[first.pk, second.pk], as_of=timezone.now())
    assert list(now) == [second.pk]
    assert now[second.pk][0].pain_points == ("Only one thing, really",)


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"date": "2099-01-01"}, "date", "cannot take place in the future"),
        ({"people": ""}, "people", "This field is required."),
        ({"team": ""}, "team", "This field is required."),
    ],
)
def test_an_interview_form_with_a_mistake_is_refused_and_says_why(
    manager_client, overrides, field, message
):
    response = manager_client.post(
        reverse("roadmap:interview-create"), interview_data(TeamFactory(), **overrides)
    )
    assert response.status_code == 400
    assert any(message in error for error in response.context["form"].errors[field])
    assert not StakeholderInterview.objects.exists()


def test_dropped_items_are_not_offered_unless_the_interview_names_them(manager):
    from roadmap.evidence_forms import InterviewForm

    dropped = RoadmapItemFactory(status=RoadmapItem.Status.DROPPED)
    live = RoadmapItemFactory()
    assert list(InterviewForm().fields["items"].queryset) == [live]
    interview = save_interview(
        interview=StakeholderInterview(date=datetime.date(2026, 11, 2), team=TeamFactory(),
                                       people="Someone"),
        items=[dropped], by=manager,
    )  # fmt: skip
    offered = set(InterviewForm(instance=interview).fields["items"].queryset)
    assert offered == {dropped, live}


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.FINANCE, None])
def test_reviewers_and_finance_neither_read_nor_write_interviews(role, manager):
    team = TeamFactory()
    interview = save_interview(
        interview=StakeholderInterview(date=datetime.date(2026, 11, 2), team=team,
                                       people="Priya"),
        items=[], by=manager,
    )  # fmt: skip
    client = Client()
    client.force_login(UserFactory(username="someone", role=role))
    edit = reverse("roadmap:interview-edit", args=[interview.pk])
    assert client.get(reverse("roadmap:interview-list")).status_code == 403
    assert client.get(reverse("roadmap:interview-create")).status_code == 403
    assert client.post(reverse("roadmap:interview-create"), interview_data(team)).status_code == 403
    assert client.post(edit, interview_data(team, people="Changed")).status_code == 403
    assert list(StakeholderInterview.objects.values_list("people", flat=True)) == ["Priya"]


def test_the_admin_lists_and_opens_interviews(manager):
    interview = save_interview(
        interview=StakeholderInterview(date=datetime.date(2026, 11, 2), team=TeamFactory(),
                                       people="Priya"),
        items=[RoadmapItemFactory()], by=manager,
    )  # fmt: skip
    client = Client()
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    for url in (
        reverse("admin:roadmap_stakeholderinterview_changelist"),
        reverse("admin:roadmap_stakeholderinterview_add"),
        reverse("admin:roadmap_stakeholderinterview_change", args=[interview.pk]),
        reverse("admin:roadmap_stakeholderinterview_history", args=[interview.pk]),
        reverse("admin:roadmap_itemtable_changelist"),
    ):
        assert client.get(url).status_code == 200, url


def test_the_demo_evidence_links_tables_and_records_interviews_once():
    from roadmap.demo.evidence import INTERVIEWS, load_evidence
    from roadmap.models import ItemTable

    for slug in ("ae", "data-platform", "product-analytics", "finance", "support", "marketing",
                 "product"):  # fmt: skip
        TeamFactory(slug=slug, name=slug.title())
    UserFactory(username="manager", role=Role.MANAGER)
    switch_off = RoadmapItemFactory(title="Switch off the legacy nightly sales pipeline")
    RoadmapItemFactory(title="Retire the legacy marketing attribution export")
    sessions = RoadmapItemFactory(title="int_sessions: one row per user session")
    today = datetime.date(2026, 11, 26)
    first = load_evidence(today=today)
    # No job history loaded: the tables and interviews are there, no figures are cited.
    assert (first.items_linked, first.interviews_created, first.items_cited) == (
        3, len(INTERVIEWS), 0)  # fmt: skip
    roles = {(link.table.full_name, link.role) for link in sessions.item_tables.all()}
    assert roles == {("acme-analytics.marts.fct_sessions", "build_on"),
                     ("acme-analytics.marts.dim_users", "build_on")}  # fmt: skip
    assert ("acme-analytics.legacy_sales.daily_sales_v1", "retire") in {
        (link.table.full_name, link.role) for link in switch_off.item_tables.all()
    }
    asked = StakeholderInterview.objects.filter(items=switch_off).order_by("date")
    assert [(i.team.slug, i.date) for i in asked] == [
        ("finance", datetime.date(2026, 10, 30)), ("data-platform", datetime.date(2026, 11, 14))
    ]  # fmt: skip
    # Each is recorded on its own day, so a pack for an earlier moment leaves it out.
    assert asked[0].history.get().history_date.date() == datetime.date(2026, 10, 30)
    again = load_evidence(today=today)
    assert (again.items_linked, again.interviews_created, again.items_cited) == (0, 0, 0)
    assert StakeholderInterview.objects.count() == len(INTERVIEWS)
    assert ItemTable.objects.count() == 2 + 4 + 1
