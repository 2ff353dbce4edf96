"""What an environment watches, as plain data: log-based metrics, alert policies and its dashboard.

Pure Python (no framework import): the monitoring construct turns these into
``google_logging_metric``, ``google_monitoring_alert_policy`` and ``google_monitoring_dashboard``,
and the tests read them directly. Every metric, log, label and field name comes from the dated,
sourced table :mod:`gkeml.telemetry`.

- **GPU idle**: PromQL on the DCGM package: a GPU used by a Pod whose utilisation stays below the
  threshold for the configured time.
- **Job failures**: a log-based counter of the Job controller's failure events (BackoffLimitExceeded,
  DeadlineExceeded, ...), alerting on any failure in five minutes, per namespace and Job.
- **HPA at max**: PromQL on the HPA package: current replicas >= max replicas for the configured time.
- **Spot preemptions**: a log-based counter of the kubelet's graceful-shutdown Events on the cluster's
  nodes (what a preempted Spot node records; GKE's own node removals record it too), alerting above
  the configured number per hour.

The workload labels of DCGM and kube-state series may arrive as ``namespace``/``pod`` or as
``exported_namespace``/``exported_pod`` (:data:`gkeml.telemetry.WORKLOAD_ALTERNATIVES`): every query
reads both.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gkeml import telemetry
from gkeml.naming import Names

if TYPE_CHECKING:
    from gkeml.config.model import Environment

JOB_FAILURE_WINDOW_SECONDS = 300
PREEMPTION_WINDOW_SECONDS = 3600
PROMQL_EVALUATION_SECONDS = 60
AUTO_CLOSE_SECONDS = 1800
DASHBOARD_COLUMNS = 12
TILE_WIDTH, TILE_HEIGHT = 6, 4


@dataclass(frozen=True)
class LogMetric:
    """A log-based counter metric: its name, log filter and the labels extracted from each entry; the
    entries' monitored resource type (``resource_type``) is the resource of its time series."""

    name: str
    description: str
    filter: str
    resource_type: str
    labels: dict[str, str] = field(default_factory=dict)  # label -> EXTRACT(field)

    @property
    def metric_type(self) -> str:
        return f"logging.googleapis.com/user/{self.name}"

    @property
    def series_filter(self) -> str:
        """Cloud Monitoring filter of the metric's time series."""
        return f'metric.type="{self.metric_type}" AND resource.type="{self.resource_type}"'


@dataclass(frozen=True)
class Alert:
    """One alert policy with one condition: PromQL (``promql``), or a threshold on a log-based metric
    (``log_metric`` counted over ``window_seconds``, above ``threshold``)."""

    key: str
    display_name: str
    documentation: str
    severity: str
    promql: str | None = None
    duration_seconds: int = 0
    log_metric: LogMetric | None = None
    window_seconds: int = 0
    threshold: float = 0
    group_by: tuple[str, ...] = ()

    @property
    def threshold_filter(self) -> str:
        """Cloud Monitoring filter of a log-metric condition."""
        assert self.log_metric is not None
        return self.log_metric.series_filter


def _selector(names: Names) -> str:
    return f'cluster="{names.cluster}"'


def _workload_series(metric: str, names: Names) -> str:
    """The series of ``metric`` that describe a workload (a team's Pod), whichever form its workload
    labels take: ``exported_pod`` set (the exporter Pod holds ``pod``), or ``pod`` set on a series that
    is not the exporter's own (its namespace is not one of GKE's managed ones)."""
    sel = _selector(names)
    exported = f'{metric}{{{sel}, exported_pod!=""}}'
    plain = f'{metric}{{{sel}, exported_pod="", pod!="", namespace!~"{telemetry.MANAGED_NAMESPACE_PATTERN}"}}'
    return f"({exported} or {plain})"


def _team_labels() -> str:
    """The labels naming a workload's namespace (a team), in both forms."""
    return ", ".join(telemetry.WORKLOAD_ALTERNATIVES[0])


def _workload_labels() -> str:
    """The labels naming a workload's namespace and Pod, in both forms."""
    return ", ".join(name for group in telemetry.WORKLOAD_ALTERNATIVES for name in group)


def _log_filter(signal: telemetry.LogSignal, names: Names, *conditions: str) -> str:
    head = (
        f'resource.type="{signal.resource_type}" AND resource.labels.cluster_name="{names.cluster}" AND '
        f'log_id("{signal.log_id}")'
    )
    return " AND ".join((head, *conditions))


