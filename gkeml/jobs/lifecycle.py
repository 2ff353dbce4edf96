"""A submitted job on the cluster: create, read (with Kueue admission), logs, wait, delete.

Everything goes through the official ``kubernetes`` client of a :class:`gkeml.jobs.cluster.Connection`.
Responses are read as the API's JSON (``_preload_content=False``), so the status logic
works on exactly what the API server sends; Kueue objects come through the CustomObjects
API and the Kueue visibility API, and a cluster without Kueue (404 on its API group) is
simply reported as "no Kueue".

What a status shows:

- **state**: Succeeded / Failed (Job conditions ``Complete`` / ``Failed``), Queued (suspended
  and its Kueue Workload not admitted), Suspended, Running (a pod runs), Pending;
- **admission**: the Kueue Workload owned by the Job (``status.admission.clusterQueue``,
  conditions ``QuotaReserved``/``Admitted``/``Evicted``, ``status.requeueState``) and, while it
  waits, its position in the LocalQueue from the visibility API;
- **pods per completion index**: phase, restarts, node, exit code and reason of the trainer
  container, and whether the pod was preempted (pod condition ``DisruptionTarget``);
- **counters**: active/ready/succeeded/failed pods, preempted pods, and failed pods the Job
  controller has not counted yet (``status.uncountedTerminatedPods.failed``).
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from gkeml import platform
from gkeml.jobs.build import CONTAINER, MANAGED_BY
from gkeml.jobs.cluster import EXIT_FAILURE, ClusterError, Connection
from gkeml.manifests import Obj

# --- Kubernetes Job and Pod facts ------------------------------------------------------------
# kubernetes.io/docs/concepts/workloads/controllers/job (completion index annotation, the
# Complete/Failed/Suspended conditions, uncountedTerminatedPods) and
# kubernetes.io/docs/concepts/workloads/pods/disruptions (pod condition DisruptionTarget on
# preemption, eviction and node drain); checked 2026-11.
COMPLETION_INDEX_ANNOTATION = "batch.kubernetes.io/job-completion-index"
DISRUPTION_TARGET = "DisruptionTarget"
JOB_COMPLETE, JOB_FAILED = "Complete", "Failed"
MANAGED_SELECTOR = f"app.kubernetes.io/managed-by={MANAGED_BY}"
SPEC_NAME_LABEL = "app.kubernetes.io/name"

# --- Kueue -------------------------------------------------------------------------------------
# github.com/kubernetes-sigs/kueue v0.19.2 (2026-08-20): apis/kueue/v1beta2/workload_types.go
# (Workload is the storage version since v0.16; v1beta1 is still served, deprecated; status.admission,
# status.requeueState, condition types below); site tasks/troubleshooting/troubleshooting_jobs.md (a
# Job's Workload is owned by the Job); tasks/manage/monitor_pending_workloads/pending_workloads_on_demand.md
# (visibility API: positionInLocalQueue, 0 = next; needs RBAC on the visibility group).
KUEUE_GROUP = "kueue.x-k8s.io"
KUEUE_VERSIONS = ("v1beta2", "v1beta1")
KUEUE_WORKLOADS = "workloads"
KUEUE_VISIBILITY = (
    "/apis/visibility.kueue.x-k8s.io/{version}/namespaces/{namespace}/localqueues/{queue}/pendingworkloads"
)
QUOTA_RESERVED, ADMITTED, EVICTED, FINISHED = "QuotaReserved", "Admitted", "Evicted", "Finished"

GKE_VERSION = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)-gke\.(\d+)")


class JobNotFound(ClusterError):
    """The Job does not exist in that namespace (exit 1)."""

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
        if self.state in ("Queued", "Suspended") or self.admission.evicted:
            parts.append(self.admission.summary())
        if self.reason and self.done:
            parts.append(self.reason)
        return " | ".join(parts)

    def to_dict(self) -> dict:
        """JSON form (``--format json``)."""
        return asdict(self)


# --- the API, as JSON ---------------------------------------------------------------------------


def _api_error(exc: Exception, what: str, connection: Connection) -> ClusterError:
    """A ClusterError (exit 1) for a failed request: the API's message, or why the server is unreachable."""
    from kubernetes.client.exceptions import ApiException

    if isinstance(exc, ApiException):
        message = exc.reason or ""
        with contextlib.suppress(ValueError):
            message = json.loads(exc.body or "{}").get("message") or message
        return ClusterError(f"{what}: {exc.status} {message} (context {connection.context.name!r})", EXIT_FAILURE)
    return ClusterError(
        f"{what}: cannot reach {connection.context.server} (context {connection.context.name!r}): {_reason(exc)}",
        EXIT_FAILURE,
    )


