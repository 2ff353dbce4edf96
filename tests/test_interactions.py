"""Controllers that meet: the interaction table (gkeml/rules/interactions.py) and, per row, what the toolkit
emits now (the two controllers are reconciled, its rule is quiet) next to what it emitted before (the rule
refuses it). Read from the real synthesized stacks of the fixture environments where a value lives in a Helm
release, and from the builders otherwise."""

from __future__ import annotations

import copy
import re

import kubernetes_validate
import pytest
import yaml
from conftest import ENV_NAMES, MINIMAL, ROOT, resources
from job_env import GOOD, LAB, lab_environment
from stack_objects import checked_releases as releases
from stack_objects import release, rules_of

from gkeml import platform
from gkeml.config import ConfigError
from gkeml.config.images import image_allowlist
from gkeml.environments import parse_environment
from gkeml.jobs import parse_job_spec, render
from gkeml.manifests.kueue import FLAVOR_GPU_SPOT, kueue_plan
from gkeml.manifests.launch import chart_values, secret_sync_objects
from gkeml.manifests.metrics_adapter import metrics_adapter_objects
from gkeml.manifests.workloads import in_cluster_objects, in_cluster_plan
from gkeml.rules import RULES, check, load_manifest_files
from gkeml.rules.interactions import INTERACTIONS

pytestmark = pytest.mark.synth

K8S_VERSION = "1.35.0"
ALL_ENVS = (*ENV_NAMES, MINIMAL)
BAD_MANIFESTS = ROOT / "tests" / "fixtures" / "bad-manifests"


def bad_manifest(rule: str) -> list[dict]:
    """The objects of the bad manifest of ``rule`` (tests/fixtures/bad-manifests)."""
    return [m.obj for m in load_manifest_files(sorted(BAD_MANIFESTS.glob(f"{rule}*.yaml")))]


def toolkit(environments, env, synth_dir) -> list[dict]:
    """Everything the toolkit applies in ``env``: in-cluster objects, queue chart objects, Helm releases."""
    plan = in_cluster_plan(environments[env])
    return plan.objects() + (plan.kueue.chart_objects() if plan.kueue else []) + releases(synth_dir, env)


# --- the table ------------------------------------------------------------------------------------------


def test_every_interaction_is_dated_and_checked_by_a_registered_rule():
    assert len(INTERACTIONS) >= 7
    for row in INTERACTIONS:
        assert row.rule in RULES, row
        assert all((row.first, row.second, row.object, row.reconciled_by)), row
        assert re.search(r"20\d\d-\d\d-\d\d", row.source), f"{row.rule}: the source needs its date"
    checked = {row.rule for row in INTERACTIONS}
    assert {r for r in RULES if r.startswith("GKE04")} <= checked


# --- W&B Launch agent vs Kueue: agent.startTimeout ----------------------------------------------------------


@pytest.mark.parametrize("env", ENV_NAMES)
def test_the_launch_agent_never_cancels_a_run_waiting_in_a_kueue_queue(environments, synth_dir, env):
    e = environments[env]
    objects = toolkit(environments, env, synth_dir)
    agent = release(objects, platform.WANDB_LAUNCH_AGENT_CHART)
    queues = {o["metadata"]["namespace"] for o in objects if o["kind"] == "LocalQueue"}
    assert set(e.launch_teams()) <= queues  # its runs are queued
    assert agent["spec"]["values"]["agent"]["startTimeout"] == 0
    assert rules_of(objects, "GKE040") == []
    before = copy.deepcopy(objects)  # what gkeml emitted before: the chart's default, 1800 s
    del release(before, platform.WANDB_LAUNCH_AGENT_CHART)["spec"]["values"]["agent"]["startTimeout"]
    assert rules_of(before, "GKE040") == [
        ("GKE040", f"HelmRelease/{agent['metadata']['namespace']}/{e.launch.release}", "spec.values.agent.startTimeout")
    ]


def test_without_kueue_the_agent_keeps_the_charts_start_timeout():
    env = lab_environment(LAB + "kueue: {enabled: false}\n")
    assert chart_values(env, env.launch, env.launch_teams())["agent"]["startTimeout"] == 1800


# --- Kueue waitForPodsReady vs flex-start ---------------------------------------------------------------------


