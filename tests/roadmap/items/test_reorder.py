import pytest
from django.urls import reverse

from roadmap.items.planning import move_item
from roadmap.models import RoadmapItem
from tests.roadmap.factories import RoadmapItemFactory

pytestmark = pytest.mark.django_db


def ranks() -> list[tuple[str, int]]:
    return list(
        RoadmapItem.objects.exclude(status__in=["done", "dropped"])
        .order_by("rank")
        .values_list("title", "rank")
    )


@pytest.fixture
def four_items():
    return [
        RoadmapItemFactory(title=title, rank=rank) for rank, title in enumerate("ABCD", start=1)
    ]


def test_move_to_a_rank_renumbers_the_open_items(four_items, manager):
    move_item(item=four_items[3], to_rank=1, by=manager)
    assert ranks() == [("D", 1), ("A", 2), ("B", 3), ("C", 4)]


def test_moving_past_either_end_stops_at_the_end(four_items, manager):
    move_item(item=four_items[0], to_rank=99, by=manager)
    assert ranks() == [("B", 1), ("C", 2), ("D", 3), ("A", 4)]


def test_done_and_dropped_items_are_left_out_of_the_ranking(four_items, manager):
    RoadmapItemFactory(title="Old", rank=2, status="done")
    move_item(item=four_items[2], to_rank=2, by=manager)
    assert ranks() == [("A", 1), ("C", 2), ("B", 3), ("D", 4)]
    assert RoadmapItem.objects.get(title="Old").rank == 2


def test_up_and_down_buttons_move_one_place(manager_client, four_items):
    url = reverse("roadmap:item-move", args=[four_items[2].pk])
    response = manager_client.post(url, {"direction": "up"})
    assert response.status_code == 302
    assert ranks() == [("A", 1), ("C", 2), ("B", 3), ("D", 4)]
    manager_client.post(url, {"direction": "down"})
    manager_client.post(url, {"direction": "down"})
    assert ranks() == [("A", 1), ("B", 2), ("D", 3), ("C", 4)]


def test_rank_changes_are_in_the_history_with_who(manager_client, manager, four_items):
    manager_client.post(reverse("roadmap:item-move", args=[four_items[3].pk]), {"to_rank": "1"})
    record = four_items[3].history.latest()
    assert (record.rank, record.history_user) == (1, manager)
    assert four_items[0].history.latest().rank == 2


def test_move_refuses_nonsense_and_redirects_back_only_to_this_site(manager_client, four_items):
    url = reverse("roadmap:item-move", args=[four_items[0].pk])
    response = manager_client.post(url, {"to_rank": "0", "next": "https://evil.example.com/"})
    assert response.status_code == 302
    assert response["Location"] == reverse("roadmap:item-list")
    assert ranks() == [("A", 1), ("B", 2), ("C", 3), ("D", 4)]
    assert manager_client.get(url).status_code == 405


def test_the_ranked_list_shows_manual_rice_and_wsjf_ranks_side_by_side(manager_client):
    RoadmapItemFactory(
        title="Manual first",
        rank=1,
        reach=10,
        impact="1.00",
        confidence=50,
        rice_effort_months="1",
        business_value=1,
        time_criticality=1,
        risk_reduction=1,
        job_size=20,
    )
    RoadmapItemFactory(
        title="Scores first",
        rank=2,
        reach=1000,
        impact="3.00",
        confidence=100,
        rice_effort_months="1",
        business_value=20,
        time_criticality=20,
        risk_reduction=20,
        job_size=1,
    )
    rows = manager_client.get(reverse("roadmap:item-list")).context["rows"]
    summary = [
        (r.item.title, r.manual_rank, r.rice_rank, r.wsjf_rank, r.disagreement) for r in rows
    ]
    assert summary == [("Manual first", 1, 2, 2, 1), ("Scores first", 2, 1, 1, 1)]


def test_the_ranked_list_sorts_and_filters(manager_client):
    a = RoadmapItemFactory(
        title="Alpha", rank=1, reach=10, impact="1.00", confidence=100, rice_effort_months="1"
    )
    b = RoadmapItemFactory(
        title="Beta", rank=2, reach=50, impact="1.00", confidence=100, rice_effort_months="1"
    )
    RoadmapItemFactory(title="Gamma", rank=3)  # no RICE inputs: always last
    RoadmapItemFactory(title="Dropped one", status="dropped")
    url = reverse("roadmap:item-list")
    by_rice = [r.item.title for r in manager_client.get(url, {"sort": "-rice"}).context["rows"]]
    assert by_rice == ["Beta", "Alpha", "Gamma"]
    by_rice_up = [r.item.title for r in manager_client.get(url, {"sort": "rice"}).context["rows"]]
    assert by_rice_up == ["Alpha", "Beta", "Gamma"]
    themed = manager_client.get(url, {"theme": a.theme.pk}).context["rows"]
    assert [r.item.title for r in themed] == ["Alpha"]
    dropped = manager_client.get(url, {"status": "dropped"}).context["rows"]
    assert [r.item.title for r in dropped] == ["Dropped one"]
    searched = manager_client.get(url, {"q": "bet"}).context["rows"]
    assert [r.item for r in searched] == [b]
