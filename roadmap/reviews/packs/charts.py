"""The charts of a review pack, as inline SVG scoped to the pack (so two charts on one page
cannot restyle each other)."""

import datetime
import re

from django.utils.translation import gettext as _

from cost.charts import adoption_per_week_svg, monthly_cost_svg, readers_per_week_svg
from roadmap.evidence.benefit import Adoption, ItemBenefit, Retirement
from roadmap.reviews.packs.content import PackContent

WEEK = datetime.timedelta(days=7)

# --- Rendering -----------------------------------------------------------------------------


def _scoped(svg: str, prefix: str) -> str:
    """Prefix the ids of one SVG, so that two charts in one page never share an id (a
    hatch pattern of one would fill the other)."""
    svg = re.sub(r'id="([^"]+)"', lambda m: f'id="{prefix}-{m[1]}"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{prefix}-{m[1]})", svg)
    return re.sub(r'href="#([^"]+)"', lambda m: f'href="#{prefix}-{m[1]}"', svg)


def pack_charts(content: PackContent) -> dict[str, str]:
    charts = {}
    for name, stacks, title in (
        ("service", content.cost.by_service, _("Net cost by usage month and service")),
        ("team", content.cost.by_team, _("Net cost by usage month and team")),
    ):
        for chart in stacks:
            key = f"{name}-{chart.currency}"
            svg = monthly_cost_svg(chart, title=f"{title} ({chart.currency})",
                                   empty_text=_("No cost"))  # fmt: skip
            charts[key] = _scoped(svg, key)
    return charts


def _week_index(mondays: list[datetime.date], day: datetime.date | None) -> int | None:
    if day is None:
        return None
    return next((n for n, monday in enumerate(mondays) if day < monday + WEEK), None)


def _adoption_chart(adoption: Adoption) -> str:
    last_day = datetime.timedelta(days=6)
    weeks = [
        (week.label, week.people, adoption.people_by(min(week.start + last_day, adoption.until)))
        for week in adoption.weeks
    ]
    return adoption_per_week_svg(
        weeks,
        title=_("People querying the tables it builds on, per ISO week"),
        y_label=_("People that week"),
        total_label=_("People so far"),
        empty_text=_("The job history has no day in this period."),
    )


def _readers_chart(benefit: ItemBenefit, retirement: Retirement) -> str:
    mondays = [week.start for week in retirement.weeks]
    marks = []
    for day, text in ((benefit.delivered_on, _("delivered")),
                      (retirement.target_date, _("switch-off target"))):  # fmt: skip
        index = _week_index(mondays, day)
        if index is not None:
            marks.append((index, text))
    return readers_per_week_svg(
        [(week.label, week.readers) for week in retirement.weeks],
        title=_("Readers of the retired tables, per ISO week"),
        y_label=_("Readers"),
        empty_text=_("The job history has no day in this period."),
        marks=marks,
    )


def delivery_charts(content: PackContent) -> dict[int, list[str]]:
    """Per item of "What last quarter's deliveries changed", by id: its adoption chart
    (when it builds on tables), then its readers-left chart (when it retires tables),
    each scoped to its own prefix."""
    charts: dict[int, list[str]] = {}
    if content.deliveries is None:
        return charts
    for benefit in content.deliveries.benefits:
        svgs = charts.setdefault(benefit.item_id, [])
        if benefit.adoption is not None:
            svgs.append(_scoped(_adoption_chart(benefit.adoption), f"adoption-{benefit.item_id}"))
        if benefit.retirement is not None:
            svgs.append(_scoped(_readers_chart(benefit, benefit.retirement),
                                f"readers-{benefit.item_id}"))  # fmt: skip
    return charts
