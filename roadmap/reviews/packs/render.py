"""A review pack's content rendered as HTML, Markdown, PDF and slides, hashed, and stored as
a new version of the session's pack."""

import datetime
import hashlib
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Max
from django.template.loader import render_to_string
from django.utils import timezone

from roadmap.models import (
    ReviewPack,
    ReviewSession,
)
from roadmap.reviews.packs.charts import delivery_charts, pack_charts
from roadmap.reviews.packs.content import PackContent, build_content
from roadmap.reviews.packs.slides import render_pptx


def render_html(
    content: PackContent,
    *,
    generated_at: datetime.datetime | None,
    charts: dict[str, str] | None = None,
    deliveries: dict[int, list[str]] | None = None,
) -> str:
    """The pack as one self-contained HTML page (styles and SVG charts inline), made for
    the screen and for A4 landscape print. `charts`: `pack_charts(content)`, and
    `deliveries`: `delivery_charts(content)`, if drawn."""
    charts = pack_charts(content) if charts is None else charts
    deliveries = delivery_charts(content) if deliveries is None else deliveries
    return render_to_string(
        "roadmap/reviews/packs/pack.html",
        {"pack": content, "charts": charts, "delivery_charts": deliveries,
         "generated_at": generated_at},
    )  # fmt: skip


def render_markdown(content: PackContent, *, generated_at: datetime.datetime | None) -> str:
    return (
        render_to_string(
            "roadmap/reviews/packs/pack.md", {"pack": content, "generated_at": generated_at}
        ).strip()
        + "\n"
    )


def render_pdf(html: str) -> bytes:
    """The PDF of a pack's HTML. The pack is self-contained (styles and charts inline), so
    WeasyPrint may fetch nothing: no text in a pack can make the server request a URL."""
    import weasyprint  # imported here: two seconds of start-up that pages do not need
    from weasyprint.urls import URLFetcher

    no_fetching = URLFetcher(allowed_protocols=())
    return weasyprint.HTML(string=html, base_url=None, url_fetcher=no_fetching).write_pdf()


def content_hash(
    content: PackContent,
    *,
    charts: dict[str, str] | None = None,
    deliveries: dict[int, list[str]] | None = None,
) -> str:
    """SHA-256 of the pack without its generation time: the HTML (every figure, text and
    chart, the deliveries' section and charts included) and the Markdown. The PDF and the
    slides are drawn from the same content (the PDF from that HTML, the slides from the
    same PackContent), so the hash covers them."""
    html = render_html(content, generated_at=None, charts=charts, deliveries=deliveries)
    body = html + render_markdown(content, generated_at=None)
    return hashlib.sha256(body.encode()).hexdigest()


@dataclass(frozen=True)
class BuiltPack:
    html: str
    markdown: str
    pdf: bytes
    pptx: bytes
    content_hash: str


def render_pack(content: PackContent, *, generated_at: datetime.datetime) -> BuiltPack:
    charts = pack_charts(content)  # drawn once for the page, the hash and the slides
    deliveries = delivery_charts(content)
    html = render_html(content, generated_at=generated_at, charts=charts, deliveries=deliveries)
    return BuiltPack(
        html=html,
        markdown=render_markdown(content, generated_at=generated_at),
        pdf=render_pdf(html),
        pptx=render_pptx(content, charts=charts),
        content_hash=content_hash(content, charts=charts, deliveries=deliveries),
    )


def build_review_pack(
    *, session: ReviewSession, by: User | None, as_of: datetime.datetime | None = None
) -> ReviewPack:
    """Build the pack (all four formats) and keep it as the session's next version."""
    as_of = as_of or timezone.now()
    content = build_content(session=session, as_of=as_of)
    built = render_pack(content, generated_at=timezone.now())
    with transaction.atomic():
        locked = ReviewSession.objects.select_for_update().get(pk=session.pk)
        version = (locked.packs.aggregate(top=Max("version"))["top"] or 0) + 1
        return ReviewPack.objects.create(
            session=locked,
            version=version,
            created_by=by,
            data_as_of=as_of,
            content_hash=built.content_hash,
            html=built.html,
            markdown=built.markdown,
            pdf=built.pdf,
            pptx=built.pptx,
        )
