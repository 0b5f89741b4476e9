"""The quick choice widgets write exactly the HTML of Django's own templates."""

import pytest
from django import forms
from django.test.html import parse_html

from core.forms import QuickCheckboxSelectMultiple, QuickSelect, QuickSelectMultiple

CHOICES = [
    ("", "—"),
    ("1", 'Orders <b>"table"</b> & co'),
    ("Legacy", [("2", "Dropped item"), ("3", "Old mart")]),
    ("4", "受注テーブル"),
]


@pytest.mark.parametrize(
    ("quick", "django", "value"),
    [
        (QuickSelect, forms.Select, "3"),
        (QuickSelect, forms.Select, None),
        (QuickSelectMultiple, forms.SelectMultiple, ["1", "4"]),
        (QuickSelectMultiple, forms.SelectMultiple, []),
        (QuickCheckboxSelectMultiple, forms.CheckboxSelectMultiple, ["2", "4"]),
    ],
)
@pytest.mark.parametrize("attrs", [{"id": "id_x", "size": 6, "class": "wide"}, {"required": True}])
def test_a_quick_widget_writes_what_djangos_templates_write(quick, django, value, attrs):
    expected = django(attrs=attrs, choices=CHOICES).render("x", value)
    written = quick(attrs=attrs, choices=CHOICES).render("x", value)
    assert parse_html(written) == parse_html(expected)
    assert "&lt;b&gt;" in written  # a label is escaped, never markup
