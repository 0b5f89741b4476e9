"""Drag and drop on the ranked list, in a real browser against the live server."""

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from playwright.sync_api import Page, expect

from core.roles import Role
from demo.loader import load_demo
from roadmap.models import RoadmapItem
from tests.roadmap.factories import RoadmapItemFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "browser-test-password"


def sign_in(page: Page, url: str, username: str, password: str = PASSWORD) -> None:
    page.goto(f"{url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def manager(username: str = "mika"):
    user = UserFactory(username=username, first_name="Mika", last_name="Tanaka", role=Role.MANAGER)
    user.set_password(PASSWORD)
    user.save()
    return user


def titles_in_order(page: Page) -> list[str]:
    return page.locator("table.ranked tbody tr td:nth-child(3) a").all_inner_texts()


def drag(page: Page, title: str, onto: str) -> None:
    """Press on `title`'s handle and let go over the upper part of `onto`'s row."""
    handle = page.get_by_role("button", name=f"Drag to reorder: {title}")
    target = page.locator("table.ranked tbody tr", has_text=onto)
    handle.drag_to(target, target_position={"x": 300, "y": 4})


def test_manager_drags_item_5_to_rank_2_and_the_list_and_its_history_agree(live_server, page: Page):
    mika = manager()
    items = [RoadmapItemFactory(title=f"Item {rank}", rank=rank) for rank in range(1, 7)]
    sign_in(page, live_server.url, "mika")
    page.goto(f"{live_server.url}/roadmap/items/")
    expect(page.get_by_role("button", name="Drag to reorder: Item 5")).to_be_visible()

    drag(page, "Item 5", onto="Item 2")

    expect(page.get_by_role("status").filter(has_text="is now #2")).to_have_text(
        "“Item 5” is now #2."
    )
    expect(page.locator("table.ranked tbody tr").nth(1)).to_contain_text("Item 5")
    expect(page.locator("table.ranked tbody tr").nth(1)).to_contain_text("#2")
    assert titles_in_order(page) == ["Item 1", "Item 5", "Item 2", "Item 3", "Item 4", "Item 6"]
    # Focus stays on the moved item's handle, in the list as reloaded from the server.
    expect(page.get_by_role("button", name="Drag to reorder: Item 5")).to_be_focused()
    assert list(RoadmapItem.objects.order_by("rank").values_list("title", flat=True)) == [
        "Item 1",
        "Item 5",
        "Item 2",
        "Item 3",
        "Item 4",
        "Item 6",
    ]
    record = items[4].history.latest()
    assert (record.rank, record.history_user) == (2, mika)

    page.get_by_role("link", name="Item 5").click()
    rank_change = page.locator("table.history tr", has_text="Rank").first
    expect(rank_change).to_contain_text("Mika Tanaka")
    expect(rank_change.locator("td.old")).to_have_text("5")
    expect(rank_change.locator("td.new")).to_have_text("2")

    # After a reload the same order: the page showed what the server has.
    page.go_back()
    page.reload()
    assert titles_in_order(page)[:3] == ["Item 1", "Item 5", "Item 2"]


def test_a_drop_on_a_list_changed_in_another_session_is_refused_and_the_list_refreshed(
    live_server, page: Page, new_context
):
    manager("mika")
    manager("kenji")
    for rank in range(1, 7):
        RoadmapItemFactory(title=f"Item {rank}", rank=rank)
    sign_in(page, live_server.url, "mika")
    page.goto(f"{live_server.url}/roadmap/items/")
    expect(page.get_by_role("button", name="Drag to reorder: Item 5")).to_be_visible()

    # Meanwhile another manager, in another browser, moves Item 6 to the top.
    other = new_context().new_page()
    other.set_default_timeout(15_000)
    sign_in(other, live_server.url, "kenji")
    other.goto(f"{live_server.url}/roadmap/items/")
    other.get_by_label("New rank for Item 6").fill("1")
    other.get_by_label("New rank for Item 6").press("Enter")
    expect(other.locator("table.ranked tbody tr").first).to_contain_text("Item 6")

    drag(page, "Item 5", onto="Item 2")

    expect(page.get_by_role("status").filter(has_text="The list changed")).to_be_visible()
    # The list now is the server's: Item 6 on top, Item 5 where it was.
    expect(page.locator("table.ranked tbody tr").first).to_contain_text("Item 6")
    assert titles_in_order(page) == ["Item 6", "Item 1", "Item 2", "Item 3", "Item 4", "Item 5"]
    assert RoadmapItem.objects.get(title="Item 5").rank == 6
    assert RoadmapItem.objects.get(title="Item 5").history.count() == 2  # created, renumbered

    # On the refreshed list the same drop goes through.
    drag(page, "Item 5", onto="Item 2")
    expect(page.get_by_role("status").filter(has_text="is now #3")).to_be_visible()
    assert RoadmapItem.objects.get(title="Item 5").rank == 3


def test_at_1400_pixels_the_demo_list_shows_the_payback_column_without_scrolling(
    live_server, page: Page
):
    # The role groups come from a data migration, which a transactional test flushes.
    for role in Role:
        Group.objects.get_or_create(name=role)
    load_demo(today=timezone.localdate(), billing=False)
    page.set_viewport_size({"width": 1400, "height": 900})
    sign_in(page, live_server.url, "manager", password="quarterdeck-manager")
    page.goto(f"{live_server.url}/roadmap/items/")
    payback = page.locator("table.ranked thead th", has_text="Payback")
    expect(payback).to_be_visible()
    first_handle = page.get_by_role("button", name="Drag to reorder: Support SLA dashboard")
    expect(first_handle).to_be_visible()

    measured = page.evaluate(
        """() => {
          const wrap = document.querySelector(".table-wrap");
          const payback = [...document.querySelectorAll("table.ranked thead th")]
            .find((th) => th.textContent.includes("Payback"));
          const root = document.documentElement;
          return {
            pageOverflow: root.scrollWidth - root.clientWidth,
            tableOverflow: wrap.scrollWidth - wrap.clientWidth,
            paybackRight: payback.getBoundingClientRect().right,
            viewport: window.innerWidth,
          };
        }"""
    )

    assert measured["pageOverflow"] <= 0, measured
    assert measured["tableOverflow"] <= 0, measured
    assert measured["paybackRight"] <= measured["viewport"], measured


def test_hidden_columns_are_remembered_and_all_show_without_the_script(
    live_server, page: Page, new_context
):
    manager("mika")
    RoadmapItemFactory(title="Item 1", rank=1)
    sign_in(page, live_server.url, "mika")
    page.goto(f"{live_server.url}/roadmap/items/")
    spread = page.locator("table.ranked thead th", has_text="Spread")
    expect(spread).to_be_visible()

    page.locator("summary", has_text="Columns").click()
    page.get_by_role("checkbox", name="Spread").uncheck()
    expect(spread).to_be_hidden()
    page.reload()
    expect(spread).to_be_hidden()
    page.locator("summary", has_text="Columns").click()
    expect(page.get_by_role("checkbox", name="Spread")).not_to_be_checked()
    expect(page.locator("table.ranked thead th", has_text="Payback")).to_be_visible()

    plain = new_context(java_script_enabled=False).new_page()
    sign_in(plain, live_server.url, "mika")
    plain.goto(f"{live_server.url}/roadmap/items/")
    expect(plain.locator("table.ranked thead th", has_text="Spread")).to_be_visible()
    expect(plain.locator("summary", has_text="Columns")).to_be_hidden()
    expect(plain.get_by_role("button", name="Move up: Item 1")).to_be_visible()
