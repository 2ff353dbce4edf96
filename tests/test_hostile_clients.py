"""The job verbs and ``gkeml doctor`` against hostile API servers, and deletion by accident.

One test per class of problem: an empty or malformed name never reaches a URL (so never a
collection DELETE); only what gkeml created is deleted, and only the object that was read (uid
precondition); a silent, dripping, huge, deeply nested, non-JSON, wrongly shaped or escape-laden
answer ends each verb in one line with exit 1 (doctor: 2) and never drives the terminal; logs are
escaped unless ``--raw``; a log stream that goes silent is checked and resumed, and ``--timeout``
bounds it. The servers are real HTTP servers on 127.0.0.1 (tests/servers.py) and the clients the
real ``kubernetes`` and google clients. Verbs run in-process (tests/hostile.py: an exception
escaping the CLI fails the test) except where time is the point: a server that never answers or
drips is run as a subprocess with a timeout, so a regression cannot hang the suite.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from conftest import ENVIRONMENTS, ROOT
from google_apis import GkeApi, serve_dev
from hostile import gkeml
from kube_api import LAB_ENTRY, admitted, child_job, pod, preempted_ddp, submitted, with_status, write_kubeconfig
from servers import ESCAPES, HOSTILE, Answer, LoopbackServer, serving

JOB = "research/pretrain-2x4-k7q2m"
LIMIT = 32 * 2**20


@pytest.fixture
def kubeconfig(kube, tmp_path, monkeypatch):
    path = write_kubeconfig(tmp_path / "config", kube.url, LAB_ENTRY)
    monkeypatch.setenv("KUBECONFIG", str(path))
    return path


def job(verb: str, *args: str, envs, env: str | None = "lab", timeout: str = "2"):
    """``gkeml job VERB ARGS`` in this process, against the kubeconfig's server, answers within ``timeout`` s."""
    options = ("--env", env, "--environments", str(envs)) if env else ()
    return gkeml("job", verb, *args, *options, "--request-timeout", timeout)


def assert_one_safe_line(result, code: int, *fragments: str) -> None:
    """Exit ``code``, one line on stderr holding every fragment, no traceback, no raw control character."""
    assert result.code == code, (result.code, result.err, result.out[:300])
    errors = [e for e in result.errors if ": using kubectl context " not in e]  # the note without --env
    assert len(errors) == 1, result.err
    assert "Traceback" not in result.err
    for fragment in fragments:
        assert fragment in result.err, (fragment, result.err)
    for text in (result.out, result.err):
        assert not any(ord(c) < 32 and c not in "\n" or 0x7F <= ord(c) < 0xA0 for c in text), repr(text[:300])


# -- deletion by accident ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argument",
    ["research/", "", "research//x", "research/x/y", "research/..", "research/Upper", "research/x\n"],
)
@pytest.mark.parametrize("verb", ["delete", "status", "logs", "wait"])
def test_an_empty_or_malformed_name_is_refused_before_anything_is_sent(verb, argument, kube, envs, kubeconfig):
    preempted_ddp(kube)
    before = dict(kube.store)
    for env in ("lab", None) if verb == "delete" else (None,):
        result = job(verb, argument, envs=envs, env=env)
        assert result.code == 2, (result.code, result.err)
        assert "is not a Kubernetes name" in result.err and "nothing was sent to the cluster" in result.err
        assert "Traceback" not in result.err and len(result.errors) == 1
    assert kube.requests == [] and kube.store == before


def test_a_bad_team_pod_or_context_namespace_is_refused_too(kube, envs, tmp_path, monkeypatch):
    preempted_ddp(kube)
    result = job("delete", "pretrain-2x4-k7q2m", "--team", "", envs=envs, env=None)
    assert result.code == 2 and "--team: the team '' is not a Kubernetes name (empty)" in result.err
    result = job("logs", JOB, "--pod", "../../secrets", envs=envs, env=None)
    assert result.code == 2 and "--pod: '../../secrets' is not a pod name" in result.err
    bad_context = write_kubeconfig(tmp_path / "ns", kube.url, LAB_ENTRY, namespace="Team A")
    monkeypatch.setenv("KUBECONFIG", str(bad_context))
    result = job("delete", "pretrain-2x4-k7q2m", envs=envs, env=None)
    assert result.code == 2 and "the namespace of context" in result.err and "'Team A'" in result.err
    assert kube.requests == []


