"""The session page reads a fixed number of queries, whatever the number of items,
comments, votes and decisions, and of items delivered since the previous review."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from core.roles import Role
from cost.usage.serializers import utc_today
from roadmap.models import PriorityVote, ReviewComment, ReviewSession, RoadmapItem
from roadmap.reviews.rules import add_comment, edit_comment, record_decision, resolve_thread
from tests.roadmap.evidence.job_history import item, table, used, user
from tests.roadmap.factories import (
    ReviewSessionFactory,
    RoadmapItemFactory,
    UserFactory,
    advanced,
    opened,
)

pytestmark = pytest.mark.django_db


def seed_session(*, items: int, comments: int, tag: str) -> tuple[ReviewSession, dict]:
    """A closed review and an open one over `items` items, with `comments` comments (a
    third of them replies, some edited, deleted and resolved), votes and decisions; a
    third of the items delivered today, building on one table and retiring another."""
    people = {
        "manager": UserFactory(username=f"{tag}-manager", role=Role.MANAGER),
        "vp": UserFactory(username=f"{tag}-vp", role=Role.REVIEWER),
        "peer": UserFactory(username=f"{tag}-peer", role=Role.REVIEWER),
    }
    today = utc_today()
    legacy, new = table("legacy"), table("new")
    for rank in range(1, items + 1):
        if rank % 3:
            RoadmapItemFactory(title=f"{tag} item {rank}", rank=rank)
        else:
            item(f"{tag} item {rank}", retire=[legacy], build_on=[new], rank=rank,
                 status=RoadmapItem.Status.DONE, delivered_on=today, adoption_target_people=1,
                 adoption_target_weeks=1, hours_saved_per_month=10)  # fmt: skip
    used(today, user(f"{tag}@acme.example"), new)
    reviewers = [people["vp"], people["peer"]]
    previous = opened(ReviewSessionFactory(reviewers=reviewers), by=people["manager"])
    first = previous.items.order_by("position").first()
    record_decision(review_item=first, outcome="approved", rationale="", by=people["manager"],
                    commitments=[])  # fmt: skip
    advanced(previous, "closed", by=people["manager"])
    session = opened(ReviewSessionFactory(reviewers=reviewers), by=people["manager"])
    rows = list(session.items.order_by("position"))
    threads = [
        add_comment(
            session=session,
            author=people["vp"],
            kind="question",
            body=f"Why **{row.title}** now? @{tag}-peer",
            review_item=row,
        )
        for row in rows[: max(1, comments // 3)]
    ]
    edit_comment(comment=threads[0], by=people["vp"], body="Edited question")
    resolve_thread(comment=threads[0], by=people["manager"], reply="Because.")
    ReviewComment.objects.bulk_create(
        ReviewComment(session=session, review_item=rows[i % len(rows)], author=people["peer"],
                      kind="concern", body=f"Concern {i}")
        for i in range(comments - 2 * len(threads) - 1)
    )  # fmt: skip
    ReviewComment.objects.bulk_create(
        ReviewComment(session=session, review_item=thread.review_item, parent=thread,
                      author=people["manager"], body="An answer")
        for thread in threads
    )  # fmt: skip
    PriorityVote.objects.bulk_create(
        PriorityVote(session=session, review_item=row, reviewer=reviewer, value=1 + i % 5,
                     urgency=1 + (i * 3) % 5)
        for i, row in enumerate(rows) for reviewer in reviewers
    )  # fmt: skip
    for row in rows[:10]:
        record_decision(review_item=row, outcome="deferred", rationale="Later",
                        by=people["manager"], commitments=[])  # fmt: skip
    return session, people


def queries_for(session: ReviewSession, user) -> tuple[int, str]:
    client = Client()
    client.force_login(user)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(session.get_absolute_url())
    assert response.status_code == 200
    return len(queries), response.content.decode()


def test_the_session_page_reads_the_same_number_of_queries_at_150_items_and_500_comments():
    small, small_people = seed_session(items=3, comments=6, tag="s")
    few = {role: queries_for(small, small_people[role]) for role in ("manager", "vp")}
    assert few["vp"][1].count('id="delivered-') == 1  # its item 3
    large, large_people = seed_session(items=150, comments=500, tag="l")
    assert large.items.count() == 153  # its own 150 and the 3 of the small one
    assert large.comments.count() == 500
    for role in ("manager", "vp"):
        many, text = queries_for(large, large_people[role])
        assert many == few[role][0], role
        assert "l item 150" in text
        assert text.count('class="comment"') == 500
        # Items 3, 6, ... 150 and the small session's item 3: live items, delivered today.
        assert text.count('id="delivered-') == 51
