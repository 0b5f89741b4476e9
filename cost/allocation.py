"""Attributing cost to teams and roadmap items with ordered allocation rules.

The rule that allocated a fact is stored on the fact (CostFact.allocation_rule), so
reports group by team or roadmap item with a join, not by re-evaluating rules. It is
recomputed for new months after every import and for all facts when rules change.
"""

from django.db import transaction
from django.db.models import Q, QuerySet

from cost.models import AllocationRule, BillingMonth, CostFact, Label


def rule_condition(rule: AllocationRule) -> Q:
    condition = Q()
    if rule.match_project:
        condition &= Q(project_id=rule.match_project)
    if rule.match_label_key:
        labels = Label.objects.filter(key=rule.match_label_key)
        if rule.match_label_value:
            labels = labels.filter(value=rule.match_label_value)
        condition &= Q(label_set__in=labels.values("label_set"))
    if rule.match_service:
        condition &= Q(service_id=rule.match_service) | Q(service_description=rule.match_service)
    if rule.match_sku:
        condition &= Q(sku_id=rule.match_sku) | Q(sku_description=rule.match_sku)
    return condition


@transaction.atomic
def _allocate(facts: QuerySet[CostFact]) -> None:
    facts.update(allocation_rule=None)
    # Lowest priority first, so the first matching rule is the one written last.
    for rule in reversed(list(AllocationRule.objects.order_by("position", "id"))):
        facts.filter(rule_condition(rule)).update(allocation_rule=rule)


def allocate_months(months: QuerySet[BillingMonth]) -> None:
    _allocate(CostFact.objects.filter(month__in=months))


def reallocate_all() -> None:
    """After a rule was added, changed, moved or deleted."""
    _allocate(CostFact.objects.all())
