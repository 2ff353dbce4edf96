"""A submitted job on the cluster: create, read (with Kueue admission), logs, wait, delete.

A run is a batch/v1 Job, or the JobSet of a multi-node job (its one child Job and its pods are the JobSet
controller's, labelled ``jobset.sigs.k8s.io/jobset-name``); every verb finds either by the run's name (the Job
first). A multi-node run of an earlier gkeml (an Indexed Job and its headless Service) is still read and deleted.

Every request goes through :meth:`Api.request` (or :meth:`Api.stream` for logs) on the official
``kubernetes`` client's ``ApiClient`` of a :class:`gkeml.jobs.cluster.Connection` (kubeconfig,
TLS, exec credential plugins): paths are built here from names checked against the Kubernetes
name rules (:func:`name_problem`; never an empty name, so never a collection path), every request
has a connect and read timeout, every answer is read within :class:`gkeml.answers.Limits` (time,
size, JSON depth) and must have the JSON shape asked for; anything else is a one-line
:class:`ClusterError` (exit 1). Fields are read with typed accessors: a field of the wrong type
counts as absent. Kueue objects come through its API group and visibility API, and a cluster
without Kueue (404 on its API group) is simply reported as "no Kueue".

Deleting is for gkeml's own objects only: the Job or JobSet (and an earlier run's headless Service) is
read first, must carry ``app.kubernetes.io/managed-by=gkeml``, and is deleted by name with its uid as
a precondition, so a same-named object created since is never deleted; what the JobSet owns (its Job,
pods and Service) goes with it.

What a status shows:

- **state**: Succeeded / Failed (Job conditions ``Complete`` / ``Failed``, JobSet ``Completed`` /
  ``Failed``), Queued (suspended and its Kueue Workload not admitted), Suspended, Running (a pod
  runs), Pending; a JobSet's whole-group restarts (``status.restarts``);
- **admission**: the Kueue Workload owned by the Job (``status.admission.clusterQueue``,
  conditions ``QuotaReserved``/``Admitted``/``Evicted``, ``status.requeueState``) and, while it
  waits, its position in the LocalQueue from the visibility API;
- **pods per completion index**: phase, restarts, node, exit code and reason of the trainer
  container, and whether the pod was preempted (pod condition ``DisruptionTarget``);
- **counters**: active/ready/succeeded/failed pods, preempted pods, and failed pods the Job
  controller has not counted yet (``status.uncountedTerminatedPods.failed``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from gkeml import platform
from gkeml.answers import BadAnswer, Limits, parse_json, read_body
from gkeml.jobs.build import CONTAINER, MANAGED_BY
from gkeml.jobs.cluster import EXIT_FAILURE, EXIT_USAGE, ClusterError, Connection
from gkeml.manifests import Obj

# --- Kubernetes Job and Pod facts ------------------------------------------------------------
# kubernetes.io/docs/concepts/workloads/controllers/job (completion index annotation, the
# Complete/Failed/Suspended conditions, uncountedTerminatedPods) and
# kubernetes.io/docs/concepts/workloads/pods/disruptions (pod condition DisruptionTarget on
# preemption, eviction and node drain); checked 2026-11.
COMPLETION_INDEX_ANNOTATION = "batch.kubernetes.io/job-completion-index"
DISRUPTION_TARGET = "DisruptionTarget"
JOB_COMPLETE, JOB_FAILED = "Complete", "Failed"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_SELECTOR = f"{MANAGED_BY_LABEL}={MANAGED_BY}"
SPEC_NAME_LABEL = "app.kubernetes.io/name"
INSTANCE_LABEL = "app.kubernetes.io/instance"

# --- Kubernetes object names and paths ------------------------------------------------------
# k8s.io/apimachinery/pkg/util/validation/validation.go (IsDNS1123Label, IsDNS1123Subdomain;
# checked 2026-12): namespaces are labels; a Job's name is also the value of its pods' job-name
# label, so at most 63 characters: gkeml checks it as a label; pods and Kueue queues are subdomains.
DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
MAX_LABEL, MAX_SUBDOMAIN = 63, 253
API_PREFIXES = {
    "jobs": "/apis/batch/v1",
    "jobsets": f"/apis/{platform.JOBSET_API}",
    "pods": "/api/v1",
    "services": "/api/v1",
}
# A JobSet's terminal conditions (jobset v0.12.0 api/jobset/v1alpha2/jobset_types.go).
JOBSET_COMPLETED, JOBSET_FAILED = "Completed", "Failed"
MAX_TEXT = 1000  # characters kept of a string the API sends (a name is at most 253)

# --- Kueue -------------------------------------------------------------------------------------
# github.com/kubernetes-sigs/kueue v0.19.2 (2026-08-20): apis/kueue/v1beta2/workload_types.go
# (Workload is the storage version since v0.16; v1beta1 is still served, deprecated; status.admission,
# status.requeueState, condition types below); site tasks/troubleshooting/troubleshooting_jobs.md (a
# Job's Workload is owned by the Job); tasks/manage/monitor_pending_workloads/pending_workloads_on_demand.md
# (visibility API: positionInLocalQueue, 0 = next; needs RBAC on the visibility group).
KUEUE_VERSIONS = ("v1beta2", "v1beta1")
KUEUE_WORKLOADS = f"/apis/{platform.KUEUE_GROUP}/{{version}}{{namespace}}/workloads"
KUEUE_VISIBILITY = (
    "/apis/visibility.kueue.x-k8s.io/{version}/namespaces/{namespace}/localqueues/{queue}/pendingworkloads"
)
QUOTA_RESERVED, ADMITTED, EVICTED = "QuotaReserved", "Admitted", "Evicted"

GKE_VERSION = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)-gke\.(\d+)")


def name_problem(name: object, subdomain: bool = False) -> str | None:
    """Why ``name`` is not a Kubernetes object name (a DNS-1123 label, or a subdomain), or None."""
    rule, longest = (DNS1123_SUBDOMAIN, MAX_SUBDOMAIN) if subdomain else (DNS1123_LABEL, MAX_LABEL)
    if not isinstance(name, str) or not name:
        return "empty"
    if len(name) > longest:
        return f"{len(name)} characters; at most {longest}"
    if not rule.fullmatch(name):
        dots = "'-' and '.'" if subdomain else "'-'"
        return f"not lowercase letters, digits and {dots}, starting and ending with a letter or digit"
    return None


def checked(name: object, what: str, subdomain: bool = False) -> str:
    """``name`` when it is a Kubernetes object name; otherwise ClusterError (exit 1): the name came
    from the API (the command line checks its own first) and nothing is sent with it."""
    problem = name_problem(name, subdomain)
    if problem:
        raise ClusterError(
            f"the API named a {what} {str(name)[:80]!r}, which is not a Kubernetes name ({problem})", EXIT_FAILURE
        )
    return name  # type: ignore[return-value]


def object_path(resource: str, namespace: str | None, name: str | None = None, sub: str = "") -> str:
    """The API path of a collection (``name`` None) or of one named object (``sub``: e.g. ``/log``);
    every name is checked first, so an empty or malformed one never turns into another path."""
    path = API_PREFIXES[resource]
    if namespace is not None:
        path += f"/namespaces/{checked(namespace, 'namespace')}"
    path += f"/{resource}"
    if name is not None:
        path += f"/{checked(name, resource[:-1], subdomain=resource == 'pods')}{sub}"
    return path


class JobNotFound(ClusterError):
    """Neither a Job nor a JobSet of that name exists in that namespace (exit 1)."""

    def __init__(self, namespace: str, name: str, context: str):
        super().__init__(
            f"job {namespace}/{name} not found (context {context!r}); "
            f"list them with 'gkeml job list --team {namespace}'",
            EXIT_FAILURE,
        )


@dataclass
class PodState:
    """One pod of the Job (restartPolicy Never: a retry or a preemption is a new pod)."""

    name: str
    index: int | None
    phase: str
    restarts: int
    node: str | None
    preempted: bool
    exit_code: int | None
    reason: str | None
    created: str | None


@dataclass
class Admission:
    """Kueue's view of the Job; ``kueue`` is False when the cluster serves no Kueue Workload API."""

    kueue: bool
    workload: str | None = None
    queue: str | None = None
    cluster_queue: str | None = None
    quota_reserved: bool = False
    admitted: bool = False
    reason: str | None = None
    message: str | None = None
    position: int | None = None
    requeues: int | None = None
    requeue_at: str | None = None
    evicted: str | None = None

    def summary(self) -> str:
        """One line for humans."""
        if not self.kueue:
            return "no Kueue in the cluster"
        if self.workload is None:
            return "no Kueue Workload for this Job (no queue label, or not yet created)"
        if self.admitted:
            text = f"admitted in cluster queue {self.cluster_queue}"
        elif self.quota_reserved:
            text = f"quota reserved in {self.cluster_queue}, waiting for admission checks"
        else:
            where = (
                f"position {self.position} in local queue {self.queue}"
                if self.position is not None
                else f"local queue {self.queue}"
            )
            text = f"queued ({where})" + (f": {self.reason}" if self.reason else "")
        if self.evicted:
            text += f"; evicted: {self.evicted}"
        if self.requeues:
            text += f"; requeued {self.requeues}x"
        return text


