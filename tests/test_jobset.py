"""The JobSet controller per environment, read from the real synthesized stacks: the pinned chart and its
values, the order (namespace, chart, the release that waits for the webhook, then Kueue), the webhook probe,
and the rules that guard a fail-closed webhook."""

from __future__ import annotations

import copy

import jobset_crd
import kubernetes_validate
import pytest
import yaml
from conftest import ENV_NAMES, MINIMAL, ROOT, resources
from stack_objects import checked_releases as releases
from stack_objects import helm_releases as releases_by_name
from stack_objects import k8s, release, rules_of, values

from gkeml import platform
from gkeml.manifests.jobset import READY_CHART, chart_values, jobset_plan
from gkeml.rules import check

pytestmark = pytest.mark.synth

K8S_VERSION = "1.33.0"
ALL_ENVS = (*ENV_NAMES, MINIMAL)
# Keys of the chart's values.yaml (kubernetes-sigs/jobset v0.12.0 charts/jobset/values.yaml): top level, controller.
CHART_VALUES = {
    "nameOverride",
    "fullnameOverride",
    "commonLabels",
    "image",
    "controller",
    "certManager",
    "prometheus",
}
CONTROLLER_VALUES = {
    "replicas",
    "leaderElection",
    "clientConnection",
    "annotations",
    "env",
    "envFrom",
    "volumeMounts",
    "resources",
    "securityContext",
    "volumes",
    "nodeSelector",
    "affinity",
    "tolerations",
    "podAnnotations",
    "podSecurityContext",
    "hostNetwork",
    "podDisruptionBudget",
}


@pytest.mark.parametrize("env", ALL_ENVS)
def test_jobset_is_installed_exactly_where_it_is_enabled(stacks, environments, env):
    e = environments[env]
    found = releases_by_name(stacks, env)
    assert (platform.JOBSET_RELEASE in found and READY_CHART in found) is e.jobset.enabled
    namespaces = {
        o["manifest"]["metadata"]["name"]
        for o in resources(k8s(stacks, env), "kubernetes_manifest")
        if o["manifest"]["kind"] == "Namespace"
    }
    assert (platform.JOBSET_NAMESPACE in namespaces) is e.jobset.enabled


@pytest.mark.parametrize("env", ENV_NAMES)
def test_the_official_chart_is_pinned_and_configured_for_autopilot(stacks, env):
    _, chart = releases_by_name(stacks, env)[platform.JOBSET_RELEASE]
    assert (chart["repository"], chart["chart"], chart["version"]) == (
        "oci://registry.k8s.io/jobset/charts",
        "jobset",
        "0.12.0",
    )
    assert chart["namespace"] == "jobset-system" and chart["wait"] is True and chart["create_namespace"] is False
    chart_values_ = values(chart)
    assert set(chart_values_) <= CHART_VALUES and set(chart_values_["controller"]) <= CONTROLLER_VALUES
    # the released image, not the staging image:main of the chart's values.yaml
    assert chart_values_["image"] == {
        "repository": "registry.k8s.io/jobset/jobset",
        "tag": "v0.12.0",
        "pullPolicy": "IfNotPresent",
    }
    controller = chart_values_["controller"]
    # its webhooks fail closed for every JobSet and JobSet pod: two replicas and a budget (rule GKE044)
    assert controller["replicas"] == 2 and controller["podDisruptionBudget"] == {"enabled": True, "minAvailable": 1}
    res = controller["resources"]
    assert res["requests"] == res["limits"]  # Autopilot bills requests; limits above them are not kept
    assert chart_values_ == chart_values()


@pytest.mark.parametrize("env", ENV_NAMES)
def test_the_release_order_namespace_chart_webhook_then_kueue(stacks, env):
    found = releases_by_name(stacks, env)
    jobset_id, chart = found[platform.JOBSET_RELEASE]
    ready_id, ready = found[READY_CHART]
    kueue_id, kueue = found[platform.KUEUE_RELEASE]
    assert f"helm_release.{jobset_id}" in ready["depends_on"] and ready["wait"] is True
    # Kueue's JobSet integration starts with the API served and a webhook that answers
    assert f"helm_release.{ready_id}" in kueue["depends_on"]
    manifests = {
        f"kubernetes_manifest.{name}": body["manifest"]
        for name, body in k8s(stacks, env)["resource"]["kubernetes_manifest"].items()
    }
    before = [manifests[d] for d in chart["depends_on"] if d in manifests]
    assert {(o["kind"], o["metadata"]["name"]) for o in before} == {
        ("Namespace", "jobset-system"),
        ("NetworkPolicy", "default-deny-ingress"),
        ("NetworkPolicy", "allow-jobset-controller-ports"),
    }
    (namespace,) = [o for o in before if o["kind"] == "Namespace"]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    (allow,) = [o for o in before if o["metadata"]["name"] == "allow-jobset-controller-ports"]
    ports = {p["port"] for p in allow["spec"]["ingress"][0]["ports"]}
    assert 9443 in ports  # the API server calls the webhook there


