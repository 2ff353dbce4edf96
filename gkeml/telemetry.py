"""What a GKE Autopilot cluster emits that the alerts, log-based metrics and dashboard read.

A dated, sourced table of metric and log names and the labels (or log fields) a query may use.

Pure data. :mod:`gkeml.observability` builds every query from these names, and
``tests/test_telemetry.py`` parses each synthesized query and checks every metric, log, resource type,
label and field against this table, so a name nobody sourced cannot reach an alert.

Each row says what is **verified** (read in a primary source: Google's documentation, or the code of
the component that emits it, at the commit named) and what is **not** (reasoned from how the parts fit;
nothing here was seen on a live cluster). Where the name of a label depends on how the series is
scraped, the row lists the **alternatives**; a query that reads one of them reads all, so it works
whichever the cluster writes (``docs/services.md``, "What the alerts read").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

CHECKED_ON = "2026-12-04"

# --- Managed Service for Prometheus ---------------------------------------------------------------
# Every series scraped by managed collection is written to the monitored resource prometheus_target,
# whose labels are project_id, location, cluster, namespace, job and instance; a ClusterPodMonitoring
# adds the target labels of its targetLabels.metadata, by default container, namespace, pod,
# top_level_controller_name and top_level_controller_type (GoogleCloudPlatform/prometheus-engine
# pkg/operator/apis/monitoring/v1/pod_config.go and pod_types.go at 2ffde4ec, 2026-07-02). Managed
# collection never sets honor_labels, so an exporter's own label that collides with a target label is
# renamed exported_<name> (prometheus.io/docs/prometheus/latest/configuration/configuration, honor_labels).
PROMETHEUS_TARGET_LABELS = frozenset(
    {"project_id", "location", "cluster", "namespace", "job", "instance", "container", "pod"}
)
PROMETHEUS_TARGET_SOURCE = "GoogleCloudPlatform/prometheus-engine pod_config.go, pod_types.go at 2ffde4ec (2026-07-02)"
# The namespaces GKE runs its managed exporters in: gke-managed-system (DCGM exporter, GKE's
# how-to/dcgm-metrics and public captures of `kubectl get pods -n gke-managed-system`) and gke-managed-cim
# (kube-state-metrics). A series whose `namespace` is one of these belongs to the exporter, not to a team.
MANAGED_NAMESPACE_PATTERN = "gke-managed-.*"


@dataclass(frozen=True)
class PromMetric:
    """A PromQL metric: the labels a query may read, beside the target labels, and the groups of
    alternative names one workload label may carry (a query reading one reads all of the group)."""

    name: str
    component: str  # the GKE monitoring package (monitoring_config.enable_components) or "GCP"
    labels: frozenset[str]
    alternatives: tuple[tuple[str, ...], ...] = ()
    source: str = ""
    verified: str = ""
    unverified: str = ""
    target_labels: bool = True  # a scraped series: the prometheus_target labels apply


# The workload a DCGM or kube-state series describes is labelled by the exporter (DCGM's Kubernetes
# mapping, kube-state's object labels). Scraped by a ClusterPodMonitoring with default target labels those
# names collide with the exporter Pod's own and arrive as exported_*; scraped without them they keep
# their names. Which one GKE's managed packages write is not documented.
WORKLOAD_ALTERNATIVES = (("namespace", "exported_namespace"), ("pod", "exported_pod"))

_DCGM_SOURCE = (
    "NVIDIA dcgm-exporter etc/default-counters.csv (4.6.0-4.8.3; field IDs: docs.nvidia.com/datacenter/dcgm/latest/"
    "dcgm-api/dcgm-api-field-ids.html); GKE how-to/dcgm-metrics (the package installs DCGM-Exporter and a "
    "ClusterPodMonitoring); GoogleCloudPlatform/monitoring-dashboard-samples integrations/dcgm/prometheus_metadata.yaml "
    "and dashboards/nvidia-gpu/nvidia-dcgm-prometheus.json at 25d8c3e8 (2026-07-27): labels exported_pod, modelName, "
    "uuid, Hostname, gpu"
)
_DCGM_UNVERIFIED = (
    "which form the workload labels take in the MANAGED package: Google's own DCGM integration (a PodMonitoring) "
    "writes exported_pod; a public capture of the managed package (2026) shows series split by pod and container. "
    "The queries read both forms."
)
_KSM_SOURCE = (
    "kubernetes/kube-state-metrics docs/metrics/workload (pod-metrics.md, horizontalpodautoscaler-metrics.md); GKE "
    "how-to/kube-state-metrics (the POD and HPA packages keep these names)"
)
_KSM_UNVERIFIED = (
    "whether the managed package's namespace and pod labels arrive as namespace/pod or exported_namespace/"
    "exported_pod (the same collision as DCGM); the queries read both forms"
)

PROM_METRICS: Mapping[str, PromMetric] = {
    m.name: m
    for m in (
        PromMetric(
            "DCGM_FI_DEV_GPU_UTIL",
            "DCGM",
            frozenset({"gpu", "modelName", "Hostname", "UUID", "uuid", "container", "exported_container"}),
            WORKLOAD_ALTERNATIVES,
            _DCGM_SOURCE,
            "metric name and unit (GPU utilisation, %); gpu, modelName, Hostname in Google's GKE DCGM dashboard",
            _DCGM_UNVERIFIED,
        ),
        PromMetric(
            "DCGM_FI_DEV_FB_USED",
            "DCGM",
            frozenset({"gpu", "modelName", "Hostname", "UUID", "uuid", "container", "exported_container"}),
            WORKLOAD_ALTERNATIVES,
            _DCGM_SOURCE,
            "metric name and unit (framebuffer memory used, MiB)",
            _DCGM_UNVERIFIED,
        ),
        PromMetric(
            "kube_pod_status_phase",
            "POD",
            frozenset({"phase", "uid"}),
            WORKLOAD_ALTERNATIVES,
            _KSM_SOURCE,
            "metric name; labels namespace, pod, phase, uid in kube-state-metrics",
            _KSM_UNVERIFIED,
        ),
        PromMetric(
            "kube_horizontalpodautoscaler_spec_max_replicas",
            "HPA",
            frozenset({"horizontalpodautoscaler"}),
            (("namespace", "exported_namespace"),),
            _KSM_SOURCE,
            "metric name; labels namespace, horizontalpodautoscaler in kube-state-metrics",
            _KSM_UNVERIFIED,
        ),
        PromMetric(
            "kube_horizontalpodautoscaler_status_current_replicas",
            "HPA",
            frozenset({"horizontalpodautoscaler"}),
            (("namespace", "exported_namespace"),),
            _KSM_SOURCE,
            "metric name; labels namespace, horizontalpodautoscaler in kube-state-metrics",
            _KSM_UNVERIFIED,
        ),
        PromMetric(
            "loadbalancing_googleapis_com:https_total_latencies_bucket",
            "GCP",
            frozenset({"le", "monitored_resource", "forwarding_rule_name", "project_id"}),
            source=(
                "cloud.google.com/monitoring/api/metrics_gcp (loadbalancing.googleapis.com/https/total_latencies on "
                "https_lb_rule, resource label forwarding_rule_name); cloud.google.com/monitoring/promql/promql-mapping "
                "(':' for the first '/' and '.', '_bucket' and le for distributions, monitored_resource)"
            ),
            verified="metric, resource and label names as documented",
            unverified="not queried on a live project",
            target_labels=False,
        ),
    )
}

DCGM_GPU_UTIL = "DCGM_FI_DEV_GPU_UTIL"
DCGM_FB_USED = "DCGM_FI_DEV_FB_USED"
POD_PHASE = "kube_pod_status_phase"
HPA_MAX_REPLICAS = "kube_horizontalpodautoscaler_spec_max_replicas"
HPA_CURRENT_REPLICAS = "kube_horizontalpodautoscaler_status_current_replicas"
LB_LATENCY = "loadbalancing_googleapis_com:https_total_latencies_bucket"


# --- Cloud Logging ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class LogSignal:
    """Log entries of one log on one monitored resource type: the resource labels and payload fields a
    filter or a label extractor may name, with the values the code relies on. ``autopilot`` is False for a
    signal an Autopilot cluster's project is not known to receive: no alert may count it."""

    key: str
    resource_type: str
    log_id: str
    resource_labels: frozenset[str]
    fields: frozenset[str]
    values: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    autopilot: bool = True
    source: str = ""
    verified: str = ""
    unverified: str = ""