@pytest.mark.parametrize("env", ["lab", None], ids=["with-env", "without-env"])
def test_delete_refuses_what_gkeml_did_not_create(env, kube, envs, kubeconfig):
    """A Job (and a Service) of the same name without gkeml's label stays, with or without --env."""
    kube.put(
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "nightly-etl", "namespace": "research", "labels": {"team": "data"}},
            "spec": {},
        }
    )
    result = job("delete", "research/nightly-etl", envs=envs, env=env)
    assert_one_safe_line(result, 1, "job research/nightly-etl was not created by gkeml", "nothing was deleted")
    assert kube.sent("DELETE") == [] and ("jobs", "research", "nightly-etl") in kube.store
    # gkeml's Job, but a Service of that name that is someone else's: the Job goes, the Service stays
    submitted(kube, "single-gpu", "finetune-l4-r2t3y")
    kube.put(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": "finetune-l4-r2t3y",
                "namespace": "research",
                "labels": {"app.kubernetes.io/instance": "finetune-l4-r2t3y"},
            },
        }
    )
    result = job("delete", "research/finetune-l4-r2t3y", envs=envs, env=env)
    assert result.code == 1 and "service research/finetune-l4-r2t3y was not created by gkeml" in result.err
    assert [r[1] for r in kube.sent("DELETE")] == ["/apis/batch/v1/namespaces/research/jobs/finetune-l4-r2t3y"]
    assert ("services", "research", "finetune-l4-r2t3y") in kube.store


def test_delete_spares_a_same_named_job_created_after_it_was_read(kube, envs, kubeconfig):
    """The API answers the read with the Job as it was; a new Job of that name replaced it since: the
    uid precondition makes the API refuse the delete (409) and the new Job stays."""
    current = submitted(kube, "single-gpu", "finetune-l4-r2t3y")
    earlier = json.loads(json.dumps(current))
    earlier["metadata"]["uid"] = "uid-of-the-run-that-was-replaced"
    kube.hostile = lambda r: (
        Answer(200, earlier) if r.method == "GET" and r.path.endswith("/jobs/finetune-l4-r2t3y") else None
    )
    result = job("delete", "research/finetune-l4-r2t3y", envs=envs)
    assert_one_safe_line(result, 1, "delete job research/finetune-l4-r2t3y: 409 Precondition failed")
    (delete,) = kube.sent("DELETE")
    assert delete[3]["preconditions"] == {"uid": "uid-of-the-run-that-was-replaced"}
    assert kube.store[("jobs", "research", "finetune-l4-r2t3y")] is current


def test_delete_sends_nothing_when_the_api_answers_another_object(kube, envs, kubeconfig):
    other = submitted(kube, "single-gpu", "finetune-l4-r2t3y")
    kube.hostile = lambda r: (
        Answer(200, dict(other, metadata=dict(other["metadata"], name="other"))) if r.method == "GET" else None
    )
    result = job("delete", "research/finetune-l4-r2t3y", envs=envs)
    assert_one_safe_line(result, 1, "with another object (research/other); nothing was deleted")
    assert kube.sent("DELETE") == []


# -- answers the clients must not trust ------------------------------------------------------------


FAST_MODES = {
    "huge": "sent an answer larger than 32 MiB",
    "deep": "sent JSON nested deeper than 100 levels",
    "html": "sent a body that is not JSON ('<html><body>Proxy login\\x1b[2J</body>",
    "shape": "sent JSON that is not an object (list)",
    "escapes": "500 \\x1b[31mred\\x1b[0m \\x1b]0;owned\\x07",
}


