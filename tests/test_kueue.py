"""Kueue per environment, read from the real synthesized stacks: the chart, the queue objects per team,
the webhook probe, the first apply of a fresh environment, and the jobs that go through the queues."""

from __future__ import annotations

import json

import kubernetes_validate
import kueue_crd
import pytest
import yaml
from conftest import ENV_NAMES, MINIMAL, ROOT, resources
from job_env import GOOD, LAB, lab_environment
from stack_objects import helm_releases as releases
from stack_objects import k8s, values

from gkeml import platform
from gkeml.config import ConfigError
from gkeml.config.kueue import FLAVOR_GPU_ON_DEMAND, FLAVOR_GPU_SPOT, namespace_quota, reserved_gpus
from gkeml.environments import parse_environment
from gkeml.jobs import launch_template, parse_job_spec, render
from gkeml.manifests.kueue import (
    COHORT,
    QUEUES_CHART,
    cluster_queue,
    kueue_plan,
    local_queue,
)
from gkeml.manifests.workloads import in_cluster_plan
from gkeml.rules import check
from gkeml.units import parse_quantity

pytestmark = pytest.mark.synth

K8S_VERSION = "1.33.0"
ALL_ENVS = (*ENV_NAMES, MINIMAL)
# Top-level keys of the chart's values.yaml (kubernetes-sigs/kueue v0.19.2 charts/kueue/values.yaml).
CHART_VALUES = {
    "nameOverride",
    "fullnameOverride",
    "enablePrometheus",
    "enableCertManager",
    "certManager",
    "enableVisibilityAPF",
    "enableMutatingAdmissionPolicy",
    "enableVisibilityAuthReaderRoleBinding",
    "enableKueueViz",
    "kubernetesClusterDomain",
    "controllerManager",
    "managerConfig",
    "metricsService",
    "webhookService",
    "mutatingWebhook",
    "kueueViz",
    "metrics",
}


def queue_objects(stacks, env) -> list[dict]:
    """The objects the synthesized queue release applies (its values), hooks included."""
    return values(releases(stacks, env)[QUEUES_CHART][1])["objects"]


def of_kind(objects, kind):
    return [o for o in objects if o["kind"] == kind]


def quantity(value) -> float:
    return parse_quantity(str(value))


# --- the chart and the queue objects, per environment ---------------------------------------


@pytest.mark.parametrize("env", ALL_ENVS)
def test_kueue_is_installed_exactly_where_it_is_enabled(stacks, environments, env):
    e = environments[env]
    found = releases(stacks, env)
    assert (platform.KUEUE_RELEASE in found and QUEUES_CHART in found) is e.kueue.enabled
    labelled = {
        o["manifest"]["metadata"]["name"]
        for o in resources(k8s(stacks, env), "kubernetes_manifest")
        if o["manifest"]["kind"] == "Namespace"
        and o["manifest"]["metadata"].get("labels", {}).get(platform.KUEUE_MANAGED_NAMESPACE_LABEL) == "true"
    }
    assert labelled == ({t.name for t in e.teams} if e.kueue.enabled else set())


