"""Quota fit (GKE025) and queue fit (GKE026): what a workload holds at its largest, as the API server's
ResourceQuota admission and Kueue count it, and the same refusal in `gkeml job render --env`."""

from __future__ import annotations

import copy

import pytest
import yaml
from conftest import ENV_NAMES
from job_env import EXAMPLES, LAB, gkeml, lab_environment, write_environments

from gkeml.config import ConfigError
from gkeml.jobs import render
from gkeml.manifests.workloads import InferenceManifests, in_cluster_objects
from gkeml.rules import check
from gkeml.rules.engine import Group, pod_templates
from gkeml.rules.quota import pod_demand

GIB = 2**30


def quota(cpu="16", memory="1Ti", gpus=None, ns="research"):
    hard = {"requests.cpu": cpu, "limits.cpu": cpu, "requests.memory": memory, "limits.memory": memory}
    if gpus is not None:
        hard["requests.nvidia.com/gpu"] = str(gpus)
    return {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {"name": "q", "namespace": ns},
        "spec": {"hard": hard},
    }


def job(parallelism=1, cpu="4", memory="16Gi", annotations=None, init=(), gpus=0, ns="research", labels=None):
    res = {"cpu": cpu, "memory": memory}
    if gpus:
        res["nvidia.com/gpu"] = str(gpus)
    pod = {
        "restartPolicy": "Never",
        "containers": [{"name": "t", "image": "x:1", "resources": {"requests": dict(res), "limits": dict(res)}}],
    }
    if init:
        pod["initContainers"] = list(init)
    meta = {"annotations": annotations} if annotations else {}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "j", "namespace": ns, **({"labels": labels} if labels else {})},
        "spec": {"parallelism": parallelism, "template": {"metadata": meta, "spec": pod}},
    }


def demand(obj, *others):
    group = Group([obj, *others])
    (pod,) = pod_templates(obj)
    return pod_demand(pod, group, "research")


# --- what one pod counts -----------------------------------------------------------------------


def test_the_gcs_fuse_sidecar_counts_as_the_webhook_injects_it():
    """A limit annotation without a request annotation makes the request equal to it; no annotation at all
    leaves the webhook's default request (gcs-fuse-csi-driver pkg/webhook/config.go populateResource)."""
    sized = demand(
        job(
            annotations={"gke-gcsfuse/volumes": "true", "gke-gcsfuse/cpu-limit": "2", "gke-gcsfuse/memory-limit": "8Gi"}
        )
    )
    assert sized["requests.cpu"] == 6 and sized["limits.memory"] == 24 * GIB
    default = demand(job(annotations={"gke-gcsfuse/volumes": "true"}))
    assert default["requests.cpu"] == 4.25 and default["requests.memory"] == 16 * GIB + 256 * 2**20
    assert demand(job(annotations={"gke-gcsfuse/cpu-limit": "2"}))["requests.cpu"] == 4  # not injected


def test_init_containers_count_as_the_scheduler_counts_them():
    sidecar = {
        "name": "proxy",
        "image": "p:1",
        "restartPolicy": "Always",
        "resources": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
    }
    big_init = {
        "name": "fetch",
        "image": "f:1",
        "resources": {"requests": {"cpu": "8", "memory": "1Gi"}, "limits": {"cpu": "8", "memory": "1Gi"}},
    }
    assert demand(job(init=[sidecar]))["requests.cpu"] == 5  # native sidecars run beside the app
    assert demand(job(init=[big_init]))["requests.cpu"] == 8  # an ordinary init container runs alone
    assert demand(job(init=[sidecar, big_init]))["requests.cpu"] == 9  # ... next to the sidecars started before it


def test_a_container_without_requests_gets_the_limit_range_defaults():
    bare = job()
    del bare["spec"]["template"]["spec"]["containers"][0]["resources"]
    limits = {
        "apiVersion": "v1",
        "kind": "LimitRange",
        "metadata": {"name": "d", "namespace": "research"},
        "spec": {
            "limits": [
                {
                    "type": "Container",
                    "default": {"cpu": "500m", "memory": "2Gi"},
                    "defaultRequest": {"cpu": "250m", "memory": "1Gi"},
                }
            ]
        },
    }
    counted = demand(bare, limits)
    assert (counted["requests.cpu"], counted["limits.cpu"], counted["requests.memory"]) == (0.25, 0.5, GIB)


# --- the rule --------------------------------------------------------------------------------------


def test_every_parallel_pod_of_a_job_counts_and_the_message_names_need_and_quota():
    (finding,) = check([quota(cpu="16"), job(parallelism=5, cpu="4")], rules=["GKE025"])
    assert finding.object == "Job/research/j" and finding.rule == "GKE025"
    assert "needs 20 vCPU of requests.cpu (5 parallel pod(s) x 4 vCPU)" in finding.message
    assert "allows 16 vCPU" in finding.message and "at most 4 pod(s) of this size fit" in finding.fix
    assert not check([quota(cpu="20"), job(parallelism=5, cpu="4")], rules=["GKE025"])
    assert not check([quota(cpu="16", ns="other"), job(parallelism=5, cpu="4")], rules=["GKE025"])  # other namespace


