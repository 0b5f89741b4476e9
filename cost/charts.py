"""Charts of cost and usage as SVG, drawn server-side with matplotlib (no script reaches
the page).

Readable in black and white: every stack has its own hatch as well as its own shade,
segments large enough carry their amount and every bar its total. Amounts become floats
here and only here, for drawing; the figures in the tables come from the Decimals.
"""

import io
import math
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import matplotlib

matplotlib.use("Agg")  # never an interactive backend, whatever imports pyplot first

from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator
from matplotlib.typing import RcKeyType

from cost.billing.reports import MonthlyCost

INK = "#1d2430"
# (fill, hatch, text colour): shades far enough apart to tell apart when printed in grey,
# and a different hatch for each, so colour is never the only clue.
# Straight-line hatches only: dots and circles are hundreds of path points per tile, and
# drawing them made a review pack's PDF three times slower.
STYLES = [
    ("#1f3b63", "", "#ffffff"),
    ("#9fbfe6", "//", INK),
    ("#5c5c5c", "||", "#ffffff"),
    ("#e8edf4", "xx", INK),
    ("#4f7cba", "\\\\", "#ffffff"),
    ("#bdbdbd", "+", INK),
    ("#2f6f4f", "-", "#ffffff"),
    ("#ffffff", "x", INK),
]
UNALLOCATED = ("#fdecea", "///", "#b3261e")
LEGEND_COLUMNS = 4
RC: dict[RcKeyType, Any] = {
    "svg.fonttype": "none",  # text stays text: smaller, searchable, crisp
    "svg.hashsalt": "quarterdeck",  # the same data gives the same file
    "font.family": ["DejaVu Sans", "sans-serif"],
    "font.size": 9,
    "hatch.linewidth": 0.6,
}


def _plain(text: str) -> str:
    """Text as written: matplotlib reads $...$ as maths (a team named 'Costs $1M-$2M' would
    come out garbled, and 'Team $_$' would fail)."""
    return text.replace("$", r"\$")


def short_amount(amount: float) -> str:
    """12,345 -> '12.3k'; for labels inside a chart, never for a figure in a table."""
    size = abs(amount)
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if size >= limit:
            return f"{amount / limit:,.1f}{suffix}"
    return f"{amount:,.0f}"


def monthly_cost_svg(chart: MonthlyCost, *, title: str, empty_text: str) -> str:
    """A stacked bar per month. Positive net cost stacks up from zero; negative (credits
    beyond cost, refunds) stacks down from it."""
    labels = chart.month_labels
    positions = list(range(len(labels)))
    series = [[float(amount) for amount in stack.amounts] for stack in chart.stacks]
    above, below = [0.0] * len(labels), [0.0] * len(labels)
    columns = list(zip(*series, strict=True)) if series else []
    peak = max(
        [sum(v for v in column if v > 0) for column in columns]
        + [-sum(v for v in column if v < 0) for column in columns]
        + [1e-9]
    )
    with matplotlib.rc_context(RC):
        rows = -(-len(chart.stacks) // LEGEND_COLUMNS)
        height = 3.7 + 0.25 * rows
        figure = Figure(figsize=(9.6, height))
        # Fixed margins with room for the legend below: a constrained layout would draw
        # the figure twice, doubling the time.
        figure.subplots_adjust(left=0.08, right=0.99, top=1 - 0.3 / height,
                               bottom=(0.55 + 0.25 * rows) / height)  # fmt: skip
        axes = figure.add_subplot()
        for index, (stack, values) in enumerate(zip(chart.stacks, series, strict=True)):
            fill, hatch, text = UNALLOCATED if stack.unallocated else STYLES[index % len(STYLES)]
            bottoms = [above[i] if value >= 0 else below[i] for i, value in enumerate(values)]
            bars = axes.bar(
                positions, values, bottom=bottoms, width=0.72, label=_plain(stack.label),
                facecolor=fill, hatch=hatch, edgecolor=INK, linewidth=0.5,
            )  # fmt: skip
            for i, value in enumerate(values):
                if value >= 0:
                    above[i] += value
                else:
                    below[i] += value
            for bar, value in zip(bars, values, strict=True):
                if abs(value) >= 0.09 * peak:  # only segments tall enough to hold a number
                    axes.text(
                        bar.get_x() + bar.get_width() / 2, bar.get_y() + bar.get_height() / 2,
                        short_amount(value), ha="center", va="center", fontsize=7, color=text,
                        bbox={"boxstyle": "round,pad=0.15", "linewidth": 0, "facecolor": fill},
                    )  # fmt: skip
        for i, total in enumerate(chart.month_totals):
            if total:
                axes.annotate(
                    short_amount(float(total)), (i, above[i]), xytext=(0, 3),
                    textcoords="offset points", ha="center", va="bottom", fontsize=8,
                    fontweight="bold",
                )  # fmt: skip
        axes.set_xticks(positions, labels, rotation=0 if len(labels) <= 12 else 45)
        axes.axhline(0, color=INK, linewidth=0.8)
        axes.set_ylabel(chart.currency)
        axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _pos: short_amount(value)))
        axes.grid(axis="y", color="#d9dee5", linewidth=0.6)
        axes.set_axisbelow(True)
        for side in ("top", "right"):
            axes.spines[side].set_visible(False)
        axes.set_title(_plain(title), loc="left", fontsize=10, fontweight="bold")
        axes.margins(y=0.12)
        if chart.stacks:
            # In stacking order: the first entry is the bottom segment.
            axes.legend(
                loc="upper left", bbox_to_anchor=(0, -0.11), ncol=LEGEND_COLUMNS, frameon=False,
                fontsize=8, handlelength=2.4, handleheight=1.4, borderaxespad=0,
            )  # fmt: skip
        else:
            axes.text(0.5, 0.5, empty_text, transform=axes.transAxes, ha="center", va="center")
            axes.set_yticks([])
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


