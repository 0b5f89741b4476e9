"""The quarterly review: moving a session through its states, comments, pre-read votes,
decisions and the reasons behind changes. Who may do what is checked here, so every
entry point (page, admin action, test) obeys the same rules; views turn ReviewRefused
into 403 and ReviewStateError into a message.
"""

import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser, User
from django.core.mail import send_mail
from django.db import transaction
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from core.languages import languages_of
from core.quarters import quarter_label
from core.roles import MANAGERS, REVIEWERS, has_role
from roadmap.models import (
    ChangeReason,
    Commitment,
    Decision,
    PriorityVote,
    Quarter,
    ReviewComment,
    ReviewItem,
    ReviewSession,
)
from roadmap.reviews.snapshots import take_snapshot

# @name, @first.last; a full stop ending the sentence is not part of the name.
MENTION = re.compile(r"(?<![\w@])@([\w+-]+(?:[.@][\w+-]+)*)")


class ReviewRefused(Exception):
    """The user may not do this (a 403)."""


class ReviewStateError(Exception):
    """Not in this state of the session (shown to the user as it is)."""


def is_manager(user: User | AnonymousUser) -> bool:
    return has_role(user, MANAGERS)


def can_view(session: ReviewSession, user: User | AnonymousUser) -> bool:
    """Managers see every session; reviewers the ones they are invited to, once opened."""
    if is_manager(user):
        return True
    return (
        has_role(user, REVIEWERS)
        and session.is_frozen
        # An anonymous user (pk None) never gets here: has_role refuses them.
        and session.reviewers.filter(pk=user.pk).exists()  # type: ignore[misc]
    )


def _require_manager(user: User | AnonymousUser) -> None:
    if not is_manager(user):
        raise ReviewRefused(_("Only a manager can do this."))


def _require_participant(session: ReviewSession, user: User | AnonymousUser) -> None:
    if not can_view(session, user):
        raise ReviewRefused(_("You are not invited to this review."))


# --- The session's states ----------------------------------------------------------------


@transaction.atomic
def advance_session(*, session_id: int, from_status: str, by: User) -> ReviewSession:
    """draft -> open (freezes the snapshot, tells the reviewers) -> held -> closed (locks
    comments and decisions). `from_status` is the state the manager saw: a second click,
    or another manager's move in between, is refused instead of skipping a state."""
    _require_manager(by)
    session = _locked(session_id)
    if session.status != from_status:
        raise ReviewStateError(
            _("This session is already %(status)s; nothing was changed.")
            % {"status": session.get_status_display().lower()}
        )
    target = session.next_status()
    if target is None:
        raise ReviewStateError(_("A closed session stays closed."))
    now = timezone.now()
    if target == ReviewSession.Status.OPEN:
        if not session.reviewers.exists():
            raise ReviewStateError(_("Invite at least one reviewer before opening the review."))
        take_snapshot(session=session)
        session.opened_at = now
    elif target == ReviewSession.Status.HELD:
        session.held_at = now
    else:
        session.closed_at = now
    session.status = target
    session.save()
    if target == ReviewSession.Status.OPEN:
        recipients = [user for user in session.reviewers.all() if user.email]
        transaction.on_commit(lambda: _notify_opened(session, recipients), robust=True)
    return session


# --- Comments ------------------------------------------------------------------------------


def _mentioned_users(body: str, session: ReviewSession) -> list[User]:
    """The people named with @username who can read the session: the text is emailed to
    them, so a mention never sends it to someone the session is closed to."""
    names = set(MENTION.findall(body))
    if not names:
        return []
    users = get_user_model().objects.filter(username__in=names, is_active=True)
    return [user for user in users if can_view(session, user)]


def _locked(session_id: int) -> ReviewSession:
    """The session as it is now, locked until the transaction ends: a comment, vote or
    decision and a state change never cross (a stale object could let one in late)."""
    return ReviewSession.objects.select_for_update().select_related("quarter").get(pk=session_id)