@dataclass
class JobState:
    """Everything ``gkeml job status`` shows about one Job."""

    name: str
    namespace: str
    spec: str | None
    queue: str | None
    uid: str
    state: str
    suspended: bool
    completions: int
    active: int
    ready: int
    succeeded: int
    failed: int
    uncounted_failed: int
    preempted: int
    reason: str | None
    message: str | None
    created: str | None
    started: str | None
    finished: str | None
    admission: Admission
    pods: list[PodState] = field(default_factory=list)
    kind: str = "Job"  # or JobSet
    restarts: int = 0  # a JobSet's whole-group restarts
    priority: str | None = None  # its Kueue priority tier (label kueue.x-k8s.io/priority-class)

    @property
    def done(self) -> bool:
        """True once the Job succeeded or failed."""
        return self.state in ("Succeeded", "Failed")

    def progress(self) -> str:
        """The one-line summary ``wait`` prints when it changes."""
        parts = [
            f"{self.namespace}/{self.name}: {self.state}",
            f"{self.succeeded}/{self.completions} succeeded, {self.active} active, {self.failed} failed",
        ]
        if self.preempted:
            parts.append(f"{self.preempted} preempted")
        if self.restarts:
            parts.append(f"restarted {self.restarts}x")
        if self.state in ("Queued", "Suspended") or self.admission.evicted:
            parts.append(self.admission.summary())
        if self.reason and self.done:
            parts.append(self.reason)
        return " | ".join(parts)

    def to_dict(self) -> dict:
        """JSON form (``--format json``)."""
        return asdict(self)


