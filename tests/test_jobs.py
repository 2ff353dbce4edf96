"""Job specs -> Kubernetes objects: golden files, Autopilot facts, strict schema, bad specs, CLI.

The golden files are rendered in the job tests' own small environment (``LAB``, tests/job_env.py), not in
the shipped ``environments/``.
"""

from __future__ import annotations

import json
import os
import string
from pathlib import Path

import jobset_crd
import kubernetes_validate
import pytest
import yaml
from conftest import ENV_NAMES, ROOT
from job_env import EXAMPLES, GOOD, LAB, gkeml, lab_environment, run_job, write_environments

from gkeml import platform
from gkeml.cli import main
from gkeml.config import ConfigError
from gkeml.jobs import launch_template, load_job_spec, parse_job_spec, render, unique_name
from gkeml.manifests import to_yaml
from gkeml.naming import Names
from gkeml.units import gib, parse_quantity

GOLDEN = Path(__file__).parent / "golden" / "jobs"
CANONICAL = ("single-gpu", "single-node-8gpu", "multi-node-ddp", "spot-checkpointing", "cpu-preprocess")
K8S_VERSION = "1.33.0"


@pytest.fixture(scope="module")
def lab():
    return lab_environment()


def example(name: str, env=None):
    return load_job_spec(EXAMPLES / f"{name}.yaml", env)


def kind(objects: list[dict], k: str) -> list[dict]:
    return [o for o in objects if o["kind"] == k]


def pod_of(objects: list[dict]) -> dict:
    """The pod spec of a rendered run (Job or JobSet)."""
    return run_job(objects)["spec"]["template"]["spec"]


