"""The drawing side of a review pack's slides (slides.py says what goes on them): a 16:9
deck of titled slides, text in both fonts, tables split over slides so that they never
run off one, chart images, and a zip written the same way every time.

Every text run names a Latin and an East Asian font (Noto Sans and Noto Sans CJK JP, as
the PDF does) and the pack's language, so Japanese titles and comments show in
PowerPoint and LibreOffice instead of empty boxes. Nothing here knows the pack's time:
the same calls give the same file.
"""

import functools
import io
import math
import re
import unicodedata
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils import translation
from django.utils.translation import gettext as _
from lxml import etree
from pptx import Presentation
from pptx.dml.color import RGBColor
from pptx.enum.shapes import MSO_CONNECTOR, MSO_SHAPE
from pptx.enum.text import MSO_ANCHOR, MSO_AUTO_SIZE, PP_ALIGN
from pptx.oxml.ns import qn
from pptx.oxml.table import CT_TableCell
from pptx.oxml.text import CT_RegularTextRun
from pptx.presentation import Presentation as PresentationObject
from pptx.slide import Slide
from pptx.text.text import TextFrame, _Paragraph
from pptx.util import Emu, Inches, Pt

LATIN = "Noto Sans"
EAST_ASIAN = "Noto Sans CJK JP"
INK = RGBColor(0x1D, 0x24, 0x30)
MUTED = RGBColor(0x5B, 0x64, 0x72)
NAVY = RGBColor(0x1F, 0x3B, 0x63)
WARN = RGBColor(0x8A, 0x3B, 0x12)
HEADER_FILL = RGBColor(0xEE, 0xF2, 0xF7)
RULE = RGBColor(0xC9, 0xD0, 0xDA)
WHITE = RGBColor(0xFF, 0xFF, 0xFF)

WIDTH, HEIGHT = Inches(13.333), Inches(7.5)
MARGIN = Inches(0.45)
BODY_TOP = Inches(1.35)  # below the title and its rule
BODY_BOTTOM = Inches(6.9)  # above the footer
BODY_WIDTH = WIDTH - 2 * MARGIN
TABLE_SIZE = 12  # points: the smallest text on a slide but the footer, table bodies
LINE = 1.2  # line height, in ems
CJK_LINE = 1.45  # Noto Sans CJK's lines are taller
ROWS_PER_SLIDE = 12
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip can hold: no clock in the file
CHART_PIXELS = 2000  # a chart image's width: sharp on a full-screen slide


# --- Text ----------------------------------------------------------------------------------


def language() -> str:
    """The active language as Office names languages ("ja", "en-US")."""
    return translation.to_locale(translation.get_language() or "en").replace("_", "-")


def em_width(text: str) -> float:
    """Text width in ems, roughly: wide (CJK) characters one em, others 0.6 (DejaVu Sans,
    the wide font LibreOffice or PowerPoint may put in for a missing Noto Sans, in bold)."""
    return sum(1.0 if unicodedata.east_asian_width(c) in "WF" else 0.6 for c in text)


def lines(text: str, width: int, size: float, *, inset: float = 11) -> int:
    """How many lines `text` wraps to at `size` points in a box `width` EMU wide, less
    `inset` points of inner margins."""
    room = max(Emu(width).pt - inset, 1)
    return sum(
        max(1, math.ceil(em_width(line) * size / room)) for line in (text.splitlines() or [""])
    )


def line_height(text: str) -> float:
    """In ems: taller where the text has CJK characters, which use the CJK font's metrics."""
    return CJK_LINE if any(unicodedata.east_asian_width(c) in "WF" for c in text) else LINE


def fitting(text: str, width: int, size: float, *, smallest: float) -> float:
    """The largest size up to `size` at which `text` stays on one line of `width`."""
    while size > smallest and lines(text, width, size) > 1:
        size -= 1
    return size


@dataclass(frozen=True)
class Span:
    """A run of text in one style."""

    text: str
    size: float = 14
    bold: bool = False
    colour: RGBColor = INK


Paragraphs = Sequence[Sequence[Span]]


def height_of(paragraphs: Paragraphs, width: int, *, space: float = 4) -> float:
    """The height in points the paragraphs take in a box `width` EMU wide."""
    total = 0.0
    for spans in paragraphs:
        size = max((span.size for span in spans), default=14)
        text = "".join(span.text for span in spans)
        total += lines(text, width, size) * size * line_height(text) + space
    return total