def _reason(exc: BaseException) -> str:
    """The innermost cause of a connection error, e.g. 'Connection refused'."""
    while getattr(exc, "reason", None) is not None and isinstance(exc.reason, BaseException):  # type: ignore[attr-defined]
        exc = exc.reason  # type: ignore[attr-defined]
    text = str(exc)
    return text.split(": ", 1)[-1] if ": " in text else text or type(exc).__name__


def _json(response: Any) -> Any:
    """The JSON body of a raw (``_preload_content=False``) response."""
    return json.loads(response.data or b"null")


class Api:
    """The calls gkeml makes, on one connection; every failure becomes a ClusterError."""

    def __init__(self, connection: Connection):
        from kubernetes import client

        self.connection = connection
        api_client = connection.api_client
        self.batch = client.BatchV1Api(api_client)
        self.core = client.CoreV1Api(api_client)
        self.custom = client.CustomObjectsApi(api_client)
        self.version = client.VersionApi(api_client)
        self._kueue: dict[str, str | None] = {}  # namespace -> served Workload version (None: no Kueue)

    def call(self, what: str, fn: Callable, *args, not_found: Callable[[], Exception] | None = None, **kwargs) -> Any:
        """``fn(*args, **kwargs)`` returning parsed JSON; 404 raises ``not_found()`` when given."""
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        try:
            return _json(fn(*args, _preload_content=False, **kwargs))
        except ApiException as exc:
            if exc.status == 404 and not_found is not None:
                raise not_found() from None
            raise _api_error(exc, what, self.connection) from None
        except (HTTPError, OSError) as exc:
            raise _api_error(exc, what, self.connection) from None

    def raw_get(self, path: str) -> tuple[int, Any]:
        """GET an API path the generated client has no method for; (status, JSON or None)."""
        from urllib3.exceptions import HTTPError

        api_client = self.connection.api_client
        request = api_client.param_serialize(  # type: ignore[attr-defined]
            "GET", path, header_params={"Accept": "application/json"}, auth_settings=["BearerToken"]
        )
        try:
            response = api_client.call_api(*request)  # type: ignore[attr-defined]
            response.read()
        except (HTTPError, OSError) as exc:
            raise _api_error(exc, f"GET {path}", self.connection) from None
        try:
            return response.status, json.loads(response.data or b"null")
        except ValueError:
            return response.status, None

    # -- Kueue ---------------------------------------------------------------------------------
    def workloads(self, namespace: str | None) -> list[Obj]:
        """Kueue Workloads of a namespace (all namespaces for None); [] without Kueue (404 on its group)."""
        key = namespace or ""
        versions = [self._kueue[key]] if key in self._kueue else list(KUEUE_VERSIONS)
        for version in versions:
            if version is None:
                return []
            try:
                if namespace:
                    found = self.call(
                        "list Kueue workloads",
                        self.custom.list_namespaced_custom_object,
                        KUEUE_GROUP,
                        version,
                        namespace,
                        KUEUE_WORKLOADS,
                        not_found=_Missing,
                    )
                else:
                    found = self.call(
                        "list Kueue workloads",
                        self.custom.list_cluster_custom_object,
                        KUEUE_GROUP,
                        version,
                        KUEUE_WORKLOADS,
                        not_found=_Missing,
                    )
            except _Missing:
                continue
            self._kueue[key] = version
            return list(found.get("items") or [])
        self._kueue[key] = None
        return []

    def kueue_version(self, namespace: str | None) -> str | None:
        """The Workload API version served for ``namespace`` (after :meth:`workloads`), None without Kueue."""
        return self._kueue.get(namespace or "")

    def queue_position(self, version: str, namespace: str, queue: str, workload: str) -> int | None:
        """Position of a pending Workload in its LocalQueue (0 = next), or None when not visible."""
        status, body = self.raw_get(KUEUE_VISIBILITY.format(version=version, namespace=namespace, queue=queue))
        if status != 200 or not isinstance(body, dict):
            return None  # visibility API off, not allowed (RBAC) or too old: the position is unknown
        for item in body.get("items") or []:
            if (item.get("metadata") or {}).get("name") == workload:
                return item.get("positionInLocalQueue")
        return None


