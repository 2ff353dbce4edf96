"""Monthly cost estimates: Autopilot as configured, Standard for comparison, a pull request's change.

Pure Python; prices come from the dated table ``prices.json``."""

from gkeml.cost.estimate import BudgetLine, Cost, CostError, Estimate, Estimator, LineItem, budget_amount, estimate
from gkeml.cost.prices import DEFAULT_PRICES, PriceTable, load_prices
from gkeml.cost.report import changes, delta_dict, render_delta, render_markdown, render_table

__all__ = [
    "DEFAULT_PRICES",
    "BudgetLine",
    "Cost",
    "CostError",
    "Estimate",
    "Estimator",
    "LineItem",
    "PriceTable",
    "changes",
    "budget_amount",
    "delta_dict",
    "estimate",
    "load_prices",
    "render_delta",
    "render_markdown",
    "render_table",
]
