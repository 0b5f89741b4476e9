"""The roadmap frozen for a review, and what changed between two reviews.

A snapshot row (`ReviewItem.data`) holds every field of an item as plain JSON: text as
text, amounts as decimal strings with their currency, quarters as codes, people as
names. Pages and packs render from it alone, so nothing edited later can reach them.
"""

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.money import Money
from roadmap.items.planning import OPEN_STATUSES, planned_weeks_by_quarter
from roadmap.models import Quarter, ReviewItem, ReviewSession, RoadmapItem, TeamCapacity

# Fields compared to tell the manager what moved in the live roadmap since the snapshot.
TRACKED_FIELDS = {
    "title": _("title"),
    "description": _("description"),
    "status": _("status"),
    "theme": _("theme"),
    "owner": _("owner"),
    "team": _("delivering team"),
    "requesting_teams": _("requesting teams"),
    "start_quarter": _("start quarter"),
    "target_quarter": _("target quarter"),
    "rank": _("priority rank"),
    "depends_on": _("depends on"),
    "reach": _("reach"),
    "impact": _("impact"),
    "confidence": _("confidence"),
    "rice_effort_months": _("RICE effort"),
    "business_value": _("business value"),
    "time_criticality": _("time criticality"),
    "risk_reduction": _("risk reduction"),
    "job_size": _("job size"),
    "effort_weeks": _("effort (person-weeks)"),
    "people_cost": _("people cost"),
    "bq_monthly_cost_change": _("BigQuery cost change a month"),
    "one_off_cost": _("one-off costs"),
    "users_affected": _("users affected"),
    "hours_saved_per_month": _("hours saved a month"),
    "benefit_chain": _("who benefits"),
    "benefit_narrative": _("benefit narrative"),
    "risks": _("risks"),
    "links": _("links"),
    "evidence_links": _("evidence links"),
}


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _money(money: Money | None) -> dict | None:
    return None if money is None else {"amount": str(money.amount), "currency": money.currency}


def item_record(item: RoadmapItem) -> dict:
    """Every field of an item as JSON. Expects with_related() and the two many-to-many
    relations prefetched."""
    return {
        "id": item.pk,
        "title": item.title,
        "description": item.description,
        "status": item.status,
        "theme": item.theme.name,
        "theme_colour": item.theme.colour,
        "owner": (item.owner.get_full_name() or item.owner.get_username()) if item.owner else "",
        "team": item.team.name,
        "requesting_teams": sorted(team.name for team in item.requesting_teams.all()),
        "start_quarter": item.start_quarter.code if item.start_quarter else None,
        "target_quarter": item.target_quarter.code if item.target_quarter else None,
        "rank": item.rank if item.status in OPEN_STATUSES else None,
        "depends_on": sorted(other.title for other in item.depends_on.all()),
        "links": item.link_list(),
        "risks": item.risks,
        "reach": item.reach,
        "impact": _text(item.impact),
        "confidence": item.confidence,
        "rice_effort_months": _text(item.rice_effort_months),
        "rice_score": _text(item.rice_score()),
        "business_value": item.business_value,
        "time_criticality": item.time_criticality,
        "risk_reduction": item.risk_reduction,
        "job_size": item.job_size,
        "wsjf_score": _text(item.wsjf_score()),
        "effort_weeks": _text(item.effort_weeks),
        "currency": item.currency,
        "people_cost": _money(item.people_cost()),
        "bq_monthly_cost_change": _money(item.bq_monthly_change_money()),
        "one_off_cost": _money(item.one_off_money()),
        "upfront_cost": _money(item.upfront_cost()),
        "users_affected": item.users_affected,
        "hours_saved_per_month": _text(item.hours_saved_per_month),
        "cost_per_hour_saved": _money(item.cost_per_hour_saved()),
        "monthly_saving": _money(item.monthly_saving()),
        "payback_months": _text(item.payback_months()),
        "benefit_chain": item.benefit_chain,
        "benefit_narrative": item.benefit_narrative,
        "evidence_links": item.evidence_link_list(),
        "version": item.version,
    }


def live_items() -> Iterable[RoadmapItem]:
    return (
        RoadmapItem.objects.with_related()
        .prefetch_related("requesting_teams", "depends_on")
        .order_by("rank", "id")
    )


def _document_order(item: RoadmapItem) -> tuple:
    """Open items by priority, then done ones, then dropped ones."""
    if item.status in OPEN_STATUSES:
        return (0, item.rank, item.pk)
    return (1 if item.status == RoadmapItem.Status.DONE else 2, 0, item.pk)