def _service(env, name):
    svc = next(s for s in env.inference if s.name == name)
    built = InferenceManifests(env, svc)
    return svc, built.deployment(), built.autoscaler()


def test_a_gpu_deployment_at_max_replicas_rolls_without_surge_and_fits_its_quota():
    """Review F2: at max replicas a surge pod needs one GPU more than max_replicas; gkeml's GPU
    services replace pods instead (maxSurge 0), CPU services surge."""
    env = lab_environment(
        LAB.replace(
            "launch:",
            "inference:\n  - {name: chat, team: research, image: "
            "registry.example/serving/chat:1, gpu: nvidia-l4, "
            "cpu: '4', memory: 16Gi, autoscaling: {min_replicas: 1, max_replicas: 64}}\n"
            "launch:",
        )
    )
    svc, deployment, hpa = _service(env, "chat")
    assert svc.rollout == "replace"
    assert deployment["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 0, "maxUnavailable": 1}
    assert not check([quota(cpu="512", memory="4Ti", gpus=64), deployment, hpa], rules=["GKE025"])
    surging = copy.deepcopy(deployment)
    surging["spec"]["strategy"]["rollingUpdate"] = {"maxSurge": 1, "maxUnavailable": 0}
    (finding,) = check([quota(cpu="512", memory="4Ti", gpus=64), surging, hpa], rules=["GKE025"])
    assert "65 of requests.nvidia.com/gpu (64 replica(s) + 1 rollout surge x 1)" in finding.message
    assert "allows 64" in finding.message and "maxSurge: 0" in finding.fix


def test_long_running_workloads_of_the_namespace_add_up():
    web = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "research"},
        "spec": {"replicas": 2, "template": {"spec": job(cpu="3")["spec"]["template"]["spec"]}},
    }
    (finding,) = check([quota(cpu="10"), web, job(cpu="5")], rules=["GKE025"])
    assert finding.object == "Job/research/j" and "+ 6 vCPU held by its other workloads" in finding.message


@pytest.mark.parametrize("env_name", ENV_NAMES)
def test_every_in_cluster_workload_of_the_fixture_environments_fits(environments, env_name):
    objects = in_cluster_objects(environments[env_name])
    assert any(o["kind"] == "ResourceQuota" for o in objects)
    assert not check(objects, rules=["GKE025", "GKE026"])


# --- Kueue -------------------------------------------------------------------------------------------


def kueue_objects(spot_nominal=4, on_demand=4, borrowing=4, lender_on_demand=2):
    taint = {"key": "cloud.google.com/gke-spot", "value": "true", "effect": "NoSchedule"}
    flavors = [
        {
            "apiVersion": "kueue.x-k8s.io/v1beta2",
            "kind": "ResourceFlavor",
            "metadata": {"name": "gpu-spot"},
            "spec": {"nodeLabels": {"cloud.google.com/gke-spot": "true"}, "nodeTaints": [taint]},
        },
        {
            "apiVersion": "kueue.x-k8s.io/v1beta2",
            "kind": "ResourceFlavor",
            "metadata": {"name": "gpu-on-demand"},
            "spec": {},
        },
    ]

    def cq(name, groups):
        return {
            "apiVersion": "kueue.x-k8s.io/v1beta2",
            "kind": "ClusterQueue",
            "metadata": {"name": name},
            "spec": {
                "cohortName": "teams",
                "resourceGroups": [{"coveredResources": ["nvidia.com/gpu"], "flavors": groups}],
            },
        }

    gpu = "nvidia.com/gpu"
    research = cq(
        "research",
        [
            {
                "name": "gpu-spot",
                "resources": [{"name": gpu, "nominalQuota": str(spot_nominal), "borrowingLimit": str(borrowing)}],
            },
            {
                "name": "gpu-on-demand",
                "resources": [{"name": gpu, "nominalQuota": str(on_demand), "borrowingLimit": str(borrowing)}],
            },
        ],
    )
    serving = cq(
        "serving", [{"name": "gpu-on-demand", "resources": [{"name": gpu, "nominalQuota": str(lender_on_demand)}]}]
    )
    local = {
        "apiVersion": "kueue.x-k8s.io/v1beta2",
        "kind": "LocalQueue",
        "metadata": {"name": "research", "namespace": "research"},
        "spec": {"clusterQueue": "research"},
    }
    return [*flavors, research, serving, local]


QUEUED = {"kueue.x-k8s.io/queue-name": "research"}


def test_borrowing_is_capped_by_what_the_cohort_can_lend():
    (finding,) = check([*kueue_objects(), job(gpus=8, labels=QUEUED)], rules=["GKE026"])
    assert "need 8 of nvidia.com/gpu together" in finding.message and "at most 6 on gpu-on-demand" in finding.message
    assert not check([*kueue_objects(lender_on_demand=4), job(gpus=8, labels=QUEUED)], rules=["GKE026"])
    assert check([*kueue_objects(lender_on_demand=4, borrowing=3), job(gpus=8, labels=QUEUED)], rules=["GKE026"])
    assert not check([*kueue_objects(), job(gpus=8)], rules=["GKE026"])  # not queued: Kueue does not gate it


