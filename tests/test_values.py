"""Values that look right but are not: each class is refused when the file is loaded, with its file,
line and the fix (a memory size without a unit, an external metric written with '/', a training budget
no job of that size could ever run with), and the team's quota is the one statement of its capacity
(the Kueue objects, the budget check, `gkeml cost`'s quota ceiling and the doctor read it)."""

from __future__ import annotations

import pytest
import yaml
from conftest import ENV_NAMES, ENVIRONMENTS
from job_env import GOOD

from gkeml.config import ConfigError
from gkeml.environments import parse_environment
from gkeml.jobs import parse_job_spec
from gkeml.manifests.kueue import kueue_plan
from gkeml.rules.engine import Group
from gkeml.rules.queueing import ceiling

LAB = (ENVIRONMENTS / "lab.yaml").read_text()
LIVE = (ENVIRONMENTS / "live.yaml").read_text()


def problems(text: str, file: str = "lab.yaml") -> list[str]:
    """The one-line problems of an environment text ([] when it loads)."""
    try:
        parse_environment(text, file)
    except ConfigError as exc:
        return str(exc).splitlines()
    return []


def edited(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


# --- a memory size without a unit ---------------------------------------------------------------


MEMORY_FIELDS = [  # (old text, new text with the value, the field reported)
    (
        'quota: {cpu: "32", memory: 128Gi, gpus: 2}',
        'quota: {cpu: "32", memory: VALUE, gpus: 2}',
        "teams[1].quota.memory",
    ),
    (
        '    cpu: "4"\n    memory: 16Gi\n    compute_class',
        '    cpu: "4"\n    memory: VALUE\n    compute_class',
        "inference[0].memory",
    ),
    ("    memory: 16Gi\n    spot: true", "    memory: VALUE\n    spot: true", "training[0].memory"),
]


@pytest.mark.parametrize(("old", "new", "field"), MEMORY_FIELDS)
@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("128", "'128' has no unit, which Kubernetes reads as 128 bytes; did you mean 128Gi?"),
        ('"2048"', "'2048' has no unit, which Kubernetes reads as 2048 bytes; did you mean 2048Mi?"),
        ("17179869184", "did you mean 16Gi?"),
        ("128m", "'128m' is 0.128 bytes (m is thousandths); did you mean 128Mi?"),
        ("12x", "'12x' is not allowed; use a size with a unit such as 512Mi, 16Gi or 1.5Ti"),
    ],
)
def test_a_memory_size_without_a_unit_is_refused_at_its_line_with_the_likely_fix(old, new, field, value, message):
    replaced = new.replace("VALUE", value)
    text = edited(LAB, old, replaced)
    line = text[: text.index(replaced)].count("\n") + 1 + replaced[: replaced.index("memory")].count("\n")
    (problem,) = problems(text)
    assert problem.startswith(f"lab.yaml:{line}: {field}: ") and message in problem, problem


@pytest.mark.parametrize("value", ["512Mi", "1.5Gi", "16G", "0.0625Ti", "0"])
def test_memory_sizes_with_a_unit_load(value):
    for old, new, _ in MEMORY_FIELDS:
        assert not [p for p in problems(edited(LAB, old, new.replace("VALUE", value))) if "memory" in p]


@pytest.mark.parametrize("field", ["memory", "shared_memory", "ephemeral_storage", "gcsfuse.memory"])
def test_a_job_spec_memory_size_without_a_unit_is_refused(field):
    extra = "gcsfuse: {memory: 256}\n" if field == "gcsfuse.memory" else f"{field}: 256\n"
    text = GOOD + extra
    with pytest.raises(ConfigError) as err:
        parse_job_spec(text, "job.yaml")
    assert f"job.yaml:6: {field}: '256' has no unit, which Kubernetes reads as 256 bytes; did you mean 256Gi?" in str(
        err.value
    )


# --- an external metric the adapter cannot serve ------------------------------------------------

AUTOSCALING = "autoscaling: {min_replicas: 1, max_replicas: 2, cpu_utilization: 70}"


def with_metric(name: str) -> str:
    return edited(
        LAB,
        AUTOSCALING,
        f'autoscaling: {{min_replicas: 1, max_replicas: 2, external_metric: "{name}", external_target: 5}}',
    )


