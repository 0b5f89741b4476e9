"""A review pack's slides: the same bytes from the same content, a slide per section and
per item under discussion, every item title (Japanese included) in what PowerPoint and
LibreOffice show, and the same download permissions as the other formats."""

import io
import subprocess
import zipfile
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pptx import Presentation
from pptx.oxml.ns import qn

from core.roles import Role
from roadmap.models import ReviewPack
from roadmap.reviews.packs.content import build_content
from roadmap.reviews.packs.deck import ROWS_PER_SLIDE, ZIP_TIME
from roadmap.reviews.packs.render import build_review_pack
from roadmap.reviews.packs.slides import render_pptx
from tests.roadmap.factories import (
    ReviewSessionFactory,
    RoadmapItemFactory,
    UserFactory,
    opened,
    quarter,
)
from tests.roadmap.reviews.test_packs import JAPANESE_COMMENT, JAPANESE_TITLE, world

pytestmark = pytest.mark.django_db
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
__all__ = ["world"]  # the fixture, imported for these tests


def slide_titles(data: bytes) -> list[str]:
    return [slide.shapes.title.text for slide in Presentation(io.BytesIO(data)).slides]


def slide_text(data: bytes) -> str:
    """Every text on every slide, table cells included."""
    texts = []
    for slide in Presentation(io.BytesIO(data)).slides:
        for shape in slide.shapes:
            if shape.has_text_frame:
                texts.append(shape.text_frame.text)
            if shape.has_table:
                texts += [cell.text for row in shape.table.rows for cell in row.cells]
    return "\n".join(texts)


def item_titles(session) -> list[str]:
    return list(session.items.values_list("title", flat=True))


def test_the_same_content_gives_byte_identical_slides(world):
    moment = timezone.now()
    first = render_pptx(build_content(session=world["session"], as_of=moment))
    again = render_pptx(build_content(session=world["session"], as_of=moment))
    assert first == again
    archive = zipfile.ZipFile(io.BytesIO(first))
    assert {entry.date_time for entry in archive.infolist()} == {ZIP_TIME}
    assert archive.namelist()[0] == "[Content_Types].xml"
    properties = Presentation(io.BytesIO(first)).core_properties
    assert properties.created == properties.modified == moment.replace(tzinfo=None, microsecond=0)


def test_the_slides_have_a_slide_per_section_and_every_item_title(world):
    session = world["session"]
    data = render_pptx(build_content(session=session, as_of=timezone.now()))
    assert slide_titles(data) == [
        "2026-Q4 レビュー",
        "Summary",
        "Changes since the previous review",
        "The ranked roadmap",
        "BigQuery cost (1/2)",
        "BigQuery cost (2/2)",
        "Last review's decisions and commitments",
        "What last quarter's deliveries changed",
        "Error budgets",
        # The one item under discussion: it has an open question.
        f"#1 {JAPANESE_TITLE}",
    ]
    text = slide_text(data)
    for title in item_titles(session):
        assert title in text
    assert JAPANESE_COMMENT in text
    assert "Page 10 / 10" in text
    # Every run names the CJK font for East Asian text, beside the Latin one.
    runs = [
        run
        for slide in Presentation(io.BytesIO(data)).slides
        for shape in slide.shapes
        if shape.has_text_frame
        for p in shape.text_frame.paragraphs
        for run in p.runs
    ]
    assert runs
    for run in runs:
        properties = run._r.rPr
        assert properties.find(qn("a:ea")).get("typeface") == "Noto Sans CJK JP"
        assert properties.find(qn("a:latin")).get("typeface") == "Noto Sans"


def test_the_cost_charts_are_images_on_their_slides(world):
    data = render_pptx(build_content(session=world["session"], as_of=timezone.now()))
    slides = list(Presentation(io.BytesIO(data)).slides)
    cost = [slide for slide in slides if slide.shapes.title.text.startswith("BigQuery cost")]
    for slide in cost:
        (picture,) = [shape for shape in slide.shapes if shape.shape_type == 13]  # a picture
        assert picture.image.content_type == "image/png"
        assert picture.image.size[0] >= 1900  # sharp at full screen width