# --- the API ----------------------------------------------------------------------------------


def _reason(exc: BaseException) -> str:
    """The innermost cause of a connection error, e.g. 'Connection refused'."""
    while getattr(exc, "reason", None) is not None and isinstance(exc.reason, BaseException):  # type: ignore[attr-defined]
        exc = exc.reason  # type: ignore[attr-defined]
    text = str(exc)
    return text.split(": ", 1)[-1] if ": " in text else text or type(exc).__name__


class Api:
    """The requests gkeml makes, on one connection, within ``limits``; every failure is a ClusterError."""

    def __init__(self, connection: Connection, limits: Limits | None = None):
        self.connection = connection
        self.limits = limits or Limits()
        self._kueue: dict[str, str | None] = {}  # namespace -> served Workload version (None: no Kueue)

    @property
    def _context(self) -> str:
        return f"(context {self.connection.context.name!r})"

    def _send(self, what: str, method: str, path: str, query: list, body: Obj | None, silence: float) -> Any:
        """Send one request; the urllib3 response, its body not read yet."""
        from kubernetes.client.exceptions import ApiException
        from kubernetes.config import ConfigException
        from urllib3.exceptions import HTTPError, ReadTimeoutError

        client: Any = self.connection.api_client
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        try:
            request = client.param_serialize(
                method, path, query_params=query, header_params=headers, body=body, auth_settings=["BearerToken"]
            )
        except (ConfigException, OSError, ValueError) as exc:  # an exec credential plugin failed
            context = self.connection.context.name
            raise ClusterError(f"{what}: no credentials for context {context!r}: {_reason(exc)}", EXIT_USAGE) from None
        try:
            return client.call_api(*request, _request_timeout=(self.limits.connect, silence)).response
        except ReadTimeoutError:
            done = "; it may have been done, check with 'gkeml job status'" if method != "GET" else ""
            raise ClusterError(
                f"{what}: no answer from {self.connection.context.server} within {silence:g} s {self._context}{done}",
                EXIT_FAILURE,
            ) from None
        except (HTTPError, OSError, ApiException) as exc:  # ApiException: the client's wrapper of a TLS error
            raise ClusterError(
                f"{what}: cannot reach {self.connection.context.server} {self._context}: {_reason(exc)}", EXIT_FAILURE
            ) from None

    def _body(self, what: str, response: Any, cut: bool = False) -> tuple[bytes, bool]:
        """The whole body of ``response``, within the limits."""
        try:
            body = read_body(response.read1, self.limits, cut)
        except BadAnswer as exc:
            response.close()
            raise self.bad_answer(what, exc) from None
        response.release_conn()
        return body

    def bad_answer(self, what: str, exc: BadAnswer) -> ClusterError:
        """The error for an answer gkeml does not accept."""
        return ClusterError(f"{what}: {self.connection.context.server} sent {exc} {self._context}", EXIT_FAILURE)

    def _refused(self, what: str, response: Any) -> ClusterError:
        """The error for a status that is not 2xx: the API's message (a metav1.Status), else the reason phrase."""
        data, _ = self._body(what, response)
        message = ""
        try:
            status = parse_json(data)
        except BadAnswer:
            status = None
        if isinstance(status, dict):
            message = _text(status.get("message")) or ""
        message = " ".join((message or response.reason or "").split())[:300]
        return ClusterError(f"{what}: {response.status} {message} {self._context}", EXIT_FAILURE)

    def request(
        self,
        what: str,
        method: str,
        path: str,
        query: Iterable[tuple[str, Any]] = (),
        body: Obj | None = None,
        not_found: Callable[[], Exception] | None = None,
    ) -> Obj:
        """One request and its answer, a JSON object; ``not_found()`` is raised on 404 when given."""
        response = self._send(what, method, path, list(query), body, self.limits.silence)
        if response.status == 404 and not_found is not None:
            self._body(what, response)
            raise not_found()
        if not 200 <= response.status < 300:
            raise self._refused(what, response)
        data, _ = self._body(what, response)
        try:
            answer = parse_json(data)
        except BadAnswer as exc:
            raise self.bad_answer(what, exc) from None
        if not isinstance(answer, dict):
            raise self.bad_answer(what, BadAnswer(f"JSON that is not an object ({type(answer).__name__})"))
        return answer

    def items(self, what: str, path: str, query: Iterable[tuple[str, Any]] = (), **kwargs: Any) -> list[Obj]:
        """The ``items`` of a list answer; each must be a JSON object."""
        items = self.request(what, "GET", path, query, **kwargs).get("items")
        if items is None:
            return []
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise self.bad_answer(what, BadAnswer("a list whose items are not all objects"))
        return items

    def stream(self, what: str, path: str, query: Iterable[tuple[str, Any]], silence: float) -> Any:
        """The open urllib3 response of a 2xx answer, to read as it arrives (reads time out after ``silence``)."""
        response = self._send(what, "GET", path, list(query), None, silence)
        if not 200 <= response.status < 300:
            raise self._refused(what, response)
        return response

    def body(self, what: str, path: str, query: Iterable[tuple[str, Any]]) -> tuple[bytes, bool]:
        """The raw body of a 2xx answer, cut at the size limit: (bytes, whether it was cut)."""
        return self._body(what, self.stream(what, path, query, self.limits.silence), cut=True)

    # -- Kueue ---------------------------------------------------------------------------------
    def workloads(self, namespace: str | None) -> list[Obj]:
        """Kueue Workloads of a namespace (all namespaces for None); [] without Kueue (404 on its group)."""
        key = namespace or ""
        versions = [self._kueue[key]] if key in self._kueue else list(KUEUE_VERSIONS)
        where = f"/namespaces/{checked(namespace, 'namespace')}" if namespace else ""
        for version in versions:
            if version is None:
                return []
            try:
                found = self.items(
                    "list Kueue workloads",
                    KUEUE_WORKLOADS.format(version=version, namespace=where),
                    not_found=_Missing,
                )
            except _Missing:
                continue
            self._kueue[key] = version
            return found
        self._kueue[key] = None
        return []

    def kueue_version(self, namespace: str | None) -> str | None:
        """The Workload API version served for ``namespace`` (after :meth:`workloads`), None without Kueue."""
        return self._kueue.get(namespace or "")

    def queue_position(self, version: str, namespace: str, queue: str, workload: str) -> int | None:
        """Position of a pending Workload in its LocalQueue (0 = next), or None when not visible."""
        if name_problem(queue, subdomain=True) or name_problem(namespace):
            return None
        path = KUEUE_VISIBILITY.format(version=version, namespace=namespace, queue=queue)
        try:
            pending = self.items(f"read the queue of {namespace}/{queue}", path)
        except ClusterError:
            return None  # visibility API off, not allowed (RBAC) or too old: the position is unknown
        for item in pending:
            if _obj(item.get("metadata")).get("name") == workload:
                return _int(item.get("positionInLocalQueue"))
        return None


