"""Dates, numbers, money and quarters as each language writes them (core/formats)."""

import datetime
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import formats, timezone, translation

from core.formatting import format_number
from core.money import Money, format_money
from core.quarters import quarter_label

DAY = datetime.date(2026, 12, 9)
MOMENT = datetime.datetime(2026, 12, 9, 8, 5, tzinfo=datetime.UTC)


@pytest.mark.parametrize(
    ("language", "long", "short"),
    [("en", "9 Dec 2026", "2026-12-09"), ("ja", "2026年12月9日", "2026/12/09")],
)
def test_a_date_reads_as_the_language_writes_it(language, long, short):
    with translation.override(language):
        assert formats.date_format(DAY, "DATE_FORMAT") == long
        assert formats.date_format(DAY, "SHORT_DATE_FORMAT") == short
        assert Template('{{ day|date:"DATE_FORMAT" }}').render(Context({"day": DAY})) == long


@pytest.mark.parametrize(
    ("language", "expected"), [("en", "9 Dec 2026, 08:05"), ("ja", "2026年12月9日 8:05")]
)
def test_a_moment_reads_with_its_time(language, expected):
    with translation.override(language), timezone.override(datetime.UTC):
        assert formats.date_format(MOMENT, "DATETIME_FORMAT") == expected


@pytest.mark.parametrize("language", ["en", "ja"])
def test_numbers_have_their_thousands_separated(language):
    with translation.override(language):
        assert format_number(1234567) == "1,234,567"
        assert format_number(Decimal("12400.50")) == "12,400.5"
        assert format_number(Decimal("3.000")) == "3"
        assert format_number(Decimal("-0.25")) == "-0.25"
        assert format_number(None) == "—"


@pytest.mark.parametrize(
    ("language", "amount", "currency", "expected"),
    [
        ("en", "12400", "USD", "12,400.00 USD"),
        ("en", "1234.5", "JPY", "1,235 JPY"),
        ("en", "-1200.456", "USD", "-1,200.46 USD"),
        ("en", "99.5", "EUR", "99.50 EUR"),
        ("ja", "12400", "USD", "$12,400.00"),
        ("ja", "1234.5", "JPY", "¥1,235"),
        ("ja", "1234567", "JPY", "¥1,234,567"),
        ("ja", "-1200.456", "USD", "-$1,200.46"),
        ("ja", "-5000", "JPY", "-¥5,000"),
        ("ja", "99.5", "EUR", "99.50 EUR"),
    ],
)
def test_money_reads_by_its_currency_and_the_language(language, amount, currency, expected):
    with translation.override(language):
        assert format_money(Money(Decimal(amount), currency)) == expected


@pytest.mark.parametrize(
    ("language", "expected"), [("en", ["+12.00 USD", "-3 JPY"]), ("ja", ["+$12.00", "-¥3"])]
)
def test_a_change_of_money_carries_its_sign(language, expected):
    with translation.override(language):
        assert format_money(Money(Decimal(12), "USD"), signed=True) == expected[0]
        assert format_money(Money(Decimal(-3), "JPY"), signed=True) == expected[1]
        assert (
            format_money(Money(Decimal(0), "JPY"), signed=True) == ("0 JPY", "¥0")[language == "ja"]
        )


def test_money_as_text_stays_language_neutral():
    with translation.override("ja"):
        assert str(Money(Decimal("1234.5"), "JPY")) == "1,235 JPY"


@pytest.mark.parametrize(("language", "expected"), [("en", "2027-Q1"), ("ja", "2027年 第1四半期")])
def test_a_quarter_reads_naturally(language, expected):
    with translation.override(language):
        assert quarter_label("2027-Q1") == expected
        assert (
            Template("{% load formatting %}{{ code|quarter }}").render(Context({"code": "2027-Q1"}))
            == expected
        )


def test_a_quarter_label_leaves_anything_else_alone():
    with translation.override("ja"):
        assert quarter_label("2027-Q4") == "2027年 第4四半期"
        assert quarter_label("next year") == "next year"
        assert (
            Template("{% load formatting %}{{ code|quarter }}").render(Context({"code": None}))
            == "—"
        )


@pytest.mark.parametrize(
    ("language", "expected"), [("en", "12,400.00 USD · 1,500"), ("ja", "$12,400.00 · 1,500")]
)
def test_the_page_filters_format_for_the_language(language, expected):
    template = Template("{% load roadmap_extras %}{{ amount|money }} · {{ count|number }}")
    context = Context({"amount": Money(Decimal(12400), "USD"), "count": 1500})
    with translation.override(language):
        assert template.render(context) == expected