def take_snapshot(*, session: ReviewSession) -> int:
    """Freeze every item and the four quarters' capacity into the session; the number of
    items frozen. Called once, by open_review, inside its transaction."""
    items = sorted(live_items(), key=_document_order)
    ReviewItem.objects.bulk_create(
        ReviewItem(
            session=session,
            item=item,
            item_key=item.pk,
            position=position,
            rank=item.rank if item.status in OPEN_STATUSES else None,
            title=item.title,
            status=item.status,
            data=item_record(item),
        )
        for position, item in enumerate(items, start=1)
    )
    quarters = Quarter.objects.window(session.quarter.code, 4)
    saved = [quarter for quarter in quarters if quarter.pk]
    capacity: dict[int, Decimal] = {}
    for row in TeamCapacity.objects.filter(quarter__in=saved).values("quarter", "person_weeks"):
        capacity[row["quarter"]] = capacity.get(row["quarter"], Decimal(0)) + row["person_weeks"]
    planned = planned_weeks_by_quarter(quarters)
    session.snapshot = {
        "taken_at": timezone.now().isoformat(),
        "quarters": [
            {
                "code": quarter.code,
                "capacity_weeks": _text(capacity.get(quarter.pk)),
                "planned_weeks": str(planned[quarter.index]),
            }
            for quarter in quarters
        ],
    }
    return len(items)


# --- What changed between two reviews ------------------------------------------------------


class ChangeKind:
    ADDED = "added"
    DROPPED = "dropped"
    DONE = "done"
    SLIPPED = "slipped"
    PULLED_IN = "pulled_in"
    REPRIORITISED = "reprioritised"
    RESCORED = "rescored"
    RECOSTED = "recosted"

    LABELS = {
        ADDED: _("added"),
        DROPPED: _("dropped"),
        DONE: _("done"),
        SLIPPED: _("slipped"),
        PULLED_IN: _("pulled in"),
        REPRIORITISED: _("re-prioritised"),
        RESCORED: _("re-scored"),
        RECOSTED: _("re-costed"),
    }


@dataclass(frozen=True)
class Change:
    kind: str
    before: str = ""
    after: str = ""

    @property
    def label(self) -> str:
        return str(ChangeKind.LABELS[self.kind])


@dataclass
class ItemChanges:
    """Everything that changed about one item between two snapshots."""

    item_key: int
    title: str
    rank: int | None  # in the newer snapshot
    changes: list[Change] = field(default_factory=list)

    @property
    def kinds(self) -> list[str]:
        return [change.kind for change in self.changes]


def _quarter_index(code: str | None) -> int | None:
    if not code:
        return None
    year, number = code.split("-Q")
    return int(year) * 4 + int(number) - 1


def _amount(money: dict | None) -> str:
    """Rounded to the currency's minor unit for reading; the record keeps every digit."""
    return "" if money is None else str(Money(Decimal(money["amount"]), money["currency"]))


def _scores(record: dict) -> str:
    return f"RICE {record['rice_score'] or 'none'}, WSJF {record['wsjf_score'] or 'none'}"


def _costs(record: dict) -> str:
    people = _amount(record["people_cost"]) or "none"
    bq = _amount(record["bq_monthly_cost_change"]) or "none"
    return f"people {people}, BigQuery {bq}/month"


def item_changes(before: dict | None, after: dict | None, *, moved: bool = False) -> list[Change]:
    """The changes from one record of an item to the next (None: not in that snapshot);
    `moved`: the item changed place among the items open in both (see _moved)."""
    dropped, done = RoadmapItem.Status.DROPPED, RoadmapItem.Status.DONE
    if before is None and after is None:
        return []
    if before is None:
        assert after is not None  # noqa: S101 -- both None returned above
        return [Change(ChangeKind.ADDED, "", after["target_quarter"] or "")]
    if after is None:
        status = dict(RoadmapItem.Status.choices)[before["status"]]
        # A lazy text in a str field: it is rendered, in the page's or pack's language.
        return [Change(ChangeKind.DROPPED, str(status).lower(), _("deleted"))]  # type: ignore[arg-type]
    changes = []
    label = dict(RoadmapItem.Status.choices)
    was, now = str(label[before["status"]]).lower(), str(label[after["status"]]).lower()
    if after["status"] == dropped and before["status"] != dropped:
        changes.append(Change(ChangeKind.DROPPED, was, now))
    if after["status"] == done and before["status"] != done:
        changes.append(Change(ChangeKind.DONE, was, now))
    was_at, now_at = (
        _quarter_index(before["target_quarter"]),
        _quarter_index(after["target_quarter"]),
    )
    if was_at is not None and now_at is not None and was_at != now_at:
        kind = ChangeKind.SLIPPED if now_at > was_at else ChangeKind.PULLED_IN
        changes.append(Change(kind, before["target_quarter"], after["target_quarter"]))
    if moved:
        changes.append(Change(ChangeKind.REPRIORITISED, f"#{before['rank']}", f"#{after['rank']}"))
    if (before["rice_score"], before["wsjf_score"]) != (after["rice_score"], after["wsjf_score"]):
        changes.append(Change(ChangeKind.RESCORED, _scores(before), _scores(after)))
    cost_fields = ("people_cost", "bq_monthly_cost_change")
    if any(before[name] != after[name] for name in cost_fields):
        changes.append(Change(ChangeKind.RECOSTED, _costs(before), _costs(after)))
    return changes


