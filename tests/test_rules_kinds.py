"""Every kind that runs pods is checked: one fixture per kind and case (tests/fixtures/workloads, first line
``# expect: RULE,...`` or ``none``), TPU Pods judged as TPU Pods, the pods each template runs (the quota and
queue rules' multipliers), compute classes given with ``--classes``, and no traceback on malformed kinds."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from hostile import gkeml

from gkeml import platform
from gkeml.rules import check, load_manifest_files
from gkeml.rules.engine import WORKLOAD_KINDS, pod_templates

ROOT = Path(__file__).resolve().parents[1]
WORKLOADS = sorted((ROOT / "tests" / "fixtures" / "workloads").glob("*.yaml"))
BAD = ROOT / "tests" / "fixtures" / "bad-manifests"


def expected(path: Path) -> set[str]:
    first = path.read_text().splitlines()[0]
    assert first.startswith("# expect: "), f"{path.name}: the first line says the verdict"
    value = first.removeprefix("# expect: ").strip()
    return set() if value == "none" else set(value.split(","))


def objects(path: Path) -> list[dict]:
    return [m.obj for m in load_manifest_files([path])]


@pytest.mark.parametrize("path", WORKLOADS, ids=[p.stem for p in WORKLOADS])
def test_workload_gets_its_verdict(path):
    findings = check(load_manifest_files([path]))
    assert {f.rule for f in findings} == expected(path), "\n".join(f"{f.rule} {f.field}: {f.message}" for f in findings)


def test_every_kind_that_runs_pods_has_a_valid_and_a_refused_fixture():
    clean: set[str] = set()
    flagged: set[str] = set()
    for path in WORKLOADS:
        kinds = {o["kind"] for o in objects(path)}
        (flagged if expected(path) else clean).update(kinds)
    assert set(WORKLOAD_KINDS) <= clean, set(WORKLOAD_KINDS) - clean
    assert set(WORKLOAD_KINDS) - {"ReplicaSet", "StatefulSet"} <= flagged, set(WORKLOAD_KINDS) - flagged


def _by_role(path: str) -> dict[str, tuple[int, int, int, int]]:
    [obj] = objects(ROOT / "tests" / "fixtures" / path)
    return {t.role or t.path: (t.replicas, t.low, t.high, t.gang) for t in pod_templates(obj)}


def test_pods_each_template_runs():
    # JobSet: replicas x parallelism; the slice's Pods start together
    assert _by_role("workloads/jobset-tpu-v6e.yaml") == {"replicated job slice": (4, 4, 4, 2)}
    # LeaderWorkerSet: a leader per group and size - 1 workers per group
    assert _by_role("workloads/leaderworkerset-l4.yaml") == {"leader": (2, 2, 2, 1), "workers": (2, 2, 2, 1)}
    # RayCluster: one head, replicas x numOfHosts per worker group
    assert _by_role("workloads/raycluster-tpu-v6e.yaml") == {
        "head": (1, 1, 1, 1),
        "worker group tpu-group": (2, 2, 2, 2),
    }
    # RayJob: its cluster and the submitter
    assert set(_by_role("workloads/rayjob-l4.yaml")) == {"head", "worker group gpu", "submitter"}
    # CronJob: its Job's template
    [cron] = pod_templates(objects(ROOT / "tests" / "fixtures" / "workloads" / "cronjob.yaml")[0])
    assert cron.path == "spec.jobTemplate.spec.template.spec"


def test_ray_autoscaler_range_and_a_suspended_group():
    [obj] = objects(ROOT / "tests" / "fixtures" / "workloads" / "rayservice-l4.yaml")
    cluster = obj["spec"]["rayClusterConfig"]
    cluster["enableInTreeAutoscaling"] = True
    group = cluster["workerGroupSpecs"][0]
    group.update(replicas=5, minReplicas=1, maxReplicas=3, numOfHosts=2)  # replicas clamped to maxReplicas
    worker = next(t for t in pod_templates(obj) if t.role == "worker group gpu")
    assert (worker.replicas, worker.low, worker.high) == (6, 2, 6)
    group["suspend"] = True
    worker = next(t for t in pod_templates(obj) if t.role == "worker group gpu")
    assert (worker.replicas, worker.low, worker.high) == (0, 0, 0)


def test_quota_counts_a_rayclusters_workers_and_a_leaderworkersets_groups():
    quota = {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {"name": "research", "namespace": "research"},
        "spec": {"hard": {"requests.nvidia.com/gpu": "3"}},
    }
    lws = objects(ROOT / "tests" / "fixtures" / "workloads" / "leaderworkerset-l4.yaml")[0]  # 4 L4s
    [finding] = check([quota, lws])
    assert finding.rule == "GKE025" and "leader: 2 replica(s); workers: 2 replica(s)" in finding.message
    ray = objects(ROOT / "tests" / "fixtures" / "workloads" / "rayjob-l4.yaml")[0]  # 2 L4 workers
    assert not check([quota, ray])
    ray["spec"]["rayClusterSpec"]["workerGroupSpecs"][0].update(replicas=4, maxReplicas=4)
    assert {f.rule for f in check([quota, ray])} == {"GKE025"}


def test_native_sidecar_gpu_is_counted_and_an_init_container_takes_the_max():
    [pod] = objects(ROOT / "tests" / "fixtures" / "workloads" / "pod-native-sidecar-gpu.yaml")
    # without the sidecar's GPU the L4 selector has no GPU: GKE001
    del pod["spec"]["initContainers"][0]["resources"]["limits"][platform.GPU_RESOURCE]
    del pod["spec"]["initContainers"][0]["resources"]["requests"][platform.GPU_RESOURCE]
    assert {f.rule for f in check([pod])} == {"GKE001"}
    # an ordinary init container runs alone: its requests are not added to the app's (36 vCPU > 31 only if added)
    [big] = objects(ROOT / "tests" / "fixtures" / "workloads" / "pod-native-sidecar-over-gpu-maximum.yaml")
    del big["spec"]["initContainers"][0]["restartPolicy"]
    assert not check([big])


def test_machine_family_pod_is_told_about_performance_not_the_general_purpose_maximum():
    [finding] = check(load_manifest_files([BAD / "GKE071-machine-family-without-performance.yaml"]))
    assert finding.rule == "GKE071" and "add nodeSelector cloud.google.com/compute-class: Performance" in finding.fix
    [pod] = objects(BAD / "GKE071-machine-family-without-performance.yaml")
    pod["spec"]["nodeSelector"][platform.COMPUTE_CLASS_LABEL] = "Performance"
    assert not check([pod])
    del pod["spec"]["nodeSelector"][platform.MACHINE_FAMILY_LABEL]
    pod["spec"]["nodeSelector"][platform.COMPUTE_CLASS_LABEL] = "general-purpose"
    assert {f.rule for f in check([pod])} == {"GKE005"}  # 32 vCPU on general purpose: above its maximum


def test_gpu_toleration_is_fine_on_a_pod_that_requests_a_gpu():
    [obj] = objects(BAD / "GKE070-gpu-toleration-without-gpu.yaml")
    spec = obj["spec"]["template"]["spec"]
    spec["nodeSelector"] = {platform.ACCELERATOR_LABEL: "nvidia-l4"}
    for key in ("requests", "limits"):
        spec["containers"][0]["resources"][key][platform.GPU_RESOURCE] = "1"
    assert not check([obj])


def test_tpu_pods_are_judged_against_their_node_not_the_cpu_classes():
    [pod] = objects(BAD / "GKE074-tpu-pod-larger-than-its-node.yaml")
    for key in ("requests", "limits"):  # 200 vCPU: far above any general-purpose Pod, within the v5e 8-chip node
        pod["spec"]["containers"][0]["resources"][key].update(cpu="200", memory="300Gi")
    assert not check([pod])
    v5e = platform.TPUS["tpu-v5-lite-podslice"]
    assert v5e.layouts("2x4") == {8: 1, 4: 2} and v5e.layouts("4x4") == {4: 4} and v5e.layouts("3x3") == {}
    v5p = platform.TPUS["tpu-v5p-slice"]
    assert v5p.chips("2x2x1") == 4 and v5p.chips("4x4x8") == 128 and v5p.chips("8x4x4") is None
    assert v5p.chips("2x2x3") is None


def test_tpu_selector_without_chips_and_unknown_version():
    [pod] = objects(BAD / "GKE074-tpu-pod-larger-than-its-node.yaml")
    resources = pod["spec"]["containers"][0]["resources"]
    for key in ("requests", "limits"):
        resources[key] = {"cpu": "8", "memory": "32Gi"}
    [finding] = check([pod])
    assert finding.rule == "GKE072" and "no container asks for google.com/tpu" in finding.message
    pod["spec"]["nodeSelector"][platform.TPU_ACCELERATOR_LABEL] = "tpu-v9-imaginary"
    for key in ("requests", "limits"):
        resources[key][platform.TPU_RESOURCE] = "4"
    [finding] = check([pod])
    assert finding.rule == "GKE072" and finding.severity == "warning" and "not checked" in finding.message


def test_compute_class_from_classes_file_is_checked(tmp_path):
    pod = BAD / "GKE075-compute-class-not-checked.yaml"
    alone = gkeml("check", "--format", "json", pod)
    assert alone.code == 0, alone.err  # a notice does not fail the check
    assert [f["rule"] for f in json.loads(alone.out)["findings"]] == ["GKE075"]
    classes = tmp_path / "classes.yaml"
    cc = {
        "apiVersion": "cloud.google.com/v1",
        "kind": "ComputeClass",
        "metadata": {"name": "h100-spot"},
        "spec": {"priorities": [{"gpu": {"type": "nvidia-h100-80gb", "count": 1}, "spot": True}]},
    }
    other = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "ignored"}, "spec": {"hostNetwork": True}}
    classes.write_text(json.dumps(cc) + "\n---\n" + json.dumps(other) + "\n")
    given = gkeml("check", "--format", "json", "--classes", classes, pod)
    rules = {f["rule"] for f in json.loads(given.out)["findings"]}
    # the class is read: no "not checked", and the Pod is judged against its H100 Spot nodes (no GPU asked for)
    assert "GKE075" not in rules and rules and given.code == 1, given.out
    assert not any("ignored" in f["object"] for f in json.loads(given.out)["findings"])


def _mangled(obj: object) -> list[object]:
    """Copies of ``obj`` with one value replaced by a value of the wrong type, for every value in it."""
    out: list[object] = []
    if isinstance(obj, dict):
        for key, value in obj.items():
            for bad in ("x", -3, None, [1], {"a": 1}):
                if type(bad) is not type(value):
                    copy_ = copy.copy(obj)
                    copy_[key] = bad
                    out.append(copy_)
            for variant in _mangled(value):
                copy_ = copy.copy(obj)
                copy_[key] = variant
                out.append(copy_)
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            for variant in _mangled(value):
                out.append([*obj[:i], variant, *obj[i + 1 :]])
    return out


@pytest.mark.parametrize(
    "name", ["jobset-tpu-v6e.yaml", "leaderworkerset-l4.yaml", "rayjob-l4.yaml", "raycluster-tpu-v6e.yaml"]
)
def test_no_traceback_on_any_malformed_value(name):
    [obj] = objects(ROOT / "tests" / "fixtures" / "workloads" / name)
    variants = _mangled(obj)
    assert len(variants) > 100
    for variant in variants:
        check([variant])  # raises on a traceback
