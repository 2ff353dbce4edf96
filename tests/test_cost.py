"""The cost estimator pinned to worked examples computed by hand.

The examples use a small price table with round numbers (written below, passed
like ``--prices``), so each expected figure can be checked with a pencil:

    month = 730 h; inference hours = hours_per_day x 730 / 24
    Autopilot Pod  = (vCPU x vcpu_rate + GiB x gib_rate + 1 GiB ephemeral x eph_rate) x hours x replicas
    Autopilot GPU  = (VM + premium/GPU x GPUs + premium/vCPU x node vCPU + premium/GiB x node GiB) x hours x nodes
    Standard       = nodes x machine price x hours, nodes = ceil(replicas / Pods per node)

Node allocatable (GKE reservations) for e2-standard-8 / g2-standard-8 (8 vCPU, 32 GiB):
    CPU    8 - (0.06 + 0.01 + 2 x 0.005 + 4 x 0.0025 = 0.09) - 0.2 DaemonSets          = 7.71 vCPU
    memory 32 - (4 x 0.25 + 4 x 0.20 + 8 x 0.10 + 16 x 0.06 = 3.56) - 0.1 evict - 0.4 = 27.94 GiB
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from gkeml import platform
from gkeml.config import Environment
from gkeml.cost import CostError, estimate, load_prices, render_delta, render_markdown, render_table
from gkeml.cost.estimate import autopilot_requests
from gkeml.environments import parse_environment

ROUND_PRICES = {
    "region": "us-central1",
    "currency": "USD",
    "date": "2026-11-28",
    "hours_per_month": 730,
    "sources": {"gke": "https://cloud.google.com/kubernetes-engine/pricing"},
    "cluster": {"fee_per_hour": 0.10, "free_tier_credit_per_month": 74.40},
    "autopilot": {
        "pod": {
            "general-purpose": {
                "regular": {"vcpu_hour": 0.04, "gib_hour": 0.005, "ephemeral_gib_hour": 0.0001},
                "spot": {"vcpu_hour": 0.012, "gib_hour": 0.0015, "ephemeral_gib_hour": 0.0001},
            }
        },
        "gpu_premium": {
            "nvidia-l4": {
                "regular": {"gpu_hour": 0.10, "vcpu_hour": 0.002, "gib_hour": 0.0005},
                "spot": {"gpu_hour": 0.03, "vcpu_hour": 0.0006, "gib_hour": 0.00015},
            }
        },
    },
    "machines": {
        "e2-standard-2": {"vcpu": 2, "memory_gib": 8, "on_demand_hour": 0.05, "spot_hour": 0.015},
        "e2-standard-8": {"vcpu": 8, "memory_gib": 32, "on_demand_hour": 0.20, "spot_hour": 0.06},
        "e2-standard-16": {"vcpu": 16, "memory_gib": 64, "on_demand_hour": 0.40, "spot_hour": 0.12},
        "g2-standard-8": {"vcpu": 8, "memory_gib": 32, "on_demand_hour": 1.00, "spot_hour": 0.30},
        "g2-standard-48": {"vcpu": 48, "memory_gib": 192, "on_demand_hour": 5.00, "spot_hour": 1.50},
    },
    "gpus": {"nvidia-l4": {"machines": {"1": ["g2-standard-8"], "4": ["g2-standard-48"]}}},
    "storage": {
        "region": {"STANDARD": 0.02, "NEARLINE": 0.01, "COLDLINE": 0.004, "ARCHIVE": 0.001},
        "multi-region": {"STANDARD": 0.026, "NEARLINE": 0.015, "COLDLINE": 0.007, "ARCHIVE": 0.0024},
    },
    "network": {
        "global_static_ip_in_use_hour": 0.0,
        "forwarding_rule_minimum_hour": 0.025,
        "forwarding_rules_in_minimum": 5,
        "forwarding_rule_additional_hour": 0.01,
        "forwarding_rules_per_endpoint": 2,
    },
    "standard": {
        "general_machine": "e2-standard-8",
        "system_machine": "e2-standard-2",
        "system_nodes": 1,
        "daemonset_per_node": {"vcpu": 0.2, "memory_gib": 0.4},
    },
    "estimates": {"autopilot.gpu_premium.nvidia-l4.spot": "test: marked as an estimate"},
}


def env_dict(name: str = "dev", **sections) -> dict:
    """A minimal valid environment plus the given sections."""
    base = {
        "name": name,
        "project": {"id": "acme-ml-dev", "number": "104857600123", "region": "us-central1"},
        "state": {"bucket": "acme-ml-tfstate"},
        "network": {"subnet_cidr": "10.10.0.0/20", "pods_cidr": "10.16.0.0/14", "services_cidr": "10.10.16.0/20"},
        # research's quota holds every training budget below (a budget beyond it is refused at load)
        "teams": [{"name": "serving"}, {"name": "research", "quota": {"cpu": "512", "memory": "4Ti", "gpus": 64}}],
    }
    base.update(sections)
    return base


def make_env(**sections) -> Environment:
    return parse_environment(yaml.safe_dump(env_dict(**sections)), "test.yaml")


def service(name: str, **fields) -> dict:
    """An inference service of the worked examples: 1Gi of ephemeral storage (Autopilot's default), which the
    estimate prices as requested (test_the_ephemeral_storage_a_service_requests_is_priced)."""
    return {"name": name, "team": "serving", "image": "example/app:1", "ephemeral_storage": "1Gi", **fields}


def training(name: str, **fields) -> dict:
    return {"name": name, "team": "research", **fields}


@pytest.fixture(scope="module")
def price_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("prices") / "prices.json"
    path.write_text(json.dumps(ROUND_PRICES, indent=2))
    return path


@pytest.fixture(scope="module")
def prices(price_file):
    return load_prices(price_file)


# -- worked examples ------------------------------------------------------------------


def test_steady_dense_cpu_service_is_cheaper_on_standard(prices):
    env = make_env(
        inference=[service("api", cpu="2", memory="8Gi", autoscaling={"min_replicas": 2, "max_replicas": 10})]
    )
    item = estimate(env, prices).item("inference/api")
    # Pod: 2 x 0.04 + 8 x 0.005 + 1 x 0.0001 = 0.1201 /h; 24 h/day = 730 h/month
    assert item.autopilot.low == pytest.approx(2 * 0.1201 * 730)  # 175.346
    assert item.autopilot.high == pytest.approx(10 * 0.1201 * 730)  # 876.73
    # e2-standard-8 holds min(7.71 // 2, 27.94 // 8) = 3 Pods: 2 replicas -> 1 node, 10 -> ceil(10/3) = 4 nodes
    assert item.standard.low == pytest.approx(1 * 0.20 * 730)  # 146.00
    assert item.standard.high == pytest.approx(4 * 0.20 * 730)  # 584.00
    assert "3 Pods/node" in item.standard_basis


def test_the_ephemeral_storage_a_service_requests_is_priced(prices):
    """An inference container requests its ephemeral storage explicitly (2Gi without a GPU by default), and
    Autopilot bills what it requests."""
    spec = {"name": "api", "team": "serving", "image": "example/app:1", "cpu": "2", "memory": "8Gi"}
    spec["autoscaling"] = {"min_replicas": 2, "max_replicas": 10}
    item = estimate(make_env(inference=[spec]), prices).item("inference/api")
    # Pod: 2 x 0.04 + 8 x 0.005 + 2 x 0.0001 = 0.1202 /h
    assert item.autopilot.low == pytest.approx(2 * 0.1202 * 730)
    assert "2 GiB eph." in item.basis


def test_small_intermittent_spot_service_is_cheaper_on_autopilot(prices):
    env = make_env(
        inference=[
            service(
                "batch",
                cpu="500m",
                memory="1Gi",
                spot=True,
                hours_per_day=6,
                autoscaling={"min_replicas": 1, "max_replicas": 1},
            )
        ]
    )
    item = estimate(env, prices).item("inference/batch")
    hours = 6 * 730 / 24  # 182.5 h/month
    # Spot Pod: 0.5 x 0.012 + 1 x 0.0015 + 1 x 0.0001 = 0.0076 /h
    assert item.autopilot.low == item.autopilot.high == pytest.approx(0.0076 * hours)  # 1.387
    # Standard: one whole e2-standard-8 Spot node while it runs: 0.06 x 182.5
    assert item.standard.high == pytest.approx(0.06 * hours)  # 10.95
    assert "Spot" in item.basis


def test_gpu_training_is_billed_per_node_with_the_autopilot_premium(prices):
    env = make_env(
        training=[
            training(
                "finetune", gpu="nvidia-l4", gpu_count=1, cpu="4", memory="16Gi", hours_per_day=8, days_per_month=20
            )
        ]
    )
    item = estimate(env, prices).item("training/finetune")
    hours = 8 * 20  # 160 h/month
    # g2-standard-8 (8 vCPU, 32 GiB) fits 4 vCPU / 16 GiB; premium 1 x 0.10 + 8 x 0.002 + 32 x 0.0005 = 0.132 /h
    assert item.autopilot.high == pytest.approx((1.00 + 0.132) * hours)  # 181.12
    assert item.standard.high == pytest.approx(1.00 * hours)  # 160.00: the VM without the premium
    assert "g2-standard-8" in item.basis and not item.estimated


def test_multi_node_spot_gpu_training(prices):
    env = make_env(
        training=[
            training(
                "sweep",
                gpu="nvidia-l4",
                gpu_count=4,
                nodes=2,
                cpu="40",
                memory="160Gi",
                spot=True,
                hours_per_day=10,
                days_per_month=4,
            )
        ]
    )
    item = estimate(env, prices).item("training/sweep")
    hours = 10 * 4  # 40 h/month per node
    # g2-standard-48 Spot 1.50 /h; Spot premium 4 x 0.03 + 48 x 0.0006 + 192 x 0.00015 = 0.1776 /h; 2 nodes
    assert item.autopilot.high == pytest.approx(2 * (1.50 + 0.1776) * hours)  # 134.208
    assert item.standard.high == pytest.approx(2 * 1.50 * hours)  # 120.00
    assert item.estimated  # the Spot premium is listed under 'estimates' in this table


def test_the_quota_ceiling_is_every_team_gpu_busy_all_month_on_demand(prices):
    """What the teams' GPU quotas allow at most, next to the estimate and not in its total: a team's GPUs at
    the GPU shape it runs that costs most per GPU (on-demand: Spot may fall back to it), else the environment's."""
    env = make_env(
        teams=[
            {"name": "serving", "quota": {"gpus": 2}},
            {"name": "research", "quota": {"cpu": "512", "memory": "4Ti", "gpus": 16}},
            {"name": "web"},
        ],
        training=[training("finetune", gpu="nvidia-l4", gpu_count=1, cpu="4", memory="16Gi", spot=True)],
    )
    est = estimate(env, prices)
    assert est.quota_ceiling is not None
    serving, research = est.quota_ceiling.teams  # in the order of teams; web has no GPU quota
    # g2-standard-8 on-demand 1.00 /h + premium 1 x 0.10 + 8 x 0.002 + 32 x 0.0005 = 1.132 /h for its one L4
    assert (research.team, research.gpus, research.shape) == ("research", 16, "nvidia-l4 on g2-standard-8")
    assert research.monthly == pytest.approx(16 * 1.132 * 730)  # 13,221.76
    assert (serving.gpus, serving.shape, serving.monthly) == (2, research.shape, pytest.approx(2 * 1.132 * 730))
    assert est.quota_ceiling.gpus == 18 and all(not i.key.startswith("quota") for i in est.items)
    text = render_table(est)
    assert (
        "Quota ceiling (not in the total): the teams' GPU quotas allow at most 18 GPUs at once, 14,874.48 USD per "
        "month if every one is busy all month on-demand." in text
    )
    assert "  research: 16 x nvidia-l4 on g2-standard-8 (1.1320/GPU-h): 13,221.76\n" in text
    assert "- serving: 2 x nvidia-l4 on g2-standard-8 (1.1320/GPU-h): 1,652.72" in render_markdown(est)
    assert est.to_dict()["quota_ceiling"]["teams"][1] == {
        "team": "research",
        "gpus": 16,
        "shape": "nvidia-l4 on g2-standard-8",
        "gpu_hour": 1.132,
        "monthly": 13221.76,
    }
    unpriced = estimate(make_env(), prices)  # research has 64 GPUs, nothing names a GPU to price them with
    assert "  research: 64 GPUs, not priced (no workload or compute class names a GPU)" in render_table(unpriced)
    without = estimate(make_env(teams=[{"name": "serving"}]), prices)
    assert without.quota_ceiling is None and "Quota ceiling" not in render_table(without)


def test_free_tier_credit_covers_the_autopilot_cluster_fee_only(prices):
    env = make_env()
    est = estimate(env, prices)
    # fee 0.10 x 730 = 73.00; credit min(74.40, 73.00) = 73.00 -> Autopilot pays 0 for the cluster
    assert est.item("cluster fee").autopilot.low == pytest.approx(73.0)
    assert est.item("free-tier credit").autopilot.low == pytest.approx(-73.0)
    assert est.autopilot.low == pytest.approx(0.0)
    # regional Standard: no credit, plus one always-on e2-standard-2 system node: 73.00 + 0.05 x 730
    assert est.standard.low == pytest.approx(73.0 + 36.5)
    without = estimate(env, prices, free_tier=False)
    assert without.autopilot.low == pytest.approx(73.0)
    assert [i.key for i in without.items if "credit" in i.key] == []


def test_buckets_and_endpoints(prices):
    env = make_env(
        buckets=[
            {"name": "datasets", "purpose": "datasets", "expected_size_gib": 500},
            {"name": "archive", "purpose": "artifacts", "storage_class": "ARCHIVE", "expected_size_gib": 1000},
            {"name": "shared", "purpose": "artifacts", "location": "US", "expected_size_gib": 100},
            {
                "name": "paired",
                "purpose": "checkpoints",
                "location": "US",
                "data_locations": ["us-central1", "us-east4"],
                "expected_size_gib": 100,
            },
        ],
        endpoints=[{"name": n, "host": f"{n}.example.com"} for n in ("a", "b", "c")],
    )
    est = estimate(env, prices)
    assert est.item("bucket/datasets").autopilot.low == pytest.approx(500 * 0.02)  # 10.00
    assert est.item("bucket/archive").autopilot.low == pytest.approx(1000 * 0.001)  # 1.00
    assert est.item("bucket/shared").autopilot.low == pytest.approx(100 * 0.026)  # 2.60 multi-region
    # a configurable dual-region (billed against both regions' SKUs) is priced as a multi-region
    paired = est.item("bucket/paired")
    assert paired.autopilot.low == pytest.approx(100 * 0.026)
    assert "(US [us-central1, us-east4], 0.026/GiB-month)" in paired.basis
    # 2 forwarding rules per endpoint: one 0.025 /h charge covers the project's rules 1-5 together
    # (carried by the first endpoint), each further rule costs 0.01 /h
    assert est.item("endpoint/a").autopilot.low == pytest.approx(0.025 * 730)  # 18.25: rules 1-2
    assert est.item("endpoint/b").autopilot.low == pytest.approx(0)  # rules 3-4: inside the minimum
    assert est.item("endpoint/c").autopilot.low == pytest.approx(0.01 * 730)  # 7.30: rule 6 beyond it
    assert est.item("endpoint/c").standard == est.item("endpoint/c").autopilot
    assert "rules 5-6 of the project): 1 beyond the first 5 at 0.01/h each" in est.item("endpoint/c").basis


def test_total_is_the_sum_of_the_items(prices):
    env = make_env(
        inference=[service("api", cpu="2", memory="8Gi", autoscaling={"min_replicas": 2, "max_replicas": 10})],
        buckets=[{"name": "datasets", "purpose": "datasets", "expected_size_gib": 500}],
    )
    est = estimate(env, prices)
    # cluster 73 - credit 73 + api 175.346 .. 876.73 + bucket 10
    assert est.autopilot.low == pytest.approx(175.346 + 10)
    assert est.autopilot.high == pytest.approx(876.73 + 10)
    # Standard: cluster 73 + system node 36.5 + api 146 .. 584 + bucket 10
    assert est.standard.low == pytest.approx(73 + 36.5 + 146 + 10)
    assert est.standard.high == pytest.approx(73 + 36.5 + 584 + 10)


def test_environment_outside_the_table_region_is_warned(prices):
    env = parse_environment(
        yaml.safe_dump(env_dict(project={"id": "acme-ml-eu", "number": "104857600999", "region": "europe-west4"})),
        "eu.yaml",
    )
    assert (
        "prices are for us-central1, the environment is in europe-west4; pass a table for that region with --prices"
    ) in estimate(env, prices).warnings


def test_autopilot_raises_requests_to_the_class_ratio_and_rejects_too_large():
    gp = platform.GENERAL_PURPOSE
    # 1 vCPU with 0.5 GiB is below the 1:1 ratio: memory is raised to 1 GiB
    assert autopilot_requests(1, 0.5, gp, "x") == (1, 1)
    # 1 vCPU with 13 GiB is above 1:6.5: CPU is raised to 13 / 6.5 = 2
    assert autopilot_requests(1, 13, gp, "x") == (2, 13)
    with pytest.raises(CostError, match="above the general-purpose maximum of 30 vCPU / 110 GiB"):
        autopilot_requests(32, 64, gp, "inference/big")


def test_gpu_pod_above_the_accelerator_maximum_is_an_error(prices):
    """Refused when the file is loaded (rule GKE005, at the key), and by the estimator on its own."""
    from gkeml.config import ConfigError
    from gkeml.cost.estimate import Estimator, Workload

    with pytest.raises(
        ConfigError, match="training\\[0\\].cpu: Pod requests 32 vCPU / 64 GiB exceed the 1 x nvidia-l4"
    ):
        make_env(training=[training("big", gpu="nvidia-l4", gpu_count=1, cpu="32", memory="64Gi")])
    big = Workload("training/big", "research", 32, 64, "nvidia-l4", 1, False, None, (1, 1), 10, "10 h")
    with pytest.raises(CostError, match="training/big: 32 vCPU / 64 GiB is above the maximum of 31 vCPU"):
        Estimator(prices).gpu_machine(big)


# -- the shipped price table ----------------------------------------------------------


def test_shipped_table_prices_every_platform_gpu_and_count():
    table = load_prices()
    assert table.region == "us-central1" and table.date and table.source.startswith("https://")
    for label, gpu in platform.GPUS.items():
        assert label in table.autopilot.gpu_premium, label
        for count in gpu.counts:
            assert table.gpus[label].machines.get(str(count)), f"{label} x {count} has no machine"
    for name in platform.COMPUTE_CLASSES:
        assert name in table.autopilot.pod, name


def test_default_environments_are_estimated_and_flag_estimates(environments):
    table = load_prices()
    for env in environments.values():
        est = estimate(env, table)
        keys = [i.key for i in est.items]
        services = [k for k in keys if k.startswith("inference/") and not k.endswith("/endpoint-picker")]
        assert [f"inference/{s.name}" for s in env.inference] == services
        assert est.autopilot.low <= est.autopilot.high
        # every GPU premium other than the regular L4 one is unconfirmed: such items are marked
        assert all(i.estimated for i in est.items if i.key.startswith("training/") and "H100" in i.basis)


def test_price_file_mistake_names_file_line_and_field(tmp_path):
    bad = json.loads(json.dumps(ROUND_PRICES))
    bad["standard"]["general_machine"] = "e2-huge"
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(bad, indent=2))
    write_env(tmp_path / "environments")
    code, _, err = run_cli(["cost", "dev", "--prices", str(path)], cwd=tmp_path)
    assert code == 2
    line = next(i + 1 for i, t in enumerate(path.read_text().splitlines()) if '"general_machine"' in t)
    assert f"{path}:{line}: standard.general_machine: unknown machine 'e2-huge'" in err