def test_an_external_metric_written_with_slashes_is_refused_with_the_form_the_adapter_serves():
    text = with_metric("prometheus.googleapis.com/detector_queue_depth/gauge")
    (problem,) = problems(text)
    assert problem.startswith(
        f"lab.yaml:{line_of(text, 'external_metric')}: inference[0].autoscaling.external_metric: "
        "'prometheus.googleapis.com/detector_queue_depth/gauge' has '/'"
    )
    assert problem.endswith("write it prometheus.googleapis.com|detector_queue_depth|gauge")


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("detector_queue_depth", "is not a Cloud Monitoring metric type (DOMAIN|PATH"),
        ("pubsub.googleapis.com|subscription|num undelivered", "is not a Cloud Monitoring metric type with '/'"),
        ("pubsub.googleapis.com||num_undelivered_messages", "is not a Cloud Monitoring metric type with '/'"),
        ("custom.googleapis.com|q%2Fdepth", "is not a Cloud Monitoring metric type with '/'"),
    ],
)
def test_an_external_metric_name_in_a_form_the_adapter_cannot_serve_is_refused(name, fragment):
    (problem,) = problems(with_metric(name))
    assert "inference[0].autoscaling.external_metric: " in problem and fragment in problem, problem


@pytest.mark.parametrize(
    "name",
    [
        "pubsub.googleapis.com|subscription|num_undelivered_messages",
        "prometheus.googleapis.com|job:request_rate:sum|gauge",
        "logging.googleapis.com|user|queue-depth",
        "kubernetes.io|container|cpu|core_usage_time",
        "custom.googleapis.com|queue.depth",
    ],
)
def test_external_metrics_the_adapter_serves_load(name):
    assert problems(with_metric(name)) == []


# --- a training budget beyond what its team can be given ----------------------------------------


def test_a_training_budget_beyond_the_team_quota_plus_borrowing_is_refused_at_its_line():
    """The aesthetics review's walk: a 64-L4 budget for research (quota 8, lab borrows up to 100 %)."""
    old = '    gpu_count: 1\n    cpu: "4"\n    memory: 16Gi\n    spot: true'
    text = edited(LAB, old, '    gpu_count: 8\n    nodes: 8\n    cpu: "4"\n    memory: 16Gi\n    spot: true')
    (problem,) = problems(text)
    assert problem == (
        f"lab.yaml:{line_of(text, 'gpu_count: 8')}: training[0].gpu_count: 8 node(s) x 8 GPU(s) = 64 GPU(s) at "
        "once; team research is never given more than 10 GPU(s) (8 GPU(s) of its quota on gpu-on-demand + 2 GPU(s) "
        "it may borrow) for one Spot job; lower gpu_count or nodes, or raise teams[0].quota.gpus or "
        "kueue.borrowing_limit_percent"
    )


def test_cpu_and_memory_of_a_training_budget_count_every_node():
    text = edited(LIVE, 'quota: {cpu: "512", memory: 4Ti, gpus: 32}', 'quota: {cpu: "256", memory: 1Ti, gpus: 32}')
    found = problems(text, "live.yaml")
    assert [p.split(": ", 2)[1] for p in found] == ["training[0].cpu", "training[0].memory"]
    assert (
        "2 node(s) x 200 vCPU = 400 vCPU at once; team research is never given more than 256 vCPU (its quota)"
        in (found[0])
    )
    assert found[1].endswith("or raise teams[0].quota.memory or kueue.borrowing_limit_percent")


def test_an_on_demand_budget_cannot_use_the_gpus_only_spot_jobs_may_use():
    spot_only = LAB + "kueue: {spot_gpu_percent: 100}\n"
    assert problems(spot_only) == []  # the budget is a Spot job
    on_demand = edited(spot_only, "    memory: 16Gi\n    spot: true", "    memory: 16Gi\n    spot: false")
    (problem,) = problems(on_demand)
    assert "1 GPU(s) at once; team research is never given more than 0 GPU(s) (its quota on gpu-on-demand)" in problem


def test_without_kueue_a_budget_fits_the_namespace_quota_alone():
    text = (
        edited(LAB, "    gpu_count: 1\n    cpu", "    gpu_count: 1\n    nodes: 9\n    cpu")
        + "kueue: {enabled: false}\n"
    )
    (problem,) = problems(text)
    assert "9 GPU(s) at once; team research is never given more than 8 GPU(s) (its quota) for one Spot job" in problem
    assert problem.endswith("or raise teams[0].quota.gpus")


