"""English: dates as "9 Dec 2026" (day first, so no reader mistakes day for month), the
short forms as the pages already write them (2026-12-09), amounts with their ISO code
after them (12,400.00 USD, 1,235 JPY): billing accounts mix currencies, and a code is
never ambiguous where "$" could be any dollar."""

DATE_FORMAT = "j M Y"
DATETIME_FORMAT = "j M Y, H:i"
YEAR_MONTH_FORMAT = "M Y"
MONTH_DAY_FORMAT = "j M"
TIME_FORMAT = "H:i"
SHORT_DATE_FORMAT = "Y-m-d"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3

QUARTER_FORMAT = "{year}-Q{number}"
CURRENCY_SYMBOLS: dict[str, str] = {}
