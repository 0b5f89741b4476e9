"""Conventions every API endpoint shares: query parameters are checked the same way
everywhere (`parameters`), and money travels as `{"amount": "12600.00", "currency": "USD"}`.
"""

import re
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

# What the OpenAPI schema says of date parameters, as regular expressions (unanchored). A
# format (`date`, `date-time`) cannot bound a year, so the schema gives these beside it.
# Each admits exactly what the API reads: the ASCII shape, a day or time that exists, a
# year from FIRST_YEAR to LAST_YEAR (tests/api/test_schema.py holds the two together).
DAY_PATTERN = (
    r"20[0-9]{2}-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)"
    r"|(?:0[13578]|1[02])-31)|20(?:[02468][048]|[13579][26])-02-29"
)
MONTH_PATTERN = "20[0-9]{2}-?(?:0[1-9]|1[0-2])"  # YYYY-MM or YYYYMM
# RFC 3339's time of day, without the leap second (Python has none); fractions of a second
# of any length, read to the microsecond.
TIME_PATTERN = r"(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]+)?"
OFFSET_PATTERN = "(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
# The shapes read before the checks that a day exists and its year is in range, so that
# each of those has its own message (2026-02-30 is not a day; 1999-12-31 is out of range).
DAY_SHAPE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
MOMENT_SHAPE = re.compile(
    rf"{DAY_SHAPE.pattern}T[0-9]{{2}}:[0-9]{{2}}:[0-9]{{2}}(?:\.[0-9]+)?{OFFSET_PATTERN}?"
)


# The characters str.strip() removes, for patterns of text values: a value of nothing else
# is refused (`parameters`), and the spaces around a value are not part of it. Spelt out,
# as regular-expression dialects disagree on what `\s` is.
BLANK = r"\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# Some text: not only spaces, and no NUL character (which DRF and Django refuse in text).
TEXT_PATTERN = rf"^[^\x00]*[^{BLANK}\x00][^\x00]*$"


def day_schema() -> dict[str, Any]:
    """The schema of a day parameter, YYYY-MM-DD, in the years the API takes."""
    return {"type": "string", "format": "date", "pattern": f"^(?:{DAY_PATTERN})$"}


def moment_schema() -> dict[str, Any]:
    """The schema of a moment parameter: a day (its end), an RFC 3339 date-time, or one
    without an offset (read as UTC)."""
    return {
        "anyOf": [
            day_schema(),
            {
                "type": "string",
                "format": "date-time",
                "pattern": f"^(?:{DAY_PATTERN})T{TIME_PATTERN}{OFFSET_PATTERN}$",
            },
            {"type": "string", "pattern": f"^(?:{DAY_PATTERN})T{TIME_PATTERN}$"},
        ]
    }


def year_in_range(year: int) -> bool:
    return FIRST_YEAR <= year <= LAST_YEAR


class TextParameter(serializers.CharField):
    """A text query parameter read as given, spaces included (` 2026-10` is refused rather
    than trimmed, as its schema says), and described in the OpenAPI schema by `schema`
    (core.openapi.TextParameterSchema), for rules a CharField cannot state."""

    def __init__(self, *, schema: dict[str, Any], **kwargs: Any) -> None:
        self.openapi_schema = schema
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)


@extend_schema_field(day_schema())
class DayParameter(serializers.DateField):
    """A day written YYYY-MM-DD in ASCII digits, and only so (DateField would also read
    20261103, 2026-W45-2 or 2026-11-3, which the schema does not describe), in the years
    FIRST_YEAR to LAST_YEAR."""

    def to_internal_value(self, value: Any) -> Any:
        if not isinstance(value, str) or not DAY_SHAPE.fullmatch(value):
            self.fail("invalid", format="YYYY-MM-DD")
        day = super().to_internal_value(value)
        if not year_in_range(day.year):
            raise ValidationError(YEARS_MESSAGE % {"text": value})
        return day


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
