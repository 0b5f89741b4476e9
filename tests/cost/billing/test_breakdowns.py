"""The cost-reports engine against sums computed independently from the export files."""

import datetime
from collections import defaultdict
from decimal import Decimal

import pytest
from django.utils import timezone

from cost.billing.allocation import move_rule, reallocate_all
from cost.billing.breakdowns import BreakdownError, Query, cost_breakdown
from cost.billing.runs import import_files
from cost.models import AllocationRule, CostFact, CostMonthRollup, to_decimal
from demo.billing_export import generate_rows, write_export
from tests.cost.billing.test_files import read_rows, write_rows
from tests.roadmap.factories import TeamFactory

pytestmark = pytest.mark.django_db

JAN = datetime.date(2026, 1, 1)
NANO = Decimal("0.000000001")


@pytest.fixture
def exports(tmp_path) -> dict[str, list[dict]]:
    usd = tmp_path / "usd.jsonl.gz"
    jpy = tmp_path / "jpy.jsonl.gz"
    write_export(usd, generate_rows(first_month=JAN, months=3, hours_per_day=2))
    write_export(jpy, generate_rows(first_month=JAN, months=1, hours_per_day=1, currency="JPY",
                                    rate=Decimal("150.25"), seed=3))  # fmt: skip
    import_files(paths=[usd], source_name="usd")
    import_files(paths=[jpy], source_name="jpy")
    ae = TeamFactory(name="Analytics Engineering", slug="ae")
    AllocationRule.objects.create(position=1, name="AE", match_label_key="team",
                                  match_label_value="ae", team=ae)  # fmt: skip
    reallocate_all()
    return {"usd": read_rows(usd), "jpy": read_rows(jpy)}


def independent(rows: list[dict], key, *, usd: bool = False) -> dict:
    totals: dict = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for row in rows:
        rate = Decimal(str(row["currency_conversion_rate"])) if usd else Decimal(1)
        total = totals[key(row)]
        total[0] += Decimal(str(row["cost"])) / rate
        total[1] += sum((Decimal(str(c["amount"])) for c in row["credits"]), Decimal(0)) / rate
    return {k: (v[0], v[1]) for k, v in totals.items()}


def as_dict(breakdown, *names) -> dict:
    return {
        (*tuple(row.keys[name] for name in names), row.currency): (row.cost, row.credits)
        for row in breakdown.rows
    }


def month(row: dict) -> str:
    value = row["invoice"]["month"]
    return f"{value[:4]}-{value[4:]}"


def test_by_invoice_month_and_service_in_billing_currency_equals_the_files(exports):
    breakdown = cost_breakdown(Query(group_by=("invoice_month", "service")))
    expected = {}
    for currency, rows in exports.items():
        for key, value in independent(rows, lambda r: (month(r), r["service"]["id"])).items():
            expected[(*key, currency.upper())] = value
    assert as_dict(breakdown, "invoice_month", "service_id") == expected
    assert {row.keys["service"] for row in breakdown.rows} >= {"BigQuery", "Cloud Storage"}
    totals = {total.currency: (total.cost, total.credits) for total in breakdown.totals}
    assert totals["JPY"] == independent(exports["jpy"], lambda r: 0)[0]
    assert totals["USD"] == independent(exports["usd"], lambda r: 0)[0]


def test_in_usd_everything_is_converted_with_the_exports_rates(exports):
    breakdown = cost_breakdown(Query(group_by=("invoice_month",), currency="USD"))
    expected = independent(exports["usd"] + exports["jpy"], lambda r: (month(r),), usd=True)
    got = as_dict(breakdown, "invoice_month")
    assert {row.currency for row in breakdown.rows} == {"USD"}
    assert set(got) == {(*key, "USD") for key in expected}
    facts = CostFact.objects.count()
    for key, (cost, credits) in expected.items():
        cost_got, credits_got = got[(*key, "USD")]
        # Each daily fact is converted once and kept to the billionth.
        assert abs(cost_got - cost) <= facts * NANO
        assert abs(credits_got - credits) <= facts * NANO


def test_a_report_never_adds_two_currencies(exports):
    breakdown = cost_breakdown(Query(group_by=("project",)))
    currencies = defaultdict(set)
    for row in breakdown.rows:
        currencies[row.keys["project"]].add(row.currency)
    assert currencies["acme-marketing"] == {"USD", "JPY"}
    assert len(breakdown.rows) == sum(len(values) for values in currencies.values())