@pytest.mark.parametrize("env", ENV_NAMES)
def test_the_official_chart_is_pinned_and_configured_for_gke(stacks, environments, env):
    _, release = releases(stacks, env)[platform.KUEUE_RELEASE]
    assert (release["repository"], release["chart"], release["version"]) == (
        "oci://registry.k8s.io/kueue/charts",
        "kueue",
        "0.19.2",
    )
    assert release["namespace"] == "kueue-system" and release["wait"] is True
    chart_values = values(release)
    assert set(chart_values) <= CHART_VALUES
    assert chart_values["enableVisibilityAPF"] is False  # GKE's flowcontrol guardrail denies it (kueue #5374)
    # nothing in kube-system (Autopilot manages it): the chart's visibility RoleBinding there is off (rule GKE045)
    assert chart_values["enableVisibilityAuthReaderRoleBinding"] is False
    # the Job webhook fails closed: two replicas, and a PodDisruptionBudget keeps one through drains (GKE044)
    manager = chart_values["controllerManager"]
    assert manager["replicas"] == 2 and manager["podDisruptionBudget"] == {"enabled": True, "minAvailable": 1}
    image = chart_values["controllerManager"]["manager"]["image"]
    assert (image["repository"], image["tag"]) == ("registry.k8s.io/kueue/kueue", "v0.19.2")
    res = chart_values["controllerManager"]["manager"]["resources"]
    assert res["requests"] == res["limits"]
    config = yaml.safe_load(chart_values["managerConfig"]["controllerManagerConfigYaml"])
    assert (config["apiVersion"], config["kind"]) == ("config.kueue.x-k8s.io/v1beta2", "Configuration")
    assert config["manageJobsWithoutQueueName"] is False
    # Jobs and JobSets (where the JobSet controller is installed); no pod/deployment webhooks on serving pods
    frameworks = ["batch/job"] + (["jobset.x-k8s.io/jobset"] if environments[env].jobset.enabled else [])
    assert config["integrations"] == {"frameworks": frameworks}
    assert config["managedJobsNamespaceSelector"] == {"matchLabels": {"managed-by-kueue": "true"}}
    ready = config["waitForPodsReady"]  # all-or-nothing: pods not all ready in time -> quota back, requeued
    assert ready["timeout"] == f"{environments[env].kueue.pods_ready_timeout_minutes}m"
    assert "fairSharing" in config and "ephemeral-storage" in config["resources"]["excludeResourcePrefixes"]


@pytest.mark.parametrize("env", ENV_NAMES)
def test_a_cluster_queue_and_local_queue_per_team_with_the_team_quota(stacks, environments, env):
    e = environments[env]
    objects = queue_objects(stacks, env)
    queues = {q["metadata"]["name"]: q for q in of_kind(objects, "ClusterQueue")}
    locals_ = {(q["metadata"]["namespace"], q["metadata"]["name"]): q for q in of_kind(objects, "LocalQueue")}
    assert set(queues) == {cluster_queue(t.name) for t in e.teams}
    assert set(locals_) == {(t.name, local_queue(t.name)) for t in e.teams}
    (cohort,) = of_kind(objects, "Cohort")
    flavors = {f["metadata"]["name"]: f for f in of_kind(objects, "ResourceFlavor")}
    for team in e.teams:
        assert locals_[(team.name, local_queue(team.name))]["spec"] == {"clusterQueue": cluster_queue(team.name)}
        spec = queues[cluster_queue(team.name)]["spec"]
        assert spec["cohortName"] == cohort["metadata"]["name"] == COHORT
        assert spec["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": team.name}}
        assert spec["preemption"]["reclaimWithinCohort"] == "Any"  # lent quota comes back
        nominal, borrowing = {}, {}
        reserved = reserved_gpus(e)  # the cohort's: none of the team's own, no limit on borrowing them
        for group in spec["resourceGroups"]:
            for flavor in group["flavors"]:
                assert flavor["name"] in flavors
                if flavor["name"] in reserved:
                    assert flavor["resources"] == [{"name": platform.GPU_RESOURCE, "nominalQuota": "0"}]
                    continue
                for r in flavor["resources"]:
                    nominal[r["name"]] = nominal.get(r["name"], 0) + quantity(r["nominalQuota"])
                    borrowing[r["name"]] = borrowing.get(r["name"], 0) + quantity(r["borrowingLimit"])
        assert nominal == {
            "cpu": quantity(team.quota.cpu),
            "memory": quantity(team.quota.memory),
            platform.GPU_RESOURCE: team.quota.gpus,
        }
        share = e.kueue.borrowing_limit_percent / 100
        assert borrowing["cpu"] == pytest.approx(nominal["cpu"] * share, abs=1e-3)
        assert nominal["memory"] * share - 2**20 < borrowing["memory"] <= nominal["memory"] * share
        assert team.quota.gpus * share - 2 < borrowing[platform.GPU_RESOURCE] <= team.quota.gpus * share
        # the namespace's ResourceQuota lets pods of a job admitted on borrowed quota in, and no more
        quota = next(
            o["manifest"]
            for o in resources(k8s(stacks, env), "kubernetes_manifest")
            if o["manifest"]["kind"] == "ResourceQuota" and o["manifest"]["metadata"]["namespace"] == team.name
        )
        hard = quota["spec"]["hard"]
        assert quantity(hard["requests.cpu"]) == pytest.approx(nominal["cpu"] + borrowing["cpu"])
        assert quantity(hard["requests.memory"]) == nominal["memory"] + borrowing["memory"]
        assert int(hard[platform.GPU_QUOTA_RESOURCE]) == (
            nominal[platform.GPU_RESOURCE] + borrowing[platform.GPU_RESOURCE] + sum(reserved.values())
        )