class _Missing(Exception):
    """A 404 where a missing object is an answer (Kueue not installed, no headless Service)."""


# --- reading fields: a field of the wrong type counts as absent ------------------------------------


def _obj(value: Any) -> Obj:
    return value if isinstance(value, dict) else {}


def _objs(value: Any) -> list[Obj]:
    return [item for item in _list(value) if isinstance(item, dict)]


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _text(value: Any) -> str | None:
    return value[:MAX_TEXT] if isinstance(value, str) else None


def _int(value: Any) -> int | None:
    return value if type(value) is int and -(2**63) <= value < 2**63 else None


def _count(value: Any) -> int:
    number = _int(value)
    return number if number is not None and number >= 0 else 0


# --- reading state --------------------------------------------------------------------------------


def _true_conditions(obj: Obj) -> dict[str, Obj]:
    conditions = _objs(_obj(obj.get("status")).get("conditions"))
    return {c["type"]: c for c in conditions if isinstance(c.get("type"), str) and c.get("status") == "True"}


def pod_state(pod: Obj) -> PodState:
    """Phase, restarts, node, preemption and the trainer container's exit code of one pod."""
    meta, status = _obj(pod.get("metadata")), _obj(pod.get("status"))
    statuses = _objs(status.get("containerStatuses"))
    trainer = next((c for c in statuses if c.get("name") == CONTAINER), statuses[0] if statuses else {})
    state, last = _obj(trainer.get("state")), _obj(trainer.get("lastState"))
    terminated = _obj(state.get("terminated")) or _obj(last.get("terminated"))
    waiting = _obj(state.get("waiting"))
    index = _text(_obj(meta.get("annotations")).get(COMPLETION_INDEX_ANNOTATION))
    conditions = _true_conditions(pod)
    preempted = DISRUPTION_TARGET in conditions
    reason = _text(terminated.get("reason")) or _text(waiting.get("reason")) or _text(status.get("reason"))
    if preempted:
        reason = _text(conditions[DISRUPTION_TARGET].get("reason")) or reason
    return PodState(
        name=_text(meta.get("name")) or "",
        index=int(index) if index and index.isascii() and index.isdigit() and len(index) < 10 else None,
        phase=_text(status.get("phase")) or "Unknown",
        restarts=sum(_count(c.get("restartCount")) for c in statuses),
        node=_text(_obj(pod.get("spec")).get("nodeName")),
        preempted=preempted,
        exit_code=_int(terminated.get("exitCode")) if terminated else None,
        reason=reason,
        created=_text(meta.get("creationTimestamp")),
    )