def test_a_spot_job_may_use_the_spot_flavor_an_on_demand_job_may_not():
    spot = job(gpus=8, labels=QUEUED)
    spot["spec"]["template"]["spec"]["tolerations"] = [
        {"key": "cloud.google.com/gke-spot", "operator": "Equal", "value": "true", "effect": "NoSchedule"}
    ]
    objects = kueue_objects(spot_nominal=8, on_demand=1, lender_on_demand=0)
    assert not check([*objects, spot], rules=["GKE026"])
    (finding,) = check([*objects, job(gpus=8, labels=QUEUED)], rules=["GKE026"])
    assert "at most 1 on gpu-on-demand" in finding.message and "gpu-spot" not in finding.message


def test_kueue_counts_the_template_without_the_injected_sidecar():
    objects = kueue_objects(on_demand=8)
    for o in objects:
        if o["kind"] == "ClusterQueue" and o["metadata"]["name"] == "research":
            o["spec"]["resourceGroups"].append(
                {
                    "coveredResources": ["cpu"],
                    "flavors": [{"name": "default", "resources": [{"name": "cpu", "nominalQuota": "4"}]}],
                }
            )
    with_sidecar = job(
        cpu="4", gpus=8, labels=QUEUED, annotations={"gke-gcsfuse/volumes": "true", "gke-gcsfuse/cpu-limit": "2"}
    )
    assert not check([*objects, with_sidecar], rules=["GKE026"])


# --- jobs: the same gate at render time --------------------------------------------------------


SMALL_QUOTA = LAB.replace('quota: {cpu: "512", memory: 4Ti, gpus: 64}', 'quota: {cpu: "64", memory: 256Gi, gpus: 8}')


def test_job_render_with_env_refuses_a_job_beyond_the_team_quota_with_file_line_and_field(tmp_path):
    env_dir = write_environments(
        tmp_path / "environments", lab=SMALL_QUOTA, queued=SMALL_QUOTA.replace("name: lab\n", "name: queued\n")
    )
    without_kueue = SMALL_QUOTA.replace("launch:", "kueue: {enabled: false}\njobset: {enabled: true}\nlaunch:")
    write_environments(env_dir, lab=without_kueue)
    spec = tmp_path / "big.yaml"
    text = (EXAMPLES / "multi-node-ddp.yaml").read_text().replace("memory: 170Gi", "memory: 200Gi")
    spec.write_text(text.replace("queue: research\n", ""))
    done = gkeml("job", "render", str(spec), "--env", "lab", "--environments", str(env_dir))
    assert done.returncode == 2 and done.stdout == ""
    line = next(i for i, text in enumerate(spec.read_text().splitlines(), 1) if text.startswith("memory:"))
    lines = done.stderr.splitlines()
    quota_line = next(x for x in lines if "ResourceQuota" in x)
    assert quota_line.startswith(
        f"{spec}:{line}: memory: team research needs 416 GiB of requests.memory (2 parallel pod(s) x 208 GiB)"
    ), done.stderr
    assert "allows 256 GiB" in quota_line and "raise requests.memory in teams.research.quota in lab.yaml" in quota_line
    assert not any("LocalQueue" in x for x in lines)
    spec.write_text(text)
    done = gkeml("job", "render", str(spec), "--env", "queued", "--environments", str(env_dir))
    queue_line = next(x for x in done.stderr.splitlines() if "LocalQueue" in x)  # the template: 2 x 200 GiB
    assert (
        queue_line.startswith(f"{spec}:{line}: memory: team research's LocalQueue research") and "400 GiB" in queue_line
    )
    spec.write_text(text.replace("memory: 200Gi", "memory: 100Gi"))
    assert gkeml("job", "render", str(spec), "--env", "queued", "--environments", str(env_dir)).returncode == 0


def test_every_example_job_renders_through_the_fit_gate_in_every_fixture_environment(environments):
    """The fixture environments are sized to run every example (test_shipped checks the shipped ones)."""
    from gkeml.jobs import load_job_spec

    rendered = 0
    for path in sorted(EXAMPLES.glob("*.yaml")):
        team = yaml.safe_load(path.read_text())["team"]
        for env in environments.values():
            if team in {t.name for t in env.teams}:
                rendered += bool(render(load_job_spec(path, env), env))
    assert rendered >= len(list(EXAMPLES.glob("*.yaml")))


def test_a_job_that_cannot_fit_is_refused_by_render_not_only_by_check():
    from gkeml.jobs import load_job_spec

    env = lab_environment(
        LAB.replace('quota: {cpu: "512", memory: 4Ti, gpus: 64}', 'quota: {cpu: "16", memory: 512Gi, gpus: 8}')
    )
    spec = load_job_spec(EXAMPLES / "single-node-8gpu.yaml", env)  # the spec itself is fine
    with pytest.raises(ConfigError) as info:
        render(spec, env)
    assert "single-node-8gpu.yaml:" in str(info.value) and ": cpu: team research needs" in str(info.value)
