"""From an empty project to a running environment, in the order the README gives: every step's
needs (state bucket at init, cluster and CRDs at plan, secret versions) are met by an earlier step."""

from __future__ import annotations

import copy
import dataclasses
import re

import pytest
from conftest import DEV, ENVIRONMENTS, ROOT

from gkeml.lifecycle.sequence import DEPLOY_SEQUENCE, Step, World, simulate


def _stacks_of(name, stacks, bootstrap_stacks):
    return {
        **{k: v for k, v in stacks.items() if k in (name, f"{name}-k8s")},
        f"bootstrap-{name}": bootstrap_stacks[f"bootstrap-{name}"],
    }


def _shared_buckets(name, bootstrap_stacks):
    """State buckets another environment's bootstrap creates (it runs first: docs/bootstrap.md)."""
    return {
        b["name"]
        for k, s in bootstrap_stacks.items()
        if k != f"bootstrap-{name}"
        for b in (s.get("resource", {}).get("google_storage_bucket") or {}).values()
    }


@pytest.mark.parametrize("name", sorted(p.stem for p in ENVIRONMENTS.glob("*.yaml")))
def test_the_documented_sequence_works_first_time_on_an_empty_project(name, stacks, bootstrap_stacks, environments):
    from gkeml.naming import Names

    env = environments[name]
    secret = Names.of(env).secret(env.launch.secret) if env.launch else None
    problems = simulate(
        name,
        _stacks_of(name, stacks, bootstrap_stacks),
        secret=secret,
        world=World(buckets=_shared_buckets(name, bootstrap_stacks)),
    )
    assert not problems, "\n".join(problems)


def test_the_key_can_come_after_the_deploy(stacks, bootstrap_stacks, environments):
    """The agent waits for its key; nothing a deploy plans reads it (the old design opened the latest
    version at plan, so the first `make deploy` failed until a person had added one)."""
    name = next(n for n, e in environments.items() if e.launch)
    deploy_only = tuple(s for s in DEPLOY_SEQUENCE if not s.creates_secret_version)
    assert not simulate(
        name,
        _stacks_of(name, stacks, bootstrap_stacks),
        sequence=deploy_only,
        world=World(buckets=_shared_buckets(name, bootstrap_stacks)),
    )


def test_what_only_works_on_the_second_try_is_caught():
    cloud = {
        "terraform": {"backend": {"gcs": {"bucket": "tf"}}},
        "resource": {
            "google_container_cluster": {"c": {"name": "c", "location": "r"}},
            "google_secret_manager_secret": {"s": {"secret_id": "dev-key"}},
        },
    }
    k8s = {
        "terraform": {"backend": {"gcs": {"bucket": "tf"}}},
        "data": {"google_container_cluster": {"c": {"name": "c", "location": "r"}}},
        "ephemeral": {"google_secret_manager_secret_version": {"k": {"secret": "projects/p/secrets/dev-key"}}},
        "resource": {
            "kubernetes_manifest": {"q": {"manifest": {"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ClusterQueue"}}}
        },
    }
    boot = {"resource": {"google_storage_bucket": {"state": {"name": "tf"}}}}
    problems = simulate("dev", {"bootstrap-dev": boot, "dev": cloud, "dev-k8s": k8s})
    assert any("opens the latest version of dev-key at plan, and no version exists yet" in p for p in problems)
    assert any("ClusterQueue, whose CRD the cluster does not serve at plan time" in p for p in problems)
    # applied without the bootstrap: no state bucket at init
    problems = simulate(
        "dev",
        {"dev": cloud, "dev-k8s": k8s},
        sequence=(Step("deploy", "make deploy ENV={env}", ("{env}", "{env}-k8s")),),
    )
    assert any("state bucket tf does not exist yet" in p for p in problems)


