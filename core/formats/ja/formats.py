"""Japanese: dates as 2026年12月9日, quarters as 2027年 第1四半期, yen as ¥12,400 (no
decimals) and US dollars as $12,400.00, as Japanese finance documents write them; other
currencies keep their ISO code after the amount."""

DATE_FORMAT = "Y年n月j日"
DATETIME_FORMAT = "Y年n月j日 G:i"
YEAR_MONTH_FORMAT = "Y年n月"
MONTH_DAY_FORMAT = "n月j日"
TIME_FORMAT = "G:i"
SHORT_DATE_FORMAT = "Y/m/d"
SHORT_DATETIME_FORMAT = "Y/m/d G:i"
DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3

QUARTER_FORMAT = "{year}年 第{number}四半期"
CURRENCY_SYMBOLS = {"JPY": "¥", "USD": "$"}
