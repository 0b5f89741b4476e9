"""Everything a review session page shows, read in a fixed number of queries whatever the
number of items and comments. Review packs read the same structure.

The page is read an hour before the meeting, so it also says where to look: counts for
its table of contents, the items grouped by theme, and three filters (`?show=`):

- `open`: items with at least one unresolved thread;
- `disagree` (managers only, as every summary of other people's scores is): items that
  two or more reviewers scored and whose totals (value + urgency, 2 to 10) differ by at
  least DISAGREEMENT_SPREAD points. One notch on each of value and urgency is how far
  two readers of the same item drift anyway; three points apart, they would rank it
  differently;
- `unscored` (reviewers only, managers do not score): items the reader has not scored.

Any other value shows every item and is reported back as `unknown_filter`.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field

from django.contrib.auth.models import User
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from roadmap.models import (
    ChangeReason,
    Commitment,
    Decision,
    PriorityVote,
    ReviewComment,
    ReviewItem,
    ReviewSession,
)
from roadmap.reviews.deliveries import Deliveries, deliveries_changed
from roadmap.reviews.rules import VoteSummary, is_manager, vote_summaries
from roadmap.reviews.snapshots import (
    ItemChanges,
    LiveChange,
    changed_since_snapshot,
    changes_between,
    item_record,
    live_items,
    previous_session,
)
from roadmap.reviews.track_record import (
    CommitmentCheck,
    QuarterRecord,
    check_commitments,
    track_record,
)


@dataclass
class Thread:
    comment: ReviewComment
    replies: list[ReviewComment] = field(default_factory=list)
    # Earlier texts of edited comments, by comment id, oldest first.
    earlier: dict[int, list[str]] = field(default_factory=dict)

    @property
    def resolved(self) -> bool:
        return self.comment.resolved_at is not None


DISAGREEMENT_SPREAD = 3
OPEN, DISAGREE, UNSCORED = "open", "disagree", "unscored"
FILTER_LABELS = {
    OPEN: _("Open threads"),
    DISAGREE: _("Where reviewers disagree"),
    UNSCORED: _("Not yet scored by me"),
}


@dataclass
class ItemView:
    review_item: ReviewItem
    threads: list[Thread] = field(default_factory=list)
    my_vote: PriorityVote | None = None
    votes: VoteSummary | None = None
    decision: Decision | None = None

    @property
    def data(self) -> dict:
        return self.review_item.data

    @property
    def open_thread_count(self) -> int:
        return sum(1 for thread in self.threads if not thread.resolved)

    @property
    def comment_count(self) -> int:
        """Comments and replies on the item, as the page shows them (not the deleted)."""
        return sum(
            1
            for thread in self.threads
            for comment in (thread.comment, *thread.replies)
            if not comment.is_deleted
        )

    @property
    def reviewers_disagree(self) -> bool:
        """Always False for a reviewer, who is given no summary of other scores."""
        return (
            self.votes is not None
            and self.votes.votes >= 2
            and self.votes.spread >= DISAGREEMENT_SPREAD
        )

    def matches(self, show: str) -> bool:
        if show == OPEN:
            return self.open_thread_count > 0
        if show == DISAGREE:
            return self.reviewers_disagree
        if show == UNSCORED:
            return self.my_vote is None
        return True


@dataclass
class ThemeGroup:
    anchor: str
    name: str
    colour: str
    items: list[ItemView]


@dataclass
class ItemFilter:
    value: str  # the `show` parameter
    count: int  # items it shows, whatever the filter in use

    @property
    def label(self) -> Promise:
        return FILTER_LABELS[self.value]


@dataclass
class ChangeView:
    changes: ItemChanges
    reason: ChangeReason | None


@dataclass
class SessionPage:
    session: ReviewSession
    manager: bool
    items: list[ItemView]
    session_threads: list[Thread]
    previous: ReviewSession | None
    changes: list[ChangeView]
    live_changes: list[LiveChange]
    agenda: list[VoteSummary]
    previous_commitments: list[CommitmentCheck]
    record: list[QuarterRecord]
    deliveries: Deliveries  # what the items delivered since the previous review changed
    open_threads: int
    comment_count: int
    packs: list
    filters: list[ItemFilter]  # the filters this reader is offered
    show: str  # the filter in use, "" for every item
    unknown_filter: str  # a `show` value refused (not offered to this reader), else ""
    groups: list[ThemeGroup]  # the items shown, by theme

    @property
    def shown_count(self) -> int:
        return sum(len(group.items) for group in self.groups)

    @property
    def disagreement_count(self) -> int:
        return sum(1 for view in self.items if view.reviewers_disagree)

    @property
    def disagreement_spread(self) -> int:
        return DISAGREEMENT_SPREAD

    @property
    def can_comment(self) -> bool:
        return self.session.accepts_comments or (
            self.manager and self.session.status == ReviewSession.Status.HELD
        )

    @property
    def can_vote(self) -> bool:
        return self.session.accepts_comments and not self.manager

    @property
    def can_decide(self) -> bool:
        return self.manager and self.session.accepts_decisions


def _threads(comments: list[ReviewComment], earlier: dict[int, list[str]]) -> dict:
    """Threads keyed by review item id (None: the session as a whole)."""
    roots: dict[int, Thread] = {}
    by_item: dict[int | None, list[Thread]] = defaultdict(list)
    for comment in comments:
        if comment.parent_id is None:
            thread = Thread(comment, earlier=earlier)
            roots[comment.pk] = thread
            by_item[comment.review_item_id].append(thread)
    for comment in comments:
        if comment.parent_id is not None and comment.parent_id in roots:
            roots[comment.parent_id].replies.append(comment)
    return by_item


def _earlier_texts(session: ReviewSession) -> dict[int, list[str]]:
    """Per edited comment, the texts it had before (from its history), oldest first."""
    texts: dict[int, list[str]] = defaultdict(list)
    records = (
        ReviewComment.history.filter(session_id=session.pk)
        .order_by("history_date", "history_id")
        .values_list("id", "body")
    )
    for comment_id, body in records:
        if not texts[comment_id] or texts[comment_id][-1] != body:
            texts[comment_id].append(body)
    # The last text is the current one; only comments with more than one text were edited.
    return {key: bodies[:-1] for key, bodies in texts.items() if len(bodies) > 1}


def _groups(items: list[ItemView]) -> list[ThemeGroup]:
    """By theme, themes in the order of their first item (so by priority), items in
    document order within. Anchors are numbered: a theme's name may hold no ASCII."""
    by_theme: dict[str, list[ItemView]] = {}
    for view in items:
        by_theme.setdefault(view.data.get("theme") or "", []).append(view)
    return [
        ThemeGroup(
            anchor=f"theme-{index}",
            name=name,
            colour=views[0].data.get("theme_colour") or "",
            items=views,
        )
        for index, (name, views) in enumerate(by_theme.items(), start=1)
    ]