def test_crds_a_chart_installs_serve_later_steps_only():
    """A helm_release of a chart in platform.CHART_CRD_KINDS adds its kinds once applied: a stack planned
    after it may have kubernetes_manifests of them; the chart's own stack, planned before it is applied,
    and a stack planned before it may not."""
    from gkeml import platform

    group, kinds = platform.CHART_CRD_KINDS[platform.KUEUE_CHART]
    queue = {"kubernetes_manifest": {"q": {"manifest": {"apiVersion": f"{group}/v1beta2", "kind": kinds[0]}}}}
    chart = {
        "helm_release": {
            "kueue": {"name": "kueue", "chart": platform.KUEUE_CHART, "repository": platform.KUEUE_CHART_REPOSITORY}
        }
    }
    step = (Step("deploy", "make deploy ENV={env}", ("{env}", "{env}-k8s")),)

    def crd_problems(cloud: dict, k8s: dict) -> list[str]:
        stacks = {"dev": {"resource": cloud}, "dev-k8s": {"resource": k8s}}
        return [p for p in simulate("dev", stacks, sequence=step) if "whose CRD the cluster does not serve" in p]

    assert crd_problems(chart, queue) == []  # the chart's stack is applied before the queue's is planned
    assert crd_problems({}, {**chart, **queue}) == [
        f"dev-k8s: kubernetes_manifest.q is a {group}/v1beta2 {kinds[0]}, whose CRD the cluster does not serve at "
        "plan time"
    ]  # planned together with its chart: before it is installed
    assert len(crd_problems(queue, chart)) == 1  # planned a step before the chart
    other = {"helm_release": {"x": {"chart": "another-chart"}}}
    assert len(crd_problems(other, queue)) == 1  # a chart not in the table installs nothing the simulation knows


def test_readme_deploying_for_real_is_the_tested_sequence():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Deploying for real", 1)[1].split("\n## ", 1)[0]
    commands = [s.command.format(env="ENV", secret="ENV-wandb-api-key", project="PROJECT") for s in DEPLOY_SEQUENCE]
    where = [section.find(c) for c in commands]
    assert all(i >= 0 for i in where), [c for c, i in zip(commands, where) if i < 0]
    assert where == sorted(where), "README lists the steps in another order"
    numbered = re.findall(r"^(\d+)\. \*\*", section, re.M)
    assert len(numbered) >= len(DEPLOY_SEQUENCE)


def _deploy(name, stacks, bootstrap_stacks, sequence=DEPLOY_SEQUENCE, bootstrap=None):
    chosen = _stacks_of(name, stacks, bootstrap_stacks)
    if bootstrap is not None:
        chosen[f"bootstrap-{name}"] = bootstrap
    deploy_only = tuple(s for s in sequence if not s.creates_secret_version)
    return simulate(name, chosen, sequence=deploy_only, world=World(buckets=_shared_buckets(name, bootstrap_stacks)))


def test_the_in_cluster_plan_waits_until_the_cluster_serves_the_kinds_gke_installs(stacks, bootstrap_stacks):
    """N10/N14: SecretProviderClass, SecretSync and ComputeClass come with the cluster, some time after it is
    created; `make deploy` waits for them between the two stacks (gkeml wait-kinds)."""
    no_wait = tuple(dataclasses.replace(s, waits_for_cluster_kinds=False) for s in DEPLOY_SEQUENCE)
    problems = _deploy(DEV, stacks, bootstrap_stacks, no_wait)
    kinds = {re.search(r"is a (\S+ \w+), which GKE installs", p).group(1) for p in problems}
    assert {"secrets-store.csi.x-k8s.io/v1 SecretProviderClass", "secret-sync.gke.io/v1 SecretSync"} <= kinds
    assert "cloud.google.com/v1 ComputeClass" in kinds
    assert all("(TF008)" in p and p.startswith(f"{DEV}-k8s: ") for p in problems)
    assert not _deploy(DEV, stacks, bootstrap_stacks)


