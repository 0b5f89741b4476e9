from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from roadmap.items.planning import build_board
from roadmap.models import TeamCapacity
from tests.roadmap.factories import (
    RoadmapItemFactory,
    TeamCapacityFactory,
    TeamFactory,
    ThemeFactory,
    quarter,
)

pytestmark = pytest.mark.django_db


def test_items_sit_in_every_quarter_they_span_and_effort_is_spread():
    theme = ThemeFactory(name="Dashboards")
    team = TeamFactory(weekly_rate=Decimal("1000"))
    TeamCapacityFactory(quarter=quarter("2027-Q1"), team=team, person_weeks=Decimal("10"))
    TeamCapacityFactory(quarter=quarter("2027-Q2"), team=team, person_weeks=Decimal("20"))
    RoadmapItemFactory(
        title="Long",
        theme=theme,
        team=team,
        effort_weeks=Decimal("12"),
        start_quarter=quarter("2027-Q1"),
        target_quarter=quarter("2027-Q3"),
    )
    RoadmapItemFactory(
        title="Short",
        theme=theme,
        team=team,
        effort_weeks=Decimal("7"),
        target_quarter=quarter("2027-Q1"),
    )
    RoadmapItemFactory(
        title="Dropped",
        theme=theme,
        team=team,
        effort_weeks=Decimal("50"),
        target_quarter=quarter("2027-Q1"),
        status="dropped",
    )
    RoadmapItemFactory(title="Someday", theme=theme, team=team, target_quarter=None)

    board = build_board(first_code="2027-Q1")

    assert [c.quarter.code for c in board.columns] == ["2027-Q1", "2027-Q2", "2027-Q3", "2027-Q4"]
    cells = board.rows[0].cells
    assert [[card.title for card in cell] for cell in cells] == [
        ["Long", "Short"] if cells[0][0].title == "Long" else ["Short", "Long"],
        ["Long"],
        ["Long"],
        [],
    ]
    q1, q2, q3, _q4 = board.columns
    assert (q1.planned_weeks, q1.capacity_weeks, q1.over_committed) == (
        Decimal("11.0"),
        Decimal("10"),
        True,
    )  # 12/3 + 7
    assert (q2.planned_weeks, q2.capacity_weeks, q2.over_committed) == (
        Decimal("4.0"),
        Decimal("20"),
        False,
    )
    assert q1.load_percent == 110
    assert q3.capacity_weeks is None
    assert [str(m) for m in q1.people_cost] == ["11,000.00 USD"]
    assert board.unscheduled == 1
    assert (board.previous_code, board.next_code) == ("2026-Q4", "2027-Q2")


def test_board_page_warns_about_an_over_committed_quarter(manager_client):
    team = TeamFactory()
    TeamCapacityFactory(quarter=quarter("2027-Q1"), team=team, person_weeks=Decimal("5"))
    RoadmapItemFactory(team=team, effort_weeks=Decimal("8"), target_quarter=quarter("2027-Q1"))
    page = manager_client.get(reverse("roadmap:board"), {"from": "2027-Q1"}).content.decode()
    assert "Over-committed by 3 person-weeks" in page
    assert "8 / 5 pw (160%)" in page


def test_board_shows_current_quarter_and_next_three_by_default(manager_client):
    from roadmap.models import Quarter

    response = manager_client.get(reverse("roadmap:board"))
    current = Quarter.from_code(Quarter.current_code())
    codes = [c.quarter.code for c in response.context["board"].columns]
    assert codes == [current.code, current.shifted(1), current.shifted(2), current.shifted(3)]


def test_a_bad_quarter_in_the_address_falls_back_with_a_message(manager_client):
    response = manager_client.get(reverse("roadmap:board"), {"from": "2027-Q7"})
    assert response.status_code == 200
    assert "write it like 2027-Q1" in response.content.decode()


def _queries_for_board(client, items: int) -> int:
    themes = [ThemeFactory() for _ in range(5)]
    team = TeamFactory()
    for n in range(items):
        RoadmapItemFactory(
            theme=themes[n % 5],
            team=team,
            effort_weeks=Decimal("2"),
            start_quarter=quarter("2027-Q1"),
            target_quarter=quarter("2027-Q2"),
        )
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("roadmap:board"), {"from": "2027-Q1"})
    assert response.status_code == 200
    return len(queries)


def test_board_query_count_does_not_grow_with_items(manager_client):
    small = _queries_for_board(manager_client, 5)
    large = _queries_for_board(manager_client, 120)
    assert large == small


def test_ranked_list_query_count_does_not_grow_with_items(manager_client):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert manager_client.get(reverse("roadmap:item-list")).status_code == 200
        return len(queries)

    team = TeamFactory()
    RoadmapItemFactory.create_batch(3, team=team, effort_weeks=Decimal("1"))
    small = count()
    RoadmapItemFactory.create_batch(60, team=team, effort_weeks=Decimal("1"))
    assert count() == small


def capacity_post(form) -> dict:
    """What the browser posts: every cell, each with the value the page showed."""
    data = {}
    for name in form.fields:
        shown = form[name].value()
        data[name] = data[f"initial-{name}"] = "" if shown is None else str(shown)
    return data


