"""Prioritisation scores: RICE and WSJF, computed from the inputs stored on each item.

Scores are absolute: an item's score depends on its own inputs only, so adding an item
never changes another item's score. Ranks (1 = best) are relative and computed here for
whatever list of items is on screen.
"""

from collections.abc import Callable, Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import TypeVar

from django.utils.translation import gettext_lazy as _

# Intercom's impact scale.
# Keys carry two places, as the database returns them, so a stored 2.00 selects "2".
IMPACT_CHOICES = [
    (Decimal("3.00"), _("3 - massive")),
    (Decimal("2.00"), _("2 - high")),
    (Decimal("1.00"), _("1 - medium")),
    (Decimal("0.50"), _("0.5 - low")),
    (Decimal("0.25"), _("0.25 - minimal")),
]
IMPACT_VALUES = [value for value, _label in IMPACT_CHOICES]

# The per cent signs are not placeholders (xgettext would take "% - h" for one).
CONFIDENCE_CHOICES = [
    # xgettext:no-python-format
    (100, _("100% - high")),
    # xgettext:no-python-format
    (80, _("80% - medium")),
    # xgettext:no-python-format
    (50, _("50% - low")),
]
CONFIDENCE_VALUES = [value for value, _label in CONFIDENCE_CHOICES]

# The modified Fibonacci scale SAFe uses for every WSJF input.
WSJF_VALUES = [1, 2, 3, 5, 8, 13, 20]
WSJF_CHOICES = [(value, str(value)) for value in WSJF_VALUES]

MIN_RICE_EFFORT = Decimal("0.5")
SCORE_PLACES = Decimal("0.01")


def rice(
    reach: int | None,
    impact: Decimal | None,
    confidence: int | None,
    effort_months: Decimal | None,
) -> Decimal | None:
    """reach x impact x confidence / effort, rounded to 0.01; None until all are known."""
    if reach is None or impact is None or confidence is None or effort_months is None:
        return None
    effort = max(Decimal(effort_months), MIN_RICE_EFFORT)
    score = Decimal(reach) * Decimal(impact) * Decimal(confidence) / 100 / effort
    return score.quantize(SCORE_PLACES, ROUND_HALF_UP)


def wsjf(
    business_value: int | None,
    time_criticality: int | None,
    risk_reduction: int | None,
    job_size: int | None,
) -> Decimal | None:
    """Cost of delay (the three values summed) / job size, rounded to 0.01."""
    if business_value is None or time_criticality is None or risk_reduction is None or not job_size:
        return None
    cost_of_delay = Decimal(business_value + time_criticality + risk_reduction)
    return (cost_of_delay / Decimal(job_size)).quantize(SCORE_PLACES, ROUND_HALF_UP)


T = TypeVar("T")


def competition_ranks(items: Iterable[T], score: Callable[[T], Decimal | None]) -> dict[T, int]:
    """Rank items by descending score, ties sharing a rank (1, 2, 2, 4); unscored items
    get no rank."""
    scored = sorted(
        ((value, item) for item in items if (value := score(item)) is not None),
        key=lambda pair: pair[0],
        reverse=True,
    )
    ranks: dict[T, int] = {}
    previous: Decimal | None = None
    rank = 0
    for position, (value, item) in enumerate(scored, start=1):
        if value != previous:
            rank, previous = position, value
        ranks[item] = rank
    return ranks
