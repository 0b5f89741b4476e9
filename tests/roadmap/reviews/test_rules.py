"""Review sessions as the manager and the reviewers use them: states, snapshot, comments,
votes, decisions, notifications."""

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from core.roles import Role
from roadmap.models import (
    Commitment,
    Decision,
    ReviewComment,
    ReviewItem,
    ReviewSession,
    RoadmapItem,
)
from roadmap.reviews.rules import (
    CommitmentInput,
    ReviewRefused,
    ReviewStateError,
    add_comment,
    advance_session,
    cast_vote,
    delete_comment,
    edit_comment,
    record_decision,
    resolve_thread,
)
from tests.roadmap.factories import (
    ReviewSessionFactory,
    RoadmapItemFactory,
    UserFactory,
    advanced,
    opened,
    quarter,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def people():
    return {
        "manager": UserFactory(
            username="mika", first_name="Mika", last_name="Tanaka", role=Role.MANAGER
        ),
        "vp": UserFactory(username="vera", first_name="Vera", last_name="Lind", role=Role.REVIEWER),
        "peer": UserFactory(
            username="paul", first_name="Paul", last_name="Okafor", role=Role.REVIEWER
        ),
        "outsider": UserFactory(
            username="olga", first_name="Olga", last_name="Berg", role=Role.REVIEWER
        ),
    }


@pytest.fixture
def session(people):
    RoadmapItemFactory(title="Retire the legacy sales pipeline", rank=1)
    RoadmapItemFactory(title="Intermediate orders table", rank=2)
    return ReviewSessionFactory(title="2026-Q4 review", reviewers=[people["vp"], people["peer"]])


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page_text(response) -> str:
    """The page without its CSRF tokens, which change on every request."""
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())


# --- States ----------------------------------------------------------------------------------


