"""Multi-host serving with LeaderWorkerSet, read from the real synthesized stacks of the fixture environments:
the stage fixture's chat-large spans two nodes. The controller from its pinned chart, in order (namespace, chart,
the release that waits for its webhook, then the service's LeaderWorkerSet through a local chart), the
LeaderWorkerSet against its CRD, vLLM's multi-node arguments, the autoscaler on the groups, quota fit, cost, the
version gate and the image allowlist."""

from __future__ import annotations

import copy
import textwrap

import kubernetes_validate
import lws_crd
import pytest
import yaml
from conftest import ENV_NAMES, ENVIRONMENTS, resources
from stack_objects import helm_releases, k8s, values

from gkeml import platform
from gkeml.config import ConfigError
from gkeml.config.images import image_allowlist
from gkeml.config.versions import emitted_features, used_features
from gkeml.cost import estimate, load_prices
from gkeml.lifecycle.order import order_problems
from gkeml.manifests.lws import READY_CHART, SERVICE_CHART, chart_values
from gkeml.rules import check

pytestmark = pytest.mark.synth

K8S_VERSION = "1.33.0"
ENV, SERVICE = "stage", "chat-large"
BUILT_IN = ("v1", "apps/v1", "policy/v1", "autoscaling/v2", "networking.k8s.io/v1")
# Top-level keys of the chart's values.yaml (kubernetes-sigs/lws v0.10.0 charts/lws/values.yaml).
CHART_VALUES = {
    "nameOverride",
    "fullnameOverride",
    "enablePrometheus",
    "enableCertManager",
    "enableDisaggregatedSet",
    "replicaCount",
    "imagePullSecrets",
    "image",
    "podAnnotations",
    "podSecurityContext",
    "securityContext",
    "service",
    "resources",
    "priorityClassName",
    "nodeSelector",
    "tolerations",
    "affinity",
    "gangSchedulingManagement",
}


def _service_release(stacks) -> dict:
    """The serving team's release of the local chart that holds its LeaderWorkerSets."""
    _, body = helm_releases(stacks, ENV)[SERVICE_CHART]
    return body


def _leader_worker_set(stacks) -> dict:
    (lws,) = [o for o in values(_service_release(stacks))["objects"] if o["metadata"]["name"] == SERVICE]
    return copy.deepcopy(lws)


def _manifests(stacks) -> list[dict]:
    """The stage in-cluster stack's kubernetes_manifest objects (copies: the synthesized stacks are shared)."""
    return copy.deepcopy([m["manifest"] for m in resources(k8s(stacks, ENV), "kubernetes_manifest")])


@pytest.mark.parametrize("env", ENV_NAMES)
def test_the_controller_is_installed_exactly_where_a_model_spans_nodes(stacks, environments, env):
    multi_host = any(s.model is not None and s.model.multi_host for s in environments[env].inference)
    found = helm_releases(stacks, env)
    assert (platform.LWS_RELEASE in found and READY_CHART in found) is multi_host
    namespaces = {
        m["manifest"]["metadata"]["name"]
        for m in resources(k8s(stacks, env), "kubernetes_manifest")
        if m["manifest"]["kind"] == "Namespace"
    }
    assert (platform.LWS_NAMESPACE in namespaces) is multi_host
    assert multi_host is (env == ENV)


def test_the_official_chart_is_pinned_and_configured_for_autopilot(stacks):
    _, chart = helm_releases(stacks, ENV)[platform.LWS_RELEASE]
    assert (chart["repository"], chart["chart"], chart["version"]) == (
        "oci://registry.k8s.io/lws/charts",
        "lws",
        "0.10.0",
    )
    assert chart["namespace"] == "lws-system" and chart["wait"] is True and chart["create_namespace"] is False
    found = values(chart)
    assert set(found) <= CHART_VALUES and found == chart_values()
    # the released image, not values.yaml's tag main pulled Always
    assert found["image"] == {
        "manager": {"repository": "registry.k8s.io/lws/lws", "tag": "v0.10.0", "pullPolicy": "IfNotPresent"}
    }
    assert found["replicaCount"] == 2  # its webhooks on LeaderWorkerSets and their Pods fail closed
    assert found["resources"]["requests"] == found["resources"]["limits"]
    assert lws_crd.CHART_VERSION == platform.LWS_VERSION  # the schema helper was written for this chart