def test_usage_basis_and_days(exports):
    day = datetime.date(2026, 2, 10)
    breakdown = cost_breakdown(Query(group_by=("usage_day", "project"), basis="usage",
                                     first=day, last=day, by_day=True,
                                     projects=("acme-dbt-prod",)))  # fmt: skip
    assert {row.keys["usage_day"] for row in breakdown.rows} == {"2026-02-10"}
    expected = to_decimal(sum(CostFact.objects.filter(usage_date=day, project_id="acme-dbt-prod")
                              .values_list("cost_nanos", flat=True)))  # fmt: skip
    assert sum(row.cost for row in breakdown.rows) == expected > 0


def test_by_credit_type_rows_add_up_to_the_net_cost(exports):
    plain = cost_breakdown(Query(group_by=("invoice_month",)))
    typed = cost_breakdown(Query(group_by=("invoice_month", "credit_type")))
    assert [(t.currency, t.net_cost) for t in typed.totals] == [
        (t.currency, t.net_cost) for t in plain.totals
    ]
    kinds = {row.keys["credit_type"] for row in typed.rows}
    assert kinds == {None, "FREE_TIER", "COMMITTED_USAGE_DISCOUNT"}
    free = sum(r.credits for r in typed.rows
               if r.keys["credit_type"] == "FREE_TIER" and r.currency == "USD")  # fmt: skip
    expected = sum(Decimal(str(c["amount"])) for r in exports["usd"] for c in r["credits"]
                   if c["type"] == "FREE_TIER")  # fmt: skip
    assert free == expected


def test_by_label_and_by_team(exports):
    by_label = cost_breakdown(Query(group_by=("label:team",), currency="USD"))
    by_team = cost_breakdown(Query(group_by=("team",), currency="USD"))
    label_ae = next(r for r in by_label.rows if r.keys["label:team"] == "ae")
    team_ae = next(r for r in by_team.rows if r.keys["team"] == "ae")
    assert label_ae.cost == team_ae.cost > 0
    assert team_ae.keys["team_name"] == "Analytics Engineering"
    unallocated = next(r for r in by_team.rows if r.keys["team"] == "unallocated")
    assert unallocated.cost + team_ae.cost == by_team.totals[0].cost
    no_label = next(r for r in by_label.rows if r.keys["label:team"] is None)
    assert no_label.cost > 0  # the sandbox has no team label


def test_filters_narrow_the_rows(exports):
    query = Query(group_by=("service",), services=("BigQuery",), teams=("ae",),
                  labels=(("env", "prod"),), currency="USD")  # fmt: skip
    breakdown = cost_breakdown(query)
    assert {row.keys["service"] for row in breakdown.rows} == {"BigQuery"}
    expected = independent(
        [r for r in exports["usd"] + exports["jpy"]
         if r["service"]["description"] == "BigQuery"
         and {"key": "team", "value": "ae"} in r["labels"]],
        lambda r: 0, usd=True,
    )[0]  # fmt: skip
    assert abs(breakdown.totals[0].cost - expected[0]) <= CostFact.objects.count() * NANO


def test_as_of_reproduces_the_figures_before_a_reload(exports, tmp_path):
    before = cost_breakdown(Query(group_by=("invoice_month",)))
    seen_at = timezone.now()
    rows = exports["usd"]
    for row in rows:
        if row["invoice"]["month"] == "202602":
            row["cost"] = Decimal(str(row["cost"])) * 2
    import_files(paths=[write_rows(tmp_path / "again.json", rows)], source_name="usd")
    now = cost_breakdown(Query(group_by=("invoice_month",)))
    then = cost_breakdown(Query(group_by=("invoice_month",), as_of=seen_at))
    assert as_dict(then, "invoice_month") == as_dict(before, "invoice_month")
    assert as_dict(now, "invoice_month") != as_dict(before, "invoice_month")
    assert then.data_as_of < now.data_as_of


