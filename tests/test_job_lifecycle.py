"""``gkeml job list|status|logs|wait|delete`` and ``submit --wait`` against the loopback Kubernetes API.

The objects the server holds are what the API returns for gkeml's own rendered Jobs (the
canonical specs in the tests' environment) once the Job controller, the kubelet and Kueue have
written their status: pods per completion index, a Spot preemption (``DisruptionTarget``),
exit codes, Kueue Workloads owned by the Job.
"""

from __future__ import annotations

import json

import pytest
from kube_api import (
    LAB_ENTRY,
    STARTED,
    VAULT_ENTRY,
    admitted,
    child_job,
    closed_port,
    gkeml,
    legacy_ddp,
    pod,
    preempted_ddp,
    submitted,
    with_status,
    workload,
    write_kubeconfig,
)


@pytest.fixture
def kubeconfig(kube, tmp_path):
    return write_kubeconfig(tmp_path / "config", kube.url, LAB_ENTRY)


def job_cli(verb: str, *args: str, envs, kubeconfig, env: str | None = "lab"):
    options = ("--env", env, "--environments", str(envs)) if env else ()
    return gkeml("job", verb, *args, *options, kubeconfig=kubeconfig)


# -- status ---------------------------------------------------------------------------------------------


def test_status_shows_admission_pods_per_index_preemptions_and_exit_codes(kube, envs, kubeconfig):
    preempted_ddp(kube)
    done = job_cli("status", "research/pretrain-2x4-k7q2m", envs=envs, kubeconfig=kubeconfig)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "job research/pretrain-2x4-k7q2m (spec pretrain-2x4, JobSet): Running"
    assert lines[1] == (
        "  pods: 0/2 succeeded, 2 active (2 ready), 1 failed (+1 not yet counted); preempted: 1; restarts: 1"
    )
    assert lines[2] == (
        "  queue: research (priority normal); admission: admitted in cluster queue research-cq; requeued 1x"
    )
    table = [line.split() for line in lines[6:]]
    assert lines[4].split() == ["INDEX", "POD", "PHASE", "RESTARTS", "PREEMPTED", "EXIT", "REASON", "NODE"]
    assert table == [
        [
            "0",
            "pretrain-2x4-k7q2m-node-0-0-a1b2c",
            "Failed",
            "0",
            "yes",
            "143",
            "TerminationByKubelet",
            "gk3-lab-ml-nap-0a1b2c",
        ],
        ["0", "pretrain-2x4-k7q2m-node-0-0-z9y8x", "Running", "0", "gk3-lab-ml-nap-0z9y8x"],
        ["1", "pretrain-2x4-k7q2m-node-0-1-d4e5f", "Running", "0", "gk3-lab-ml-nap-1d4e5f"],
    ]
    assert ("GET", "/apis/kueue.x-k8s.io/v1beta2/namespaces/research/workloads", {}, None) in kube.requests
    # the Job is looked for first, then the JobSet; its Job and pods by the JobSet's label
    reads = [(p, q.get("labelSelector")) for m, p, q, _ in kube.requests if m == "GET" and "kueue" not in p]
    assert reads == [
        ("/apis/batch/v1/namespaces/research/jobs/pretrain-2x4-k7q2m", None),
        ("/apis/jobset.x-k8s.io/v1alpha2/namespaces/research/jobsets/pretrain-2x4-k7q2m", None),
        ("/apis/batch/v1/namespaces/research/jobs", "jobset.sigs.k8s.io/jobset-name=pretrain-2x4-k7q2m"),
        ("/api/v1/namespaces/research/pods", "jobset.sigs.k8s.io/jobset-name=pretrain-2x4-k7q2m"),
    ]