class _Missing(Exception):
    """A 404 where a missing object is an answer (Kueue not installed, no headless Service)."""


# --- reading state --------------------------------------------------------------------------------


def _true_conditions(obj: Obj) -> dict[str, Obj]:
    return {c.get("type"): c for c in (obj.get("status") or {}).get("conditions") or [] if c.get("status") == "True"}


def pod_state(pod: Obj) -> PodState:
    """Phase, restarts, node, preemption and the trainer container's exit code of one pod."""
    meta, status = pod.get("metadata") or {}, pod.get("status") or {}
    statuses = status.get("containerStatuses") or []
    trainer = next((c for c in statuses if c.get("name") == CONTAINER), statuses[0] if statuses else {})
    terminated = (trainer.get("state") or {}).get("terminated") or (trainer.get("lastState") or {}).get("terminated")
    waiting = (trainer.get("state") or {}).get("waiting")
    index = (meta.get("annotations") or {}).get(COMPLETION_INDEX_ANNOTATION)
    preempted = DISRUPTION_TARGET in _true_conditions(pod)
    reason = (terminated or {}).get("reason") or (waiting or {}).get("reason") or status.get("reason")
    if preempted:
        reason = _true_conditions(pod)[DISRUPTION_TARGET].get("reason") or reason
    return PodState(
        name=meta.get("name", ""),
        index=int(index) if index is not None and str(index).isdigit() else None,
        phase=status.get("phase", "Unknown"),
        restarts=sum(int(c.get("restartCount") or 0) for c in statuses),
        node=(pod.get("spec") or {}).get("nodeName"),
        preempted=preempted,
        exit_code=terminated.get("exitCode") if terminated else None,
        reason=reason,
        created=meta.get("creationTimestamp"),
    )


def admission_of(job: Obj, workloads: Iterable[Obj], kueue: bool) -> Admission:
    """Kueue admission of ``job`` from the Workload it owns (matched by owner UID)."""
    uid = (job.get("metadata") or {}).get("uid")
    queue = ((job.get("metadata") or {}).get("labels") or {}).get(platform.KUEUE_QUEUE_LABEL)
    if not kueue:
        return Admission(kueue=False, queue=queue)
    owned = [
        w
        for w in workloads
        if any(ref.get("uid") == uid for ref in (w.get("metadata") or {}).get("ownerReferences") or [])
    ]
    if not owned:
        return Admission(kueue=True, queue=queue)
    workload = max(owned, key=lambda w: (w.get("metadata") or {}).get("creationTimestamp") or "")
    status = workload.get("status") or {}
    conditions = {c.get("type"): c for c in status.get("conditions") or []}
    reserved, admitted = conditions.get(QUOTA_RESERVED) or {}, conditions.get(ADMITTED) or {}
    evicted = conditions.get(EVICTED) or {}
    requeue = status.get("requeueState") or {}
    waiting = reserved if reserved.get("status") != "True" else admitted
    return Admission(
        kueue=True,
        workload=(workload.get("metadata") or {}).get("name"),
        queue=(workload.get("spec") or {}).get("queueName") or queue,
        cluster_queue=(status.get("admission") or {}).get("clusterQueue"),
        quota_reserved=reserved.get("status") == "True",
        admitted=admitted.get("status") == "True",
        reason=waiting.get("reason") if waiting.get("status") != "True" else None,
        message=waiting.get("message") if waiting.get("status") != "True" else None,
        requeues=requeue.get("count"),
        requeue_at=requeue.get("requeueAt"),
        evicted=(evicted.get("reason") or "yes") if evicted.get("status") == "True" else None,
    )