@pytest.mark.parametrize("env", ENV_NAMES)
def test_gpu_flavors_split_spot_and_on_demand_with_autopilot_labels(stacks, environments, env):
    e = environments[env]
    objects = queue_objects(stacks, env)
    flavors = {f["metadata"]["name"]: f["spec"] for f in of_kind(objects, "ResourceFlavor")}
    # Spot: the taint keeps pods that do not tolerate Spot off the Spot share; no node label, which Kueue would
    # add to the pods of a job on a ComputeClass next to the class (rule GKE042): Spot jobs select Spot themselves
    assert flavors[FLAVOR_GPU_SPOT] == {
        "nodeTaints": [{"key": platform.SPOT_LABEL, "value": "true", "effect": "NoSchedule"}]
    }
    assert flavors[FLAVOR_GPU_ON_DEMAND] == {}  # Autopilot on-demand nodes carry no label to select
    for queue in of_kind(objects, "ClusterQueue"):
        team = e.team(queue["metadata"]["name"])
        (gpus,) = [g for g in queue["spec"]["resourceGroups"] if g["coveredResources"] == [platform.GPU_RESOURCE]]
        reserved = list(reserved_gpus(e))  # tried first: paid for anyway (tests/test_reservations.py)
        split = {f["name"]: int(f["resources"][0]["nominalQuota"]) for f in gpus["flavors"][len(reserved) :]}
        # Spot tried first, after the reserved GPUs
        assert [f["name"] for f in gpus["flavors"]] == [*reserved, FLAVOR_GPU_SPOT, FLAVOR_GPU_ON_DEMAND]
        assert split[FLAVOR_GPU_SPOT] == team.quota.gpus * e.kueue.spot_gpu_percent // 100
        assert sum(split.values()) == team.quota.gpus


@pytest.mark.parametrize("env", ENV_NAMES)
def test_queue_objects_pass_the_schemas_and_webhooks_of_the_pinned_chart(stacks, env):
    objects = queue_objects(stacks, env)
    kueue_objects = [o for o in objects if o["apiVersion"].startswith(platform.KUEUE_GROUP + "/")]
    (probe,) = [o for o in objects if o["kind"] == "ConfigMap"]
    kueue_objects += [yaml.safe_load(text) for text in probe["data"].values()]  # what the probe dry-runs
    assert {o["kind"] for o in kueue_objects} == {
        "WorkloadPriorityClass",
        "ResourceFlavor",
        "Cohort",
        "ClusterQueue",
        "LocalQueue",
    }
    for obj in kueue_objects:
        assert obj["apiVersion"] == "kueue.x-k8s.io/v1beta2"
        assert kueue_crd.problems(obj) == [], obj["metadata"]


