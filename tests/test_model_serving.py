"""The model-serving preset (``model:`` of an inference service) and scaling on the engine's metrics, read from the
synthesized fixture environments and from small variants of the tests' own environment."""

from __future__ import annotations

import copy
import math

import pytest
from conftest import ENV_NAMES, STAGING
from job_env import LAB, lab_environment
from prometheus_crd import problems as pod_monitoring_problems
from stack_objects import chart_objects, manifests

from gkeml import platform
from gkeml.config import ConfigError
from gkeml.config.serving_model import cold_start_seconds, pod_requests
from gkeml.cost import estimate, load_prices
from gkeml.manifests.metrics_adapter import uses_metrics_adapter
from gkeml.manifests.workloads import InferenceManifests, in_cluster_plan
from gkeml.naming import Names
from gkeml.rules import check
from gkeml.units import gib

pytestmark = pytest.mark.synth

# The tests' own environment with one vLLM service reading its weights from the artifacts bucket.
SERVED = LAB.replace(
    "  - {name: intern,",
    "  - {name: chat, namespace: research, reads: [artifacts]}\n  - {name: intern,",
).replace(
    "launch:",
    """inference:
  - name: chat
    team: research
    image: registry.example/serving/vllm-openai:v0.11.0
    identity: chat
    cpu: "4"
    memory: 16Gi
    gpu: nvidia-l4
    model: {name: google/gemma-3-4b-it, bucket: artifacts, path: models/gemma-3-4b-it, size: 30Gi}
    autoscaling: {min_replicas: 1, max_replicas: 4, cpu_utilization: null, engine_metric: kv_cache_usage_perc, engine_target: 0.8}
launch:""",
)


def _chat(text: str = SERVED):
    env = lab_environment(text)
    svc = next(s for s in env.inference if s.name == "chat")
    return env, svc, InferenceManifests(env, svc)


