from decimal import Decimal

import pytest
from django.urls import reverse

from roadmap.items.history import item_history
from roadmap.models import RoadmapItem
from tests.roadmap.factories import RoadmapItemFactory, TeamFactory, ThemeFactory, quarter

pytestmark = pytest.mark.django_db


def form_data(item: RoadmapItem | None = None, **overrides) -> dict:
    """What the edit form posts for `item` (or a minimal new item)."""
    theme = item.theme if item else ThemeFactory()
    team = item.team if item else TeamFactory()
    data = {
        "title": item.title if item else "Retire legacy sales pipeline",
        "description": item.description if item else "",
        "theme": theme.pk,
        "team": team.pk,
        "status": item.status if item else "planned",
        "target_quarter": item.target_quarter.code if item and item.target_quarter else "",
        "start_quarter": "",
        "currency": "USD",
        "version": item.version if item else "",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def test_manager_creates_an_item_and_lands_on_its_page(manager_client, manager):
    theme, team = ThemeFactory(name="Legacy"), TeamFactory(slug="ae", weekly_rate=Decimal("4000"))
    code = quarter("2027-Q1").code
    response = manager_client.post(
        reverse("roadmap:item-create"),
        form_data(
            theme=theme.pk,
            team=team.pk,
            target_quarter=code,
            effort_weeks="3",
            reach="500",
            impact="2.00",
            confidence="80",
            rice_effort_months="2",
            business_value="8",
            time_criticality="13",
            risk_reduction="8",
            job_size="3",
        ),
    )
    item = RoadmapItem.objects.get()
    assert response.status_code == 302
    assert response["Location"] == item.get_absolute_url()
    assert item.rice_score() == Decimal("400.00")
    assert item.history.count() == 1
    assert item.history.get().history_user == manager
    page = manager_client.get(item.get_absolute_url()).content.decode()
    assert "Retire legacy sales pipeline" in page
    assert "12,000.00 USD" in page  # 3 weeks x 4,000
    assert "created the item" in page


def test_new_items_join_the_bottom_of_the_priority_list(manager_client):
    RoadmapItemFactory(rank=1)
    RoadmapItemFactory(rank=2)
    manager_client.post(reverse("roadmap:item-create"), form_data(title="Newest"))
    assert RoadmapItem.objects.get(title="Newest").rank == 3


def test_invalid_input_is_shown_next_to_the_field_and_nothing_is_saved(manager_client):
    response = manager_client.post(
        reverse("roadmap:item-create"),
        form_data(
            title="",
            rice_effort_months="0.2",
            links="javascript:alert(1)",
            start_quarter="2027-Q3",
            target_quarter="2027-Q1",
        ),
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert set(errors) == {"title", "rice_effort_months", "links", "target_quarter"}
    assert "Line 1 is not an http(s) link" in response.content.decode()
    assert RoadmapItem.objects.count() == 0


def test_dependency_loops_are_refused(manager_client):
    first = RoadmapItemFactory(title="First")
    second = RoadmapItemFactory(title="Second")
    second.depends_on.add(first)
    response = manager_client.post(
        reverse("roadmap:item-edit", args=[first.pk]),
        form_data(first, depends_on=[second.pk]),
    )
    assert response.status_code == 400
    assert "loop: First → Second → First" in response.content.decode()
    assert not first.depends_on.exists()


def test_every_change_is_kept_with_field_old_new_who_and_when(manager_client, manager):
    item = RoadmapItemFactory(title="Sessions table", effort_weeks=Decimal("4"))
    analytics = TeamFactory(name="Product Analytics", slug="product-analytics")
    manager_client.post(
        reverse("roadmap:item-edit", args=[item.pk]),
        form_data(
            item,
            effort_weeks="6",
            status="in_progress",
            target_quarter="2027-Q2",
            requesting_teams=[analytics.pk],
        ),
    )
    history = manager_client.get(item.get_absolute_url()).context["history"]
    latest_changes = {
        change.field: (change.old, change.new)
        for entry in history
        if entry.kind == "changed"
        for change in entry.changes
    }
    assert latest_changes["effort_weeks"] == ("4.0", "6.0")
    assert latest_changes["status"] == ("Planned", "In progress")
    assert latest_changes["target_quarter"][1] == "2027-Q2"
    assert latest_changes["requesting_teams"] == ("—", "Product Analytics")
    assert all(entry.who == "Mika Tanaka" for entry in history if entry.kind == "changed")


def test_second_of_two_concurrent_edits_is_refused_with_what_changed(client_for, manager):
    other = type(manager).objects.create(
        username="other-manager", first_name="Ola", last_name="Berg"
    )
    other.groups.set(manager.groups.all())
    item = RoadmapItemFactory(title="Shared item", effort_weeks=Decimal("4"), reach=100)
    mine, theirs = client_for(manager), client_for(other)
    loaded = form_data(item, effort_weeks="4", reach="100")  # both opened this version

    first = theirs.post(
        reverse("roadmap:item-edit", args=[item.pk]),
        {**loaded, "effort_weeks": "8", "reach": "300"},
    )
    assert first.status_code == 302

    second = mine.post(
        reverse("roadmap:item-edit", args=[item.pk]),
        {**loaded, "title": "My new title", "reach": "200"},
    )
    page = second.content.decode()
    assert second.status_code == 409
    assert "someone else changed this item" in page
    assert "Ola Berg" in page
    assert "Effort (person-weeks)" in page
    item.refresh_from_db()
    assert (item.title, item.effort_weeks, item.reach) == ("Shared item", Decimal("8.0"), 300)

    # The form keeps my edits, takes their effort (I had not touched it) and flags reach,
    # which we both changed.
    form = second.context["form"]
    assert form.taken_fields == ["effort_weeks"]
    assert form.clashing_fields == ["reach"]
    assert form["title"].value() == "My new title"
    assert form["effort_weeks"].value() == "8.0"
    assert form["reach"].value() == "200"

    # Having seen their change, saving the merged form goes through and keeps both edits.
    again = mine.post(reverse("roadmap:item-edit", args=[item.pk]), form.data)
    assert again.status_code == 302
    item.refresh_from_db()
    assert (item.title, item.effort_weeks, item.reach) == ("My new title", Decimal("8.0"), 200)
    assert item.version == 3


@pytest.mark.parametrize(
    "payload",
    [
        "<script>alert('xss')</script>",
        "[click me](javascript:alert(1))",
        '<a href="javascript:alert(1)">x</a>',
        '<img src=x onerror="alert(1)">',
        "<iframe src='https://evil.example.com'></iframe>",
        '<p onclick="alert(1)" style="color:red">hi</p>',
    ],
)
def test_markdown_never_lets_script_reach_the_page(manager_client, payload):
    item = RoadmapItemFactory(description=payload, risks=payload, benefit_narrative=payload)
    page = manager_client.get(item.get_absolute_url()).content.decode().lower()
    for forbidden in ("<script>alert", "javascript:", "onerror", "onclick", "<iframe", "<img"):
        assert forbidden not in page


def test_markdown_is_rendered(manager_client):
    item = RoadmapItemFactory(description="**Bold** and [docs](https://docs.example.com)")
    page = manager_client.get(item.get_absolute_url()).content.decode()
    assert "<strong>Bold</strong>" in page
    assert '<a href="https://docs.example.com" rel="noopener noreferrer nofollow">docs</a>' in page


def test_pages_send_a_content_security_policy_without_inline_script(manager_client):
    response = manager_client.get(reverse("roadmap:board"))
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]


def test_unknown_item_is_404(manager_client):
    assert manager_client.get(reverse("roadmap:item-detail", args=[999])).status_code == 404
    assert manager_client.get(reverse("roadmap:item-edit", args=[999])).status_code == 404


def test_saving_an_untouched_form_keeps_an_inactive_owner_and_a_dropped_dependency(
    manager_client, manager
):
    gone = type(manager).objects.create(username="left-the-company", is_active=False)
    dropped = RoadmapItemFactory(title="Dropped work", status="dropped")
    item = RoadmapItemFactory(owner=gone)
    item.depends_on.add(dropped)
    form = manager_client.get(reverse("roadmap:item-edit", args=[item.pk])).context["form"]
    data = {name: form[name].value() for name in form.fields}
    data = {k: ("" if v is None else v) for k, v in data.items()}
    response = manager_client.post(reverse("roadmap:item-edit", args=[item.pk]), data)
    assert response.status_code == 302, response.context["form"].errors
    item.refresh_from_db()
    assert item.owner == gone
    assert list(item.depends_on.all()) == [dropped]


def test_crlf_from_the_browser_is_not_a_change(manager_client):
    item = RoadmapItemFactory(description="line one\nline two")
    data = form_data(item, description="line one\r\nline two")
    manager_client.post(reverse("roadmap:item-edit", args=[item.pk]), data)
    item.refresh_from_db()
    assert item.description == "line one\nline two"
    changes = [c.field for e in item_history(item) for c in e.changes]
    assert "description" not in changes


def test_an_edit_of_requesting_teams_is_one_history_entry(manager_client):
    a, b, c = (TeamFactory(slug=slug, name=slug.upper()) for slug in ("a", "b", "c"))
    item = RoadmapItemFactory()
    item.requesting_teams.set([a, b])
    before = item.history.count()
    manager_client.post(
        reverse("roadmap:item-edit", args=[item.pk]), form_data(item, requesting_teams=[a.pk, c.pk])
    )
    assert item.history.count() == before + 1
    latest = item_history(item)[0]
    assert [(ch.field, ch.old, ch.new) for ch in latest.changes] == [
        ("requesting_teams", "A, B", "A, C")
    ]


def test_reopening_an_item_puts_it_at_the_bottom_and_closing_closes_the_gap(manager_client):
    a, _b, _c = (RoadmapItemFactory(title=t, rank=r) for r, t in enumerate("ABC", start=1))
    manager_client.post(reverse("roadmap:item-edit", args=[a.pk]), form_data(a, status="done"))
    ranks = dict(RoadmapItem.objects.filter(status="planned").values_list("title", "rank"))
    assert ranks == {"B": 1, "C": 2}
    a.refresh_from_db()
    manager_client.post(reverse("roadmap:item-edit", args=[a.pk]), form_data(a, status="planned"))
    ranks = dict(RoadmapItem.objects.values_list("title", "rank"))
    assert ranks == {"B": 1, "C": 2, "A": 3}


@pytest.mark.parametrize("code", ["0000-Q1", "9999-Q4"])
def test_quarters_outside_planning_years_are_refused_not_a_server_error(manager_client, code):
    board = manager_client.get(reverse("roadmap:board"), {"from": code})
    assert board.status_code == 200
    assert "years 2000 to 2099" in board.content.decode()
    assert manager_client.get(reverse("roadmap:capacity"), {"from": code}).status_code == 200
    created = manager_client.post(reverse("roadmap:item-create"), form_data(target_quarter=code))
    assert created.status_code == 400
    assert "target_quarter" in created.context["form"].errors


def test_the_last_plannable_window_ends_in_2099(manager_client):
    board = manager_client.get(reverse("roadmap:board"), {"from": "2099-Q4"}).context["board"]
    assert [c.quarter.code for c in board.columns] == ["2099-Q1", "2099-Q2", "2099-Q3", "2099-Q4"]
