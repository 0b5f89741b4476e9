"""The move endpoint as drag and drop uses it: the ranking version the page showed, a
JSON answer for fetch(), and the same answers as before for the ▲ ▼ and rank forms."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from core.roles import Role
from roadmap.models import RoadmapItem
from tests.roadmap.factories import RoadmapItemFactory, UserFactory
from tests.roadmap.items.test_reorder import ranks

pytestmark = pytest.mark.django_db

JSON = {"HTTP_ACCEPT": "application/json"}


@pytest.fixture
def five_items():
    return [
        RoadmapItemFactory(title=title, rank=rank) for rank, title in enumerate("ABCDE", start=1)
    ]


def shown_version(client: Client, name: str = "roadmap:item-list") -> str:
    """The ranking version a page carries, as the browser reads it."""
    page = client.get(reverse(name)).content.decode()
    match = re.search(r'data-ranking-version="([0-9a-f]+)"', page)
    assert match, "the page carries no ranking version"
    return match.group(1)


def move(client: Client, item: RoadmapItem, **data: str):
    return client.post(reverse("roadmap:item-move", args=[item.pk]), data, **JSON)


def test_a_drop_with_the_version_shown_moves_the_item_and_answers_json(
    manager_client, manager, five_items
):
    version = shown_version(manager_client)

    response = move(manager_client, five_items[4], to_rank="2", version=version)

    assert response.status_code == 200
    answer = response.json()
    assert (answer["id"], answer["rank"]) == (five_items[4].pk, 2)
    assert answer["message"] == "“E” is now #2."
    assert answer["version"] == shown_version(manager_client) != version
    assert ranks() == [("A", 1), ("E", 2), ("B", 3), ("C", 4), ("D", 5)]
    record = five_items[4].history.latest()
    assert (record.rank, record.history_user) == (2, manager)
    # A JSON answer leaves no message for the next page: the script showed it already.
    assert "is now #2" not in manager_client.get(reverse("roadmap:item-list")).content.decode()


def test_a_drop_on_a_list_that_changed_meanwhile_is_refused_and_nothing_moves(
    manager_client, client_for, five_items
):
    seen = shown_version(manager_client)
    other_manager = client_for(UserFactory(username="other", role=Role.MANAGER))
    assert move(other_manager, five_items[0], to_rank="3").status_code == 200
    after_other = ranks()

    response = move(manager_client, five_items[4], to_rank="2", version=seen)

    assert response.status_code == 409
    answer = response.json()
    assert "The list changed since this page showed it" in answer["message"]
    assert answer["version"] == shown_version(manager_client)
    assert ranks() == after_other == [("B", 1), ("C", 2), ("A", 3), ("D", 4), ("E", 5)]
    assert five_items[4].history.count() == 1


def test_a_new_open_item_makes_the_shown_list_stale(manager_client, five_items):
    seen = shown_version(manager_client)
    RoadmapItemFactory(title="F", rank=6)

    assert move(manager_client, five_items[1], to_rank="1", version=seen).status_code == 409
    assert ranks()[:2] == [("A", 1), ("B", 2)]


def test_the_rank_form_refuses_a_stale_list_with_a_message_and_redirects_back(
    manager_client, five_items
):
    seen = shown_version(manager_client)
    RoadmapItem.objects.filter(pk=five_items[0].pk).update(status="done")  # closed meanwhile
    url = reverse("roadmap:item-move", args=[five_items[3].pk])

    response = manager_client.post(
        url, {"to_rank": "1", "version": seen, "next": "/roadmap/items/?theme=&sort=rank"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/roadmap/items/?theme=&sort=rank"
    page = manager_client.get(response["Location"]).content.decode()
    assert "The list changed since this page showed it" in page
    assert RoadmapItem.objects.get(pk=five_items[3].pk).rank == 4


def test_the_rank_form_with_the_current_version_still_redirects_with_a_message(
    manager_client, five_items
):
    url = reverse("roadmap:item-move", args=[five_items[2].pk])
    version = shown_version(manager_client)

    response = manager_client.post(url, {"direction": "up", "version": version})

    assert response.status_code == 302
    assert "“C” is now #2." in manager_client.get(response["Location"]).content.decode()
    assert ranks()[:3] == [("A", 1), ("C", 2), ("B", 3)]


def test_every_move_form_and_the_board_carry_the_same_ranking_version(manager_client):
    RoadmapItemFactory(title="A", rank=1, target_quarter=None)
    RoadmapItemFactory(title="Shipped", rank=2, status="done")
    list_page = manager_client.get(reverse("roadmap:item-list")).content.decode()
    version = shown_version(manager_client)

    assert f'name="version" value="{version}"' in list_page
    assert shown_version(manager_client, "roadmap:board") == version


def test_only_open_cards_on_the_board_can_be_dragged(manager_client):
    open_item = RoadmapItemFactory(title="Open one", rank=1)
    done = RoadmapItemFactory(title="Shipped one", rank=2, status="done")

    page = manager_client.get(reverse("roadmap:board")).content.decode()

    move_url = reverse("roadmap:item-move", args=[open_item.pk])
    assert f'data-move-url="{move_url}"' in page
    assert 'aria-label="Drag to reorder: Open one"' in page
    assert reverse("roadmap:item-move", args=[done.pk]) not in page
    assert "Drag to reorder: Shipped one" not in page


def test_dragging_is_offered_only_when_the_list_is_sorted_by_rank(manager_client, five_items):
    by_rank = manager_client.get(reverse("roadmap:item-list")).content.decode()
    by_title = manager_client.get(reverse("roadmap:item-list"), {"sort": "title"})

    assert 'data-sortable="rows"' in by_rank
    assert by_rank.count('class="drag-handle"') == 5
    assert 'data-sortable="rows"' not in by_title.content.decode()
    assert 'class="drag-handle"' not in by_title.content.decode()


def test_a_json_move_of_a_closed_item_or_to_no_rank_is_a_400_with_its_reason(
    manager_client, five_items
):
    done = RoadmapItemFactory(title="Shipped", status="done", rank=6)
    version = shown_version(manager_client)

    closed = move(manager_client, done, to_rank="1", version=version)
    nowhere = move(manager_client, five_items[0], to_rank="0", version=version)

    assert closed.status_code == 400
    assert closed.json()["message"] == "Only proposed, planned or in-progress items have a rank."
    assert nowhere.status_code == 400
    assert nowhere.json()["message"]
    assert ranks() == [("A", 1), ("B", 2), ("C", 3), ("D", 4), ("E", 5)]


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.FINANCE, None])
def test_only_managers_may_move_reviewers_finance_and_roleless_users_get_403(
    client_for, five_items, role
):
    client = client_for(UserFactory(username=f"user-{role or 'none'}", role=role))
    manager = client_for(UserFactory(username="boss", role=Role.MANAGER))
    version = shown_version(manager)

    response = move(client, five_items[4], to_rank="1", version=version)
    form_post = client.post(
        reverse("roadmap:item-move", args=[five_items[4].pk]), {"direction": "up"}
    )

    assert (response.status_code, form_post.status_code) == (403, 403)
    assert ranks() == [("A", 1), ("B", 2), ("C", 3), ("D", 4), ("E", 5)]
    assert five_items[4].history.count() == 1


def test_anonymous_moves_are_sent_to_sign_in_and_nothing_moves(five_items):
    response = move(Client(), five_items[4], to_rank="1")

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert ranks() == [("A", 1), ("B", 2), ("C", 3), ("D", 4), ("E", 5)]


def test_a_browser_form_post_gets_html_even_though_it_accepts_anything(manager_client, five_items):
    response = manager_client.post(
        reverse("roadmap:item-move", args=[five_items[1].pk]),
        {"to_rank": "1"},
        HTTP_ACCEPT="text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    )

    assert response.status_code == 302
    assert ranks()[:2] == [("B", 1), ("A", 2)]
