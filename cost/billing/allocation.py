"""Attributing cost to teams and roadmap items with ordered allocation rules.

The rule that allocated a fact is stored on the fact (CostFact.allocation_rule) and on
its monthly rollup (the rules match on dimensions both keep), so
reports group by team or roadmap item with a join, not by re-evaluating rules. It is
recomputed for new months after every import and for all facts when rules change, in
one UPDATE whose CASE lists the rules in order: the first condition that holds wins.

Rules keep their history. A report as of an earlier moment (a review pack's) does not
read the stored rule: it evaluates the rules as they stood then with the same CASE
(`attribution_as_of`), and names their teams and items as they were named then. Cost
reads the same as it read at that moment, whatever was edited since.
"""

import datetime
from dataclasses import dataclass
from typing import Any

from django.db import models, transaction
from django.db.models import Case, F, Q, QuerySet, Value, When
from simple_history.utils import bulk_update_with_history

from core.history import records_as_of, teams_as_of
from cost.models import AllocationRule, BillingMonth, CostFact, CostMonthRollup, Label


def rule_condition(rule: AllocationRule, prefix: str = "") -> Q:
    """The facts (or rollups; with `prefix`, rows reached through it) a rule matches."""

    def q(**lookups: Any) -> Q:
        return Q(**{f"{prefix}{name}": value for name, value in lookups.items()})

    condition = Q()
    if rule.match_project:
        condition &= q(project_id=rule.match_project)
    if rule.match_label_key:
        labels = Label.objects.filter(key=rule.match_label_key)
        if rule.match_label_value:
            labels = labels.filter(value=rule.match_label_value)
        condition &= q(label_set__in=labels.values("label_set"))
    if rule.match_service:
        condition &= q(service_id=rule.match_service) | q(service_description=rule.match_service)
    if rule.match_sku:
        condition &= q(sku_id=rule.match_sku) | q(sku_description=rule.match_sku)
    # A rule without conditions matches everything (SQL needs a condition to say so).
    return condition or q(pk__isnull=False)


def rules_as_of(moment: datetime.datetime) -> list[AllocationRule]:
    """The rules as they stood at `moment`, in the order they were tried."""
    records = records_as_of(AllocationRule.history, moment)
    return sorted((record.instance for record in records), key=lambda r: (r.position, r.pk))


@dataclass(frozen=True)
class Attribution:
    """What a report groups and filters cost by: the team's slug and name, the roadmap
    item's id and title, as expressions over facts or rollups."""

    team_slug: Any
    team_name: Any
    item_id: Any
    item_title: Any


def attribution_now(prefix: str = "") -> Attribution:
    """Through the rule stored on each fact: the rules as they are now."""
    return Attribution(
        team_slug=F(f"{prefix}allocation_rule__team__slug"),
        team_name=F(f"{prefix}allocation_rule__team__name"),
        item_id=F(f"{prefix}allocation_rule__roadmap_item_id"),
        item_title=F(f"{prefix}allocation_rule__roadmap_item__title"),
    )


def _item_titles_as_of(item_ids: set[int], moment: datetime.datetime) -> dict[int, str]:
    model: Any = AllocationRule.work_item_model()
    titles = dict(model._default_manager.filter(pk__in=item_ids).values_list("pk", "title"))
    history = getattr(model, "history", None)
    if history is not None and item_ids:
        records = history.filter(id__in=item_ids, history_date__lte=moment).latest_of_each()
        titles.update((record.id, record.title) for record in records)
    return titles


def attribution_as_of(moment: datetime.datetime, prefix: str = "") -> Attribution:
    """By the rules as they stood at `moment`, evaluated in SQL (first match wins, as the
    stored rule was chosen), with teams and item titles as they were then."""
    rules = rules_as_of(moment)
    teams = teams_as_of({rule.team_id for rule in rules}, moment)
    titles = _item_titles_as_of({r.roadmap_item_id for r in rules if r.roadmap_item_id}, moment)

    def first_match(value_of: Any, output: models.Field) -> Case:
        return Case(
            *[When(rule_condition(rule, prefix), then=Value(value_of(rule))) for rule in rules],
            default=Value(None),
            output_field=output,
        )

    def team_of(rule: AllocationRule) -> Any:
        return teams.get(rule.team_id)

    return Attribution(
        team_slug=first_match(lambda r: getattr(team_of(r), "slug", None), models.CharField()),
        team_name=first_match(lambda r: getattr(team_of(r), "name", None), models.CharField()),
        item_id=first_match(lambda r: r.roadmap_item_id, models.BigIntegerField()),
        item_title=first_match(lambda r: titles.get(r.roadmap_item_id), models.CharField()),
    )


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
        # With history: a report as of a moment before the move reads the old order.
        bulk_update_with_history(changed, AllocationRule, ["position"])
        reallocate_all()
    return next(rule for rule in rules if rule.pk == rule_id)


@transaction.atomic
def delete_rule(*, rule: AllocationRule) -> None:
    """Delete a rule; its cost goes to the next matching rule, or to 'unallocated'."""
    rule.delete()
    reallocate_all()
