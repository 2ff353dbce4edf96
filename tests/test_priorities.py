"""Priority tiers: a WorkloadPriorityClass per tier of the environment, the preemption policy of every team's
ClusterQueue, and the checks of the ``kueue.priorities`` section."""

from __future__ import annotations

import kueue_crd
import pytest
import yaml
from conftest import ENV_NAMES, ENVIRONMENTS

from gkeml import platform
from gkeml.config import ConfigError
from gkeml.environments import load_environment, parse_environment
from gkeml.manifests.kueue import manager_config, priority_class_objects
from gkeml.manifests.workloads import in_cluster_plan

LIVE = (ENVIRONMENTS / "live.yaml").read_text()


@pytest.mark.parametrize("env", ENV_NAMES)
def test_every_tier_is_a_workload_priority_class_the_crd_accepts(environments, env):
    e = environments[env]
    classes = [o for o in in_cluster_plan(e).kueue.queues if o["kind"] == "WorkloadPriorityClass"]
    assert {c["metadata"]["name"]: c["value"] for c in classes} == e.kueue.priorities
    assert [c["value"] for c in classes] == sorted(e.kueue.priorities.values(), reverse=True)  # highest first
    for obj in classes:
        assert kueue_crd.problems(obj) == []
        assert "spec" not in obj  # value and description sit beside metadata
    (default,) = [c for c in classes if "default" in c["description"]]
    assert default["metadata"]["name"] == e.kueue.default_priority


def test_an_environment_names_its_own_tiers():
    env = parse_environment(LIVE, "live.yaml")
    assert env.kueue.priority_names() == ["production", "standard", "batch"]
    assert env.kueue.default_priority == "standard"
    lab = load_environment(ENVIRONMENTS / "lab.yaml")
    assert lab.kueue.priorities == {"low": 100, "normal": 1000, "high": 10000}  # the default tiers


def test_the_schema_check_refuses_a_class_the_api_server_would():
    (wpc, *_) = priority_class_objects(parse_environment(LIVE, "live.yaml"))
    assert kueue_crd.problems({**wpc, "value": 2**31}) and kueue_crd.problems({**wpc, "spec": {"value": 1}})
    assert kueue_crd.problems({k: v for k, v in wpc.items() if k != "value"})


@pytest.mark.parametrize(
    "kueue, message",
    [
        (
            "kueue: {priorities: {low: 1, high: 2}, default_priority: normal}",
            "kueue.default_priority: 'normal' is not one of priorities: low, high",
        ),
        ("kueue: {priorities: {low: 2147483648}}", "kueue.priorities.low: Input should be less than or equal to"),
        ("kueue: {priorities: {Urgent: 5}, default_priority: Urgent}", "kueue.priorities.Urgent"),
        ("kueue: {priorities: {}}", "kueue.priorities: Dictionary should have at least 1 item"),
    ],
)
def test_bad_tiers_are_refused_at_load(tmp_path, kueue, message):
    mini = (ENVIRONMENTS / "mini.yaml").read_text()
    path = tmp_path / "mini.yaml"
    path.write_text(mini + kueue + "\n")
    with pytest.raises(ConfigError) as info:
        load_environment(path)
    assert message in str(info.value), str(info.value)


@pytest.mark.parametrize("env", ENV_NAMES)
def test_the_preemption_policy_of_every_team_s_queue(environments, env):
    """Within a team: a higher tier preempts lower ones, never an equal one. Across the cohort: fair sharing,
    reclaiming from borrowers whatever their tier; borrowWithinCohort is not set (fair sharing ignores it)."""
    e = environments[env]
    for cq in (o for o in in_cluster_plan(e).kueue.queues if o["kind"] == "ClusterQueue"):
        assert cq["spec"]["preemption"] == {"reclaimWithinCohort": "Any", "withinClusterQueue": "LowerPriority"}
    config = manager_config(e)
    assert config["fairSharing"]["preemptionStrategies"] == ["LessThanOrEqualToFinalShare", "LessThanInitialShare"]
    docs = (ENVIRONMENTS.parents[2] / "docs" / "jobs.md").read_text()
    assert "## Priorities" in docs and "LowerPriority" in docs and "borrowWithinCohort" in docs


def test_the_priority_label_is_what_kueue_reads():
    assert platform.KUEUE_PRIORITY_CLASS_LABEL == "kueue.x-k8s.io/priority-class"
    text = yaml.safe_dump(priority_class_objects(parse_environment(LIVE, "live.yaml")))
    assert "kueue.x-k8s.io/v1beta2" in text and "WorkloadPriorityClass" in text
