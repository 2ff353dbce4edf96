"""What an environment watches, as plain data: log-based metrics, alert policies and its dashboard.

Pure Python (no framework import): the monitoring construct turns these into
``google_logging_metric``, ``google_monitoring_alert_policy`` and ``google_monitoring_dashboard``,
and the tests read them directly. Metric names, labels and log filters are platform facts with
their sources in :mod:`gkeml.platform`.

- **GPU idle**: PromQL on the DCGM package: a GPU used by a Pod whose utilisation stays below the
  threshold for the configured time.
- **Job failures**: a log-based counter of the Job controller's failure events (BackoffLimitExceeded,
  DeadlineExceeded, ...), alerting on any failure in five minutes, per namespace and Job.
- **HPA at max**: PromQL on the HPA package: current replicas >= max replicas for the configured time.
- **Spot preemptions**: a log-based counter of Compute Engine preemption system events, alerting
  above the configured number per hour.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gkeml import platform
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
    """A log-based counter metric: its name, log filter and the labels extracted from each entry."""

    name: str
    description: str
    filter: str
    labels: dict[str, str] = field(default_factory=dict)  # label -> EXTRACT(field)

    @property
    def metric_type(self) -> str:
        return f"logging.googleapis.com/user/{self.name}"


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
    resource_type: str = ""
    window_seconds: int = 0
    threshold: float = 0
    group_by: tuple[str, ...] = ()

    @property
    def threshold_filter(self) -> str:
        """Cloud Monitoring filter of a log-metric condition."""
        assert self.log_metric is not None
        return f'metric.type="{self.log_metric.metric_type}" AND resource.type="{self.resource_type}"'


def _selector(names: Names) -> str:
    return f'cluster="{names.cluster}"'


def job_failure_metric(env: Environment) -> LogMetric:
    names = Names.of(env)
    reasons = " OR ".join(f'"{r}"' for r in platform.JOB_FAILURE_REASONS)
    return LogMetric(
        name=names.log_metric("job-failures"),
        description=f"Kubernetes Jobs of {env.name} that failed (Job controller events)",
        filter=(
            f'resource.type="k8s_cluster" AND resource.labels.cluster_name="{names.cluster}" AND '
            f'log_id("{platform.KUBERNETES_EVENTS_LOG}") AND jsonPayload.involvedObject.kind="Job" AND '
            f"jsonPayload.reason=({reasons})"
        ),
        labels={
            "namespace": "EXTRACT(jsonPayload.involvedObject.namespace)",
            "job": "EXTRACT(jsonPayload.involvedObject.name)",
            "reason": "EXTRACT(jsonPayload.reason)",
        },
    )


def preemption_metric(env: Environment) -> LogMetric:
    names = Names.of(env)
    return LogMetric(
        name=names.log_metric("spot-preemptions"),
        description=f"Spot and preemptible VMs preempted in {env.project.id} (Compute Engine system events)",
        filter=platform.PREEMPTION_LOG_FILTER,
        labels={"zone": "EXTRACT(resource.labels.zone)"},
    )


def log_metrics(env: Environment) -> list[LogMetric]:
    """The log-based metrics the enabled alerts and the dashboard count."""
    alerts = env.monitoring.alerts
    found = []
    if alerts.job_failures.enabled:
        found.append(job_failure_metric(env))
    if alerts.spot_preemptions.enabled:
        found.append(preemption_metric(env))
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
                    f"utilisation ({platform.DCGM_GPU_UTIL}) for {idle.minutes} minutes: a stuck job, a "
                    "notebook left open or an oversized request is paying for an idle GPU. Find the Pod in "
                    f"the label {platform.DCGM_WORKLOAD_NAMESPACE_LABEL} and exported_pod."
                ),
                promql=(
                    f"max by ({platform.DCGM_WORKLOAD_NAMESPACE_LABEL}, exported_pod) "
                    f'({platform.DCGM_GPU_UTIL}{{{sel}, exported_pod!=""}}) < {idle.below_percent:g}'
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
                resource_type="k8s_cluster",
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
                promql=(
                    f"{platform.HPA_CURRENT_REPLICAS_METRIC}{{{sel}}} >= {platform.HPA_MAX_REPLICAS_METRIC}{{{sel}}}"
                ),
                duration_seconds=at_max.minutes * 60,
            )
        )
    if config.spot_preemptions.enabled:
        spot = config.spot_preemptions
        found.append(
            Alert(
                key="spot-preemptions",
                severity="WARNING",
                display_name=f"{env.name}: more than {spot.per_hour} Spot preemptions per hour",
                documentation=(
                    f"Compute Engine preempted more than {spot.per_hour} Spot VMs of {env.project.id} in an "
                    "hour: Spot capacity is short in the zones used. Jobs restart from their checkpoints; "
                    "consider a ComputeClass that falls back to on-demand."
                ),
                log_metric=preemption_metric(env),
                resource_type="gce_instance",
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


def _log_metric_tile(title: str, metric: LogMetric, resource: str, group_by: str) -> dict[str, Any]:
    return {
        "title": title,
        "xyChart": {
            "dataSets": [
                {
                    "plotType": "STACKED_BAR",
                    "timeSeriesQuery": {
                        "timeSeriesFilter": {
                            "filter": f'metric.type="{metric.metric_type}" AND resource.type="{resource}"',
                            "aggregation": {
                                "alignmentPeriod": "3600s",
                                "perSeriesAligner": "ALIGN_SUM",
                                "crossSeriesReducer": "REDUCE_SUM",
                                "groupByFields": [group_by],
                            },
                        }
                    },
                }
            ]
        },
    }


def dashboard(env: Environment) -> dict[str, Any]:
    """The environment's dashboard (Cloud Monitoring dashboard JSON): GPU utilisation and memory per
    team, allocated GPUs and running Pods per team, failed Jobs, autoscalers against their max,
    Spot preemptions and the HTTPS load balancers' latency."""
    names = Names.of(env)
    sel = _selector(names)
    team = platform.DCGM_WORKLOAD_NAMESPACE_LABEL
    tiles = [
        _promql_tile(
            "GPU utilisation per team (%)",
            f'avg by ({team}) ({platform.DCGM_GPU_UTIL}{{{sel}, exported_pod!=""}})',
            "%",
        ),
        _promql_tile(
            "GPU memory used per team (MiB)",
            f'sum by ({team}) ({platform.DCGM_FB_USED}{{{sel}, exported_pod!=""}})',
            "MiB",
        ),
        _promql_tile(
            "GPUs in use per team", f'count by ({team}) ({platform.DCGM_GPU_UTIL}{{{sel}, exported_pod!=""}})'
        ),
        _promql_tile(
            "Pods by phase per namespace", f"sum by (namespace, phase) ({platform.POD_PHASE_METRIC}{{{sel}}})"
        ),
        _promql_tile(
            "Autoscaler replicas / max",
            f"{platform.HPA_CURRENT_REPLICAS_METRIC}{{{sel}}} / {platform.HPA_MAX_REPLICAS_METRIC}{{{sel}}}",
        ),
        _promql_tile(
            "Inference latency p95 per forwarding rule (ms)",
            f"histogram_quantile(0.95, sum by (le, forwarding_rule_name) "
            f'(rate({platform.LB_LATENCY_PROMQL_METRIC}{{monitored_resource="https_lb_rule"}}[5m])))',
            "ms",
        ),
    ]
    for metric in log_metrics(env):
        if metric.name == job_failure_metric(env).name:
            tiles.append(_log_metric_tile("Failed Jobs per namespace", metric, "k8s_cluster", "metric.label.namespace"))
        else:
            tiles.append(_log_metric_tile("Spot preemptions per zone", metric, "gce_instance", "metric.label.zone"))
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