def check_autopilot_facts(spec, objects: list[dict]) -> None:
    """Every Autopilot fact (gkeml.platform) a job manifest must satisfy."""
    job = run_job(objects)
    pod = job["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    selector = pod.get("nodeSelector", {})
    res = container["resources"]
    # requests == limits for CPU and memory, always explicit
    for r in ("cpu", "memory"):
        assert res["requests"][r] == res["limits"][r]
    cpu, memory = parse_quantity(res["limits"]["cpu"]), gib(res["limits"]["memory"])
    annotations = job["spec"]["template"]["metadata"].get("annotations", {})
    if annotations.get(platform.GCSFUSE_ANNOTATION) == "true":
        cpu += parse_quantity(annotations[platform.GCSFUSE_SIDECAR_ANNOTATIONS["cpu"]])
        memory += gib(annotations[platform.GCSFUSE_SIDECAR_ANNOTATIONS["memory"]])
    if spec.gpu:
        # BOTH the accelerator selector and an allowed nvidia.com/gpu limit
        gpu = platform.GPUS[selector[platform.ACCELERATOR_LABEL]]
        count = int(res["limits"][platform.GPU_RESOURCE])
        assert count in gpu.counts
        assert selector[platform.ACCELERATOR_COUNT_LABEL] == str(count)
        r = gpu.range_for(count)
        assert 0 < cpu <= r.max_cpu and 0 < memory <= r.max_memory_gib  # GPU Pods: a maximum, no minimum
    else:
        assert platform.ACCELERATOR_LABEL not in selector and platform.GPU_RESOURCE not in res["limits"]
        assert cpu <= platform.GENERAL_PURPOSE.max_cpu and memory <= platform.GENERAL_PURPOSE.max_memory_gib
        ephemeral = gib(res["limits"].get("ephemeral-storage", f"{platform.DEFAULT_EPHEMERAL_GIB}Gi"))
        if annotations.get(platform.GCSFUSE_ANNOTATION) == "true":
            ephemeral += gib(annotations[platform.GCSFUSE_SIDECAR_ANNOTATIONS["ephemeral-storage"]])
        assert ephemeral <= platform.EPHEMERAL_MAX_GIB
    if platform.PLACEMENT_GROUP_LABEL in selector:
        assert platform.GPUS[selector[platform.ACCELERATOR_LABEL]].compact_placement
    if spec.spot:
        assert selector[platform.SPOT_LABEL] == "true"
        assert "annotations" not in job["metadata"] or platform.SPOT_LABEL not in job["metadata"]["annotations"]
    assert pod["terminationGracePeriodSeconds"] <= platform.SPOT_TERMINATION_GRACE_SECONDS
    # retries, TTL, deadline; preemption does not burn the retry budget
    body = job["spec"]
    assert pod["restartPolicy"] == "Never"
    assert {"backoffLimit", "activeDeadlineSeconds"} <= set(body)
    if spec.nodes == 1:
        assert objects[0]["kind"] == "Job" and "ttlSecondsAfterFinished" in body
        assert {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]} in body[
            "podFailurePolicy"
        ]["rules"]
    # secure by default
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["automountServiceAccountToken"] is False
    sc = container["securityContext"]
    assert sc["capabilities"]["drop"] == ["ALL"] and sc["allowPrivilegeEscalation"] is False
    assert not {"hostNetwork", "hostPID", "hostIPC"} & set(pod)
    for var in container.get("env", []):
        if var["name"] == "WANDB_API_KEY":
            assert "value" not in var and var["valueFrom"]["secretKeyRef"]["name"]
    # GCS FUSE: annotation, CSI driver, datasets read-only
    csi = {v["name"]: v["csi"] for v in pod["volumes"] if "csi" in v}
    assert bool(csi) == (annotations.get(platform.GCSFUSE_ANNOTATION) == "true")
    for volume in csi.values():
        assert volume["driver"] == platform.GCSFUSE_DRIVER and volume["volumeAttributes"]["bucketName"]
    if "dataset" in csi:
        assert csi["dataset"]["readOnly"] is True
        assert next(m for m in container["volumeMounts"] if m["name"] == "dataset")["readOnly"] is True
    # multi-node: one JobSet, one replicatedJob of one Indexed Job, DNS host names under the JobSet's own
    # headless Service, rank from the completion index; the group restarts, preemptions uncounted
    if spec.nodes > 1:
        (js,) = kind(objects, "JobSet")
        assert jobset_crd.problems(js) == []
        assert js["spec"]["network"] == {"enableDNSHostnames": True, "publishNotReadyAddresses": True}
        assert (
            "ttlSecondsAfterFinished" in js["spec"] and js["spec"]["failurePolicy"]["maxRestarts"] == spec.backoff_limit
        )
        (rjob,) = js["spec"]["replicatedJobs"]
        assert rjob["replicas"] == 1 and body["completionMode"] == "Indexed" and body["backoffLimit"] == 0
        assert body["completions"] == body["parallelism"] == spec.nodes
        assert "subdomain" not in pod  # the JobSet controller sets it to its Service
        env = {v["name"]: v.get("value") for v in container["env"]}
        assert env["MASTER_ADDR"] == f"{js['metadata']['name']}-{rjob['name']}-0-0.{js['metadata']['name']}"
        assert f"--node_rank=$({platform.JOB_COMPLETION_INDEX_ENV})" in container["command"]
        (preempted,) = body["podFailurePolicy"]["rules"]
        assert preempted == {"action": "FailJob", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]}
        rules = {tuple(r["onJobFailureReasons"]): r["action"] for r in js["spec"]["failurePolicy"]["rules"]}
        assert rules == {
            ("PodFailurePolicy",): "RestartJobSetAndIgnoreMaxRestarts",
            ("DeadlineExceeded",): "FailJobSet",
        }
    for obj in objects:
        if obj["kind"] != "JobSet":  # a custom resource: jobset_crd (its Job template with the Kubernetes schema)
            kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


# -- golden files -----------------------------------------------------------------