KUBERNETES_EVENTS_LOG = "events"
_EVENT_FIELDS = frozenset(
    {
        "jsonPayload.involvedObject.kind",
        "jsonPayload.involvedObject.name",
        "jsonPayload.involvedObject.namespace",
        "jsonPayload.reason",
        "jsonPayload.message",
        "jsonPayload.type",
        "jsonPayload.source.component",
        "jsonPayload.source.host",
    }
)
_EVENT_EXPORTER = (
    "GoogleCloudPlatform/k8s-stackdriver event-exporter/sinks/stackdriver/monitored_resource_factory.go and "
    "sink_config.go at 673c7dd8 (2026-08-18): log `events`, jsonPayload = the core/v1 Event; an Event about a Node "
    "goes to k8s_node (node_name), about a Pod to k8s_pod, anything else to k8s_cluster; project_id, location "
    "(the cluster's) and cluster_name on all three"
)
# The Job controller's failure reasons (k8s.io/api batch/v1 types.go JobReason*), recorded as Events on the Job.
JOB_FAILURE_REASONS = ("BackoffLimitExceeded", "DeadlineExceeded", "MaxFailedIndexesExceeded", "PodFailurePolicy")
# The kubelet's graceful node shutdown records one Event on its Node when the node starts shutting down
# (kubernetes pkg/kubelet/nodeshutdown/nodeshutdown_manager_linux.go: recorder.Event(nodeRef, Normal,
# events.NodeShutdown, "Shutdown manager detected shutdown event"); pkg/kubelet/events/event.go: NodeShutdown =
# "Shutdown"). GKE gives Spot and preemptible nodes graceful node shutdown on preemption (how-to/preemptible-vms,
# concepts/spot-vms: "a preemption notice is sent to GKE", "the kubelet ... gracefully terminates Pods").
NODE_SHUTDOWN_REASON = "Shutdown"
NODE_SHUTDOWN_MESSAGE = "Shutdown manager detected shutdown event"

