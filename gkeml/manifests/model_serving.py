"""What the ``model:`` preset adds to an inference service's objects (gkeml.config.serving_model): the weights
mounted read-only through Cloud Storage FUSE tuned for loading them, the engine's arguments and labels, a
startup probe sized from the cold start, the local disk and shared memory a server needs, and the PodMonitoring
that lets the autoscaler scale on the engine's own metrics.

Every inference container requests its ephemeral storage explicitly (Autopilot's default is 1 GiB: a server
whose caches outgrow it is evicted), and a GPU server mounts a memory-backed ``/dev/shm`` whose size is added
to its memory request (tmpfs pages count against the container's memory limit).
"""

from __future__ import annotations

from gkeml import platform
from gkeml.config.model import Inference
from gkeml.config.serving_model import (
    ENGINE_SERVERS,
    MODEL_MOUNT,
    ModelServing,
    server_ephemeral_storage,
    server_memory,
    startup_failure_threshold,
)
from gkeml.manifests import NON_ROOT_UID, Obj, metadata

WEIGHTS_VOLUME = "model-weights"
SHM_VOLUME = "dshm"


def labels(svc: Inference) -> dict[str, str]:
    """The ai.gke.io labels of a model server's Pods (platform.MODEL_LABEL, platform.INFERENCE_SERVER_LABEL)."""
    if svc.model is None:
        return {}
    return {platform.MODEL_LABEL: svc.model.label, platform.INFERENCE_SERVER_LABEL: ENGINE_SERVERS[svc.model.engine]}


def weights_volume(bucket: str, model: ModelServing) -> Obj:
    """The weights' folder as an inline GCS FUSE volume: read-only, tuned for loading weights."""
    options = [
        *platform.GCSFUSE_SERVING_MOUNT_OPTIONS,
        f"uid={NON_ROOT_UID}",
        f"gid={NON_ROOT_UID}",
        f"only-dir={model.path}",
    ]
    return {
        "name": WEIGHTS_VOLUME,
        "csi": {
            "driver": platform.GCSFUSE_DRIVER,
            "readOnly": True,
            "volumeAttributes": {"bucketName": bucket, "mountOptions": ",".join(options)},
        },
    }


def vllm_args(svc: Inference, model: ModelServing) -> list[str]:
    """vLLM's OpenAI server arguments (docs.vllm.ai serve CLI): the mounted weights, the name clients use, one
    tensor-parallel rank per GPU of the Pod, the serving port."""
    args = [
        f"--model={MODEL_MOUNT}",
        f"--served-model-name={model.name}",
        f"--tensor-parallel-size={svc.gpu_count if svc.gpu else 1}",
        f"--port={svc.port}",
    ]
    if model.max_model_len:
        args.append(f"--max-model-len={model.max_model_len}")
    return args + list(model.args)


def apply(svc: Inference, bucket: str | None, pod: Obj, container: Obj) -> dict[str, str]:
    """Add the model preset, /dev/shm and explicit ephemeral storage to a server's ``pod`` and ``container``;
    return the Pod annotations it needs (the GCS FUSE sidecar's). ``bucket`` is the weights bucket's real name."""
    resources = container["resources"]
    for part in ("requests", "limits"):
        resources[part]["memory"] = server_memory(svc)
        resources[part]["ephemeral-storage"] = server_ephemeral_storage(svc)
    pod["volumes"][0]["emptyDir"] = {"sizeLimit": svc.ephemeral_storage}  # /tmp
    if svc.gpu:
        pod["volumes"].append({"name": SHM_VOLUME, "emptyDir": {"medium": "Memory", "sizeLimit": svc.shared_memory}})
        container["volumeMounts"].append({"name": SHM_VOLUME, "mountPath": "/dev/shm"})
    model = svc.model
    if model is None or bucket is None:
        return {}
    container["args"] = vllm_args(svc, model)
    # a read-only root filesystem: the engine's caches (Hugging Face, torch compile, Triton kernels) go to /tmp
    container["env"] = [{"name": "HOME", "value": "/tmp"}, {"name": "HF_HUB_OFFLINE", "value": "1"}]
    container["volumeMounts"].append({"name": WEIGHTS_VOLUME, "mountPath": MODEL_MOUNT, "readOnly": True})
    container["startupProbe"].update(
        {"periodSeconds": platform.STARTUP_PROBE_PERIOD_SECONDS, "failureThreshold": startup_failure_threshold(model)}
    )
    pod["volumes"] += [
        weights_volume(bucket, model),
        {"name": platform.GCSFUSE_CACHE_VOLUME, "emptyDir": {"sizeLimit": f"{model.cache_gib}Gi"}},
    ]
    return {
        platform.GCSFUSE_ANNOTATION: "true",
        **{platform.GCSFUSE_SIDECAR_ANNOTATIONS[k]: v for k, v in platform.GCSFUSE_SERVING_SIDECAR_LIMITS.items()},
    }


def pod_monitoring(svc: Inference, selector: dict[str, str], object_labels: dict[str, str]) -> Obj:
    """Managed Prometheus scrapes the engine's /metrics on the serving port of every replica."""
    return {
        "apiVersion": platform.POD_MONITORING_API,
        "kind": "PodMonitoring",
        "metadata": metadata(svc.name, svc.team, object_labels),
        "spec": {
            "selector": {"matchLabels": dict(selector)},
            "endpoints": [{"port": "http", "path": platform.VLLM_METRICS_PATH, "interval": platform.SCRAPE_INTERVAL}],
        },
    }


def scrape_policy(svc: Inference, selector: dict[str, str], object_labels: dict[str, str]) -> Obj:
    """Opens the serving port of the model's Pods to Managed Prometheus's collectors (the team namespace denies
    ingress by default, which would leave the autoscaler without its metric)."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": metadata(f"{svc.name}-allow-metrics-scrape", svc.team, object_labels),
        "spec": {
            "podSelector": {"matchLabels": dict(selector)},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [
                        {
                            "namespaceSelector": {
                                "matchExpressions": [
                                    {
                                        "key": platform.NAMESPACE_NAME_LABEL,
                                        "operator": "In",
                                        "values": list(platform.GMP_COLLECTOR_NAMESPACES),
                                    }
                                ]
                            }
                        }
                    ],
                    "ports": [{"protocol": "TCP", "port": svc.port}],
                }
            ],
        },
    }


def engine_metric(svc: Inference) -> Obj | None:
    """The HPA metric on the engine's own gauge: a Pods metric the metrics adapter serves from Managed
    Prometheus, averaged over the replicas."""
    a = svc.autoscaling
    if not a.engine_metric or a.engine_target is None:
        return None
    name = platform.prometheus_metric(platform.VLLM_SCALING_METRICS[a.engine_metric])
    target = a.engine_target
    value = str(int(target)) if target == int(target) else f"{round(target * 1000)}m"
    return {
        "type": "Pods",
        "pods": {"metric": {"name": name}, "target": {"type": "AverageValue", "averageValue": value}},
    }