# -- the command ----------------------------------------------------------------------


def run_cli(argv: list[str], cwd: Path | None) -> tuple[int, str, str]:
    """Run the real ``gkeml`` command in ``cwd``; returns (exit code, stdout, stderr)."""
    proc = subprocess.run([sys.executable, "-m", "gkeml.cli", *argv], cwd=cwd, capture_output=True, text=True)
    return proc.returncode, proc.stdout, proc.stderr


def write_env(directory: Path, **sections) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "dev.yaml"
    path.write_text(yaml.safe_dump(env_dict(**sections), sort_keys=False))
    return path


def test_cost_command_json_and_table(tmp_path, price_file):
    envs = tmp_path / "environments"
    write_env(
        envs, inference=[service("api", cpu="2", memory="8Gi", autoscaling={"min_replicas": 2, "max_replicas": 10})]
    )
    code, out, _ = run_cli(
        ["cost", "dev", "--environments", str(envs), "--prices", str(price_file), "--format", "json"], cwd=tmp_path
    )
    assert code == 0
    data = json.loads(out)
    api = next(i for i in data["items"] if i["item"] == "inference/api")
    assert api["autopilot"] == {"min": 175.35, "max": 876.73}
    assert data["total"]["autopilot"] == {"min": 175.35, "max": 876.73}
    assert data["prices"] == {
        "region": "us-central1",
        "date": "2026-11-28",
        "source": "https://cloud.google.com/kubernetes-engine/pricing",
    }
    code, out, _ = run_cli(["cost", "dev", "--environments", str(envs), "--prices", str(price_file)], cwd=tmp_path)
    assert code == 0
    total = next(line for line in out.splitlines() if line.startswith("TOTAL")).split()
    assert total[1:5] == ["175.35", "876.73", "255.50", "693.50"]  # Standard: 73 + 36.5 + 146 / 584


