"""The platform services (registry, DNS, budget, observability, upgrade notices): the real synthesized
cloud stacks of the fixture environments against their config, the config errors of the new sections
(file:line), the budget next to the estimate, and the image checks of job specs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from conftest import DEV, ENV_NAMES, ENVIRONMENTS, MINIMAL, PROD, STAGING, resources

from gkeml import observability, platform, telemetry
from gkeml.config import ConfigError
from gkeml.environments import load_environment, parse_environment
from gkeml.naming import Names

ALL = (*ENV_NAMES, MINIMAL)


def cluster(stack: dict) -> dict:
    (c,) = resources(stack, "google_container_cluster")
    return c


def by(items: list[dict], key: str) -> dict[str, dict]:
    return {i[key]: i for i in items}


# --- Artifact Registry --------------------------------------------------------------------------


@pytest.mark.parametrize("env", ALL)
def test_registry_repositories_follow_the_config(stacks, environments, env):
    config, stack = environments[env].registry, stacks[env]
    repos = by(resources(stack, "google_artifact_registry_repository"), "repository_id")
    if config is None:
        assert not repos
        return
    assert set(repos) == {r.name for r in config.repositories}
    for r in config.repositories:
        repo = repos[r.name]
        assert (repo["format"], repo["location"], repo["mode"]) == ("DOCKER", config.location, "STANDARD_REPOSITORY")
        assert repo["docker_config"]["immutable_tags"] is config.immutable_tags
        assert repo["vulnerability_scanning_config"]["enablement_config"] == (
            "INHERITED" if config.vulnerability_scanning else "DISABLED"
        )
        policies = by(repo["cleanup_policies"], "id")
        assert policies["keep-most-recent"] == {
            "id": "keep-most-recent",
            "action": "KEEP",
            "most_recent_versions": {"keep_count": r.keep_versions},
        }
        assert policies["delete-untagged"]["condition"] == {
            "tag_state": "UNTAGGED",
            "older_than": f"{r.delete_untagged_after_days}d",
        }
        assert ("delete-old-tagged" in policies) is (r.delete_tagged_after_days is not None)
        assert repo["cleanup_policy_dry_run"] is False
    services = {s["service"] for s in resources(stack, "google_project_service")}
    assert (platform.CONTAINER_SCANNING_API in services) is config.vulnerability_scanning


def test_prod_tags_are_immutable_and_dev_tags_are_not(environments):
    assert environments[PROD].registry.immutable_tags is True
    assert environments[DEV].registry.immutable_tags is False


@pytest.mark.parametrize("env", ALL)
def test_nodes_read_and_the_ci_pusher_writes_each_repository_and_nothing_project_wide(stacks, environments, env):
    config, stack = environments[env].registry, stacks[env]
    grants = resources(stack, "google_artifact_registry_repository_iam_member")
    project_roles = {g["role"] for g in resources(stack, "google_project_iam_member")}
    assert not {r for r in project_roles if r.startswith("roles/artifactregistry.")}
    if config is None:
        assert not grants
        return
    nodes = f"serviceAccount:{env}-gke-nodes@{environments[env].project.id}.iam.gserviceaccount.com"
    pusher = f"serviceAccount:{config.pusher}@{environments[env].project.id}.iam.gserviceaccount.com"
    found = {(g["repository"].split(".")[1], g["role"], g["member"]) for g in grants}
    repos = {k: v["repository_id"] for k, v in stack["resource"]["google_artifact_registry_repository"].items()}
    expected = {(k, platform.ARTIFACT_REGISTRY_READER_ROLE, nodes) for k in repos}
    # and the other environments a repository names as readers (every service account of their project)
    expected |= {
        (
            k,
            platform.ARTIFACT_REGISTRY_READER_ROLE,
            platform.project_service_accounts_principal_set(environments[reader].project.number),
        )
        for k, repo_id in repos.items()
        for reader in config.repository(repo_id).readers
    }
    if config.pusher:
        expected |= {(k, platform.ARTIFACT_REGISTRY_WRITER_ROLE, pusher) for k in repos}
    assert found == expected


# --- DNS ------------------------------------------------------------------------------------------


def expected_records(env: str) -> set[tuple[str, str]]:
    """(record name, endpoint) the fixture FILE asks for, read from its YAML, not through gkeml: every host
    an endpoint serves (its host and previous_hosts, none once the endpoint is retired) whose name is
    under dns.domain gets an A record at the endpoint's IP; retired_hosts and other domains get none."""
    data = yaml.safe_load((ENVIRONMENTS / f"{env}.yaml").read_text())
    domain = data["dns"]["domain"].rstrip(".")
    found = set()
    for endpoint in data.get("endpoints", []):
        if endpoint.get("retired"):
            continue
        for host in [endpoint["host"], *endpoint.get("previous_hosts", [])]:
            if host == domain or host.endswith("." + domain):
                found.add((f"{host}.", endpoint["name"]))
    return found


