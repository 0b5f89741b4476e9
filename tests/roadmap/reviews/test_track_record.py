"""Kept commitments, on hand-computed examples: kept means the item reached the promised
status, by its history, no later than the last day of the promised quarter."""

import datetime

import pytest
from django.test import Client
from django.urls import reverse

from core.roles import Role
from roadmap.models import RoadmapItem
from roadmap.reviews.rules import CommitmentInput, record_decision
from roadmap.reviews.track_record import all_commitments, check_commitments, track_record
from tests.roadmap.factories import (
    ReviewSessionFactory,
    RoadmapItemFactory,
    UserFactory,
    advanced,
    opened,
    quarter,
)

pytestmark = pytest.mark.django_db
TODAY = datetime.date(2026, 11, 26)


def on(day: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(f"{day}T12:00:00+00:00")


def item_with_history(title: str, *changes: tuple[str, str]) -> RoadmapItem:
    """An item planned since June, then moved to each (status, day) in turn."""
    item = RoadmapItemFactory(title=title)
    item.history.update(history_date=on("2026-06-01"))
    for status, day in changes:
        item.status = status
        item._history_date = on(day)
        item.save()
    return item


@pytest.fixture
def commitments():
    manager = UserFactory(username="boss", role=Role.MANAGER)
    reviewer = UserFactory(username="vp", role=Role.REVIEWER)
    shipped = item_with_history("Shipped in time", ("done", "2026-09-15"))
    late = item_with_history("Shipped late", ("done", "2026-10-05"))
    started = item_with_history("Started only", ("in_progress", "2026-08-01"))
    waiting = item_with_history("Not started")
    early = item_with_history("Done this quarter", ("in_progress", "2026-10-02"),
                              ("done", "2026-11-01"))  # fmt: skip
    gone = item_with_history("Deleted later")
    session = opened(ReviewSessionFactory(quarter=quarter("2026-Q3"), reviewers=[reviewer]),
                     by=manager)  # fmt: skip
    q3, q4 = quarter("2026-Q3"), quarter("2026-Q4")
    promises = {
        shipped: [CommitmentInput("Shipped", q3)],
        late: [CommitmentInput("Late", q3)],
        started: [
            CommitmentInput("Start it", q3, promised_status="in_progress"),
            CommitmentInput("Finish it", q3),
        ],
        waiting: [CommitmentInput("Next quarter", q4)],
        early: [CommitmentInput("This quarter", q4)],
        gone: [CommitmentInput("Gone", q3)],
    }
    for item, promised in promises.items():
        record_decision(review_item=session.items.get(item=item), outcome="approved",
                        rationale="", commitments=promised, by=manager)  # fmt: skip
    gone.delete()
    return session


def test_each_commitment_is_kept_missed_or_due_later(commitments):
    checks = check_commitments(all_commitments(), today=TODAY)
    outcomes = {check.commitment.description: (check.outcome, check.reached_on) for check in checks}
    assert outcomes == {
        "Shipped": ("kept", datetime.date(2026, 9, 15)),
        "Late": ("missed", datetime.date(2026, 10, 5)),
        "Start it": ("kept", datetime.date(2026, 8, 1)),
        "Finish it": ("missed", None),
        "Gone": ("missed", None),  # the item was deleted: nothing shows it was delivered
        "Next quarter": ("pending", None),
        "This quarter": ("kept", datetime.date(2026, 11, 1)),
    }


def test_the_kept_ratio_per_quarter(commitments):
    record = track_record(check_commitments(all_commitments(), today=TODAY))
    rows = [(q.quarter, q.kept, q.missed, q.pending, q.ratio) for q in record]
    # 2026-Q3: kept 2 of 5 decided; 2026-Q4: 1 kept, 1 not due yet.
    assert rows == [("2026-Q3", 2, 3, 0, 0.4), ("2026-Q4", 1, 0, 1, 1.0)]


def test_a_commitment_not_yet_due_becomes_missed_when_its_quarter_ends(commitments):
    after_q4 = datetime.date(2027, 1, 1)
    record = track_record(check_commitments(all_commitments(), today=after_q4))
    assert [(q.quarter, q.kept, q.missed, q.pending) for q in record][1] == ("2026-Q4", 1, 1, 0)


def test_the_next_session_shows_last_sessions_commitments(commitments):
    manager = UserFactory(username="boss", role=Role.MANAGER)
    advanced(commitments, "closed", by=manager)
    current = opened(
        ReviewSessionFactory(quarter=quarter("2026-Q4"), reviewers=[UserFactory(username="vp")]),
        by=manager,
    )
    client = Client()
    client.force_login(manager)
    page = client.get(reverse("roadmap:review-detail", args=[current.pk]))
    checks = page.context["page"].previous_commitments
    assert sorted(check.commitment.description for check in checks) == [
        "Finish it", "Gone", "Late", "Next quarter", "Shipped", "Start it", "This quarter",
    ]  # fmt: skip
    text = page.content.decode()
    assert "Commitments from the previous review" in text
    assert "Track record: commitments kept" in text
    assert "40 %" in text  # 2026-Q3's ratio


def test_an_item_done_before_and_reopened_has_not_kept_a_promise_to_be_done():
    manager = UserFactory(username="boss", role=Role.MANAGER)
    reviewer = UserFactory(username="vp", role=Role.REVIEWER)
    item = item_with_history("Done, then reopened", ("done", "2026-08-01"),
                             ("planned", "2026-08-20"))  # fmt: skip
    session = opened(ReviewSessionFactory(quarter=quarter("2026-Q4"), reviewers=[reviewer]),
                     by=manager)  # fmt: skip
    promised = [CommitmentInput("Done again", quarter("2026-Q4"))]
    record_decision(review_item=session.items.get(item=item), outcome="approved", rationale="",
                    by=manager, commitments=promised)  # fmt: skip
    (check,) = check_commitments(all_commitments(), today=TODAY)
    assert (check.outcome, check.reached_on) == ("pending", None)