def test_unknown_environment_is_a_usage_error(tmp_path):
    write_env(tmp_path / "environments")
    code, out, err = run_cli(["cost", "prod", "--environments", str(tmp_path / "environments")], cwd=tmp_path)
    assert code == 2 and out == ""
    assert "no environment 'prod'; defined: dev" in err


def test_help_explains_options():
    code, out, _ = run_cli(["cost", "--help"], cwd=None)
    assert code == 0
    for option in ("--format", "--prices", "--against", "--environments", "--no-free-tier"):
        assert option in out


# -- --against: a real git repository ----------------------------------------------------


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=repo, check=True, capture_output=True
    )


@pytest.fixture()
def repo(tmp_path) -> Path:
    git(tmp_path, "init", "-q", "-b", "main")
    write_env(
        tmp_path / "environments",
        inference=[service("api", cpu="2", memory="8Gi", autoscaling={"min_replicas": 2, "max_replicas": 10})],
    )
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "base")
    return tmp_path


def test_against_prints_the_monthly_delta_as_markdown(repo, price_file):
    # the change: api moves to Spot and a 4 h/day GPU training budget is added
    write_env(
        repo / "environments",
        inference=[
            service("api", cpu="2", memory="8Gi", spot=True, autoscaling={"min_replicas": 2, "max_replicas": 10})
        ],
        training=[training("eval", gpu="nvidia-l4", cpu="4", memory="16Gi", hours_per_day=4, days_per_month=10)],
    )
    code, out, _ = run_cli(["cost", "dev", "--against", "main", "--prices", str(price_file)], cwd=repo)
    assert code == 0
    # api before: 0.1201 /h x 730 x 2..10 = 175.35 .. 876.73
    # api after (Spot): 2 x 0.012 + 8 x 0.0015 + 0.0001 = 0.0361 /h x 730 x 2..10 = 52.71 .. 263.53
    # eval (new): (1.00 + 0.132) x 4 h x 10 days = 45.28
    assert "| `inference/api` | 175.35 – 876.73 | 52.71 – 263.53 | -122.64 – -613.20 |" in out
    assert "| `training/eval` | - | 45.28 | +45.28 |" in out
    # total change: -122.64 + 45.28 = -77.36 (min), -613.20 + 45.28 = -567.92 (max)
    assert "**-77.36 – -567.92**" in out
    assert out.startswith("### Monthly cost change of `dev` against `main`")