@pytest.mark.parametrize("name", CANONICAL)
def test_canonical_spec_matches_golden_and_platform_facts(name, lab):
    spec = example(name, lab)
    objects = render(spec, lab)
    check_autopilot_facts(spec, objects)
    golden = GOLDEN / f"{name}.yaml"
    if os.environ.get("GKEML_UPDATE_GOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(to_yaml(objects))
    assert to_yaml(objects) == golden.read_text(), f"re-run with GKEML_UPDATE_GOLDEN=1 to accept changes in {golden}"


@pytest.mark.parametrize("name", CANONICAL)
def test_canonical_spec_fits_each_fixture_environment(name, environments):
    for env in (environments[n] for n in ENV_NAMES):
        spec = example(name, env)
        objects = render(spec, env)
        check_autopilot_facts(spec, objects)
        job = run_job(objects)
        pod = job["spec"]["template"]["spec"]
        assert job["metadata"]["namespace"] == spec.team
        assert pod["serviceAccountName"] == env.identity(spec.identity).ksa
        buckets = {v["name"]: v["csi"]["volumeAttributes"]["bucketName"] for v in pod["volumes"] if "csi" in v}
        assert buckets == {role: Names.of(env).bucket(m.bucket) for role, m in spec.mounts().items()}


def test_shapes_of_the_canonical_jobs(lab):
    """The five specs cover what the issue asks for (1 GPU, 8 GPU, 2x4 DDP, Spot, CPU-only)."""
    specs = {n: example(n, lab) for n in CANONICAL}
    assert (specs["single-gpu"].gpu_count, specs["single-gpu"].nodes) == (1, 1)
    eight = kind(render(specs["single-node-8gpu"], lab), "Job")[0]["spec"]["template"]["spec"]["containers"][0]
    assert eight["command"][:4] == ["torchrun", "--nnodes=1", "--nproc_per_node=8", "--standalone"]
    assert (specs["multi-node-ddp"].nodes, specs["multi-node-ddp"].gpu_count) == (2, 4)
    assert specs["spot-checkpointing"].spot and specs["spot-checkpointing"].checkpoints
    assert specs["cpu-preprocess"].gpu is None and not specs["cpu-preprocess"].uses_trainer


def test_queue_label_and_wandb_secret_of_the_environment(lab):
    """The Kueue queue label comes from queue:; the W&B key from the Secret the Launch release puts in the team."""
    (jobset,) = kind(render(example("multi-node-ddp", lab), lab), "JobSet")
    assert jobset["metadata"]["labels"][platform.KUEUE_QUEUE_LABEL] == "research"
    spec = example("single-gpu", lab)
    env = {v["name"]: v for v in kind(render(spec, lab), "Job")[0]["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["WANDB_API_KEY"] == {
        "name": "WANDB_API_KEY",
        "valueFrom": {
            "secretKeyRef": {
                "name": platform.wandb_api_key_secret(lab.launch.release),
                "key": platform.WANDB_API_KEY_SECRET_KEY,
            }
        },
    }
    assert env["WANDB_PROJECT"]["value"] == "finetune"


def test_external_buckets_are_used_exactly_as_written_with_or_without_an_environment(lab):
    text = GOOD + (
        "identity: trainer\ndataset: {bucket: gs://public-corpus, prefix: v3}\n"
        "checkpoints: {bucket: checkpoints}\nwandb: {project: p, secret: my-wandb, key: token}\n"
    )
    with_env = kind(render(parse_job_spec(text, "ext.yaml", lab), lab), "Job")[0]["spec"]["template"]["spec"]
    buckets = {v["name"]: v["csi"]["volumeAttributes"]["bucketName"] for v in with_env["volumes"] if "csi" in v}
    assert buckets == {"dataset": "public-corpus", "checkpoints": Names.of(lab).bucket("checkpoints")}
    wandb = next(v for v in with_env["containers"][0]["env"] if v["name"] == "WANDB_API_KEY")
    assert wandb["valueFrom"]["secretKeyRef"] == {"name": "my-wandb", "key": "token"}
    standalone = text.replace("checkpoints: {bucket: checkpoints}", "checkpoints: {bucket: gs://my-ckpt}")
    pod = kind(render(parse_job_spec(standalone, "ext.yaml")), "Job")[0]["spec"]["template"]["spec"]
    assert {v["csi"]["volumeAttributes"]["bucketName"] for v in pod["volumes"] if "csi" in v} == {
        "public-corpus",
        "my-ckpt",
    }


def test_every_submission_is_a_new_run_with_its_own_names(lab):
    """render(..., name) renames the JobSet, the rank-0 address and the placement group."""
    spec = example("multi-node-ddp", lab)
    run = unique_name(spec.name)
    assert run != unique_name(spec.name) and run.startswith(spec.name + "-") and len(run) == len(spec.name) + 6
    (jobset,) = render(spec, lab, run)
    pod = pod_of([jobset])
    assert jobset["metadata"]["name"] == run
    assert {"name": "MASTER_ADDR", "value": f"{run}-node-0-0.{run}"} in pod["containers"][0]["env"]
    assert pod["nodeSelector"][platform.PLACEMENT_GROUP_LABEL] == run
    assert jobset["metadata"]["labels"]["app.kubernetes.io/name"] == spec.name
    assert jobset["metadata"]["labels"]["app.kubernetes.io/instance"] == run
    labels = jobset["spec"]["replicatedJobs"][0]["template"]["spec"]["template"]["metadata"]["labels"]
    assert labels["app.kubernetes.io/instance"] == run and labels["app.kubernetes.io/managed-by"] == "gkeml"
    check_autopilot_facts(spec, [jobset])


def test_flex_start_adds_its_node_selector_next_to_the_accelerator():
    unqueued = lab_environment(LAB + "kueue: {enabled: false}\n")  # with Kueue, flex-start is refused (GKE041)
    text = GOOD + "flex_start: true\nactive_deadline_seconds: 604800\n"
    (job,) = render(parse_job_spec(text, "flex.yaml", unqueued), unqueued)
    selector = job["spec"]["template"]["spec"]["nodeSelector"]
    assert selector[platform.FLEX_START_LABEL] == "true" and selector[platform.ACCELERATOR_LABEL] == "nvidia-l4"
    assert platform.SPOT_LABEL not in selector
    kubernetes_validate.validate(job, K8S_VERSION, strict=True)


# -- bad specs ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, line, expected",
    [
        (
            GOOD.replace("nvidia-l4", "nvidia-tesla-v100"),
            4,
            "gpu: 'nvidia-tesla-v100' is not an Autopilot GPU; allowed: " + ", ".join(platform.GPUS),
        ),
        (
            GOOD.replace("gpu_count: 1", "gpu_count: 3"),
            5,
            "gpu_count: 3 is not allowed for nvidia-l4; allowed: 1, 2, 4, 8",
        ),
        (
            GOOD + "nodes: 3\ncompletion_mode: NonIndexed\n",
            7,
            "completion_mode: NonIndexed cannot run 3 nodes (pods get no rank); allowed: Indexed",
        ),
        (GOOD.replace("image: registry.example/trainer:1.0\n", ""), 1, "image: required; set a container image"),
        (GOOD.replace(":1.0", ":latest"), 3, "image: 'registry.example/trainer:latest' has the tag latest"),
        (GOOD + "spot: true\n", 6, "spot: true needs a checkpoint bucket"),
        (
            GOOD + "spot: true\ntermination_grace_seconds: 60\ncheckpoints: {bucket: b}\n",
            7,
            f"termination_grace_seconds: 60 s is more than Spot honours; allowed: 1-{platform.SPOT_TERMINATION_GRACE_SECONDS}",
        ),
        (
            GOOD + "cpu: '40'\n",
            6,
            "cpu: Pod requests 40 vCPU / 16 GiB exceed the 1 x nvidia-l4 maximum 31 vCPU / 115 GiB; Autopilot "
            "rejects the Pod",
        ),
        (
            GOOD.replace("nvidia-l4", "nvidia-tesla-t4") + "nodes: 2\ncompact_placement: true\n",
            7,
            "compact_placement: not available for nvidia-tesla-t4; allowed with gpu: nvidia-l4",
        ),
        (GOOD + "env: {HF_TOKEN: abc}\n", 6, "env.HF_TOKEN: HF_TOKEN looks like a credential"),
        (
            GOOD.replace("gpu: nvidia-l4\ngpu_count: 1\n", "") + "ephemeral_storage: 8Gi\noutput: {bucket: b}\n",
            4,
            "ephemeral_storage: Pod asks for 13 GiB of ephemeral storage (with the GCS FUSE sidecar's 5 GiB); the "
            "maximum is 10 GiB and Autopilot rejects the Pod",
        ),
        (GOOD + "gpus: 2\n", 6, "gpus: unknown key 'gpus' (did you mean 'gpu'?); allowed: name, team, image"),
        (
            GOOD + "dataset: {bucket: gs://Bad_Name}\n",
            6,
            "dataset.bucket: 'gs://Bad_Name' is not gs:// and a bucket name",
        ),
        (
            GOOD + "dataset: {bucket: gs://data/raw}\n",
            6,
            "dataset.bucket: 'gs://data/raw' is not gs:// and a bucket name",
        ),
        (GOOD + "output: {bucket: my.data}\n", 6, "output.bucket: 'my.data' is neither a logical bucket name"),
        (
            GOOD + "checkpoints: {bucket: checkpoints}\n",
            6,
            "checkpoints.bucket: 'checkpoints' is a logical bucket name; pass --env ENV",
        ),
        (GOOD + "wandb: {project: p}\n", 6, "wandb.secret: required without --env"),
        (
            GOOD.replace("gpu: nvidia-l4\ngpu_count: 1\n", "") + "flex_start: true\n",
            4,
            "flex_start: GPU jobs only; set gpu (allowed with flex_start: " + ", ".join(platform.flex_start_gpus()),
        ),
        (
            GOOD.replace("nvidia-l4", "nvidia-tesla-t4") + "flex_start: true\n",
            6,
            "flex_start: not available for nvidia-tesla-t4; allowed with gpu: nvidia-l4, ",
        ),
        (
            GOOD + "flex_start: true\nspot: true\ncheckpoints: {bucket: gs://ckpt-b}\n",
            6,
            "flex_start: cannot be combined with spot",
        ),
        (
            GOOD + "flex_start: true\nactive_deadline_seconds: 604801\n",
            7,
            f"active_deadline_seconds: 604801 s is longer than flex-start nodes run; allowed with flex_start: up to "
            f"{platform.FLEX_START_MAX_RUN_SECONDS} (7 days)",
        ),
    ],
)
def test_bad_spec_fails_with_one_line_naming_field_and_allowed_values(text, line, expected):
    with pytest.raises(ConfigError) as err:
        parse_job_spec(text, "bad.yaml")
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"bad.yaml:{line}: {expected}"), message