def test_status_json_carries_the_same_facts(kube, envs, kubeconfig):
    preempted_ddp(kube)
    done = job_cli(
        "status", "pretrain-2x4-k7q2m", "--team", "research", "--format", "json", envs=envs, kubeconfig=kubeconfig
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["context"] == LAB_ENTRY
    job = report["job"]
    assert (job["state"], job["active"], job["failed"], job["uncounted_failed"], job["preempted"]) == (
        "Running",
        2,
        1,
        1,
        1,
    )
    assert (job["kind"], job["restarts"], job["priority"], job["completions"]) == ("JobSet", 1, "normal", 2)
    assert job["admission"] == {
        "kueue": True,
        "workload": "job-pretrain-2x4-k7q2m-3f2a1",
        "queue": "research",
        "cluster_queue": "research-cq",
        "quota_reserved": True,
        "admitted": True,
        "reason": None,
        "message": None,
        "position": None,
        "requeues": 1,
        "requeue_at": STARTED,
        "evicted": None,
    }
    assert [(p["index"], p["phase"], p["preempted"], p["exit_code"]) for p in job["pods"]] == [
        (0, "Failed", True, 143),
        (0, "Running", False, None),
        (1, "Running", False, None),
    ]


def test_a_queued_job_shows_its_position_in_the_local_queue(kube, envs, kubeconfig):
    job = submitted(kube, "single-node-8gpu", "pretrain-8xl4-q4w5e")
    job = kube.put(with_status(dict(job, spec=dict(job["spec"], suspend=True))))
    kube.kueue_version = "v1beta2"
    kube.workloads.append(
        workload(
            job,
            "v1beta2",
            admitted=False,
            reason="WaitingForQuota",
            message="couldn't assign flavors to pod set main: insufficient quota",
        )
    )
    kube.pending[("research", "research")] = [
        {"metadata": {"name": "job-other-1", "namespace": "research"}, "positionInLocalQueue": 0},
        {"metadata": {"name": "job-pretrain-8xl4-q4w5e-3f2a1", "namespace": "research"}, "positionInLocalQueue": 1},
    ]
    done = job_cli("status", "research/pretrain-8xl4-q4w5e", "--format", "json", envs=envs, kubeconfig=kubeconfig)
    assert done.returncode == 0, done.stderr
    state = json.loads(done.stdout)["job"]
    assert (state["state"], state["suspended"]) == ("Queued", True)
    assert (state["admission"]["position"], state["admission"]["reason"]) == (1, "WaitingForQuota")
    done = job_cli("status", "research/pretrain-8xl4-q4w5e", envs=envs, kubeconfig=kubeconfig)
    assert "admission: queued (position 1 in local queue research): WaitingForQuota" in done.stdout
    assert "no pods yet" in done.stdout


def test_without_kueue_the_job_is_plainly_not_queued(kube, envs, kubeconfig):
    preempted_ddp(kube, version=None)
    done = job_cli("status", "research/pretrain-2x4-k7q2m", envs=envs, kubeconfig=kubeconfig)
    assert done.returncode == 0, done.stderr
    assert "queue: research (priority normal); admission: no Kueue in the cluster" in done.stdout
    assert [p for _, p, _, _ in kube.requests if p.startswith("/apis/kueue")] == [
        "/apis/kueue.x-k8s.io/v1beta2/namespaces/research/workloads",
        "/apis/kueue.x-k8s.io/v1beta1/namespaces/research/workloads",
    ]


def test_an_older_kueue_serving_only_v1beta1_is_read_too(kube, envs, kubeconfig):
    preempted_ddp(kube, version="v1beta1")
    done = job_cli("status", "research/pretrain-2x4-k7q2m", "--format", "json", envs=envs, kubeconfig=kubeconfig)
    assert json.loads(done.stdout)["job"]["admission"]["cluster_queue"] == "research-cq"


@pytest.mark.parametrize("verb", ["status", "logs", "wait", "delete"])
def test_a_missing_job_exits_1_for_every_verb(verb, kube, envs, kubeconfig):
    done = job_cli(verb, "research/nope", "--format", "json", envs=envs, kubeconfig=kubeconfig)
    message = f"job research/nope not found (context '{LAB_ENTRY}'); list them with 'gkeml job list --team research'"
    assert done.returncode == 1 and done.stderr.strip() == f"gkeml job {verb}: error: {message}"
    assert json.loads(done.stdout) == {
        "command": f"gkeml job {verb}",
        "error": message,
        "exit_code": 1,
        "problems": [],
    }


def test_an_unknown_team_of_the_environment_is_refused_before_asking(kube, envs, kubeconfig):
    done = job_cli("status", "ops/x", envs=envs, kubeconfig=kubeconfig)
    assert done.returncode == 2 and "--team: unknown team 'ops' in lab; allowed: research, interns" in done.stderr
    assert kube.requests == []


@pytest.mark.parametrize(
    "verb, args",
    [
        ("list", ()),
        ("status", ("research/x",)),
        ("logs", ("research/x",)),
        ("wait", ("research/x",)),
        ("delete", ("research/x",)),
    ],
)
def test_every_verb_refuses_another_clusters_context_and_an_unreachable_one(verb, args, kube, envs, tmp_path):
    wrong = write_kubeconfig(tmp_path / "wrong", kube.url, VAULT_ENTRY)
    done = job_cli(verb, *args, envs=envs, kubeconfig=wrong)
    assert done.returncode == 2 and kube.requests == []
    assert done.stderr.strip().endswith(
        "run 'gcloud container clusters get-credentials lab-ml --region us-central1 "
        "--project lab-ml-project' (nothing was sent to the cluster)"
    )
    down = write_kubeconfig(tmp_path / "down", f"http://127.0.0.1:{closed_port()}", LAB_ENTRY)
    done = job_cli(verb, *args, envs=envs, kubeconfig=down)
    assert done.returncode == 1 and "cannot reach http://127.0.0.1:" in done.stderr, done.stderr


# -- list ---------------------------------------------------------------------------------------------------


def test_list_shows_every_team_of_the_environment(kube, envs, kubeconfig):
    preempted_ddp(kube)
    done_job = submitted(kube, "cpu-preprocess", "tokenize-corpus-m3n4b")
    kube.put(
        with_status(
            done_job,
            succeeded=1,
            conditions=[("Complete", "CompletionsReached")],
            completionTime="2026-11-20T11:00:00Z",
        )
    )
    kube.put(
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "not-ours", "namespace": "research"},
            "spec": {},
            "status": {},
        }
    )
    done = job_cli("list", envs=envs, kubeconfig=kubeconfig)
    assert done.returncode == 0, done.stderr
    rows = [line.split()[:8] for line in done.stdout.splitlines()[2:]]
    assert sorted(rows) == sorted(
        [
            ["research", "pretrain-2x4-k7q2m", "pretrain-2x4", "Running", "0/2", "2", "1", "1"],
            ["research", "tokenize-corpus-m3n4b", "tokenize-corpus", "Succeeded", "1/1", "0", "0", "0"],
        ]
    )
    listed = {p for _, p, q, _ in kube.requests if q.get("labelSelector") == "app.kubernetes.io/managed-by=gkeml"}
    assert listed == {
        "/apis/batch/v1/namespaces/research/jobs",
        "/apis/batch/v1/namespaces/interns/jobs",
        "/apis/jobset.x-k8s.io/v1alpha2/namespaces/research/jobsets",
        "/apis/jobset.x-k8s.io/v1alpha2/namespaces/interns/jobsets",
        "/api/v1/namespaces/research/pods",
        "/api/v1/namespaces/interns/pods",
    }
    # the JobSets' own Jobs are read by the JobSet label (only where there are JobSets), never listed as runs
    children = [(p, q["labelSelector"]) for _, p, q, _ in kube.requests if "jobset-name" in q.get("labelSelector", "")]
    assert children == [("/apis/batch/v1/namespaces/research/jobs", "jobset.sigs.k8s.io/jobset-name")]
    # a cluster without the JobSet API lists its Jobs
    kube.jobset_api = False
    done = job_cli("list", envs=envs, kubeconfig=kubeconfig)
    assert done.returncode == 0, done.stderr
    assert [line.split()[1] for line in done.stdout.splitlines()[2:]] == ["tokenize-corpus-m3n4b"]


