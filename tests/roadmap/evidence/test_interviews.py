"""Stakeholder interviews: recorded and corrected by managers, each save one history
record (items included), shown on the items they ask for."""

import datetime
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from core.roles import Role
from roadmap.evidence.interviews import interviews_as_of, save_interview
from roadmap.evidence.tables import set_item_tables
from roadmap.models import RoadmapItem, StakeholderInterview, pain_point_lines
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
    page = manager_client.get(edit).content.decode()
    assert "Priya Raman" in page
    moment = timezone.now()
    response = manager_client.post(
        edit,
        interview_data(finance, [second], pain_points="Only one thing, really", seen=_seen(page)),
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
    from roadmap.evidence.forms import InterviewForm

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
    from demo.evidence import INTERVIEWS, load_evidence
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


# --- Found in review ------------------------------------------------------------------------


def _seen(page: str) -> str:
    found = re.search(r'<input type="hidden" name="seen" value="([^"]*)"', page)
    return found[1] if found else ""


def test_saving_an_interview_someone_changed_meanwhile_is_refused(manager_client, manager):
    finance = TeamFactory(name="Finance")
    item = RoadmapItemFactory()
    interview = save_interview(
        interview=StakeholderInterview(date=datetime.date(2026, 11, 2), team=finance,
                                       people="Priya", pain_points="Close is late"),
        items=[item], by=manager,
    )  # fmt: skip
    edit = reverse("roadmap:interview-edit", args=[interview.pk])
    mine = _seen(manager_client.get(edit).content.decode())
    other = Client()
    other.force_login(UserFactory(username="kim", role=Role.MANAGER))
    theirs = _seen(other.get(edit).content.decode())
    assert mine == theirs != ""
    saved = other.post(edit, interview_data(finance, [item], people="Priya",
                                            pain_points="Close is late\nTwo revenue figures",
                                            seen=theirs))  # fmt: skip
    assert saved.status_code == 302
    refused = manager_client.post(
        edit, interview_data(finance, [item], people="Priya Raman", seen=mine)
    )
    assert refused.status_code == 409
    text = refused.content.decode()
    assert "Someone changed this interview meanwhile; nothing was saved." in text
    interview.refresh_from_db()
    assert (interview.people, interview.pain_points) == (
        "Priya", "Close is late\nTwo revenue figures")  # fmt: skip
    # The form keeps what I typed, on the interview as it is now: saving again is deliberate.
    again = _seen(text)
    assert again not in ("", mine)
    assert "Priya Raman" in text
    resaved = manager_client.post(
        edit, interview_data(finance, [item], people="Priya Raman", seen=again)
    )
    assert resaved.status_code == 302
    interview.refresh_from_db()
    assert interview.people == "Priya Raman"
    # An edit that does not say which version it saw is refused as well.
    blind = manager_client.post(edit, interview_data(finance, [item], people="Someone"))
    assert blind.status_code == 400
    assert "This form is out of date" in blind.content.decode()
    interview.refresh_from_db()
    assert interview.people == "Priya Raman"


@pytest.mark.parametrize("value", ["²", "٣", "1" * 40, "-1", "x"])
def test_an_odd_item_in_the_new_interview_link_is_ignored(manager_client, value):
    response = manager_client.get(reverse("roadmap:interview-create"), {"item": value})
    assert response.status_code == 200


@pytest.mark.parametrize("value", ["\x00", "no-such-team", "x" * 500, "ü"])
def test_an_odd_team_filter_lists_no_interview(manager_client, manager, value):
    save_interview(
        interview=StakeholderInterview(date=datetime.date(2026, 11, 2), team=TeamFactory(),
                                       people="Priya"),
        items=[], by=manager,
    )  # fmt: skip
    response = manager_client.get(reverse("roadmap:interview-list"), {"team": value})
    assert response.status_code == 200
    text = response.content.decode()
    assert "Priya" not in text
    assert "No interview" in text


@pytest.mark.parametrize("value", ["9" * 30, "-" + "9" * 30, "1.5", "x"])
def test_an_interview_naming_an_item_id_that_cannot_exist_is_refused(manager_client, value):
    data = interview_data(TeamFactory())
    data["items"] = [value]
    response = manager_client.post(reverse("roadmap:interview-create"), data)
    assert response.status_code == 400
    assert response.context["form"].errors["items"]
    assert not StakeholderInterview.objects.exists()


def test_an_interview_with_no_item_is_recorded_and_listed(manager_client):
    response = manager_client.post(
        reverse("roadmap:interview-create"), interview_data(TeamFactory(name="Support"))
    )
    assert response.status_code == 302
    interview = StakeholderInterview.objects.get()
    assert list(interview.items.all()) == []
    listing = manager_client.get(reverse("roadmap:interview-list")).content.decode()
    assert "no item yet" in listing


def test_pain_points_lose_only_the_list_markers_typed_before_them():
    assert pain_point_lines(
        "- Close waits\n* Two figures\n• Bullet\n•Tight bullet\n-5% revenue since March\n"
        "**Board** decks disagree\n--- \n  \n+ plus marker"
    ) == [
        "Close waits", "Two figures", "Bullet", "Tight bullet", "-5% revenue since March",
        "**Board** decks disagree", "plus marker",
    ]  # fmt: skip


def test_the_interview_list_and_the_item_page_take_a_fixed_number_of_queries(
    manager_client, manager, django_assert_max_num_queries
):
    item = RoadmapItemFactory()
    others = [RoadmapItemFactory() for _ in range(3)]
    set_item_tables(item=item, retire=[f"acme.legacy.t{n}" for n in range(6)],
                    build_on=[f"acme.marts.t{n}" for n in range(6)])  # fmt: skip
    for n in range(12):
        save_interview(
            interview=StakeholderInterview(date=datetime.date(2026, 11, 2), team=TeamFactory(),
                                           people=f"Person {n}", pain_points="a\nb", notes="*x*"),
            items=[item, *others], by=manager,
        )  # fmt: skip
    with django_assert_max_num_queries(8):
        assert manager_client.get(reverse("roadmap:interview-list")).status_code == 200
    with django_assert_max_num_queries(16):
        page = manager_client.get(item.get_absolute_url())
    assert page.status_code == 200
    assert "Asked for by 12 teams" in page.content.decode()


def test_an_invited_reviewer_sees_no_evidence_control_in_the_review_or_its_pack(manager):
    from roadmap.reviews.packs.render import build_review_pack
    from tests.roadmap.factories import ReviewSessionFactory, opened

    item = RoadmapItemFactory(title="Switch off the legacy pipeline")
    set_item_tables(item=item, retire=["acme.legacy_sales.daily_sales_v1"], build_on=[])
    save_interview(
        interview=StakeholderInterview(date=datetime.date(2026, 11, 2), team=TeamFactory(),
                                       people="Priya", pain_points="Close is late"),
        items=[item], by=manager,
    )  # fmt: skip
    vp = UserFactory(username="vera", role=Role.REVIEWER)
    session = opened(ReviewSessionFactory(reviewers=[vp]), by=manager)
    build_review_pack(session=session, by=manager)
    client = Client()
    client.force_login(vp)
    pages = [
        client.get(session.get_absolute_url()),
        client.get(reverse("roadmap:pack", args=[session.pk, 1, "html"])),
        client.get(reverse("roadmap:pack", args=[session.pk, 1, "md"])),
    ]
    assert [page.status_code for page in pages] == [200, 200, 200]
    assert "Close is late" in pages[1].content.decode()
    controls = [
        reverse("roadmap:item-tables", args=[item.pk]),
        reverse("roadmap:item-evidence-apply", args=[item.pk]),
        reverse("roadmap:interview-list"),
        reverse("roadmap:interview-create"),
        "Use these figures",
        "Record an interview",
        "Edit tables",
    ]
    for page in pages:
        text = page.content.decode()
        assert [control for control in controls if control in text] == []


def test_the_demo_evidence_leaves_a_pack_built_before_it_as_it_was(manager):
    from demo.evidence import load_evidence
    from roadmap.reviews.packs.content import build_content
    from roadmap.reviews.packs.render import build_review_pack, content_hash
    from tests.roadmap.factories import ReviewSessionFactory, opened

    for slug in ("finance", "data-platform"):
        TeamFactory(slug=slug, name=slug.title())
    RoadmapItemFactory(title="Switch off the legacy nightly sales pipeline")
    vp = UserFactory(username="vera", role=Role.REVIEWER)
    session = opened(ReviewSessionFactory(reviewers=[vp]), by=manager)
    pack = build_review_pack(session=session, by=manager)
    # The demo loads its interviews after it built the open review's pack.
    assert load_evidence(today=timezone.localdate()).interviews_created == 3
    rebuilt = build_content(session=session, as_of=pack.data_as_of)
    assert rebuilt.interviews == {}
    assert content_hash(rebuilt) == pack.content_hash


def test_the_admin_lists_interviews_in_a_fixed_number_of_queries(
    manager, django_assert_max_num_queries
):
    for n in range(10):
        save_interview(
            interview=StakeholderInterview(date=datetime.date(2026, 11, 2), team=TeamFactory(),
                                           people=f"Person {n}"),
            items=[], by=UserFactory(username=f"recorder-{n}", role=Role.MANAGER),
        )  # fmt: skip
    client = Client()
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    with django_assert_max_num_queries(12):
        page = client.get(reverse("admin:roadmap_stakeholderinterview_changelist"))
    assert page.status_code == 200
    assert "Person 9" in page.content.decode()


def test_what_people_typed_is_text_on_the_interview_pages(manager_client, manager):
    item = RoadmapItemFactory(title="<b>Bold</b> item")
    interview = save_interview(
        interview=StakeholderInterview(
            date=datetime.date(2026, 11, 2), team=TeamFactory(name="<i>Ops</i>"),
            people="<img src=x onerror=alert(1)>", pain_points="<script>alert(2)</script>",
            notes="<script>alert(3)</script> [x](javascript:alert(4))",
        ),
        items=[item], by=manager,
    )  # fmt: skip
    pages = [
        manager_client.get(reverse("roadmap:interview-list")).content.decode(),
        manager_client.get(reverse("roadmap:interview-edit", args=[interview.pk])).content.decode(),
    ]
    for page in pages:
        assert "<script>alert" not in page
        assert "<img src=x" not in page
        assert "<i>Ops" not in page
        assert "<b>Bold" not in page
        assert "&lt;i&gt;Ops&lt;/i&gt;" in page
    assert "javascript:" not in pages[0]
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in pages[0]


@pytest.mark.parametrize(("role", "shown"), [(Role.MANAGER, True), (Role.REVIEWER, False),
                                             (Role.FINANCE, False)])  # fmt: skip
def test_the_navigation_leads_managers_only_to_the_interviews(role, shown):
    client = Client()
    client.force_login(UserFactory(username="someone", role=role))
    page = client.get(reverse("roadmap:budget-list")).content.decode()
    assert (f'href="{reverse("roadmap:interview-list")}"' in page) is shown