def share_curve_svg(
    points: Sequence[tuple[int, Decimal]], *, mark: int, title: str, x_label: str,
    y_label: str, mark_text: str, empty_text: str,
) -> str:  # fmt: skip
    """The share of all queries the top n tables carry, n = 1, 2, ... as a line (points:
    (n, share 0-1)). A dashed guide marks n = `mark` with `mark_text`. One dark line on
    white, the guides grey and dashed: it reads the same printed in black and white.
    Beyond 200 tables the n axis is logarithmic, so the first tables keep their room."""
    xs = [n for n, _share in points]
    ys = [float(share) * 100 for _n, share in points]
    with matplotlib.rc_context(RC):
        figure = Figure(figsize=(9.6, 3.6))
        figure.subplots_adjust(left=0.08, right=0.98, top=0.9, bottom=0.15)
        axes = figure.add_subplot()
        if points:
            last = xs[-1]
            logarithmic = last > 200
            if logarithmic:
                axes.set_xscale("log")
                axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _pos: f"{value:,.0f}"))
                axes.set_xlim(1, last)
            else:
                axes.xaxis.set_major_locator(MaxNLocator(integer=True))
                axes.set_xlim(0.5 if last <= 30 else 0, last + (0.5 if last <= 30 else 0))
            axes.plot(xs, ys, color=INK, linewidth=1.8, marker="o" if last <= 30 else None,
                      markersize=3.5)  # fmt: skip
            mark = min(max(mark, 1), last)
            at_mark = ys[mark - 1]
            guide: dict[str, Any] = {"color": "#5c5c5c", "linewidth": 0.9, "linestyle": (0, (4, 3))}
            axes.axvline(mark, **guide)
            axes.axhline(at_mark, **guide)
            axes.plot([mark], [at_mark], marker="s", markersize=6, color=INK)
            # A rising curve leaves the room below it on the right of the mark, and above
            # it on the left: the label goes there, unless the mark is near an edge.
            across = math.log(mark) / math.log(last) if logarithmic else mark / max(last, 1)
            right, high = across > 0.8, at_mark > 80
            axes.annotate(
                _plain(mark_text), (mark, at_mark),
                xytext=(-8 if right else 8, 10 if right and not high else -14),
                textcoords="offset points", ha="right" if right else "left",
                va="bottom" if right and not high else "top",
                fontsize=9, fontweight="bold", color=INK,
                bbox={"boxstyle": "round,pad=0.25", "facecolor": "#ffffff", "edgecolor": INK,
                      "linewidth": 0.5},
            )  # fmt: skip
        else:
            axes.text(0.5, 0.5, _plain(empty_text), transform=axes.transAxes, ha="center",
                      va="center")  # fmt: skip
            axes.set_xticks([])
        axes.set_ylim(0, 102)
        axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _pos: f"{value:.0f}%"))
        axes.set_xlabel(_plain(x_label))
        axes.set_ylabel(_plain(y_label))
        axes.grid(axis="y", color="#d9dee5", linewidth=0.6)
        axes.set_axisbelow(True)
        for side in ("top", "right"):
            axes.spines[side].set_visible(False)
        axes.set_title(_plain(title), loc="left", fontsize=10, fontweight="bold")
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