def endpoint_of(address_ref: str) -> str:
    """The endpoint whose static IP ``${google_compute_global_address.endpoint-NAME_ip_HASH.address}`` is
    (the construct path endpoint-NAME/ip, in the framework's logical id; a Gateway's: endpoint-NAME-gw/ip, or a
    regional address endpoint-NAME-igw/ip)."""
    match = re.fullmatch(
        r"\$\{google_compute_(?:global_)?address\.endpoint-(.+?)(?:-gw|-igw)?_ip_[0-9A-F]{8}\.address\}", address_ref
    )
    assert match, address_ref
    return match.group(1)


@pytest.mark.parametrize("env", ALL)
def test_every_served_host_in_the_zone_has_an_a_record_at_its_static_ip(stacks, environments, env):
    e, stack = environments[env], stacks[env]
    records = resources(stack, "google_dns_record_set")
    zones = resources(stack, "google_dns_managed_zone")
    if e.dns is None:
        assert not records and not zones
        return
    records = [r for r in records if r["type"] == "A"]  # the CNAMEs of Gateway certificates: tests/test_gateway.py
    found = [(r["name"], endpoint_of(r["rrdatas"][0])) for r in records]
    assert sorted(found) == sorted(expected_records(env))
    assert all(r["ttl"] == e.dns.ttl for r in records)
    if e.dns.create:
        (zone,) = zones
        assert (zone["name"], zone["dns_name"], zone["visibility"]) == (e.dns.zone, e.dns.dns_name, "public")
        assert zone["dnssec_config"]["state"] == "on"
        assert all(r["managed_zone"].startswith("${google_dns_managed_zone.") for r in records)
    else:  # an existing zone, referred to by name
        assert not zones
        assert {r["managed_zone"] for r in records} == {e.dns.zone}


def test_a_host_moving_in_keeps_both_records_and_a_retired_host_has_none(stacks):
    names = {r["name"] for r in resources(stacks[PROD], "google_dns_record_set")}
    assert {"chat.fx.example.", "chat-v1.fx.example."} <= names  # both served during the move
    assert "embed-v0.fx.example." not in names  # retired: no longer served
    assert "chat.fx-legacy.example." not in names  # not in the zone: its own DNS provider publishes it


def test_the_record_of_the_host_keeps_its_state_from_the_record_keyed_by_endpoint(stacks, environments):
    """Until 2026-12 an endpoint's one record lived at dns/a-<endpoint>; a moved block carries it to the
    host's record, so upgrading gkeml neither deletes nor re-creates a live record."""
    from gkeml.framework import legacy_logical_id

    for env in (DEV, PROD):
        stack = stacks[env]
        by_name = {r["name"]: k for k, r in stack["resource"]["google_dns_record_set"].items()}
        moved = {m["from"]: m["to"] for m in stack["moved"] if m["from"].startswith("google_dns_record_set.")}
        assert moved == {
            f"google_dns_record_set.{legacy_logical_id(f'dns/a-{e.name}')}": f"google_dns_record_set.{by_name[e.host + '.']}"
            for e in environments[env].endpoints
        }