def test_spec_checked_against_environment(lab):
    text = GOOD + "identity: trainer\ndataset: {bucket: datasets}\ncheckpoints: {bucket: nope}\n"
    with pytest.raises(ConfigError) as err:
        parse_job_spec(text, "env.yaml", lab)
    assert str(err.value).startswith("env.yaml:8: checkpoints.bucket: unknown bucket 'nope' in lab; allowed: ")
    text = GOOD + "identity: intern\n"
    with pytest.raises(ConfigError, match=r"env.yaml:6: identity: 'intern' is not an identity of namespace research"):
        parse_job_spec(text, "env.yaml", lab)
    text = GOOD.replace("team: research", "team: interns") + "identity: intern\noutput: {bucket: datasets}\n"
    with pytest.raises(ConfigError, match=r"env.yaml:7: output.bucket: identity 'intern' cannot write 'datasets'"):
        parse_job_spec(text, "env.yaml", lab)


def test_wandb_key_only_where_the_environment_puts_it(lab):
    """The Launch release's Secret exists only in launch.teams: other teams, and environments without
    launch:, are refused unless the spec names its own Secret."""
    text = GOOD.replace("team: research", "team: interns") + "wandb: {project: p}\n"
    with pytest.raises(ConfigError) as err:
        parse_job_spec(text, "w.yaml", lab, "envs/lab.yaml")
    assert str(err.value) == (
        "w.yaml:6: wandb: team interns has no W&B API key Secret (wandb-api-key-lab is only in "
        "research); add interns to launch.teams in envs/lab.yaml"
    )
    assert (
        parse_job_spec(text.replace("{project: p}", "{project: p, secret: own}"), "w.yaml", lab).wandb.secret == "own"
    )
    no_launch = lab_environment(LAB[: LAB.index("launch:")])
    with pytest.raises(
        ConfigError,
        match=r"^w.yaml:6: wandb: lab has no W&B Launch \(launch: in lab.yaml\), so no "
        r"W&B API key Secret; add launch: there, or name your own Secret",
    ):
        parse_job_spec(GOOD + "wandb: {project: p}\n", "w.yaml", no_launch)


