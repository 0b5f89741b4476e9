"""A review pack's content as PowerPoint slides (16:9), for the VP who presents from it:
a title slide, the summary tiles, the changes since the last review, the ranked roadmap
(split over as many slides as it needs), the cost charts, last review's commitments, the
error budgets, and one slide for each item under discussion.

The slides come from the same `PackContent` as the HTML, PDF and Markdown, so the pack's
content hash (of the HTML and the Markdown) stands for them too. Every text goes through
gettext in the active language, like the other renderers, and the same content gives
byte-identical slides: no generation time, the document's dates are the pack's `as_of`
(deck.py fixes the zip's).
"""

import datetime
import html
import io

from django.utils.html import strip_tags
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from pptx.util import Emu, Inches, Pt

from core.rendering import render_markdown
from roadmap.reviews.packs.charts import pack_charts
from roadmap.reviews.packs.content import PackContent, PackThread
from roadmap.reviews.packs.deck import (
    BODY_BOTTOM,
    BODY_TOP,
    BODY_WIDTH,
    INK,
    MARGIN,
    MUTED,
    NAVY,
    TABLE_SIZE,
    WARN,
    WIDTH,
    Cell,
    Column,
    Deck,
    Paragraphs,
    Span,
    box,
    chart_png,
    fitting,
    height_of,
    language,
    table_slides,
    tile,
)
from roadmap.reviews.snapshots import Change
from roadmap.templatetags.roadmap_extras import (
    money,
    number,
    signed_money,
    snap_money,
    snap_number,
    status_label,
)