def _styled(run: CT_RegularTextRun, span: Span) -> None:
    """Size, weight, colour, both fonts and the language of one run (a:r)."""
    properties = run.get_or_add_rPr()
    properties.set("lang", language())
    properties.set("sz", str(int(span.size * 100)))
    properties.set("b", "1" if span.bold else "0")
    for tag in ("a:solidFill", "a:latin", "a:ea", "a:cs"):
        for old in properties.findall(qn(tag)):
            properties.remove(old)
    # In the schema's order: the fill, then the Latin, East Asian and complex-script fonts.
    fill = etree.SubElement(properties, qn("a:solidFill"))
    etree.SubElement(fill, qn("a:srgbClr"), val=str(span.colour))
    etree.SubElement(properties, qn("a:latin"), typeface=LATIN)
    etree.SubElement(properties, qn("a:ea"), typeface=EAST_ASIAN)
    etree.SubElement(properties, qn("a:cs"), typeface=LATIN)


def write(paragraph: _Paragraph, spans: Sequence[Span], *, align: PP_ALIGN = PP_ALIGN.LEFT) -> None:
    paragraph.alignment = align
    for span in spans:
        run = paragraph.add_run()
        run.text = span.text
        _styled(run._r, span)


def fill(frame: TextFrame, paragraphs: Paragraphs, *, space: float = 4) -> None:
    """Replace a text frame's text with paragraphs of spans."""
    frame.word_wrap = True
    frame.auto_size = MSO_AUTO_SIZE.NONE
    frame.clear()
    for index, spans in enumerate(paragraphs):
        paragraph = frame.paragraphs[0] if index == 0 else frame.add_paragraph()
        paragraph.space_after = Pt(space)
        write(paragraph, spans)


def box(
    slide: Slide,
    left: int,
    top: int,
    width: int,
    height: int,
    paragraphs: Paragraphs,
    *,
    space: float = 4,
    align: PP_ALIGN = PP_ALIGN.LEFT,
) -> TextFrame:
    frame = slide.shapes.add_textbox(Emu(left), Emu(top), Emu(width), Emu(height)).text_frame
    frame.margin_left = frame.margin_right = Inches(0.05)
    fill(frame, paragraphs, space=space)
    for paragraph in frame.paragraphs:
        paragraph.alignment = align
    return frame


def rule(slide: Slide, top: int) -> None:
    line = slide.shapes.add_connector(
        MSO_CONNECTOR.STRAIGHT, Emu(MARGIN), Emu(top), Emu(WIDTH - MARGIN), Emu(top)
    )
    line.line.color.rgb = NAVY
    line.line.width = Pt(1.5)
    line.shadow.inherit = False


def tile(
    slide: Slide, left: int, top: int, width: int, height: int, paragraphs: Paragraphs
) -> None:
    """A framed box of figures, as the PDF's summary tiles."""
    shape = slide.shapes.add_shape(
        MSO_SHAPE.RECTANGLE, Emu(left), Emu(top), Emu(width), Emu(height)
    )
    shape.fill.solid()
    shape.fill.fore_color.rgb = WHITE
    shape.line.color.rgb = RULE
    shape.line.width = Pt(1)
    shape.shadow.inherit = False
    frame = shape.text_frame
    frame.vertical_anchor = MSO_ANCHOR.TOP
    frame.margin_left = frame.margin_right = Inches(0.12)
    frame.margin_top = Inches(0.08)
    fill(frame, paragraphs, space=2)


# --- The deck ------------------------------------------------------------------------------