def test_against_unchanged_and_new_environment(repo, price_file):
    code, out, _ = run_cli(["cost", "dev", "--against", "main", "--prices", str(price_file)], cwd=repo)
    assert code == 0 and "No cost change (total 175.35 – 876.73 per month)." in out
    git(repo, "checkout", "-q", "--orphan", "empty")
    git(repo, "rm", "-q", "-r", "--cached", ".")
    git(repo, "commit", "-q", "--allow-empty", "-m", "empty")
    code, out, _ = run_cli(["cost", "dev", "--against", "empty", "--prices", str(price_file)], cwd=repo)
    assert code == 0 and "does not exist at `empty`" in out and "| `inference/api` | - | 175.35 – 876.73 |" in out


def test_against_unknown_ref_or_broken_old_file_is_a_usage_error(repo, price_file):
    code, _, err = run_cli(["cost", "dev", "--against", "no-such-branch"], cwd=repo)
    assert code == 2 and "'no-such-branch' is not a commit, branch or tag" in err
    (repo / "environments" / "dev.yaml").write_text(
        (repo / "environments" / "dev.yaml").read_text().replace("min_replicas: 2", "min_replicas: 0")
    )
    git(repo, "commit", "-q", "-am", "broken")
    write_env(repo / "environments")
    code, _, err = run_cli(["cost", "dev", "--against", "HEAD", "--prices", str(price_file)], cwd=repo)
    assert code == 2 and "HEAD:dev.yaml:" in err and "min_replicas" in err


