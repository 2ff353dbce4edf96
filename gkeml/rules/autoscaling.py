"""Rules on autoscalers that meet other controllers: an HPA scaling on a Managed Prometheus series that nothing
scrapes from its target's pods never gets its metric. Platform facts from :mod:`gkeml.platform`."""

from __future__ import annotations

from collections.abc import Iterator

from gkeml import platform
from gkeml.manifests import Obj
from gkeml.registry import CONTROLLER, WARNING
from gkeml.rules.engine import Group, Issue, as_dict, as_list, get, namespace_of, pod_templates, rule

PROMETHEUS_PREFIX = platform.PROMETHEUS_METRIC_DOMAIN + platform.EXTERNAL_METRIC_SEPARATOR
METRIC_SOURCES = {"Pods": "pods", "Object": "object", "External": "external"}


def _selects(selector: Obj, labels: dict) -> bool:
    """Whether a label selector (matchLabels and In/NotIn/Exists/DoesNotExist expressions) selects ``labels``."""
    if not all(labels.get(k) == v for k, v in as_dict(get(selector, "matchLabels")).items()):
        return False
    for expression in as_list(get(selector, "matchExpressions")):
        key, operator = get(expression, "key"), get(expression, "operator")
        values = as_list(get(expression, "values"))
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and labels.get(key) in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def _controller_labels(workload: Obj, role: str) -> dict[str, str]:
    """Labels a workload's controller adds to its pods beyond the template's: a LeaderWorkerSet's leaders carry
    its name and worker index 0 (kubernetes-sigs/lws v0.10.0 pkg/controllers/leaderworkerset_controller.go)."""
    if get(workload, "kind") != "LeaderWorkerSet" or role not in ("leader", "group"):
        return {}
    return {platform.LWS_NAME_LABEL: str(get(workload, "metadata", "name")), platform.LWS_WORKER_INDEX_LABEL: "0"}


@rule(
    "GKE076",
    "An autoscaler scales on a Managed Prometheus metric that no PodMonitoring scrapes from its pods",
    WARNING,
    kind=CONTROLLER,
    inspects=("HorizontalPodAutoscaler",),
)
def prometheus_metric_scraped(obj: Obj, group: Group) -> Iterator[Issue]:
    """A HorizontalPodAutoscaler that scales on a series of Managed Service for Prometheus
    (``prometheus.googleapis.com|NAME|KIND``, served by the metrics adapter) gets a value only when a
    PodMonitoring in the target's namespace (or a ClusterPodMonitoring) selects the target's pods: otherwise the
    adapter finds no series, the HPA reports FailedGetPodsMetric and never scales. Judged only when the group holds
    the target workload; the monitoring may be applied elsewhere, hence a warning.

    Source: cloud.google.com/kubernetes-engine/docs/how-to/machine-learning/inference/autoscaling (PodMonitoring,
    then the HPA on prometheus.googleapis.com|vllm:num_requests_waiting|gauge) and
    cloud.google.com/stackdriver/docs/managed-prometheus/setup-managed (checked 2026-12-05)."""
    names = [
        (i, name)
        for i, metric in enumerate(as_list(get(obj, "spec", "metrics")))
        if (source := METRIC_SOURCES.get(str(get(metric, "type"))))
        and isinstance(name := get(metric, source, "metric", "name"), str)
        and name.startswith(PROMETHEUS_PREFIX)
    ]
    if not names:
        return
    ns = namespace_of(obj)
    target_kind, target_name = get(obj, "spec", "scaleTargetRef", "kind"), get(obj, "spec", "scaleTargetRef", "name")
    targets = [w for w in group.of_kind(str(target_kind), ns) if get(w, "metadata", "name") == target_name]
    pods = [(workload, pod) for workload in targets for pod in pod_templates(workload)]
    if target_kind == "LeaderWorkerSet":  # the autoscaler reads the leaders only (status.hpaPodSelector)
        pods = [(w, pod) for w, pod in pods if pod.role in ("leader", "group")]
    if not pods:
        return
    monitors = group.of_kind("PodMonitoring", ns) + group.of_kind("ClusterPodMonitoring")
    for workload, pod in pods:
        labels = {**as_dict(pod.metadata.get("labels")), **_controller_labels(workload, pod.role)}
        if any(_selects(as_dict(get(m, "spec", "selector")), labels) for m in monitors):
            continue
        i, name = names[0]
        yield Issue(
            f"spec.metrics.{i}",
            f"scales on {name}, but no PodMonitoring in namespace {ns or '(none)'} selects the pods of "
            f"{target_kind}/{target_name}: Managed Prometheus never scrapes the series, so the autoscaler gets no value",
            f"add a PodMonitoring ({platform.POD_MONITORING_API}) whose spec.selector matches the pod labels and "
            "whose endpoint scrapes the metrics port",
        )
        return
