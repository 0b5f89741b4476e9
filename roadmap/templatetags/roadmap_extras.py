import re
from decimal import Decimal

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from core.formatting import format_number
from core.money import Money, format_money
from core.rendering import render_markdown

register = template.Library()


@register.filter(name="markdown")
def markdown_filter(text: str) -> SafeString:
    return render_markdown(text)


@register.filter
def money(value: Money | None) -> str:
    """'12,400.00 USD' ('$12,400.00' in Japanese), or an em dash when unknown."""
    return "—" if value is None else format_money(value)


@register.filter
def signed_money(value: Money | None) -> str:
    return "—" if value is None else format_money(value, signed=True)


@register.filter
def number(value: Decimal | int | None) -> str:
    """Decimals without trailing zeros ('12.5', '3'), thousands separated."""
    return format_number(value)


@register.simple_tag(takes_context=True)
def sort_link(context, key: str, label: str) -> str:
    """A column header that sorts by `key`, toggling direction on a second click."""
    current = context["sort"]
    descending_first = key in context["descending_by_default"]
    if current.lstrip("-") == key:
        target = key if current.startswith("-") else f"-{key}"
        arrow = " ▼" if current.startswith("-") else " ▲"
        state = "descending" if current.startswith("-") else "ascending"
    else:
        target = f"-{key}" if descending_first else key
        arrow, state = "", "none"
    query = context["query"]
    href = f"?{query}&sort={target}" if query else f"?sort={target}"
    return format_html('<a href="{}" aria-sort="{}">{}{}</a>', href, state, label, arrow)


@register.filter
def get_item(mapping: dict | None, key):
    """{{ mapping|get_item:key }}: a dict lookup by a variable key."""
    return None if not mapping else mapping.get(key)


@register.filter
def snap_money(value: dict | None) -> str:
    """An amount frozen in a snapshot ({"amount": "12.50", "currency": "USD"})."""
    if not value:
        return "—"
    return format_money(Money(Decimal(value["amount"]), value["currency"]))


@register.filter
def snap_number(value: str | int | None) -> str:
    """A number frozen in a snapshot as text or an integer, shown like `number`."""
    if value is None or value == "":
        return "—"
    return number(Decimal(str(value)) if isinstance(value, str) else value)


@register.filter
def css_string(value) -> str:
    """Text safe inside a double-quoted CSS string in a <style> element: everything but
    letters, digits and spaces becomes a CSS escape, so no title can end the string (a
    quote, a line break, a form feed) or the element."""
    return "".join(c if c.isalnum() or c == " " else f"\\{ord(c):x} " for c in str(value))


@register.filter
def status_label(value: str) -> str:
    from roadmap.models import RoadmapItem

    return str(dict(RoadmapItem.Status.choices).get(value, value))


def _md_inline(text: str) -> str:
    """User text as Markdown shows it, never as markup: raw HTML as text (& and <
    escaped: no tag starts without <) and no link or image (brackets escaped), so a
    viewer of the pack neither runs a tag nor loads a URL someone typed."""
    text = text.replace("&", "&amp;").replace("<", "&lt;")
    return text.replace("[", "\\[").replace("]", "\\]")


@register.filter
def md_cell(value) -> str:
    """User text on one line (a table cell, a heading, a list item): a pipe or a line
    break would end the cell."""
    return _md_inline(" ".join(str(value or "").split())).replace("|", "\\|")


@register.filter
def md_text(value, indent: int = 0) -> str:
    """User text inside a Markdown list item, escaped as `md_cell` escapes it, with
    continuation lines indented so the text cannot start a heading or a reply of its
    own."""
    text = _md_inline(str(value or ""))
    pad = " " * (int(indent) + 2)
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    # A line that would start a heading, a list, a quote or a table is escaped.
    lines = [f"\\{line}" if MARKDOWN_START.match(line) else line for line in lines]
    return ("\n" + pad).join(lines)


MARKDOWN_START = re.compile(r"^(#|[-*+>|=_]|```|~~~|\d+[.)])")