@pytest.mark.parametrize("mode", FAST_MODES)
@pytest.mark.parametrize("verb", ["status", "list", "delete", "logs", "wait"])
def test_a_hostile_answer_ends_each_verb_in_one_line(verb, mode, kube, envs, kubeconfig):
    preempted_ddp(kube)
    before = dict(kube.store)
    kube.hostile = lambda request: HOSTILE[mode]()
    args = () if verb == "list" else (JOB,)
    result = job(verb, *args, envs=envs)
    assert_one_safe_line(result, 1, f"gkeml job {verb}: error: ", FAST_MODES[mode], f"(context '{LAB_ENTRY}')")
    assert kube.store == before and kube.sent("DELETE") == []


def _subprocess_job(*args: str, kubeconfig) -> tuple[subprocess.CompletedProcess, float]:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "gkeml.cli", "job", *args],
        cwd=ROOT,
        env=dict(os.environ, KUBECONFIG=str(kubeconfig)),
        capture_output=True,
        text=True,
        timeout=60,  # a client without a deadline would hang here: the test fails instead
    )
    return done, time.monotonic() - started


@pytest.mark.parametrize(
    "mode, expected",
    [("silent", "no answer from {url} within 2 s"), ("drip", "sent an answer still arriving after 2 s")],
)
def test_a_silent_or_dripping_server_ends_a_verb_at_its_request_timeout(mode, expected, kube, envs, kubeconfig):
    kube.hostile = lambda request: HOSTILE[mode]()
    done, _ = _subprocess_job(
        "status", JOB, "--env", "lab", "--environments", str(envs), "--request-timeout", "2", kubeconfig=kubeconfig
    )
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and expected.format(url=kube.url) in done.stderr, done.stderr


def test_what_the_server_names_is_printed_escaped(kube, envs, kubeconfig):
    """Names, reasons and messages holding terminal escapes, in every human output."""
    job_obj = admitted(submitted(kube, "single-gpu", "finetune-l4-h8j9k"))
    job_obj["metadata"]["labels"]["app.kubernetes.io/name"] = "finetune\x1b[8m"  # listed in the SPEC column
    kube.put(with_status(job_obj, failed=1, conditions=[("Failed", "Backoff\x1b]0;owned\x07")], completionTime=ESCAPES))
    evil = pod(job_obj, 0, "aaaaa", "Failed", exit_code=1, reason="Error\x1b[2J\x1b[H")
    evil["spec"]["nodeName"] = "node\x1b]52;c;cm0gLXJmIH4=\x07"
    kube.put(evil)
    for verb, args in (
        ("status", ("research/finetune-l4-h8j9k",)),
        ("list", ()),
        ("wait", ("research/finetune-l4-h8j9k",)),
    ):
        result = job(verb, *args, envs=envs)
        assert "\x1b" not in result.out + result.err and "Traceback" not in result.err
        assert "\\x1b" in result.out + result.err, (verb, result.out)
        assert all(line.isprintable() for line in (result.out + result.err).splitlines())


def test_fields_of_the_wrong_type_count_as_absent(kube, envs, kubeconfig):
    job_obj = admitted(submitted(kube, "multi-node-ddp", "pretrain-2x4-k7q2m"))
    broken = with_status(job_obj, restarts="one")
    broken["spec"]["replicatedJobs"][0]["template"]["spec"].update(completions={"n": 2}, parallelism="two")
    broken["spec"]["replicatedJobs"][0]["replicas"] = -3
    broken["status"]["conditions"] = [7, {"type": ["Completed"], "status": "True"}, None]
    kube.put(broken)
    kube.put(child_job(job_obj, active="two", failed=[1], uncountedTerminatedPods={"failed": "x"}, startTime=5))
    weird = pod(job_obj, 0, "a1b2c", "Running", restarts=0)
    weird["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"] = "²"  # a digit to str.isdigit
    weird["status"]["containerStatuses"] = [{"name": "trainer", "restartCount": "many", "state": {"terminated": 5}}]
    weird["status"]["phase"] = ["Running"]
    kube.put(weird)
    result = job("status", JOB, "--format", "json", envs=envs)
    assert result.code == 0, result.err
    state = json.loads(result.out)["job"]
    assert (state["active"], state["failed"], state["completions"], state["uncounted_failed"]) == (0, 0, 1, 0)
    assert (state["state"], state["restarts"], state["started"]) == ("Pending", 0, None)
    assert [(p["index"], p["phase"], p["restarts"], p["exit_code"]) for p in state["pods"]] == [
        (None, "Unknown", 0, None)
    ]