def test_opening_freezes_every_item_and_emails_the_reviewers(
    session, people, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        session = opened(session, by=people["manager"])
    assert session.status == ReviewSession.Status.OPEN
    assert session.opened_at is not None
    frozen = list(session.items.order_by("position").values_list("title", "rank"))
    assert frozen == [("Retire the legacy sales pipeline", 1), ("Intermediate orders table", 2)]
    assert next(quarter["code"] for quarter in session.snapshot["quarters"]) == session.quarter.code
    assert sorted(message.to[0] for message in mail.outbox) == [
        "paul@example.com",
        "vera@example.com",
    ]
    assert session.get_absolute_url() in mail.outbox[0].body


def test_a_session_moves_draft_open_held_closed_and_never_skips(session, people):
    manager = people["manager"]
    session = opened(session, by=manager)
    with pytest.raises(ReviewStateError):  # a second click on "Open for review"
        advance_session(session_id=session.pk, from_status="draft", by=manager)
    session = advance_session(session_id=session.pk, from_status="open", by=manager)
    assert session.status == "held"
    assert session.held_at
    session = advance_session(session_id=session.pk, from_status="held", by=manager)
    assert session.status == "closed"
    assert session.closed_at
    with pytest.raises(ReviewStateError):
        advance_session(session_id=session.pk, from_status="closed", by=manager)


def test_a_session_cannot_open_without_reviewers(people):
    session = ReviewSessionFactory()
    with pytest.raises(ReviewStateError, match="Invite at least one reviewer"):
        opened(session, by=people["manager"])
    assert not ReviewItem.objects.exists()


def test_only_a_manager_moves_a_session(session, people):
    with pytest.raises(ReviewRefused):
        advance_session(session_id=session.pk, from_status="draft", by=people["vp"])
    response = client_for(people["vp"]).post(
        reverse("roadmap:review-advance", args=[session.pk]), {"from_status": "draft"}
    )
    assert response.status_code == 403
    session.refresh_from_db()
    assert session.status == "draft"


def test_the_manager_creates_a_session_from_the_page(people):
    response = client_for(people["manager"]).post(
        reverse("roadmap:review-create"),
        {"title": "2027-Q1 alignment", "quarter": "2027-Q1", "meeting_date": "2027-01-20",
         "reviewers": [people["vp"].pk]},
    )  # fmt: skip
    session = ReviewSession.objects.get(title="2027-Q1 alignment")
    assert response["Location"] == session.get_absolute_url()
    assert (session.quarter.code, session.status, list(session.reviewers.all())) == (
        "2027-Q1",
        "draft",
        [people["vp"]],
    )


def test_a_session_form_names_each_bad_field(people):
    response = client_for(people["manager"]).post(
        reverse("roadmap:review-create"), {"title": "", "quarter": "", "meeting_date": "soon"}
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert set(errors) == {"title", "quarter", "meeting_date"}
    assert not ReviewSession.objects.exists()


# --- The snapshot ----------------------------------------------------------------------------


def test_the_snapshot_and_its_page_do_not_change_when_the_live_roadmap_does(session, people):
    session = opened(session, by=people["manager"])
    vp = client_for(people["vp"])
    url = session.get_absolute_url()
    before = page_text(vp.get(url))
    frozen = list(ReviewItem.objects.order_by("pk").values())

    item = RoadmapItem.objects.get(title="Retire the legacy sales pipeline")
    item.title = "Renamed after the snapshot"
    item.effort_weeks = 99
    item.status = RoadmapItem.Status.DROPPED
    item.save()
    RoadmapItemFactory(title="Added after the snapshot")
    RoadmapItem.objects.filter(title="Intermediate orders table").delete()

    assert list(
        ReviewItem.objects.order_by("pk").values("id", "title", "rank", "status", "data")
    ) == [
        {key: row[key] for key in ("id", "title", "rank", "status", "data")} for row in frozen
    ]  # the deleted item's row only loses its link to the live item
    after = vp.get(url)
    assert page_text(after) == before
    assert "Renamed after the snapshot" not in page_text(after)


def test_the_manager_sees_what_changed_in_the_live_roadmap_since_the_snapshot(session, people):
    session = opened(session, by=people["manager"])
    item = RoadmapItem.objects.get(title="Intermediate orders table")
    item.target_quarter = quarter("2027-Q3")
    item.save()
    RoadmapItemFactory(title="Brand new request")
    page = client_for(people["manager"]).get(session.get_absolute_url())
    changes = {change.title: change for change in page.context["page"].live_changes}
    assert changes["Intermediate orders table"].fields == ["target quarter"]
    assert changes["Brand new request"].state == "added"
    assert "Changed in the live roadmap since the snapshot" in page.content.decode()
    reviewer_page = client_for(people["vp"]).get(session.get_absolute_url())
    assert "Changed in the live roadmap" not in reviewer_page.content.decode()


def test_a_snapshot_row_refuses_to_be_saved_again(session, people):
    from roadmap.models import FrozenSnapshotError

    session = opened(session, by=people["manager"])
    row = session.items.first()
    row.title = "Rewritten"
    with pytest.raises(FrozenSnapshotError):
        row.save()


# --- Review mode -----------------------------------------------------------------------------


def test_an_invited_reviewer_reads_the_snapshot_and_sees_no_edit_controls(session, people):
    session = opened(session, by=people["manager"])
    response = client_for(people["vp"]).get(session.get_absolute_url())
    text = response.content.decode()
    assert response.status_code == 200
    assert "Retire the legacy sales pipeline" in text
    assert "Read-only" in text
    manager_urls = [
        reverse("roadmap:review-advance", args=[session.pk]),
        reverse("roadmap:review-edit", args=[session.pk]),
    ]
    for row in session.items.all():
        manager_urls += [
            reverse("roadmap:item-edit", args=[row.item_key]),
            reverse("roadmap:item-detail", args=[row.item_key]),
            reverse("roadmap:decision", args=[session.pk, row.pk]),
            reverse("roadmap:change-reason", args=[session.pk, row.item_key]),
        ]
    assert [url for url in manager_urls if f'"{url}' in text] == []
    assert f'"{reverse("roadmap:vote", args=[session.pk, row.pk])}"' in text  # they can vote
    assert "Mark as held" not in text
    assert "Record a decision" not in text


def test_a_reviewer_who_is_not_invited_or_comes_before_opening_is_refused(session, people):
    outsider = client_for(people["outsider"])
    vp = client_for(people["vp"])
    assert vp.get(session.get_absolute_url()).status_code == 403  # still a draft
    session = opened(session, by=people["manager"])
    assert vp.get(session.get_absolute_url()).status_code == 200
    assert outsider.get(session.get_absolute_url()).status_code == 403
    response = outsider.post(
        reverse("roadmap:comment-create", args=[session.pk]), {"kind": "question", "body": "Hi"}
    )
    assert response.status_code == 403
    assert not ReviewComment.objects.exists()
    listing = outsider.get(reverse("roadmap:review-list")).content.decode()
    assert session.title not in listing


# --- Comments --------------------------------------------------------------------------------


def test_a_reviewer_comments_on_an_item_and_replies_join_the_thread(session, people):
    session = opened(session, by=people["manager"])
    row = session.items.get(title="Intermediate orders table")
    response = client_for(people["vp"]).post(
        reverse("roadmap:comment-create", args=[session.pk]),
        {"kind": "question", "body": "Why **now**?", "review_item": row.pk},
    )
    comment = ReviewComment.objects.get()
    assert response["Location"].endswith(f"#comment-{comment.pk}")
    assert (comment.review_item, comment.kind, comment.author) == (row, "question", people["vp"])
    reply = add_comment(session=session, author=people["peer"], body="Agreed", parent=comment)
    deeper = add_comment(session=session, author=people["vp"], body="And?", parent=reply)
    assert reply.parent == comment
    assert deeper.parent == comment
    assert deeper.review_item == row
    assert deeper.kind == ""
    page = client_for(people["peer"]).get(session.get_absolute_url())
    assert "<strong>now</strong>" in page.content.decode()


def test_a_comment_without_a_kind_or_text_is_refused_with_a_message(session, people):
    session = opened(session, by=people["manager"])
    vp = client_for(people["vp"])
    response = vp.post(reverse("roadmap:comment-create", args=[session.pk]), {"body": "Hm"},
                       follow=True)  # fmt: skip
    assert "Kind" in response.content.decode()
    assert not ReviewComment.objects.exists()
    with pytest.raises(ReviewStateError):
        add_comment(session=session, author=people["vp"], body="   ", kind="question")


def test_markdown_in_a_comment_cannot_run_script(session, people):
    session = opened(session, by=people["manager"])
    attack = "<script>alert(1)</script> [x](javascript:alert(2)) <img src=x onerror=alert(3)>"
    add_comment(session=session, author=people["vp"], kind="concern", body=attack)
    text = client_for(people["manager"]).get(session.get_absolute_url()).content.decode()
    assert "<script>alert(1)" not in text
    assert "javascript:alert" not in text
    assert "onerror" not in text


def test_editing_keeps_the_earlier_text_and_only_the_author_may_edit(session, people):
    session = opened(session, by=people["manager"])
    comment = add_comment(session=session, author=people["vp"], body="First words",
                          kind="concern")  # fmt: skip
    with pytest.raises(ReviewRefused):
        edit_comment(comment=comment, by=people["peer"], body="Hijacked")
    response = client_for(people["peer"]).post(
        reverse("roadmap:comment-edit", args=[session.pk, comment.pk]), {"body": "Hijacked"}
    )
    assert response.status_code == 403
    client_for(people["vp"]).post(
        reverse("roadmap:comment-edit", args=[session.pk, comment.pk]),
        {"body": "Second thoughts", "kind": "suggestion"},
    )
    comment.refresh_from_db()
    assert (comment.body, comment.kind) == ("Second thoughts", "suggestion")
    assert comment.edited_at is not None
    assert list(comment.history.order_by("history_date").values_list("body", flat=True)) == [
        "First words",
        "Second thoughts",
    ]
    text = client_for(people["manager"]).get(session.get_absolute_url()).content.decode()
    assert "1 earlier version" in text
    assert "First words" in text


def test_a_deleted_comment_is_hidden_but_kept(session, people):
    session = opened(session, by=people["manager"])
    comment = add_comment(session=session, author=people["vp"], body="Oops", kind="question")
    reply = add_comment(session=session, author=people["manager"], body="Answer", parent=comment)
    with pytest.raises(ReviewRefused):
        delete_comment(comment=comment, by=people["manager"])
    client_for(people["vp"]).post(reverse("roadmap:comment-delete", args=[session.pk, comment.pk]))
    comment.refresh_from_db()
    assert comment.deleted_at is not None
    assert comment.body == "Oops"
    text = client_for(people["peer"]).get(session.get_absolute_url()).content.decode()
    assert "Deleted by its author" in text
    assert "Oops" not in text
    assert reply.body in text


def test_comments_close_with_the_meeting_and_lock_when_closed(session, people):
    session = opened(session, by=people["manager"])
    comment = add_comment(session=session, author=people["vp"], body="Before", kind="question")
    session = advanced(session, "held", by=people["manager"])
    with pytest.raises(ReviewStateError):
        add_comment(session=session, author=people["vp"], body="Too late", kind="question")
    with pytest.raises(ReviewStateError):
        edit_comment(comment=ReviewComment.objects.get(pk=comment.pk), by=people["vp"], body="x")
    # The manager still answers after the meeting...
    add_comment(session=session, author=people["manager"], body="Answered", parent=comment)
    session = advanced(session, "closed", by=people["manager"])
    # ...but nothing moves once the session is closed.
    with pytest.raises(ReviewStateError):
        add_comment(session=session, author=people["manager"], body="Later", parent=comment)
    with pytest.raises(ReviewStateError):
        resolve_thread(comment=ReviewComment.objects.get(pk=comment.pk), by=people["manager"])
    assert ReviewComment.objects.count() == 2


def test_the_manager_resolves_a_thread_with_an_answer_the_reviewer_sees(
    session, people, django_capture_on_commit_callbacks
):
    session = opened(session, by=people["manager"])
    comment = add_comment(session=session, author=people["vp"], body="Cost?", kind="question")
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(people["manager"]).post(
            reverse("roadmap:comment-resolve", args=[session.pk, comment.pk]),
            {"reply": "About 12k USD a quarter."},
        )
    assert response.status_code == 302
    comment.refresh_from_db()
    assert comment.resolved_by == people["manager"]
    assert comment.resolved_at
    assert comment.replies.get().body == "About 12k USD a quarter."
    assert [m.to for m in mail.outbox] == [["vera@example.com"]]
    assert "answered your comment" in mail.outbox[0].subject
    text = client_for(people["vp"]).get(session.get_absolute_url()).content.decode()
    assert "About 12k USD a quarter." in text
    assert "Resolved by Mika Tanaka" in text
    with pytest.raises(ReviewRefused):
        resolve_thread(comment=comment, by=people["vp"])


def test_a_mention_emails_the_person_mentioned_once(
    session, people, django_capture_on_commit_callbacks
):
    session = opened(session, by=people["manager"])
    with django_capture_on_commit_callbacks(execute=True):
        comment = add_comment(session=session, author=people["vp"], kind="suggestion",
                              body="@paul what do you think? @nobody @vera")  # fmt: skip
    assert set(comment.mentions.values_list("username", flat=True)) == {"paul", "vera"}
    assert [m.to for m in mail.outbox] == [["paul@example.com"]]  # not the author herself
    assert "Vera Lind mentioned you" in mail.outbox[0].subject
    with django_capture_on_commit_callbacks(execute=True):
        edit_comment(comment=comment, by=people["vp"], body="@paul @mika thoughts?")
    assert [m.to for m in mail.outbox[1:]] == [["mika@example.com"]]  # only the new mention


# --- Votes -----------------------------------------------------------------------------------


def test_votes_show_the_spread_and_the_gap_with_the_manager(session, people):
    session = opened(session, by=people["manager"])
    first = session.items.get(rank=1)
    second = session.items.get(rank=2)
    cast_vote(review_item=first, reviewer=people["vp"], value=1, urgency=1)  # 2
    cast_vote(review_item=first, reviewer=people["peer"], value=5, urgency=4)  # 9
    cast_vote(review_item=second, reviewer=people["vp"], value=5, urgency=5)  # 10
    cast_vote(review_item=second, reviewer=people["vp"], value=5, urgency=4)  # changed: 9
    page = client_for(people["manager"]).get(session.get_absolute_url()).context["page"]
    agenda = {s.review_item.title: s for s in page.agenda}
    one = agenda["Retire the legacy sales pipeline"]
    two = agenda["Intermediate orders table"]
    assert (one.votes, one.spread, one.mean_value, one.reviewers_rank, one.manager_rank) == (
        2, 7, 3.0, 2, 1
    )  # fmt: skip
    assert (two.votes, two.spread, two.reviewers_rank, two.manager_rank) == (1, 0, 1, 2)
    assert [s.review_item for s in page.agenda] == [first, second]  # most disagreement first


def test_only_invited_reviewers_vote_and_only_while_open(session, people):
    session = opened(session, by=people["manager"])
    row = session.items.first()
    with pytest.raises(ReviewRefused):
        cast_vote(review_item=row, reviewer=people["outsider"], value=3, urgency=3)
    url = reverse("roadmap:vote", args=[session.pk, row.pk])
    assert client_for(people["manager"]).post(url, {"value": 3, "urgency": 3}).status_code == 403
    assert client_for(people["vp"]).post(url, {"value": 4, "urgency": 2}).status_code == 302
    session = advanced(session, "held", by=people["manager"])
    with pytest.raises(ReviewStateError):
        cast_vote(review_item=row, reviewer=people["vp"], value=1, urgency=1)
    assert list(row.votes.values_list("value", "urgency")) == [(4, 2)]


# --- Decisions -------------------------------------------------------------------------------


def test_the_manager_records_a_decision_with_commitments(session, people):
    session = opened(session, by=people["manager"])
    row = session.items.get(rank=1)
    url = reverse("roadmap:decision", args=[session.pk, row.pk])
    manager = client_for(people["manager"])
    assert manager.get(url).status_code == 200
    response = manager.post(url, {
        "outcome": "approved_with_changes", "rationale": "Keep the *old* figures frozen.",
        "c-TOTAL_FORMS": "2", "c-INITIAL_FORMS": "0",
        "c-0-description": "Old dashboards read the new tables", "c-0-owner": people["manager"].pk,
        "c-0-promised_status": "done", "c-0-due_quarter": "2027-Q1",
        "c-1-description": "", "c-1-due_quarter": "", "c-1-promised_status": "done",
    })  # fmt: skip
    assert response.status_code == 302
    decision = Decision.objects.get()
    assert (decision.outcome, decision.review_item, decision.decided_by) == (
        "approved_with_changes", row, people["manager"]
    )  # fmt: skip
    commitment = Commitment.objects.get()
    assert (commitment.item, commitment.due_quarter.code, commitment.owner) == (
        row.item, "2027-Q1", people["manager"]
    )  # fmt: skip
    text = client_for(people["vp"]).get(session.get_absolute_url()).content.decode()
    assert "Approved with changes" in text
    assert "<em>old</em>" in text


def test_a_decision_form_names_bad_fields_and_saves_nothing(session, people):
    session = opened(session, by=people["manager"])
    row = session.items.first()
    response = client_for(people["manager"]).post(
        reverse("roadmap:decision", args=[session.pk, row.pk]),
        {"outcome": "maybe", "c-TOTAL_FORMS": "1", "c-INITIAL_FORMS": "0",
         "c-0-description": "Something", "c-0-due_quarter": "2027-Q9"},
    )  # fmt: skip
    assert response.status_code == 400
    assert "outcome" in response.context["form"].errors
    assert "due_quarter" in response.context["commitments"].forms[0].errors
    assert not Decision.objects.exists()


def test_closing_locks_decisions(session, people):
    session = opened(session, by=people["manager"])
    row = session.items.first()
    record_decision(review_item=row, outcome="deferred", rationale="", commitments=[],
                    by=people["manager"])  # fmt: skip
    session = advanced(session, "closed", by=people["manager"])
    with pytest.raises(ReviewStateError):
        record_decision(review_item=row, outcome="approved", rationale="", by=people["manager"],
                        commitments=[CommitmentInput("x", quarter("2027-Q1"))])  # fmt: skip
    response = client_for(people["manager"]).post(
        reverse("roadmap:decision", args=[session.pk, row.pk]),
        {"outcome": "approved", "c-TOTAL_FORMS": "0", "c-INITIAL_FORMS": "0"},
    )
    assert response.status_code == 409
    assert Decision.objects.get().outcome == "deferred"
    assert not Commitment.objects.exists()


def test_an_answer_too_long_is_refused_and_the_thread_stays_open(session, people):
    session = opened(session, by=people["manager"])
    comment = add_comment(session=session, author=people["vp"], body="Cost?", kind="question")
    response = client_for(people["manager"]).post(
        reverse("roadmap:comment-resolve", args=[session.pk, comment.pk]),
        {"reply": "x" * 10_001},
        follow=True,
    )
    assert "at most 10000 characters" in response.content.decode()
    comment.refresh_from_db()
    assert comment.resolved_at is None
    assert not comment.replies.exists()


# --- Found in review ---------------------------------------------------------------------------


def test_a_mention_never_emails_someone_the_session_is_closed_to(
    session, people, django_capture_on_commit_callbacks
):
    session = opened(session, by=people["manager"])
    UserFactory(username="fin", role=Role.FINANCE)
    with django_capture_on_commit_callbacks(execute=True):
        comment = add_comment(session=session, author=people["vp"], kind="concern",
                              body="Budget 1.2M @olga @fin @paul.")  # fmt: skip
    assert set(comment.mentions.values_list("username", flat=True)) == {"paul"}
    assert [m.to for m in mail.outbox] == [["paul@example.com"]]  # "@paul." is paul


def test_an_edit_from_a_stale_page_does_not_undo_a_resolve(session, people):
    session = opened(session, by=people["manager"])
    comment = add_comment(session=session, author=people["vp"], body="Why?", kind="question")
    stale = ReviewComment.objects.get(pk=comment.pk)  # the page the reviewer still has open
    resolve_thread(comment=comment, by=people["manager"], reply="Because.")
    edit_comment(comment=stale, by=people["vp"], body="Why, exactly?")
    comment.refresh_from_db()
    assert comment.body == "Why, exactly?"
    assert comment.resolved_at is not None


def test_saving_the_session_form_after_it_opened_keeps_it_open(session, people):
    from roadmap.reviews.forms import ReviewSessionForm

    form = ReviewSessionForm(
        data={"title": "Renamed", "quarter": session.quarter.code, "meeting_date": "2026-12-11",
              "reviewers": [people["vp"].pk, people["peer"].pk]},
        instance=ReviewSession.objects.get(pk=session.pk),
    )  # fmt: skip
    assert form.is_valid(), form.errors
    opened(session, by=people["manager"])  # meanwhile, in another tab
    from roadmap.reviews.views import save_session_details

    save_session_details(form=form)
    session.refresh_from_db()
    assert (session.title, session.status) == ("Renamed", "open")
    assert session.snapshot["quarters"]


def test_a_title_with_a_line_break_is_refused(people):
    response = client_for(people["manager"]).post(
        reverse("roadmap:review-create"),
        {"title": "Q4\rreview", "quarter": "2027-Q1", "meeting_date": "2027-01-20"},
    )
    assert response.status_code == 400
    assert "without control characters" in response.content.decode()


def test_a_done_item_voted_on_does_not_invent_a_disagreement(session, people):
    done = RoadmapItemFactory(title="Finished", status="done")
    session = opened(session, by=people["manager"])
    rows = {row.title: row for row in session.items.all()}
    assert rows["Finished"].item == done
    for title, score in (("Finished", 5), ("Retire the legacy sales pipeline", 4),
                         ("Intermediate orders table", 2)):  # fmt: skip
        cast_vote(review_item=rows[title], reviewer=people["vp"], value=score, urgency=score)
    page = client_for(people["manager"]).get(session.get_absolute_url()).context["page"]
    gaps = {s.review_item.title: s.rank_gap for s in page.agenda}
    assert gaps == {"Finished": 0, "Retire the legacy sales pipeline": 0,
                    "Intermediate orders table": 0}  # fmt: skip


def test_a_reviewer_sees_their_own_score_and_nothing_that_gives_away_another(session, people):
    session = opened(session, by=people["manager"])
    first = session.items.get(rank=1)
    cast_vote(review_item=first, reviewer=people["vp"], value=1, urgency=1)
    cast_vote(review_item=first, reviewer=people["peer"], value=5, urgency=4)
    response = client_for(people["vp"]).get(session.get_absolute_url())
    page = response.context["page"]
    assert page.agenda == []
    (view,) = [view for view in page.items if view.review_item == first]
    assert view.votes is None
    assert (view.my_vote.value, view.my_vote.urgency) == (1, 1)
    text = response.content.decode()
    assert "Where reviewers disagree" not in text
    assert "spread" not in text.lower()
    # The manager sees the spread of the two.
    page = client_for(people["manager"]).get(session.get_absolute_url()).context["page"]
    assert [(s.votes, s.spread) for s in page.agenda] == [(2, 7)]
