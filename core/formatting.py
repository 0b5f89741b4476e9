"""Numbers as the active language writes them (thousands separated); money is
core.money.format_money's, quarters core.quarters.quarter_label's."""

from decimal import Decimal

from django.utils import formats


def format_number(value: Decimal | int | None) -> str:
    """Decimals without trailing zeros ("12.5", "3"), thousands separated ("12,400");
    an em dash when unknown."""
    if value is None:
        return "—"
    if isinstance(value, Decimal):
        value = value.normalize()
        if value == value.to_integral():
            value = value.quantize(Decimal(1))
    return formats.number_format(value, use_l10n=True, force_grouping=True)