def job_state(job: Obj, pods: Iterable[Obj], admission: Admission) -> JobState:
    """The state of a Job from its object, its pods and its Kueue admission."""
    meta, spec, status = job.get("metadata") or {}, job.get("spec") or {}, job.get("status") or {}
    conditions = _true_conditions(job)
    pod_states = sorted(
        (pod_state(p) for p in pods), key=lambda p: (p.index if p.index is not None else -1, p.created or "", p.name)
    )
    suspended = bool(spec.get("suspend"))
    terminal = conditions.get(JOB_COMPLETE) or conditions.get(JOB_FAILED)
    if JOB_COMPLETE in conditions:
        state = "Succeeded"
    elif JOB_FAILED in conditions:
        state = "Failed"
    elif suspended:
        state = "Queued" if admission.workload is not None and not admission.admitted else "Suspended"
    elif any(p.phase == "Running" for p in pod_states):
        state = "Running"
    else:
        state = "Pending"
    labels = meta.get("labels") or {}
    return JobState(
        name=meta.get("name", ""),
        namespace=meta.get("namespace", ""),
        spec=labels.get(SPEC_NAME_LABEL),
        queue=labels.get(platform.KUEUE_QUEUE_LABEL),
        uid=meta.get("uid", ""),
        state=state,
        suspended=suspended,
        completions=int(spec.get("completions") or 1),
        active=int(status.get("active") or 0),
        ready=int(status.get("ready") or 0),
        succeeded=int(status.get("succeeded") or 0),
        failed=int(status.get("failed") or 0),
        uncounted_failed=len((status.get("uncountedTerminatedPods") or {}).get("failed") or []),
        preempted=sum(p.preempted for p in pod_states),
        reason=(terminal or {}).get("reason"),
        message=(terminal or {}).get("message"),
        created=meta.get("creationTimestamp"),
        started=status.get("startTime"),
        finished=status.get("completionTime") or ((terminal or {}).get("lastTransitionTime") if terminal else None),
        admission=admission,
        pods=pod_states,
    )


def read(api: Api, namespace: str, name: str) -> JobState:
    """The state of one Job; JobNotFound when it does not exist."""
    job = api.call(
        f"read job {namespace}/{name}",
        api.batch.read_namespaced_job,
        name,
        namespace,
        not_found=lambda: JobNotFound(namespace, name, api.connection.context.name),
    )
    pods = api.call(
        f"list pods of {namespace}/{name}",
        api.core.list_namespaced_pod,
        namespace,
        label_selector=f"{platform.JOB_NAME_LABEL}={name}",
    )
    return job_state(job, pods.get("items") or [], _admission(api, job, api.workloads(namespace)))