def _error(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        lab_environment(text)
    return str(info.value)


def _deployments(stacks, env):
    return [o for o in manifests(stacks, env, "Deployment") if o["metadata"].get("labels", {}).get("gkeml.io/team")]


# --- must show: every inference container requests its disk; GPU servers mount a memory-backed /dev/shm -------


@pytest.mark.parametrize("env", ENV_NAMES)
def test_every_inference_container_requests_ephemeral_storage_and_gpu_pods_mount_memory_backed_shm(
    stacks, environments, env
):
    served = {s.name for s in environments[env].inference}
    deployments = [d for d in manifests(stacks, env, "Deployment") if d["metadata"]["name"] in served]
    groups = [g for g in chart_objects(stacks, env, "leaderworkerset") if g["metadata"]["name"] in served]
    assert len(deployments) + len(groups) == len(served) >= 1
    pods = [d["spec"]["template"]["spec"] for d in deployments]
    for group in groups:  # a multi-host model's LeaderWorkerSet: the leader's and the workers' Pods
        template = group["spec"]["leaderWorkerTemplate"]
        pods += [template["leaderTemplate"]["spec"], template["workerTemplate"]["spec"]]
    for pod in pods:
        for container in pod["containers"]:
            for part in ("requests", "limits"):
                assert gib(container["resources"][part]["ephemeral-storage"]) > platform.DEFAULT_EPHEMERAL_GIB
        if platform.GPU_RESOURCE not in pod["containers"][0]["resources"]["limits"]:
            continue
        (shm,) = [v for v in pod["volumes"] if v["name"] == "dshm"]
        assert shm["emptyDir"]["medium"] == "Memory" and gib(shm["emptyDir"]["sizeLimit"]) > 0
        assert {"name": "dshm", "mountPath": "/dev/shm"} in pod["containers"][0]["volumeMounts"]


def test_shared_memory_is_added_to_the_memory_request_that_pays_for_it():
    env, svc, built = _chat()
    server = built.deployment()["spec"]["template"]["spec"]["containers"][0]
    assert gib(server["resources"]["requests"]["memory"]) == gib(svc.memory) + gib(svc.shared_memory) == 18
    assert server["resources"]["limits"]["memory"] == server["resources"]["requests"]["memory"]


# --- the preset on the synthesized staging fixture -------------------------------------------------------------


def test_staging_serves_its_model_from_a_bucket_through_tuned_read_only_gcs_fuse(stacks, environments):
    env = environments[STAGING]
    svc = next(s for s in env.inference if s.model)
    (deployment,) = [d for d in manifests(stacks, STAGING, "Deployment") if d["metadata"]["name"] == svc.name]
    template = deployment["spec"]["template"]
    pod = template["spec"]
    (weights,) = [v for v in pod["volumes"] if v.get("csi", {}).get("driver") == platform.GCSFUSE_DRIVER]
    assert weights["csi"]["readOnly"] is True
    attributes = weights["csi"]["volumeAttributes"]
    assert attributes["bucketName"] == Names.of(env).bucket(svc.model.bucket)
    options = attributes["mountOptions"].split(",")
    for tuned in (
        "file-cache:max-size-mb:-1",
        "file-cache:enable-parallel-downloads:true",
        "file-cache:cache-file-for-range-read:true",
        "metadata-cache:ttl-secs:-1",
    ):
        assert tuned in options
    assert f"only-dir={svc.model.path}" in options
    # the sidecar's file cache on a volume of its own, sized for the weights; the sidecar's limits set
    (cache,) = [v for v in pod["volumes"] if v["name"] == platform.GCSFUSE_CACHE_VOLUME]
    assert gib(cache["emptyDir"]["sizeLimit"]) >= svc.model.size_gib
    annotations = template["metadata"]["annotations"]
    assert annotations[platform.GCSFUSE_ANNOTATION] == "true"
    assert set(platform.GCSFUSE_SIDECAR_ANNOTATIONS.values()) <= set(annotations)
    server = pod["containers"][0]
    assert {"name": weights["name"], "mountPath": "/models", "readOnly": True} in server["volumeMounts"]
    assert "--model=/models" in server["args"] and f"--served-model-name={svc.model.name}" in server["args"]
    assert f"--tensor-parallel-size={svc.gpu_count}" in server["args"] and f"--port={svc.port}" in server["args"]
    # the file cache counts against the Pod's ephemeral storage: the server asks for it
    assert gib(server["resources"]["requests"]["ephemeral-storage"]) >= gib(svc.ephemeral_storage) + cache_gib(svc)
    assert template["metadata"]["labels"][platform.MODEL_LABEL] == "gemma-3-4b-it"
    assert template["metadata"]["labels"][platform.INFERENCE_SERVER_LABEL] == "vllm"
    # the startup probe waits for the weights and the engine, with a margin; the probes use vLLM's health path
    startup = server["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 2 * cold_start_seconds(svc.model)
    assert startup["httpGet"] == {"path": "/health", "port": svc.port}


def cache_gib(svc) -> float:
    return math.ceil(svc.model.size_gib * 1.1)


def test_a_larger_model_gets_a_longer_startup_probe_and_a_larger_cache():
    small_env, small, small_built = _chat()
    _, big, big_built = _chat(SERVED.replace("size: 30Gi", "size: 140Gi"))
    probe = {
        name: b.deployment()["spec"]["template"]["spec"]["containers"][0]["startupProbe"]["failureThreshold"]
        for name, b in (("small", small_built), ("big", big_built))
    }
    assert probe["big"] > probe["small"]
    assert cold_start_seconds(big.model) - cold_start_seconds(small.model) == pytest.approx(
        110 / platform.GCSFUSE_PARALLEL_READ_GIB_PER_SECOND, abs=1
    )


# --- scaling on the engine's metric -----------------------------------------------------------------------------


def test_staging_scales_its_model_on_vllm_queue_depth_through_managed_prometheus(stacks, environments):
    env = environments[STAGING]
    svc = next(s for s in env.inference if s.model)
    (hpa,) = [h for h in manifests(stacks, STAGING, "HorizontalPodAutoscaler") if h["metadata"]["name"] == svc.name]
    (metric,) = hpa["spec"]["metrics"]
    assert metric == {
        "type": "Pods",
        "pods": {
            "metric": {"name": "prometheus.googleapis.com|vllm:num_requests_waiting|gauge"},
            "target": {"type": "AverageValue", "averageValue": str(int(svc.autoscaling.engine_target))},
        },
    }
    assert uses_metrics_adapter([hpa]) and in_cluster_plan(env).metrics_adapter  # the adapter serves Pods metrics
    (monitoring,) = [m for m in manifests(stacks, STAGING, "PodMonitoring") if m["metadata"]["name"] == svc.name]
    assert monitoring["metadata"]["namespace"] == svc.team
    assert monitoring["spec"]["selector"]["matchLabels"] == {"app.kubernetes.io/name": svc.name}
    assert monitoring["spec"]["endpoints"] == [{"port": "http", "path": "/metrics", "interval": "15s"}]


def test_a_fractional_target_is_written_as_a_quantity():
    _, _, built = _chat()
    (metric,) = built.autoscaler()["spec"]["metrics"]
    assert metric["pods"]["metric"]["name"] == "prometheus.googleapis.com|vllm:kv_cache_usage_perc|gauge"
    assert metric["pods"]["target"]["averageValue"] == "800m"


def test_the_collectors_may_scrape_the_serving_port_through_the_default_deny(stacks, environments):
    env = environments[STAGING]
    svc = next(s for s in env.inference if s.model)
    (policy,) = [
        p
        for p in manifests(stacks, STAGING, "NetworkPolicy")
        if p["metadata"]["name"] == f"{svc.name}-allow-metrics-scrape"
    ]
    (rule,) = policy["spec"]["ingress"]
    (source,) = rule["from"]
    (expression,) = source["namespaceSelector"]["matchExpressions"]
    assert expression["key"] == "kubernetes.io/metadata.name" and "gke-gmp-system" in expression["values"]
    assert rule["ports"] == [{"protocol": "TCP", "port": svc.port}]
    assert policy["spec"]["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": svc.name}}


@pytest.mark.parametrize("env", ENV_NAMES)
def test_every_pod_monitoring_validates_against_its_crd(stacks, env):
    for monitoring in manifests(stacks, env, "PodMonitoring"):
        assert pod_monitoring_problems(monitoring) == [], monitoring


def test_the_crd_subset_refuses_what_the_api_server_refuses():
    _, _, built = _chat()
    monitoring = next(o for o in built.workload() if o["kind"] == "PodMonitoring")
    assert pod_monitoring_problems(monitoring) == []
    misspelt = copy.deepcopy(monitoring)
    misspelt["spec"]["endpoints"][0]["intervall"] = misspelt["spec"]["endpoints"][0].pop("interval")
    assert pod_monitoring_problems(misspelt)
    slow = copy.deepcopy(monitoring)
    slow["spec"]["endpoints"][0]["timeout"] = "30s"
    assert pod_monitoring_problems(slow)


def test_podmonitoring_is_a_kind_gke_installs_so_the_deploy_waits_for_it():
    assert (platform.POD_MONITORING_API, "PodMonitoring") in platform.GKE_BUILTIN_KINDS


# --- config checks ------------------------------------------------------------------------------------------------


def test_the_identity_must_read_the_weights_bucket():
    message = _error(
        SERVED.replace("{name: chat, namespace: research, reads: [artifacts]}", "{name: chat, namespace: research}")
    )
    assert "inference[0].model.bucket" in message or "model.bucket" in message
    assert "cannot read bucket 'artifacts'" in message and "add artifacts to its reads" in message


def test_a_model_without_an_identity_is_refused():
    assert "set identity:" in _error(SERVED.replace("    identity: chat\n", ""))


def test_an_unknown_weights_bucket_is_refused():
    assert "models" in _error(SERVED.replace("bucket: artifacts, path", "bucket: models, path"))


def test_the_engine_metric_needs_the_model():
    text = SERVED.replace(
        "    model: {name: google/gemma-3-4b-it, bucket: artifacts, path: models/gemma-3-4b-it, size: 30Gi}\n", ""
    )
    assert "engine_metric" in _error(text) and "needs model:" in _error(text)


def test_the_kv_cache_target_is_a_fraction():
    assert "kv_cache_usage_perc is a fraction" in _error(SERVED.replace("engine_target: 0.8", "engine_target: 80"))


def test_a_weights_path_that_climbs_out_of_the_folder_is_refused():
    assert "path" in _error(SERVED.replace("path: models/gemma-3-4b-it", "path: ../models"))


# --- quota fit, cost -----------------------------------------------------------------------------------------------


def test_quota_fit_counts_the_sidecar_and_the_shared_memory():
    """At max replicas the team needs the server, its /dev/shm and the GCS FUSE sidecar per replica."""
    env, svc, built = _chat()
    cpu, memory, _ = pod_requests(svc)
    replicas = svc.autoscaling.max_replicas
    quota = {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {"name": "team-quota", "namespace": "research"},
        "spec": {
            "hard": {
                "requests.cpu": f"{cpu * replicas:g}",
                "limits.cpu": f"{cpu * replicas:g}",
                "requests.memory": f"{memory * replicas:g}Gi",
                "limits.memory": f"{memory * replicas:g}Gi",
                "requests.nvidia.com/gpu": str(replicas),
            }
        },
    }
    objects = [quota, built.deployment(), built.autoscaler()]
    assert not check(objects, rules=["GKE025"])
    short = copy.deepcopy(quota)
    short["spec"]["hard"]["requests.memory"] = short["spec"]["hard"]["limits.memory"] = (
        f"{(gib(svc.memory) + 1) * replicas:g}Gi"  # the server alone, without /dev/shm and the sidecar
    )
    (finding,) = check([short, *objects[1:]], rules=["GKE025"])
    assert "memory" in finding.message


def test_cost_prices_the_sidecar_and_shows_the_cold_start(environments):
    env = environments[STAGING]
    svc = next(s for s in env.inference if s.model)
    result = estimate(env, load_prices())
    item = result.item(f"inference/{svc.name}")
    seconds = cold_start_seconds(svc.model)
    assert f"cold start ~{seconds / 60:.1f} min" in item.basis and "per start" in item.basis
    cpu, memory, disk = pod_requests(svc)
    assert cpu > float(svc.cpu) and memory > gib(svc.memory) and disk > gib(svc.ephemeral_storage)


def test_gkeml_check_warns_when_nothing_scrapes_the_metric_an_autoscaler_scales_on(environments):
    """GKE076 on what gkeml renders: the staging model's PodMonitoring selects its pods; without it, a warning."""
    objects = in_cluster_plan(environments[STAGING]).objects()
    assert not [f for f in check(objects) if f.rule == "GKE076"]
    unscraped = [o for o in objects if o["kind"] != "PodMonitoring"]
    (finding,) = [f for f in check(unscraped) if f.rule == "GKE076"]
    assert finding.object == "HorizontalPodAutoscaler/serving/chat" and "vllm:num_requests_waiting" in finding.message