def test_a_long_roadmap_is_split_over_slides_of_twelve_rows_at_most(world):
    for n in range(30):
        RoadmapItemFactory(
            title=f"Item {n:02d} " + "長い名前の項目 " * (n % 3),
            rank=10 + n,
            effort_weeks=Decimal(1),
        )
    draft = ReviewSessionFactory(title="2027-Q1 review", quarter=quarter("2027-Q1"))
    data = render_pptx(build_content(session=draft, as_of=timezone.now()))
    presentation = Presentation(io.BytesIO(data))
    roadmap = [s for s in presentation.slides if s.shapes.title.text.startswith("The ranked")]
    assert len(roadmap) >= 3  # 33 items
    assert roadmap[0].shapes.title.text == f"The ranked roadmap (1/{len(roadmap)})"
    rows = 0
    for slide in roadmap:
        (table,) = [shape.table for shape in slide.shapes if shape.has_table]
        assert 1 < len(table.rows) <= ROWS_PER_SLIDE + 1  # with the header
        rows += len(table.rows) - 1
        # The table ends above the footer.
        (frame,) = [shape for shape in slide.shapes if shape.has_table]
        assert frame.top + sum(row.height for row in table.rows) < presentation.slide_height * 0.93
    assert rows == 33
    text = slide_text(data)
    for n in range(30):
        assert f"Item {n:02d} " in text


def test_every_item_title_is_in_the_pdf_libreoffice_makes_of_the_slides(world, tmp_path):
    session = world["session"]
    pack = build_review_pack(session=session, by=world["manager"])
    slides = tmp_path / "pack.pptx"
    slides.write_bytes(bytes(pack.pptx))
    # A profile of its own, so that parallel runs never share LibreOffice's lock.
    subprocess.run(
        [  # noqa: S607 -- Debian's soffice, from PATH
            "soffice",
            f"-env:UserInstallation=file://{tmp_path}/lo",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(slides),
        ],
        capture_output=True,
        check=True,
        timeout=180,
    )
    text = subprocess.run(
        ["pdftotext", "-layout", str(tmp_path / "pack.pdf"), "-"],  # noqa: S607
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    flat = "".join(text.split())  # a title may wrap over two lines
    for title in item_titles(session):
        assert "".join(title.split()) in flat, title
    assert JAPANESE_TITLE in text
    assert JAPANESE_COMMENT in text


def test_the_command_writes_the_slides(world, tmp_path):
    out = tmp_path / "pack.pptx"
    call_command(
        "build_review_pack", str(world["session"].pk), "--format", "pptx", "--out", str(out)
    )
    pack = ReviewPack.objects.get()
    assert out.read_bytes() == bytes(pack.pptx)
    assert slide_titles(out.read_bytes())[0] == "2026-Q4 レビュー"


def test_slides_download_with_the_permissions_of_the_other_formats(world):
    session = world["session"]
    pack = build_review_pack(session=session, by=world["manager"])
    url = reverse("roadmap:pack", args=[session.pk, pack.version, "pptx"])
    vp, outsider, anonymous = Client(), Client(), Client()
    vp.force_login(world["vp"])
    outsider.force_login(UserFactory(username="olga", role=Role.REVIEWER))
    response = vp.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == PPTX
    assert response["Content-Disposition"] == (
        f'attachment; filename="review-pack-2026-Q4-v{pack.version}.pptx"'
    )
    assert response.content == bytes(pack.pptx)
    assert outsider.get(url).status_code == 403
    refused = anonymous.get(url)
    assert refused.status_code == 302
    assert refused["Location"].startswith(reverse("login"))
    page = vp.get(reverse("roadmap:review-detail", args=[session.pk])).content.decode()
    assert url in page
    assert "Slides (PowerPoint)" in page


def test_a_reviewer_cannot_download_the_slides_of_a_draft_pack(world):
    manager, vp = world["manager"], world["vp"]
    draft = ReviewSessionFactory(title="2027-Q1 review", quarter=quarter("2027-Q1"), reviewers=[vp])
    working_copy = build_review_pack(session=draft, by=manager)
    session = opened(draft, by=manager)
    frozen = build_review_pack(session=session, by=manager)
    reviewer, boss = Client(), Client()
    reviewer.force_login(vp)
    boss.force_login(manager)
    draft_url = reverse("roadmap:pack", args=[session.pk, working_copy.version, "pptx"])
    assert reviewer.get(draft_url).status_code == 404
    assert boss.get(draft_url).status_code == 200
    url = reverse("roadmap:pack", args=[session.pk, frozen.version, "pptx"])
    assert reviewer.get(url).status_code == 200


def test_a_version_built_before_packs_had_slides_has_no_slides_to_download(world):
    session = world["session"]
    pack = build_review_pack(session=session, by=world["manager"])
    ReviewPack.objects.filter(pk=pack.pk).update(pptx=b"")
    boss = Client()
    boss.force_login(world["manager"])
    url = reverse("roadmap:pack", args=[session.pk, pack.version, "pptx"])
    assert boss.get(url).status_code == 404
    assert (
        boss.get(reverse("roadmap:pack", args=[session.pk, pack.version, "pdf"])).status_code == 200
    )