def _utc(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M")


def _plain(text: str) -> str:
    """User Markdown as the words it shows (no markup on a slide), on one line."""
    return " ".join(html.unescape(strip_tags(render_markdown(text))).split())


def _change(change: Change) -> str:
    return f"{change.label}{f' {change.before} →' if change.before else ''} {change.after}"


def _muted(text: str) -> Span:
    return Span(text, size=TABLE_SIZE, colour=MUTED)


# --- Sections ------------------------------------------------------------------------------


def _title_slide(deck: Deck, content: PackContent) -> None:
    session = content.session
    deck.slide(session.title, size=34, top=Inches(2.3))
    if content.frozen and session.opened_at:
        state = _("Roadmap frozen on %(when)s UTC") % {"when": _utc(session.opened_at)}
    else:
        state = _("Draft: built from the live roadmap (the review is not open yet)")
    moment = _("comments, decisions and cost as of %(when)s UTC") % {"when": _utc(content.as_of)}
    meeting = f"{_('Review pack')} · {session.quarter.code} · {_('meeting')} "
    meeting += session.meeting_date.isoformat() if session.meeting_date else "—"
    lines = [
        [Span(meeting, size=20)],
        [Span(state, size=16, colour=MUTED)],
        [Span(moment, size=16, colour=MUTED)],
    ]
    box(deck.presentation.slides[-1], MARGIN, Inches(3.45), BODY_WIDTH, Inches(2.2), lines,
        space=8)  # fmt: skip


def _summary_slide(deck: Deck, content: PackContent) -> None:
    slide = deck.slide(_("Summary"))
    gap = Inches(0.2)
    quarters = content.quarters[:5]
    for index, quarter in enumerate(quarters):
        width = (BODY_WIDTH - gap * (len(quarters) - 1)) // len(quarters)
        load = f"{number(quarter.planned_weeks)} / {number(quarter.capacity_weeks)} "
        items = ngettext("%(n)s item", "%(n)s items", quarter.items) % {"n": quarter.items}
        lines = [
            [Span(quarter.code, size=13, colour=MUTED)],
            [Span(items, size=24, bold=True)],
            [Span(_("%(due)s due") % {"due": quarter.due}, size=13)],
            [Span(load + _("person-weeks"), size=13)],
        ]
        if quarter.used is not None:
            used = [Span(f"{quarter.used} % ", 13, bold=True), Span(_("of capacity"), 13)]
            if quarter.over:
                used.append(Span(" · " + _("over capacity"), 13, bold=True, colour=WARN))
            lines.append(used)
        left = MARGIN + index * (width + gap)
        tile(slide, left, BODY_TOP + Inches(0.1), width, Inches(1.85), lines)
    cost = content.cost
    actual = _("Actual BigQuery net cost")
    if cost.last_month:
        actual += f", {cost.last_month_label}"
    month = _("month")
    figures = [
        (_("People cost of open items"), [money(m) for m in content.people_cost], []),
        (_("Expected BigQuery change, open items"),
         [f"{signed_money(m)} / {month}" for m in content.declared_bq], []),
        (actual, [money(last) for last, _change in cost.month_change],
         [f"{signed_money(change)} {_('on the month before')}"
          for _last, change in cost.month_change]),
        (_("BigQuery forecast, this quarter"), [money(f.total) for f in cost.forecast], []),
    ]  # fmt: skip
    width = (BODY_WIDTH - gap * 3) // 4
    for index, (label, values, notes) in enumerate(figures):
        inner = width - Inches(0.24)
        lines = [[Span(label, size=13, colour=MUTED)]]
        lines += [
            [Span(value, size=fitting(value, inner, 20, smallest=14), bold=True)]
            for value in values[:2]
        ] or [[Span("—", 20)]]
        lines += [[Span(note, size=12)] for note in notes[:2]]
        left = MARGIN + index * (width + gap)
        tile(slide, left, BODY_TOP + Inches(2.2), width, Inches(1.75), lines)
    if content.budgets:
        n = len(content.budgets)
        budgets = ngettext(
            "%(exhausted)s exhausted, %(at_risk)s at risk, of %(n)s data product",
            "%(exhausted)s exhausted, %(at_risk)s at risk, of %(n)s data products",
            n,
        ) % {"exhausted": content.budgets_exhausted, "at_risk": content.budgets_at_risk, "n": n}
    else:
        budgets = _("No data product yet.")
    lines = [
        [Span(_("Error budgets") + ": ", 16, bold=True), Span(budgets, 16)],
        [Span(_("Open questions") + ": ", 16, bold=True),
         Span(str(len(content.open_questions)), 16),
         Span(" · " + _("Items under discussion") + ": ", 16, bold=True),
         Span(str(len(_discussed(content))), 16)],
    ]  # fmt: skip
    box(slide, MARGIN, BODY_TOP + Inches(4.2), BODY_WIDTH, Inches(1.2), lines, space=6)


def _changes_slides(deck: Deck, content: PackContent) -> None:
    title = _("Changes since the previous review")
    previous = content.previous
    if previous is None:
        empty = _("This is the first review: there is nothing to compare with.")
        table_slides(deck, title, [], [], empty=empty)
        return
    note = _("Against “%(title)s”, frozen on %(when)s.") % {
        "title": previous.title,
        "when": previous.opened_at.date().isoformat() if previous.opened_at else "—",
    }
    columns = [
        Column(_("Item"), 4.4),
        Column(_("What changed (before → after)"), 5.0),
        Column(_("Reason"), 3.0),
    ]
    rows: list[list[Cell]] = []
    for item, reason in content.changes:
        why = "—"
        if reason:
            why = reason.get_kind_display() + (f": {reason.note}" if reason.note else "")
        rows.append([
            [Span(item.title, TABLE_SIZE), _muted(f" #{item.item_key}")],
            "\n".join(_change(change) for change in item.changes),
            why,
        ])  # fmt: skip
    table_slides(deck, title, columns, rows, note=note, empty=_("Nothing changed since then."))


def _roadmap_slides(deck: Deck, content: PackContent) -> None:
    columns = [
        Column("#", 0.45, numeric=True),
        Column(_("Item"), 3.28),
        Column(_("Status"), 1.25),
        Column(_("Target"), 0.95),
        Column("RICE", 0.8, numeric=True),
        Column("WSJF", 0.7, numeric=True),
        Column(_("People cost"), 1.55, numeric=True),
        Column(_("BigQuery / month"), 1.45, numeric=True),
        Column(_("Decision"), 2.0),
    ]
    rows: list[list[Cell]] = []
    for item in content.items:
        name = [Span(item["title"], TABLE_SIZE, bold=True), _muted(f" #{item['id']}")]
        if content.fix_first.get(item["id"]):
            name.append(Span(" " + _("fix before new features"), TABLE_SIZE, True, WARN))
        decision = content.decisions.get(item["id"])
        rows.append([
            str(item["rank"] or ""),
            name,
            status_label(item["status"]),
            item["target_quarter"] or "—",
            snap_number(item["rice_score"]),
            snap_number(item["wsjf_score"]),
            snap_money(item["people_cost"]),
            snap_money(item["bq_monthly_cost_change"]),
            [Span(decision.get_outcome_display(), TABLE_SIZE, bold=True)]
            if decision
            else content.asked.get(item["id"], ""),
        ])  # fmt: skip
    table_slides(deck, _("The ranked roadmap"), columns, rows)


def _cost_slides(deck: Deck, content: PackContent, charts: dict[str, str]) -> None:
    cost = content.cost
    title = _("BigQuery cost")
    if not cost.months or not charts:
        table_slides(deck, title, [], [], empty=_("No billing data yet."))
        return
    note = _(
        "Net cost (cost + credits) by usage month, %(first)s to %(last)s; data complete "
        "through %(through)s. The last month is not over yet."
    ) % {
        "first": cost.month_labels[0],
        "last": cost.month_labels[-1],
        "through": cost.complete_through.isoformat() if cost.complete_through else "—",
    }
    for index, (name, svg) in enumerate(charts.items(), start=1):
        suffix = f" ({index}/{len(charts)})" if len(charts) > 1 else ""
        slide = deck.slide(title + suffix)
        box(slide, MARGIN, BODY_TOP, BODY_WIDTH, Inches(0.4), [[Span(note, 13, colour=MUTED)]])
        picture = slide.shapes.add_picture(
            io.BytesIO(chart_png(svg)), Emu(MARGIN), Emu(BODY_TOP + Inches(0.45))
        )
        # As wide as the slide allows, less tall if a long legend made the chart taller.
        scale = min(BODY_WIDTH / picture.width, Inches(4.6) / picture.height)
        picture.width = Emu(int(picture.width * scale))
        picture.height = Emu(int(picture.height * scale))
        picture.left = Emu((WIDTH - picture.width) // 2)
        source = cost.sources["by_service" if name.startswith("service") else "by_team"]
        box(slide, MARGIN, BODY_TOP + Inches(0.5) + picture.height, BODY_WIDTH, Inches(0.3),
            [[Span(f"{_('Source')}: {source}", size=10, colour=MUTED)]])  # fmt: skip


def _commitment_slides(deck: Deck, content: PackContent) -> None:
    columns = [
        Column(_("Item"), 3.0),
        Column(_("Decision"), 1.5),
        Column(_("Commitment"), 3.6),
        Column(_("By whom"), 1.8),
        Column(_("Due"), 1.0),
        Column(_("Outcome"), 1.5),
    ]
    rows: list[list[Cell]] = []
    for check in content.commitments:
        commitment = check.commitment
        owner = content.names.get(commitment.owner_id) if commitment.owner_id else None
        outcome = check.label + (f" ({check.reached_on.isoformat()})" if check.reached_on else "")
        promised = commitment.get_promised_status_display().lower()
        colour = WARN if check.outcome == "missed" else INK
        rows.append([
            commitment.decision.review_item.title,
            commitment.decision.get_outcome_display(),
            f"{commitment.description} ({promised})",
            owner or "—",
            commitment.due_quarter.code,
            [Span(outcome, TABLE_SIZE, bold=check.outcome != "pending", colour=colour)],
        ])  # fmt: skip
    ratios = [
        f"{quarter.quarter}: "
        + (f"{round(quarter.ratio * 100)} %" if quarter.ratio is not None else "—")
        for quarter in content.record[-6:]
    ]
    note = _("Kept-commitment ratio") + ": " + (" · ".join(ratios) or "—")
    table_slides(deck, _("Last review's decisions and commitments"), columns, rows, note=note,
                 empty=_("No commitments from a previous review."))  # fmt: skip


def _delivery_slides(deck: Deck, content: PackContent) -> None:
    """What last quarter's deliveries changed: one row per item delivered since the
    previous review, promised against realised; the charts stay in the HTML and PDF."""
    deliveries = content.deliveries
    if deliveries is None:
        return
    columns = [
        Column(_("Item"), 3.0),
        Column(_("Adoption"), 2.2),
        Column(_("Readers left"), 2.0),
        Column(_("BigQuery cost change / month"), 2.2),
        Column(_("Analyst hours saved / month"), 1.7),
        Column(_("Targets"), 1.3),
    ]
    rows: list[list[Cell]] = []
    for benefit in deliveries.benefits:
        adoption, retirement, cost, hours = (
            benefit.adoption, benefit.retirement, benefit.cost, benefit.hours
        )  # fmt: skip
        if retirement is None:
            left = "—"
        elif retirement.last_reader_left_on is not None:
            left = _("none: the last reader left on %(day)s") % {
                "day": retirement.last_reader_left_on.isoformat()
            }
        else:
            left = ngettext(
                "%(n)s reader in the last 28 days",
                "%(n)s readers in the last 28 days",
                retirement.readers_left,
            ) % {"n": retirement.readers_left}
        declared = {"declared": signed_money(cost.declared)}
        cost_text = (
            _("%(measured)s measured, %(declared)s declared")
            % {"measured": signed_money(cost.monthly_change), **declared}
            if cost.monthly_change
            else _("not measured, %(declared)s declared") % declared
        )
        promised = {"promised": number(hours.promised)}
        hours_text = (
            _("%(measured)s measured, %(promised)s promised")
            % {"measured": number(hours.measured), **promised}
            if hours.measured is not None
            else _("not measured, %(promised)s promised") % promised
        )
        colour = WARN if benefit.outcome == "missed" else INK
        delivered = benefit.delivered_on.isoformat() if benefit.delivered_on else ""
        title = [Span(benefit.title, TABLE_SIZE, bold=True),
                 _muted(f"\n#{benefit.item_id} · {delivered}")]  # fmt: skip
        rows.append([
            title,
            _("%(people)s people in %(teams)s teams, %(queries)s queries") % {
                "people": number(adoption.people), "teams": number(adoption.teams),
                "queries": number(adoption.queries),
            } if adoption is not None else "—",
            left,
            cost_text,
            hours_text,
            [Span(benefit.outcome_label, TABLE_SIZE, bold=True, colour=colour)],
        ])  # fmt: skip
    ratios = [
        _("%(quarter)s: %(benefit)s realised, %(kept)s kept")
        % {
            "quarter": row.quarter,
            "benefit": f"{round(row.benefit.ratio * 100)} %"
            if row.benefit.ratio is not None
            else "—",
            "kept": f"{round(row.record.ratio * 100)} %"
            if row.record is not None and row.record.ratio is not None
            else "—",
        }
        for row in deliveries.quarters
    ]
    note = _("Realised-benefit and kept-commitment ratios: %(ratios)s") % {
        "ratios": " · ".join(ratios) or "—"
    }
    table_slides(deck, _("What last quarter's deliveries changed"), columns, rows, note=note,
                 empty=_("No item was delivered since the previous review."))  # fmt: skip


def _budget_slides(deck: Deck, content: PackContent) -> None:
    columns = [
        Column(_("Data product"), 3.0),
        Column(_("Period"), 1.6),
        Column(_("Used / allowed"), 1.9, numeric=True),
        Column(_("Burn rate"), 1.1, numeric=True),
        Column(_("State"), 1.7),
        Column(_("Policy"), 3.1),
    ]
    rows: list[list[Cell]] = []
    for status in content.budgets:
        product = status.product
        owner = content.names.get(product.owner_id) if product.owner_id else None
        used = f"{status.used} / {status.allowed}"
        if status.late_days_used is not None:
            used += f" · {_('late days')} {status.late_days_used} / {product.late_days_allowed}"
        colour = WARN if status.state == "exhausted" else INK
        state = [Span(status.state_label, TABLE_SIZE, status.state != "healthy", colour)]
        if status.move_faster:
            state.append(_muted("\n" + _("room to move faster")))
        rows.append([
            [Span(product.name, TABLE_SIZE, bold=True), *([_muted(f"\n{owner}")] if owner else [])],
            status.period.label,
            used,
            number(status.burn_rate),
            state,
            status.policy,
        ])  # fmt: skip
    table_slides(deck, _("Error budgets"), columns, rows, empty=_("No data product yet."))


# --- Items under discussion ----------------------------------------------------------------


def _discussed(content: PackContent) -> list[tuple[dict | None, list[PackThread]]]:
    """The items under discussion, in rank order: those with an open thread or a decision
    asked for (approval of a proposal, confirmation of a change), then the session's own
    open threads (item None)."""
    changed = {item.item_key for item, _reason in content.changes}
    open_threads = [thread for thread in content.threads if not thread.resolved]
    result: list[tuple[dict | None, list[PackThread]]] = []
    for record in content.items:
        threads = [t for t in open_threads if t.item_title == record["title"]]
        if threads or record["status"] == "proposed" or record["id"] in changed:
            result.append((record, threads))
    session_threads = [thread for thread in open_threads if thread.item_title is None]
    if session_threads:
        result.append((None, session_threads))
    return result


LEFT_WIDTH = Inches(8.3)  # what is asked and why; the item's figures to the right
FIGURES_LEFT = MARGIN + LEFT_WIDTH + Inches(0.3)
FIGURES_WIDTH = WIDTH - MARGIN - FIGURES_LEFT


def _figures(record: dict) -> Paragraphs:
    figures = [
        (_("Status"), status_label(record["status"])),
        (_("Target"), record["target_quarter"] or "—"),
        (_("Team"), record["team"] or "—"),
        (_("Owner"), record["owner"] or "—"),
        ("RICE · WSJF", f"{snap_number(record['rice_score'])} · "
                        f"{snap_number(record['wsjf_score'])}"),
        (_("People cost"), snap_money(record["people_cost"])),
        (_("BigQuery / month"), snap_money(record["bq_monthly_cost_change"])),
        (_("Hours saved / month"), snap_number(record["hours_saved_per_month"])),
        (_("Payback (months)"), snap_number(record["payback_months"])),
    ]  # fmt: skip
    inner = FIGURES_WIDTH - Inches(0.24)
    return [
        [Span(label + " ", 12, colour=MUTED),
         Span(value, fitting(label + " " + value, inner, 15, smallest=12), bold=True)]
        for label, value in figures
    ]  # fmt: skip


def _thread_lines(thread: PackThread) -> Paragraphs:
    lines = [
        [Span(f"{thread.author} · {thread.kind} · ", 14, bold=True),
         Span(thread.written.date().isoformat(), 14, colour=MUTED)],
        [Span(Truncator(_plain(thread.body)).chars(280), 16)],
    ]  # fmt: skip
    if thread.replies:
        author, body = thread.replies[-1]
        n = len(thread.replies)
        replies = ngettext("%(n)s reply", "%(n)s replies", n) % {"n": n}
        lines.append([
            Span(f"↳ {replies} · {author}: ", 14, bold=True, colour=MUTED),
            Span(Truncator(_plain(body)).chars(180), 14, colour=MUTED),
        ])  # fmt: skip
    return lines


def _discussion_slides(deck: Deck, content: PackContent) -> None:
    """A slide per item under discussion: the decision asked, what changed, why the item
    matters (benefit, evidence, who asked), then its open threads, as many as fit (the
    rest are counted, to read in the PDF); the item's figures on the right."""
    changes = {item.item_key: item for item, _reason in content.changes}
    room = Emu(BODY_BOTTOM - BODY_TOP - Inches(0.2)).pt
    for record, threads in _discussed(content):
        blocks: list[Paragraphs] = []
        if record is None:
            slide = deck.slide(_("Under discussion") + ": " + _("the session"))
        else:
            rank = f"#{record['rank']} " if record["rank"] else ""
            slide = deck.slide(f"{rank}{record['title']}", size=24)
            decision = content.decisions.get(record["id"])
            asked = (
                [Span(_("Decision") + ": ", 18, bold=True),
                 Span(decision.get_outcome_display(), 18)]
                if decision else
                [Span(_("Decision asked") + ": ", 18, bold=True),
                 Span(content.asked.get(record["id"]) or "—", 18)]
            )  # fmt: skip
            blocks.append([asked])
            if record["id"] in changes:
                changed = "; ".join(_change(c) for c in changes[record["id"]].changes)
                blocks.append([[Span(_("What changed") + ": ", 16, bold=True),
                                Span(changed, 16)]])  # fmt: skip
            why = [
                (_("Who benefits"), record.get("benefit_chain") or ""),
                ("", Truncator(_plain(record.get("benefit_narrative") or "")).chars(320)),
                (_("Usage evidence"), Truncator(content.evidence.get(record["id"], "")).chars(220)),
            ]
            interviews = content.interviews.get(record["id"])
            if interviews:
                n = len(interviews.teams)
                label = ngettext("Asked for by %(n)s team", "Asked for by %(n)s teams", n)
                why.append((label % {"n": n}, ", ".join(interviews.teams)))
            for label, text in why:
                if text:
                    label_spans = [Span(label + ": ", 16, bold=True)] if label else []
                    blocks.append([[*label_spans, Span(text, 16)]])
            figures = _figures(record)
            tall = Pt(height_of(figures, FIGURES_WIDTH - Inches(0.24), space=2)) + Inches(0.3)
            tile(slide, FIGURES_LEFT, BODY_TOP + Inches(0.1), FIGURES_WIDTH, tall, figures)
        if threads:
            n = len(threads)
            heading = ngettext("%(n)s open thread", "%(n)s open threads", n) % {"n": n}
            blocks.append([[Span(heading, 16, bold=True, colour=NAVY)]])
        shown = 0
        for thread in threads:
            blocks.append(_thread_lines(thread))
            shown += 1
        # Drop threads from the end until the text fits; say how many are left out.
        while shown and sum(height_of(b, LEFT_WIDTH) for b in blocks) > room - 20:
            blocks.pop()
            shown -= 1
        if shown < len(threads):
            more = len(threads) - shown
            blocks.append([[Span(ngettext(
                "and %(n)s more open thread: see the PDF pack.",
                "and %(n)s more open threads: see the PDF pack.", more) % {"n": more},
                12, colour=MUTED)]])  # fmt: skip
        paragraphs = [line for block in blocks for line in block]
        box(slide, MARGIN, BODY_TOP + Inches(0.1), LEFT_WIDTH, BODY_BOTTOM - BODY_TOP, paragraphs)


# --- The file ------------------------------------------------------------------------------


def render_pptx(content: PackContent, *, charts: dict[str, str] | None = None) -> bytes:
    """The pack as slides; the same content gives the same bytes. `charts`: the pack's
    charts, if drawn already (`pack_charts`)."""
    deck = Deck()
    _title_slide(deck, content)
    _summary_slide(deck, content)
    _changes_slides(deck, content)
    _roadmap_slides(deck, content)
    _cost_slides(deck, content, pack_charts(content) if charts is None else charts)
    _commitment_slides(deck, content)
    _delivery_slides(deck, content)
    _budget_slides(deck, content)
    _discussion_slides(deck, content)
    session = content.session
    deck.add_footers(
        f"{session.quarter.code} · {session.title} · {_('Data as of')} {_utc(content.as_of)} UTC"
    )
    properties = deck.presentation.core_properties
    moment = content.as_of.astimezone(datetime.UTC).replace(tzinfo=None, microsecond=0)
    properties.created = properties.modified = properties.last_printed = moment
    properties.title = f"{session.title} · {_('review pack')}"
    properties.author = properties.last_modified_by = "Quarterdeck"
    properties.subject = session.quarter.code
    properties.language = language()
    properties.revision = 1
    return deck.save()