class Deck:
    """The presentation being written: slides with a title; footers added at the end,
    when the number of slides is known."""

    def __init__(self) -> None:
        self.presentation: PresentationObject = Presentation()
        self.presentation.slide_width, self.presentation.slide_height = WIDTH, HEIGHT
        self.layout = self.presentation.slide_layouts[5]  # "Title Only"

    def slide(self, title: str, *, size: float = 26, top: int = Inches(0.3)) -> Slide:
        """A slide whose title placeholder holds `title` (what PowerPoint's outline and a
        screen reader show), on two lines at most."""
        slide = self.presentation.slides.add_slide(self.layout)
        shape = slide.shapes.title
        assert shape is not None  # noqa: S101 -- the "Title Only" layout has a title
        shape.left, shape.top = MARGIN, Emu(top)
        shape.width, shape.height = BODY_WIDTH, Inches(0.95)
        frame = shape.text_frame
        frame.vertical_anchor = MSO_ANCHOR.BOTTOM
        frame.margin_left = frame.margin_right = Inches(0.05)
        while size > 16 and lines(title, shape.width, size) > 2:  # a long item title
            size -= 2
        fill(frame, [[Span(title, size=size, bold=True, colour=NAVY)]], space=0)
        rule(slide, top + Inches(0.98))
        return slide

    def add_footers(self, left: str) -> None:
        slides = list(self.presentation.slides)
        for index, slide in enumerate(slides, start=1):
            page = _("Page") + f" {index} / {len(slides)}"
            footer = [[Span(left, size=10, colour=MUTED)]]
            box(slide, MARGIN, Inches(7.0), BODY_WIDTH - Inches(2), Inches(0.35), footer)
            box(slide, WIDTH - MARGIN - Inches(2), Inches(7.0), Inches(2), Inches(0.35),
                [[Span(page, size=10, colour=MUTED)]], align=PP_ALIGN.RIGHT)  # fmt: skip

    def save(self) -> bytes:
        buffer = io.BytesIO()
        self.presentation.save(buffer)
        return fixed_zip(buffer.getvalue())


# --- Tables --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    header: str
    width: float  # inches
    numeric: bool = False


Cell = str | Sequence[Span]
Row = Sequence[Cell]


def _cell_text(cell: Cell) -> str:
    return cell if isinstance(cell, str) else "".join(span.text for span in cell)


CELL_MARGIN = Inches(0.04)  # above and below a cell's text
ROW_PADDING = 2 * CELL_MARGIN.pt / 72  # inches


def _row_height(columns: Sequence[Column], row: Row) -> float:
    """Inches: the height of the cell with the most lines."""
    return (
        max(
            lines(text, Inches(column.width), TABLE_SIZE) * TABLE_SIZE * line_height(text) / 72
            for column, text in zip(columns, map(_cell_text, row), strict=True)
        )
        + ROW_PADDING
    )


def pages(columns: Sequence[Column], rows: Sequence[Row], *, room: float) -> list[list[Row]]:
    """Rows split into slides: at most ROWS_PER_SLIDE each and no more than `room` inches
    of wrapped lines, so a long title never pushes the table off its slide, and evened
    out, so the last slide does not hold one row."""
    header = TABLE_SIZE * LINE / 72 + ROW_PADDING

    def split(most: int) -> list[list[Row]]:
        result: list[list[Row]] = [[]]
        used = header
        for row in rows:
            height = _row_height(columns, row)
            if result[-1] and (len(result[-1]) == most or used + height > room):
                result.append([])
                used = header
            result[-1].append(row)
            used += height
        return result

    greedy = split(ROWS_PER_SLIDE)
    even = split(math.ceil(len(rows) / len(greedy)))
    return even if len(even) == len(greedy) else greedy


def _bottom_border(cell: CT_TableCell) -> None:
    """A thin rule under a cell, as the PDF's tables have (python-pptx has no API)."""
    properties = cell.get_or_add_tcPr()
    border = etree.Element(qn("a:lnB"), w=str(Pt(0.75)), cap="flat", cmpd="sng")
    fill_ = etree.SubElement(border, qn("a:solidFill"))
    etree.SubElement(fill_, qn("a:srgbClr"), val=str(RULE))
    properties.insert(0, border)  # before the cell's fill, as the schema orders them