def list_states(api: Api, namespaces: list[str] | None) -> list[JobState]:
    """Every gkeml Job of ``namespaces`` (all namespaces for None), newest first."""
    states: list[JobState] = []
    for namespace in namespaces or [None]:  # type: ignore[list-item]
        where = f"in {namespace}" if namespace else "in all namespaces"
        if namespace:
            jobs = api.call(
                f"list jobs {where}", api.batch.list_namespaced_job, namespace, label_selector=MANAGED_SELECTOR
            )
            pods = api.call(
                f"list pods {where}", api.core.list_namespaced_pod, namespace, label_selector=MANAGED_SELECTOR
            )
        else:
            jobs = api.call(
                f"list jobs {where}", api.batch.list_job_for_all_namespaces, label_selector=MANAGED_SELECTOR
            )
            pods = api.call(f"list pods {where}", api.core.list_pod_for_all_namespaces, label_selector=MANAGED_SELECTOR)
        workloads = api.workloads(namespace)
        by_job: dict[tuple[str, str], list[Obj]] = {}
        for pod in pods.get("items") or []:
            meta = pod.get("metadata") or {}
            key = (meta.get("namespace", ""), (meta.get("labels") or {}).get(platform.JOB_NAME_LABEL, ""))
            by_job.setdefault(key, []).append(pod)
        for job in jobs.get("items") or []:
            meta = job.get("metadata") or {}
            pods_of = by_job.get((meta.get("namespace", ""), meta.get("name", "")), [])
            states.append(job_state(job, pods_of, _admission(api, job, workloads, namespace=meta.get("namespace"))))
    return sorted(states, key=lambda s: (s.created or "", s.namespace, s.name), reverse=True)


def _admission(api: Api, job: Obj, workloads: list[Obj], namespace: str | None = None) -> Admission:
    namespace = namespace or (job.get("metadata") or {}).get("namespace", "")
    version = api.kueue_version(namespace) or api.kueue_version(None)
    admission = admission_of(job, workloads, kueue=version is not None)
    if version and admission.workload and admission.queue and not admission.quota_reserved:
        admission.position = api.queue_position(version, namespace, admission.queue, admission.workload)
    return admission


# --- acting -----------------------------------------------------------------------------------------


def owner_reference(job: Obj) -> Obj:
    """An ownerReference to a created Job: what it owns goes when the Job goes (``ttlSecondsAfterFinished``,
    ``kubectl delete``, ``gkeml job delete``), deleted by the garbage collector. Not a controller reference,
    and deleting the Job does not wait for it (``blockOwnerDeletion`` would also need the right to update the
    Job's finalizers)."""
    meta = job["metadata"]
    return {"apiVersion": "batch/v1", "kind": "Job", "name": meta["name"], "uid": meta["uid"]}


def create(api: Api, objects: list[Obj], dry_run: bool) -> list[str]:
    """Create a run's objects (server-side dry run with ``dry_run``); 'Kind namespace/name' of each. The Job
    first, then what belongs to its run (the headless Service of a multi-node job), owned by the Job so that
    it goes with it; a Service that cannot be created takes its Job with it (a DDP run without its Service
    never finds its rendezvous). Under Kueue the Job waits suspended until admitted; without Kueue its pods
    start after the Service exists (scheduling and pulling an image take longer than one API call)."""
    from kubernetes import client

    jobs = [o for o in objects if o["kind"] == "Job"]
    others = [o for o in objects if o["kind"] != "Job"]
    if len(jobs) != 1 or any(o["kind"] != "Service" for o in others):
        raise ValueError(f"gkeml renders one Job and its Services, not {[o['kind'] for o in objects]}")
    (job,) = jobs
    meta = job["metadata"]
    where = f"Job {meta['namespace']}/{meta['name']}"
    created_job = api.call(
        f"create {where}",
        api.batch.create_namespaced_job,
        meta["namespace"],
        client.V1Job.from_dict(job),
        dry_run="All" if dry_run else None,
    )
    created = [where]
    owner = (created_job.get("metadata") or {}).get("uid") if isinstance(created_job, dict) else None
    for obj in others:
        service = {**obj, "metadata": {**obj["metadata"]}}
        if owner:  # a dry run's answer may carry no uid: nothing is created to own
            service["metadata"]["ownerReferences"] = [owner_reference(created_job)]
        where = f"Service {service['metadata']['namespace']}/{service['metadata']['name']}"
        try:
            api.call(
                f"create {where}",
                api.core.create_namespaced_service,
                service["metadata"]["namespace"],
                client.V1Service.from_dict(service),
                dry_run="All" if dry_run else None,
            )
        except ClusterError as exc:
            if dry_run:
                raise
            try:
                _delete_job(api, meta["namespace"], meta["name"])
                undone = f"{created[0]} was deleted again (the run cannot start without it)"
            except ClusterError as again:
                undone = f"deleting {created[0]} failed too ({again}): delete it"
            raise ClusterError(f"{exc}; {undone}", exc.exit_code) from None
        created.append(where)
    return created


