"""A VP reads a long review session an hour before the meeting: finds an item through
the table of contents and a filter, moves with j/k/o, scores it and comments with c."""

import pytest
from playwright.sync_api import Page, expect

from core.roles import Role
from roadmap.models import PriorityVote, ReviewComment, ReviewItem
from roadmap.reviews.rules import cast_vote
from tests.e2e.test_review_flow import PASSWORD, sign_in
from tests.roadmap.factories import (
    ReviewSessionFactory,
    RoadmapItemFactory,
    ThemeFactory,
    UserFactory,
    opened,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

LONG = "\n\n".join(["Why this matters, who reads it, what it replaces and what it costs."] * 6)


def test_a_vp_finds_an_item_by_contents_and_filter_and_scores_and_comments_by_keys(
    live_server, page: Page
):
    manager = UserFactory(username="mika", role=Role.MANAGER)
    vp = UserFactory(username="vera", first_name="Vera", last_name="Lind", role=Role.REVIEWER)
    vp.set_password(PASSWORD)
    vp.save()
    rank = 0
    for theme in ("Pipelines", "Tables", "Dashboards"):
        for n in range(1, 9):
            rank += 1
            RoadmapItemFactory(title=f"{theme} {n}", rank=rank, description=LONG,
                               theme=ThemeFactory(name=theme))  # fmt: skip
    session = opened(ReviewSessionFactory(title="Q review", reviewers=[vp]), by=manager)
    rows = {row.title: row for row in session.items.all()}
    for title in ("Pipelines 1", "Tables 1", "Tables 3"):  # scored the evening before
        cast_vote(review_item=rows[title], reviewer=vp, value=3, urgency=3)
    target = rows["Tables 4"]

    page.set_viewport_size({"width": 1280, "height": 800})
    sign_in(page, live_server.url, "vera")
    page.goto(f"{live_server.url}{session.get_absolute_url()}")
    contents = page.locator("#contents")
    expect(contents.locator(".keys")).to_be_visible()  # the key help, shown once JS runs
    expect(page.locator("details[open] > summary.item-line")).to_have_count(0)
    collapsed = page.evaluate("document.documentElement.scrollHeight")

    # The filter works in place: no new page, the address says what is shown.
    page.evaluate("window.stillTheSamePage = true")
    contents.get_by_role("link", name="Not yet scored by me").click()
    expect(page).to_have_url(f"{live_server.url}{session.get_absolute_url()}?show=unscored#items")
    assert page.evaluate("window.stillTheSamePage") is True
    expect(page.locator(".review-item:not([hidden])")).to_have_count(21)
    expect(contents.get_by_role("link", name="Tables")).to_be_visible()
    expect(contents.locator('[data-count="theme-2"]')).to_have_text("6")

    # The contents take her to the theme; j starts at the first unscored item in view.
    contents.get_by_role("link", name="Tables").click()
    expect(page.locator("#theme-2 h3")).to_be_in_viewport()
    for key in "jjkj":  # Tables 2, Tables 4, back to 2, 4 again (1 and 3 are scored)
        page.keyboard.press(key)
    item = page.locator(f"article#item-{target.pk}")
    expect(item).to_have_class("card review-item status-planned current")
    expect(item.locator("summary.item-line")).to_be_focused()
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"
    expect(item).to_be_in_viewport()
    page.keyboard.press("o")
    expect(item.locator("details").first).to_have_attribute("open", "")
    expect(item.get_by_role("heading", name="Tables 4")).to_be_visible()

    item.get_by_label("Value").select_option("4")
    item.get_by_label("Urgency").select_option("2")
    item.get_by_role("button", name="Score", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Your vote on “Tables 4” is saved.")
    expect(item.locator("summary.item-line")).to_contain_text("value 4 · urgency 2")
    expect(item.get_by_label("Value")).to_be_visible()  # back on the item, still open

    # c: the comment box of the current item; j and k typed there are words, not moves.
    page.keyboard.press("c")
    box = item.get_by_label("Comment", exact=True)
    expect(box).to_be_focused()
    page.keyboard.type("Does this need the refunds feed? jk")
    expect(box).to_have_value("Does this need the refunds feed? jk")
    expect(item).to_have_class("card review-item status-planned current")
    item.get_by_label("Kind").select_option(label="Question")
    item.get_by_role("button", name="Comment", exact=True).click()
    expect(item.locator("article.comment")).to_contain_text("Does this need the refunds feed? jk")
    expect(item.locator("summary.item-line")).to_contain_text("1 comment")

    # Read one line per item, the page is a fraction of its length with every item open.
    page.evaluate("document.querySelectorAll('.review-item details').forEach(d => d.open = true)")
    expanded = page.evaluate("document.documentElement.scrollHeight")
    assert collapsed * 3 < expanded, (collapsed, expanded)

    vote = PriorityVote.objects.get(review_item=target)
    assert (vote.reviewer, vote.value, vote.urgency) == (vp, 4, 2)
    comment = ReviewComment.objects.get(review_item=target)
    assert (comment.author, comment.kind, comment.parent) == (vp, "question", None)
    assert comment.body == "Does this need the refunds feed? jk"
    assert ReviewItem.objects.filter(session=session).count() == 24