def test_the_schema_check_refuses_what_the_api_server_would():
    """The check can fail: v1beta1 spellings, unknown enum values, mismatched resources, borrowing without a cohort."""
    plan = kueue_plan(lab_environment())
    cq = next(o for o in plan.queues if o["kind"] == "ClusterQueue")
    spec = cq["spec"]
    assert kueue_crd.problems(cq) == []
    assert kueue_crd.problems({**cq, "spec": {**spec, "cohort": COHORT}})  # v1beta1's field name
    assert kueue_crd.problems({**cq, "spec": {**spec, "queueingStrategy": "FIFO"}})
    no_cohort = {k: v for k, v in spec.items() if k != "cohortName"}
    assert kueue_crd.problems({**cq, "spec": no_cohort}) == [
        "resourceGroups[0].flavors[0].resources[0].borrowingLimit: must be nil when cohort is empty",
        "resourceGroups[0].flavors[0].resources[1].borrowingLimit: must be nil when cohort is empty",
        "resourceGroups[1].flavors[0].resources[0].borrowingLimit: must be nil when cohort is empty",
        "resourceGroups[1].flavors[1].resources[0].borrowingLimit: must be nil when cohort is empty",
    ]
    swapped = json.loads(json.dumps(cq))
    swapped["spec"]["resourceGroups"][0]["coveredResources"].reverse()
    assert "must match the name in coveredResources" in " ".join(kueue_crd.problems(swapped))
    assert kueue_crd.problems({**cq, "apiVersion": "kueue.x-k8s.io/v1beta1"})


def test_the_schemas_are_for_the_pinned_chart():
    assert kueue_crd.CHART_VERSION == platform.KUEUE_VERSION, "re-read the CRDs of the new chart into kueue_crd.py"


# --- the webhook race: a hook that waits until Kueue admits ------------------------------------


