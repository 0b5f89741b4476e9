"""Quarterdeck's format modules (settings.FORMAT_MODULE_PATH), one per language.

Django looks a format up here first and falls back to its own locale's module, so each
file names only what Quarterdeck shows differently, plus two names of its own that
core.money and core.quarters read through django.utils.formats.get_format:
QUARTER_FORMAT (a str.format pattern with {year} and {number}) and CURRENCY_SYMBOLS
(the currencies written with a sign before the amount; the others get their ISO code
after it).
"""
