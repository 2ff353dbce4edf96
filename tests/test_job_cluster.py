"""``gkeml job submit`` and the kubeconfig context checks, against a Kubernetes API on 127.0.0.1.

``KubeApi`` is a small in-memory Kubernetes API server (a real HTTP server on loopback,
tests/servers.py) that answers the paths gkeml uses: Jobs, Pods, Services, pod logs, ``/version``,
Kueue Workloads and the Kueue visibility API, in the JSON shapes of the Kubernetes API (``Status``
objects for errors, ``dryRun=All`` and the uid precondition of a delete honoured, label selectors
filtered, a DELETE of a collection deleting every object it selects, as the API server does).
The CLI runs as a real process with the real ``kubernetes`` client pointed at it through a
kubeconfig; nothing in the client is mocked.
``tests/test_job_lifecycle.py`` uses the same server for list/status/logs/wait/delete.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import jobset_crd
import pytest
import yaml
from servers import Answer, LoopbackServer, Request, serving
from test_jobs import GOOD, LAB, ROOT, lab_environment, write_environments

from gkeml import platform
from gkeml.jobs import load_job_spec, render
from gkeml.jobs.cluster import Context, ExpectedCluster, context_problem

# The DNS-only twin of LAB: no public IP endpoint, so only `get-credentials --dns-endpoint` works.
VAULT = (
    LAB.replace("name: lab\ntier: dev\nprefix: lab-ml", "name: vault\ntier: prod\nprefix: vault-ml")
    .replace('id: lab-ml-project, number: "200000000001"', 'id: vault-ml-project, number: "300000000003"')
    .replace(
        "cluster:\n  public_endpoint: true\n  authorized_networks: [{name: office, cidr: 198.51.100.0/24}]\n",
        "cluster:\n  binary_authorization: {allowed_images: [us-central1-docker.pkg.dev/acme-ml-dev/training/**]}\n",
    )
    .replace("bucket: lab-ml-tfstate", "bucket: vault-ml-tfstate")
)
LAB_ENTRY = "gke_lab-ml-project_us-central1_lab-ml"
VAULT_ENTRY = "gke_vault-ml-project_us-central1_vault-ml"
GKE_VERSION = "v1.33.5-gke.1162000"


def status_body(code: int, reason: str, message: str) -> dict:
    """A Kubernetes API error (metav1.Status)."""
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


def matches(obj: dict, selector: str | None) -> bool:
    """Equality and existence label selectors (``a=b,c``), as gkeml sends them."""
    labels = (obj.get("metadata") or {}).get("labels") or {}
    for term in filter(None, (selector or "").split(",")):
        key, equals, value = term.partition("=")
        if (labels.get(key) != value) if equals else key not in labels:
            return False
    return True


RESOURCES = {  # collection path segment -> (API prefix, kind)
    "jobs": ("/apis/batch/v1", "Job"),
    "jobsets": ("/apis/jobset.x-k8s.io/v1alpha2", "JobSet"),
    "pods": ("/api/v1", "Pod"),
    "services": ("/api/v1", "Service"),
}


class KubeApi(LoopbackServer):
    """An in-memory Kubernetes API on 127.0.0.1 (see the module docstring). ``hostile`` may answer a
    request instead (tests/servers.py HOSTILE), e.g. only the GETs of one path."""

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str, str], dict] = {}  # (resource, namespace, name) -> object
        self.job_states: dict[tuple[str, str], list[dict]] = {}  # successive GET answers for one Job
        self.logs: dict[tuple[str, str], str | bytes] = {}  # (namespace, pod) -> trainer log
        self.kueue_version: str | None = None  # Workload API version served (None: no Kueue)
        self.workloads: list[dict] = []
        self.pending: dict[tuple[str, str], list[dict]] = {}  # (namespace, local queue) -> pending workloads
        self.version = GKE_VERSION
        self.jobset_api = True  # whether the JobSet CRD is installed (404 on its group otherwise)
        self.requests: list[tuple[str, str, dict, dict | None]] = []  # method, path, query, JSON body
        self.hostile: Callable[[Request], Answer | None] | None = None

    def respond(self, request: Request) -> Answer:
        body = request.json()
        self.requests.append((request.method, request.path, request.query, body))
        if self.hostile is not None:
            answer = self.hostile(request)
            if answer is not None:
                return answer
        status, payload = self.answer(request.method, request.path, request.query, body)
        if isinstance(payload, bytes):
            return Answer(status, payload, "text/plain")
        return Answer(status, payload)

    # -- what the tests put in -------------------------------------------------------------------
    def put(self, obj: dict) -> dict:
        """Store an object as the API server would hold it (uid, creationTimestamp)."""
        resource = {"Job": "jobs", "JobSet": "jobsets", "Pod": "pods", "Service": "services"}[obj["kind"]]
        meta = obj.setdefault("metadata", {})
        meta.setdefault("uid", str(uuid.uuid4()))
        meta.setdefault("creationTimestamp", "2026-11-20T10:00:00Z")
        self.store[(resource, meta["namespace"], meta["name"])] = obj
        return obj

    def sent(self, method: str | None = None) -> list[tuple[str, str, dict, dict | None]]:
        """Requests received (of one method)."""
        return [r for r in self.requests if method is None or r[0] == method]

    # -- answering -------------------------------------------------------------------------------
    def answer(self, method: str, path: str, query: dict, body: dict | None) -> tuple[int, dict | str | bytes]:
        if path in ("/version", "/version/") and method == "GET":
            return 200, {"major": "1", "minor": "33", "gitVersion": self.version, "platform": "linux/amd64"}
        if path.startswith("/apis/kueue.x-k8s.io/") or path.startswith("/apis/visibility.kueue.x-k8s.io/"):
            return self.kueue(path)
        found = re.fullmatch(
            r"(/apis/batch/v1|/apis/jobset\.x-k8s\.io/v1alpha2|/api/v1)(?:/namespaces/([^/]+))?/(jobs|jobsets|pods|services)"
            r"(?:/([^/]+))?(/log)?/?",
            path,
        )
        if not found:
            return 404, status_body(404, "NotFound", "the server could not find the requested resource")
        prefix, namespace, resource, name, log = found.groups()
        if RESOURCES[resource][0] != prefix or (resource == "jobsets" and not self.jobset_api):
            return 404, status_body(404, "NotFound", "the server could not find the requested resource")
        key = (resource, namespace, name)
        if log:
            if (namespace, name) not in self.logs:
                return 404, status_body(404, "NotFound", f'pods "{name}" not found')
            text = self.logs[(namespace, name)]
            data = text.encode() if isinstance(text, str) else text
            tail = query.get("tailLines")
            if tail:
                data = b"".join(data.splitlines(keepends=True)[-int(tail) :])
            return 200, data[: int(query["limitBytes"])] if "limitBytes" in query else data
        if method == "GET" and name:
            if key in self.store and self.job_states.get((namespace, name)):  # a Job's or a JobSet's
                states = self.job_states[(namespace, name)]
                return 200, states.pop(0) if len(states) > 1 else states[0]
            if key not in self.store:
                return 404, status_body(
                    404,
                    "NotFound",
                    f'{resource}.{prefix.split("/")[-2] if prefix != "/api/v1" else ""} "{name}" not found'.replace(
                        ".v1 ", " "
                    ).replace(". ", " "),
                )
            return 200, self.store[key]
        if method == "GET":
            items = [
                o
                for (r, ns, _), o in sorted(self.store.items())
                if r == resource and (namespace is None or ns == namespace) and matches(o, query.get("labelSelector"))
            ]
            return 200, {"kind": RESOURCES[resource][1] + "List", "apiVersion": "v1", "metadata": {}, "items": items}
        if method == "POST":
            if body.get("kind") != RESOURCES[resource][1] or body["metadata"].get("namespace") != namespace:
                return 400, status_body(400, "BadRequest", "kind or namespace does not match the path")
            key = (resource, namespace, body["metadata"]["name"])
            if key in self.store:
                return 409, status_body(409, "AlreadyExists", f'{resource} "{body["metadata"]["name"]}" already exists')
            if query.get("dryRun") == "All":
                return 201, body
            return 201, self.put(json.loads(json.dumps(body)))
        if method == "DELETE" and name is None:
            # deletecollection, as the API server does it: every object of the namespace the selector matches
            doomed = [
                k
                for k, o in self.store.items()
                if k[0] == resource and k[1] == namespace and matches(o, query.get("labelSelector"))
            ]
            for k in doomed:
                del self.store[k]
            return 200, {"kind": RESOURCES[resource][1] + "List", "apiVersion": "v1", "items": []}
        if method == "DELETE":
            if key not in self.store:
                return 404, status_body(404, "NotFound", f'{resource} "{name}" not found')
            want = ((body or {}).get("preconditions") or {}).get("uid")
            have = self.store[key]["metadata"]["uid"]
            if want is not None and want != have:
                return 409, status_body(
                    409,
                    "Conflict",
                    f"Precondition failed: UID in precondition: {want}, UID in object meta: {have}",
                )
            del self.store[key]
            return 200, {"kind": "Status", "apiVersion": "v1", "status": "Success", "details": {"name": name}}
        return 405, status_body(405, "MethodNotAllowed", method)

    def kueue(self, path: str) -> tuple[int, dict]:
        missing = 404, status_body(404, "NotFound", "the server could not find the requested resource")
        if self.kueue_version is None:
            return missing
        found = re.fullmatch(r"/apis/kueue\.x-k8s\.io/([^/]+)(?:/namespaces/([^/]+))?/workloads", path)
        if found:
            version, namespace = found.groups()
            if version != self.kueue_version:
                return missing
            items = [w for w in self.workloads if namespace is None or w["metadata"]["namespace"] == namespace]
            return 200, {"apiVersion": f"kueue.x-k8s.io/{version}", "kind": "WorkloadList", "items": items}
        found = re.fullmatch(
            r"/apis/visibility\.kueue\.x-k8s\.io/([^/]+)/namespaces/([^/]+)/localqueues/([^/]+)"
            r"/pendingworkloads",
            path,
        )
        if found and found.group(1) == self.kueue_version:
            return 200, {
                "kind": "PendingWorkloadsSummary",
                "apiVersion": f"visibility.kueue.x-k8s.io/{found.group(1)}",
                "metadata": {},
                "items": self.pending.get((found.group(2), found.group(3)), []),
            }
        return missing


@pytest.fixture
def kube():
    """A running in-memory Kubernetes API, stopped at the end of the test."""
    with serving(KubeApi()) as api:
        yield api


def write_kubeconfig(
    path: Path, server: str, entry: str, context: str | None = None, namespace: str | None = None, current: bool = True
) -> Path:
    """A kubeconfig with one context for ``server`` (no credentials: the server is plain HTTP on loopback)."""
    context = context or entry
    ctx: dict = {"cluster": entry, "user": "tester"}
    if namespace:
        ctx["namespace"] = namespace
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [{"name": entry, "cluster": {"server": server}}],
        "users": [{"name": "tester", "user": {}}],
        "contexts": [{"name": context, "context": ctx}],
    }
    if current:
        config["current-context"] = context
    path.write_text(yaml.safe_dump(config))
    return path


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def envs(tmp_path) -> Path:
    """--environments with the test environments: lab (public IP endpoint) and vault (DNS endpoint only)."""
    return write_environments(tmp_path / "environments", lab=LAB, vault=VAULT)


def gkeml(*args: str, kubeconfig: Path | None = None) -> subprocess.CompletedProcess:
    """The ``gkeml`` command line, as a user runs it, with its own KUBECONFIG."""
    environ = dict(os.environ, KUBECONFIG=str(kubeconfig) if kubeconfig else "/nonexistent/kubeconfig")
    return subprocess.run(
        [sys.executable, "-m", "gkeml.cli", *args], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=120
    )


# -- which cluster (pure) --------------------------------------------------------------------------


def test_the_environment_names_its_cluster_and_get_credentials_command():
    lab, vault = ExpectedCluster.of(lab_environment()), ExpectedCluster.of(lab_environment(VAULT, "vault.yaml"))
    assert lab.kubeconfig_entry == LAB_ENTRY
    assert (
        lab.get_credentials == "gcloud container clusters get-credentials lab-ml --region us-central1 --project "
        "lab-ml-project"
    )
    assert (
        vault.get_credentials == "gcloud container clusters get-credentials vault-ml --region us-central1 "
        "--project vault-ml-project --dns-endpoint"
    )


@pytest.mark.parametrize(
    "entry, server, problem",
    [
        (LAB_ENTRY, "https://34.118.0.10", None),
        (LAB_ENTRY, "https://gke-0a1b2c-200000000001.us-central1.gke.goog", None),
        (VAULT_ENTRY, "https://34.118.0.10", "uses cluster 'gke_vault-ml-project_us-central1_vault-ml', not lab's"),
        ("kind-kind", "https://127.0.0.1:6443", "uses cluster 'kind-kind', not lab's"),
        (LAB_ENTRY, "https://gke-0a1b2c-300000000003.us-central1.gke.goog", "which is not a cluster of project number"),
        (
            LAB_ENTRY,
            "https://gke-0a1b2c-200000000001.europe-west4.gke.goog",
            "which is not a cluster of project number",
        ),
        (LAB_ENTRY, "http://[::1", "has a server that is not a URL: 'http://[::1'"),  # urlsplit raises
    ],
)
def test_a_context_is_the_environments_cluster_only_when_entry_and_dns_endpoint_agree(entry, server, problem):
    found = context_problem(Context("ctx", entry, server), ExpectedCluster.of(lab_environment()), "lab")
    assert (found is None) if problem is None else (problem in found), found


def test_a_dns_only_environment_refuses_an_ip_endpoint():
    vault = ExpectedCluster.of(lab_environment(VAULT, "vault.yaml"))
    assert "has only the DNS endpoint" in context_problem(
        Context("c", VAULT_ENTRY, "https://34.118.0.10"), vault, "vault"
    )
    assert (
        context_problem(Context("c", VAULT_ENTRY, "https://gke-9f-300000000003.us-central1.gke.goog"), vault, "vault")
        is None
    )


# -- refusing the wrong cluster (CLI) -----------------------------------------------------------------


def test_submit_with_env_refuses_another_clusters_context_and_prints_the_exact_command(kube, envs, tmp_path):
    kubeconfig = write_kubeconfig(tmp_path / "config", kube.url, LAB_ENTRY)
    done = gkeml(
        "job",
        "submit",
        "examples/jobs/single-gpu.yaml",
        "--env",
        "vault",
        "--environments",
        str(envs),
        kubeconfig=kubeconfig,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip() == (
        f"gkeml job submit: context '{LAB_ENTRY}' uses cluster '{LAB_ENTRY}', not vault's '{VAULT_ENTRY}'; run "
        "'gcloud container clusters get-credentials vault-ml --region us-central1 --project vault-ml-project "
        "--dns-endpoint' (nothing was sent to the cluster)"
    )
    assert kube.requests == []


def test_submit_with_env_refuses_the_ip_endpoint_of_a_dns_only_environment(kube, envs, tmp_path):
    kubeconfig = write_kubeconfig(tmp_path / "config", kube.url, VAULT_ENTRY)
    done = gkeml(
        "job",
        "submit",
        "examples/jobs/single-gpu.yaml",
        "--env",
        "vault",
        "--environments",
        str(envs),
        kubeconfig=kubeconfig,
    )
    assert done.returncode == 2 and "but vault has only the DNS endpoint" in done.stderr
    assert "--dns-endpoint' (nothing was sent to the cluster)" in done.stderr and kube.requests == []


def test_without_a_context_nothing_is_sent_and_the_command_is_named(envs, tmp_path):
    done = gkeml("job", "submit", "examples/jobs/single-gpu.yaml", "--env", "lab", "--environments", str(envs))
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "gkeml job submit: no current kubectl context; run 'gcloud container clusters "
        "get-credentials lab-ml --region us-central1 --project lab-ml-project' or pass "
        "--context (nothing was sent to the cluster)"
    )
    kubeconfig = write_kubeconfig(tmp_path / "config", "http://127.0.0.1:1", LAB_ENTRY)
    done = gkeml(
        "job",
        "submit",
        "examples/jobs/single-gpu.yaml",
        "--env",
        "lab",
        "--environments",
        str(envs),
        "--context",
        "other",
        kubeconfig=kubeconfig,
    )
    assert done.returncode == 2
    assert f"context 'other' does not exist; defined: {LAB_ENTRY}" in done.stderr


# -- submit through the kubernetes client ----------------------------------------------------------------


def test_submit_creates_the_rendered_objects_under_a_new_run_name(kube, envs, tmp_path):
    """A multi-node run is one JobSet (its Job, pods and headless Service are the JobSet controller's)."""
    kubeconfig = write_kubeconfig(tmp_path / "config", kube.url, LAB_ENTRY)
    lab = lab_environment()
    names = []
    for _ in range(2):
        done = gkeml(
            "job",
            "submit",
            "examples/jobs/multi-node-ddp.yaml",
            "--env",
            "lab",
            "--environments",
            str(envs),
            kubeconfig=kubeconfig,
        )
        assert done.returncode == 0, done.stderr
        (post,) = kube.sent("POST")[-1:]
        assert post[1] == "/apis/jobset.x-k8s.io/v1alpha2/namespaces/research/jobsets"
        name = post[3]["metadata"]["name"]
        assert re.fullmatch(r"pretrain-2x4-[a-z0-9]{5}", name)
        (jobset,) = render(load_job_spec("examples/jobs/multi-node-ddp.yaml", lab), lab, name)
        assert post[3] == jobset and jobset_crd.problems(post[3]) == []
        assert "dryRun" not in post[2]
        assert done.stdout.splitlines() == [
            f"created: JobSet research/{name}",
            f"follow it: gkeml job wait research/{name} --env lab  (status, logs, delete alike)",
        ]
        names.append(name)
    assert names[0] != names[1] and len(kube.sent("POST")) == 2
    assert ("jobsets", "research", names[0]) in kube.store and ("jobsets", "research", names[1]) in kube.store


def test_a_cluster_without_the_jobset_api_is_named_and_nothing_is_created(kube, envs, tmp_path):
    """A multi-node job on a cluster where the JobSet controller is not installed: exit 1, with the setting."""
    kubeconfig = write_kubeconfig(tmp_path / "config", kube.url, LAB_ENTRY)
    kube.jobset_api = False
    done = gkeml(
        "job",
        "submit",
        "examples/jobs/multi-node-ddp.yaml",
        "--env",
        "lab",
        "--environments",
        str(envs),
        "--name",
        "ddp-run",
        kubeconfig=kubeconfig,
    )
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "gkeml job submit: create JobSet research/ddp-run: the cluster serves no jobset.x-k8s.io/v1alpha2 API "
        f"(context '{LAB_ENTRY}'): the JobSet controller is not installed (jobset.enabled in the environment "
        "file); nothing was created"
    )
    assert [(m, p) for m, p, _, _ in kube.requests if m != "GET"] == [
        ("POST", "/apis/jobset.x-k8s.io/v1alpha2/namespaces/research/jobsets")
    ]
    assert kube.store == {}
    done = gkeml(
        "job",
        "submit",
        "examples/jobs/multi-node-ddp.yaml",
        "--env",
        "lab",
        "--environments",
        str(envs),
        "--name",
        "d" * 49,
        kubeconfig=kubeconfig,
    )
    assert done.returncode == 2 and "is not a JobSet name for 2 nodes" in done.stderr and "at most 48" in done.stderr


