"""Multi-host serving with LeaderWorkerSet (pure Python): the controller in the in-cluster layer (its namespace,
the values of its official chart, a PodDisruptionBudget and the hook that waits for its webhook), and the
LeaderWorkerSet a multi-host model's inference service runs as.

A model whose ``model.nodes`` is above 1 does not fit one node's GPUs: each replica is a group of that many Pods
(a leader and its workers, each with the service's GPUs), started and restarted together by the LeaderWorkerSet
controller (``platform.LWS_*``, with the sources). vLLM spans the group over Ray, as the LWS project's and GKE's
examples do: tensor parallel across the GPUs of a node, pipeline parallel across the nodes. The leader serves
the OpenAI API: the Service, the engine's metrics and the autoscaler's Pods metric are the leaders' (the
LeaderWorkerSet's scale subresource selects the leaders, and the HorizontalPodAutoscaler scales whole groups).

The controller's webhooks on LeaderWorkerSets and on their Pods fail closed, in every namespace: two replicas
and a PodDisruptionBudget, and the ``lws-ready`` release after the chart holds a hook Job that retries a
server-side dry-run create of a LeaderWorkerSet until the webhook admits it (:mod:`gkeml.manifests.probe`).
The LeaderWorkerSets themselves go through the local chart ``leaderworkerset`` after it (their CRD comes with
the controller's chart: first-apply fact TF009).
"""

from __future__ import annotations

import copy
import shlex
from dataclasses import dataclass, field

from gkeml import platform
from gkeml.config.model import Environment, Inference
from gkeml.manifests import Obj, metadata, resources
from gkeml.manifests.probe import WebhookProbe, controller_namespace

LABELS = {"gkeml.io/component": "lws"}
CONTROLLER_RESOURCES = {"cpu": "1", "memory": "1Gi"}  # the chart's requests, as limits too
READY_CHART = "lws-ready"  # gkeml/charts/lws-ready, released in the LWS namespace after the chart
SERVICE_CHART = "leaderworkerset"  # gkeml/charts/leaderworkerset: one release per team with a multi-host service
PROBE = "lws-webhook-probe"
PROBE_MANIFEST = "leaderworkerset.yaml"
LEADER = {platform.LWS_WORKER_INDEX_LABEL: "0"}  # what selects a group's leader (status.hpaPodSelector)


def uses_lws(env: Environment) -> bool:
    """Whether an inference service of ``env`` spans several nodes (and so needs the controller)."""
    return any(svc.model is not None and svc.model.multi_host for svc in env.inference)


def chart_values() -> Obj:
    """Values of the official LWS chart: the released image pinned (values.yaml names tag main, pulled Always),
    requests equal to limits at the chart's requests, two replicas (every replica serves the fail-closed
    webhooks; leader election picks the one that reconciles). cert-manager, Prometheus and DisaggregatedSet's
    roles and webhook stay off. The chart's security contexts (non-root, no privilege escalation, every
    capability dropped, read-only root) are kept; RuntimeDefault seccomp is added for the restricted level."""
    return {
        "image": {
            "manager": {
                "repository": platform.LWS_IMAGE,
                "tag": f"v{platform.LWS_VERSION}",
                "pullPolicy": "IfNotPresent",
            }
        },
        "replicaCount": platform.LWS_CONTROLLER_REPLICAS,
        "resources": resources(CONTROLLER_RESOURCES["cpu"], CONTROLLER_RESOURCES["memory"]),
        "podSecurityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "enableCertManager": False,
        "enablePrometheus": False,
        "enableDisaggregatedSet": False,
    }


def namespace_objects() -> list[Obj]:
    """The LWS namespace (restricted Pod Security: the controller and the probe meet it), denying ingress except
    to the controller's ports (the webhook, which the API server calls, metrics, probes), and a
    PodDisruptionBudget that keeps one controller replica up through a drain (the chart has none)."""
    return [
        *controller_namespace(
            platform.LWS_NAMESPACE, LABELS, "allow-lws-controller-ports", tuple(platform.LWS_CONTROLLER_PORTS)
        ),
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": metadata("lws-controller-manager", platform.LWS_NAMESPACE, LABELS),
            "spec": {
                "minAvailable": platform.LWS_CONTROLLER_MIN_AVAILABLE,
                "selector": {"matchLabels": dict(platform.LWS_CONTROLLER_LABELS)},
            },
        },
    ]


def webhook_probe() -> WebhookProbe:
    """A hook Job that succeeds once the LWS webhooks admit a server-side dry-run create of a small
    LeaderWorkerSet in the LWS namespace, as a service account that may only create LeaderWorkerSets there."""
    probe = {
        "apiVersion": platform.LWS_API,
        "kind": "LeaderWorkerSet",
        "metadata": {"name": f"gkeml-{PROBE}", "namespace": platform.LWS_NAMESPACE},
        "spec": {
            "replicas": 1,
            "leaderWorkerTemplate": {
                "size": 1,
                "workerTemplate": {
                    "spec": {"containers": [{"name": "probe", "image": platform.KUBECTL_IMAGE}]},
                },
            },
        },
    }
    return WebhookProbe(
        PROBE,
        platform.LWS_NAMESPACE,
        {**LABELS, "gkeml.io/lws-version": platform.LWS_VERSION},
        probe,
        PROBE_MANIFEST,
        {"apiGroups": [platform.LWS_GROUP], "resources": ["leaderworkersets"], "verbs": ["create"]},
        cluster_scoped=False,
    )