def _delete_job(api: Api, namespace: str, name: str) -> None:
    """Delete a Job with its pods (and what it owns) in the background."""
    api.call(
        f"delete job {namespace}/{name}",
        api.batch.delete_namespaced_job,
        name,
        namespace,
        propagation_policy="Background",
        not_found=lambda: JobNotFound(namespace, name, api.connection.context.name),
    )


def delete(api: Api, namespace: str, name: str) -> list[str]:
    """Delete the Job (its pods with it) and the run's headless Service, if any; what was deleted."""
    _delete_job(api, namespace, name)
    deleted = [f"Job {namespace}/{name}"]
    try:
        service = api.call(
            f"read service {namespace}/{name}", api.core.read_namespaced_service, name, namespace, not_found=_Missing
        )
    except _Missing:
        return deleted
    if ((service.get("metadata") or {}).get("labels") or {}).get("app.kubernetes.io/instance") == name:
        with contextlib.suppress(_Missing):  # the garbage collector may be quicker: a Service the Job owns goes with it
            api.call(
                f"delete service {namespace}/{name}",
                api.core.delete_namespaced_service,
                name,
                namespace,
                not_found=_Missing,
            )
        deleted.append(f"Service {namespace}/{name}")
    return deleted


def wait(
    api: Api, namespace: str, name: str, interval: float, timeout: float | None, progress: Callable[[JobState], None]
) -> tuple[JobState, bool]:
    """Poll until the Job succeeds or fails (or ``timeout`` seconds pass); (last state, timed out).

    ``progress`` is called with the state whenever its one-line summary changes.
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
        time.sleep(interval)


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


def read_log(api: Api, namespace: str, pod: str, tail: int | None) -> str:
    """The trainer container's log of a pod."""
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    try:
        response: Any = api.core.read_namespaced_pod_log(  # raw response: _preload_content=False
            pod, namespace, container=CONTAINER, tail_lines=tail, _preload_content=False
        )
        return response.data.decode("utf-8", "replace")
    except (ApiException, HTTPError, OSError) as exc:
        raise _api_error(exc, f"logs of {namespace}/{pod}", api.connection) from None


def follow_log(api: Api, namespace: str, pod: str, tail: int | None) -> Iterator[str]:
    """The trainer container's log of a pod, streamed until the container ends."""
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    try:
        response: Any = api.core.read_namespaced_pod_log(  # raw response: _preload_content=False
            pod, namespace, container=CONTAINER, tail_lines=tail, follow=True, _preload_content=False
        )
        for chunk in response.stream(4096):
            yield chunk.decode("utf-8", "replace")
    except (ApiException, HTTPError, OSError) as exc:
        raise _api_error(exc, f"logs of {namespace}/{pod}", api.connection) from None


def server_version(api: Api) -> str:
    """The API server's gitVersion, e.g. ``v1.33.5-gke.1162000``."""
    return str(api.call("read the server version", api.version.get_code).get("gitVersion", ""))


def gke_version_at_least(version: str, minimum: str) -> bool:
    """True when GKE ``version`` (``v1.33.5-gke.1162000``) is ``minimum`` or later; False if not a GKE version."""
    have, need = GKE_VERSION.match(version), GKE_VERSION.match(minimum)
    if not have or not need:
        return False
    return tuple(map(int, have.groups())) >= tuple(map(int, need.groups()))