def _can_comment(session: ReviewSession, user: User) -> None:
    _require_participant(session, user)
    if session.accepts_comments:
        return
    if session.status == ReviewSession.Status.HELD and is_manager(user):
        return  # the manager answers open threads after the meeting
    raise ReviewStateError(
        _("Comments are closed: the session is %(status)s.")
        % {"status": session.get_status_display().lower()}
    )


@transaction.atomic
def add_comment(
    *,
    session: ReviewSession,
    author: User,
    body: str,
    kind: str = "",
    review_item: ReviewItem | None = None,
    parent: ReviewComment | None = None,
) -> ReviewComment:
    """A new thread (with a kind) on an item or the session, or a reply to a thread."""
    session = _locked(session.pk)
    _can_comment(session, author)
    body = body.strip()
    if not body:
        raise ReviewStateError(_("Write something first."))
    if review_item is not None and review_item.session_id != session.pk:
        raise ReviewRefused(_("That item belongs to another review."))
    if parent is not None:
        if parent.session_id != session.pk:
            raise ReviewRefused(_("That comment belongs to another review."))
        parent = parent.parent or parent  # replies join the thread, one level deep
        review_item, kind = parent.review_item, ""
    elif kind not in ReviewComment.Kind.values:
        raise ReviewStateError(_("Choose what kind of comment this is."))
    comment = ReviewComment.objects.create(
        session=session, review_item=review_item, parent=parent, author=author, kind=kind, body=body
    )
    mentioned = _mentioned_users(body, session)
    comment.mentions.set(mentioned)
    notify = [user for user in mentioned if user.pk != author.pk]
    thread_author = parent.author if parent is not None else None
    transaction.on_commit(lambda: _notify_comment(comment, notify, thread_author), robust=True)
    return comment


def _own_open_comment(comment: ReviewComment, user: User) -> None:
    comment.session = _locked(comment.session_id)
    # Read again under the lock: a resolve or delete since the page loaded must stand.
    comment.refresh_from_db(fields=["body", "kind", "deleted_at", "resolved_at", "resolved_by"])
    if comment.author_id != user.pk:
        raise ReviewRefused(_("You can only change your own comments."))
    if comment.is_deleted:
        raise ReviewStateError(_("This comment was deleted."))
    if not comment.session.accepts_comments:
        raise ReviewStateError(_("Comments can only be changed while the review is open."))


@transaction.atomic
def edit_comment(
    *, comment: ReviewComment, by: User, body: str, kind: str | None = None
) -> ReviewComment:
    """Change one's own comment while the session is open; the earlier text stays in the
    comment's history."""
    _own_open_comment(comment, by)
    body = body.strip()
    if not body:
        raise ReviewStateError(_("A comment cannot be empty; delete it instead."))
    before = {user.pk for user in comment.mentions.all()}
    comment.body = body
    if comment.parent_id is None and kind in ReviewComment.Kind.values:
        comment.kind = kind
    comment.edited_at = timezone.now()
    comment.save(update_fields=["body", "kind", "edited_at"])
    mentioned = _mentioned_users(body, comment.session)
    comment.mentions.set(mentioned)
    new = [user for user in mentioned if user.pk not in before and user.pk != by.pk]
    transaction.on_commit(lambda: _notify_comment(comment, new, None), robust=True)
    return comment


@transaction.atomic
def delete_comment(*, comment: ReviewComment, by: User) -> None:
    """Hide one's own comment; it is kept (and its replies stay visible)."""
    _own_open_comment(comment, by)
    comment.deleted_at = timezone.now()
    comment.save(update_fields=["deleted_at"])


@transaction.atomic
def resolve_thread(*, comment: ReviewComment, by: User, reply: str = "") -> ReviewComment:
    """The manager closes a thread, usually with an answer."""
    _require_manager(by)
    thread = comment.parent or comment
    thread.session = _locked(thread.session_id)
    if thread.session.status == ReviewSession.Status.CLOSED:
        raise ReviewStateError(_("The review is closed."))
    if reply.strip():
        add_comment(session=thread.session, author=by, body=reply, parent=thread)
    thread.resolved_at = timezone.now()
    thread.resolved_by = by
    thread.save(update_fields=["resolved_at", "resolved_by"])
    return thread