def test_a_flex_start_job_is_refused_where_kueue_would_queue_it():
    spec = GOOD + "flex_start: true\n"
    with pytest.raises(ConfigError) as err:
        parse_job_spec(spec, "flex.yaml", lab_environment())
    assert str(err.value).startswith(
        "flex.yaml:6: flex_start: lab queues every job through Kueue, and a queued job cannot wait for flex-start "
        "capacity: Kueue admits it first and evicts and requeues it"
    )
    with pytest.raises(ConfigError, match=r"^flex.yaml:6: flex_start: a queued job cannot wait"):
        parse_job_spec(spec + "queue: research\n", "flex.yaml")  # without an environment: its own queue
    unqueued = lab_environment(LAB + "kueue: {enabled: false}\n")
    (job,) = render(parse_job_spec(spec, "flex.yaml", unqueued), unqueued)
    assert rules_of([job], "GKE041") == []
    job["metadata"]["labels"][platform.KUEUE_QUEUE_LABEL] = "research"  # what a queued flex-start job was
    (finding,) = check([job, *releases_of_kueue(lab_environment())], ["GKE041"])
    assert finding.field == f"spec.template.spec.nodeSelector.{platform.FLEX_START_LABEL}"
    assert "waitForPodsReady.timeout (15m)" in finding.message  # read from the environment's Kueue config


def releases_of_kueue(env) -> list[dict]:
    """A HelmRelease of the Kueue chart with ``env``'s values, as helm_release_objects presents it."""
    chart = {"chart": platform.KUEUE_CHART, "sourceRef": {"kind": "HelmRepository", "name": "kueue"}}
    values = kueue_plan(env).chart_values
    return [
        {
            "apiVersion": "helm.toolkit.fluxcd.io/v2",
            "kind": "HelmRelease",
            "metadata": {"name": platform.KUEUE_RELEASE, "namespace": platform.KUEUE_NAMESPACE},
            "spec": {"chart": {"spec": chart}, "values": values},
        }
    ]


# --- Kueue flavor node labels vs ComputeClass --------------------------------------------------------------


def spot_class_environment():
    """lab, with half of each team's GPUs reserved for Spot and a Spot-first class jobs may use."""
    text = (
        LAB
        + "kueue: {spot_gpu_percent: 50}\n"
        + "compute_classes:\n  - {name: l4-spot-first, gpu: nvidia-l4, capacity: [spot, on-demand]}\n"
    )
    return parse_environment(text, "lab.yaml")


def test_a_job_on_a_class_with_a_spot_rung_is_never_pinned_to_spot_by_kueue():
    env = spot_class_environment()
    spec = parse_job_spec(
        GOOD + "compute_class: l4-spot-first\nidentity: trainer\ncheckpoints: {bucket: checkpoints}\n", "j.yaml", env
    )
    (job,) = render(spec, env)
    pod = job["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {platform.COMPUTE_CLASS_LABEL: "l4-spot-first"}  # the class alone
    assert pod["tolerations"] == [platform.SPOT_TOLERATION]  # so it may use gpu-spot quota and Spot nodes
    plan = kueue_plan(env)
    objects = [*in_cluster_objects(env), *plan.chart_objects(), job]
    assert rules_of(objects, "GKE042", "GKE026", "GKE028") == []
    flavors = {o["metadata"]["name"]: o for o in plan.queues if o["kind"] == "ResourceFlavor"}
    assert not any("nodeLabels" in f["spec"] for f in flavors.values())  # Kueue adds nothing to a pod
    before = copy.deepcopy(objects)  # with the gpu-spot flavor gkeml had: Kueue added the Spot selector
    (spot,) = [o for o in before if o["kind"] == "ResourceFlavor" and o["metadata"]["name"] == FLAVOR_GPU_SPOT]
    spot["spec"]["nodeLabels"] = {platform.SPOT_LABEL: "true"}
    (finding,) = check(before, ["GKE042"])
    assert finding.object == "Job/research/t" and "cloud.google.com/gke-spot=true" in finding.message


def test_a_spot_job_still_selects_spot_itself_and_gets_the_spot_share():
    env = spot_class_environment()
    spec = parse_job_spec(GOOD + "spot: true\nidentity: trainer\ncheckpoints: {bucket: checkpoints}\n", "j.yaml", env)
    (job,) = render(spec, env)
    assert job["spec"]["template"]["spec"]["nodeSelector"][platform.SPOT_LABEL] == "true"
    assert rules_of([*in_cluster_objects(env), *kueue_plan(env).chart_objects(), job]) == []


# --- compact placement vs a ComputeClass ------------------------------------------------------------------


def test_compact_placement_is_refused_next_to_a_compute_class():
    env = spot_class_environment()
    spec = (
        GOOD
        + "nodes: 2\ncompact_placement: true\ncompute_class: l4-spot-first\nidentity: trainer\ncheckpoints: {bucket: checkpoints}\n"
    )
    with pytest.raises(ConfigError) as err:
        parse_job_spec(spec, "ddp.yaml", env)
    assert "ddp.yaml:7: compact_placement: not with compute class l4-spot-first: a pod on a ComputeClass" in str(
        err.value
    )
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "research"},
        "spec": {
            "nodeSelector": {platform.COMPUTE_CLASS_LABEL: "l4-spot-first", platform.PLACEMENT_GROUP_LABEL: "g"},
            "containers": [],
        },
    }
    (finding,) = check([pod], ["GKE028"])  # a placement group next to a class, in a user's manifest
    assert finding.severity == "warning" and finding.field.endswith(platform.PLACEMENT_GROUP_LABEL)