def test_render_delta_without_changes_reports_the_total(prices):
    est = estimate(make_env(), prices)
    assert "No cost change (total 0.00 per month)." in render_delta(est, est, "main")


# -- money counted once: the free-tier credit, the budget, unconfirmed prices --------------------

BILLING = "0A1B2C-3D4E5F-6A7B8C"


def test_the_free_tier_credit_is_counted_once_per_billing_account(environments):
    """lab, stage and live bill to one account: together they get one credit (74.40, below their three
    fees of 73.00), not one each; mini names no account and keeps the whole credit against its fee."""
    from conftest import ENVIRONMENTS

    from gkeml.environments import billing_account_sharers

    table = load_prices()
    shared = ("lab", "live", "stage")
    total = 0.0
    for name in shared:
        env = environments[name]
        sharers = billing_account_sharers(ENVIRONMENTS / f"{name}.yaml", env)
        assert sharers == tuple(n for n in shared if n != name)
        total += estimate(env, table, credit_shared_with=sharers).item("free-tier credit").autopilot.high
    assert total == pytest.approx(-74.40)  # once for the account: 3 x 73.00 of fees, one 74.40 credit
    mini = environments["mini"]
    assert billing_account_sharers(ENVIRONMENTS / "mini.yaml", mini) == ()
    assert estimate(mini, table).item("free-tier credit").autopilot.high == pytest.approx(-73.0)