# --- Pre-read votes ------------------------------------------------------------------------


@transaction.atomic
def cast_vote(*, review_item: ReviewItem, reviewer: User, value: int, urgency: int) -> PriorityVote:
    session = _locked(review_item.session_id)
    if not session.reviewers.filter(pk=reviewer.pk).exists():
        raise ReviewRefused(_("Only invited reviewers vote."))
    if not session.accepts_comments:
        raise ReviewStateError(_("Votes are taken while the review is open."))
    if value not in range(1, 6) or urgency not in range(1, 6):
        raise ReviewStateError(_("Value and urgency go from 1 to 5."))
    vote, _created = PriorityVote.objects.update_or_create(
        review_item=review_item,
        reviewer=reviewer,
        defaults={"session": session, "value": value, "urgency": urgency},
    )
    return vote


@dataclass(frozen=True)
class VoteSummary:
    review_item: ReviewItem
    votes: int
    mean_value: float
    mean_urgency: float
    spread: int  # highest minus lowest score (value + urgency) among reviewers
    reviewers_rank: int  # 1 = the reviewers' favourite among the items voted on
    manager_rank: int | None  # the item's rank among the same items, by the manager's order

    @property
    def rank_gap(self) -> int:
        return 0 if self.manager_rank is None else abs(self.reviewers_rank - self.manager_rank)

    @property
    def disagreement(self) -> int:
        """What puts an item on the agenda first: reviewers disagreeing among themselves
        (spread) or with the manager (rank gap)."""
        return self.spread + self.rank_gap


def vote_summaries(items: Sequence[ReviewItem], votes: Sequence[PriorityVote]) -> list[VoteSummary]:
    """Per item with votes, most disagreement first."""
    scores: dict[int, list[PriorityVote]] = {}
    for vote in votes:
        scores.setdefault(vote.review_item_id, []).append(vote)
    voted = [item for item in items if item.pk in scores]
    if not voted:
        return []

    def mean_score(item: ReviewItem) -> float:
        return statistics.fmean(vote.score for vote in scores[item.pk])

    by_reviewers = sorted(voted, key=lambda item: (-mean_score(item), item.position))
    # Both orders over the same items (the ranked ones), or a done item voted on would
    # shift every rank after it and invent a disagreement.
    ranked = [item for item in by_reviewers if item.rank is not None]
    reviewers_rank = {item.pk: index for index, item in enumerate(ranked, start=1)}
    ranked_by_manager = sorted(ranked, key=lambda item: item.rank)  # type: ignore[arg-type,return-value]  # all ranked
    manager_rank = {item.pk: index for index, item in enumerate(ranked_by_manager, start=1)}
    summaries = []
    for index, item in enumerate(by_reviewers, start=1):
        item_votes = scores[item.pk]
        totals = [vote.score for vote in item_votes]
        summaries.append(
            VoteSummary(
                review_item=item,
                votes=len(item_votes),
                mean_value=statistics.fmean(vote.value for vote in item_votes),
                mean_urgency=statistics.fmean(vote.urgency for vote in item_votes),
                spread=max(totals) - min(totals),
                reviewers_rank=reviewers_rank.get(item.pk, index),
                manager_rank=manager_rank.get(item.pk),
            )
        )
    return sorted(summaries, key=lambda s: (-s.disagreement, s.review_item.position))


# --- Decisions and the reasons for changes -------------------------------------------------


@dataclass(frozen=True)
class CommitmentInput:
    description: str
    due_quarter: Quarter
    owner: User | None = None
    promised_status: str = Commitment.Promise.DONE