def test_submit_dry_run_is_a_server_side_dry_run(kube, envs, tmp_path):
    kubeconfig = write_kubeconfig(tmp_path / "config", kube.url, LAB_ENTRY)
    done = gkeml(
        "job",
        "submit",
        "examples/jobs/single-gpu.yaml",
        "--env",
        "lab",
        "--environments",
        str(envs),
        "--dry-run",
        "--name",
        "finetune-check",
        "--format",
        "json",
        kubeconfig=kubeconfig,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "context": LAB_ENTRY,
        "namespace": "research",
        "name": "finetune-check",
        "kind": "Job",
        "dry_run": True,
        "objects": ["Job research/finetune-check"],
    }
    (post,) = kube.sent("POST")
    assert post[2] == {"dryRun": "All"} and post[3]["metadata"]["name"] == "finetune-check"
    assert not [k for k in kube.store if k[0] == "jobs"], "a dry run creates nothing"


def test_submit_with_a_taken_name_fails_with_the_api_message(kube, envs, tmp_path):
    kubeconfig = write_kubeconfig(tmp_path / "config", kube.url, LAB_ENTRY)
    args = (
        "job",
        "submit",
        "examples/jobs/single-gpu.yaml",
        "--env",
        "lab",
        "--environments",
        str(envs),
        "--name",
        "finetune-fixed",
    )
    assert gkeml(*args, kubeconfig=kubeconfig).returncode == 0
    done = gkeml(*args, kubeconfig=kubeconfig)
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"gkeml job submit: create Job research/finetune-fixed: 409 jobs "
        f"\"finetune-fixed\" already exists (context '{LAB_ENTRY}')"
    )
    done = gkeml(*args[:-1], "Bad_Name", kubeconfig=kubeconfig)
    assert done.returncode == 2 and "--name: 'Bad_Name' is not a Job name" in done.stderr