def test_monthly_rollups_hold_exactly_the_sums_of_the_daily_facts(exports):
    def sums(model, month_field):
        totals = defaultdict(lambda: [0, 0])
        rows = model.objects.current().values_list(month_field, "service_id", "currency",
                                                   "cost_nanos", "credits_nanos")  # fmt: skip
        for key_month, service, currency, cost, credits in rows:
            key = (str(key_month)[:7].replace("-", ""), service, currency)
            totals[key][0] += cost
            totals[key][1] += credits
        return dict(totals)

    assert sums(CostMonthRollup, "usage_month") == sums(CostFact, "usage_date")
    rules = set(CostMonthRollup.objects.values_list("allocation_rule__name", flat=True))
    assert rules == {"AE", None}


def test_usd_is_refused_when_a_rate_is_missing(tmp_path, exports):
    row = dict(exports["jpy"][0])
    row.pop("currency_conversion_rate")
    import_files(paths=[write_rows(tmp_path / "norate.json", [row])], source_name="norate")
    with pytest.raises(BreakdownError) as refused:
        cost_breakdown(Query(group_by=("invoice_month",), currency="USD"))
    assert refused.value.field == "currency"


def test_a_cached_report_is_recomputed_when_the_data_or_rules_change(exports, tmp_path):
    query = Query(group_by=("team",), currency="USD")
    first = cost_breakdown(query)
    assert {row.keys["team"] for row in first.rows} == {"ae", "unallocated"}
    AllocationRule.objects.all().delete()  # as the rules page does: delete, reallocate
    reallocate_all()
    assert {row.keys["team"] for row in cost_breakdown(query).rows} == {"unallocated"}
    tmp = tmp_path / "more.json"
    rows = [dict(r, cost=Decimal(str(r["cost"])) + 1) for r in exports["usd"][:5]]
    import_files(paths=[write_rows(tmp, rows)], source_name="more")
    assert cost_breakdown(query).totals[0].cost > first.totals[0].cost


def test_a_cached_report_follows_a_moved_rule_and_a_renamed_team(exports):
    query = Query(group_by=("team",), currency="USD")
    platform = TeamFactory(name="Platform", slug="platform")
    second = AllocationRule.objects.create(position=2, name="Platform", match_label_key="team",
                                           match_label_value="ae", team=platform)  # fmt: skip
    reallocate_all()
    assert {row.keys["team"] for row in cost_breakdown(query).rows} == {"ae", "unallocated"}
    move_rule(rule_id=second.pk, direction="up")  # positions change, updated_at does not
    assert {row.keys["team"] for row in cost_breakdown(query).rows} == {
        "platform", "unallocated"
    }  # fmt: skip
    platform.name = "Data Platform"
    platform.save()
    names = {row.keys["team_name"] for row in cost_breakdown(query).rows}
    assert "Data Platform" in names


def test_saving_an_item_keeps_finances_cached_reports_and_a_rename_reaches_them(exports):
    """Managers save items all day: a save that changes nothing a report shows must not
    change the data version (the cache key), or every finance report is recomputed."""
    from cost.billing.breakdowns import data_version
    from tests.roadmap.factories import RoadmapItemFactory

    item = RoadmapItemFactory(title="Orders table")
    RoadmapItemFactory(title="Not funded by a rule")
    rule = AllocationRule.objects.get()
    rule.roadmap_item = item
    rule.save()
    by_team, by_item = Query(group_by=("team",)), Query(group_by=("roadmap_item",))
    before = data_version(by_team), data_version(by_item)
    for saved in type(item).objects.all():
        saved.hours_saved_per_month = Decimal(12)
        saved.save()
    assert (data_version(by_team), data_version(by_item)) == before
    titles = {row.keys["roadmap_item_title"] for row in cost_breakdown(by_item).rows}
    assert "Orders table" in titles
    item.title = "Orders table v2"
    item.save()
    assert data_version(by_team) == before[0]
    titles = {row.keys["roadmap_item_title"] for row in cost_breakdown(by_item).rows}
    assert "Orders table v2" in titles
    assert "Orders table" not in titles