def admission_of(job: Obj, workloads: Iterable[Obj], kueue: bool) -> Admission:
    """Kueue admission of ``job`` from the Workload it owns (matched by owner UID)."""
    meta = _obj(job.get("metadata"))
    uid = _text(meta.get("uid"))
    queue = _text(_obj(meta.get("labels")).get(platform.KUEUE_QUEUE_LABEL))
    if not kueue:
        return Admission(kueue=False, queue=queue)
    owned = [
        w
        for w in workloads
        if uid and any(ref.get("uid") == uid for ref in _objs(_obj(w.get("metadata")).get("ownerReferences")))
    ]
    if not owned:
        return Admission(kueue=True, queue=queue)
    workload = max(owned, key=lambda w: _text(_obj(w.get("metadata")).get("creationTimestamp")) or "")
    status = _obj(workload.get("status"))
    conditions = {c.get("type"): c for c in _objs(status.get("conditions"))}
    reserved, admitted = conditions.get(QUOTA_RESERVED) or {}, conditions.get(ADMITTED) or {}
    evicted = conditions.get(EVICTED) or {}
    requeue = _obj(status.get("requeueState"))
    waiting = reserved if reserved.get("status") != "True" else admitted
    return Admission(
        kueue=True,
        workload=_text(_obj(workload.get("metadata")).get("name")),
        queue=_text(_obj(workload.get("spec")).get("queueName")) or queue,
        cluster_queue=_text(_obj(status.get("admission")).get("clusterQueue")),
        quota_reserved=reserved.get("status") == "True",
        admitted=admitted.get("status") == "True",
        reason=_text(waiting.get("reason")) if waiting.get("status") != "True" else None,
        message=_text(waiting.get("message")) if waiting.get("status") != "True" else None,
        requeues=_int(requeue.get("count")),
        requeue_at=_text(requeue.get("requeueAt")),
        evicted=(_text(evicted.get("reason")) or "yes") if evicted.get("status") == "True" else None,
    )


def job_state(job: Obj, pods: Iterable[Obj], admission: Admission) -> JobState:
    """The state of a Job from its object, its pods and its Kueue admission."""
    spec, status = _obj(job.get("spec")), _obj(job.get("status"))
    conditions = _true_conditions(job)
    terminal = conditions.get(JOB_COMPLETE) or conditions.get(JOB_FAILED) or {}
    done = "Succeeded" if JOB_COMPLETE in conditions else "Failed" if JOB_FAILED in conditions else None
    return _state(
        "Job",
        job,
        pods,
        admission,
        done,
        terminal,
        completions=_count(spec.get("completions")) or 1,
        counters=status,
        uncounted=len(_list(_obj(status.get("uncountedTerminatedPods")).get("failed"))),
        started=_text(status.get("startTime")),
        finished=_text(status.get("completionTime")),
    )


def jobset_state(jobset: Obj, jobs: Iterable[Obj], pods: Iterable[Obj], admission: Admission) -> JobState:
    """The state of a JobSet from its object, its child Jobs (their counters summed), its pods and its Kueue
    admission: Succeeded / Failed from its ``Completed`` / ``Failed`` condition, its restarts."""
    spec, status = _obj(jobset.get("spec")), _obj(jobset.get("status"))
    conditions = _true_conditions(jobset)
    terminal = conditions.get(JOBSET_COMPLETED) or conditions.get(JOBSET_FAILED) or {}
    done = "Succeeded" if JOBSET_COMPLETED in conditions else "Failed" if JOBSET_FAILED in conditions else None
    completions = 0
    for rjob in _objs(spec.get("replicatedJobs")):
        job_spec = _obj(_obj(rjob.get("template")).get("spec"))
        completions += (_count(rjob.get("replicas")) or 1) * (
            _count(job_spec.get("completions")) or _count(job_spec.get("parallelism")) or 1
        )
    jobs = list(jobs)
    counters = {
        key: sum(_count(_obj(j.get("status")).get(key)) for j in jobs)
        for key in ("active", "ready", "succeeded", "failed")
    }
    starts = sorted(t for j in jobs if (t := _text(_obj(j.get("status")).get("startTime"))))
    state = _state(
        "JobSet",
        jobset,
        pods,
        admission,
        done,
        terminal,
        completions=completions or 1,
        counters=counters,
        uncounted=sum(
            len(_list(_obj(_obj(j.get("status")).get("uncountedTerminatedPods")).get("failed"))) for j in jobs
        ),
        started=starts[0] if starts else None,
        finished=None,
    )
    state.restarts = _count(status.get("restarts"))
    return state


def _state(
    kind: str,
    obj: Obj,
    pods: Iterable[Obj],
    admission: Admission,
    done: str | None,
    terminal: Obj,
    *,
    completions: int,
    counters: Obj,
    uncounted: int,
    started: str | None,
    finished: str | None,
) -> JobState:
    meta, spec = _obj(obj.get("metadata")), _obj(obj.get("spec"))
    pod_states = sorted(
        (pod_state(p) for p in pods), key=lambda p: (p.index if p.index is not None else -1, p.created or "", p.name)
    )
    suspended = spec.get("suspend") is True
    if done:
        state = done
    elif suspended:
        state = "Queued" if admission.workload is not None and not admission.admitted else "Suspended"
    elif any(p.phase == "Running" for p in pod_states):
        state = "Running"
    else:
        state = "Pending"
    labels = _obj(meta.get("labels"))
    return JobState(
        name=_text(meta.get("name")) or "",
        namespace=_text(meta.get("namespace")) or "",
        spec=_text(labels.get(SPEC_NAME_LABEL)),
        queue=_text(labels.get(platform.KUEUE_QUEUE_LABEL)),
        uid=_text(meta.get("uid")) or "",
        state=state,
        suspended=suspended,
        completions=completions,
        active=_count(counters.get("active")),
        ready=_count(counters.get("ready")),
        succeeded=_count(counters.get("succeeded")),
        failed=_count(counters.get("failed")),
        uncounted_failed=uncounted,
        preempted=sum(p.preempted for p in pod_states),
        reason=_text(terminal.get("reason")),
        message=_text(terminal.get("message")),
        created=_text(meta.get("creationTimestamp")),
        started=started,
        finished=finished or (_text(terminal.get("lastTransitionTime")) if terminal else None),
        admission=admission,
        pods=pod_states,
        kind=kind,
        priority=_text(labels.get(platform.KUEUE_PRIORITY_CLASS_LABEL)),
    )


