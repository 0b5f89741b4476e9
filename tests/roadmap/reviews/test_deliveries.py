"""What last quarter's deliveries changed, on the session page: the items delivered since
the previous review, from the constructed job history of tests/roadmap/evidence (figures
worked out by hand in tests/roadmap/evidence/test_benefit.py)."""

import datetime
from decimal import Decimal

import pytest
from django.test import Client

from core.money import Money
from core.roles import Role
from roadmap.evidence.benefit import Outcome
from roadmap.models import RoadmapItem
from roadmap.reviews.deliveries import deliveries_changed, deliveries_since
from roadmap.reviews.page import build_session_page
from roadmap.reviews.track_record import QuarterRecord
from tests.roadmap.evidence.job_history import AS_OF, SHIPPED, D, constructed_world
from tests.roadmap.factories import (
    ReviewSessionFactory,
    UserFactory,
    advanced,
    opened,
    quarter,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def people() -> dict:
    return {
        "manager": UserFactory(username="manager", role=Role.MANAGER),
        "vp": UserFactory(username="vp", role=Role.REVIEWER),
        "outsider": UserFactory(username="outsider", role=Role.REVIEWER),
        "finance": UserFactory(username="finance", role=Role.FINANCE),
    }


@pytest.fixture
def world() -> dict:
    return constructed_world()


@pytest.fixture
def sessions(people, world) -> tuple:
    """A closed review whose roadmap was frozen on 1 September 2026 at 23:30 UTC, and the
    open one after it."""
    previous = opened(ReviewSessionFactory(reviewers=[people["vp"]]), by=people["manager"])
    advanced(previous, "closed", by=people["manager"])
    frozen = datetime.datetime(2026, 9, 1, 23, 30, tzinfo=datetime.UTC)
    type(previous).objects.filter(pk=previous.pk).update(opened_at=frozen)
    session = opened(ReviewSessionFactory(reviewers=[people["vp"]]), by=people["manager"])
    return previous, session


def test_since_the_previous_review_or_the_quarter_before(sessions):
    previous, session = sessions
    previous.refresh_from_db()
    # The previous session's opened_at, as a UTC date.
    assert deliveries_since(session, previous) == D(2026, 9, 1)
    # No previous session: the first day of the quarter before the session's.
    lonely = ReviewSessionFactory(quarter=quarter("2027-Q1"))
    assert deliveries_since(lonely, None) == D(2026, 10, 1)
    first_of_year = ReviewSessionFactory(quarter=quarter("2026-Q1"))
    assert deliveries_since(first_of_year, None) == D(2025, 10, 1)


def test_promised_against_realised_for_each_item_delivered_since(sessions, world):
    previous, session = sessions
    previous.refresh_from_db()
    # An item delivered before the previous review is not in the section.
    RoadmapItem.objects.filter(pk=world["building"].pk).update(
        status=RoadmapItem.Status.DONE, delivered_on=D(2026, 8, 31)
    )
    record = [QuarterRecord("2026-Q3", kept=3, missed=1, pending=0)]
    section = deliveries_changed(session=session, previous=previous, as_of=AS_OF, record=record)
    assert section.since == D(2026, 9, 1)
    # Delivered 2 September (main, retired) and 20 October (recent), by day then id.
    assert [b.title for b in section.benefits] == [
        "Intermediate sales tables", "Switch off old2", "Sales cube",
    ]  # fmt: skip
    main = section.benefits[0]
    assert main.delivered_on == SHIPPED
    assert (main.adoption.people, main.adoption.teams, main.adoption.queries) == (12, 3, 120)
    assert main.retirement.readers_left == 2  # lee and the dashboard, since 1 October
    assert main.cost.monthly_change == Money(Decimal("-5.43"), "USD")
    assert main.cost.declared == Money(Decimal("-100.00"), "USD")
    assert (main.hours.promised, main.hours.measured) == (Decimal("40.0"), Decimal("4.7"))
    assert {c.kind: c.outcome for c in main.targets} == {
        "adoption": Outcome.MET, "retirement": Outcome.MISSED, "cost": Outcome.MISSED,
    }  # fmt: skip
    # 2026-Q3: main missed, old2 met: 1 of 2. 2026-Q4: the sales cube is not yet due.
    ratios = [(q.quarter, q.benefit.met, q.benefit.missed, q.benefit.not_yet_due, q.benefit.ratio,
               q.record.ratio if q.record else None) for q in section.quarters]  # fmt: skip
    assert ratios == [("2026-Q3", 1, 1, 0, 0.5, 0.75), ("2026-Q4", 0, 0, 1, None, None)]


def test_as_of_an_earlier_day_leaves_the_later_delivery_out(sessions):
    previous, session = sessions
    previous.refresh_from_db()
    section = deliveries_changed(session=session, previous=previous, as_of=D(2026, 10, 19),
                                 record=[])  # fmt: skip
    assert [b.title for b in section.benefits] == ["Intermediate sales tables", "Switch off old2"]


def test_the_session_page_shows_the_section_to_the_manager_and_the_invited_reviewer(
    sessions, people, world
):
    _previous, session = sessions
    for role in ("manager", "vp"):
        client = Client()
        client.force_login(people[role])
        response = client.get(session.get_absolute_url())
        assert response.status_code == 200, role
        text = response.content.decode()
        assert "What last quarter's deliveries changed" in text
        for name in ("main", "retired", "recent"):
            assert f'id="delivered-{world[name].pk}"' in text
        assert f'id="delivered-{world["building"].pk}"' not in text  # in progress
        assert "12 people in 3 teams, 120 queries" in text
        assert "-5.43 USD a month measured, -100.00 USD declared" in text
        assert "4.7 h a month measured, 40 h promised" in text
        assert "2 readers in the last 28 days" in text
        # old2's item declares neither a cost change nor hours; its last reader left.
        assert "0.00 USD a month measured, no change declared" in text
        assert "not measured, none promised" in text
        assert "none: the last reader left on 2026-09-11" in text
        # Q3: 1 met of 2 judged. As of today (after 16 November) the sales cube missed
        # its 5 people within 4 weeks: Q4 is 0 of 1.
        assert '<td class="num benefit-ratio">50 %</td>' in text
        assert '<td class="num benefit-ratio">0 %</td>' in text


@pytest.mark.parametrize("role", ["outsider", "finance"])
def test_everyone_else_is_refused_the_page_and_its_section(sessions, people, role):
    _previous, session = sessions
    client = Client()
    client.force_login(people[role])
    assert client.get(session.get_absolute_url()).status_code == 403
    anonymous = Client().get(session.get_absolute_url())
    assert anonymous.status_code == 302
    assert "/login" in anonymous["Location"] or "login" in anonymous["Location"]


def test_the_page_structure_carries_the_section(sessions, people):
    _previous, session = sessions
    page = build_session_page(session=session, user=people["vp"])
    assert len(page.deliveries.benefits) == 3
