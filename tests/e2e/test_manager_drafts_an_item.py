from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from core.roles import Role
from roadmap.models import Quarter, RoadmapItem
from tests.roadmap.factories import RoadmapItemFactory, TeamFactory, ThemeFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_manager_signs_in_creates_an_item_reorders_it_and_sees_it_on_the_roadmap(
    live_server, page: Page
):
    manager = UserFactory(username="mika", first_name="Mika", last_name="Tanaka", role=Role.MANAGER)
    manager.set_password("browser-test-password")
    manager.save()
    theme = ThemeFactory(name="Intermediate tables")
    TeamFactory(name="Analytics Engineering", slug="ae", weekly_rate=Decimal("4000"))
    current = Quarter.current_code()
    for rank in (1, 2):
        RoadmapItemFactory(title=f"Existing {rank}", rank=rank, theme=theme)

    page.goto(f"{live_server.url}/roadmap/")
    expect(page).to_have_url(f"{live_server.url}/accounts/login/?next=/roadmap/")
    page.get_by_label("Username").fill("mika")
    page.get_by_label("Password").fill("browser-test-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Roadmap")).to_be_visible()

    page.get_by_role("link", name="New item").click()
    page.get_by_label("Title").fill("int_sessions: one row per session")
    page.get_by_label("Theme").select_option(label="Intermediate tables")
    page.get_by_label("Delivering team").select_option(label="Analytics Engineering")
    page.get_by_label("Status").select_option(label="Planned")
    page.get_by_label("Target quarter").select_option(current)
    page.get_by_label("Effort (person-weeks)").fill("6")
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_role("heading", name="int_sessions: one row per session")).to_be_visible()
    expect(page.get_by_text("24,000.00 USD", exact=False)).to_be_visible()
    item = RoadmapItem.objects.get(title="int_sessions: one row per session")
    assert item.rank == 3

    page.get_by_role("link", name="Ranked list").click()
    page.get_by_role("button", name="Move up: int_sessions: one row per session").click()
    page.get_by_role("button", name="Move up: int_sessions: one row per session").click()
    expect(page.locator("table.ranked tbody tr").first).to_contain_text("int_sessions")
    expect(page.locator("table.ranked tbody tr").first).to_contain_text("#1")
    item.refresh_from_db()
    assert item.rank == 1

    page.get_by_role("link", name="Roadmap").click()
    card = page.locator("table.board a.card", has_text="int_sessions: one row per session")
    expect(card).to_be_visible()
    expect(card).to_contain_text("#1")
    column = page.locator("table.board thead th.quarter").first
    expect(column).to_contain_text(current)
    expect(column).to_contain_text("6 pw planned")