def test_the_first_deploy_finds_every_api_enabled_and_propagated_by_the_bootstrap(stacks, bootstrap_stacks):
    """N3: a bootstrap that enables only the platform's APIs leaves the services' APIs to the cloud stack,
    whose users then race them (TF006); the bootstrap's own users wait for its sleep."""
    from gkeml import platform

    boot = copy.deepcopy(bootstrap_stacks[f"bootstrap-{DEV}"])
    services = boot["resource"]["google_project_service"]
    for key in [k for k, c in services.items() if c["service"] not in platform.PROJECT_APIS]:
        del services[key]
    problems = _deploy(DEV, stacks, bootstrap_stacks, bootstrap=boot)
    assert problems and all(p.startswith(f"TF006 {DEV}: ") for p in problems)
    assert any("google_dns_managed_zone." in p for p in problems)
    boot = copy.deepcopy(bootstrap_stacks[f"bootstrap-{DEV}"])
    boot["resource"]["time_sleep"] = {
        k: {**c, "create_duration": "1s"} for k, c in boot["resource"]["time_sleep"].items()
    }
    problems = _deploy(DEV, stacks, bootstrap_stacks, bootstrap=boot)
    assert any(p.startswith(f"TF006 bootstrap-{DEV}: google_service_account.") for p in problems)


def _metric_then_alert(sleep: str | None) -> dict:
    """A cloud stack with a log metric (and a sleep after it) and a later stack alerting on the metric."""
    cloud: dict = {"resource": {"google_logging_metric": {"m": {"name": "gkeml/dev/failures"}}}}
    if sleep:
        cloud["resource"]["time_sleep"] = {"s": {"create_duration": sleep, "depends_on": ["google_logging_metric.m"]}}
    later = {
        "resource": {
            "google_monitoring_alert_policy": {
                "a": {
                    "conditions": [
                        {
                            "condition_threshold": {
                                "filter": 'metric.type="logging.googleapis.com/user/gkeml/dev/failures"'
                            }
                        }
                    ]
                }
            }
        }
    }
    return {"dev": cloud, "dev-k8s": later}


@pytest.mark.parametrize("sleep, caught", [(None, True), ("9m", True), ("10m", False)])
def test_what_an_earlier_stack_made_has_aged_only_by_the_sleeps_after_it(sleep, caught):
    step = (Step("deploy", "make deploy ENV={env}", ("{env}", "{env}-k8s")),)
    problems = [p for p in simulate("dev", _metric_then_alert(sleep), sequence=step) if p.startswith("TF005")]
    assert bool(problems) == caught, problems
    if caught:
        assert problems[0].startswith("TF005 dev-k8s: google_monitoring_alert_policy.a may be created ")


def test_a_resource_whose_api_or_log_metric_no_step_makes_is_caught():
    step = (Step("deploy", "make deploy ENV={env}", ("{env}-k8s",)),)
    problems = simulate("dev", {"dev-k8s": _metric_then_alert(None)["dev-k8s"]}, sequence=step)
    assert problems == [
        "TF006 dev-k8s: google_monitoring_alert_policy.a needs api monitoring.googleapis.com, which no earlier step "
        "makes",
        "TF005 dev-k8s: google_monitoring_alert_policy.a needs log metric gkeml/dev/failures, which no earlier step "
        "makes",
    ]


def test_every_service_account_the_deploy_names_is_created_by_an_earlier_step(stacks, bootstrap_stacks, environments):
    """The cloud stack creates no service account any more (its deploy identity cannot): it names the nodes' and
    the classic identities' accounts by email, and the bootstrap, applied before, creates them. A bootstrap
    without them leaves the cluster's nodes, the node role, the registry's reader and the Workload Identity
    binding naming accounts that do not exist."""
    from gkeml.naming import Names

    names = Names.of(environments[DEV])
    boot = copy.deepcopy(bootstrap_stacks[f"bootstrap-{DEV}"])
    accounts = boot["resource"]["google_service_account"]
    for address in [a for a in accounts if a.startswith("env-")]:
        del accounts[address]
    problems = _deploy(DEV, stacks, bootstrap_stacks, bootstrap=boot)
    named = {re.search(r"names service account (\S+),", p).group(1) for p in problems if "names service account" in p}
    assert named == {names.node_service_account_email, names.gsa_email("launch-agent")}
    assert any(p.startswith(f"{DEV}: google_container_cluster.") for p in problems)
    assert any(p.startswith(f"{DEV}: google_service_account_iam_member.") for p in problems)
    assert any(p.startswith(f"{DEV}-k8s: ") for p in problems)  # the KSA's annotation names the account too
    assert not _deploy(DEV, stacks, bootstrap_stacks)