def job_failure_metric(env: Environment) -> LogMetric:
    names = Names.of(env)
    signal = telemetry.LOG_SIGNALS["cluster-events"]
    reasons = " OR ".join(f'"{r}"' for r in telemetry.JOB_FAILURE_REASONS)
    return LogMetric(
        name=names.log_metric("job-failures"),
        description=f"Kubernetes Jobs of {env.name} that failed (Job controller events)",
        filter=_log_filter(signal, names, 'jsonPayload.involvedObject.kind="Job"', f"jsonPayload.reason=({reasons})"),
        resource_type=signal.resource_type,
        labels={
            "namespace": "EXTRACT(jsonPayload.involvedObject.namespace)",
            "job": "EXTRACT(jsonPayload.involvedObject.name)",
            "reason": "EXTRACT(jsonPayload.reason)",
        },
    )


def node_shutdown_metric(env: Environment) -> LogMetric:
    """Graceful shutdowns of the cluster's nodes: the kubelet's Event on its Node, which a preempted Spot
    node records (and a node GKE removes after draining it)."""
    names = Names.of(env)
    signal = telemetry.LOG_SIGNALS["node-events"]
    return LogMetric(
        name=names.log_metric("node-shutdowns"),
        description=f"Nodes of {names.cluster} shutting down: Spot preemptions and GKE's node removals (kubelet Events)",
        filter=_log_filter(
            signal,
            names,
            'jsonPayload.involvedObject.kind="Node"',
            f'jsonPayload.reason="{telemetry.NODE_SHUTDOWN_REASON}"',
            f'jsonPayload.message="{telemetry.NODE_SHUTDOWN_MESSAGE}"',
        ),
        resource_type=signal.resource_type,
    )


def log_metrics(env: Environment) -> list[LogMetric]:
    """The log-based metrics the enabled alerts and the dashboard count."""
    alerts = env.monitoring.alerts
    found = []
    if alerts.job_failures.enabled:
        found.append(job_failure_metric(env))
    if alerts.spot_preemptions.enabled:
        found.append(node_shutdown_metric(env))
    return found


def alerts(env: Environment) -> list[Alert]:
    """The enabled alert policies of ``env``."""
    names = Names.of(env)
    config = env.monitoring.alerts
    sel = _selector(names)
    found: list[Alert] = []
    if config.gpu_idle.enabled:
        idle = config.gpu_idle
        found.append(
            Alert(
                key="gpu-idle",
                severity="WARNING",
                display_name=f"{env.name}: GPU allocated but idle for {idle.minutes} min",
                documentation=(
                    f"A GPU used by a Pod of cluster {names.cluster} stayed below {idle.below_percent:g} % "
                    f"utilisation ({telemetry.DCGM_GPU_UTIL}) for {idle.minutes} minutes: a stuck job, a "
                    "notebook left open or an oversized request is paying for an idle GPU. The Pod is in the "
                    "labels exported_namespace/exported_pod, or namespace/pod (whichever the DCGM package writes)."
                ),
                promql=(
                    f"max by ({_workload_labels()}) "
                    f"({_workload_series(telemetry.DCGM_GPU_UTIL, names)}) < {idle.below_percent:g}"
                ),
                duration_seconds=idle.minutes * 60,
            )
        )
    if config.job_failures.enabled:
        metric = job_failure_metric(env)
        found.append(
            Alert(
                key="job-failures",
                severity="ERROR",
                display_name=f"{env.name}: Kubernetes Job failed",
                documentation=(
                    "A Job failed (backoff limit, deadline, failed indexes or pod failure policy). "
                    "`gkeml job status NAMESPACE/JOB --env ENV` shows why; `gkeml job logs` its output."
                ),
                log_metric=metric,
                window_seconds=JOB_FAILURE_WINDOW_SECONDS,
                threshold=0,
                group_by=("metric.label.namespace", "metric.label.job"),
            )
        )
    if config.hpa_at_max.enabled:
        at_max = config.hpa_at_max
        found.append(
            Alert(
                key="hpa-at-max",
                severity="WARNING",
                display_name=f"{env.name}: autoscaler at max replicas for {at_max.minutes} min",
                documentation=(
                    f"An HorizontalPodAutoscaler of cluster {names.cluster} has run at its max_replicas for "
                    f"{at_max.minutes} minutes: the service may be saturated. Raise "
                    "inference[].autoscaling.max_replicas (and check the GPU quota: `gkeml doctor ENV`)."
                ),
                # both series come from one kube-state target: `>=` matches them on identical labels,
                # whichever form the namespace label takes
                promql=(f"{telemetry.HPA_CURRENT_REPLICAS}{{{sel}}} >= {telemetry.HPA_MAX_REPLICAS}{{{sel}}}"),
                duration_seconds=at_max.minutes * 60,
            )
        )
    if config.spot_preemptions.enabled:
        spot = config.spot_preemptions
        found.append(
            Alert(
                key="spot-preemptions",
                severity="WARNING",
                display_name=f"{env.name}: more than {spot.per_hour} node shutdowns per hour (Spot preemptions)",
                documentation=(
                    f"More than {spot.per_hour} nodes of cluster {names.cluster} shut down in an hour. A preempted "
                    "Spot node records this (the kubelet's `Shutdown` Event), and so does a node GKE removes after "
                    "draining it (scale-down, upgrade, repair). A burst usually means Spot capacity is short in the "
                    "zones used: Jobs restart from their checkpoints; consider a ComputeClass that falls back to "
                    "on-demand. `kubectl get events -A --field-selector reason=Shutdown` lists the nodes."
                ),
                log_metric=node_shutdown_metric(env),
                window_seconds=PREEMPTION_WINDOW_SECONDS,
                threshold=spot.per_hour,
            )
        )
    return found


