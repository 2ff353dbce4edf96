"""First-apply order: the check over every synthesized stack, and the bugs it exists to catch."""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import pytest
from conftest import DEV, PROD, ROOT

from gkeml import platform
from gkeml.lifecycle.order import describe, order_problems
from gkeml.lifecycle.sequence import applied_before

CLUSTER = "google_container_cluster.cluster"
MEMBER = (
    "principal://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p.svc.id.goog/subject/ns/a/sa/b"
)


def test_every_synthesized_stack_is_in_first_apply_order(stacks, bootstrap_stacks):
    everything = {**stacks, **bootstrap_stacks}
    problems = order_problems(everything, applied_before(everything))
    assert not problems, describe(problems)


def without_sleeps(stack: dict) -> dict:
    """``stack`` as gkeml wrote it before the time facts: no time_sleep; what waited for one waits for what
    the sleep waited for."""
    stack = copy.deepcopy(stack)
    sleeps = {f"time_sleep.{n}": c.get("depends_on", []) for n, c in stack["resource"].pop("time_sleep", {}).items()}
    for items in stack["resource"].values():
        for conf in items.values():
            if "depends_on" in conf:
                conf["depends_on"] = [e for d in conf["depends_on"] for e in sleeps.get(d, [d])]
    return stack


def fact_ids(problems) -> set[tuple[str, str]]:
    return {(p.fact.id, p.address.split(".")[0]) for p in problems}


def test_an_alert_on_a_log_metric_created_in_the_same_apply_is_caught(stacks):
    """N1 of the 2026-12-04 audit: the two log-metric alerts were created seconds after their metrics."""
    problems = order_problems({DEV: without_sleeps(stacks[DEV])}, applied_before({}))
    alerts = [p for p in problems if p.fact.id == "TF005"]
    assert len(alerts) == 2 and all(p.address.startswith("google_monitoring_alert_policy.") for p in alerts)
    assert "waits only 0s after google_logging_metric." in alerts[0].message
    assert alerts[0].fix.startswith("wait at least 600s: a time_sleep of at least 600s")
    # the shipped fix: a 600 s sleep after the metrics, beside the cluster (no TF005 with it)
    assert not [p for p in order_problems({DEV: stacks[DEV]}) if p.fact.id == "TF005"]


def _metric_and_alert(*sleeps: str) -> dict:
    """A log metric, a chain of sleeps after it and an alert on the metric after the last sleep."""
    resource: dict = {
        "google_logging_metric": {"m": {"name": "gkeml/x/failures"}},
        "google_monitoring_alert_policy": {
            "a": {
                "conditions": [
                    {"condition_threshold": {"filter": 'metric.type="logging.googleapis.com/user/gkeml/x/failures"'}}
                ]
            }
        },
    }
    previous = "google_logging_metric.m"
    for i, duration in enumerate(sleeps):
        resource.setdefault("time_sleep", {})[f"s{i}"] = {"create_duration": duration, "depends_on": [previous]}
        previous = f"time_sleep.s{i}"
    resource["google_monitoring_alert_policy"]["a"]["depends_on"] = [previous]
    return {"resource": resource}


@pytest.mark.parametrize(
    "sleeps, caught",
    [((), True), (("599s",), True), (("600s",), False), (("10m",), False), (("5m", "300s"), False), (("5m",), True)],
)
def test_a_log_metric_alert_needs_ten_minutes_of_sleep_on_its_path(sleeps, caught):
    problems = order_problems({"dev": _metric_and_alert(*sleeps)})
    assert bool(problems) == caught, describe(problems)
    assert all(p.fact.id == "TF005" for p in problems)


def test_a_grant_to_a_service_agent_created_in_the_same_apply_is_caught(stacks):
    """N6: prod's pager topic granted publish to the Monitoring notification agent right after the Pub/Sub
    channel that creates the agent."""
    (problem,) = [p for p in order_problems({PROD: without_sleeps(stacks[PROD])}) if p.fact.id == "TF007"]
    assert problem.address.startswith("google_pubsub_topic_iam_member.")
    assert "google_monitoring_notification_channel (type pubsub)" in problem.message
    assert not [p for p in order_problems({PROD: stacks[PROD]}) if p.fact.id == "TF007"]