@pytest.mark.parametrize("env", ENV_NAMES)
def test_the_deploy_waits_until_the_webhook_admits_a_jobset(stacks, environments, env):
    _, ready = releases_by_name(stacks, env)[READY_CHART]
    objects = values(ready)["objects"]
    assert objects == jobset_plan(environments[env]).webhook_probe
    hooks = [o for o in objects if "helm.sh/hook" in o["metadata"].get("annotations", {})]
    assert hooks == objects and {o["kind"] for o in hooks} == {
        "ServiceAccount",
        "Role",
        "RoleBinding",
        "ConfigMap",
        "Job",
    }
    for hook in hooks:
        assert hook["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
        assert hook["metadata"]["namespace"] == platform.JOBSET_NAMESPACE  # never a team namespace: Kueue skips it
        kubernetes_validate.validate(hook, K8S_VERSION, strict=True)
    (role,) = [o for o in hooks if o["kind"] == "Role"]
    assert role["rules"] == [{"apiGroups": ["jobset.x-k8s.io"], "resources": ["jobsets"], "verbs": ["create"]}]
    (job,) = [o for o in hooks if o["kind"] == "Job"]
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["command"] + container["args"][:2] == ["/bin/kubectl", "create", "--dry-run=server"]
    # a chart upgrade changes the release, so the hook runs again
    assert job["metadata"]["labels"]["gkeml.io/jobset-version"] == platform.JOBSET_VERSION
    (config,) = [o for o in hooks if o["kind"] == "ConfigMap"]
    (probe,) = [yaml.safe_load(text) for text in config["data"].values()]
    assert jobset_crd.problems(probe) == []  # the dry run is one the webhook admits
    assert check(objects) == []  # the probe is a valid Autopilot pod


@pytest.mark.parametrize("env", ENV_NAMES)
def test_the_ready_chart_ships_with_the_stack(stacks, synth_dir, env):
    _, ready = releases_by_name(stacks, env)[READY_CHART]
    shipped = synth_dir / "stacks" / f"{env}-k8s" / ready["chart"]
    source = ROOT / "gkeml" / "charts" / READY_CHART
    assert ready["chart"].startswith("assets/") and shipped.is_dir()
    files = sorted(p.relative_to(source) for p in source.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(shipped) for p in shipped.rglob("*") if p.is_file())
    assert yaml.safe_load((shipped / "Chart.yaml").read_text())["name"] == READY_CHART


@pytest.mark.parametrize("env", ENV_NAMES)
def test_a_single_replica_or_no_budget_for_the_jobset_webhook_is_refused(synth_dir, env):
    """GKE044 knows the JobSet chart: its webhooks on JobSets and their pods fail closed."""
    objects = releases(synth_dir, env)
    assert rules_of(objects, "GKE044") == []
    for before, field in (({"replicas": 1}, "replicas"), ({"podDisruptionBudget": {}}, "podDisruptionBudget.enabled")):
        old = copy.deepcopy(objects)
        release(old, platform.JOBSET_CHART)["spec"]["values"]["controller"].update(before)
        (finding,) = check(old, ["GKE044"])
        assert finding.field == f"spec.values.controller.{field}"
        assert "JobSet and pod webhooks" in finding.message


def test_the_jobset_version_needs_a_gke_the_channels_serve(environments):
    """JobSet supports the last three Kubernetes minors; the version gate knows it (and JOBSET metrics')."""
    assert platform.GKE_FEATURE_MIN_VERSIONS["JobSet"].minimum == platform.JOBSET_MIN_GKE_VERSION
    for channel in ("REGULAR", "STABLE"):
        default = platform.CHANNEL_VERSIONS[channel].default
        assert platform.gke_version(default) >= platform.gke_version(platform.JOBSET_MIN_GKE_VERSION)


def test_a_channel_below_jobset_s_minimum_is_refused_naming_the_feature(tmp_path, monkeypatch):
    """With the channel table of a time when STABLE created 1.33 clusters, an environment with JobSet on is
    refused at load, naming JobSet, its minimum and the key that turns it on; without JobSet it loads."""
    from conftest import ENVIRONMENTS

    from gkeml.config import ConfigError
    from gkeml.environments import load_environment

    path = tmp_path / "mini.yaml"
    text = (ENVIRONMENTS / "mini.yaml").read_text() + "cluster: {release_channel: STABLE}\n"
    path.write_text(text + "jobset: {enabled: true}\n")
    assert load_environment(path).jobset.enabled
    older = platform.ChannelVersions("1.32", "1.33", "1.33.5-gke.2228001")
    monkeypatch.setitem(platform.CHANNEL_VERSIONS, "STABLE", older)
    monkeypatch.setitem(platform.CHANNEL_VERSIONS, "RAPID", older)
    with pytest.raises(ConfigError) as info:
        load_environment(path)
    assert str(info.value) == (
        f"{path}:17: jobset.enabled: JobSet needs GKE 1.34 or later; release channel STABLE creates clusters at "
        f"1.33.5-gke.2228001 (release notes, read {platform.CHANNEL_VERSIONS_CHECKED}): set cluster.release_channel "
        "to REGULAR or EXTENDED, or set jobset.enabled: false (multi-node jobs are then refused)"
    )
    path.write_text(text)  # no Kueue, no JobSet
    assert not load_environment(path).jobset.enabled
