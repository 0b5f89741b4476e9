"""The review pack's "What last quarter's deliveries changed": read as of the pack's moment
(its UTC date, the items as their history had them then), with an adoption and a
readers-left chart per item, covered by the content hash; on the constructed job history
of tests/roadmap/evidence (figures worked out by hand in test_benefit.py)."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.roles import Role
from roadmap.models import ReviewSession, RoadmapItem
from roadmap.reviews.packs.charts import delivery_charts
from roadmap.reviews.packs.content import build_content
from roadmap.reviews.packs.render import content_hash, render_html, render_markdown
from roadmap.reviews.packs.slides import render_pptx
from tests.roadmap.evidence.job_history import D, constructed_world, item, used, user
from tests.roadmap.factories import ReviewSessionFactory, UserFactory, advanced, opened
from tests.roadmap.reviews.test_slides import slide_text, slide_titles

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> dict:
    world = constructed_world()
    manager = UserFactory(username="manager", role=Role.MANAGER)
    vp = UserFactory(username="vp", role=Role.REVIEWER)
    previous = opened(ReviewSessionFactory(reviewers=[vp]), by=manager)
    advanced(previous, "closed", by=manager)
    frozen = datetime.datetime(2026, 9, 1, 23, 30, tzinfo=datetime.UTC)
    ReviewSession.objects.filter(pk=previous.pk).update(opened_at=frozen)
    world["session"] = opened(ReviewSessionFactory(reviewers=[vp]), by=manager)
    return world


def test_the_section_as_of_the_packs_moment(world):
    moment = timezone.now()
    content = build_content(session=world["session"], as_of=moment)
    section = content.deliveries
    assert section.since == D(2026, 9, 1)  # the previous review was opened then (UTC)
    assert section.as_of == moment.astimezone(datetime.UTC).date()
    assert [b.item_id for b in section.benefits] == [
        world["main"].pk, world["retired"].pk, world["recent"].pk,
    ]  # fmt: skip
    # Q3: main missed, old2 met; Q4: the sales cube, 0 people by 16 November, missed.
    ratios = [(q.quarter, q.benefit.met, q.benefit.missed, q.benefit.ratio)
              for q in section.quarters]  # fmt: skip
    assert ratios == [("2026-Q3", 1, 1, 0.5), ("2026-Q4", 0, 1, 0.0)]
    markdown = render_markdown(content, generated_at=None)
    assert "### What last quarter's deliveries changed" in markdown
    assert (f"| Intermediate sales tables #{world['main'].pk} | 2026-09-02 | 12 people in 3 "
            "teams, 120 queries | 2 readers in the last 28 days | -100.00 USD | -5.43 USD | "
            "40 | 4.7 |") in markdown  # fmt: skip
    assert "| 2026-Q3 | 1 | 1 | 0 | 0 | 50 % | — |" in markdown
    html = render_html(content, generated_at=None)
    assert f'id="delivered-{world["main"].pk}"' in html
    assert "none: the last reader left on 2026-09-11" in html


def test_an_adoption_and_a_readers_left_chart_per_item(world):
    content = build_content(session=world["session"], as_of=timezone.now())
    charts = delivery_charts(content)
    main, retired, recent = (charts[world[n].pk] for n in ("main", "retired", "recent"))
    assert len(main) == 2  # builds on new, retires legacy
    assert "People querying the tables it builds on, per ISO week" in main[0]
    assert "Readers of the retired tables, per ISO week" in main[1]
    assert 'id="adoption-' in main[0] and 'id="readers-' in main[1]  # noqa: PT018
    assert len(retired) == 1 and "Readers of the retired tables" in retired[0]  # noqa: PT018
    assert len(recent) == 1 and "People querying" in recent[0]  # noqa: PT018
    html = render_html(content, generated_at=None, charts={}, deliveries=charts)
    assert html.count("<svg") == 4


def test_the_hash_covers_the_section_and_a_rebuild_for_the_moment_keeps_it(world):
    session = world["session"]
    moment = timezone.now()
    first = content_hash(build_content(session=session, as_of=moment))
    # Edited after the moment: the item's history keeps the pack's reading.
    changed = RoadmapItem.objects.get(pk=world["recent"].pk)
    changed.status = RoadmapItem.Status.IN_PROGRESS
    changed.delivered_on = None
    changed.save()
    assert content_hash(build_content(session=session, as_of=moment)) == first
    later = build_content(session=session, as_of=timezone.now())
    assert world["recent"].pk not in [b.item_id for b in later.deliveries.benefits]
    assert content_hash(later) != first
    # The limit: job history imported later for a day before the moment changes it.
    used(D(2026, 10, 26), user("late@acme.example"), world["legacy"])
    assert content_hash(build_content(session=session, as_of=moment)) != first


def _queries(session: ReviewSession, moment: datetime.datetime) -> int:
    with CaptureQueriesContext(connection) as queries:
        build_content(session=session, as_of=moment)
    return len(queries)


def test_the_section_reads_the_same_number_of_queries_for_3_or_150_items(world):
    session = world["session"]
    _queries(session, timezone.now())  # once first: what is read once per process
    few = _queries(session, timezone.now())
    for n in range(147):
        item(f"Bulk {n}", retire=[world["legacy"]], build_on=[world["new"]],
             status=RoadmapItem.Status.DONE, delivered_on=D(2026, 9, 2 + n % 20),
             adoption_target_people=3, adoption_target_weeks=2)  # fmt: skip
    moment = timezone.now()
    assert _queries(session, moment) == few
    assert len(build_content(session=session, as_of=moment).deliveries.benefits) == 150


def test_the_slides_carry_the_section_as_a_table(world):
    content = build_content(session=world["session"], as_of=timezone.now())
    data = render_pptx(content, charts={})
    assert "What last quarter's deliveries changed" in slide_titles(data)
    text = slide_text(data)
    assert "12 people in 3 teams, 120 queries" in text
    assert "-5.43 USD measured, -100.00 USD declared" in text
    assert "4.7 measured, 40 promised" in text
    assert "none: the last reader left on 2026-09-11" in text
    assert "2026-Q3: 50 % realised, — kept" in text