def test_a_service_account_created_in_the_same_apply_needs_no_sleep(bootstrap_stacks):
    """The provider's own Create waits for a google_service_account (TF007's source): grants naming one are
    not refused, while the bootstrap creates the CI identities and the environment's accounts and grants on
    them in one apply (the deploy identity's roles on the nodes' and classic identities' accounts)."""
    boot = f"bootstrap-{DEV}"
    grants = {
        f"{rtype}.{name}"
        for rtype, items in bootstrap_stacks[boot]["resource"].items()
        if "_iam_" in rtype
        for name, conf in items.items()
        if "${google_service_account." in json.dumps([conf.get("member"), conf.get("service_account_id")])
    }
    assert {
        "google_service_account_iam_member.ci-on-gke-nodes",
        "google_service_account_iam_member.ci-on-launch-agent",
    } <= grants
    flagged = {p.address for p in order_problems({boot: bootstrap_stacks[boot]}) if p.fact.id == "TF007"}
    assert not grants & flagged


def test_the_cloud_stack_creates_no_service_account_its_grants_would_race(stacks):
    """The nodes' and classic identities' accounts come from the bootstrap, applied before: the cloud stack's
    grants name them by email, and nothing in it creates one."""
    for name in (n for n in stacks if not n.endswith("-k8s")):
        assert "google_service_account" not in stacks[name]["resource"], name


def test_apis_enabled_in_the_same_apply_as_their_users_are_caught(stacks, bootstrap_stacks):
    """N3: the cloud stack enables pubsub, dns, billingbudgets and containerscanning itself and creates their
    users seconds later. Its declarations are harmless only because the bootstrap enabled every one before."""
    alone = order_problems({DEV: stacks[DEV]})
    assert {p.fact.id for p in alone} == {"TF006"}
    assert {"google_dns_managed_zone", "google_pubsub_topic", "google_billing_budget"} <= {
        p.address.split(".")[0] for p in alone
    }
    boot = f"bootstrap-{DEV}"
    both = {DEV: stacks[DEV], boot: bootstrap_stacks[boot]}
    assert not order_problems(both, applied_before(both))
    # a bootstrap that enables only the platform's APIs (as before): the services' users race their APIs
    older = copy.deepcopy(bootstrap_stacks[boot])
    services = older["resource"]["google_project_service"]
    for name in [n for n, c in services.items() if c["service"] not in platform.PROJECT_APIS]:
        del services[name]
    both[boot] = older
    assert {p.address.split(".")[0] for p in order_problems(both, applied_before(both))} >= {
        "google_dns_managed_zone",
        "google_pubsub_topic",
    }
    # the bootstrap's own users wait for its sleep; without it they race the APIs it enables
    raced = order_problems({boot: without_sleeps(bootstrap_stacks[boot])})
    assert raced and {p.fact.id for p in raced} == {"TF006"}
    assert "google_service_account" in {p.address.split(".")[0] for p in raced}


def test_a_workload_identity_binding_that_races_the_cluster_is_caught():
    """What the cloud stacks did before: bucket and project bindings of principal:// members (and the
    classic serviceAccount:PROJECT.svc.id.goog[NS/KSA]) with no dependency on the cluster."""
    stack = {
        "resource": {
            "google_container_cluster": {"cluster": {"name": "c"}},
            "google_storage_bucket_iam_member": {"read": {"bucket": "b", "member": MEMBER}},
            "google_service_account_iam_member": {
                "wi": {"member": "serviceAccount:p.svc.id.goog[a/b]", "depends_on": ["google_service_account.gsa"]}
            },
            "google_service_account": {"gsa": {"account_id": "x"}},
        }
    }
    problems = order_problems({"dev": stack})
    assert {(p.fact.id, p.address) for p in problems} == {
        ("TF001", "google_storage_bucket_iam_member.read"),
        ("TF001", "google_service_account_iam_member.wi"),
    }
    assert all(p.fix == f"add depends_on: {CLUSTER} (the cluster creates the identity pool)" for p in problems)
    # waiting for the cluster, directly or through another resource, is enough
    stack["resource"]["google_storage_bucket_iam_member"]["read"]["depends_on"] = [CLUSTER]
    stack["resource"]["google_service_account"]["gsa"]["depends_on"] = [CLUSTER]
    assert not order_problems({"dev": stack})


