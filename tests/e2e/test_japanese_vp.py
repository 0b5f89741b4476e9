"""A Japanese VP's review, end to end in a browser that asks for Japanese: every label
they click is Japanese, the dates are written the Japanese way, and screenshots of each
step are kept (`SCREENSHOTS`, default the test's tmp folder) to be looked at."""

import os
import re
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from core.roles import Role
from roadmap.models import PriorityVote, ReviewComment, ReviewItem
from tests.roadmap.factories import (
    ReviewSessionFactory,
    RoadmapItemFactory,
    UserFactory,
    opened,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "browser-test-password"
# Labels of the journey that must not be left in English on a Japanese page.
ENGLISH_LEFT = [
    "Sign out",
    "Reviews",
    "Read-only",
    "Comment on this item",
    "Change my score",
    "What last quarter",
    "No item was delivered",
]


def test_a_japanese_vp_reads_comments_and_scores_in_japanese(
    live_server, browser: Browser, tmp_path: Path
):
    shots = Path(os.environ.get("SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    manager = UserFactory(username="mika", first_name="Mika", last_name="Tanaka", role=Role.MANAGER)
    vp = UserFactory(username="sato", first_name="Kenji", last_name="Sato", role=Role.REVIEWER)
    vp.set_password(PASSWORD)
    vp.save()
    item = RoadmapItemFactory(title="売上の中間テーブル: 注文ごとに 1 行", rank=1)
    RoadmapItemFactory(title="fct_orders: late-arriving refunds", rank=2)
    session = opened(ReviewSessionFactory(title="2027-Q1 四半期レビュー", reviewers=[vp]),
                     by=manager)  # fmt: skip
    review_item = ReviewItem.objects.get(session=session, item=item)
    context = browser.new_context(locale="ja-JP", viewport={"width": 1280, "height": 900})
    page: Page = context.new_page()
    page.set_default_timeout(15_000)

    # The sign-in page follows the browser's language.
    page.goto(f"{live_server.url}/accounts/login/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Quarterdeck にログイン")
    page.screenshot(path=shots / "1-sign-in.png")
    page.get_by_label("ユーザー名").fill("sato")
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="ログイン", exact=True).click()
    expect(page.get_by_role("button", name="ログアウト")).to_be_visible()

    # The list of review sessions, then the session, read-only.
    page.get_by_role("link", name="レビュー", exact=True).click()
    expect(page.get_by_role("heading", name="レビュー会")).to_be_visible()
    page.get_by_role("link", name="2027-Q1 四半期レビュー").click()
    note = page.get_by_role("note")
    expect(note).to_contain_text("閲覧専用")
    frozen = timezone.localtime(session.opened_at).strftime("%Y/%m/%d")
    expect(note).to_contain_text(frozen)  # the date as Japanese pages write it
    page.screenshot(path=shots / "2-session.png", full_page=True)

    # A question and a score on the item, with the Japanese labels.
    article = page.locator(f"article#item-{review_item.pk}")
    article.locator("summary.item-line").click()
    article.get_by_text("この項目にコメント").click()
    article.get_by_label("種類").select_option(label="質問")
    article.get_by_label("コメント", exact=True).fill("アプリのセッションも含みますか?")
    article.get_by_role("button", name="コメント", exact=True).click()
    expect(article.locator("article.comment")).to_contain_text("アプリのセッションも含みますか?")
    article.get_by_label("価値").select_option("4")
    article.get_by_label("緊急度").select_option("5")
    article.get_by_role("button", name="採点", exact=True).click()
    expect(page.get_by_role("status")).to_have_text(
        "「売上の中間テーブル: 注文ごとに 1 行」への投票を保存しました。"
    )
    expect(article.get_by_role("button", name="採点を変更")).to_be_visible()
    page.screenshot(path=shots / "3-scored.png", full_page=True)
    text = page.locator("body").inner_text()
    left = [label for label in ENGLISH_LEFT if re.search(rf"\b{re.escape(label)}\b", text)]
    assert left == []

    comment = ReviewComment.objects.get(session=session)
    assert (comment.author, comment.kind, comment.body) == (
        vp, "question", "アプリのセッションも含みますか?"
    )  # fmt: skip
    vote = PriorityVote.objects.get(session=session)
    assert (vote.review_item, vote.value, vote.urgency) == (review_item, 4, 5)
    context.close()