def test_submit_to_an_unreachable_cluster_exits_1(envs, tmp_path):
    server = f"http://127.0.0.1:{closed_port()}"
    kubeconfig = write_kubeconfig(tmp_path / "config", server, LAB_ENTRY)
    done = gkeml(
        "job",
        "submit",
        "examples/jobs/single-gpu.yaml",
        "--env",
        "lab",
        "--environments",
        str(envs),
        kubeconfig=kubeconfig,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("gkeml job submit: create Job research/finetune-l4-")
    assert f"cannot reach {server} (context '{LAB_ENTRY}')" in done.stderr and "refused" in done.stderr


def test_submit_without_env_names_the_context_it_uses(kube, tmp_path):
    spec = tmp_path / "standalone.yaml"
    spec.write_text(GOOD + "identity: trainer\ncheckpoints: {bucket: gs://team-ckpt, prefix: t}\n")
    kubeconfig = write_kubeconfig(tmp_path / "config", kube.url, "my-cluster", context="mine")
    done = gkeml("job", "submit", str(spec), "--name", "t-run", kubeconfig=kubeconfig)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == (
        f"gkeml job submit: using kubectl context 'mine' (cluster 'my-cluster', {kube.url}); "
        "pass --env ENV to check it is that environment's cluster"
    )
    (post,) = kube.sent("POST")
    volumes = post[3]["spec"]["template"]["spec"]["volumes"]
    assert [v["csi"]["volumeAttributes"]["bucketName"] for v in volumes if "csi" in v] == ["team-ckpt"]


def test_flex_start_needs_a_gke_version_that_has_it(kube, tmp_path):
    envs = write_environments(tmp_path / "unqueued", lab=LAB + "kueue: {enabled: false}\n")  # queued: GKE041
    kubeconfig = write_kubeconfig(tmp_path / "config", kube.url, LAB_ENTRY)
    spec = tmp_path / "flex.yaml"
    spec.write_text(GOOD + "flex_start: true\n")
    kube.version = "v1.33.0-gke.1500000"
    done = gkeml("job", "submit", str(spec), "--env", "lab", "--environments", str(envs), kubeconfig=kubeconfig)
    assert done.returncode == 2 and kube.sent("POST") == []
    assert (
        f"flex_start needs GKE {platform.FLEX_START_MIN_GKE_VERSION} or later; the cluster runs "
        "v1.33.0-gke.1500000 (nothing was created)"
    ) in done.stderr
    kube.version = GKE_VERSION
    done = gkeml("job", "submit", str(spec), "--env", "lab", "--environments", str(envs), kubeconfig=kubeconfig)
    assert done.returncode == 0, done.stderr
    (post,) = kube.sent("POST")
    assert post[3]["spec"]["template"]["spec"]["nodeSelector"][platform.FLEX_START_LABEL] == "true"


def test_a_context_whose_server_is_not_a_url_is_a_setup_error(tmp_path):
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
        'clusters: [{name: k, cluster: {server: "http://[::1"}}]\n'
        "users: [{name: u, user: {token: t}}]\n"
    )
    done = gkeml("job", "list", kubeconfig=kubeconfig)
    assert done.returncode == 2 and done.stdout == "", done.stderr
    assert done.stderr.strip().endswith(
        "gkeml job list: context 'c': Invalid IPv6 URL (nothing was sent to the cluster)"
    )


def test_an_unreadable_kubeconfig_is_a_setup_error(tmp_path):
    broken = tmp_path / "config"
    broken.write_text("clusters: [\n")
    done = gkeml("job", "list", kubeconfig=broken)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith(f"gkeml job list: unreadable kubeconfig {broken}: ")
    assert done.stderr.strip().endswith("(nothing was sent to the cluster)")
