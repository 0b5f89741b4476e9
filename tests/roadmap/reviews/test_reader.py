"""The session page read before the meeting: its table of contents, its filters
(?show=open|disagree|unscored) and one line per item, all without JavaScript."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from core.roles import Role
from roadmap.models import ReviewSession
from roadmap.reviews.rules import (
    CommitmentInput,
    add_comment,
    cast_vote,
    record_decision,
    resolve_thread,
)
from tests.roadmap.factories import (
    ReviewSessionFactory,
    RoadmapItemFactory,
    ThemeFactory,
    UserFactory,
    advanced,
    opened,
    quarter,
)

pytestmark = pytest.mark.django_db

TITLES = ("Retire the legacy sales pipeline", "Stable booked revenue", "int_orders table",
          "int_sessions table", "Support SLA dashboard")  # fmt: skip


@pytest.fixture
def people():
    return {
        "manager": UserFactory(username="mika", first_name="Mika", role=Role.MANAGER),
        "vp": UserFactory(username="vera", first_name="Vera", role=Role.REVIEWER),
        "peer": UserFactory(username="paul", first_name="Paul", role=Role.REVIEWER),
    }


@pytest.fixture
def session(people) -> ReviewSession:
    """Five items in three themes, after a previous review that promised one thing.

    Scores (value, urgency) of vp / peer, and their totals' difference:
    1 legacy: 5,5 / 1,1 (8)   2 revenue: 3,3 / 4,4 (2)   3 orders: 1,2 / 3,3 (3)
    4 sessions: - / 5,5 (one vote)   5 dashboard: - / -
    Threads: legacy one open; revenue one resolved (with its answer); the session one open.
    """
    pipelines, tables = ThemeFactory(name="Pipelines"), ThemeFactory(name="Tables")
    themes = (pipelines, pipelines, tables, tables, ThemeFactory(name="Dashboards"))
    live = [
        RoadmapItemFactory(
            title=title, rank=rank, theme=theme, effort_weeks=rank, hours_saved_per_month=10 * rank
        )
        for rank, (title, theme) in enumerate(zip(TITLES, themes, strict=True), start=1)
    ]
    reviewers = [people["vp"], people["peer"]]
    previous = opened(ReviewSessionFactory(title="Last quarter", reviewers=reviewers),
                      by=people["manager"])  # fmt: skip
    record_decision(
        review_item=previous.items.get(item=live[0]),
        outcome="approved",
        rationale="",
        by=people["manager"],
        commitments=[CommitmentInput(description="Switch it off", due_quarter=quarter("2026-Q4"))],
    )
    advanced(previous, "closed", by=people["manager"])
    live[1].target_quarter = quarter("2027-Q2")  # one change since the previous review
    live[1].save()
    session = opened(ReviewSessionFactory(title="This quarter", reviewers=reviewers),
                     by=people["manager"])  # fmt: skip
    rows = list(session.items.order_by("position"))
    scores = {0: ((5, 5), (1, 1)), 1: ((3, 3), (4, 4)), 2: ((1, 2), (3, 3)), 3: (None, (5, 5))}
    for index, pair in scores.items():
        for reviewer, score in zip(reviewers, pair, strict=True):
            if score:
                cast_vote(review_item=rows[index], reviewer=reviewer, value=score[0],
                          urgency=score[1])  # fmt: skip
    add_comment(session=session, author=people["vp"], body="Who still reads it?",
                kind="question", review_item=rows[0])  # fmt: skip
    answered = add_comment(session=session, author=people["peer"], body="Which month close?",
                           kind="question", review_item=rows[1])  # fmt: skip
    resolve_thread(comment=answered, by=people["manager"], reply="The finance one.")
    add_comment(session=session, author=people["vp"], body="Capacity looks tight.",
                kind="concern")  # fmt: skip
    return session


def get(session: ReviewSession, user, query: str = ""):
    client = Client()
    client.force_login(user)
    return client.get(session.get_absolute_url() + query)


def item_titles(response) -> list[str]:
    """The items on the page, in page order, each read from its one-line summary."""
    return re.findall(
        r'<article class="card review-item[^"]*" id="item-\d+"[^>]*>\s*<details>\s*'
        r'<summary class="item-line">.*?<h4 class="title">([^<]*)</h4>',
        response.content.decode(),
        flags=re.S,
    )


def toc_counts(response) -> dict[str, int]:
    text = response.content.decode()
    toc = text[text.index('id="contents"') : text.index("</nav>", text.index('id="contents"'))]
    return {key: int(n) for key, n in re.findall(r'data-count="([^"]+)">(\d+)<', toc)}


def test_the_table_of_contents_counts_what_the_page_holds(session, people):
    manager = toc_counts(get(session, people["manager"]))
    assert manager == {
        "summary": 5,
        "packs": 0,
        "changes": 1,
        "commitments": 1,
        "deliveries": 0,  # no item delivered since the previous review
        "disagreements": 2,
        "session-threads": 1,
        "items": 5,
        "theme-1": 2,  # Pipelines, the theme of the first item
        "theme-2": 2,
        "theme-3": 1,
        "show-open": 1,
        "show-disagree": 2,
    }
    vp = toc_counts(get(session, people["vp"]))
    assert "disagreements" not in vp
    assert "show-disagree" not in vp
    assert (vp["show-open"], vp["show-unscored"], vp["items"]) == (1, 2, 5)
    assert toc_counts(get(session, people["peer"]))["show-unscored"] == 1


def test_the_themes_group_the_items_in_priority_order(session, people):
    response = get(session, people["vp"])
    assert item_titles(response) == list(TITLES)
    text = response.content.decode()
    assert text.index(">Pipelines <") < text.index(">Tables <") < text.index(">Dashboards <")


def test_open_threads_shows_the_items_with_an_unresolved_thread(session, people):
    for role in ("manager", "vp"):
        response = get(session, people[role], "?show=open")
        assert response.status_code == 200
        assert item_titles(response) == ["Retire the legacy sales pipeline"]
        assert response.context["page"].show == "open"
        assert "1 item of 5 shown." in response.content.decode()


def test_disagreement_is_reviewers_totals_three_or_more_points_apart(session, people):
    response = get(session, people["manager"], "?show=disagree")
    assert response.status_code == 200
    # 8 and 3 points apart; not revenue (2 apart) nor sessions (one vote only).
    assert item_titles(response) == ["Retire the legacy sales pipeline", "int_orders table"]
    text = response.content.decode()
    assert "2 items have reviewers' totals 3 or more points apart." in text


def test_not_yet_scored_by_me_is_each_reviewers_own(session, people):
    vp = get(session, people["vp"], "?show=unscored")
    assert item_titles(vp) == ["int_sessions table", "Support SLA dashboard"]
    peer = get(session, people["peer"], "?show=unscored")
    assert item_titles(peer) == ["Support SLA dashboard"]


def test_a_reviewer_is_not_offered_the_disagreement_filter(session, people):
    response = get(session, people["vp"], "?show=disagree")
    assert response.status_code == 400
    assert len(item_titles(response)) == 5
    text = response.content.decode()
    assert "“disagree” is not one of the filters of this page: every item is shown." in text
    assert "Where reviewers disagree" not in text
    assert "spread" not in text.lower()
    assert 'data-disagree="1"' not in text


@pytest.mark.parametrize("query", ["?show=everything", "?show=unscored", "?show=%3Cb%3E"])
def test_a_filter_the_manager_is_not_offered_shows_every_item_with_a_400(session, people, query):
    response = get(session, people["manager"], query)
    assert response.status_code == 400
    assert len(item_titles(response)) == 5
    assert response.context["page"].show == ""
    assert "is not one of the filters of this page" in response.content.decode()
    assert "<b>" not in response.content.decode().split('class="error unknown-filter"')[1][:200]


def test_no_filter_or_an_empty_one_shows_every_item(session, people):
    for query in ("", "?show=", "?show=%20"):
        response = get(session, people["vp"], query)
        assert response.status_code == 200
        assert len(item_titles(response)) == 5
        assert "unknown-filter" not in response.content.decode()


def test_each_item_is_one_line_that_opens_in_place_without_javascript(session, people):
    response = get(session, people["vp"])
    text = response.content.decode()
    assert text.count('<details>\n      <summary class="item-line">') == 5
    line = re.search(r'id="item-\d+" data-open="1"[^>]*>\s*<details>\s*(<summary.*?</summary>)',
                     text, flags=re.S).group(1)  # fmt: skip
    words = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", line))
    for part in ("#1", "Retire the legacy sales pipeline", "Planned", "4,000.00 USD", "10 h/month",
                 "value 5 · urgency 5", "1 comment", "1 open"):  # fmt: skip
        assert part in words, part
    # The body, score and comment forms are inside the item, behind its summary.
    body = text.split(line, 1)[1].split("</details>\n    </article>", 1)[0]
    assert 'name="value"' in body
    assert 'name="body"' in body
    # The page's own script and style, from 'self', and no inline script or handler.
    assert '<script src="/static/js/review.js" defer></script>' in text
    assert '<link rel="stylesheet" href="/static/css/review.css">' in text
    assert re.search(r"<script(?![^>]*\bsrc=)", text) is None
    assert re.search(r"\son[a-z]+=", text) is None
    # The filters are plain links.
    assert 'href="?show=open#items"' in text
    assert 'href="?show=unscored#items"' in text


def test_a_filtered_page_reads_as_many_queries_as_the_whole_page(session, people):
    client = Client()
    client.force_login(people["manager"])
    counts = []
    for query in ("", "?show=open", "?show=disagree", "?show=nonsense"):
        with CaptureQueriesContext(connection) as queries:
            client.get(session.get_absolute_url() + query)
        counts.append(len(queries))
    assert len(set(counts)) == 1, counts