def find_run(api: Api, namespace: str, name: str) -> tuple[str, Obj]:
    """(kind, object) of the run ``namespace/name``: its Job, else its JobSet; JobNotFound when neither exists
    (a cluster that serves no JobSet API answers 404 for the JobSet too)."""
    context = api.connection.context.name
    try:
        return "Job", api.request(
            f"read job {namespace}/{name}", "GET", object_path("jobs", namespace, name), not_found=_Missing
        )
    except _Missing:
        pass
    found = api.request(
        f"read jobset {namespace}/{name}",
        "GET",
        object_path("jobsets", namespace, name),
        not_found=lambda: JobNotFound(namespace, name, context),
    )
    return "JobSet", found


def read(api: Api, namespace: str, name: str) -> JobState:
    """The state of one run (Job or JobSet); JobNotFound when it does not exist."""
    kind, found = find_run(api, namespace, name)
    workloads = api.workloads(namespace)
    if kind == "Job":
        pods = api.items(
            f"list pods of {namespace}/{name}",
            object_path("pods", namespace),
            [("labelSelector", f"{platform.JOB_NAME_LABEL}={name}")],
        )
        return job_state(found, pods, _admission(api, found, workloads, namespace))
    jobs = jobset_jobs(api, namespace, name)
    pods = api.items(
        f"list pods of {namespace}/{name}",
        object_path("pods", namespace),
        [("labelSelector", f"{platform.JOBSET_NAME_LABEL}={name}")],
    )
    return jobset_state(found, jobs, pods, _admission(api, found, workloads, namespace))


def jobset_jobs(api: Api, namespace: str, name: str) -> list[Obj]:
    """The child Jobs the JobSet controller made of the JobSet ``namespace/name`` (by its name label)."""
    return api.items(
        f"list jobs of jobset {namespace}/{name}",
        object_path("jobs", namespace),
        [("labelSelector", f"{platform.JOBSET_NAME_LABEL}={name}")],
    )


def list_states(api: Api, namespaces: list[str] | None) -> list[JobState]:
    """Every gkeml run (Job or JobSet) of ``namespaces`` (all namespaces for None), newest first."""
    states: list[JobState] = []
    for namespace in namespaces or [None]:  # type: ignore[list-item]
        where = f"in {namespace}" if namespace else "in all namespaces"
        selector = [("labelSelector", MANAGED_SELECTOR)]
        jobs = api.items(f"list jobs {where}", object_path("jobs", namespace), selector)
        try:
            jobsets = api.items(
                f"list jobsets {where}", object_path("jobsets", namespace), selector, not_found=_Missing
            )
        except _Missing:  # no JobSet API in the cluster
            jobsets = []
        pods = api.items(f"list pods {where}", object_path("pods", namespace), selector)
        children = (
            api.items(
                f"list jobs of jobsets {where}",
                object_path("jobs", namespace),
                [("labelSelector", platform.JOBSET_NAME_LABEL)],
            )
            if jobsets
            else []
        )
        workloads = api.workloads(namespace)
        by_job: dict[tuple[str, str], list[Obj]] = {}
        by_jobset: dict[tuple[str, str], list[Obj]] = {}
        for pod in pods:
            meta = _obj(pod.get("metadata"))
            labels = _obj(meta.get("labels"))
            ns = _text(meta.get("namespace")) or ""
            owner = _text(labels.get(platform.JOBSET_NAME_LABEL))
            if owner:
                by_jobset.setdefault((ns, owner), []).append(pod)
            else:
                by_job.setdefault((ns, _text(labels.get(platform.JOB_NAME_LABEL)) or ""), []).append(pod)
        child_jobs: dict[tuple[str, str], list[Obj]] = {}
        for job in children:
            meta = _obj(job.get("metadata"))
            owner = _text(_obj(meta.get("labels")).get(platform.JOBSET_NAME_LABEL)) or ""
            child_jobs.setdefault((_text(meta.get("namespace")) or "", owner), []).append(job)
        for job in jobs:
            meta = _obj(job.get("metadata"))
            key = (_text(meta.get("namespace")) or "", _text(meta.get("name")) or "")
            states.append(job_state(job, by_job.get(key, []), _admission(api, job, workloads, namespace or key[0])))
        for jobset in jobsets:
            meta = _obj(jobset.get("metadata"))
            key = (_text(meta.get("namespace")) or "", _text(meta.get("name")) or "")
            admission = _admission(api, jobset, workloads, namespace or key[0])
            states.append(jobset_state(jobset, child_jobs.get(key, []), by_jobset.get(key, []), admission))
    return sorted(states, key=lambda s: (s.created or "", s.namespace, s.name), reverse=True)


