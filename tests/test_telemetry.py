"""Every query the synthesized cloud stacks send to Cloud Monitoring and Cloud Logging is parsed here, and
every name in it (metric, log, monitored resource, label, payload field, value) is checked against the
dated, sourced table ``gkeml.telemetry``: the alert policies' PromQL and threshold filters, the log-based
metrics' filters and label extractors, and every dashboard tile.

The parsers below are independent of ``gkeml.observability`` (they read the JSON Terraform receives), and
each one insists on consuming its whole input, so a query form they do not understand fails the test
instead of passing unread."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from conftest import ENV_NAMES, MINIMAL, resources

from gkeml import telemetry
from gkeml.naming import Names

ALL = (*ENV_NAMES, MINIMAL)

# --- a small PromQL reader ------------------------------------------------------------------------

PROMQL_TOKEN = re.compile(
    r'\s*(?:(?P<string>"(?:[^"\\]|\\.)*")|(?P<duration>\[[0-9]+[smhdw]\])|(?P<number>[0-9]+(?:\.[0-9]+)?)'
    r"|(?P<name>[A-Za-z_:][A-Za-z0-9_:]*)|(?P<op>=~|!~|!=|>=|<=|==|[-+*/^%<>=]|[{}(),]))"
)
AGGREGATIONS = {"sum", "avg", "max", "min", "count", "stddev", "stdvar", "topk", "bottomk", "quantile"}
FUNCTIONS = {"rate", "irate", "increase", "histogram_quantile", "abs", "clamp_min", "clamp_max", "label_replace"}
GROUPING = {"by", "without", "on", "ignoring", "group_left", "group_right"}
BINARY_WORDS = {"or", "and", "unless", "bool"}


@dataclass
class PromQuery:
    """What a PromQL expression reads: each selector (metric, label names it matches on) and the labels
    of its grouping clauses."""

    selectors: list[tuple[str, list[str]]] = field(default_factory=list)
    grouping: list[str] = field(default_factory=list)

    @property
    def metrics(self) -> set[str]:
        return {m for m, _ in self.selectors}


def parse_promql(query: str) -> PromQuery:
    tokens = []
    pos = 0
    while pos < len(query.rstrip()):
        match = PROMQL_TOKEN.match(query, pos)
        assert match and match.end() > pos, f"cannot read PromQL at {query[pos:]!r} in {query!r}"
        kind = match.lastgroup
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    found = PromQuery()
    i = 0
    while i < len(tokens):
        kind, text = tokens[i]
        following = tokens[i + 1][1] if i + 1 < len(tokens) else None
        if kind == "name" and text in GROUPING:
            assert following == "(", query
            i += 2
            while tokens[i][1] != ")":
                if tokens[i][1] != ",":
                    assert tokens[i][0] == "name", query
                    found.grouping.append(tokens[i][1])
                i += 1
        elif kind == "name" and text in AGGREGATIONS and following in ("by", "without"):
            pass  # the aggregation's grouping clause comes next
        elif kind == "name" and following == "(":
            assert text in AGGREGATIONS | FUNCTIONS, f"unknown PromQL function {text!r} in {query!r}"
        elif kind == "name" and text in BINARY_WORDS:
            pass
        elif kind == "name":  # a metric, with or without a selector
            labels: list[str] = []
            if following == "{":
                i += 2
                while tokens[i][1] != "}":
                    name, op, value = tokens[i], tokens[i + 1], tokens[i + 2]
                    assert name[0] == "name" and op[1] in ("=", "!=", "=~", "!~") and value[0] == "string", query
                    labels.append(name[1])
                    i += 3
                    if tokens[i][1] == ",":
                        i += 1
            found.selectors.append((text, labels))
        i += 1
    return found


def allowed_labels(metric: telemetry.PromMetric) -> set[str]:
    names = set(metric.labels) | {n for group in metric.alternatives for n in group}
    return names | set(telemetry.PROMETHEUS_TARGET_LABELS) if metric.target_labels else names


def check_promql(query: str) -> None:
    """Every metric is in the table, every label it reads belongs to it, and a query that reads one of
    a group of alternative names reads all of them."""
    parsed = parse_promql(query)
    assert parsed.selectors, f"no metric in {query!r}"
    for name, labels in parsed.selectors:
        assert name in telemetry.PROM_METRICS, f"{name} is not in gkeml.telemetry (query {query!r})"
        metric = telemetry.PROM_METRICS[name]
        unknown = set(labels) - allowed_labels(metric)
        assert not unknown, f"{name} has no label {sorted(unknown)} in gkeml.telemetry (query {query!r})"
    for name in parsed.metrics:
        metric = telemetry.PROM_METRICS[name]
        read = set(parsed.grouping) | {label for m, labels in parsed.selectors if m == name for label in labels}
        unknown = set(parsed.grouping) - allowed_labels(metric)
        assert not unknown, f"{query!r} groups {name} by {sorted(unknown)}, a label it does not have"
        for group in metric.alternatives:
            if read & set(group):
                assert set(group) <= read, (
                    f"{query!r} reads {sorted(read & set(group))} of {name} but not {sorted(set(group) - read)}: "
                    "the label may arrive under either name (gkeml.telemetry), so a query must read both"
                )


# --- a small Cloud Logging / Cloud Monitoring filter reader ----------------------------------------

COMPARISON = re.compile(r'\s*([A-Za-z_][\w.]*)\s*(=|!=|:)\s*(\((?:"[^"]*"(?:\s+OR\s+)?)+\)|"[^"]*")\s*')
LOG_ID = re.compile(r'\s*log_id\("([^"]+)"\)\s*')


def parse_filter(text: str) -> tuple[list[tuple[str, str, list[str]]], list[str]]:
    """(comparisons (field, operator, values), log ids) of a filter made of comparisons and log_id()
    joined by AND; anything else fails."""
    comparisons, logs = [], []
    for part in re.split(r"\s+AND\s+", text.strip()):
        if match := LOG_ID.fullmatch(part):
            logs.append(match.group(1))
            continue
        match = COMPARISON.fullmatch(part)
        assert match, f"cannot read {part!r} of filter {text!r}"
        comparisons.append((match.group(1), match.group(2), re.findall(r'"([^"]*)"', match.group(3))))
    return comparisons, logs


def log_signal(text: str) -> telemetry.LogSignal:
    comparisons, logs = parse_filter(text)
    types = [values for name, op, values in comparisons if name == "resource.type"]
    assert len(types) == 1 and len(types[0]) == 1 and len(logs) == 1, f"one resource type and one log_id: {text!r}"
    matching = [s for s in telemetry.LOG_SIGNALS.values() if s.resource_type == types[0][0] and s.log_id == logs[0]]
    assert matching, f"log {logs[0]!r} on {types[0][0]} is not in gkeml.telemetry ({text!r})"
    return matching[0]


def check_log_filter(text: str, extractors: dict[str, str]) -> telemetry.LogSignal:
    signal = log_signal(text)
    assert signal.autopilot, (
        f"{text!r} counts {signal.log_id} on {signal.resource_type}, which an Autopilot cluster's project is not "
        f"known to receive ({signal.unverified})"
    )
    comparisons, _ = parse_filter(text)
    for name, _op, values in comparisons:
        if name == "resource.type":
            continue
        if name.startswith("resource.labels."):
            assert name.removeprefix("resource.labels.") in signal.resource_labels, f"{name} in {text!r}"
            continue
        assert name in signal.fields, f"{signal.resource_type} log {signal.log_id} has no field {name} ({text!r})"
        if name in signal.values:
            assert set(values) <= set(signal.values[name]), f"{name}: {values} not in {signal.values[name]}"
    for extract in extractors.values():
        path = re.fullmatch(r"EXTRACT\(([\w.]+)\)", extract)
        assert path, extract
        assert path.group(1) in signal.fields or path.group(1).removeprefix("resource.labels.") in (
            signal.resource_labels
        ), f"{extract} reads nothing {signal.resource_type} entries of log {signal.log_id} have"
    return signal


def check_series_filter(text: str, group_by: list[str], metrics: dict[str, dict]) -> None:
    """A Cloud Monitoring filter on a log-based metric of the stack: the metric exists, the resource type
    is the one its log entries have, and every grouping label is one it carries."""
    comparisons, logs = parse_filter(text)
    assert not logs
    found = {name: values[0] for name, _op, values in comparisons}
    assert set(found) == {"metric.type", "resource.type"}, text
    name = found["metric.type"].removeprefix("logging.googleapis.com/user/")
    assert name in metrics, f"{text!r} names no log-based metric of the stack"
    metric = metrics[name]
    signal = log_signal(metric["filter"])
    assert found["resource.type"] == signal.resource_type, (
        f"{text!r}: the series of {name} are on {signal.resource_type}, the entries' resource"
    )
    for label in group_by:
        if label.startswith("metric.label."):
            assert label.removeprefix("metric.label.") in metric.get("label_extractors", {}), f"{label} of {name}"
        else:
            assert label.removeprefix("resource.label.") in signal.resource_labels, f"{label} of {name}"


# --- the synthesized stacks -----------------------------------------------------------------------


def promql_queries(stack: dict) -> Iterator[str]:
    for policy in resources(stack, "google_monitoring_alert_policy"):
        for condition in policy["conditions"]:
            if "condition_prometheus_query_language" in condition:
                yield condition["condition_prometheus_query_language"]["query"]
    for dashboard in resources(stack, "google_monitoring_dashboard"):
        for tile in json.loads(dashboard["dashboard_json"])["mosaicLayout"]["tiles"]:
            for data in tile["widget"].get("xyChart", {}).get("dataSets", []):
                if "prometheusQuery" in data["timeSeriesQuery"]:
                    yield data["timeSeriesQuery"]["prometheusQuery"]


def series_filters(stack: dict) -> Iterator[tuple[str, list[str]]]:
    for policy in resources(stack, "google_monitoring_alert_policy"):
        for condition in policy["conditions"]:
            if "condition_threshold" in condition:
                threshold = condition["condition_threshold"]
                yield (
                    threshold["filter"],
                    [f for a in threshold.get("aggregations", []) for f in a.get("group_by_fields", [])],
                )
    for dashboard in resources(stack, "google_monitoring_dashboard"):
        for tile in json.loads(dashboard["dashboard_json"])["mosaicLayout"]["tiles"]:
            for data in tile["widget"].get("xyChart", {}).get("dataSets", []):
                series = data["timeSeriesQuery"].get("timeSeriesFilter")
                if series:
                    yield series["filter"], series["aggregation"].get("groupByFields", [])


@pytest.mark.parametrize("env", ALL)
def test_every_promql_query_reads_only_sourced_metrics_and_labels(stacks, env):
    queries = list(promql_queries(stacks[env]))
    assert queries  # every environment has a dashboard
    for query in queries:
        check_promql(query)


@pytest.mark.parametrize("env", ALL)
def test_every_log_based_metric_counts_a_sourced_autopilot_signal(stacks, env):
    for metric in resources(stacks[env], "google_logging_metric"):
        check_log_filter(metric["filter"], metric.get("label_extractors", {}))
        descriptor = {label["key"] for label in metric["metric_descriptor"].get("labels", [])}
        assert descriptor == set(metric.get("label_extractors", {}))


@pytest.mark.parametrize("env", ALL)
def test_every_threshold_and_tile_on_a_log_metric_names_its_real_resource_and_labels(stacks, env):
    metrics = {m["name"]: m for m in resources(stacks[env], "google_logging_metric")}
    for text, group_by in series_filters(stacks[env]):
        check_series_filter(text, group_by, metrics)


def test_the_preemption_alert_counts_kubelet_shutdown_events_on_the_clusters_nodes(stacks, environments):
    live = environments["live"]
    (metric,) = [m for m in resources(stacks["live"], "google_logging_metric") if m["name"].endswith("shutdowns")]
    assert log_signal(metric["filter"]).key == "node-events"
    comparisons, _ = parse_filter(metric["filter"])
    found = {name: values for name, _op, values in comparisons}
    assert found["jsonPayload.reason"] == ["Shutdown"]
    assert found["resource.labels.cluster_name"] == [Names.of(live).cluster]
    (policy,) = [
        p for p in resources(stacks["live"], "google_monitoring_alert_policy") if "node shutdowns" in p["display_name"]
    ]
    threshold = policy["conditions"][0]["condition_threshold"]
    assert threshold["threshold_value"] == live.monitoring.alerts.spot_preemptions.per_hour
    assert 'resource.type="k8s_node"' in threshold["filter"]


# --- the checks themselves refuse what the table does not hold ------------------------------------


@pytest.mark.parametrize(
    "query, message",
    [
        (
            'max by (exported_namespace, exported_pod) (DCGM_FI_DEV_GPU_UTIL{cluster="c", exported_pod!=""}) < 5',
            "but not",
        ),
        ('sum by (namespace, phase) (kube_pod_status_phase{cluster="c"})', "but not ['exported_namespace']"),
        ('avg(DCGM_FI_DEV_GPU_TEMP{cluster="c"})', "not in gkeml.telemetry"),
        ('avg by (node) (DCGM_FI_DEV_GPU_UTIL{cluster="c"})', "a label it does not have"),
        ("frobnicate(DCGM_FI_DEV_GPU_UTIL)", "unknown PromQL function"),
    ],
)
def test_the_promql_check_refuses_unsourced_names_and_one_sided_labels(query, message):
    with pytest.raises(AssertionError, match=re.escape(message)):
        check_promql(query)


def test_the_log_check_refuses_compute_engine_preemption_events():
    old = (
        'resource.type="gce_instance" AND log_id("cloudaudit.googleapis.com/system_event") '
        'AND protoPayload.methodName="compute.instances.preempted"'
    )
    with pytest.raises(AssertionError, match="not known to receive"):
        check_log_filter(old, {"zone": "EXTRACT(resource.labels.zone)"})
    with pytest.raises(AssertionError, match="has no field jsonPayload.verb"):
        check_log_filter('resource.type="k8s_node" AND log_id("events") AND jsonPayload.verb="x"', {})
    with pytest.raises(AssertionError, match="cannot read"):
        check_log_filter('resource.type="k8s_node" AND log_id("events") AND NOT jsonPayload.reason="x"', {})


@pytest.mark.parametrize("env", ALL)
def test_every_promql_alert_reads_a_package_the_cluster_sends(stacks, env):
    """An alert on a metric of a GKE package the cluster does not enable has no data and never fires."""
    stack = stacks[env]
    (cluster,) = resources(stack, "google_container_cluster")
    enabled = set(cluster["monitoring_config"]["enable_components"])
    for policy in resources(stack, "google_monitoring_alert_policy"):
        for condition in policy["conditions"]:
            if "condition_prometheus_query_language" not in condition:
                continue
            for name in parse_promql(condition["condition_prometheus_query_language"]["query"]).metrics:
                component = telemetry.PROM_METRICS[name].component
                assert component == "GCP" or component in enabled, (policy["display_name"], component)
