"""What last quarter's deliveries changed: for each item delivered since the previous review,
promised against realised (roadmap.evidence.benefit), and per delivery quarter the
realised-benefit ratio beside the kept-commitment ratio (roadmap.reviews.track_record).

The session page reads it as of today (UTC); a review pack as of its moment's UTC date, over
the items as their history had them then (see roadmap.reviews.packs.content for what that
does and does not make reproducible).
"""

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from roadmap.evidence.benefit import (
    ItemBenefit,
    QuarterBenefit,
    benefit_by_quarter,
    benefit_of_items,
)
from roadmap.models import Quarter, ReviewSession, RoadmapItem
from roadmap.reviews.track_record import QuarterRecord


def deliveries_since(session: ReviewSession, previous: ReviewSession | None) -> datetime.date:
    """The first day of "since the previous review": the UTC date the previous review
    session was opened (its roadmap frozen); with no previous session, or one never
    opened, the first day of the quarter before the session's quarter. An item counts as
    delivered since then when its `delivered_on` is on or after that day (and not after
    the day the section is read as of)."""
    if previous is not None and previous.opened_at is not None:
        return previous.opened_at.astimezone(datetime.UTC).date()
    return Quarter.from_code(session.quarter.shifted(-1)).start_date


@dataclass(frozen=True)
class DeliveryQuarter:
    """One delivery quarter: how the targets of the items delivered in it came out, and
    the kept-commitment record of the commitments due in it (None: no commitment due)."""

    benefit: QuarterBenefit
    record: QuarterRecord | None

    @property
    def quarter(self) -> str:
        return self.benefit.quarter


@dataclass(frozen=True)
class Deliveries:
    since: datetime.date
    as_of: datetime.date
    benefits: list[ItemBenefit]  # by delivery day, then id
    quarters: list[DeliveryQuarter]  # oldest first


def delivered_items(
    *, since: datetime.date, as_of: datetime.date, items: Iterable[RoadmapItem] | None = None
) -> list[RoadmapItem]:
    """Done items delivered from `since` to `as_of`; `items` (e.g. as a pack's moment had
    them) instead of the live ones. One query, or none when `items` are given."""
    pool = (
        RoadmapItem.objects.filter(status=RoadmapItem.Status.DONE,
                                   delivered_on__gte=since, delivered_on__lte=as_of)
        if items is None else items
    )  # fmt: skip
    chosen = [
        item
        for item in pool
        if item.status == RoadmapItem.Status.DONE
        and item.delivered_on is not None
        and since <= item.delivered_on <= as_of
    ]
    return sorted(chosen, key=lambda item: (item.delivered_on, item.pk))


def deliveries_changed(
    *,
    session: ReviewSession,
    previous: ReviewSession | None,
    as_of: datetime.date,
    record: Sequence[QuarterRecord],
    items: Iterable[RoadmapItem] | None = None,
) -> Deliveries:
    """The section, as of the UTC day `as_of`: one query for the items (none when given)
    and benefit_of_items's fixed number, whatever the number of items."""
    since = deliveries_since(session, previous)
    chosen = delivered_items(since=since, as_of=as_of, items=items)
    by_id = benefit_of_items(items=chosen, as_of=as_of) if chosen else {}
    benefits = [by_id[item.pk] for item in chosen]
    records = {quarter.quarter: quarter for quarter in record}
    return Deliveries(
        since=since,
        as_of=as_of,
        benefits=benefits,
        quarters=[
            DeliveryQuarter(benefit=quarter, record=records.get(quarter.quarter))
            for quarter in benefit_by_quarter(benefits)
        ],
    )
