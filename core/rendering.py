"""User-written Markdown -> safe HTML.

Markdown is rendered first, then the HTML is sanitised with nh3 (Rust's ammonia): only
formatting tags survive, links keep http(s)/mailto targets only and open with
rel="noopener noreferrer nofollow". Nothing a user types can run script in another
user's browser; the Content-Security-Policy header (script-src 'self') is the second wall.
"""

import threading

import markdown
import nh3
from django.utils.safestring import SafeString, mark_safe

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "div", "dl", "dt", "em",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "kbd", "li", "ol", "p", "pre", "s",
    "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr",
    "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "td": {"align"},
    "th": {"align"},
}
URL_SCHEMES = {"http", "https", "mailto"}


_local = threading.local()


def _converter() -> markdown.Markdown:
    """One converter per thread, reset between texts: building one loads every extension
    again, which was a third of a 500-comment review page."""
    converter = getattr(_local, "converter", None)
    if converter is None:
        converter = markdown.Markdown(extensions=["extra", "sane_lists"], output_format="html")
        _local.converter = converter
    return converter


def render_markdown(text: str) -> SafeString:
    html = _converter().reset().convert(text or "")
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )
    return mark_safe(clean)  # noqa: S308 - sanitised by nh3 just above