@pytest.mark.parametrize("env", ENV_NAMES)
def test_queue_objects_wait_for_kueue_and_its_webhook(stacks, synth_dir, env):
    found = releases(stacks, env)
    kueue_name, _ = found[platform.KUEUE_RELEASE]
    _, queues = found[QUEUES_CHART]
    assert f"helm_release.{kueue_name}" in queues["depends_on"]
    assert queues["wait"] is True  # and on destroy, until Kueue removed its finalizers
    objects = queue_objects(stacks, env)
    hooks = [o for o in objects if "helm.sh/hook" in o["metadata"].get("annotations", {})]
    assert {o["kind"] for o in hooks} == {"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "ConfigMap", "Job"}
    for hook in hooks:
        annotations = hook["metadata"]["annotations"]
        assert annotations["helm.sh/hook"] == "pre-install,pre-upgrade"  # before the queue objects, every time
        assert "hook-succeeded" in annotations["helm.sh/hook-delete-policy"]
    (job,) = of_kind(hooks, "Job")
    weights = {o["kind"]: int(o["metadata"]["annotations"]["helm.sh/hook-weight"]) for o in hooks}
    assert all(w < weights["Job"] for kind, w in weights.items() if kind != "Job")
    assert job["metadata"]["namespace"] == platform.KUEUE_NAMESPACE  # Kueue's Job webhook never intercepts it
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["image"] == platform.KUBECTL_IMAGE
    assert container["command"] + container["args"][:2] == ["/bin/kubectl", "create", "--dry-run=server"]
    assert job["spec"]["backoffLimit"] >= 5  # the Job controller's backoff is the retry loop
    (role,) = of_kind(hooks, "ClusterRole")
    assert role["rules"] == [{"apiGroups": ["kueue.x-k8s.io"], "resources": ["resourceflavors"], "verbs": ["create"]}]
    for obj in hooks:
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


@pytest.mark.parametrize("env", ENV_NAMES)
def test_the_local_chart_ships_with_the_stack(stacks, synth_dir, env):
    _, queues = releases(stacks, env)[QUEUES_CHART]
    shipped = synth_dir / "stacks" / f"{env}-k8s" / queues["chart"]
    source = ROOT / "gkeml" / "charts" / QUEUES_CHART
    assert queues["chart"].startswith("assets/") and shipped.is_dir()  # relative to the stack's working directory
    files = sorted(p.relative_to(source) for p in source.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(shipped) for p in shipped.rglob("*") if p.is_file())
    assert all((shipped / f).read_bytes() == (source / f).read_bytes() for f in files)
    assert yaml.safe_load((shipped / "Chart.yaml").read_text())["name"] == QUEUES_CHART
    assert "toYaml" in (shipped / "templates" / "objects.yaml").read_text()


@pytest.mark.parametrize("env", ENV_NAMES)
def test_applied_queue_objects_are_exactly_the_builder_objects(stacks, environments, env):
    plan = in_cluster_plan(environments[env])
    assert queue_objects(stacks, env) == plan.kueue.chart_objects()
    assert check(plan.kueue.chart_objects()) == []  # the probe Job is a valid Autopilot pod


# --- a first deploy of a fresh environment plans -------------------------------------------


def chart_kinds() -> dict[tuple[str, str], str]:
    """(API group, kind) -> the chart that installs its CRD (platform.CHART_CRD_KINDS)."""
    return {(group, kind): chart for chart, (group, kinds) in platform.CHART_CRD_KINDS.items() for kind in kinds}


@pytest.mark.parametrize("env", ALL_ENVS)
def test_a_first_deploy_needs_no_chart_crd_at_plan_time(stacks, env):
    """``make deploy`` plans <env> and <env>-k8s before anything is applied: a kubernetes_manifest of a kind
    whose CRD a chart installs would fail that plan ("no matches for kind"). Such objects go through a
    helm_release that depends on the chart's release; a helm_release is planned without its kinds."""
    crd_charts = chart_kinds()
    for name in (env, f"{env}-k8s"):
        stack = stacks[name]
        for body in resources(stack, "kubernetes_manifest"):
            manifest = body["manifest"]
            group = manifest["apiVersion"].rpartition("/")[0]
            assert (group, manifest["kind"]) not in crd_charts, f"{name}: {manifest['kind']} needs its CRD at plan"
        by_chart = {
            body["chart"]: f"helm_release.{rid}"
            for rid, body in stack.get("resource", {}).get("helm_release", {}).items()
        }
        for rid, body in stack.get("resource", {}).get("helm_release", {}).items():
            for obj in values(body).get("objects", []):
                chart = crd_charts.get((obj["apiVersion"].rpartition("/")[0], obj["kind"]))
                if chart is not None:
                    assert by_chart[chart] in body["depends_on"], f"{rid} applies {obj['kind']} before {chart}"


def test_the_deploy_command_applies_the_in_cluster_stack_after_the_cloud_stack(synth_dir):
    """Everything Kueue-typed is in x-k8s, which depends on x (``make deploy ENV=x`` deploys x, waits for the
    cluster's kinds, then x-k8s: tests/test_wait_kinds.py checks that recipe)."""
    manifest = json.loads((synth_dir / "manifest.json").read_text())
    assert all(manifest["stacks"][f"{e}-k8s"]["dependencies"] == [e] for e in ENV_NAMES)


# --- configuration -------------------------------------------------------------------------


def test_kueue_is_on_by_default_where_teams_have_gpus_and_can_be_turned_off():
    assert lab_environment().kueue.enabled is True
    no_gpus = lab_environment(LAB.replace("gpus: 64", "gpus: 0"))
    assert no_gpus.kueue.enabled is False and kueue_plan(no_gpus) is None
    off = lab_environment(LAB + "kueue: {enabled: false}\n")
    assert kueue_plan(off) is None
    assert all(
        platform.KUEUE_MANAGED_NAMESPACE_LABEL not in o["metadata"].get("labels", {})
        for o in in_cluster_plan(off).objects()
    )


def test_a_team_named_like_the_kueue_namespace_is_refused():
    text = LAB.replace("  - name: interns\n", "  - name: kueue-system\n").replace(
        "namespace: interns", "namespace: kueue-system"
    )
    with pytest.raises(ConfigError) as err:
        parse_environment(text, "lab.yaml")
    assert (
        str(err.value)
        == "lab.yaml:13: teams[1].name: 'kueue-system' is the namespace Kueue runs in; name the team differently"
    )


@pytest.mark.parametrize(
    "cpu, memory, gpus, percent",
    [("64", "256Gi", 8, 100), ("1500m", "3Gi", 3, 50), ("7", "1000Mi", 1, 33), ("2", "1Gi", 5, 0)],
)
def test_the_namespace_quota_is_the_team_quota_plus_exactly_what_it_may_borrow(cpu, memory, gpus, percent):
    env = parse_environment(
        LAB.replace('{cpu: "512", memory: 4Ti, gpus: 64}', f'{{cpu: "{cpu}", memory: {memory}, gpus: {gpus}}}')
        + f"kueue: {{borrowing_limit_percent: {percent}}}\n",
        "x.yaml",
    )
    team = env.team("research")
    (cq,) = [o for o in kueue_plan(env).queues if o["kind"] == "ClusterQueue" and o["metadata"]["name"] == "research"]
    limits = {}
    for group in cq["spec"]["resourceGroups"]:
        for flavor in group["flavors"]:
            for r in flavor["resources"]:
                limits[r["name"]] = limits.get(r["name"], 0) + quantity(r["borrowingLimit"])
    q_cpu, q_memory, q_gpus = namespace_quota(env, team)
    assert quantity(q_cpu) == pytest.approx(quantity(cpu) + limits["cpu"])
    assert quantity(q_memory) == quantity(memory) + limits["memory"]
    assert q_gpus == gpus + limits[platform.GPU_RESOURCE]
    assert limits["cpu"] <= quantity(cpu) * percent / 100 and q_gpus <= gpus * (1 + percent / 100)


# --- jobs go through the team's queue ------------------------------------------------------


def job_of(objects):
    (job,) = [o for o in objects if o["kind"] == "Job"]
    return job


def test_jobs_in_an_environment_with_kueue_are_created_suspended_in_the_team_queue():
    lab = lab_environment()
    for spec_text in (GOOD, GOOD + "queue: research\n"):
        job = job_of(render(parse_job_spec(spec_text, "j.yaml", lab), lab))
        assert job["metadata"]["labels"][platform.KUEUE_QUEUE_LABEL] == local_queue("research")
        assert job["spec"]["suspend"] is True
        kubernetes_validate.validate(job, K8S_VERSION, strict=True)


def test_a_queue_that_is_not_the_team_local_queue_is_refused_at_its_line():
    lab = lab_environment()
    with pytest.raises(ConfigError) as err:
        parse_job_spec(GOOD + "queue: interns\n", "j.yaml", lab)
    assert str(err.value) == (
        "j.yaml:6: queue: 'interns' is not team research's LocalQueue in lab; allowed: research "
        "(or leave queue out: the team's LocalQueue is used)"
    )
    off = lab_environment(LAB + "kueue: {enabled: false}\n")
    with pytest.raises(
        ConfigError, match=r"^j.yaml:6: queue: lab has no Kueue \(kueue.enabled is false in envs/lab.yaml\)"
    ):
        parse_job_spec(GOOD + "queue: research\n", "j.yaml", off, "envs/lab.yaml")
    job = job_of(render(parse_job_spec(GOOD, "j.yaml", off), off))
    assert "suspend" not in job["spec"] and platform.KUEUE_QUEUE_LABEL not in job["metadata"]["labels"]


def test_without_an_environment_the_queue_written_is_used():
    job = job_of(render(parse_job_spec(GOOD + "queue: team-a\n", "j.yaml")))
    assert job["metadata"]["labels"][platform.KUEUE_QUEUE_LABEL] == "team-a" and job["spec"]["suspend"] is True
    plain = job_of(render(parse_job_spec(GOOD, "j.yaml")))
    assert "suspend" not in plain["spec"]


def test_wandb_launch_jobs_go_through_the_same_team_queue():
    lab = lab_environment()
    spec = parse_job_spec(GOOD + "identity: trainer\ncheckpoints: {bucket: checkpoints}\nspot: true\n", "j.yaml", lab)
    template = launch_template(spec, lab)
    assert template["metadata"]["labels"][platform.KUEUE_QUEUE_LABEL] == local_queue(spec.team)
    assert template["spec"]["suspend"] is True
    # a Spot pod tolerates Spot, so Kueue may admit it on the gpu-spot flavor
    assert platform.SPOT_TOLERATION in template["spec"]["template"]["spec"]["tolerations"]
    assert check([template]) == []