def table(slide: Slide, top: int, columns: Sequence[Column], rows: Sequence[Row]) -> None:
    width = sum(Inches(column.width) for column in columns)
    shape = slide.shapes.add_table(
        len(rows) + 1, len(columns), Emu(MARGIN), Emu(top), Emu(width),
        Emu(Inches(0.4) * (len(rows) + 1)),
    )  # fmt: skip
    grid = shape.table
    grid.first_row = True
    grid.horz_banding = False
    for index, column in enumerate(columns):
        grid.columns[index].width = Inches(column.width)
    for row_index, row in enumerate([[c.header for c in columns], *rows]):
        header = row_index == 0
        grid.rows[row_index].height = Inches(
            (TABLE_SIZE * LINE / 72 + ROW_PADDING) if header else _row_height(columns, row)
        )
        for index, (column, value) in enumerate(zip(columns, row, strict=True)):
            cell = grid.cell(row_index, index)
            cell.fill.solid()
            cell.fill.fore_color.rgb = HEADER_FILL if header else WHITE
            _bottom_border(cell._tc)
            cell.margin_top = cell.margin_bottom = CELL_MARGIN
            cell.margin_left = cell.margin_right = Inches(0.07)
            cell.vertical_anchor = MSO_ANCHOR.TOP
            spans = (
                [Span(value, size=TABLE_SIZE - (1 if header else 0), bold=header)]
                if isinstance(value, str)
                else value
            )
            frame = cell.text_frame
            frame.word_wrap = True
            frame.clear()
            align = PP_ALIGN.RIGHT if column.numeric else PP_ALIGN.LEFT
            write(frame.paragraphs[0], spans, align=align)


def table_slides(
    deck: Deck,
    title: str,
    columns: Sequence[Column],
    rows: Sequence[Row],
    *,
    note: str = "",
    empty: str = "",
) -> None:
    """A table over as many slides as it needs, '(2/3)' after the title of each; `note`
    above it on each; `empty` alone when there are no rows."""
    top = BODY_TOP + (Inches(0.45) if note else 0)
    heading = [[Span(note, size=13, colour=MUTED)]] if note else []
    if not rows:
        slide = deck.slide(title)
        box(slide, MARGIN, BODY_TOP, BODY_WIDTH, Inches(2),
            [*heading, [Span(empty, size=18, colour=MUTED)]])  # fmt: skip
        return
    split = pages(columns, rows, room=Emu(BODY_BOTTOM - top).inches - 0.2)
    for index, page in enumerate(split, start=1):
        suffix = f" ({index}/{len(split)})" if len(split) > 1 else ""
        slide = deck.slide(title + suffix)
        if note:
            box(slide, MARGIN, BODY_TOP, BODY_WIDTH, Inches(0.4), heading)
        table(slide, top, columns, page)


# --- Images and the file -------------------------------------------------------------------


@functools.lru_cache(maxsize=16)  # a rebuilt pack draws the same charts: a few MB at most
def chart_png(svg: str) -> bytes:
    """One of the pack's SVG charts as a PNG CHART_PIXELS wide.

    WeasyPrint draws it as the PDF pack does, on a page of the chart's size: Pango falls
    back to the CJK font for a Japanese team name or title (cairosvg's text draws empty
    boxes there). PDFium rasterises the page in process: no poppler binary on the server,
    no temporary file. The same SVG gives the same PNG."""
    import pypdfium2  # imported here, as WeasyPrint is: only building a pack needs them
    import weasyprint
    from weasyprint.urls import URLFetcher

    found = re.search(r'<svg[^>]*?\swidth="([\d.]+)pt"\s+height="([\d.]+)pt"', svg)
    width, height = (float(found[1]), float(found[2])) if found else (691.2, 284.4)
    page = (
        f"<style>@page {{ size: {width}pt {height}pt; margin: 0 }} body {{ margin: 0 }} "
        f"svg {{ display: block; width: {width}pt; height: {height}pt }}</style>{svg}"
    )
    # The SVG is ours, but as for the PDF: nothing may make the server fetch a URL.
    no_fetching = URLFetcher(allowed_protocols=())
    pdf = weasyprint.HTML(string=page, base_url=None, url_fetcher=no_fetching).write_pdf()
    document = pypdfium2.PdfDocument(pdf)
    try:
        image = document[0].render(scale=CHART_PIXELS / width).to_pil()
    finally:
        document.close()
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def fixed_zip(data: bytes) -> bytes:
    """The same zip with every entry at ZIP_TIME and in name order ([Content_Types].xml
    first, as Office writes it): python-pptx stamps each entry with the current time."""
    source = zipfile.ZipFile(io.BytesIO(data))
    names = sorted(source.namelist(), key=lambda name: (name != "[Content_Types].xml", name))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for name in names:
            entry = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.create_system = 0  # the same bytes whichever system writes them
            entry.external_attr = 0o600 << 16
            target.writestr(entry, source.read(name))
    return buffer.getvalue()