# --- secret sync vs the agent that reads the key when it starts -----------------------------------------------


@pytest.mark.parametrize("env", ENV_NAMES)
def test_the_agent_restarts_when_the_synced_key_version_changes(environments, synth_dir, env):
    e = environments[env]
    objects = toolkit(environments, env, synth_dir)
    secret = platform.wandb_api_key_secret(e.launch.release)
    version = str(e.launch.api_key_version)
    classes = [o for o in objects if o["kind"] == "SecretProviderClass"]
    assert classes and all(
        yaml.safe_load(c["spec"]["parameters"]["secrets"])[0]["resourceName"].endswith(f"/versions/{version}")
        for c in classes
    )
    agent = release(objects, platform.WANDB_LAUNCH_AGENT_CHART)
    assert agent["spec"]["values"]["agent"]["podAnnotations"] == {f"secret.gkeml.io/{secret}": version}
    assert rules_of(objects, "GKE043") == []
    before = copy.deepcopy(objects)  # what gkeml emitted before: the latest version, no annotation
    for c in before:
        if c["kind"] == "SecretProviderClass":
            c["spec"]["parameters"]["secrets"] = c["spec"]["parameters"]["secrets"].replace(
                f"/versions/{version}", "/versions/latest"
            )
    del release(before, platform.WANDB_LAUNCH_AGENT_CHART)["spec"]["values"]["agent"]["podAnnotations"]
    assert {f[0] for f in rules_of(before, "GKE043")} == {"GKE043"}


def test_a_new_key_version_changes_the_sync_and_the_agents_pod_template_together():
    old, new = (
        lab_environment(),
        lab_environment(LAB.replace("  entity: lab\n", "  entity: lab\n  api_key_version: 7\n")),
    )
    annotations = [chart_values(e, e.launch, e.launch_teams())["agent"]["podAnnotations"] for e in (old, new)]
    assert annotations == [{"secret.gkeml.io/wandb-api-key-lab": "1"}, {"secret.gkeml.io/wandb-api-key-lab": "7"}]
    _, spc, sync = secret_sync_objects(new, "research")
    assert spc["spec"]["parameters"]["secrets"].splitlines()[0].endswith("/versions/7")
    assert sync["spec"]["forceSynchronization"] == "7"  # the sync controller copies it at once
    # the SecretSync fields are those of the secret-sync.gke.io/v1 schema
    assert set(sync["spec"]) <= {
        "forceSynchronization",
        "secretObject",
        "secretProviderClassName",
        "secretSyncControllerName",
        "serviceAccountName",
    }
    assert set(sync["spec"]["secretObject"]) <= {"annotations", "data", "labels", "type"}


def test_a_launch_chart_without_pod_annotations_is_refused(tmp_path):
    with pytest.raises(ConfigError) as err:
        parse_environment(LAB.replace("  entity: lab\n", "  entity: lab\n  chart_version: 0.13.10\n"), "lab.yaml")
    assert "launch.chart_version: 0.13.10 has no agent.podAnnotations" in str(err.value)
    assert "allowed: 0.13.11 or later" in str(err.value)


def test_the_agent_image_is_fully_qualified_and_admitted():
    env = lab_environment()
    image = chart_values(env, env.launch, env.launch_teams())["agent"]["image"]
    assert image == "docker.io/wandb/launch-agent:0.17.3"
    assert any(platform.image_matches(image, p) and p.startswith("docker.io/") for p in image_allowlist(env))


# --- Kueue's fail-closed Job webhook vs its manager --------------------------------------------------------


@pytest.mark.parametrize("env", ENV_NAMES)
def test_kueue_serves_its_fail_closed_webhook_from_two_replicas_with_a_budget(environments, synth_dir, env):
    objects = toolkit(environments, env, synth_dir)
    manager = release(objects, platform.KUEUE_CHART)["spec"]["values"]["controllerManager"]
    assert manager["replicas"] >= 2 and manager["podDisruptionBudget"]["enabled"] is True
    assert rules_of(objects, "GKE044") == []
    for before, field in (({"replicas": 1}, "replicas"), ({"podDisruptionBudget": {}}, "podDisruptionBudget.enabled")):
        old = copy.deepcopy(objects)
        release(old, platform.KUEUE_CHART)["spec"]["values"]["controllerManager"].update(before)
        (finding,) = check(old, ["GKE044"])
        assert finding.field == f"spec.values.controllerManager.{field}"