def test_a_spec_parsed_for_one_environment_is_rechecked_for_another(lab):
    """Rendering with a different environment (or none) checks again, still with file:line."""
    spec = parse_job_spec(GOOD + "identity: trainer\ncheckpoints: {bucket: checkpoints}\n", "again.yaml", lab)
    with pytest.raises(ConfigError, match=r"^again.yaml:7: checkpoints.bucket: 'checkpoints' is a logical bucket name"):
        render(spec)


# -- the request rules decide for a spec what they decide for `gkeml check` ----------------------

CPU_JOB = GOOD.replace("gpu: nvidia-l4\ngpu_count: 1\n", "")
REQUEST_SPECS = {
    # Autopilot raises the CPU to the class's ratio and bills it: a warning in both (GKE006)
    "ratio": CPU_JOB + "memory: 64Gi\n",
    # above the GPU's maximum: refused in both (GKE005)
    "above-maximum": GOOD + "cpu: '40'\n",
    # the sidecar's ephemeral storage counts: refused in both (GKE007)
    "ephemeral": CPU_JOB + "ephemeral_storage: 8Gi\noutput: {bucket: gs://run-output}\n",
    # the sidecar of a GPU pod gets less than it asks for: a warning in both (GKE027)
    "gpu-sidecar": GOOD + "dataset: {bucket: gs://corpus}\ngcsfuse: {cpu: '3'}\n",
}