def test_the_order_namespace_chart_webhook_then_the_leader_worker_set(stacks):
    found = helm_releases(stacks, ENV)
    chart_id, chart = found[platform.LWS_RELEASE]
    ready_id, ready = found[READY_CHART]
    service = _service_release(stacks)
    assert f"helm_release.{chart_id}" in ready["depends_on"]
    assert f"helm_release.{ready_id}" in service["depends_on"]  # the CRD is there and the webhook answers
    assert service["namespace"] == "serving" and service["chart"].startswith("assets/")
    manifests = {
        f"kubernetes_manifest.{n}": b["manifest"]
        for n, b in k8s(stacks, ENV)["resource"]["kubernetes_manifest"].items()
    }
    before = {(o["kind"], o["metadata"]["name"]) for d in chart["depends_on"] if (o := manifests.get(d))}
    assert before == {
        ("Namespace", "lws-system"),
        ("NetworkPolicy", "default-deny-ingress"),
        ("NetworkPolicy", "allow-lws-controller-ports"),
        ("PodDisruptionBudget", "lws-controller-manager"),
    }
    # no kubernetes_manifest is a LeaderWorkerSet (a first plan needs no CRD), and the first-apply order holds
    assert not [m for m in manifests.values() if m["kind"] == "LeaderWorkerSet"]
    assert [p for p in order_problems({f"{ENV}-k8s": k8s(stacks, ENV)}) if p.fact.id == "TF009"] == []
    unordered = copy.deepcopy(k8s(stacks, ENV))
    body = next(b for b in unordered["resource"]["helm_release"].values() if b["name"] == SERVICE_CHART)
    body["depends_on"] = [d for d in body["depends_on"] if not d.startswith("helm_release.")]
    assert [p.fact.id for p in order_problems({f"{ENV}-k8s": unordered})] == ["TF009"]