def test_list_json_and_without_env_across_namespaces(kube, envs, kubeconfig):
    preempted_ddp(kube)
    done = job_cli("list", "--format", "json", envs=envs, kubeconfig=kubeconfig, env=None)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert [(j["namespace"], j["name"], j["state"], j["preempted"]) for j in report["jobs"]] == [
        ("research", "pretrain-2x4-k7q2m", "Running", 1)
    ]
    assert "using kubectl context" in done.stderr
    assert {p for _, p, _, _ in kube.requests} >= {
        "/apis/batch/v1/jobs",
        "/api/v1/pods",
        "/apis/kueue.x-k8s.io/v1beta2/workloads",
    }
    done = job_cli("list", "--team", "interns", envs=envs, kubeconfig=kubeconfig)
    assert done.returncode == 0 and done.stdout.strip() == f"no gkeml jobs in interns (context {LAB_ENTRY})"


# -- logs -----------------------------------------------------------------------------------------------------


def test_logs_of_the_newest_pod_of_an_index(kube, envs, kubeconfig):
    job = preempted_ddp(kube)
    kube.logs[("research", "pretrain-2x4-k7q2m-node-0-0-z9y8x")] = "gkeml-trainer event=resume step=2000\nstep=2001\n"
    kube.logs[("research", "pretrain-2x4-k7q2m-node-0-1-d4e5f")] = "gkeml-trainer event=start rank=4\n"
    done = job_cli("logs", "research/pretrain-2x4-k7q2m", envs=envs, kubeconfig=kubeconfig)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "gkeml-trainer event=resume step=2000\nstep=2001\n"
    log_requests = [q for _, p, q, _ in kube.requests if p.endswith("/log")]
    assert log_requests == [{"container": "trainer", "limitBytes": str(32 * 2**20)}]
    done = job_cli(
        "logs", "research/pretrain-2x4-k7q2m", "--index", "1", "--tail", "1", envs=envs, kubeconfig=kubeconfig
    )
    assert done.stdout == "gkeml-trainer event=start rank=4\n"
    done = job_cli("logs", "research/pretrain-2x4-k7q2m", "--all", "--format", "json", envs=envs, kubeconfig=kubeconfig)
    assert json.loads(done.stdout)["logs"] == [
        {
            "pod": "pretrain-2x4-k7q2m-node-0-0-z9y8x",
            "index": 0,
            "log": "gkeml-trainer event=resume step=2000\nstep=2001\n",
            "cut": False,
        },
        {
            "pod": "pretrain-2x4-k7q2m-node-0-1-d4e5f",
            "index": 1,
            "log": "gkeml-trainer event=start rank=4\n",
            "cut": False,
        },
    ]
    done = job_cli("logs", "research/pretrain-2x4-k7q2m", "--all", envs=envs, kubeconfig=kubeconfig)
    assert done.stdout.splitlines()[0] == "==> pretrain-2x4-k7q2m-node-0-0-z9y8x (index 0) <=="
    assert job["metadata"]["name"] == "pretrain-2x4-k7q2m"