def test_a_derived_budget_does_not_count_on_the_free_tier_credit(prices):
    """The budget watches one project; the account's credit may land on another cluster: the amount is the
    Autopilot maximum with the full cluster fee, x headroom, whoever shares the account."""
    budget = {"billing_account": BILLING, "headroom": 1.2}
    env = make_env(
        budget=budget,
        inference=[service("api", cpu="2", memory="8Gi", autoscaling={"min_replicas": 2, "max_replicas": 10})],
    )
    # api: 0.1201 /h x 730 x 10 = 876.73; + fee 73.00 = 949.73; x 1.2 = 1,139.676 -> 1,140
    for sharers in ((), ("staging",), ("staging", "prod")):
        est = estimate(env, prices, credit_shared_with=sharers)
        assert est.budget.amount == 1140
    assert estimate(env, prices).autopilot.high == pytest.approx(876.73, abs=0.01)  # the estimate keeps the credit


def test_the_budget_names_the_items_priced_with_unconfirmed_values(prices):
    """ROUND_PRICES lists the L4 Spot premium under 'estimates': a Spot L4 training budget rests on it."""
    from gkeml.cost import render_markdown, render_table

    env = make_env(
        budget={"billing_account": BILLING, "headroom": 1.0},
        training=[training("sweep", gpu="nvidia-l4", gpu_count=4, cpu="40", memory="160Gi", spot=True, nodes=2)],
        inference=[service("api", cpu="2", memory="8Gi")],
    )
    est = estimate(env, prices)
    sweep = est.item("training/sweep").autopilot.high
    before_credit = est.autopilot.high + 73.0
    assert [(key, prices_) for key, _high, prices_ in est.budget.unconfirmed] == [
        ("training/sweep", ("autopilot.gpu_premium.nvidia-l4.spot",))
    ]
    assert est.budget.unconfirmed_share == pytest.approx(sweep / before_credit)
    share = f"{sweep / before_credit * 100:.0f} %"
    table = render_table(est)
    assert f"make up {share} of the maximum this budget derives from:" in table
    assert f"  training/sweep {sweep:,.2f}: autopilot.gpu_premium.nvidia-l4.spot" in table
    markdown = render_markdown(est)
    assert "<details><summary>Items priced with values the table lists under 'estimates'" in markdown
    assert f"- `training/sweep` {sweep:,.2f}: `autopilot.gpu_premium.nvidia-l4.spot`" in markdown
    data = est.to_dict()
    assert data["budget"]["unconfirmed"] == [
        {"item": "training/sweep", "max": round(sweep, 2), "prices": ["autopilot.gpu_premium.nvidia-l4.spot"]}
    ]