def test_the_webhook_probe_dry_runs_a_leader_worker_set_the_crd_admits(stacks):
    _, ready = helm_releases(stacks, ENV)[READY_CHART]
    objects = values(ready)["objects"]
    for obj in objects:
        assert obj["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
        assert obj["metadata"]["namespace"] == platform.LWS_NAMESPACE
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
    (role,) = [o for o in objects if o["kind"] == "Role"]
    assert role["rules"] == [
        {"apiGroups": ["leaderworkerset.x-k8s.io"], "resources": ["leaderworkersets"], "verbs": ["create"]}
    ]
    (config,) = [o for o in objects if o["kind"] == "ConfigMap"]
    (probe,) = [yaml.safe_load(text) for text in config["data"].values()]
    assert lws_crd.problems(probe) == []
    assert check(objects) == []


def test_the_leader_worker_set_validates_against_its_crd_and_runs_vllm_across_the_nodes(stacks, environments):
    lws = _leader_worker_set(stacks)
    assert lws_crd.problems(lws) == []
    svc = next(s for s in environments[ENV].inference if s.name == SERVICE)
    template = lws["spec"]["leaderWorkerTemplate"]
    assert template["size"] == svc.model.nodes == 2 and "replicas" not in lws["spec"]  # the autoscaler's
    leader = template["leaderTemplate"]["spec"]["containers"][0]
    worker = template["workerTemplate"]["spec"]["containers"][0]
    for container in (leader, worker):  # every Pod of the group has the node's GPUs
        assert container["resources"]["limits"]["nvidia.com/gpu"] == str(svc.gpu_count)
    command = leader["command"][2]
    assert "multi-node-serving.sh leader --ray_cluster_size=$(LWS_GROUP_SIZE)" in command
    for arg in (
        f"--tensor-parallel-size={svc.gpu_count}",
        "--pipeline-parallel-size=2",
        "--distributed-executor-backend=ray",
    ):
        assert arg in command
    assert worker["command"][2].endswith("worker --ray_address=$(LWS_LEADER_ADDRESS)")
    assert "readinessProbe" in leader and "ports" in leader and "readinessProbe" not in worker
    for spec in (template["leaderTemplate"]["spec"], template["workerTemplate"]["spec"]):
        assert {v["name"] for v in spec["volumes"]} >= {"model-weights", "dshm"}  # each node loads its stage
        (term,) = spec["affinity"]["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
        assert term["matchLabelKeys"] == [platform.LWS_GROUP_KEY_LABEL]  # a group stays in one zone
    # a field the CRD does not have fails, as the API server's pruning would silently drop it
    broken = copy.deepcopy(lws)
    broken["spec"]["leaderWorkerTemplate"]["sizee"] = 2
    assert lws_crd.problems(broken)
    broken = copy.deepcopy(lws)
    broken["spec"]["rolloutStrategy"]["rollingUpdateConfiguration"]["maxUnavailable"] = 0
    assert lws_crd.problems(broken)


def test_the_service_the_autoscaler_and_the_metrics_are_the_leaders(stacks):
    objects = {
        (o["kind"], o["metadata"]["name"]): o for o in _manifests(stacks) if o["metadata"].get("namespace") == "serving"
    }
    service = objects[("Service", SERVICE)]
    assert service["spec"]["selector"] == {"app.kubernetes.io/name": SERVICE, platform.LWS_WORKER_INDEX_LABEL: "0"}
    hpa = objects[("HorizontalPodAutoscaler", SERVICE)]
    # LWS's scale subresource: the HPA sets the number of groups and reads the leaders (status.hpaPodSelector)
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": platform.LWS_API, "kind": "LeaderWorkerSet", "name": SERVICE}
    assert hpa["spec"]["metrics"][0]["type"] == "Pods"  # the engine's queue, served by the leader
    monitoring = objects[("PodMonitoring", SERVICE)]
    assert monitoring["spec"]["selector"]["matchLabels"] == service["spec"]["selector"]
    group = objects[("NetworkPolicy", f"{SERVICE}-allow-group")]  # Ray and NCCL between a group's Pods
    assert group["spec"]["ingress"] == [
        {"from": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": SERVICE}}}]}
    ]
    assert objects[("PodDisruptionBudget", SERVICE)]["spec"]["selector"]["matchLabels"] == {
        "app.kubernetes.io/name": SERVICE
    }
    assert ("Deployment", SERVICE) not in objects
    lws_system = [
        o for o in _manifests(stacks) if o["metadata"].get("namespace", o["metadata"]["name"]) == "lws-system"
    ]
    for obj in [*objects.values(), *lws_system]:  # the built-in kinds against the official schemas
        if obj["apiVersion"] in BUILT_IN:
            kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


def test_quota_fit_counts_every_pod_of_every_group(stacks):
    """GKE025 counts a LeaderWorkerSet at the autoscaler's maximum groups x size: the serving team's 8 GPUs hold
    chat (3 x 1) and chat-large (2 groups x 2 Pods x 1); with 6 the LeaderWorkerSet does not fit, with 7 it does."""
    objects = [*_manifests(stacks), _leader_worker_set(stacks)]
    assert [f for f in check(objects, ["GKE025"]) if "chat-large" in f.object] == []
    for gpus, fits in ((7, True), (6, False)):
        changed = copy.deepcopy(objects)
        for obj in changed:
            if obj["kind"] == "ResourceQuota" and obj["metadata"]["namespace"] == "serving":
                obj["spec"]["hard"]["requests.nvidia.com/gpu"] = str(gpus)
        found = [f for f in check(changed, ["GKE025"]) if f.object.startswith("LeaderWorkerSet")]
        assert (found == []) is fits, (gpus, [f.message for f in found])


def test_cost_is_nodes_times_the_per_node_price_per_group(environments):
    env = environments[ENV]
    prices = load_prices()
    item = next(i for i in estimate(env, prices).items if i.key == f"inference/{SERVICE}")
    svc = next(s for s in env.inference if s.name == SERVICE)
    one_node = svc.model_copy(update={"model": svc.model.model_copy(update={"nodes": 1})})
    single = env.model_copy(update={"inference": [one_node if s.name == SERVICE else s for s in env.inference]})
    per_node = next(i for i in estimate(single, prices).items if i.key == f"inference/{SERVICE}")
    assert item.autopilot.low == pytest.approx(2 * per_node.autopilot.low)
    assert item.autopilot.high == pytest.approx(2 * per_node.autopilot.high)
    assert "1-2 groups of 2" in item.basis


def test_the_version_gate_the_allowlist_and_the_config_know_leader_worker_set(environments, stacks, tmp_path):
    env = environments[ENV]
    assert platform.GKE_FEATURE_MIN_VERSIONS["LeaderWorkerSet"].minimum == platform.LWS_MIN_GKE_VERSION
    assert [u[0] for u in used_features(env)["LeaderWorkerSet"]] == [("inference", 1, "model", "nodes")]
    assert "LeaderWorkerSet" in emitted_features(_manifests(stacks))
    assert f"{platform.LWS_IMAGE}*" in image_allowlist(env)
    assert f"{platform.LWS_IMAGE}*" not in image_allowlist(environments["lab"])
    text = (
        (ENVIRONMENTS / "stage.yaml")
        .read_text()
        .replace(
            "    gpu: nvidia-l4\n    gpu_count: 1\n    model:\n      name: google/gemma-3-27b-it",
            "    model:\n      name: google/gemma-3-27b-it",
        )
    )
    path = tmp_path / "stage.yaml"
    path.write_text(text)
    from gkeml.environments import load_environment

    with pytest.raises(ConfigError) as info:
        load_environment(path)
    assert "model.nodes" in str(info.value) and "set gpu" in str(info.value)


def test_the_local_chart_renders_its_objects_as_given():
    from conftest import ROOT

    chart = ROOT / "gkeml" / "charts" / SERVICE_CHART
    assert yaml.safe_load((chart / "Chart.yaml").read_text())["name"] == SERVICE_CHART
    assert "range .Values.objects" in textwrap.dedent((chart / "templates" / "objects.yaml").read_text())


def test_the_engine_metric_is_scraped_from_the_leaders_the_autoscaler_reads(stacks):
    """GKE076 reads a LeaderWorkerSet target as its leaders with the labels the controller adds (name, worker
    index 0): the PodMonitoring on the leaders passes; one on the workers' index does not."""
    objects = [*_manifests(stacks), _leader_worker_set(stacks)]
    assert [f for f in check(objects, ["GKE076"]) if SERVICE in f.object] == []
    for obj in objects:
        if obj["kind"] == "PodMonitoring" and obj["metadata"]["name"] == SERVICE:
            obj["spec"]["selector"]["matchLabels"][platform.LWS_WORKER_INDEX_LABEL] = "1"
    (finding,) = [f for f in check(objects, ["GKE076"]) if SERVICE in f.object]
    assert "LeaderWorkerSet/chat-large" in finding.message


def test_the_autoscaler_owns_the_number_of_groups(stacks):
    """The LeaderWorkerSet sets no spec.replicas (the HPA writes it through the scale subresource): GKE024 knows the
    kind, so a count written beside the autoscaler is refused."""
    objects = [*_manifests(stacks), _leader_worker_set(stacks)]
    assert [f for f in check(objects, ["GKE024"]) if SERVICE in f.object] == []
    objects[-1]["spec"]["replicas"] = 1
    (finding,) = [f for f in check(objects, ["GKE024"]) if SERVICE in f.object]
    assert finding.field == "spec.replicas"
