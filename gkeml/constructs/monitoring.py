"""GPU and workload observability: GKE's metric packages on the cluster (Managed Service for
Prometheus, DCGM), notification channels, log-based metrics, alert policies and a dashboard."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gkeml import platform
from gkeml.constructs.grants import Member
from gkeml.constructs.notifications import Topic, TopicProps
from gkeml.framework import Construct, google, time_sleep
from gkeml.observability import AUTO_CLOSE_SECONDS, PROMQL_EVALUATION_SECONDS, Alert, LogMetric


@dataclass(frozen=True)
class ChannelProps:
    """A notification channel: an email address, or a Pub/Sub topic created for it."""

    name: str
    display_name: str
    email: str | None = None
    topic: str | None = None  # topic name, for a Pub/Sub channel


@dataclass(frozen=True)
class MonitoringProps:
    """What the environment watches (:mod:`gkeml.observability` builds the metrics, alerts and dashboard)."""

    project: str
    project_number: str
    components: tuple[str, ...]
    channels: tuple[ChannelProps, ...] = ()
    alert_channels: tuple[str, ...] = ()  # names of the channels the alerts notify
    log_metrics: tuple[LogMetric, ...] = ()
    alerts: tuple[Alert, ...] = ()
    dashboard_json: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)


class Monitoring(Construct):
    """Turns on the cluster's metric packages (Managed Service for Prometheus stays on, as Autopilot
    requires) and creates the channels, log-based metrics, alert policies and dashboard. A Pub/Sub
    channel gets its own topic, which only Cloud Monitoring's notification agent may publish to.

    Two things exist before they are usable (first-apply facts TF005 and TF007): an alert on a log-based
    metric waits :data:`~gkeml.platform.LOG_METRIC_VISIBLE_SECONDS` after the metrics are created, and the
    topic's grant to the notification agent waits :data:`~gkeml.platform.SERVICE_AGENT_WAIT_SECONDS` after
    the channel that creates the agent. Both waits run beside the cluster's creation and only on the
    first apply (or when a metric or channel is added)."""

    def __init__(
        self, scope: Construct, id: str, props: MonitoringProps, *, cluster: Any, depends_on: Sequence[Any] = ()
    ):
        super().__init__(scope, id)
        cc = google("container_cluster")
        self.props = props
        deps = list(depends_on) or None
        cluster.put_monitoring_config(
            enable_components=list(props.components),
            managed_prometheus=cc.ContainerClusterMonitoringConfigManagedPrometheus(enabled=True),
        )
        self.channels: dict[str, Any] = {}
        channel_type = google("monitoring_notification_channel")
        for ch in props.channels:
            if ch.email is not None:
                self.channels[ch.name] = channel_type.MonitoringNotificationChannel(
                    self,
                    f"channel-{ch.name}",
                    project=props.project,
                    display_name=ch.display_name,
                    type="email",
                    labels={"email_address": ch.email},
                    user_labels=dict(props.labels) or None,
                    depends_on=deps,
                )
                continue
            topic = Topic(
                self, f"topic-{ch.name}", TopicProps(props.project, ch.topic or "", props.labels), depends_on=depends_on
            )
            channel = channel_type.MonitoringNotificationChannel(
                self,
                f"channel-{ch.name}",
                project=props.project,
                display_name=ch.display_name,
                type="pubsub",
                labels={"topic": topic.topic.id},
                user_labels=dict(props.labels) or None,
                depends_on=deps,
            )
            # the agent exists once the project has a Pub/Sub channel, and IAM knows it a while later
            agent_known = time_sleep(
                self,
                f"agent-known-{ch.name}",
                seconds=platform.SERVICE_AGENT_WAIT_SECONDS,
                depends_on=[channel],
                triggers={"channel": channel.id},
            )
            topic.grant_publish(
                Member(
                    platform.monitoring_notification_agent(props.project_number),
                    "monitoring-notifications",
                    grant_dependencies=[agent_known],
                )
            )
            self.channels[ch.name] = channel
        lm = google("logging_metric")
        self.log_metrics = {
            m.name: lm.LoggingMetric(
                self,
                f"metric-{m.name.rsplit('/', 1)[-1]}",
                project=props.project,
                name=m.name,
                description=m.description,
                filter=m.filter,
                metric_descriptor=lm.LoggingMetricMetricDescriptor(
                    metric_kind="DELTA",
                    value_type="INT64",
                    unit="1",
                    labels=[lm.LoggingMetricMetricDescriptorLabels(key=k, value_type="STRING") for k in m.labels]
                    or None,
                ),
                label_extractors=dict(m.labels) or None,
                depends_on=deps,
            )
            for m in props.log_metrics
        }
        # Cloud Monitoring refuses an alert on a log-based metric for up to 10 minutes after the metric is
        # created; the sleep re-runs when the set of metrics changes
        self.metrics_visible = (
            time_sleep(
                self,
                "log-metrics-visible",
                seconds=platform.LOG_METRIC_VISIBLE_SECONDS,
                depends_on=list(self.log_metrics.values()),
                triggers={"metrics": ",".join(sorted(self.log_metrics))},
            )
            if self.log_metrics
            else None
        )
        notify = [self.channels[name].id for name in props.alert_channels]
        self.alerts = [self._alert(a, notify, deps) for a in props.alerts]
        self.dashboard = None
        if props.dashboard_json is not None:
            self.dashboard = google("monitoring_dashboard").MonitoringDashboard(
                self, "dashboard", project=props.project, dashboard_json=props.dashboard_json, depends_on=deps
            )

    def _alert(self, alert: Alert, notify: list, deps: list | None) -> Any:
        ap = google("monitoring_alert_policy")
        if alert.promql is not None:
            condition = ap.MonitoringAlertPolicyConditions(
                display_name=alert.display_name,
                condition_prometheus_query_language=ap.MonitoringAlertPolicyConditionsConditionPrometheusQueryLanguage(
                    query=alert.promql,
                    duration=f"{alert.duration_seconds}s",
                    evaluation_interval=f"{PROMQL_EVALUATION_SECONDS}s",
                ),
            )
            waits_for = deps
        else:
            assert alert.log_metric is not None
            condition = ap.MonitoringAlertPolicyConditions(
                display_name=alert.display_name,
                condition_threshold=ap.MonitoringAlertPolicyConditionsConditionThreshold(
                    filter=alert.threshold_filter,
                    comparison="COMPARISON_GT",
                    threshold_value=alert.threshold,
                    duration="0s",
                    aggregations=[
                        ap.MonitoringAlertPolicyConditionsConditionThresholdAggregations(
                            alignment_period=f"{alert.window_seconds}s",
                            per_series_aligner="ALIGN_SUM",
                            cross_series_reducer="REDUCE_SUM",
                            group_by_fields=list(alert.group_by) or None,
                        )
                    ],
                    trigger=ap.MonitoringAlertPolicyConditionsConditionThresholdTrigger(count=1),
                ),
            )
            # the metric must exist, and Cloud Monitoring must know it (metrics_visible waits for every metric)
            waits_for = [self.log_metrics[alert.log_metric.name], self.metrics_visible]
        return ap.MonitoringAlertPolicy(
            self,
            f"alert-{alert.key}",
            project=self.props.project,
            display_name=alert.display_name,
            combiner="OR",
            severity=alert.severity,
            conditions=[condition],
            notification_channels=notify or None,
            alert_strategy=ap.MonitoringAlertPolicyAlertStrategy(auto_close=f"{AUTO_CLOSE_SECONDS}s"),
            documentation=ap.MonitoringAlertPolicyDocumentation(content=alert.documentation, mime_type="text/markdown"),
            user_labels=dict(self.props.labels) or None,
            depends_on=waits_for,
        )
