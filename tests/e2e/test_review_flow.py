import pytest
from playwright.sync_api import Page, expect

from core.roles import Role
from roadmap.models import Decision, PriorityVote, ReviewComment, ReviewItem
from tests.roadmap.factories import ReviewSessionFactory, RoadmapItemFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "browser-test-password"


def sign_in(page: Page, url: str, username: str) -> None:
    page.goto(f"{url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def test_reviewer_comments_and_scores_manager_resolves_and_decides(
    live_server, page: Page, new_context
):
    manager = UserFactory(username="mika", first_name="Mika", last_name="Tanaka", role=Role.MANAGER)
    vp = UserFactory(username="vera", first_name="Vera", last_name="Lind", role=Role.REVIEWER)
    for user in (manager, vp):
        user.set_password(PASSWORD)
        user.save()
    sessions_item = RoadmapItemFactory(title="int_sessions: one row per session", rank=1)
    RoadmapItemFactory(title="fct_orders: late-arriving refunds", rank=2)
    session = ReviewSessionFactory(title="Q review with the VP", reviewers=[vp])
    session_url = f"{live_server.url}/roadmap/reviews/{session.pk}/"

    # The manager opens the session: the roadmap is frozen for the reviewers.
    sign_in(page, live_server.url, "mika")
    page.goto(session_url)
    expect(page.get_by_role("heading", name="Not open yet")).to_be_visible()
    page.get_by_role("button", name="Open for review").click()
    expect(page.locator(".pill.review-open")).to_have_text("Open for review")
    expect(page.get_by_role("button", name="Mark as held")).to_be_visible()
    review_item = ReviewItem.objects.get(session=session, item=sessions_item)

    # The VP finds the session, reads it (read-only), comments and scores an item.
    vp_page = new_context().new_page()
    vp_page.set_default_timeout(15_000)
    sign_in(vp_page, live_server.url, "vera")
    vp_page.goto(f"{live_server.url}/roadmap/reviews/")
    vp_page.get_by_role("link", name="Q review with the VP").click()
    expect(vp_page).to_have_url(session_url)
    expect(vp_page.get_by_role("note")).to_contain_text("Read-only")
    expect(vp_page.get_by_role("link", name="Record a decision")).to_have_count(0)
    expect(vp_page.get_by_role("button", name="Mark as held")).to_have_count(0)
    item = vp_page.locator(f"article#item-{review_item.pk}")
    expect(item.get_by_role("heading", name="int_sessions: one row per session")).to_be_visible()
    item.locator("summary.item-line").click()  # an item is one line until opened
    item.get_by_text("Comment on this item").click()
    item.get_by_label("Kind").select_option(label="Question")
    item.get_by_label("Comment", exact=True).fill("Does this cover app sessions too?")
    item.get_by_role("button", name="Comment", exact=True).click()
    expect(item.locator("article.comment")).to_contain_text("Does this cover app sessions too?")
    expect(item.locator("article.comment")).to_contain_text("Vera Lind")
    item.get_by_label("Value").select_option("4")
    item.get_by_label("Urgency").select_option("5")
    item.get_by_role("button", name="Score", exact=True).click()
    expect(vp_page.get_by_role("status")).to_have_text(
        "Your vote on “int_sessions: one row per session” is saved."
    )
    expect(item.get_by_role("button", name="Change my score")).to_be_visible()
    expect(item.get_by_label("Value")).to_have_value("4")
    expect(item.get_by_label("Urgency")).to_have_value("5")

    # The manager answers and resolves the thread, then records a decision on the item.
    page.goto(session_url)
    item = page.locator(f"article#item-{review_item.pk}")
    item.locator("summary.item-line").click()
    thread = item.locator(".thread")
    expect(thread).to_contain_text("Does this cover app sessions too?")
    thread.get_by_text("Resolve", exact=True).click()
    thread.get_by_label("Answer (optional)").fill("Yes: web and app, merged on the device id.")
    thread.get_by_role("button", name="Resolve thread").click()
    expect(thread).to_contain_text("Yes: web and app, merged on the device id.")
    expect(thread).to_contain_text("Resolved by Mika Tanaka")
    expect(thread.get_by_text("Resolve", exact=True)).to_have_count(0)
    item.get_by_role("link", name="Record a decision").click()
    expect(page.get_by_role("heading", name="Decision on “int_sessions")).to_be_visible()
    page.get_by_label("Decision", exact=True).select_option(label="Approved")
    page.get_by_label("Rationale").fill("Unblocks the retention dashboard.")
    page.get_by_role("button", name="Record decision").click()
    expect(page).to_have_url(f"{session_url}#item-{review_item.pk}")
    expect(page.get_by_role("status")).to_have_text("Decision recorded.")
    expect(item.locator(".decision")).to_contain_text("Decision: Approved")
    expect(item.locator(".decision")).to_contain_text("Unblocks the retention dashboard.")
    expect(item.get_by_role("link", name="Change the decision")).to_be_visible()

    # The VP reloads and reads the answer.
    vp_page.reload()
    thread = vp_page.locator(f"article#item-{review_item.pk} .thread")
    expect(thread).to_contain_text("Yes: web and app, merged on the device id.")
    expect(thread).to_contain_text("Resolved by Mika Tanaka")
    expect(vp_page.locator(f"article#item-{review_item.pk} .decision")).to_contain_text("Approved")

    question = ReviewComment.objects.get(session=session, parent=None)
    assert (question.author, question.review_item, question.kind) == (vp, review_item, "question")
    assert question.body == "Does this cover app sessions too?"
    assert question.resolved_by == manager
    assert question.resolved_at is not None
    answer = ReviewComment.objects.get(session=session, parent=question)
    assert (answer.author, answer.review_item) == (manager, review_item)
    assert answer.body == "Yes: web and app, merged on the device id."
    assert ReviewComment.objects.filter(session=session).count() == 2
    vote = PriorityVote.objects.get(session=session)
    assert (vote.reviewer, vote.review_item, vote.value, vote.urgency) == (vp, review_item, 4, 5)
    decision = Decision.objects.get(session=session)
    assert (decision.review_item, decision.outcome) == (review_item, Decision.Outcome.APPROVED)
    assert decision.rationale == "Unblocks the retention dashboard."
    assert decision.decided_by == manager
    assert not decision.commitments.exists()
