"""The capacity ladder in money (gkeml/cost/ladder.py) on the fixture environments: every rung priced, the
expected mix, the committed-use what-if, and what ``gkeml cost`` shows of them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import ENV_NAMES
from hypothesis import given
from hypothesis import strategies as st

from gkeml.cli import main
from gkeml.cost import estimate, load_prices
from gkeml.cost.ladder import expected_mix, ladder, load_capacity
from gkeml.environments import load_environment

FIXTURES = Path(__file__).parent / "fixtures" / "environments"
# gkeml job explain's fixture: this project's reservation of 2 A100 VMs, first rung of class a100-reserved
EXPLAIN = Path(__file__).parent / "fixtures" / "explain" / "environments"


def env_of(name: str):
    return load_environment(FIXTURES / f"{name}.yaml")


@pytest.mark.parametrize("name", ENV_NAMES)
def test_every_workload_has_its_ladder_and_a_commitment_never_raises_the_total(name):
    env, prices = env_of(name), load_prices()
    est = estimate(env, prices)
    for term in ("1y", "3y"):
        ld = ladder(env, prices, term=term)
        assert [i.key for i in ld.items] == [i.key for i in est.items if i.kind in ("inference", "training")]
        for item in ld.items:
            assert sum(r.share for r in item.rungs) == pytest.approx(1.0)
            first = est.item(item.key).autopilot
            assert item.first_rung.low == pytest.approx(first.low) and item.first_rung.high == pytest.approx(first.high)
        assert all(c.saving >= 0 for c in ld.commitments)
        assert ld.saving - ld.reservation_saving <= ld.expected.low + 1e-9
        assert ld.expected_with_commitment.low >= 0


@given(
    st.lists(st.sampled_from(["spot", "on-demand", "flex-start"]), min_size=1, max_size=3, unique=True),
    st.floats(0, 1),
    st.floats(0, 1),
)
def test_the_mix_sums_to_one_whatever_the_availability(rungs, spot, on_demand):
    capacity = load_capacity().model_copy(update={"availability": {"spot": spot, "on-demand": on_demand}})
    shares = expected_mix(rungs, capacity)
    assert sum(shares) == pytest.approx(1.0) and all(0 <= s <= 1 for s in shares)


def test_a_class_ladder_prices_each_rung_and_all_spot_is_the_estimate_s_figure():
    env, prices = env_of("lab"), load_prices()
    ld = ladder(env, prices)
    chat = next(i for i in ld.items if i.key == "inference/chat")
    assert [r.price.rung for r in chat.rungs] == ["spot", "on-demand", "flex-start"]
    spot, on_demand, flex = (r.price.hour for r in chat.rungs)
    assert spot < on_demand
    assert flex == pytest.approx(on_demand)  # no flex-start discount is listed for G2 (L4)
    assert chat.expected.low > chat.first_rung.low  # Spot is not always there: the mix costs more
    all_spot = load_capacity().model_copy(update={"availability": {"spot": 1.0}})
    chat_spot = next(i for i in ladder(env, prices, all_spot).items if i.key == "inference/chat")
    assert chat_spot.expected.low == pytest.approx(estimate(env, prices).item("inference/chat").autopilot.low)


def test_flex_start_on_a2_and_a3_gets_the_dws_discount():
    from gkeml.cost.estimate import Estimator, Workload
    from gkeml.cost.ladder import rung_price

    capacity, estimator = load_capacity(), Estimator(load_prices())
    w = Workload("job/x", "t", 20, 200, "nvidia-h100-80gb", 8, False, None, (1, 1), 1.0, "1 h")
    on_demand, flex = rung_price(estimator, w, "on-demand", capacity), rung_price(estimator, w, "flex-start", capacity)
    assert flex.hour < on_demand.hour
    assert "capacity.flex_start_discount" in flex.unconfirmed


def test_a_commitment_only_where_the_workload_runs_past_the_break_even():
    env, prices = env_of("live"), load_prices()
    ld = ladder(env, prices, term="1y")
    lines = {c.key: c for c in ld.commitments}
    always_on = lines["inference/chat (on-demand)"]  # 24 h a day
    assert always_on.kind == "resource_based" and always_on.committed and always_on.utilization == 1.0
    assert lines["inference/embed (on-demand)"].kind == "autopilot_flexible"
    part_time = lines["training/pretrain-h100 (on-demand)"]  # 12 h x 10 days of 730 h
    assert not part_time.committed and part_time.saving == 0 and part_time.utilization < part_time.break_even
    assert all("spot" not in key for key in lines)  # Spot gets no committed-use discount
    three = ladder(env, prices, term="3y")
    assert three.saving > ld.saving


def test_cost_shows_the_ladder_and_the_commitment_what_if(capsys):
    argv = ["cost", "live", "--environments", str(FIXTURES), "--commit", "3y"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "Capacity ladder (USD per month" in out
    assert "Committed-use what-if (3y, ESTIMATE" in out
    assert main([*argv, "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ladder"]["commitment"]["term"] == "3y" and data["ladder"]["commitment"]["estimate"] is True
    assert {i["item"] for i in data["ladder"]["items"]} >= {"inference/chat", "training/pretrain-h100"}
    assert data["ladder"]["capacity_table"]["sources"]["gke_cud"].startswith("https://cloud.google.com/")
    assert main([*argv, "--format", "markdown"]) == 0
    markdown = capsys.readouterr().out
    assert "**Capacity ladder**" in markdown and "| `inference/chat` | on-demand |" in markdown
    assert "Committed-use what-if (3y, an estimate)" in markdown


def reserved_env(shared: bool = False):
    from gkeml.environments import parse_environment

    text = (EXPLAIN / "ex.yaml").read_text()
    if shared:
        text = text.replace("{name: a100-pool, zone", "{name: a100-pool, project: ex-capacity-ml, zone")
    return parse_environment(text, "ex.yaml")


@pytest.mark.parametrize("shared", [False, True], ids=["own", "shared"])
def test_a_reserved_rung_costs_the_premium_alone_its_vms_are_on_the_reservation_s_line(shared):
    from gkeml.cost.estimate import Estimator, Workload
    from gkeml.cost.ladder import rung_price, rungs_of

    env, prices, capacity = reserved_env(shared), load_prices(), load_capacity()
    w = Workload("job/pair", "research", 8, 64, "nvidia-a100-80gb", 1, False, "a100-reserved", (2, 2), 1.0, "1 h")
    assert rungs_of(env, w) == ["reservation/a100-pool", "on-demand"]
    estimator = Estimator(prices)
    reserved, on_demand = (rung_price(estimator, w, rung, capacity) for rung in rungs_of(env, w))
    vm = prices.machines["a2-ultragpu-1g"].on_demand_hour
    assert on_demand.hour - reserved.hour == pytest.approx(vm)  # the premium alone: the VM is the reservation's
    assert "a2-ultragpu-1g from the reservation: premium" in reserved.basis
    assert reserved.committable == 0  # its VMs are committed on the reservation's line, if at all
    line = estimate(env, prices).item("reservation/a100-pool")
    assert line.kind == "reservation"
    assert line.autopilot.low == line.autopilot.high == pytest.approx(0 if shared else 2 * vm * prices.hours_per_month)


def test_a_commitment_bills_this_project_s_reservation_at_the_committed_rate(capsys):
    env, prices = reserved_env(), load_prices()
    month = estimate(env, prices).item("reservation/a100-pool").autopilot.low
    for term in ("1y", "3y"):
        ld = ladder(env, prices, term=term)
        (line,) = ld.commitments  # the fixture has no workload: the reservation is all there is to commit
        discount = load_capacity().commitments[term].resource_based
        assert line.key == "reservation/a100-pool" and line.kind == "resource_based" and line.reservation
        assert line.committed and line.saving == pytest.approx(month * discount)  # its VMs at (1 - discount)
        assert ld.reservation_saving == ld.saving and ld.expected_with_commitment.low == ld.expected.low == 0
    assert ladder(reserved_env(shared=True), prices, term="1y").commitments == []  # the owner commits it

    argv = ["cost", "ex", "--environments", str(EXPLAIN), "--commit", "1y"]
    assert main([*argv, "--format", "json"]) == 0
    what_if = json.loads(capsys.readouterr().out)["ladder"]["commitment"]
    discount = load_capacity().commitments["1y"].resource_based
    saving = round(month * discount, 2)
    assert what_if["saving"] == what_if["reservation_saving"] == saving
    assert what_if["expected_with_commitment"] == {"min": 0.0, "max": 0.0}  # not the workloads' saving
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert re.search(rf"reservation/a100-pool +resource based +{discount * 100:g} %", out), out
    assert f"({saving:,.2f} of it on the reservations' own lines); expected mix with it: 0.00 - 0.00" in out
