"""A fake Kubernetes API for the job verbs, the objects it holds, and how the tests run ``gkeml job`` against it.

:class:`KubeApi` is a small in-memory Kubernetes API server (a real HTTP server on loopback, tests/servers.py)
that answers the paths gkeml uses: Jobs, JobSets, Pods, Services, pod logs, ``/version``, Kueue Workloads and the Kueue
visibility API, in the JSON shapes of the Kubernetes API (``Status`` objects for errors, ``dryRun=All`` and the
uid precondition of a delete honoured, label selectors filtered, a DELETE of a collection deleting every object
it selects, as the API server does). The ``kube`` fixture (tests/conftest.py) runs one for a test.

The objects put into it (:func:`submitted`, :func:`pod`, :func:`workload`, ...) are what the API returns for
gkeml's own rendered Jobs and JobSets (the canonical specs in the tests' environment) once the Job controller, the kubelet
and Kueue have written their status: pods per completion index, a Spot preemption (``DisruptionTarget``), exit
codes, Kueue Workloads owned by the Job.
"""

from __future__ import annotations

import copy
import json
import os
import re
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import yaml
from conftest import ROOT
from job_env import LAB, lab_environment
from servers import Answer, LoopbackServer, Request

from gkeml import platform
from gkeml.jobs import load_job_spec, render

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


def gkeml(*args: str, kubeconfig: Path | None = None) -> subprocess.CompletedProcess:
    """The ``gkeml`` command line, as a user runs it, with its own KUBECONFIG."""
    environ = dict(os.environ, KUBECONFIG=str(kubeconfig) if kubeconfig else "/nonexistent/kubeconfig")
    return subprocess.run(
        [sys.executable, "-m", "gkeml.cli", *args], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=120
    )


# -- what the API holds for a job gkeml rendered --------------------------------------------------

STARTED = "2026-11-20T10:00:05Z"


def submitted(kube, example: str, name: str) -> dict:
    """Put the Job (or JobSet) gkeml renders for ``example`` (run ``name``) into the API, as created."""
    lab = lab_environment()
    (run,) = render(load_job_spec(f"examples/jobs/{example}.yaml", lab), lab, name)
    kube.put(run)
    return run


def admitted(job: dict) -> dict:
    """The Job (JobSet) after Kueue admitted it: rendered jobs are created suspended in their queue, Kueue unsuspends them."""
    return dict(job, spec=dict(job["spec"], suspend=False))


def with_status(job: dict, **status) -> dict:
    """The Job (JobSet) as the API returns it with this ``status`` (and conditions given as (type, reason) pairs)."""
    job = copy.deepcopy(job)
    conditions = status.pop("conditions", [])
    job["status"] = {
        **({"startTime": STARTED} if job["kind"] == "Job" else {}),
        **status,
        "conditions": [
            {"type": t, "status": "True", "reason": r, "message": f"{t} because {r}", "lastTransitionTime": STARTED}
            for t, r in conditions
        ],
    }
    return job


def child_job(jobset: dict, **status) -> dict:
    """The one Job the JobSet controller makes of a gkeml JobSet (<jobset>-node-0), with this ``status``."""
    meta = jobset["metadata"]
    (rjob,) = jobset["spec"]["replicatedJobs"]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": f"{meta['name']}-{rjob['name']}-0",
            "namespace": meta["namespace"],
            "labels": {platform.JOBSET_NAME_LABEL: meta["name"], "jobset.sigs.k8s.io/replicatedjob-name": rjob["name"]},
        },
        "spec": rjob["template"]["spec"],
        "status": {"startTime": STARTED, **status},
    }


def pod(
    job: dict,
    index: int,
    suffix: str,
    phase: str,
    exit_code: int | None = None,
    reason: str | None = None,
    preempted: bool = False,
    restarts: int = 0,
) -> dict:
    """A pod of ``job`` (a Job, or a JobSet's one Job) for completion ``index`` as the kubelet reports it."""
    if job["kind"] == "JobSet":
        (rjob,) = job["spec"]["replicatedJobs"]
        name = f"{job['metadata']['name']}-{rjob['name']}-0"
        labels = dict(
            rjob["template"]["spec"]["template"]["metadata"]["labels"],
            **{platform.JOB_NAME_LABEL: name, platform.JOBSET_NAME_LABEL: job["metadata"]["name"]},
        )
    else:
        name = job["metadata"]["name"]
        labels = dict(job["spec"]["template"]["metadata"]["labels"], **{platform.JOB_NAME_LABEL: name})
    state: dict = {"running": {"startedAt": STARTED}}
    if exit_code is not None:
        state = {"terminated": {"exitCode": exit_code, "reason": reason or "Error", "startedAt": STARTED}}
    conditions = [{"type": "Ready", "status": "True" if phase == "Running" else "False"}]
    if preempted:
        conditions.append(
            {
                "type": "DisruptionTarget",
                "status": "True",
                "reason": "TerminationByKubelet",
                "message": "Pod was terminated in response to imminent node shutdown.",
            }
        )
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"{name}-{index}-{suffix}",
            "namespace": job["metadata"]["namespace"],
            "labels": labels,
            "annotations": {"batch.kubernetes.io/job-completion-index": str(index)},
            "creationTimestamp": f"2026-11-20T10:0{index}:{'30' if suffix.startswith('z') else '00'}Z",
        },
        "spec": {"nodeName": f"gk3-lab-ml-nap-{index}{suffix}", "containers": [{"name": "trainer"}]},
        "status": {
            "phase": phase,
            "conditions": conditions,
            "containerStatuses": [{"name": "trainer", "restartCount": restarts, "state": state}],
        },
    }