@pytest.mark.parametrize("text", REQUEST_SPECS.values(), ids=REQUEST_SPECS)
def test_a_spec_is_refused_or_warned_as_gkeml_check_reports_its_pod(text):
    """One enforcement path: the spec's errors and warnings are the findings of the request rules that
    `gkeml check` reports for the objects it renders, with the same severity, message and fix."""
    from gkeml.jobs.build import Target, objects
    from gkeml.jobs.spec import JobSpec
    from gkeml.rules import ERROR, check
    from gkeml.rules.admission import REQUEST_RULES

    spec = JobSpec.model_validate(yaml.safe_load(text))  # rendered ungated, as a manifest `gkeml check` reads
    found = [f for f in check(objects(spec, Target.unresolved(spec))) if f.rule in REQUEST_RULES]
    assert found, "the case must exercise a request rule"
    errors = [f"{f.message}; {f.fix}" for f in found if f.severity == ERROR]
    warnings = [f"{f.message}; {f.fix}" for f in found if f.severity != ERROR]
    if errors:
        with pytest.raises(ConfigError) as err:
            parse_job_spec(text, "job.yaml")
        assert [p.message for p in err.value.problems] == errors
    else:
        assert [w.message for w in parse_job_spec(text, "job.yaml").warnings] == warnings