@transaction.atomic
def record_decision(
    *,
    review_item: ReviewItem,
    outcome: str,
    rationale: str,
    commitments: Sequence[CommitmentInput],
    by: User,
) -> Decision:
    """Record (or revise) the decision on an item, with its commitments, which replace
    the earlier ones. Refused once the session is closed."""
    _require_manager(by)
    session = _locked(review_item.session_id)
    if not session.accepts_decisions:
        raise ReviewStateError(_("Decisions are recorded while the review is open or held."))
    if outcome not in Decision.Outcome.values:
        raise ReviewStateError(_("Choose a decision."))
    decision, _created = Decision.objects.update_or_create(
        review_item=review_item,
        defaults={"session": session, "outcome": outcome, "rationale": rationale,
                  "decided_by": by},
    )  # fmt: skip
    decision.commitments.all().delete()
    # With history: a pack built before this revision still shows the earlier promises.
    bulk_create_with_history(
        [
            Commitment(
                decision=decision,
                item=review_item.item,
                description=commitment.description,
                owner=commitment.owner,
                promised_status=commitment.promised_status,
                due_quarter=commitment.due_quarter,
            )
            for commitment in commitments
        ],
        Commitment,
        default_user=by,
    )
    return decision


@transaction.atomic
def set_change_reason(
    *, session: ReviewSession, item_key: int, kind: str, note: str, by: User
) -> ChangeReason | None:
    """Why an item changed since the previous review; an empty kind removes the reason."""
    _require_manager(by)
    session = _locked(session.pk)
    if session.status == ReviewSession.Status.CLOSED:
        raise ReviewStateError(_("The review is closed."))
    if not kind:
        ChangeReason.objects.filter(session=session, item_key=item_key).delete()
        return None
    if kind not in ChangeReason.Kind.values:
        raise ReviewStateError(_("Choose a reason."))
    reason, _created = ChangeReason.objects.update_or_create(
        session=session, item_key=item_key, defaults={"kind": kind, "note": note, "by": by}
    )
    return reason


# --- Notifications (Django's email backend; the console in development) --------------------


def _subject(text: str) -> str:
    """One line: a line break in a title would make the mail header invalid."""
    return " ".join(text.split())


def _link(session: ReviewSession, anchor: str = "") -> str:
    return f"{settings.QUARTERDECK_BASE_URL}{session.get_absolute_url()}{anchor}"


def _notify_opened(session: ReviewSession, recipients: Sequence[User]) -> None:
    languages = languages_of(recipients)
    for user in recipients:
        # Each person reads the e-mail in their own language, not the manager's.
        with translation.override(languages[user.pk]):
            send_mail(
                _subject(_("Review open: %(title)s") % {"title": session.title}),
                _(
                    "The roadmap for %(quarter)s is open for your review before the meeting "
                    "on %(date)s. Read it, comment and score the items here:\n\n%(link)s\n"
                )
                % {
                    "quarter": quarter_label(session.quarter.code),
                    "date": formats.date_format(session.meeting_date, "DATE_FORMAT"),
                    "link": _link(session),
                },
                None,
                [user.email],
            )


def _notify_comment(
    comment: ReviewComment,
    mentioned: Sequence[User],
    thread_author: User | None,
) -> None:
    session, author = comment.session, comment.author
    name = author.get_full_name() or author.get_username()
    link = _link(session, f"#comment-{comment.pk}")
    told = set()
    languages = languages_of([*mentioned, *([thread_author] if thread_author else [])])
    for user in mentioned:
        if user.email:
            with translation.override(languages[user.pk]):
                subject = _("%(name)s mentioned you in %(title)s") % {
                    "name": name,
                    "title": session.title,
                }
            send_mail(_subject(subject), f"{comment.body}\n\n{link}\n", None, [user.email])
            told.add(user.pk)
    answered = thread_author and thread_author.pk not in {author.pk, *told}
    if answered and thread_author is not None and thread_author.email:
        with translation.override(languages[thread_author.pk]):
            subject = _("%(name)s answered your comment in %(title)s") % {
                "name": name,
                "title": session.title,
            }
        send_mail(_subject(subject), f"{comment.body}\n\n{link}\n", None, [thread_author.email])