def test_logs_follow_streams_and_missing_pods_exit_1(kube, envs, kubeconfig):
    preempted_ddp(kube)
    kube.logs[("research", "pretrain-2x4-k7q2m-node-0-0-a1b2c")] = (
        "step=1999\nevent=sigterm\nevent=checkpoint step=2000\n"
    )
    done = job_cli(
        "logs",
        "research/pretrain-2x4-k7q2m",
        "--pod",
        "pretrain-2x4-k7q2m-node-0-0-a1b2c",
        "--follow",
        envs=envs,
        kubeconfig=kubeconfig,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "step=1999\nevent=sigterm\nevent=checkpoint step=2000\n"
    assert [q for _, p, q, _ in kube.requests if p.endswith("/log")] == [{"container": "trainer", "follow": "true"}]
    done = job_cli("logs", "research/pretrain-2x4-k7q2m", "--index", "7", envs=envs, kubeconfig=kubeconfig)
    assert done.returncode == 1
    assert "has no pod with index 7; indexes: 0, 1" in done.stderr


# -- wait and submit --wait ---------------------------------------------------------------------------------------


def test_wait_follows_the_job_to_success_with_a_progress_line(kube, envs, kubeconfig):
    job = admitted(submitted(kube, "single-gpu", "finetune-l4-h8j9k"))
    kube.job_states[("research", "finetune-l4-h8j9k")] = [
        with_status(job),
        with_status(job, active=1, ready=1),
        with_status(job, active=1, ready=1),
        with_status(job, succeeded=1, conditions=[("Complete", "CompletionsReached")]),
    ]
    done = job_cli("wait", "research/finetune-l4-h8j9k", "--interval", "0", envs=envs, kubeconfig=kubeconfig)
    assert done.returncode == 0, done.stderr
    progress = [line.split("] ", 1)[1] for line in done.stderr.splitlines()]
    assert progress == [
        "research/finetune-l4-h8j9k: Pending | 0/1 succeeded, 0 active, 0 failed",
        "research/finetune-l4-h8j9k: Pending | 0/1 succeeded, 1 active, 0 failed",
        "research/finetune-l4-h8j9k: Succeeded | 1/1 succeeded, 0 active, 0 failed | CompletionsReached",
    ]
    assert (
        done.stdout.splitlines()[0] == "job research/finetune-l4-h8j9k (spec finetune-l4): Succeeded "
        "(CompletionsReached: Complete because CompletionsReached)"
    )


def test_wait_exits_1_when_the_job_fails_or_time_runs_out(kube, envs, kubeconfig):
    job = admitted(submitted(kube, "spot-checkpointing", "sweep-spot-p3l4m"))
    kube.job_states[("research", "sweep-spot-p3l4m")] = [
        with_status(job, failed=4, conditions=[("Failed", "BackoffLimitExceeded")])
    ]
    kube.put(pod(job, 0, "aaaaa", "Failed", exit_code=1))
    done = job_cli(
        "wait", "research/sweep-spot-p3l4m", "--format", "json", "--interval", "0", envs=envs, kubeconfig=kubeconfig
    )
    assert done.returncode == 1
    report = json.loads(done.stdout)
    assert (report["timed_out"], report["job"]["state"], report["job"]["reason"]) == (
        False,
        "Failed",
        "BackoffLimitExceeded",
    )
    assert report["job"]["pods"][0]["exit_code"] == 1
    kube.job_states[("research", "sweep-spot-p3l4m")] = [with_status(job, active=1)]
    done = job_cli("wait", "research/sweep-spot-p3l4m", "--timeout", "0", envs=envs, kubeconfig=kubeconfig)
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1] == "gkeml job wait: error: research/sweep-spot-p3l4m still Pending after 0 s"
    done = job_cli(
        "wait", "research/sweep-spot-p3l4m", "--timeout", "0", "--format", "json", envs=envs, kubeconfig=kubeconfig
    )
    assert done.returncode == 1 and json.loads(done.stdout)["timed_out"]  # one object: the report says it


