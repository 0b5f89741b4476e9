import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from core.roles import Role
from roadmap.models import DataProduct, Incident, Quarter
from tests.roadmap.factories import RoadmapItemFactory, UserFactory, quarter

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "browser-test-password"


def sign_in(page: Page, url: str, username: str) -> None:
    page.goto(f"{url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def test_an_incident_exhausts_the_budget_and_the_roadmap_flags_the_fix(live_server, page: Page):
    manager = UserFactory(username="mika", first_name="Mika", last_name="Tanaka", role=Role.MANAGER)
    manager.set_password(PASSWORD)
    manager.save()
    now = quarter(Quarter.current_code())
    fix = RoadmapItemFactory(title="Add tests to the KPI pipeline", rank=1, target_quarter=now)
    RoadmapItemFactory(title="A new revenue dashboard", rank=2, target_quarter=now)
    kpi = DataProduct.objects.create(name="KPI tables", slug="kpi", incidents_allowed=1,
                                     budget_period="quarter")  # fmt: skip
    kpi.reliability_items.add(fix)

    # The budget is untouched: healthy, ship as planned.
    sign_in(page, live_server.url, "mika")
    page.get_by_role("link", name="Error budgets", exact=True).click()
    expect(page).to_have_url(f"{live_server.url}/roadmap/budgets/")
    card = page.locator("#product-kpi")
    expect(card.locator(".budget-state")).to_have_text("healthy")
    expect(card).to_contain_text("0 of 1 used")
    expect(card).not_to_contain_text("fix before new features")

    # The manager records an incident on the product, detected now.
    page.locator(".page-head").get_by_role("link", name="Record an incident").click()
    expect(page.get_by_role("heading", name="Record an incident")).to_be_visible()
    detected = timezone.localtime().replace(second=0, microsecond=0)
    page.get_by_label("Title").fill("Revenue doubled on the finance dashboard")
    page.get_by_label("Severity").select_option(label="SEV1: critical")
    page.get_by_label("Impact").select_option(label="Wrong numbers")
    page.get_by_label("Detected").fill(detected.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("KPI tables").check()
    page.get_by_label("Cause", exact=True).fill("A join on orders fanned out.")
    page.get_by_role("button", name="Record incident").click()

    # The budget is spent: the policy says to fix before new features.
    expect(page).to_have_url(f"{live_server.url}/roadmap/budgets/#incidents")
    expect(page.get_by_role("status")).to_have_text(
        "Incident “Revenue doubled on the finance dashboard” recorded."
    )
    card = page.locator("#product-kpi")
    expect(card.locator(".budget-state")).to_have_text("exhausted")
    expect(card).to_contain_text("1 of 1 used")
    expect(card.locator(".policy")).to_contain_text("fix before new features")
    expect(card.locator(".budget-items .flag")).to_have_text("fix before new features")
    expect(page.locator("#incidents")).to_contain_text("Revenue doubled on the finance dashboard")

    # The roadmap flags the reliability item's card, and only it.
    page.get_by_role("link", name="Roadmap", exact=True).click()
    expect(page).to_have_url(f"{live_server.url}/roadmap/")
    flagged = page.locator("a.card", has_text="Add tests to the KPI pipeline")
    expect(flagged.locator(".flag")).to_have_text("fix before new features")
    other = page.locator("a.card", has_text="A new revenue dashboard")
    expect(other.locator(".flag")).to_have_count(0)
    expect(page.locator(".budget-lane")).to_contain_text("KPI tables")
    expect(page.locator(".budget-lane .budget-state")).to_have_text("exhausted")

    # The item's page says why.
    flagged.click()
    expect(page.get_by_role("alert")).to_contain_text(
        "Fix before new features: KPI tables has used its error budget (1 of 1 incidents in "
        f"{Quarter.current_code()})"
    )

    recorded = Incident.objects.get()
    assert recorded.title == "Revenue doubled on the finance dashboard"
    assert (recorded.severity, recorded.impact) == ("sev1", "wrong_numbers")
    assert recorded.detected_at == detected
    assert recorded.recorded_by == manager
    assert list(recorded.products.all()) == [kpi]