LOG_SIGNALS: Mapping[str, LogSignal] = {
    s.key: s
    for s in (
        LogSignal(
            "cluster-events",
            "k8s_cluster",
            KUBERNETES_EVENTS_LOG,
            frozenset({"project_id", "location", "cluster_name"}),
            _EVENT_FIELDS,
            {"jsonPayload.involvedObject.kind": ("Job",), "jsonPayload.reason": JOB_FAILURE_REASONS},
            source=_EVENT_EXPORTER + "; Job reasons: k8s.io/api batch/v1 types.go",
            verified="log, resource type, labels and payload fields from the exporter's source",
            unverified="not read on a live Autopilot cluster",
        ),
        LogSignal(
            "node-events",
            "k8s_node",
            KUBERNETES_EVENTS_LOG,
            frozenset({"project_id", "location", "cluster_name", "node_name"}),
            _EVENT_FIELDS,
            {
                "jsonPayload.involvedObject.kind": ("Node",),
                "jsonPayload.reason": (NODE_SHUTDOWN_REASON,),
                "jsonPayload.message": (NODE_SHUTDOWN_MESSAGE,),
            },
            source=_EVENT_EXPORTER
            + "; the Shutdown Event: kubernetes pkg/kubelet/nodeshutdown/nodeshutdown_manager_linux.go, "
            "pkg/kubelet/events/event.go; a public GKE incident log (2026) shows `Shutdown: Shutdown manager "
            "detected shutdown event` on a GKE node",
            verified="the Event's reason and message from the kubelet's source; its log and resource from the exporter",
            unverified=(
                "not seen for a Spot preemption on a live Autopilot cluster; the Event marks every graceful node "
                "shutdown, so GKE's own node removals (scale-down, upgrade, repair: drained first) count too"
            ),
        ),
        LogSignal(
            "compute-system-events",
            "gce_instance",
            "cloudaudit.googleapis.com/system_event",
            frozenset({"project_id", "instance_id", "zone"}),
            frozenset({"protoPayload.methodName"}),
            {"protoPayload.methodName": ("compute.instances.preempted",)},
            autopilot=False,
            source=(
                "compute/docs/instances/spot 'Detect preemption' (VMs of the project); GKE Autopilot overview: 'the "
                "nodes are not accessible through Compute Engine, like they are in Standard mode'"
            ),
            verified="written for Compute Engine VMs of the project (Standard node pools)",
            unverified="nothing shows these events for Autopilot nodes: gkeml used to count them; it no longer does",
        ),
    )
}
