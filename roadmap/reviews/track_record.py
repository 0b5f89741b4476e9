"""Whether the team did what it said: each commitment made at a review is kept when its
item reached the promised status by the end of the promised quarter, according to the
item's history (so a late delivery is not counted as kept)."""

import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from roadmap.models import Commitment, RoadmapItem

REACHED: dict[str, set[str]] = {
    Commitment.Promise.IN_PROGRESS: {RoadmapItem.Status.IN_PROGRESS, RoadmapItem.Status.DONE},
    Commitment.Promise.DONE: {RoadmapItem.Status.DONE},
}
KEPT, MISSED, PENDING = "kept", "missed", "pending"
OUTCOME_LABELS = {KEPT: _("kept"), MISSED: _("missed"), PENDING: _("due later")}


@dataclass(frozen=True)
class CommitmentCheck:
    commitment: Commitment
    outcome: str  # kept, missed or pending
    reached_on: datetime.date | None  # when the item first reached the promised status

    @property
    def label(self) -> str:
        return str(OUTCOME_LABELS[self.outcome])


@dataclass(frozen=True)
class QuarterRecord:
    quarter: str
    kept: int
    missed: int
    pending: int

    @property
    def ratio(self) -> float | None:
        """Kept among the commitments whose quarter is over or already kept."""
        decided = self.kept + self.missed
        return None if decided == 0 else self.kept / decided


def check_commitments(
    commitments: Iterable[Commitment],
    *,
    today: datetime.date | None = None,
    as_of: datetime.datetime | None = None,
) -> list[CommitmentCheck]:
    """One history query for all the commitments' items. Expects due_quarter loaded.
    `as_of`: judge by the items' history up to that moment (a review pack's time)."""
    commitments = list(commitments)
    today = today or (timezone.localdate(as_of) if as_of else timezone.localdate())
    item_ids = {c.item_id for c in commitments if c.item_id}
    history = RoadmapItem.history.filter(id__in=item_ids)
    if as_of is not None:
        history = history.filter(history_date__lte=as_of)
    # Keyed by item id; a commitment whose item was deleted (item_id None) finds nothing.
    records: dict[int | None, list[tuple[datetime.datetime, str]]] = defaultdict(list)
    for item_id, status, moment in history.order_by("history_date", "history_id").values_list(
        "id", "status", "history_date"
    ):
        records[item_id].append((moment, status))
    # A promise counts from the review that made it: an item done before and reopened
    # since has not kept a promise to be done.
    made = dict(
        Commitment.objects.filter(pk__in=[c.pk for c in commitments]).values_list(
            "pk", "decision__session__opened_at"
        )
    )

    def reached_on(commitment: Commitment) -> datetime.date | None:
        """When the item reached the promised status and stayed there through the
        promise; or, if it was not there when the promise was made, when it got there."""
        statuses = REACHED[commitment.promised_status]
        since = made.get(commitment.pk)
        streak = None  # when the current run of reached statuses began
        for moment, status in records.get(commitment.item_id, ()):
            if since is not None and moment > since and streak is None:
                if status in statuses:
                    return timezone.localdate(moment)
                continue
            streak = (streak or moment) if status in statuses else None
        return timezone.localdate(streak) if streak else None

    checks = []
    for commitment in commitments:
        reached = reached_on(commitment) if commitment.item_id else None
        due = commitment.due_quarter.end_date
        if reached is not None and reached <= due:
            outcome = KEPT
        elif today > due:
            outcome = MISSED
        else:
            outcome = PENDING
        checks.append(CommitmentCheck(commitment, outcome, reached))
    return checks


def track_record(checks: Iterable[CommitmentCheck]) -> list[QuarterRecord]:
    """Kept, missed and pending commitments per due quarter, oldest quarter first."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: {KEPT: 0, MISSED: 0, PENDING: 0})
    starts: dict[str, datetime.date] = {}
    for check in checks:
        quarter = check.commitment.due_quarter
        counts[quarter.code][check.outcome] += 1
        starts[quarter.code] = quarter.start_date
    return [
        QuarterRecord(code, counts[code][KEPT], counts[code][MISSED], counts[code][PENDING])
        for code in sorted(counts, key=starts.__getitem__)
    ]


def all_commitments() -> Iterable[Commitment]:
    return Commitment.objects.select_related("due_quarter", "owner", "decision__session")