def _moved(old: dict[int, dict], new: dict[int, dict]) -> set[int]:
    """The items whose priority really changed. When an item above is done or dropped,
    every rank below drops by one, yet nothing was re-prioritised; so compare the order of
    the items open in both snapshots. The items kept in place are the longest run that is
    in the same order in both (ties: the one whose ranks moved least); the rest moved."""
    keys = sorted(
        (key for key in new if key in old and old[key]["rank"] and new[key]["rank"]),
        key=lambda key: new[key]["rank"],
    )
    before = [old[key]["rank"] for key in keys]
    shift = [abs(new[key]["rank"] - old[key]["rank"]) for key in keys]
    best = [(1, -shift[i]) for i in range(len(keys))]  # (items kept, -their total shift)
    previous = [-1] * len(keys)
    for i in range(len(keys)):
        for j in range(i):
            candidate = (best[j][0] + 1, best[j][1] - shift[i])
            if before[j] < before[i] and candidate > best[i]:
                best[i], previous[i] = candidate, j
    kept: set[int] = set()
    index = max(range(len(keys)), key=best.__getitem__, default=-1)
    while index >= 0:
        kept.add(keys[index])
        index = previous[index]
    return set(keys) - kept


def changes_between(*, before: Sequence[dict], after: Sequence[dict]) -> list[ItemChanges]:
    """Per item, what changed from the older snapshot to the newer: newer items in document
    order, then the items that disappeared. Items that did not change are left out."""
    old = {record["id"]: record for record in before}
    new = {record["id"]: record for record in after}
    moved = _moved(old, new)
    result = []
    for key, record in new.items():
        changes = item_changes(old.get(key), record, moved=key in moved)
        if changes:
            result.append(ItemChanges(key, record["title"], record["rank"], changes))
    for key, record in old.items():
        if key not in new:
            result.append(ItemChanges(key, record["title"], None, item_changes(record, None)))
    return result


def previous_session(
    session: ReviewSession, *, as_of: datetime.datetime | None = None
) -> ReviewSession | None:
    """The newest closed session opened before this one (any closed one for a draft);
    with `as_of`, among those already closed at that moment (a review pack's)."""
    closed = ReviewSession.objects.filter(status=ReviewSession.Status.CLOSED).exclude(pk=session.pk)
    if session.opened_at:
        closed = closed.filter(opened_at__lt=session.opened_at)
    if as_of is not None:
        closed = closed.filter(closed_at__lte=as_of)
    return closed.order_by("-opened_at", "-id").first()


def snapshot_records(session: ReviewSession) -> list[dict]:
    return list(session.items.order_by("position").values_list("data", flat=True))


# --- What the manager changed after opening ------------------------------------------------


@dataclass(frozen=True)
class LiveChange:
    item_key: int
    title: str
    fields: list[str]  # labels of the fields that differ; empty for added and deleted items
    state: str  # "changed", "added" (after the snapshot) or "deleted"


def changed_since_snapshot(session: ReviewSession) -> list[LiveChange]:
    """Items of the live roadmap that differ from the session's snapshot (for the manager:
    the reviewers still see the snapshot)."""
    frozen = {record["id"]: record for record in snapshot_records(session)}
    result = []
    for item in live_items():
        record = item_record(item)
        old = frozen.pop(item.pk, None)
        if old is None:
            result.append(LiveChange(item.pk, item.title, [], "added"))
            continue
        fields = [
            str(label) for name, label in TRACKED_FIELDS.items() if old.get(name) != record[name]
        ]
        if fields:
            result.append(LiveChange(item.pk, item.title, fields, "changed"))
    result += [LiveChange(key, old["title"], [], "deleted") for key, old in frozen.items()]
    return result
