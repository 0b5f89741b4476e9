"""Stakeholder interviews: saving them without lost updates, and reading them as they stood
at a pack's moment (their history), so a pack rebuilt for the same moment says the same."""

import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Max

from core.history import team_names_as_of
from roadmap.evidence.tables import ChangedMeanwhile
from roadmap.models import RoadmapItem, StakeholderInterview, pain_point_lines

# --- Interviews ----------------------------------------------------------------------------


def interview_version(interview: StakeholderInterview) -> int:
    """Its latest history record (0 if it has none): a form carries it to tell whether the
    interview changed since it was loaded."""
    records = StakeholderInterview.history.filter(id=interview.pk)
    return records.aggregate(last=Max("history_id"))["last"] or 0


def save_interview(
    *,
    interview: StakeholderInterview,
    items: Iterable[RoadmapItem],
    by: User | None,
    seen: int | None = None,
) -> StakeholderInterview:
    """Create or change an interview with the items it asks for: one history record per
    save, items included, so a pack reads them as they were at its moment. A change made
    from `seen` (an `interview_version`) is refused if the interview moved on since:
    ChangedMeanwhile."""
    with transaction.atomic():
        if interview.pk is not None and seen is not None:
            StakeholderInterview.objects.select_for_update().filter(pk=interview.pk).exists()
            if seen != interview_version(interview):
                raise ChangedMeanwhile
        if interview.pk is None:
            interview.created_by = by
        # simple_history reads these from the instance as it saves.
        interview._history_user = by  # type: ignore[attr-defined]
        interview.skip_history_when_saving = True  # type: ignore[attr-defined]
        try:
            interview.save()
            interview.items.set(items)
        finally:
            del interview.skip_history_when_saving  # type: ignore[attr-defined]
        interview.save()
    return interview


@dataclass(frozen=True)
class InterviewWords:
    """What one team said in one interview, as a pack or an item page shows it."""

    interview_id: int
    date: datetime.date
    team: str
    people: str
    pain_points: tuple[str, ...]
    notes: str


def _words(interview: Any, team_names: dict[int, str]) -> InterviewWords:
    return InterviewWords(
        interview_id=interview.id,
        date=interview.date,
        team=team_names.get(interview.team_id, "?"),
        people=interview.people,
        pain_points=tuple(pain_point_lines(interview.pain_points)),
        notes=interview.notes,
    )


def interviews_as_of(
    *, item_ids: Iterable[int], as_of: datetime.datetime
) -> dict[int, list[InterviewWords]]:
    """The interviews that named each item at `as_of`, as they read then (their teams as
    named then), oldest first."""
    wanted = set(item_ids)
    records = list(
        StakeholderInterview.history.filter(history_date__lte=as_of)
        .latest_of_each()
        .exclude(history_type="-")
    )
    if not records:
        return {}
    links = apps.get_model("roadmap", "HistoricalStakeholderInterview_items").objects.filter(
        history_id__in=[record.history_id for record in records], roadmapitem_id__in=wanted
    )
    items_of: dict[int, list[int]] = defaultdict(list)
    for history_id, item_id in links.values_list("history_id", "roadmapitem_id"):
        items_of[history_id].append(item_id)
    team_names = team_names_as_of((record.team_id for record in records), as_of)
    found: dict[int, list[InterviewWords]] = defaultdict(list)
    for record in sorted(records, key=lambda record: (record.date, record.id)):
        for item_id in sorted(items_of.get(record.history_id, ())):
            found[item_id].append(_words(record, team_names))
    return dict(found)


def interviews_by_team(team_names: Iterable[str]) -> dict[str, list[StakeholderInterview]]:
    """The interviews held with each named team, newest first (one query): on a retirement
    tracker, what each team that still reads a retired table has already said."""
    found: dict[str, list[StakeholderInterview]] = defaultdict(list)
    names = {name for name in team_names if name}
    interviews = StakeholderInterview.objects.filter(team__name__in=names).select_related("team")
    for interview in interviews.order_by("-date", "-id"):
        found[interview.team.name].append(interview)
    return dict(found)
