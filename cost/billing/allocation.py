"""Attributing cost to teams and roadmap items with ordered allocation rules.

The rule that allocated a fact is stored on the fact (CostFact.allocation_rule) and on
its monthly rollup (the rules match on dimensions both keep), so
reports group by team or roadmap item with a join, not by re-evaluating rules. It is
recomputed for new months after every import and for all facts when rules change, in
one UPDATE whose CASE lists the rules in order: the first condition that holds wins.
"""

from django.db import transaction
from django.db.models import Case, Q, QuerySet, Value, When

from cost.models import AllocationRule, BillingMonth, CostFact, CostMonthRollup, Label


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
    # A rule without conditions matches everything (SQL needs a condition to say so).
    return condition or Q(pk__isnull=False)


def _first_match(rules: list[AllocationRule]) -> Case:
    return Case(
        *[When(rule_condition(rule), then=Value(rule.pk)) for rule in rules],
        default=Value(None),
    )


@transaction.atomic
def allocate_months(months: QuerySet[BillingMonth]) -> None:
    """New facts and their monthly rollups arrive unallocated: only those some rule
    matches are written."""
    rules = list(AllocationRule.objects.order_by("position", "id"))
    if not rules:
        return
    any_rule = Q()
    for rule in rules:
        any_rule |= rule_condition(rule)
    for model in (CostFact, CostMonthRollup):
        model.objects.filter(any_rule, month__in=months).update(allocation_rule=_first_match(rules))


@transaction.atomic
def reallocate_all() -> None:
    """After a rule was added, changed, moved or deleted."""
    rules = list(AllocationRule.objects.order_by("position", "id"))
    for model in (CostFact, CostMonthRollup):
        if rules:
            model.objects.update(allocation_rule=_first_match(rules))
        else:
            model.objects.exclude(allocation_rule=None).update(allocation_rule=None)


@transaction.atomic
def save_rule(*, rule: AllocationRule) -> AllocationRule:
    """Save a rule (a new rule goes last) and re-attribute every fact."""
    if rule.pk is None:
        # Lock the rules (an aggregate would drop FOR UPDATE) so two new rules never
        # share a position; with equal positions the older rule would win anyway.
        positions = AllocationRule.objects.select_for_update().values_list("position", flat=True)
        rule.position = max(positions, default=0) + 1
    rule.save()
    reallocate_all()
    return rule


@transaction.atomic
def move_rule(*, rule_id: int, direction: str) -> AllocationRule | None:
    """Swap a rule with its neighbour above or below and number them 1..n; None when the
    rule is gone. Positions are rewritten under a lock, so two moves never interleave."""
    rules = list(AllocationRule.objects.select_for_update().order_by("position", "id"))
    index = next((i for i, rule in enumerate(rules) if rule.pk == rule_id), None)
    if index is None:
        return None
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(rules):
        rules[index], rules[other] = rules[other], rules[index]
    changed = []
    for position, rule in enumerate(rules, start=1):
        if rule.position != position:
            rule.position = position
            changed.append(rule)
    if changed:
        AllocationRule.objects.bulk_update(changed, ["position"])
        reallocate_all()
    return next(rule for rule in rules if rule.pk == rule_id)


@transaction.atomic
def delete_rule(*, rule: AllocationRule) -> None:
    """Delete a rule; its cost goes to the next matching rule, or to 'unallocated'."""
    rule.delete()
    reallocate_all()