# --- budget ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ALL)
def test_budget_amount_thresholds_and_recipients_follow_the_config_and_the_estimate(stacks, environments, env):
    from gkeml.cost import budget_amount, estimate, load_prices

    e, stack = environments[env], stacks[env]
    budgets = resources(stack, "google_billing_budget")
    if e.budget is None:
        assert not budgets
        return
    (budget,) = budgets
    amount = budget_amount(e, load_prices())
    assert float(budget["amount"]["specified_amount"]["units"]) == amount
    if e.budget.amount is None:  # the Autopilot maximum without any free-tier credit x headroom, rounded up
        high = estimate(e, load_prices(), free_tier=False).autopilot.high
        assert amount == pytest.approx(-(-round(high * e.budget.headroom, 6) // 1))
    assert budget["billing_account"] == e.budget.billing_account
    assert budget["budget_filter"]["projects"] == [f"projects/{e.project.number}"]
    assert budget["budget_filter"]["calendar_period"] == "MONTH"
    rules = [(r["threshold_percent"], r["spend_basis"]) for r in budget["threshold_rules"]]
    assert rules == (
        [(t, "CURRENT_SPEND") for t in e.budget.thresholds]
        + [(t, "FORECASTED_SPEND") for t in e.budget.forecast_thresholds]
    )
    rule = budget["all_updates_rule"]
    assert rule["disable_default_iam_recipients"] is (not e.budget.notify_billing_admins)
    assert len(rule.get("monitoring_notification_channels", [])) == len(e.budget.channels)
    assert ("pubsub_topic" in rule) is e.budget.pubsub
    # the Budget API needs a quota project: the budget's own provider
    assert budget["provider"] == "google.billing"
    (billing,) = [p for p in stack["provider"]["google"] if p.get("alias") == "billing"]
    assert (billing["billing_project"], billing["user_project_override"]) == (e.project.id, True)
    assert platform.BILLING_BUDGETS_API in {s["service"] for s in resources(stack, "google_project_service")}


# --- observability --------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ALL)
def test_cluster_sends_the_configured_metric_packages_to_managed_prometheus(stacks, environments, env):
    config = cluster(stacks[env])["monitoring_config"]
    assert config["enable_components"] == environments[env].monitoring.components
    assert "SYSTEM_COMPONENTS" in config["enable_components"]
    assert config["managed_prometheus"]["enabled"] is True


@pytest.mark.parametrize("env", ALL)
def test_one_alert_policy_per_enabled_alert_notifying_the_configured_channels(stacks, environments, env):
    e, stack = environments[env], stacks[env]
    policies = by(resources(stack, "google_monitoring_alert_policy"), "display_name")
    wanted = observability.alerts(e)
    assert set(policies) == {a.display_name for a in wanted}
    enabled = {
        k
        for k in ("gpu_idle", "job_failures", "hpa_at_max", "spot_preemptions")
        if getattr(e.monitoring.alerts, k).enabled
    }
    assert {a.key.replace("-", "_") for a in wanted} == enabled
    channels = stack["resource"].get("google_monitoring_notification_channel", {})
    notify = sorted(
        f"${{google_monitoring_notification_channel.{k}.id}}"
        for k, v in channels.items()
        if v["display_name"].rsplit(": ", 1)[1] in e.monitoring.alert_channels()
    )
    for alert in wanted:
        policy = policies[alert.display_name]
        assert sorted(policy.get("notification_channels", [])) == notify
        (condition,) = policy["conditions"]
        if alert.promql:
            promql = condition["condition_prometheus_query_language"]
            assert promql["query"] == alert.promql and f'cluster="{Names.of(e).cluster}"' in alert.promql
            assert promql["duration"] == f"{alert.duration_seconds}s"
        else:
            assert alert.log_metric.metric_type in condition["condition_threshold"]["filter"]
            assert policy["depends_on"]  # waits for its log-based metric


def test_gpu_idle_and_hpa_queries_read_the_dcgm_and_hpa_packages(environments):
    alerts = {a.key: a for a in observability.alerts(environments[DEV])}
    idle = environments[DEV].monitoring.alerts.gpu_idle
    # the workload labels in both forms (gkeml.telemetry.WORKLOAD_ALTERNATIVES; tests/test_telemetry.py)
    assert alerts["gpu-idle"].promql.startswith(
        f"max by (namespace, exported_namespace, pod, exported_pod) (({telemetry.DCGM_GPU_UTIL}{{"
    )
    assert alerts["gpu-idle"].promql.endswith(f"< {idle.below_percent:g}")
    assert alerts["gpu-idle"].duration_seconds == idle.minutes * 60
    assert telemetry.HPA_MAX_REPLICAS in alerts["hpa-at-max"].promql
    job = observability.job_failure_metric(environments[DEV])
    assert 'jsonPayload.involvedObject.kind="Job"' in job.filter and '"BackoffLimitExceeded"' in job.filter
    assert f'resource.labels.cluster_name="{Names.of(environments[DEV]).cluster}"' in job.filter


@pytest.mark.parametrize("env", ALL)
def test_log_metrics_channels_and_dashboard(stacks, environments, env):
    e, stack = environments[env], stacks[env]
    metrics = by(resources(stack, "google_logging_metric"), "name")
    assert set(metrics) == {m.name for m in observability.log_metrics(e)}
    for m in observability.log_metrics(e):
        assert metrics[m.name]["filter"] == m.filter
        assert metrics[m.name]["metric_descriptor"]["metric_kind"] == "DELTA"
    channels = resources(stack, "google_monitoring_notification_channel")
    assert sorted(c["type"] for c in channels) == sorted(
        "email" if c.email else "pubsub" for c in e.monitoring.channels
    )
    for c in channels:
        if c["type"] == "pubsub":  # its topic: only Monitoring's notification agent may publish
            (grant,) = [
                g
                for g in resources(stack, "google_pubsub_topic_iam_member")
                if g["topic"] in c["labels"]["topic"].replace(".id", ".name")
            ]
            assert grant["member"] == platform.monitoring_notification_agent(e.project.number)
            assert grant["role"] == platform.PUBSUB_PUBLISHER_ROLE
    (dashboard,) = resources(stack, "google_monitoring_dashboard")
    layout = json.loads(dashboard["dashboard_json"])
    titles = [t["widget"]["title"] for t in layout["mosaicLayout"]["tiles"]]
    assert {
        "GPU utilisation per team (%)",
        "GPU memory used per team (MiB)",
        "Inference latency p95 per forwarding rule (ms)",
    } <= set(titles)
    assert ("Failed Jobs per namespace" in titles) is e.monitoring.alerts.job_failures.enabled


# --- upgrade notices ------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ALL)
def test_upgrade_and_security_notices_go_to_a_topic_of_the_project(stacks, environments, env):
    e, stack = environments[env], stacks[env]
    config = cluster(stack).get("notification_config")
    topics = by(resources(stack, "google_pubsub_topic"), "name")
    services = {s["service"] for s in resources(stack, "google_project_service")}
    assert (platform.PUBSUB_API in services) is bool(topics)  # enabled exactly when a topic exists
    if not e.upgrade_notices.enabled:
        assert config is None and Names.of(e).notifications_topic not in topics
        return
    pubsub = config["pubsub"]
    assert pubsub["enabled"] is True
    assert pubsub["filter"]["event_type"] == e.upgrade_notices.events
    topic = topics[Names.of(e).notifications_topic]
    assert topic["project"] == e.project.id  # GKE publishes only to its own project (no grant needed)
    assert pubsub["topic"].startswith("${google_pubsub_topic.") and pubsub["topic"].endswith(".id}")
    # the maintenance policy stays what the config says
    assert len(cluster(stack)["maintenance_policy"].get("maintenance_exclusion", [])) == len(
        e.cluster.maintenance.exclusions
    )


# --- config errors --------------------------------------------------------------------------------

LAB = (ENVIRONMENTS / "lab.yaml").read_text()
LIVE = (ENVIRONMENTS / "live.yaml").read_text()


def problems(tmp_path: Path, text: str, old: str, new: str, name: str = "lab") -> list[str]:
    """Load ``text`` with one edit; every problem line, each 'file:line: field: message'."""
    assert old in text, old
    path = tmp_path / f"{name}.yaml"
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(ConfigError) as info:
        load_environment(path)
    lines = str(info.value).splitlines()
    assert all(re.match(rf"{re.escape(str(path))}:\d+: ", line) for line in lines), lines
    return lines


def line_of(text: str, needle: str, start: str = "") -> int:
    first = next(i for i, line in enumerate(text.splitlines(), 1) if start in line) if start else 0
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line and i >= first)


@pytest.mark.parametrize(
    "old, new, where, field, message",
    [
        (
            "image: us-central1-docker.pkg.dev/fx-lab-ml/serving/chat:1.4.2",
            "image: us-central1-docker.pkg.dev/fx-lab-ml/servers/chat:1.4.2",
            "image:",
            "inference[0].image",
            "repository 'servers' is not in registry.repositories (training, serving)",
        ),
        (
            "image: us-central1-docker.pkg.dev/fx-lab-ml/serving/chat:1.4.2",
            "image: europe-west4-docker.pkg.dev/fx-lab-ml/serving/chat:1.4.2",
            "image:",
            "inference[0].image",
            "names location europe-west4, but the registry is in us-central1",
        ),
        (
            "  channels: [oncall]\n  pubsub: true",
            "  channels: [pager]\n  pubsub: true",
            "channels: [pager]",
            "budget.channels[0]",
            "unknown channel 'pager'; defined in monitoring.channels: oncall, events",
        ),
        (
            "  channels: [oncall]\n  pubsub: true",
            "  channels: [events]\n  pubsub: true",
            "channels: [events]",
            "budget.channels[0]",
            "channel 'events' is not an email channel; budgets email only",
        ),
        (
            "billing_account: 0A1B2C-3D4E5F-6A7B8C",
            "billing_account: 0a1b2c",
            "billing_account",
            "budget.billing_account",
            "'0a1b2c' is not allowed; use a billing account ID such as 01A2B3-C4D5E6-F7A8B9",
        ),
        (
            "    host: chat.lab.fx.example",
            "    host: chat.example.org",
            "host: chat.example.org",
            "endpoints[0].host",
            "chat.example.org is not in the DNS zone's domain lab.fx.example",
        ),
        (
            "      pubsub: true\n  alerts:",
            "      pubsub: true\n      email: x@fx.example\n  alerts:",
            "- name: events",
            "monitoring.channels[1]",
            "set exactly one of email or pubsub: true",
        ),
        (
            "    gpu_idle: {minutes: 45, below_percent: 3}",
            "    channels: [nobody]\n    gpu_idle: {minutes: 45}",
            "channels: [nobody]",
            "monitoring.alerts.channels[0]",
            "unknown channel 'nobody'",
        ),
        (
            "  alerts:\n",
            "  components: [POD, DCGM, HPA]\n  alerts:\n",
            "components: [POD",
            "monitoring.components",
            "must include SYSTEM_COMPONENTS",
        ),
        (
            "  alerts:\n",
            "  components: [SYSTEM_COMPONENTS, HPA]\n  alerts:\n",
            "components: [SYSTEM",
            "monitoring.components",
            "alerts.gpu_idle reads the DCGM package; add DCGM or disable the alert",
        ),
        (
            "      keep_versions: 5",
            "      keep_versions: 0",
            "keep_versions: 0",
            "registry.repositories[1].keep_versions",
            "greater than or equal to 1",
        ),
    ],
)
def test_service_config_errors_name_file_line_and_field(tmp_path, old, new, where, field, message):
    lines = problems(tmp_path, LAB, old, new)
    edited = LAB.replace(old, new, 1)
    start = "monitoring:" if field.startswith("monitoring.") else ""
    wanted = f"lab.yaml:{line_of(edited, where, start)}: {field}: "
    assert any(wanted in line and message in line for line in lines), lines


def test_prod_registry_tags_stay_immutable(tmp_path):
    lines = problems(tmp_path, LIVE, "registry:\n", "registry:\n  immutable_tags: false\n", name="live")
    assert any(
        f"live.yaml:{line_of(LIVE.replace('registry:', 'registry:  ', 1), 'registry:') + 1}: "
        "registry.immutable_tags: must stay true in prod" in line
        for line in lines
    ), lines


def test_images_of_other_projects_are_not_checked(environments):
    data = yaml.safe_load(LAB)
    data["inference"][0]["image"] = "us-docker.pkg.dev/shared-images/serving/chat:1.4.2"
    env = parse_environment(yaml.safe_dump(data), "lab.yaml")
    assert env.inference[0].image.startswith("us-docker.pkg.dev/shared-images/")


def test_job_spec_image_in_the_environments_registry_is_checked(tmp_path, environments):
    from gkeml.jobs import load_job_spec

    spec = tmp_path / "job.yaml"
    spec.write_text(
        "name: tune\nteam: research\nimage: us-central1-docker.pkg.dev/fx-lab-ml/trainers/t:1\nidentity: trainer\n"
    )
    with pytest.raises(ConfigError) as info:
        load_job_spec(spec, environments[DEV])
    assert str(info.value) == (
        f"{spec}:3: image: repository 'trainers' is not in registry.repositories (training, serving) in lab"
    )
    spec.write_text(spec.read_text().replace("/trainers/", "/training/"))
    assert load_job_spec(spec, environments[DEV]).image.endswith("/training/t:1")


# --- the budget next to the estimate -------------------------------------------------------------


def test_cost_report_shows_the_budget_next_to_the_estimate(environments):
    from gkeml.cost import estimate, load_prices, render_markdown, render_table

    est = estimate(environments[STAGING], load_prices())
    assert est.budget.amount == 2500 and est.budget.basis == "set in the environment file"
    text = render_table(est)
    assert "Budget: 2,500.00 USD per month (set in the environment file); alerts at 80 %, 100 % of actual spend" in text
    assert "Budget:" in render_markdown(est)
    assert est.to_dict()["budget"]["amount"] == 2500
    derived = estimate(environments[DEV], load_prices(), free_tier=False)
    assert derived.budget.basis.startswith(
        f"Autopilot maximum {derived.autopilot.high:,.2f} before the free-tier credit x headroom 1.5"
    )
    assert estimate(environments[MINIMAL], load_prices()).budget is None


def test_new_billable_items_are_listed(environments):
    from gkeml.cost import estimate, load_prices

    est = estimate(environments[DEV], load_prices())
    keys = [i.key for i in est.items]
    assert {"registry", "dns/lab-fx-example", "monitoring"} <= set(keys)
    # 30 GiB stored (0.5 GiB free) at 0.10 + 40 scans at 0.26
    assert est.item("registry").autopilot.low == pytest.approx(29.5 * 0.10 + 40 * 0.26)
    assert est.item("dns/lab-fx-example").autopilot.low == pytest.approx(0.20)
    assert est.item("monitoring").estimated
    stage = estimate(environments[STAGING], load_prices())
    assert not any(k.startswith("dns/") for k in (i.key for i in stage.items))  # an existing zone: not ours
