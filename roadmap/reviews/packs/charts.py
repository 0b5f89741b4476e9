"""The charts of a review pack, as inline SVG scoped to the pack (so two charts on one page
cannot restyle each other)."""

import re

from django.utils.translation import gettext as _

from cost.charts import monthly_cost_svg
from roadmap.reviews.packs.content import PackContent

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