# --- the dashboard ------------------------------------------------------------------------


def _promql_tile(title: str, query: str, unit: str = "") -> dict[str, Any]:
    chart: dict[str, Any] = {"dataSets": [{"timeSeriesQuery": {"prometheusQuery": query}, "plotType": "LINE"}]}
    if unit:
        chart["yAxis"] = {"label": unit, "scale": "LINEAR"}
    return {"title": title, "xyChart": chart}


def _log_metric_tile(title: str, metric: LogMetric, group_by: tuple[str, ...] = ()) -> dict[str, Any]:
    aggregation: dict[str, Any] = {
        "alignmentPeriod": "3600s",
        "perSeriesAligner": "ALIGN_SUM",
        "crossSeriesReducer": "REDUCE_SUM",
    }
    if group_by:
        aggregation["groupByFields"] = list(group_by)
    return {
        "title": title,
        "xyChart": {
            "dataSets": [
                {
                    "plotType": "STACKED_BAR",
                    "timeSeriesQuery": {
                        "timeSeriesFilter": {"filter": metric.series_filter, "aggregation": aggregation}
                    },
                }
            ]
        },
    }


def dashboard(env: Environment) -> dict[str, Any]:
    """The environment's dashboard (Cloud Monitoring dashboard JSON): GPU utilisation and memory per
    team, allocated GPUs and running Pods per team, failed Jobs, autoscalers against their max,
    node shutdowns (Spot preemptions) and the HTTPS load balancers' latency."""
    names = Names.of(env)
    sel = _selector(names)
    team = _team_labels()
    tiles = [
        _promql_tile(
            "GPU utilisation per team (%)",
            f"avg by ({team}) ({_workload_series(telemetry.DCGM_GPU_UTIL, names)})",
            "%",
        ),
        _promql_tile(
            "GPU memory used per team (MiB)",
            f"sum by ({team}) ({_workload_series(telemetry.DCGM_FB_USED, names)})",
            "MiB",
        ),
        _promql_tile("GPUs in use per team", f"count by ({team}) ({_workload_series(telemetry.DCGM_GPU_UTIL, names)})"),
        _promql_tile("Pods by phase per namespace", f"sum by ({team}, phase) ({telemetry.POD_PHASE}{{{sel}}})"),
        _promql_tile(
            "Autoscaler replicas / max",
            f"{telemetry.HPA_CURRENT_REPLICAS}{{{sel}}} / {telemetry.HPA_MAX_REPLICAS}{{{sel}}}",
        ),
        _promql_tile(
            "Inference latency p95 per forwarding rule (ms)",
            f"histogram_quantile(0.95, sum by (le, forwarding_rule_name) "
            f'(rate({telemetry.LB_LATENCY}{{monitored_resource="https_lb_rule"}}[5m])))',
            "ms",
        ),
    ]
    for metric in log_metrics(env):
        if metric.name == job_failure_metric(env).name:
            tiles.append(_log_metric_tile("Failed Jobs per namespace", metric, ("metric.label.namespace",)))
        else:
            tiles.append(_log_metric_tile("Node shutdowns per hour (Spot preemptions)", metric))
    laid_out = []
    for i, tile in enumerate(tiles):
        laid_out.append(
            {
                "xPos": (i % 2) * TILE_WIDTH,
                "yPos": (i // 2) * TILE_HEIGHT,
                "width": TILE_WIDTH,
                "height": TILE_HEIGHT,
                "widget": tile,
            }
        )
    return {"displayName": names.dashboard, "mosaicLayout": {"columns": DASHBOARD_COLUMNS, "tiles": laid_out}}


def dashboard_json(env: Environment) -> str:
    """:func:`dashboard` as the JSON string ``google_monitoring_dashboard.dashboard_json`` takes."""
    return json.dumps(dashboard(env), sort_keys=True)