def test_job_render_prints_a_warning_with_file_and_line_and_renders(tmp_path, monkeypatch, capsys):
    """A request Autopilot changes (and bills) is rendered, with the rule's warning at the spec's line."""

    spec = tmp_path / "job.yaml"
    spec.write_text(REQUEST_SPECS["ratio"])
    monkeypatch.chdir(ROOT)
    assert main(["job", "render", str(spec)]) == 0
    out, err = capsys.readouterr()
    assert [d["kind"] for d in yaml.safe_load_all(out)] == ["Job"]
    assert err.startswith(
        f"gkeml job render: warning: {spec}:4: memory: Autopilot changes the Pod's requests from 4 vCPU / 64 GiB to 9.846 vCPU / "
        "64 GiB (general-purpose)"
    )
    spec.write_text(REQUEST_SPECS["above-maximum"])
    assert main(["job", "render", str(spec)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith(
        f"{spec}:6: cpu: Pod requests 40 vCPU / 16 GiB exceed the 1 x nvidia-l4 maximum"
    )


# -- W&B Launch ----------------------------------------------------------------------


def launched(config: dict, run_id: str) -> dict:
    """What the W&B Launch agent makes of a queue config: ``${run_id}`` and friends substituted."""
    return json.loads(string.Template(json.dumps(config)).safe_substitute(run_id=run_id))


def test_launch_template_is_the_job_manifest_with_a_folder_per_run(lab):
    """The queue config is the bare Job (what W&B's docs paste); each run gets its own Job name and its
    own checkpoint and output folders, so runs of a sweep never resume each other's checkpoints."""
    spec = example("spot-checkpointing", lab)
    (job,) = kind(render(spec, lab), "Job")
    template = launch_template(spec, lab)
    assert set(template) == {"apiVersion", "kind", "metadata", "spec"} and template["kind"] == "Job"
    assert template["metadata"]["name"] == f"{spec.name}-${{run_id}}"
    assert template["metadata"]["namespace"] == job["metadata"]["namespace"]
    runs = [launched(template, run_id) for run_id in ("ab12cd34", "ef56gh78")]
    folders = []
    for run_id, run in zip(("ab12cd34", "ef56gh78"), runs):
        assert run["metadata"]["name"] == f"{spec.name}-{run_id}"
        volumes = {v["name"]: v for v in run["spec"]["template"]["spec"]["volumes"]}
        options = volumes["checkpoints"]["csi"]["volumeAttributes"]["mountOptions"]
        assert options.endswith(f"only-dir={spec.checkpoints.prefix}/{run_id}")
        assert volumes["dataset"] == {v["name"]: v for v in job["spec"]["template"]["spec"]["volumes"]}["dataset"]
        folders.append(options)
        kubernetes_validate.validate(run, K8S_VERSION, strict=True)
    assert folders[0] != folders[1]
    # apart from the per-run names and folders, W&B Launch runs the pod gkeml renders
    launched_pod, rendered_pod = runs[0]["spec"]["template"]["spec"], job["spec"]["template"]["spec"]
    assert {k: v for k, v in launched_pod.items() if k != "volumes"} == {
        k: v for k, v in rendered_pod.items() if k != "volumes"
    }
    assert {k: v for k, v in runs[0]["spec"].items() if k != "template"} == {
        k: v for k, v in job["spec"].items() if k != "template"
    }


def test_launch_template_refuses_multi_node(lab):
    """A JobSet through W&B Launch would carry the W&B API key as a plain value (the agent's custom-resource path)."""
    with pytest.raises(ConfigError, match="nodes: 2 nodes run as a JobSet, which W&B Launch would create with the W&B"):
        launch_template(example("multi-node-ddp", lab), lab)


# -- JobSet and priorities ------------------------------------------------------------


def test_a_multi_node_job_is_one_jobset_the_crd_and_webhook_accept(lab):
    """The one object of a DDP run passes the JobSet v0.12.0 schema and webhook; a misspelt field, a failure
    reason no Job has, or a name whose pods pass 63 characters is refused by them (the checks can fail)."""
    (jobset,) = render(example("multi-node-ddp", lab), lab)
    assert jobset_crd.problems(jobset) == []
    spec = jobset["spec"]
    assert jobset_crd.problems({**jobset, "spec": {**spec, "failurePolicy": {"maxRestarts": "4"}}})
    rules = [{"name": "x", "action": "RestartJobSet", "onJobFailureReasons": ["Preempted"]}]
    assert "is not a job failure reason" in " ".join(
        jobset_crd.problems({**jobset, "spec": {**spec, "failurePolicy": {"rules": rules}}})
    )
    assert jobset_crd.problems({**jobset, "spec": {**spec, "network": {"enableDnsHostnames": True}}})
    long = {**jobset, "metadata": {**jobset["metadata"], "name": "p" * 49}}
    assert "pod name" in " ".join(jobset_crd.problems(long))
    assert jobset_crd.CHART_VERSION == platform.JOBSET_VERSION, "re-read the CRD of the new chart into jobset_crd.py"


@pytest.mark.parametrize("nodes", [2, 11, 64])
def test_the_longest_multi_node_name_still_gives_pod_names_the_webhook_accepts(lab, nodes):
    from gkeml.jobs.spec import max_spec_name

    longest = max_spec_name(nodes)
    spec = parse_job_spec(GOOD.replace("name: t", f"name: {'a' * longest}") + f"nodes: {nodes}\n", "l.yaml", lab)
    (jobset,) = render(spec, lab, unique_name(spec.name))
    assert jobset_crd.problems(jobset) == []
    with pytest.raises(ConfigError, match=rf"name: {longest + 1} characters; at most {longest} \(pod names are"):
        parse_job_spec(GOOD.replace("name: t", f"name: {'a' * (longest + 1)}") + f"nodes: {nodes}\n", "l.yaml", lab)


def test_an_environment_without_jobset_refuses_multi_node_jobs():
    no_jobset = lab_environment(LAB + "jobset: {enabled: false}\n")
    assert not no_jobset.jobset.enabled and no_jobset.kueue.enabled
    with pytest.raises(ConfigError, match=r"^m.yaml:6: nodes: lab has no JobSet controller \(jobset.enabled is false"):
        parse_job_spec(GOOD + "nodes: 2\n", "m.yaml", no_jobset)
    parse_job_spec(GOOD, "m.yaml", no_jobset)  # one node is a Job


def test_a_queued_job_carries_its_priority_tier_and_the_default_one(lab):
    (job,) = render(parse_job_spec(GOOD, "p.yaml", lab), lab)
    assert job["metadata"]["labels"][platform.KUEUE_PRIORITY_CLASS_LABEL] == lab.kueue.default_priority == "normal"
    (high,) = render(parse_job_spec(GOOD + "priority: high\nnodes: 2\n", "p.yaml", lab), lab)
    assert high["kind"] == "JobSet" and high["metadata"]["labels"][platform.KUEUE_PRIORITY_CLASS_LABEL] == "high"
    with pytest.raises(
        ConfigError, match=r"^p.yaml:6: priority: unknown priority 'urgent' in lab; allowed: high, normal"
    ):
        parse_job_spec(GOOD + "priority: urgent\n", "p.yaml", lab)
    unqueued = lab_environment(LAB + "kueue: {enabled: false}\n")
    with pytest.raises(ConfigError, match=r"^p.yaml:6: priority: lab has no Kueue"):
        parse_job_spec(GOOD + "priority: high\n", "p.yaml", unqueued)
    (plain,) = render(parse_job_spec(GOOD, "p.yaml", unqueued), unqueued)
    assert platform.KUEUE_PRIORITY_CLASS_LABEL not in plain["metadata"]["labels"]
    # without an environment: only with a queue
    with pytest.raises(ConfigError, match=r"^p.yaml:6: priority: only a queued job has a priority"):
        parse_job_spec(GOOD + "priority: high\n", "p.yaml")
    (alone,) = render(parse_job_spec(GOOD + "priority: high\nqueue: research\n", "p.yaml"))
    assert alone["metadata"]["labels"][platform.KUEUE_PRIORITY_CLASS_LABEL] == "high"


# -- CLI (a real process, as users run it) --------------------------------------------


@pytest.fixture
def lab_dir(tmp_path) -> Path:
    """An --environments directory holding only the test environment."""
    return write_environments(tmp_path / "environments", lab=LAB)


def test_cli_render_prints_the_builder_output(lab, lab_dir):
    done = gkeml("job", "render", "examples/jobs/multi-node-ddp.yaml", "--env", "lab", "--environments", str(lab_dir))
    assert done.returncode == 0, done.stderr
    assert list(yaml.safe_load_all(done.stdout)) == render(example("multi-node-ddp", lab), lab)


def test_cli_render_json_is_one_list_of_the_same_objects_kubectl_applies(lab, lab_dir, capsys):

    spec = "examples/jobs/multi-node-ddp.yaml"
    assert main(["job", "render", spec, "--env", "lab", "--environments", str(lab_dir), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["apiVersion"], data["kind"]) == ("v1", "List")
    assert data["items"] == render(example("multi-node-ddp", lab), lab)  # the same objects, in apply order
    assert [o["kind"] for o in data["items"]] == ["JobSet"]


def test_cli_render_bad_spec_exits_2_with_the_error(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD.replace("gpu_count: 1", "gpu_count: 3"))
    done = gkeml("job", "render", str(bad))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip() == f"{bad}:5: gpu_count: 3 is not allowed for nvidia-l4; allowed: 1, 2, 4, 8"


def test_cli_render_refuses_logical_buckets_without_an_environment():
    """Without --env, 'datasets' would be whoever owns the global bucket 'datasets': nothing is printed."""
    done = gkeml("job", "render", "examples/jobs/cpu-preprocess.yaml")
    assert done.returncode == 2 and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert lines[0].startswith(
        "examples/jobs/cpu-preprocess.yaml:11: dataset.bucket: 'datasets' is a logical bucket name; pass --env ENV"
    )
    assert lines[1].startswith("examples/jobs/cpu-preprocess.yaml:12: output.bucket: 'artifacts' is a logical")


def test_cli_unknown_env_lists_the_allowed_ones(lab_dir):
    done = gkeml("job", "render", "examples/jobs/single-gpu.yaml", "--env", "qa", "--environments", str(lab_dir))
    assert done.returncode == 2
    assert "--env: no environment 'qa'; defined: lab" in done.stderr


def test_cli_launch_template(lab, lab_dir):
    done = gkeml(
        "launch",
        "template",
        "examples/jobs/single-gpu.yaml",
        "--format",
        "json",
        "--env",
        "lab",
        "--environments",
        str(lab_dir),
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == launch_template(example("single-gpu", lab), lab)


def test_cli_help_describes_every_command(capsys):
    def help_of(*args: str) -> str:
        with pytest.raises(SystemExit) as done:
            main([*args, "--help"])
        assert done.value.code == 0, args
        return capsys.readouterr().out

    for args in (["job", "render"], ["job", "submit"], ["launch", "template"]):
        out = help_of(*args)
        assert "SPEC" in out and "--env" in out, args
    for verb in ("list", "status", "logs", "wait", "delete"):
        out = help_of("job", verb)
        assert "--env" in out and "--context" in out, verb
        assert "--format" in out and "exit codes" in out, verb