def test_wait_follows_a_jobset_through_a_restart_to_success(kube, envs, kubeconfig):
    """A JobSet's state comes from its Completed / Failed condition and its children's counters; its restarts
    show in the progress line."""
    jobset = admitted(submitted(kube, "multi-node-ddp", "pretrain-2x4-w1w2w"))
    kube.put(child_job(jobset, active=2, ready=2))
    kube.job_states[("research", "pretrain-2x4-w1w2w")] = [
        with_status(jobset),
        with_status(jobset, restarts=1),
        with_status(jobset, restarts=1, terminalState="Completed", conditions=[("Completed", "AllJobsCompleted")]),
    ]
    done = job_cli("wait", "research/pretrain-2x4-w1w2w", "--interval", "0", envs=envs, kubeconfig=kubeconfig)
    assert done.returncode == 0, done.stderr
    progress = [line.split("] ", 1)[1] for line in done.stderr.splitlines()]
    assert progress == [
        "research/pretrain-2x4-w1w2w: Pending | 0/2 succeeded, 2 active, 0 failed",
        "research/pretrain-2x4-w1w2w: Pending | 0/2 succeeded, 2 active, 0 failed | restarted 1x",
        "research/pretrain-2x4-w1w2w: Succeeded | 0/2 succeeded, 2 active, 0 failed | restarted 1x | AllJobsCompleted",
    ]
    failed = with_status(jobset, restarts=4, conditions=[("Failed", "FailedJobs")])
    kube.job_states[("research", "pretrain-2x4-w1w2w")] = [failed]
    done = job_cli("wait", "research/pretrain-2x4-w1w2w", "--interval", "0", envs=envs, kubeconfig=kubeconfig)
    assert done.returncode == 1 and "Failed" in done.stdout.splitlines()[0]