def test_json_items_name_their_kind_and_team(prices):
    env = make_env(
        inference=[service("api", cpu="2", memory="8Gi")],
        training=[training("eval", gpu="nvidia-l4", cpu="4", memory="16Gi")],
        buckets=[{"name": "data", "purpose": "datasets", "expected_size_gib": 10}],
    )
    items = {i["item"]: i for i in estimate(env, prices).to_dict()["items"]}
    assert (items["inference/api"]["kind"], items["inference/api"]["team"]) == ("inference", "serving")
    assert (items["training/eval"]["kind"], items["training/eval"]["team"]) == ("training", "research")
    assert (items["bucket/data"]["kind"], items["bucket/data"]["team"]) == ("bucket", None)
    assert (items["cluster fee"]["kind"], items["free-tier credit"]["kind"]) == ("cluster", "cluster")


def write_named(directory: Path, name: str, **sections) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    data = env_dict(name, **sections)
    data["project"] = {**data["project"], "id": f"acme-ml-{name}", "number": str(104857600000 + len(name))}
    data["state"] = {"bucket": f"acme-ml-{name}-tfstate"}
    path = directory / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_cost_splits_the_credit_with_the_environments_of_the_directory(tmp_path, price_file):
    envs = tmp_path / "environments"
    budget = {"billing_account": BILLING}
    write_named(envs, "dev", budget=budget)
    write_named(envs, "prod", budget=budget)
    write_named(envs, "other", budget={"billing_account": "0F0F0F-0F0F0F-0F0F0F"})
    (envs / "broken.yaml").write_text("name: [unclosed\n")  # not readable: not counted, not fatal
    code, out, err = run_cli(
        ["cost", "dev", "--environments", str(envs), "--prices", str(price_file), "--format", "json"], cwd=tmp_path
    )
    assert code == 0, err
    credit = next(i for i in json.loads(out)["items"] if i["item"] == "free-tier credit")
    # one 74.40 credit for the two clusters of the account (fees 2 x 73.00), half of it here
    assert credit["autopilot"] == {"min": -37.2, "max": -37.2}
    assert "split between the 2 environments billed to it (this one, prod)" in credit["basis"]


