"""Quarter codes such as 2027-Q1: the one parser, and the arithmetic on quarters.

Planning years only (2000 to 2099): a typo such as 0207-Q1 is refused rather than stored.
"""

import datetime
import re

from django.core.exceptions import ValidationError
from django.utils import formats
from django.utils.translation import gettext_lazy as _

# The shape of a code, as the API schema documents it (case-sensitive, nothing around it).
QUARTER_SHAPE = "20[0-9]{2}-Q[1-4]"
QUARTER_CODE = re.compile(r"^(?P<year>20[0-9]{2})-Q(?P<number>[1-4])$")
NOT_A_QUARTER = _("%(code)r is not a quarter; write it like 2027-Q1 (years 2000 to 2099).")


def parse_quarter_code(code: str) -> tuple[int, int]:
    """'2027-Q1' -> (2027, 1), forgiving case and spaces as typed in a form; raises
    ValidationError naming the expected shape."""
    match = QUARTER_CODE.match(code.strip().upper()) if code else None
    if not match:
        raise ValidationError(NOT_A_QUARTER, params={"code": code})
    return int(match["year"]), int(match["number"])


def validate_exact_quarter_code(value: str) -> None:
    """For API parameters: exactly the documented shape, no case or spacing forgiven."""
    if not re.fullmatch(QUARTER_SHAPE, value):
        raise ValidationError(NOT_A_QUARTER, params={"code": value})


def quarter_index(year: int, number: int) -> int:
    """A running number of quarters, so that 'three quarters later' is plain arithmetic."""
    return year * 4 + number - 1


def quarter_code(index: int) -> str:
    return f"{index // 4}-Q{index % 4 + 1}"


def quarter_label(code: str) -> str:
    """A quarter as the active language reads it: "2027-Q1" in English, "2027年 第1四半期"
    in Japanese (QUARTER_FORMAT of core/formats). Codes stay "2027-Q1" in URLs, forms,
    the API and files; only what a person reads goes through here. Anything that is not a
    code is returned as it is."""
    match = QUARTER_CODE.match(code or "")
    if not match:
        return code
    pattern = formats.get_format("QUARTER_FORMAT")
    return pattern.format(year=int(match["year"]), number=int(match["number"]))


def quarter_bounds(year: int, number: int) -> tuple[datetime.date, datetime.date]:
    start = datetime.date(year, 3 * number - 2, 1)
    end = (
        datetime.date(year, 12, 31)
        if number == 4
        else datetime.date(year, 3 * number + 1, 1) - datetime.timedelta(days=1)
    )
    return start, end
