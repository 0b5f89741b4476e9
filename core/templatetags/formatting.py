"""{% load formatting %}: what a person reads, written as the active language writes it.

Dates need nothing of ours: Django's `date` filter with a format name reads the language's
format module (core/formats): {{ day|date:"DATE_FORMAT" }} gives 9 Dec 2026 or
2026年12月9日, {{ day|date:"SHORT_DATE_FORMAT" }} 2026-12-09 or 2026/12/09.
"""

from decimal import Decimal

from django import template

from core.formatting import format_number
from core.money import Money, format_money
from core.quarters import quarter_label

register = template.Library()


@register.filter
def quarter(code: str | None) -> str:
    """{{ quarter.code|quarter }}: 2027-Q1, or 2027年 第1四半期 in Japanese."""
    return "—" if not code else quarter_label(str(code))


@register.filter(name="money")
def money_filter(value: Money | None) -> str:
    """{{ amount|money }}: 12,400.00 USD, or an em dash when unknown."""
    return "—" if value is None else format_money(value)


@register.filter(name="number")
def number_filter(value: Decimal | int | None) -> str:
    return format_number(value)