def readers_per_week_svg(
    weeks: Sequence[tuple[str, int]], *, title: str, y_label: str, empty_text: str,
    marks: Sequence[tuple[int, str]] = (),
) -> str:  # fmt: skip
    """Readers per ISO week as bars (weeks: (label, readers)), the count above each bar,
    and a dashed guide before the week of each mark ((week index, text): the delivery, the
    switch-off target). Dark bars on white, grey dashed guides: it reads the same printed
    in black and white, and a week with no reader is a visible 0."""
    with matplotlib.rc_context(RC):
        figure = Figure(figsize=(9.6, 3.2))
        figure.subplots_adjust(left=0.07, right=0.99, top=0.88, bottom=0.22)
        axes = figure.add_subplot()
        if weeks:
            xs = list(range(len(weeks)))
            counts = [readers for _label, readers in weeks]
            axes.bar(xs, counts, color=STYLES[0][0], width=0.7)
            top = max(max(counts), 1)
            for x, count in zip(xs, counts, strict=True):
                axes.text(x, count + top * 0.02, f"{count:,}", ha="center", va="bottom",
                          fontsize=8, color=INK)  # fmt: skip
            step = max(1, math.ceil(len(weeks) / 16))  # at most 16 week labels
            axes.set_xticks(xs[::step], [_plain(label) for label, _n in weeks][::step],
                            rotation=45, ha="right")  # fmt: skip
            axes.set_xlim(-0.6, len(weeks) - 0.4)
            axes.set_ylim(0, top * 1.18)
            for index, text in marks:
                if 0 <= index < len(weeks):
                    axes.axvline(index - 0.5, color="#5c5c5c", linewidth=0.9,
                                 linestyle=(0, (4, 3)))  # fmt: skip
                    axes.text(index - 0.45, top * 1.12, _plain(text), fontsize=8,
                              color=INK, va="top")  # fmt: skip
            axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        else:
            axes.text(0.5, 0.5, _plain(empty_text), transform=axes.transAxes, ha="center",
                      va="center")  # fmt: skip
            axes.set_xticks([])
        axes.set_ylabel(_plain(y_label))
        axes.grid(axis="y", color="#d9dee5", linewidth=0.6)
        axes.set_axisbelow(True)
        for side in ("top", "right"):
            axes.spines[side].set_visible(False)
        axes.set_title(_plain(title), loc="left", fontsize=10, fontweight="bold")
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


def adoption_per_week_svg(
    weeks: Sequence[tuple[str, int, int]], *, title: str, y_label: str, total_label: str,
    empty_text: str,
) -> str:  # fmt: skip
    """Adoption per ISO week (weeks: (label, people that week, distinct people so far)):
    dark bars for the week's people with the count above each, and a black dashed line with
    square markers for the people so far, so that the two read apart printed in black and
    white; beside readers_per_week_svg, whose axes and labels it shares."""
    with matplotlib.rc_context(RC):
        figure = Figure(figsize=(9.6, 3.2))
        figure.subplots_adjust(left=0.07, right=0.99, top=0.88, bottom=0.22)
        axes = figure.add_subplot()
        if weeks:
            xs = list(range(len(weeks)))
            counts = [people for _label, people, _total in weeks]
            totals = [total for _label, _people, total in weeks]
            axes.bar(xs, counts, color=STYLES[1][0], hatch=STYLES[1][1], edgecolor=INK,
                     linewidth=0.6, width=0.7, label=_plain(y_label))  # fmt: skip
            axes.plot(xs, totals, color=INK, linewidth=1.2, linestyle=(0, (4, 2)), marker="s",
                      markersize=3.5, label=_plain(total_label))  # fmt: skip
            top = max(max(totals), max(counts), 1)
            for x, count in zip(xs, counts, strict=True):
                axes.text(x, count + top * 0.02, f"{count:,}", ha="center", va="bottom",
                          fontsize=8, color=INK)  # fmt: skip
            step = max(1, math.ceil(len(weeks) / 16))  # at most 16 week labels
            axes.set_xticks(xs[::step], [_plain(label) for label, _n, _t in weeks][::step],
                            rotation=45, ha="right")  # fmt: skip
            axes.set_xlim(-0.6, len(weeks) - 0.4)
            axes.set_ylim(0, top * 1.18)
            axes.yaxis.set_major_locator(MaxNLocator(integer=True))
            axes.legend(loc="upper left", frameon=False, fontsize=8)
        else:
            axes.text(0.5, 0.5, _plain(empty_text), transform=axes.transAxes, ha="center",
                      va="center")  # fmt: skip
            axes.set_xticks([])
        axes.set_ylabel(_plain(y_label))
        axes.grid(axis="y", color="#d9dee5", linewidth=0.6)
        axes.set_axisbelow(True)
        for side in ("top", "right"):
            axes.spines[side].set_visible(False)
        axes.set_title(_plain(title), loc="left", fontsize=10, fontweight="bold")
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()
