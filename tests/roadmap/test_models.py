import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from core.money import CurrencyMismatch, Money, totals_by_currency
from core.quarters import parse_quarter_code
from roadmap.models import Quarter, RoadmapItem
from tests.roadmap.factories import RoadmapItemFactory, TeamFactory, quarter


@pytest.mark.parametrize(
    ("code", "start", "end"),
    [
        ("2027-Q1", datetime.date(2027, 1, 1), datetime.date(2027, 3, 31)),
        ("2027-Q2", datetime.date(2027, 4, 1), datetime.date(2027, 6, 30)),
        ("2028-Q3", datetime.date(2028, 7, 1), datetime.date(2028, 9, 30)),
        ("2027-Q4", datetime.date(2027, 10, 1), datetime.date(2027, 12, 31)),
    ],
)
def test_quarter_from_code_has_calendar_bounds(code, start, end):
    made = Quarter.from_code(code)
    assert (made.start_date, made.end_date) == (start, end)


@pytest.mark.parametrize("bad", ["2027-Q5", "2027Q1", "Q1-2027", "", "27-Q1"])
def test_bad_quarter_codes_are_refused_with_the_expected_shape(bad):
    with pytest.raises(ValidationError, match="2027-Q1"):
        parse_quarter_code(bad)


def test_quarter_arithmetic_crosses_years():
    assert Quarter.from_code("2026-Q4").shifted(1) == "2027-Q1"
    assert Quarter.from_code("2027-Q1").shifted(-1) == "2026-Q4"
    assert Quarter.code_for_date(datetime.date(2026, 11, 26)) == "2026-Q4"


@pytest.mark.django_db
def test_quarter_window_returns_unsaved_quarters_without_writing():
    quarter("2027-Q2")
    window = Quarter.objects.window("2027-Q1", 4)
    assert [q.code for q in window] == ["2027-Q1", "2027-Q2", "2027-Q3", "2027-Q4"]
    assert [q.pk is not None for q in window] == [False, True, False, False]
    assert Quarter.objects.count() == 1


@pytest.mark.django_db
def test_people_cost_is_effort_times_the_teams_weekly_rate():
    team = TeamFactory(weekly_rate=Decimal("4200.00"), currency="EUR")
    item = RoadmapItemFactory(team=team, effort_weeks=Decimal("6.5"))
    assert item.people_cost() == Money(Decimal("27300.0000"), "EUR")


@pytest.mark.django_db
def test_cost_per_hour_saved_and_payback_from_hand_computed_example(settings):
    settings.QUARTERDECK_HOUR_VALUE = Decimal("60")
    settings.QUARTERDECK_DEFAULT_CURRENCY = "USD"
    team = TeamFactory(weekly_rate=Decimal("4000"))
    item = RoadmapItemFactory(
        team=team,
        effort_weeks=Decimal("10"),  # 40,000 people cost
        one_off_cost=Decimal("2000"),  # upfront 42,000
        bq_monthly_cost_change=Decimal("-500"),  # saves 500 a month
        hours_saved_per_month=Decimal("50"),  # worth 3,000 a month
    )
    assert item.upfront_cost() == Money(Decimal("42000"), "USD")
    # first year: 42,000 - 12 x 500 = 36,000 over 600 hours
    assert item.cost_per_hour_saved().amount == Decimal("60")
    # 42,000 / (3,000 + 500) = 12 months
    assert item.payback_months() == Decimal("12.0")


@pytest.mark.django_db
def test_payback_is_unknown_when_the_item_never_pays_back(settings):
    settings.QUARTERDECK_HOUR_VALUE = Decimal("60")
    item = RoadmapItemFactory(
        effort_weeks=Decimal("4"),
        bq_monthly_cost_change=Decimal("900"),
        hours_saved_per_month=Decimal("10"),
    )
    assert item.monthly_saving().amount == Decimal("-300")
    assert item.payback_months() is None


@pytest.mark.django_db
def test_derived_costs_refuse_to_mix_currencies():
    team = TeamFactory(weekly_rate=Decimal("500000"), currency="JPY")
    item = RoadmapItemFactory(
        team=team,
        effort_weeks=Decimal("2"),
        currency="USD",
        one_off_cost=Decimal("100"),
        hours_saved_per_month=Decimal("5"),
    )
    assert item.people_cost() == Money(Decimal("1000000"), "JPY")
    assert item.upfront_cost() is None
    assert item.cost_per_hour_saved() is None


def test_money_never_adds_two_currencies_and_rounds_only_for_display():
    with pytest.raises(CurrencyMismatch):
        Money(Decimal("1"), "USD") + Money(Decimal("1"), "EUR")
    with pytest.raises(TypeError):
        Money(1.5, "USD")
    assert str(Money(Decimal("1234.5"), "USD")) == "1,234.50 USD"
    assert str(Money(Decimal("1234.5"), "JPY")) == "1,235 JPY"
    totals = totals_by_currency(
        [
            Money(Decimal("1"), "USD"),
            None,
            Money(Decimal("2"), "JPY"),
            Money(Decimal("0.000005"), "USD"),
        ]
    )
    assert totals == [Money(Decimal("2"), "JPY"), Money(Decimal("1.000005"), "USD")]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("impact", Decimal("4")),
        ("confidence", 90),
        ("job_size", 4),
        ("rice_effort_months", Decimal("0.2")),
        ("title", ""),
        ("currency", "usd"),
        ("effort_weeks", Decimal("-1")),
    ],
)
def test_database_refuses_values_off_the_scales(field, value):
    item = RoadmapItemFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        RoadmapItem.objects.filter(pk=item.pk).update(**{field: value})


@pytest.mark.django_db
def test_benefit_chain_and_link_lists():
    item = RoadmapItemFactory(
        benefit_chain="analysts -> product managers → customers",
        links="https://a.example.com\n\n https://b.example.com ",
    )
    assert item.benefit_chain_steps() == ["analysts", "product managers", "customers"]
    assert item.link_list() == ["https://a.example.com", "https://b.example.com"]