def _admission(api: Api, job: Obj, workloads: list[Obj], namespace: str) -> Admission:
    version = api.kueue_version(namespace) or api.kueue_version(None)
    admission = admission_of(job, workloads, kueue=version is not None)
    if version and admission.workload and admission.queue and not admission.quota_reserved:
        admission.position = api.queue_position(version, namespace, admission.queue, admission.workload)
    return admission


# --- acting -----------------------------------------------------------------------------------------

RESOURCES = {"Job": "jobs", "JobSet": "jobsets"}  # the kinds gkeml renders for a job: one object per run


def create(api: Api, obj: Obj, dry_run: bool) -> str:
    """Create one run's object, its Job or JobSet (server-side dry run with ``dry_run``); 'Kind namespace/name'.
    Under Kueue it waits suspended until admitted. A cluster without the JobSet API (404 on its group) is
    named, with the setting that installs it."""
    kind, meta = obj["kind"], obj["metadata"]
    if kind not in RESOURCES:
        raise ValueError(f"gkeml renders a Job or a JobSet for a run, not a {kind}")
    where = f"{kind} {meta['namespace']}/{meta['name']}"
    checked(meta["name"], kind)
    query = [("dryRun", "All")] if dry_run else []

    def no_api() -> ClusterError:
        return ClusterError(
            f"create {where}: the cluster serves no {platform.JOBSET_API} API {api._context}: the JobSet "
            "controller is not installed (jobset.enabled in the environment file); nothing was created",
            EXIT_FAILURE,
        )

    api.request(
        f"create {where}",
        "POST",
        object_path(RESOURCES[kind], meta["namespace"]),
        query,
        body=obj,
        not_found=no_api if kind == "JobSet" else None,
    )
    return where


def delete(api: Api, namespace: str, name: str) -> list[str]:
    """Delete the run: its Job (its pods with it) and an earlier gkeml's headless Service of the run, if any, or
    its JobSet (its Job, pods and headless Service go with it); what was deleted.

    Only what gkeml created: each object is read first and must carry ``app.kubernetes.io/managed-by=gkeml``
    (the Service also the run's ``app.kubernetes.io/instance``); it is then deleted by name with its uid as
    a precondition (the API answers 409 if it was replaced in between). Never a collection.
    """
    context = api.connection.context.name
    where = f"{namespace}/{name}"
    kind, found = find_run(api, namespace, name)
    uid = _owned_uid(found, kind.lower(), namespace, name)
    api.request(
        f"delete {kind.lower()} {where}",
        "DELETE",
        object_path(RESOURCES[kind], namespace, name),
        body=_delete_options(uid),
        not_found=lambda: JobNotFound(namespace, name, context),
    )
    deleted = [f"{kind} {where}"]
    if kind == "JobSet":
        return deleted
    path = object_path("services", namespace, name)
    try:
        service = api.request(f"read service {where}", "GET", path, not_found=_Missing)
    except _Missing:
        return deleted
    if _obj(_obj(service.get("metadata")).get("labels")).get(INSTANCE_LABEL) != name:
        return deleted  # a Service of the same name that is not this run's
    uid = _owned_uid(service, "service", namespace, name)
    try:
        api.request(f"delete service {where}", "DELETE", path, body=_delete_options(uid), not_found=_Missing)
    except _Missing:
        return deleted
    deleted.append(f"Service {where}")
    return deleted


def _owned_uid(obj: Obj, kind: str, namespace: str, name: str) -> str:
    """The uid of an object gkeml created (``obj`` as the API answered ``namespace/name``); ClusterError otherwise."""
    meta = _obj(obj.get("metadata"))
    where = f"{kind} {namespace}/{name}"
    if (meta.get("name"), meta.get("namespace")) != (name, namespace):
        raise ClusterError(
            f"the API answered {where} with another object ({_text(meta.get('namespace'))}/{_text(meta.get('name'))}); "
            "nothing was deleted",
            EXIT_FAILURE,
        )
    if _obj(meta.get("labels")).get(MANAGED_BY_LABEL) != MANAGED_BY:
        raise ClusterError(
            f"{where} was not created by gkeml (it has no label {MANAGED_SELECTOR}); gkeml deletes only "
            "what it created: nothing was deleted (kubectl deletes anything)",
            EXIT_FAILURE,
        )
    uid = _text(meta.get("uid"))
    if not uid:
        raise ClusterError(f"the API answered {where} without a uid; nothing was deleted", EXIT_FAILURE)
    return uid


def _delete_options(uid: str | None) -> Obj:
    """Delete this object only (uid precondition; none when the API's answer gave no uid), its pods in the
    background."""
    options: Obj = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"}
    if uid:
        options["preconditions"] = {"uid": uid}
    return options