# -- logs -----------------------------------------------------------------------------------------------------

LOG = b"step 1 \x1b[32mok\x1b[0m\r\nstep 2 \x1b]52;c;cm0gLXJmIH4=\x07\x1b[2J tab\there \xff\xfe\n"


def test_logs_show_control_characters_escaped_and_raw_passes_the_bytes(kube, envs, kubeconfig):
    preempted_ddp(kube)
    kube.logs[("research", "pretrain-2x4-k7q2m-node-0-0-z9y8x")] = LOG
    result = job("logs", JOB, envs=envs)
    assert result.code == 0, result.err
    assert (
        result.out == "step 1 \x1b[32mok\x1b[0m\r\nstep 2 \\x1b]52;c;cm0gLXJmIH4=\\x07\\x1b[2J tab\there \ufffd\ufffd\n"
    )
    raw = subprocess.run(
        [sys.executable, "-m", "gkeml.cli", "job", "logs", JOB, "--env", "lab", "--environments", str(envs), "--raw"],
        cwd=ROOT,
        env=dict(os.environ, KUBECONFIG=str(kubeconfig)),
        capture_output=True,
        timeout=60,
    )
    assert raw.returncode == 0 and raw.stdout == LOG
    result = job("logs", JOB, "--format", "json", envs=envs)
    assert json.loads(result.out)["logs"][0]["log"] == LOG.decode("utf-8", "replace")


def test_a_log_larger_than_the_limit_is_cut_with_a_note(kube, envs, kubeconfig):
    preempted_ddp(kube)
    kube.logs[("research", "pretrain-2x4-k7q2m-node-0-0-z9y8x")] = b"x" * (LIMIT + 100)
    kube.hostile = lambda r: Answer(200, b"y" * (LIMIT + 100), "text/plain") if r.path.endswith("/log") else None
    result = job("logs", JOB, envs=envs)
    assert result.code == 0 and len(result.out) == LIMIT + 1  # the cut log and a newline
    assert result.errors == [
        "gkeml job logs: warning: the log of pretrain-2x4-k7q2m-node-0-0-z9y8x is longer than 32 MiB and was cut there; "
        "--tail N shows its end"
    ]


def test_a_silent_log_stream_is_resumed_while_the_container_runs_and_timeout_bounds_it(kube, envs, kubeconfig):
    preempted_ddp(kube)
    streams = []

    def stream(request):
        if not request.path.endswith("/log"):
            return None
        streams.append(request.query)
        if len(streams) == 1:  # a line, then silence longer than the request timeout
            return Answer(chunks=iter([b"first line\n", b"second line\n"]), pause=3.0, content_type="text/plain")
        return Answer(200, b"after the silence\n", "text/plain")  # the container ends: the stream closes

    kube.hostile = stream
    result = job("logs", JOB, "--follow", envs=envs, timeout="1")
    assert result.code == 0, result.err
    assert result.out == "first line\nafter the silence\n"
    assert streams[0] == {"container": "trainer", "follow": "true"}
    assert streams[1]["follow"] == "true" and int(streams[1]["sinceSeconds"]) >= 1 and "tailLines" not in streams[1]
    assert any(p.endswith("/pods/pretrain-2x4-k7q2m-node-0-0-z9y8x") for _, p, _, _ in kube.requests)  # still running?
    # a stream that never ends is bounded by --timeout
    streams.clear()
    kube.hostile = lambda r: (
        Answer(chunks=(b"tick\n" for _ in range(100)), pause=0.2, content_type="text/plain")
        if r.path.endswith("/log")
        else None
    )
    result = job("logs", JOB, "--follow", "--timeout", "1", envs=envs)
    assert result.code == 1 and result.out.startswith("tick\n")
    assert result.errors == ["gkeml job logs: error: pretrain-2x4-k7q2m-node-0-0-z9y8x still running after 1 s"]