def test_manager_sets_capacity_per_team_and_quarter(manager_client):
    ae = TeamFactory(name="Analytics Engineering", weekly_rate=Decimal("4000"))
    TeamFactory(name="Finance", slug="finance", weekly_rate=None)  # requests work only
    TeamCapacityFactory(quarter=quarter("2027-Q2"), team=ae, person_weeks=Decimal("40"))
    url = reverse("roadmap:capacity") + "?from=2027-Q1"
    form = manager_client.get(url).context["form"]
    assert [team.name for team, _fields in form.rows()] == ["Analytics Engineering"]
    assert form[f"t{ae.pk}-2027-Q2"].value() == Decimal("40.0")

    data = capacity_post(form)
    data.update({f"t{ae.pk}-2027-Q1": "55", f"t{ae.pk}-2027-Q2": "", f"t{ae.pk}-2027-Q3": "48.5"})
    response = manager_client.post(url, data)
    assert response.status_code == 302
    saved = dict(TeamCapacity.objects.values_list("quarter__code", "person_weeks"))
    assert saved == {"2027-Q1": Decimal("55.0"), "2027-Q3": Decimal("48.5")}


def test_capacity_refuses_negative_weeks_and_changes_nothing(manager_client):
    ae = TeamFactory(weekly_rate=Decimal("4000"))
    url = reverse("roadmap:capacity") + "?from=2027-Q1"
    data = capacity_post(manager_client.get(url).context["form"])
    data.update({f"t{ae.pk}-2027-Q1": "-5", f"t{ae.pk}-2027-Q2": "30"})
    response = manager_client.post(url, data)
    assert response.status_code == 400
    assert "greater than or equal to 0" in response.content.decode()
    assert not TeamCapacity.objects.exists()


def test_capacity_saves_only_changed_cells_and_notices_a_cell_changed_meanwhile(
    manager_client,
):
    ae = TeamFactory(weekly_rate=Decimal("4000"))
    TeamCapacityFactory(quarter=quarter("2027-Q1"), team=ae, person_weeks=Decimal("36"))
    TeamCapacityFactory(quarter=quarter("2027-Q2"), team=ae, person_weeks=Decimal("36"))
    url = reverse("roadmap:capacity") + "?from=2027-Q1"
    mine = capacity_post(manager_client.get(url).context["form"])

    # Someone else raises Q2 while my page is open; I change Q3 only.
    TeamCapacity.objects.filter(quarter__code="2027-Q2").update(person_weeks=Decimal("50"))
    response = manager_client.post(url, {**mine, f"t{ae.pk}-2027-Q3": "40"})
    assert response.status_code == 302
    saved = dict(TeamCapacity.objects.values_list("quarter__code", "person_weeks"))
    assert saved == {
        "2027-Q1": Decimal("36.0"),
        "2027-Q2": Decimal("50.0"),
        "2027-Q3": Decimal("40.0"),
    }

    # Changing the cell they changed, from the value I saw, is refused and writes nothing.
    response = manager_client.post(
        url, {**mine, f"t{ae.pk}-2027-Q2": "30", f"t{ae.pk}-2027-Q4": "10"}
    )
    assert response.status_code == 409
    assert f"{ae.name} 2027-Q2" in response.content.decode()
    saved = dict(TeamCapacity.objects.values_list("quarter__code", "person_weeks"))
    assert saved["2027-Q2"] == Decimal("50.0")
    assert "2027-Q4" not in saved


def test_the_board_and_the_pack_count_a_quarters_items_the_same_way():
    """Items in a quarter (start to target) and items due in it (target): one meaning of
    each label, on the board and in the review pack."""
    from roadmap.reviews.packs.content import build_content
    from roadmap.reviews.packs.render import render_markdown
    from tests.roadmap.factories import ReviewSessionFactory

    theme, team = ThemeFactory(), TeamFactory()
    q3, q4, q1 = quarter("2026-Q3"), quarter("2026-Q4"), quarter("2027-Q1")
    for title, start, target, status in [
        ("Spans Q3 to Q4", q3, q4, "planned"),
        ("Due in Q4", None, q4, "planned"),
        ("Starts in Q4, due Q1", q4, q1, "in_progress"),
        ("Done in Q4", None, q4, "done"),
        ("Dropped from Q4", None, q4, "dropped"),
        ("Backlog", None, None, "proposed"),
    ]:
        RoadmapItemFactory(title=title, theme=theme, team=team, start_quarter=start,
                           target_quarter=target, status=status)  # fmt: skip
    board = build_board(first_code="2026-Q3", count=3)
    on_board = {c.quarter.code: (c.item_count, c.due_count) for c in board.columns}
    assert on_board == {"2026-Q3": (1, 0), "2026-Q4": (4, 3), "2027-Q1": (1, 1)}

    session = ReviewSessionFactory(quarter=q3)  # a draft: the live roadmap
    content = build_content(session=session, as_of=timezone.now())
    in_pack = {load.code: (load.items, load.due) for load in content.quarters}
    assert {code: in_pack[code] for code in on_board} == on_board
    assert "| 2026-Q4 | 4 | 3 |" in render_markdown(content, generated_at=None)