def wait(
    api: Api, namespace: str, name: str, interval: float, timeout: float | None, progress: Callable[[JobState], None]
) -> tuple[JobState, bool]:
    """Poll until the Job succeeds or fails (or ``timeout`` seconds pass); (last state, timed out).

    ``progress`` is called with the state whenever its one-line summary changes. Each poll is bounded
    by the API limits; ``timeout`` bounds the whole wait.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    last = ""
    while True:
        state = read(api, namespace, name)
        if state.progress() != last:
            last = state.progress()
            progress(state)
        if state.done:
            return state, False
        if deadline is not None and time.monotonic() >= deadline:
            return state, True
        time.sleep(interval if deadline is None else max(0.0, min(interval, deadline - time.monotonic())))


def choose_pods(state: JobState, index: int | None, pod: str | None, every: bool) -> list[PodState]:
    """The pods whose logs to show: one named pod, the newest pod of an index (default: the lowest), or
    the newest pod of every index."""
    if pod is not None:
        found = [p for p in state.pods if p.name == pod]
        if not found:
            raise ClusterError(
                f"pod {pod!r} is not a pod of job {state.namespace}/{state.name}; pods: "
                f"{', '.join(p.name for p in state.pods) or 'none'}",
                EXIT_FAILURE,
            )
        return found
    newest: dict[int | None, PodState] = {}
    for p in state.pods:  # sorted by index, then creation: the last one of an index wins
        newest[p.index] = p
    if not newest:
        raise ClusterError(
            f"job {state.namespace}/{state.name} has no pods yet ({state.state}: {state.admission.summary()})",
            EXIT_FAILURE,
        )
    if every:
        return list(newest.values())
    if index is not None:
        if index not in newest:
            raise ClusterError(
                f"job {state.namespace}/{state.name} has no pod with index {index}; indexes: "
                f"{', '.join(str(i) for i in newest if i is not None) or 'none'}",
                EXIT_FAILURE,
            )
        return [newest[index]]
    return [next(iter(newest.values()))]


def _log_query(tail: int | None, **more: Any) -> list[tuple[str, Any]]:
    query: list[tuple[str, Any]] = [("container", CONTAINER)]
    if tail is not None:
        query.append(("tailLines", tail))
    return query + [(key, value) for key, value in more.items() if value is not None]


def read_log(api: Api, namespace: str, pod: str, tail: int | None) -> tuple[bytes, bool]:
    """The trainer container's log of a pod, as bytes, at most ``api.limits.size`` of them (``limitBytes``,
    also enforced here): (log, whether it was cut)."""
    path = object_path("pods", namespace, pod, "/log")
    return api.body(f"logs of {namespace}/{pod}", path, _log_query(tail, limitBytes=api.limits.size))


def follow_log(api: Api, namespace: str, pod: str, tail: int | None, deadline: float | None = None) -> Iterator[bytes]:
    """The trainer container's log of a pod, streamed (bytes as they arrive) until the container ends.

    A stream silent for ``api.limits.silence`` seconds is not trusted to be alive: the pod is read
    (bounded); if its trainer still runs, the stream is opened again from the moment of the last
    byte received (``sinceSeconds``: nothing was written since, or it would have arrived). Ends at
    ``deadline`` (a ``time.monotonic()`` value) with FollowTimeout.
    """
    from urllib3.exceptions import HTTPError, ReadTimeoutError

    what = f"logs of {namespace}/{pod}"
    path = object_path("pods", namespace, pod, "/log")
    query = _log_query(tail, follow="true")
    while True:
        silence = (
            api.limits.silence if deadline is None else max(0.1, min(api.limits.silence, deadline - time.monotonic()))
        )
        response = api.stream(what, path, query, silence)
        last = time.monotonic()
        try:
            while True:
                if deadline is not None and time.monotonic() >= deadline:
                    raise FollowTimeout()
                chunk = response.read1(64 * 2**10)
                if not chunk:
                    response.release_conn()
                    return  # the container ended and the API closed the stream
                last = time.monotonic()
                yield chunk
        except ReadTimeoutError:
            response.close()
        except (HTTPError, OSError) as exc:
            response.close()
            raise api.bad_answer(what, BadAnswer(f"a stream that broke off ({_reason(exc)})")) from None
        if deadline is not None and time.monotonic() >= deadline:
            raise FollowTimeout()
        if not _still_running(api, namespace, pod):
            return
        query = _log_query(None, follow="true", sinceSeconds=max(1, int(time.monotonic() - last)))


class FollowTimeout(Exception):
    """``--timeout`` passed while following a log."""


def _still_running(api: Api, namespace: str, pod: str) -> bool:
    """True while the trainer container of ``pod`` has not terminated (and the pod exists)."""
    try:
        found = api.request(
            f"read pod {namespace}/{pod} (does its trainer still run?)",
            "GET",
            object_path("pods", namespace, pod),
            not_found=_Missing,
        )
    except _Missing:
        return False
    status = _obj(found.get("status"))
    trainer = next((c for c in _objs(status.get("containerStatuses")) if c.get("name") == CONTAINER), {})
    return status.get("phase") not in ("Succeeded", "Failed") and "terminated" not in _obj(trainer.get("state"))


def server_version(api: Api) -> str:
    """The API server's gitVersion, e.g. ``v1.33.5-gke.1162000``."""
    return _text(api.request("read the server version", "GET", "/version").get("gitVersion")) or ""


def gke_version_at_least(version: str, minimum: str) -> bool:
    """True when GKE ``version`` (``v1.33.5-gke.1162000``) is ``minimum`` or later; False if not a GKE version."""
    have, need = GKE_VERSION.match(version), GKE_VERSION.match(minimum)
    if not have or not need:
        return False
    return tuple(map(int, have.groups())) >= tuple(map(int, need.groups()))