def test_submit_wait_follows_the_new_run_to_completion(kube, envs, kubeconfig):
    """The server completes the Job as soon as it is created: submit --wait reads it back and exits 0."""
    original = kube.answer

    def complete_on_read(method, path, query, body):
        status, payload = original(method, path, query, body)
        if method == "GET" and "/jobs/" in path and status == 200:
            payload = with_status(payload, succeeded=1, conditions=[("Complete", "CompletionsReached")])
        return status, payload

    kube.answer = complete_on_read
    done = gkeml(
        "job",
        "submit",
        "examples/jobs/single-gpu.yaml",
        "--env",
        "lab",
        "--environments",
        str(envs),
        "--wait",
        "--interval",
        "0",
        "--format",
        "json",
        kubeconfig=kubeconfig,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["state"]["state"] == "Succeeded" and report["state"]["name"] == report["name"]
    assert "Succeeded | 1/1 succeeded" in done.stderr
    done = gkeml(
        "job",
        "submit",
        "examples/jobs/single-gpu.yaml",
        "--env",
        "lab",
        "--environments",
        str(envs),
        "--wait",
        "--dry-run",
        kubeconfig=kubeconfig,
    )
    assert done.returncode == 2 and "--wait: nothing to wait for after --dry-run" in done.stderr


# -- delete ----------------------------------------------------------------------------------------------------------


def test_delete_removes_the_jobset_by_name_with_its_uid(kube, envs, kubeconfig):
    """A multi-node run is one JobSet: deleted by name with its uid (its Job, pods and Service are its own)."""
    preempted_ddp(kube)
    jobset_uid = kube.store[("jobsets", "research", "pretrain-2x4-k7q2m")]["metadata"]["uid"]
    done = job_cli("delete", "research/pretrain-2x4-k7q2m", "--format", "json", envs=envs, kubeconfig=kubeconfig)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"context": LAB_ENTRY, "deleted": ["JobSet research/pretrain-2x4-k7q2m"]}
    deletes = [(p, q, b["propagationPolicy"], b["preconditions"]) for m, p, q, b in kube.requests if m == "DELETE"]
    assert deletes == [
        (
            "/apis/jobset.x-k8s.io/v1alpha2/namespaces/research/jobsets/pretrain-2x4-k7q2m",
            {},
            "Background",
            {"uid": jobset_uid},
        ),
    ]
    done = job_cli("delete", "research/pretrain-2x4-k7q2m", envs=envs, kubeconfig=kubeconfig)
    assert done.returncode == 1 and "job research/pretrain-2x4-k7q2m not found" in done.stderr


def test_a_multi_node_run_of_an_earlier_gkeml_is_still_read_and_deleted_with_its_service(kube, envs, kubeconfig):
    """Runs submitted before the upgrade (an Indexed Job and its headless Service) keep working."""
    job, service = legacy_ddp(kube, "pretrain-2x4-old12")
    kube.put(pod(job, 0, "a1b2c", "Running"))
    done = job_cli("status", "research/pretrain-2x4-old12", "--format", "json", envs=envs, kubeconfig=kubeconfig)
    assert done.returncode == 0, done.stderr
    state = json.loads(done.stdout)["job"]
    assert (state["kind"], state["completions"], [p["index"] for p in state["pods"]]) == ("Job", 2, [0])
    done = job_cli("delete", "research/pretrain-2x4-old12", "--format", "json", envs=envs, kubeconfig=kubeconfig)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["deleted"] == [
        "Job research/pretrain-2x4-old12",
        "Service research/pretrain-2x4-old12",
    ]
    deletes = [(p, b["preconditions"]) for m, p, _, b in kube.requests if m == "DELETE"]
    assert deletes == [
        ("/apis/batch/v1/namespaces/research/jobs/pretrain-2x4-old12", {"uid": job["metadata"]["uid"]}),
        ("/api/v1/namespaces/research/services/pretrain-2x4-old12", {"uid": service["metadata"]["uid"]}),
    ]


def test_delete_of_a_single_node_job_prints_what_went(kube, envs, kubeconfig):
    submitted(kube, "single-gpu", "finetune-l4-r2t3y")
    done = job_cli("delete", "research/finetune-l4-r2t3y", envs=envs, kubeconfig=kubeconfig)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "deleted: Job research/finetune-l4-r2t3y"