def test_a_webhook_server_with_two_replicas_and_a_budget_or_an_ignoring_webhook_passes():
    objects = bad_manifest("GKE044")
    (deployment,) = [o for o in objects if o["kind"] == "Deployment"]
    deployment["spec"]["replicas"] = 2
    assert "no PodDisruptionBudget" in check(objects, ["GKE044"])[0].message
    budget = {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "job-policy", "namespace": "policy"},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "job-policy"}}},
    }
    assert check([*objects, budget], ["GKE044"]) == []
    ignoring = bad_manifest("GKE044")
    ignoring[0]["webhooks"][0]["failurePolicy"] = "Ignore"
    assert check(ignoring, ["GKE044"]) == []


# --- managed namespaces ------------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ALL_ENVS)
def test_nothing_is_written_into_a_namespace_autopilot_manages(environments, synth_dir, env):
    objects = toolkit(environments, env, synth_dir)
    assert not [o for o in objects if platform.is_managed_namespace(o["metadata"].get("namespace", ""))]
    assert rules_of(objects, "GKE045") == []
    kueue = [o for o in objects if o["kind"] == "HelmRelease" and o["spec"]["chart"]["spec"]["chart"] == "kueue"]
    for chart in kueue:  # the chart's RoleBinding in kube-system is off
        assert chart["spec"]["values"]["enableVisibilityAuthReaderRoleBinding"] is False
        before = copy.deepcopy(objects)
        del release(before, "kueue")["spec"]["values"]["enableVisibilityAuthReaderRoleBinding"]
        assert rules_of(before, "GKE045") == [
            ("GKE045", "HelmRelease/kueue-system/kueue", "spec.values.enableVisibilityAuthReaderRoleBinding")
        ]


def auth_readers(objects) -> dict[str, tuple[dict, dict]]:
    """ClusterRole and ClusterRoleBinding that grant the extension-apiserver-authentication read, by subject."""
    roles = {o["metadata"]["name"]: o for o in objects if o["kind"] == "ClusterRole"}
    found = {}
    for binding in [o for o in objects if o["kind"] == "ClusterRoleBinding"]:
        role = roles.get(binding["roleRef"]["name"])
        if role and role["rules"] == [platform.EXTENSION_APISERVER_AUTHENTICATION_RULE]:
            ((subject),) = binding["subjects"]
            found[f"{subject['namespace']}/{subject['name']}"] = (role, binding)
    return found


def test_the_auth_configmap_is_read_through_a_cluster_role_limited_to_its_name(environments):
    kueue = kueue_plan(environments[ENV_NAMES[0]])
    granted = auth_readers(kueue.rbac + metrics_adapter_objects())
    assert set(granted) == {
        f"{platform.KUEUE_NAMESPACE}/kueue-controller-manager",  # the chart's manager account for release kueue
        f"{platform.METRICS_ADAPTER_NAMESPACE}/{platform.METRICS_ADAPTER_KSA}",
    }
    assert platform.EXTENSION_APISERVER_AUTHENTICATION_RULE == {
        "apiGroups": [""],
        "resources": ["configmaps"],
        "resourceNames": ["extension-apiserver-authentication"],  # the bootstrap Role's rule, by name only
        "verbs": ["get", "list", "watch"],
    }
    for role, binding in granted.values():
        kubernetes_validate.validate(role, K8S_VERSION, strict=True)
        kubernetes_validate.validate(binding, K8S_VERSION, strict=True)
    previous = {  # what the adapter applied before
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": "custom-metrics-auth-reader", "namespace": "kube-system"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "x"},
        "subjects": [],
    }
    assert rules_of([previous], "GKE045") == [
        ("GKE045", "RoleBinding/kube-system/custom-metrics-auth-reader", "metadata.namespace")
    ]


def test_the_kueue_rbac_is_applied_before_the_manager_starts(stacks):
    stack = stacks[f"{ENV_NAMES[0]}-k8s"]
    (kueue,) = [r for r in resources(stack, "helm_release") if r["name"] == platform.KUEUE_RELEASE]
    applied = {
        f"kubernetes_manifest.{name}": body["manifest"]
        for name, body in stack["resource"]["kubernetes_manifest"].items()
        if body["manifest"]["kind"] in ("ClusterRole", "ClusterRoleBinding")
        and body["manifest"]["metadata"]["name"].startswith("gkeml-kueue")
    }
    assert len(applied) == 2 and set(applied) <= set(kueue["depends_on"])
