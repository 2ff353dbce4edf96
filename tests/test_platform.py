"""Platform facts that are rules, not just data: the one function that says what Autopilot bills."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gkeml import platform

CLASSES = [platform.GENERAL_PURPOSE, platform.GENERAL_PURPOSE_NO_BURSTING, *platform.COMPUTE_CLASSES.values()]
requests = st.floats(min_value=0.0, max_value=300.0, allow_nan=False, allow_infinity=False)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: f"{c.name}-step{c.cpu_step}")
@settings(max_examples=200, deadline=None)
@given(cpu=requests, memory=requests)
def test_billed_requests_are_never_lower_and_satisfy_every_class_rule(cls, cpu, memory):
    billed_cpu, billed_memory = cls.billed_requests(cpu, memory)
    assert billed_cpu >= cpu - 1e-9 and billed_memory >= memory - 1e-9  # Autopilot only raises
    assert billed_cpu >= cls.min_cpu - 1e-9 and billed_memory >= cls.min_memory_gib - 1e-9
    if cls.cpu_step:
        assert abs(round(billed_cpu / cls.cpu_step) * cls.cpu_step - billed_cpu) < 1e-6
    if cls.min_ratio is not None:
        assert billed_memory >= billed_cpu * cls.min_ratio - 1e-6
    if cls.max_ratio is not None:
        assert billed_memory <= billed_cpu * cls.max_ratio + 1e-6
    # what is billed is already valid: applying the rules again changes nothing
    again = cls.billed_requests(billed_cpu, billed_memory)
    assert again == pytest.approx((billed_cpu, billed_memory))


def test_the_check_and_the_cost_estimate_use_the_same_adjustment():
    """gkeml check (GKE007) and gkeml cost must agree on what a Pod is billed for."""
    from gkeml.cost.estimate import autopilot_requests

    cls = platform.GENERAL_PURPOSE_NO_BURSTING
    for cpu, memory in [(0.6, 0.5), (0.1, 7.0), (3.3, 1.0), (29.9, 2.0)]:
        assert autopilot_requests(cpu, memory, cls, "x") == cls.billed_requests(cpu, memory)
