"""Money: a Decimal amount with its ISO 4217 currency. Never a float.

Amounts in different currencies are never added together: `Money + Money` of two
currencies raises, and callers that may meet mixed currencies use `totals_by_currency`.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.validators import RegexValidator
from django.utils import formats
from django.utils.translation import gettext_lazy as _

CURRENCY_CODE = r"^[A-Z]{3}$"

currency_validator = RegexValidator(CURRENCY_CODE, _("Use a three-letter ISO code such as USD."))


def default_currency() -> str:
    """The currency new amounts are entered in (QUARTERDECK_DEFAULT_CURRENCY)."""
    return settings.QUARTERDECK_DEFAULT_CURRENCY


# Currencies without a minor unit (ISO 4217 exponent 0) among those a billing account
# can use; everything else is shown with two decimals.
ZERO_DECIMAL_CURRENCIES = frozenset({"JPY", "KRW", "CLP", "VND", "ISK", "HUF", "TWD", "IDR"})


# ISO 4217 active codes (2024), for refusing a billing currency nobody can be billed in.
ISO_CURRENCIES = frozenset(
    """
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP
BYN BZD CAD CDF CHF CLP CNY COP CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP
GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS
KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR
MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF
SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD
TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG
""".split()  # noqa: SIM905 - a block of codes reads better than a list
)


class CurrencyMismatch(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            raise TypeError(f"Money amount must be a Decimal, not {type(self.amount).__name__}")

    def __add__(self, other: "Money") -> "Money":
        self._check(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: "Money") -> "Money":
        self._check(other)
        return Money(self.amount - other.amount, self.currency)

    def __mul__(self, factor: Decimal | int) -> "Money":
        return Money(self.amount * factor, self.currency)

    __rmul__ = __mul__

    def __neg__(self) -> "Money":
        return Money(-self.amount, self.currency)

    def _check(self, other: "Money") -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(f"cannot combine {self.currency} and {other.currency}")

    @property
    def minor_digits(self) -> int:
        return 0 if self.currency in ZERO_DECIMAL_CURRENCIES else 2

    def rounded(self) -> Decimal:
        """The amount rounded to the currency's minor unit, for display only."""
        return self.amount.quantize(Decimal(1).scaleb(-self.minor_digits), ROUND_HALF_UP)

    def __str__(self) -> str:
        # Language-neutral (logs, snapshots, exports): the display form is format_money's.
        return f"{self.rounded():,} {self.currency}"


def format_money(value: Money, *, signed: bool = False) -> str:
    """An amount as the active language writes it, rounded to the currency's minor unit
    with its thousands separated: "12,400.00 USD" and "1,235 JPY" in English, "$12,400.00"
    and "¥1,235" in Japanese (the language's CURRENCY_SYMBOLS, core/formats). `signed`
    puts "+" before a positive amount (a change)."""
    rounded = value.rounded()
    digits = formats.number_format(
        abs(rounded), decimal_pos=value.minor_digits, use_l10n=True, force_grouping=True
    )
    sign = "-" if rounded < 0 else "+" if signed and rounded > 0 else ""
    symbol = formats.get_format("CURRENCY_SYMBOLS").get(value.currency)
    return f"{sign}{symbol}{digits}" if symbol else f"{sign}{digits} {value.currency}"


def totals_by_currency(values: Iterable["Money | None"]) -> list[Money]:
    """One total per currency (sorted by currency code); None values are skipped."""
    totals: dict[str, Decimal] = {}
    for value in values:
        if value is not None:
            totals[value.currency] = totals.get(value.currency, Decimal(0)) + value.amount
    return [Money(amount, currency) for currency, amount in sorted(totals.items())]
