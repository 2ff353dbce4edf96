"""A Cloud Billing budget on the environment's project."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gkeml.framework import Construct, google

NANOS = 1_000_000_000


@dataclass(frozen=True)
class BudgetProps:
    """The budget's billing account, project, monthly amount, thresholds and recipients."""

    project: str
    project_number: str
    billing_account: str
    display_name: str
    amount: float
    currency: str
    thresholds: tuple[float, ...]
    forecast_thresholds: tuple[float, ...] = ()
    notify_billing_admins: bool = True


class ProjectBudget(Construct):
    """A monthly budget on one project's spend (all credits included), alerting on actual spend past
    each threshold and on forecast spend past each forecast threshold; notifications go to the
    billing account's administrators (unless turned off), to email notification channels and to a
    Pub/Sub topic. The Budget API needs a quota project: the budget uses its own google provider
    with ``billing_project`` = the environment's project and ``user_project_override``, which works
    with a person's credentials as well as with CI's service account."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        props: BudgetProps,
        *,
        channels: Sequence[Any] = (),
        pubsub_topic: Any | None = None,
        depends_on: Sequence[Any] = (),
    ):
        super().__init__(scope, id)
        bb = google("billing_budget")
        self.props = props
        self.provider = google("provider").GoogleProvider(
            self,
            "billing-provider",
            alias="billing",
            project=props.project,
            billing_project=props.project,
            user_project_override=True,
        )
        units, nanos = divmod(round(props.amount * NANOS), NANOS)  # nanos in [0, 1e9): 9.9999999999 is 10 units
        rules = [
            bb.BillingBudgetThresholdRules(threshold_percent=t, spend_basis="CURRENT_SPEND") for t in props.thresholds
        ]
        rules += [
            bb.BillingBudgetThresholdRules(threshold_percent=t, spend_basis="FORECASTED_SPEND")
            for t in props.forecast_thresholds
        ]
        self.budget = bb.BillingBudget(
            self,
            "budget",
            provider=self.provider,
            billing_account=props.billing_account,
            display_name=props.display_name,
            budget_filter=bb.BillingBudgetBudgetFilter(
                projects=[f"projects/{props.project_number}"],
                calendar_period="MONTH",
                credit_types_treatment="INCLUDE_ALL_CREDITS",
            ),
            amount=bb.BillingBudgetAmount(
                specified_amount=bb.BillingBudgetAmountSpecifiedAmount(
                    currency_code=props.currency, units=str(units), nanos=nanos or None
                )
            ),
            threshold_rules=rules,
            all_updates_rule=bb.BillingBudgetAllUpdatesRule(
                monitoring_notification_channels=list(channels) or None,
                pubsub_topic=pubsub_topic,
                schema_version="1.0" if pubsub_topic is not None else None,
                disable_default_iam_recipients=not props.notify_billing_admins,
            ),
            depends_on=list(depends_on) or None,
        )
