"""Chart labels are text as written, whatever characters a team or service name has."""

from decimal import Decimal

from cost.billing.reports import MonthlyCost, Stack
from cost.charts import monthly_cost_svg


def test_dollar_signs_in_names_are_drawn_as_written_not_as_maths():
    chart = MonthlyCost(
        currency="USD",
        months=("202610", "202611"),
        stacks=(
            Stack(label="Team $_$", amounts=(Decimal(1), Decimal(2))),
            Stack(label="Costs $1M-$2M", amounts=(Decimal(3), Decimal(4))),
        ),
    )
    svg = monthly_cost_svg(chart, title="Spend in $ by team", empty_text="none")
    assert "Team $_$" in svg
    assert "Costs $1M-$2M" in svg
    assert "Spend in $ by team" in svg