def offered_filters(*, manager: bool) -> tuple[str, ...]:
    return (OPEN, DISAGREE) if manager else (OPEN, UNSCORED)


def build_session_page(*, session: ReviewSession, user: User, show: str = "") -> SessionPage:
    """`show` is one of the filters in the module's docstring; "" shows every item."""
    manager = is_manager(user)
    items = list(session.items.select_related("item").order_by("position"))
    comments = list(
        session.comments.select_related("author", "resolved_by").order_by("created_at", "id")
    )
    by_item = _threads(comments, _earlier_texts(session) if comments else {})
    votes = list(PriorityVote.objects.filter(session=session).select_related("reviewer"))
    # Only the manager sees what reviewers scored together: with two reviewers, the mean
    # and one's own score would give away the other's. A reviewer sees their own.
    summaries = (
        {summary.review_item.pk: summary for summary in vote_summaries(items, votes)}
        if manager
        else {}
    )
    mine = {vote.review_item_id: vote for vote in votes if vote.reviewer_id == user.pk}
    decisions = {
        decision.review_item_id: decision
        for decision in Decision.objects.filter(session=session)
        .select_related("decided_by")
        .prefetch_related("commitments__due_quarter", "commitments__owner")
    }
    item_views = [
        ItemView(
            review_item=item,
            threads=by_item.get(item.pk, []),
            my_vote=mine.get(item.pk),
            votes=summaries.get(item.pk),
            decision=decisions.get(item.pk),
        )
        for item in items
    ]

    offered = offered_filters(manager=manager)
    unknown_filter = show if show and show not in offered else ""
    show = "" if unknown_filter else show
    # Grouped over every item first, so that a theme keeps its anchor under any filter.
    groups = [
        ThemeGroup(group.anchor, group.name, group.colour,
                   [view for view in group.items if view.matches(show)])
        for group in _groups(item_views)
    ]  # fmt: skip

    previous = previous_session(session)
    changes: list[ChangeView] = []
    if previous is not None:
        before = list(previous.items.order_by("position").values_list("data", flat=True))
        if session.is_frozen:
            after = [item.data for item in items]
        else:
            after = [item_record(item) for item in live_items()]
        reasons = {reason.item_key: reason for reason in session.reasons.all()}
        changes = [
            ChangeView(change, reasons.get(change.item_key))
            for change in changes_between(before=before, after=after)
        ]
    previous_commitments = (
        check_commitments(
            Commitment.objects.filter(decision__session=previous).select_related(
                "due_quarter", "owner", "decision__review_item"
            )
        )
        if previous is not None
        else []
    )
    every_commitment = check_commitments(Commitment.objects.select_related("due_quarter"))
    record = track_record(every_commitment)
    return SessionPage(
        session=session,
        manager=manager,
        items=item_views,
        session_threads=by_item.get(None, []),
        previous=previous,
        changes=changes,
        live_changes=changed_since_snapshot(session) if manager and session.is_frozen else [],
        agenda=[summaries[key] for key in summaries][:10],
        previous_commitments=previous_commitments,
        record=record,
        deliveries=deliveries_changed(
            session=session,
            previous=previous,
            as_of=timezone.now().astimezone(datetime.UTC).date(),
            record=record,
        ),
        open_threads=sum(1 for c in comments if c.parent_id is None and c.resolved_at is None),
        comment_count=sum(1 for c in comments if not c.is_deleted),
        packs=list(
            (session.packs.all() if manager else session.packs.from_snapshot())
            .select_related("created_by")
            .only(
                "version",
                "created_at",
                "data_as_of",
                "content_hash",
                "created_by__username",
                "created_by__first_name",
                "created_by__last_name",
                "session_id",
            )
        ),
        filters=[
            ItemFilter(value, sum(1 for view in item_views if view.matches(value)))
            for value in offered
        ],
        show=show,
        unknown_filter=unknown_filter,
        groups=[group for group in groups if group.items],
    )