def test_against_shows_the_derived_budget_moving_with_the_estimate(repo, price_file):
    envs = repo / "environments"
    budget = {"billing_account": BILLING, "headroom": 1.2}
    write_env(
        envs,
        budget=budget,
        inference=[service("api", cpu="2", memory="8Gi", autoscaling={"min_replicas": 2, "max_replicas": 10})],
    )
    git(repo, "commit", "-q", "-am", "a budget")
    write_env(
        envs,
        budget=budget,
        inference=[
            service("api", cpu="2", memory="8Gi", spot=True, autoscaling={"min_replicas": 2, "max_replicas": 10})
        ],
    )
    code, out, _ = run_cli(["cost", "dev", "--against", "main", "--prices", str(price_file)], cwd=repo)
    assert code == 0
    # before: (876.73 + 73.00 fee) x 1.2 = 1,139.68 -> 1,140; after: (263.53 + 73.00) x 1.2 = 403.84 -> 404
    assert "Budget: 1,140.00 → 404.00 USD per month (-736.00; derived: Autopilot maximum 336.53" in out
    code, out, _ = run_cli(
        ["cost", "dev", "--against", "main", "--prices", str(price_file), "--format", "json"], cwd=repo
    )
    data = json.loads(out)
    assert (data["budget"]["before"]["amount"], data["budget"]["after"]["amount"]) == (1140, 404)
    assert data["total"]["change"] == {"min": -122.64, "max": -613.2}