def workload(
    job: dict,
    version: str,
    admitted: bool,
    reason: str = "QuotaReserved",
    message: str = "Quota reserved in ClusterQueue research-cq",
) -> dict:
    """The Kueue Workload owned by ``job``."""
    meta = job["metadata"]
    conditions = [
        {
            "type": "QuotaReserved",
            "status": "True" if admitted else "False",
            "reason": reason,
            "message": message,
            "lastTransitionTime": STARTED,
        }
    ]
    if admitted:
        conditions.append(
            {
                "type": "Admitted",
                "status": "True",
                "reason": "Admitted",
                "message": "The workload is admitted",
                "lastTransitionTime": STARTED,
            }
        )
    body = {
        "apiVersion": f"kueue.x-k8s.io/{version}",
        "kind": "Workload",
        "metadata": {
            "name": f"job-{meta['name']}-3f2a1",
            "namespace": meta["namespace"],
            "creationTimestamp": STARTED,
            "labels": {"kueue.x-k8s.io/job-uid": meta["uid"]},
            "ownerReferences": [
                {
                    "apiVersion": job["apiVersion"],
                    "kind": job["kind"],
                    "name": meta["name"],
                    "uid": meta["uid"],
                    "controller": True,
                }
            ],
        },
        "spec": {"queueName": "research", "podSets": [{"name": "main", "count": 2}]},
        "status": {"conditions": conditions, "requeueState": {"count": 1, "requeueAt": STARTED}},
    }
    if admitted:
        body["status"]["admission"] = {
            "clusterQueue": "research-cq",
            "podSetAssignments": [{"name": "main", "count": 2, "flavors": {"nvidia.com/gpu": "a100-80gb"}}],
        }
    return body


def preempted_ddp(kube, version: str | None = "v1beta2") -> dict:
    """A running 2-node DDP JobSet: index 0 was preempted (exit 143), the JobSet restarted the group once (not
    counted against maxRestarts), and both indexes run again; the preempted pod is still being deleted."""
    jobset = admitted(submitted(kube, "multi-node-ddp", "pretrain-2x4-k7q2m"))
    kube.put(with_status(jobset, restarts=1))
    kube.put(child_job(jobset, active=2, ready=2, failed=1, uncountedTerminatedPods={"failed": ["0c1d-uid"]}))
    kube.put(pod(jobset, 0, "a1b2c", "Failed", exit_code=143, preempted=True))
    kube.put(pod(jobset, 0, "z9y8x", "Running"))
    kube.put(pod(jobset, 1, "d4e5f", "Running", restarts=0))
    if version:
        kube.kueue_version = version
        stored = kube.store[("jobsets", "research", "pretrain-2x4-k7q2m")]
        kube.workloads.append(workload(stored, version, admitted=True))
    return jobset


def legacy_ddp(kube, name: str) -> tuple[dict, dict]:
    """A 2-node run as gkeml rendered it before JobSets: an Indexed Job and its headless Service."""
    (job,) = render(load_job_spec("examples/jobs/single-gpu.yaml", lab_environment()), lab_environment(), name)
    job["spec"].update(completions=2, parallelism=2, completionMode="Indexed")
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": "research", "labels": dict(job["metadata"]["labels"])},
        "spec": {"clusterIP": "None", "selector": {platform.JOB_NAME_LABEL: name}, "publishNotReadyAddresses": True},
    }
    service["metadata"]["labels"].pop(platform.KUEUE_QUEUE_LABEL, None)
    service["metadata"]["labels"].pop(platform.KUEUE_PRIORITY_CLASS_LABEL, None)
    return kube.put(job), kube.put(service)