# -- doctor --------------------------------------------------------------------------------------------

DOCTOR_MODES = {
    "huge": "an answer larger than 32 MiB",
    "deep": "JSON nested deeper than 100 levels",
    "html": "",
    "shape": "",
    "escapes": "\\x1b[31mred\\x1b[0m \\x1b]0;owned\\x07",
    "silent": "timed out",
    "drip": "an answer still arriving after 2 s",
}
CLOSED = "http://127.0.0.1:1"  # nothing listens: refused at once


@pytest.fixture(scope="module")
def healthy_gke():
    """A GKE REST server with lab's healthy cluster, for the runs whose hostile server is another API."""
    with serving(GkeApi()) as gke:
        serve_dev(gke)
        yield gke


def doctor_args(flag: str, url: str, gke: GkeApi) -> list[str]:
    """``gkeml doctor lab`` with the API of ``flag`` at ``url``, GKE healthy (unless it is the one), the
    third API refused at once, answers within 2 s (the drip sends a byte a second: never 2 s of silence)."""
    args = ["doctor", "lab", "--environments", str(ENVIRONMENTS), "--no-toolchain", "--request-timeout", "2"]
    if flag == "--endpoint":
        return [*args, "--endpoint", url, "--no-services"]
    other = "--compute-endpoint" if flag == "--resource-manager-endpoint" else "--resource-manager-endpoint"
    return [*args, "--endpoint", gke.url, flag, url, other, CLOSED]


def assert_doctor_advice(code: int, out: str, err: str, mode: str) -> None:
    assert code == 2, (code, err)
    errors = [line for line in err.splitlines() if not line.startswith("doctor: reading")]
    assert len(errors) == 1 and errors[0].startswith("gkeml doctor: "), err
    assert "Traceback" not in err and "\x1b" not in out + err
    assert DOCTOR_MODES[mode] in out + err, (out, err)


@pytest.mark.parametrize("mode", ["huge", "deep", "html", "shape", "escapes"])
@pytest.mark.parametrize("flag", ["--endpoint", "--resource-manager-endpoint", "--compute-endpoint"])
def test_doctor_against_a_hostile_server_is_one_line_of_advice(flag, mode, healthy_gke):
    with serving(LoopbackServer(lambda request: HOSTILE[mode]())) as server:
        result = gkeml(*doctor_args(flag, server.url, healthy_gke))
    assert_doctor_advice(result.code, result.out, result.err, mode)


@pytest.mark.parametrize("mode", ["silent", "drip"])
@pytest.mark.parametrize("flag", ["--endpoint", "--compute-endpoint"])
def test_doctor_against_a_silent_or_dripping_server_ends_at_its_request_timeout(flag, mode, healthy_gke):
    with serving(LoopbackServer(lambda request: HOSTILE[mode]())) as server:
        done = subprocess.run(
            [sys.executable, "-m", "gkeml.cli", *doctor_args(flag, server.url, healthy_gke)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=90,  # a client without a deadline would hang here: the test fails instead
        )
    assert_doctor_advice(done.returncode, done.stdout, done.stderr, mode)


def test_the_doctor_bounds_the_gke_clients_own_session():
    """cluster_client bounds the REST transport's session (a private attribute of google-cloud-container)."""
    from gkeml.doctor.api import cluster_client

    client = cluster_client(CLOSED)
    hooks = client.transport._session.hooks["response"]
    assert [h.__name__ for h in hooks] == ["read_within_limits"]