@pytest.mark.parametrize("name", ENV_NAMES)
def test_the_config_ceiling_is_what_gkeml_check_reads_from_the_emitted_cluster_queues(environments, name):
    """The budget check computes from the config what rule GKE026 reads back from the ClusterQueues: the two
    must agree for every team, resource and flavor (one statement of capacity, checked where it is written)."""
    from gkeml.config.kueue import admission_ceiling

    env = environments[name]
    plan = kueue_plan(env)
    assert plan is not None
    group = Group(plan.queues)
    for team in env.teams:
        (cq,) = [o for o in plan.queues if o["kind"] == "ClusterQueue" and o["metadata"]["name"] == team.name]
        for spot, flavors in ((True, ("gpu-spot", "gpu-on-demand")), (False, ("gpu-on-demand",))):
            found = admission_ceiling(env, team, spot)
            assert found["gpus"].amount == max(ceiling(cq, group, f, "nvidia.com/gpu") for f in flavors)
            assert found["cpu"].amount == round(ceiling(cq, group, "default", "cpu") * 1000)
            assert found["memory"].amount == ceiling(cq, group, "default", "memory")


def test_kueue_is_on_by_default_from_the_validated_quotas():
    assert parse_environment(LAB, "lab.yaml").kueue.enabled is True
    data = yaml.safe_load(LAB)
    for team in data["teams"]:
        team["quota"]["gpus"] = 0
    data.pop("training")
    assert parse_environment(yaml.safe_dump(data), "lab.yaml").kueue.enabled is False
    data["kueue"] = {"enabled": True}
    assert parse_environment(yaml.safe_dump(data), "lab.yaml").kueue.enabled is True


# --- availability as a choice ---------------------------------------------------------------------

STAGE = (ENVIRONMENTS / "stage.yaml").read_text()
BEST_EFFORT = "    availability: best-effort   # testers only: a rollout may pause it (gkeml check reports ENV002)\n"


def test_outside_dev_one_replica_needs_availability_best_effort_written_out():
    text = edited(STAGE, BEST_EFFORT, "")
    (problem,) = problems(text, "stage.yaml")
    assert problem == (
        f"stage.yaml:{line_of(text, 'min_replicas: 1')}: inference[0].autoscaling.min_replicas: 1 replica with "
        "availability high (the default outside dev): the service is down during every rollout (rollout: replace "
        "stops the only pod before its successor is ready), every node upgrade, drain or eviction (its "
        "PodDisruptionBudget lets the only pod go); set min_replicas: 2 (its team's quota must hold max_replicas), "
        "or availability: best-effort to accept it"
    )
    assert problems(edited(text, "min_replicas: 1,", "min_replicas: 2,"), "stage.yaml") == []
    assert problems(STAGE, "stage.yaml") == []  # best-effort, written out


def test_in_dev_one_replica_is_the_default_best_effort_unless_high_is_asked_for():
    assert parse_environment(LAB, "lab.yaml").inference[0].availability == "best-effort"
    high = edited(LAB, AUTOSCALING, AUTOSCALING + "\n    availability: high")
    (problem,) = problems(high)
    assert problem.startswith(f"lab.yaml:{line_of(high, 'min_replicas')}: inference[0].autoscaling.min_replicas: ")
    assert "1 replica with availability high: the service is down during" in problem
    assert "every move back to spot (compute class l4-spot-first migrates its pods)" in problem


def test_gkeml_check_reports_every_service_that_accepts_downtime_without_failing(tmp_path, capsys):
    import json

    from gkeml.cli import main

    directory = tmp_path / "environments"
    directory.mkdir()
    (directory / "stage.yaml").write_text(STAGE)
    (directory / "mini.yaml").write_text((ENVIRONMENTS / "mini.yaml").read_text())
    args = ["check", "--no-checkov", "--environments", str(directory), "--jobs", str(tmp_path / "none")]
    code = main([*args, "--synth-dir", str(tmp_path / "out"), "--format", "json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    found, large = [f for f in data["findings"] if f["rule"] == "ENV002"]
    assert large["object"] == "LeaderWorkerSet/serving/chat-large"  # a multi-host model: its groups are the replicas
    assert found == {
        "rule": "ENV002",
        "severity": "warning",
        "object": "Deployment/serving/chat",
        "field": "inference[0].autoscaling.min_replicas",
        "message": "inference service chat runs 1 replica (availability best-effort): it is down during every "
        "rollout (rollout: replace stops the only pod before its successor is ready), every node upgrade, drain or "
        "eviction (its PodDisruptionBudget lets the only pod go)",
        "fix": "set autoscaling.min_replicas: 2 (and availability: high) where it must stay up",
        "source": f"{directory / 'stage.yaml'}:{line_of(STAGE, 'min_replicas: 1')}",
    }
