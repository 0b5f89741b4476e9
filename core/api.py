"""Conventions every API endpoint shares: query parameters are checked the same way
everywhere (`parameters`), and money travels as `{"amount": "12600.00", "currency": "USD"}`.
"""

from collections.abc import Iterable
from decimal import Decimal
from typing import Any, TypeVar, overload

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

from core.money import Money

Parameters = TypeVar("Parameters", bound=serializers.Serializer)

# The years a date parameter may name: a typo such as 0202-07-12 is refused, not read.
FIRST_YEAR, LAST_YEAR = 2000, 2099
YEARS_MESSAGE = _("%(text)s is outside the years 2000 to 2099.")

# Understood by every endpoint besides its own parameters: the renderer's `format`.
FORMAT = frozenset({"format"})


def parameters(
    serializer_class: type[Parameters], request: Request, *, generic: Iterable[str] = FORMAT
) -> Parameters:
    """The query parameters, validated by `serializer_class` (returned bound and valid).

    Refused rather than ignored, so that a typo cannot quietly change the figures: an
    unknown parameter (neither the serializer's nor one of `generic`, such as paging), a
    parameter given twice unless the serializer takes a list for it, and an empty value.
    Every problem is reported at once, as `{parameter: [messages]}` with status 400.
    """
    params = serializer_class(data=request.query_params)
    errors: dict[str, list[str]] = {}
    if not params.is_valid():
        errors = {name: _messages(error) for name, error in params.errors.items()}
    known = set(params.fields) | set(generic)
    for name in sorted(request.query_params):
        field = params.fields.get(name)
        if name not in known:
            errors[name] = [gettext("Unknown parameter.")]
        elif len(request.query_params.getlist(name)) > 1 and not isinstance(
            field, serializers.ListField
        ):
            errors[name] = [gettext("Give this parameter once.")]
        elif not all(value.strip() for value in request.query_params.getlist(name)):
            # Taken as left out otherwise: the caller meant something, so say so.
            errors[name] = [gettext("Give a value, or leave the parameter out.")]
    if errors:
        raise ValidationError(errors)
    return params


def refuse_unknown_parameters(request: Request, known: Iterable[str]) -> None:
    """For endpoints with no parameters of their own beyond `known` (paging, format)."""
    unknown = sorted(set(request.query_params) - set(known))
    if unknown:
        raise ValidationError({name: [gettext("Unknown parameter.")] for name in unknown})


PAGING_PARAMETERS = ("limit_query_param", "offset_query_param", "cursor_query_param",
                     "page_size_query_param")  # fmt: skip


class RefuseUnknownParameters:
    """Viewset mixin: a query parameter the endpoint does not take (`stauts=done`, a
    misspelt filter) is a 400 naming it, rather than ignored with every row returned.
    Known: the filter set's filters, the paginator's parameters, `format`, and
    `extra_parameters`. Checked after authentication, so a stranger still gets 401."""

    extra_parameters: frozenset[str] = frozenset()

    def known_parameters(self) -> set[str]:
        known = {"format", *self.extra_parameters}
        filterset = getattr(self, "filterset_class", None)
        if filterset is not None:
            known |= set(filterset.base_filters)
        paginator = getattr(self, "paginator", None)
        known |= {getattr(paginator, name) for name in PAGING_PARAMETERS
                  if getattr(paginator, name, None)}  # fmt: skip
        return known

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]  # a mixin of APIView
        refuse_unknown_parameters(request, self.known_parameters())


def _messages(error: Any) -> list[str]:
    """A parameter's messages as one list: a repeated parameter's errors come per item."""
    if isinstance(error, dict):
        return [f"value {int(index) + 1}: {message}" for index, messages in error.items()
                for message in _messages(messages)]  # fmt: skip
    if isinstance(error, list):
        return [message for item in error for message in _messages(item)]
    return [str(error)]


@overload
def amount(value: Decimal) -> str: ...
@overload
def amount(value: None) -> None: ...
@overload
def amount(value: Decimal | None) -> str | None: ...
def amount(value: Decimal | None) -> str | None:
    """The one way an amount travels: a fixed-point decimal string, never a float, never
    an exponent: 0.000005, 1200 (not 1.2E+3). Full precision unless rounded first."""
    return None if value is None else f"{value:f}"


@extend_schema_field(OpenApiTypes.STR)
class AmountField(serializers.Field):
    """A Decimal amount as `amount()` writes it (full precision, to the billionth)."""

    def to_representation(self, value: Decimal | None) -> str | None:
        return amount(value)


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

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(read_only=True, allow_null=True, **kwargs)

    def to_representation(self, value: Money) -> dict[str, str]:
        return {"amount": amount(value.rounded()), "currency": value.currency}