@dataclass
class LwsPlan:
    """LeaderWorkerSet in one environment: the namespace objects (``kubernetes_manifest``), the chart values and
    the objects of the ``lws-ready`` chart (the webhook probe hook)."""

    namespace: list[Obj]
    chart_values: Obj
    webhook_probe: list[Obj] = field(default_factory=list)


def lws_plan(env: Environment) -> LwsPlan | None:
    """LeaderWorkerSet's part of ``env``'s in-cluster layer, or None when no service spans several nodes."""
    if not uses_lws(env):
        return None
    return LwsPlan(namespace_objects(), chart_values(), webhook_probe().objects())


# --- a multi-host service --------------------------------------------------------------------------------------


def multi_node_args(svc: Inference, server_args: list[str]) -> tuple[list[str], list[str]]:
    """The leader's and the workers' commands: the leader starts Ray's head and waits for the group's nodes, then
    runs vLLM's OpenAI server with ``server_args`` over the Ray cluster (pipeline parallel across the nodes); each
    worker joins the leader's Ray cluster (LWS sets LWS_GROUP_SIZE and LWS_LEADER_ADDRESS in every pod)."""
    assert svc.model is not None
    args = [
        *server_args,
        f"--pipeline-parallel-size={svc.model.nodes}",
        "--distributed-executor-backend=ray",
    ]
    leader = (
        f"bash {platform.VLLM_MULTI_NODE_SCRIPT} leader --ray_cluster_size=$(LWS_GROUP_SIZE); "
        f"exec python3 -m vllm.entrypoints.openai.api_server {shlex.join(args)}"
    )
    worker = f"bash {platform.VLLM_MULTI_NODE_SCRIPT} worker --ray_address=$(LWS_LEADER_ADDRESS)"
    return ["sh", "-c", leader], ["sh", "-c", worker]


def group_affinity(selector: dict[str, str]) -> Obj:
    """All Pods of one group in one zone (the first Pod of a group matches its own term and goes anywhere): Ray
    and the pipeline's activations cross the group's nodes on every token."""
    return {
        "podAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": [
                {
                    "labelSelector": {"matchLabels": dict(selector)},
                    "matchLabelKeys": [platform.LWS_GROUP_KEY_LABEL],
                    "topologyKey": platform.ZONE_LABEL,
                }
            ]
        }
    }


def leader_worker_set(svc: Inference, meta: Obj, pod_meta: Obj, pod_spec: Obj, selector: dict[str, str]) -> Obj:
    """The LeaderWorkerSet of a multi-host service from its single-node Pod (``pod_spec``, its ``server``
    container with the engine's arguments): groups of ``model.nodes`` Pods, the leader running the server
    (probes, port) and the workers joining it, each Pod with the service's GPUs, the weights and /dev/shm. No
    replicas: the HorizontalPodAutoscaler owns the number of groups through the scale subresource. A Pod that
    restarts recreates its group (the default restartPolicy: a pipeline with a missing stage serves nothing)."""
    leader_spec = {k: v for k, v in pod_spec.items() if k != "topologySpreadConstraints"}
    leader_spec["affinity"] = group_affinity(selector)
    server = leader_spec["containers"][0]
    leader_cmd, worker_cmd = multi_node_args(svc, server.pop("args"))
    leader_spec["containers"] = [{**server, "command": leader_cmd}]
    worker = {k: v for k, v in server.items() if k not in ("ports", "startupProbe", "readinessProbe", "livenessProbe")}
    worker_spec = copy.deepcopy({**leader_spec, "containers": [{**worker, "command": worker_cmd}]})
    return {
        "apiVersion": platform.LWS_API,
        "kind": "LeaderWorkerSet",
        "metadata": meta,
        "spec": {
            "startupPolicy": "LeaderCreated",
            "rolloutStrategy": {
                "type": "RollingUpdate",
                "rollingUpdateConfiguration": {"maxUnavailable": 1, "maxSurge": 0},
            },
            "leaderWorkerTemplate": {
                "size": svc.pods_per_replica,
                "restartPolicy": "RecreateGroupOnPodRestart",
                "leaderTemplate": {"metadata": pod_meta, "spec": leader_spec},
                "workerTemplate": {"metadata": copy.deepcopy(pod_meta), "spec": worker_spec},
            },
        },
    }


def group_policy(svc: Inference, group_selector: dict[str, str], object_labels: dict[str, str]) -> Obj:
    """Lets the Pods of the service's groups reach each other on every port (Ray's head, its object store and
    workers, NCCL): the team namespace denies ingress by default."""
    peers = {"podSelector": {"matchLabels": dict(group_selector)}}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": metadata(f"{svc.name}-allow-group", svc.team, object_labels),
        "spec": {**peers, "policyTypes": ["Ingress"], "ingress": [{"from": [peers]}]},
    }
