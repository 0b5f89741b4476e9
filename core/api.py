"""Conventions every API endpoint shares: money as `{"amount": "12600.00", "currency": "USD"}`."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.money import Money


class MoneySerializer(serializers.Serializer):
    """An amount with its currency. Amounts in two currencies are never added up."""

    amount = serializers.DecimalField(
        max_digits=None,
        decimal_places=None,
        help_text=_("Decimal string, rounded to the currency's minor unit (cents; none for JPY)."),
    )
    currency = serializers.CharField(help_text=_("ISO 4217 code, e.g. USD."))


@extend_schema_field(MoneySerializer)
class MoneyField(serializers.Field):
    """A `core.money.Money` as `{"amount": "12600.00", "currency": "USD"}`."""

    def __init__(self, **kwargs) -> None:
        super().__init__(read_only=True, allow_null=True, **kwargs)

    def to_representation(self, value: Money) -> dict[str, str]:
        return {"amount": str(value.rounded()), "currency": value.currency}