def test_a_resource_created_before_its_api_is_enabled_is_caught():
    """What the bootstrap stack did: the state bucket did not wait for storage.googleapis.com."""
    stack = {
        "resource": {
            "google_project_service": {"storage": {"service": "storage.googleapis.com"}},
            "google_storage_bucket": {"state": {"name": "tf"}},
        }
    }
    (problem,) = order_problems({"bootstrap-dev": stack})
    assert (problem.fact.id, problem.address) == ("TF002", "google_storage_bucket.state")
    assert problem.fix == "add depends_on: google_project_service.storage"


def test_an_object_in_a_namespace_nobody_creates_first_is_caught():
    ns = {"manifest": {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}}}
    quota = {"manifest": {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "q", "namespace": "team"}}}
    orphan = {"manifest": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "other"}}}
    problems = order_problems({"dev-k8s": {"resource": {"kubernetes_manifest": {"ns": ns, "q": quota, "o": orphan}}}})
    assert {(p.fact.id, p.address) for p in problems} == {
        ("TF003", "kubernetes_manifest.q"),
        ("TF003", "kubernetes_manifest.o"),
    }


def test_gkeml_check_reports_order_problems_with_the_fix(tmp_path):
    stack = tmp_path / "stacks" / "dev"
    stack.mkdir(parents=True)
    stack.joinpath("cdk.tf.json").write_text(
        json.dumps(
            {
                "resource": {
                    "google_container_cluster": {"cluster": {"name": "c"}},
                    "google_project_iam_member": {"logs": {"role": "roles/logging.logWriter", "member": MEMBER}},
                }
            }
        )
    )
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "gkeml.cli",
            "check",
            "--synth-dir",
            str(tmp_path),
            "--no-checkov",
            "--environments",
            str(ROOT / "tests" / "fixtures" / "environments"),
            "--env",
            "mini",
            "--format",
            "json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 1, run.stderr
    (finding,) = [f for f in json.loads(run.stdout)["findings"] if f["rule"].startswith("TF")]
    assert finding["rule"] == "TF001" and finding["object"] == "dev/google_project_iam_member.logs"
    assert finding["fix"].startswith("add depends_on: google_container_cluster.cluster")


@pytest.mark.parametrize("fact", ["TF001", "TF002", "TF003", "TF004", "TF005", "TF006", "TF007", "TF008"])
def test_every_fact_names_its_source(fact):
    from gkeml.lifecycle.order import FACTS

    assert len(FACTS[fact].source) > 40 and FACTS[fact].title and FACTS[fact].checked


@pytest.mark.parametrize("fact", ["TF005", "TF006", "TF007", "TF008"])
def test_every_time_fact_says_which_remedies_the_checks_accept(fact):
    from gkeml.lifecycle.order import FACTS

    assert FACTS[fact].remedies
    assert fact == "TF008" or FACTS[fact].delay_seconds > 0  # TF008's lag is unmeasured: the deploy polls


@pytest.mark.parametrize(
    "text, seconds",
    [("600s", 600), ("10m", 600), ("1h2m3s", 3723), ("1.5m", 90), ("${var.x}", 0), ("10", 0), (None, 0)],
)
def test_sleep_durations_are_read_as_go_durations(text, seconds):
    from gkeml.lifecycle.timing import duration_seconds

    assert duration_seconds(text) == seconds


def test_gkeml_check_assumes_the_bootstrap_enabled_what_the_cloud_stack_declares(stacks, tmp_path):
    """`gkeml check` reads only the environments' own stacks: their declared APIs count as enabled by the
    bootstrap before (the deploy sequence checks that it does); the other time facts are reported."""
    from gkeml.lifecycle.order import order_findings

    for name, stack in ((DEV, without_sleeps(stacks[DEV])), (f"{DEV}-k8s", stacks[f"{DEV}-k8s"])):
        (tmp_path / "stacks" / name).mkdir(parents=True)
        (tmp_path / "stacks" / name / "cdk.tf.json").write_text(json.dumps(stack))
    findings = order_findings(tmp_path)
    assert {f.rule for f in findings} == {"TF005", "TF007"}
    assert all(f.source.endswith(f"stacks/{DEV}/cdk.tf.json") and f.fix.startswith("wait at least") for f in findings)