def test_an_import_under_existing_rules_allocates_the_months_as_the_days(tmp_path):
    ae = TeamFactory(name="Analytics Engineering", slug="ae")
    rest = TeamFactory(name="Platform", slug="platform")
    AllocationRule.objects.create(position=1, name="AE", match_label_key="team",
                                  match_label_value="ae", team=ae)  # fmt: skip
    AllocationRule.objects.create(position=2, name="Rest", team=rest)
    export = tmp_path / "new.jsonl.gz"
    write_export(export, generate_rows(first_month=JAN, months=2, hours_per_day=1))
    import_files(paths=[export], source_name="new")  # no rule changes after the import

    def per_team(query: Query) -> dict:
        totals: dict = defaultdict(lambda: [Decimal(0), Decimal(0)])
        for row in cost_breakdown(query).rows:
            totals[(row.keys["team"], row.currency)][0] += row.cost
            totals[(row.keys["team"], row.currency)][1] += row.credits
        return {key: tuple(value) for key, value in totals.items()}

    monthly = per_team(Query(group_by=("team",)))
    daily = per_team(Query(group_by=("team", "usage_day")))
    assert {team for team, _currency in monthly} == {"ae", "platform"}
    assert monthly == daily
    assert monthly[("ae", "USD")][0] > 0
    assert not CostMonthRollup.objects.filter(allocation_rule=None).exists()


def by_team_and_item(**query) -> dict:
    breakdown = cost_breakdown(Query(group_by=("team", "roadmap_item"), currency="USD", **query))
    return as_dict(breakdown, "team", "team_name", "roadmap_item", "roadmap_item_title")


@pytest.mark.parametrize(
    "group_by",
    [("team",), ("roadmap_item",), ("usage_day", "team"), ("team", "credit_type")],
)
def test_the_rules_evaluated_as_of_now_give_what_the_stored_rules_give(exports, group_by):
    """A report as of a moment evaluates the rules of that moment in SQL; as of now it must
    agree with the rule stored on every fact, cent for cent."""
    from tests.roadmap.factories import RoadmapItemFactory

    item = RoadmapItemFactory(title="Orders table")
    AllocationRule.objects.create(position=2, name="Prod", match_label_key="env",
                                  match_label_value="prod", team=TeamFactory(slug="platform"),
                                  roadmap_item=item)  # fmt: skip
    AllocationRule.objects.create(position=3, name="BigQuery", match_service="BigQuery",
                                  team=TeamFactory(slug="bq"))  # fmt: skip
    reallocate_all()
    names = [name for name in group_by if name != "credit_type"]
    stored = cost_breakdown(Query(group_by=group_by))
    evaluated = cost_breakdown(Query(group_by=group_by, as_of=timezone.now()))
    assert len({row.keys.get(names[-1]) for row in stored.rows}) >= 2
    assert [(row.keys, row.cost, row.credits) for row in evaluated.rows] == [
        (row.keys, row.cost, row.credits) for row in stored.rows
    ]


def test_as_of_attributes_cost_with_the_rules_and_names_of_that_moment(exports):
    from cost.billing.allocation import delete_rule, save_rule
    from tests.roadmap.factories import RoadmapItemFactory

    item = RoadmapItemFactory(title="Orders table")
    rule = AllocationRule.objects.get()
    rule.roadmap_item = item
    save_rule(rule=rule)
    seen_at = timezone.now()
    before = by_team_and_item()
    ae_only = cost_breakdown(Query(group_by=("service",), teams=("ae",), currency="USD"))
    assert {key[0] for key in before} == {"ae", "unallocated"}
    # After the moment: the rule funds another team, a new rule comes first, the team
    # and the item are renamed, then the rule is deleted.
    platform = TeamFactory(name="Platform", slug="platform")
    rule.team = platform
    save_rule(rule=rule)
    first = save_rule(rule=AllocationRule(name="Prod", match_label_key="env",
                                          match_label_value="prod", team=platform))  # fmt: skip
    move_rule(rule_id=first.pk, direction="up")
    ae = TeamFactory._meta.model.objects.get(slug="ae")
    ae.name = "AE (renamed)"
    ae.save()
    type(item).objects.filter(pk=item.pk).update(title="Renamed")
    item.refresh_from_db()
    item.title = "Renamed again"
    item.save()
    assert by_team_and_item() != before
    assert by_team_and_item(as_of=seen_at) == before
    delete_rule(rule=rule)
    assert by_team_and_item(as_of=seen_at) == before
    again = cost_breakdown(Query(group_by=("service",), teams=("ae",), currency="USD",
                                 as_of=seen_at))  # fmt: skip
    assert [(r.keys, r.cost) for r in again.rows] == [(r.keys, r.cost) for r in ae_only.rows]
    assert cost_breakdown(Query(group_by=("service",), teams=("ae",))).rows == []
