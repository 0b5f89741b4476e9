"""Read settings from the environment, failing loudly on a value that makes no sense.

Every helper names the variable in its error, so a typo in a deployment shows up at start
as "DEBUG must be one of ..." rather than as a strange behaviour later.
"""

import os
import re
import zoneinfo
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import TypeVar

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

T = TypeVar("T")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_MISSING = object()


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    return None if value is None else value.strip()


def _fail(name: str, value: str, expected: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"Environment variable {name}={value!r} is invalid: {expected}.")


def env_str(name: str, default: str | object = _MISSING) -> str:
    value = _raw(name)
    if value is None or value == "":
        if default is _MISSING:
            raise ImproperlyConfigured(f"Environment variable {name} must be set.")
        return default  # type: ignore[return-value]
    return value


def env_bool(name: str, default: bool) -> bool:
    value = _raw(name)
    if value is None:
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise _fail(name, value, "expected one of 1/0, true/false, yes/no, on/off")


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    value = _raw(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise _fail(name, value, "expected a whole number") from None
    if number < minimum:
        raise _fail(name, value, f"expected a number of at least {minimum}")
    return number


def env_decimal(name: str, default: str) -> Decimal:
    value = _raw(name) or default
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise _fail(name, value, "expected a decimal number such as 85.50") from None
    if not number.is_finite():
        raise _fail(name, value, "expected a finite decimal number")
    return number


def env_list(
    name: str, default: list[str], *, check: Callable[[str], bool] | None = None, expected: str = ""
) -> list[str]:
    value = _raw(name)
    if value is None:
        return default
    items = [item.strip() for item in value.split(",") if item.strip()]
    if check is not None:
        for item in items:
            if not check(item):
                raise _fail(name, value, f"{item!r} is not {expected}")
    return items


def env_time_zone(name: str, default: str) -> str:
    value = _raw(name) or default
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise _fail(name, value, "expected an IANA time zone such as UTC or Asia/Tokyo") from None
    return value


def env_currency(name: str, default: str) -> str:
    value = (_raw(name) or default).upper()
    if len(value) != 3 or not value.isalpha() or not value.isascii():
        raise _fail(name, value, "expected an ISO 4217 currency code such as USD or JPY")
    return value


def env_database(name: str, default: str) -> dj_database_url.DBConfig:
    value = _raw(name) or default
    try:
        config = dj_database_url.parse(value, conn_max_age=60, conn_health_checks=True)
    except (ValueError, KeyError) as error:
        raise _fail(name, value, f"not a database URL ({error})") from None
    engine = config.get("ENGINE", "")
    if engine not in {"django.db.backends.sqlite3", "django.db.backends.postgresql"}:
        raise _fail(name, value, "expected a sqlite:/// or postgres:// URL")
    if engine.endswith("sqlite3"):
        # SQLite keeps one file; a persistent connection buys nothing and a health check
        # costs a query per request.
        config["CONN_MAX_AGE"] = 0
        config["CONN_HEALTH_CHECKS"] = False
    return config


RATE = re.compile(r"^\d+/(s|sec|second|m|min|minute|h|hour|d|day)$")


def env_rate(name: str, default: str) -> str:
    """A REST framework rate such as 600/min."""
    value = _raw(name) or default
    if not RATE.match(value):
        raise _fail(name, value, "expected calls per period, such as 600/min or 20/second")
    return value


def env_mapping(name: str, default: str) -> dict[str, str]:
    """`KEY=VALUE,KEY=VALUE`, keys and values lower-cased; `*` is the fallback key and
    must be there."""
    value = _raw(name) or default
    mapping: dict[str, str] = {}
    for entry in value.split(","):
        key, sep, item = entry.partition("=")
        key, item = key.strip().lower(), item.strip().lower()
        if not sep or not key or not item:
            raise _fail(name, value, f"{entry.strip()!r} is not KEY=VALUE")
        mapping[key] = item
    if "*" not in mapping:
        raise _fail(name, value, "expected a fallback entry for other keys, such as *=...")
    return mapping


def env_prices(name: str, default: str) -> dict[str, Decimal]:
    """Prices by key, such as `us=6.25,eu=6.25,*=6.25`: keys lower-cased, `*` the fallback."""
    value = _raw(name) or default
    prices: dict[str, Decimal] = {}
    for key, amount in env_mapping(name, value).items():
        try:
            price = Decimal(amount)
        except InvalidOperation:
            price = None
        if price is None or not price.is_finite() or price < 0:
            raise _fail(name, value, f"{key}={amount} is not a price, such as us=6.25")
        prices[key] = price
    return prices
