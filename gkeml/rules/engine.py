"""The rule engine: the rules on Kubernetes objects, and safe access to those objects.

Rules are plain functions over plain dicts. Each is registered with :func:`rule` in the one check
registry (:mod:`gkeml.registry`: a stable id ``GKE001``..., its kind, title, severity, source and the
object kinds it inspects; its docstring is its help) and yields :class:`Issue` tuples (field path, what
is wrong, how to fix it); the engine turns them into :class:`Finding` objects naming the rule and the
object. Objects are checked in groups (one environment, or one set of files) so that rules that look
across objects (an Ingress and its certificate, a Job and its Service) see the neighbours that are
applied together.

Which rules apply to an object is decided here too: ``target`` is the cluster the objects are checked
for (GKE Autopilot, or GKE Standard, where no Autopilot-only check runs); a finding may replace the
findings of other rules on its object (:attr:`Issue.replaces`: one "targets GKE Standard" finding
instead of several Autopilot refusals, "admitted by allowlist X" instead of the refusals the allowlist
exempts); and the baseline is an error on the objects that are the checker's own (``own``, a
:class:`Manifest` marked so, or the annotation :data:`OWN_ANNOTATION`), advice on anyone else's.

Input can be anything a user writes in a YAML file, so every accessor here
tolerates wrong types: a rule never raises on a malformed object.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from gkeml import platform
from gkeml.config.base import INT32_MAX
from gkeml.config.loader import ConfigError, load_yaml_documents
from gkeml.manifests import Obj
from gkeml.registry import ADVICE, BASELINE, CHECKS, ERROR, FACT, Check, Finding, register
from gkeml.units import parse_quantity

# Kinds without a namespace (their reference is Kind/name).
CLUSTER_SCOPED = frozenset(
    {
        "Namespace",
        "ComputeClass",
        "StorageClass",
        "PersistentVolume",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "PriorityClass",
        "Node",
        "WorkloadAllowlist",
        "AllowlistSynchronizer",
    }
)

# The clusters `gkeml check --target` checks objects for: on GKE Standard no Autopilot-only check runs.
AUTOPILOT, STANDARD = "autopilot", "standard"
TARGETS = (AUTOPILOT, STANDARD)
# An object a team marks as its own (metadata.annotations): the baseline is an error on it, not advice.
OWN_ANNOTATION = "gkeml.io/own"


class Issue(NamedTuple):
    """What a rule reports about one object: field path, problem, fix (severity: the rule's unless set;
    ``replaces``: the rules whose findings on the same object this one stands for, which are not reported)."""

    field: str
    message: str
    fix: str
    severity: str | None = None
    replaces: frozenset[str] = frozenset()


Rule = Check  # a rule is a registered check that runs on Kubernetes objects (its ``run`` is set)


class _Rules(Mapping[str, Check]):
    """The registered checks that run on Kubernetes objects, by id, in the order they were registered."""

    def __getitem__(self, rule_id: str) -> Check:
        found = CHECKS[rule_id]
        if found.run is None:
            raise KeyError(rule_id)
        return found

    def __iter__(self) -> Iterator[str]:
        return (rule_id for rule_id, c in CHECKS.items() if c.run is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)


RULES: Mapping[str, Check] = _Rules()


SOURCE_PREFIX = "Source: "


def rule(
    rule_id: str,
    title: str,
    severity: str,
    *,
    kind: str,
    inspects: Iterable[str] = (),
    source: str | None = None,
    basis: str = FACT,
    also: str = "",
    autopilot: bool = False,
    notice: bool = False,
) -> Callable:
    """Register a check function on Kubernetes objects under a stable id, with what :class:`gkeml.registry.Check`
    holds. Its docstring is the rule's help, and its last paragraph, ``Source: ...``, the source it rests on
    (unless ``source`` is given). ``inspects``: the object kinds it reports on (the engine runs it on no other;
    empty: every kind); ``autopilot``: it holds only on GKE Autopilot (as every admission rule does);
    ``notice``: its findings are reported without failing the check."""

    def register_rule(fn: Callable[[Obj, Group], Iterable[Issue]]) -> Callable:
        paragraphs = [" ".join(p.split()) for p in (fn.__doc__ or title).split("\n\n")]
        cited = [p.removeprefix(SOURCE_PREFIX).rstrip(".") for p in paragraphs if p.startswith(SOURCE_PREFIX)]
        text = " ".join(p for p in paragraphs if not p.startswith(SOURCE_PREFIX))
        register(
            Check(
                rule_id,
                kind,
                severity,
                title,
                text,
                source if source is not None else " ".join(cited),
                basis=basis,
                inspects=tuple(inspects),
                also=also,
                autopilot=autopilot,
                notice=notice,
                run=fn,
            )
        )
        return fn

    return register_rule


@dataclass(frozen=True)
class Manifest:
    """A Kubernetes object, where it came from, and whether it is the checker's own (the baseline is then an
    error on it)."""

    obj: Obj
    source: str = ""
    own: bool = False


@dataclass
class Group:
    """Objects applied together; rules that look across objects search here (by kind, from an
    index: a rule asking for the neighbours of every object stays linear in the group's size)."""

    objects: list[Obj] = field(default_factory=list)
    _by_kind: dict[str, list[Obj]] | None = field(default=None, init=False, repr=False, compare=False)

    def of_kind(self, kind: str, namespace: str | None = None) -> list[Obj]:
        """Objects of ``kind`` (in ``namespace`` when given)."""
        if self._by_kind is None:
            self._by_kind = {}
            for o in self.objects:
                self._by_kind.setdefault(kind_of(o), []).append(o)
        found = self._by_kind.get(kind, [])
        return list(found) if namespace is None else [o for o in found if namespace_of(o) == namespace]


def check(
    manifests: Iterable[Manifest | Obj],
    rules: Iterable[str] | None = None,
    *,
    target: str = AUTOPILOT,
    own: bool = False,
) -> list[Finding]:
    """Run every rule (or the ids in ``rules``) over one group of objects applied together; each rule
    only on the kinds of object it inspects, and none that holds only on Autopilot when ``target`` is
    :data:`STANDARD`. A finding that replaces others (:attr:`Issue.replaces`) drops theirs on its object. The
    baseline is an error on an object that is the checker's own (``own``: all of them), advice on others."""
    if target not in TARGETS:
        raise ValueError(f"target {target!r} is none of {', '.join(TARGETS)}")
    items = [m if isinstance(m, Manifest) else Manifest(m) for m in manifests]
    group = Group([m.obj for m in items if isinstance(m.obj, dict)])
    selected = [RULES[r] for r in rules] if rules is not None else list(RULES.values())
    if target == STANDARD:
        selected = [r for r in selected if not r.autopilot_only]
    findings: list[Finding] = []
    for item in items:
        if not isinstance(item.obj, dict):
            continue
        ref, kind = reference(item.obj), kind_of(item.obj)
        mine = own or item.own or truthy(get(item.obj, "metadata", "annotations", OWN_ANNOTATION))
        found: list[tuple[Check, Issue]] = []
        for r in selected:
            if r.run is None or (r.inspects and kind not in r.inspects):
                continue
            found += [(r, issue) for issue in r.run(item.obj, group)]
        replaced = {rule_id for r, issue in found for rule_id in issue.replaces if rule_id != r.id}
        for r, issue in found:
            if r.id in replaced:
                continue
            severity = ERROR if mine and r.kind == BASELINE and r.severity == ADVICE else issue.severity
            findings.append(r.finding(ref, issue.field, issue.message, issue.fix, item.source, severity))
    return findings


# --- safe access --------------------------------------------------------------------


def get(node: Any, *keys: str | int) -> Any:
    """``node[k1][k2]...`` or None when a key is missing or a value has the wrong type."""
    for key in keys:
        if isinstance(key, int):
            if not isinstance(node, list) or not -len(node) <= key < len(node):
                return None
        elif not isinstance(node, dict):
            return None
        node = node.get(key) if isinstance(key, str) else node[key]
    return node


def as_dict(value: Any) -> dict:
    """``value`` if it is a dict, else an empty one."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list:
    """``value`` if it is a list, else an empty one."""
    return value if isinstance(value, list) else []


def kind_of(obj: Obj) -> str:
    """The object's kind ('' when missing)."""
    kind = obj.get("kind")
    return kind if isinstance(kind, str) else ""


def name_of(obj: Obj) -> str:
    """metadata.name ('' when missing)."""
    name = get(obj, "metadata", "name")
    return name if isinstance(name, str) else ""


def namespace_of(obj: Obj) -> str:
    """metadata.namespace ('' when missing, i.e. the namespace it is applied to)."""
    ns = get(obj, "metadata", "namespace")
    return ns if isinstance(ns, str) else ""


def reference(obj: Obj) -> str:
    """``Kind/namespace/name`` (``Kind/name`` for cluster-scoped objects or without a namespace)."""
    parts = [kind_of(obj) or "?", namespace_of(obj), name_of(obj) or "?"]
    if parts[0] in CLUSTER_SCOPED or not parts[1]:
        del parts[1]
    return "/".join(parts)


def quantity(value: Any) -> float | None:
    """A Kubernetes quantity in base units, or None when absent or unparsable."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return parse_quantity(value)
    except (TypeError, ValueError):
        return None


def truthy(value: Any) -> bool:
    """True for YAML true and the string "true" (labels and annotations are strings)."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


# --- pods inside workloads ----------------------------------------------------------


@dataclass(frozen=True)
class PodTemplate:
    """A pod spec found in an object, with the dotted path to it and how many pods run from it.

    ``replicas``: pods of this template when the object runs at the size its spec asks for (a Job's
    parallel pods, a LeaderWorkerSet's workers in all its groups, a Ray worker group's hosts);
    ``min_replicas`` and ``max_replicas``: the range an autoscaler the object names itself may move it in
    (a RayCluster's in-tree autoscaler; otherwise both are ``replicas``); ``per_replica``: pods per unit of
    the object's scale subresource (what a HorizontalPodAutoscaler multiplies); ``gang``: pods of it that
    start together and share one accelerator slice (a Job's parallel pods, a Ray worker's hosts, a
    LeaderWorkerSet group's workers); ``role``: which of the object's templates it is, when it has several."""

    path: str  # e.g. "spec.template.spec"
    spec: dict
    metadata: dict
    metadata_path: str
    replicas: int
    min_replicas: int | None = None  # None: replicas
    max_replicas: int | None = None
    per_replica: int = 1
    gang: int = 1
    role: str = ""

    @property
    def low(self) -> int:
        return self.replicas if self.min_replicas is None else self.min_replicas

    @property
    def high(self) -> int:
        return self.replicas if self.max_replicas is None else self.max_replicas


@dataclass(frozen=True)
class WorkloadKind:
    """A kind of object that runs pods: its API group, where its pod templates are (``templates``) and the
    source the field paths and defaults were read from."""

    kind: str
    group: str  # "" for the core group
    source: str
    templates: Callable[[Obj], list[PodTemplate]]


def count_of(value: Any) -> int | None:
    """A Kubernetes count (replicas, parallelism: int32), or None for anything else: a string, a
    bool, a negative number, or one too large for the API (which would also overflow a float)."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= INT32_MAX:
        return value
    return None


def _count(value: Any, default: int) -> int:
    found = count_of(value)
    return default if found is None else found


def _dotted(path: tuple[str | int, ...]) -> str:
    """("spec", "replicatedJobs", 0, "template") -> "spec.replicatedJobs[0].template"."""
    out = ""
    for key in path:
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else key)
    return out


def _template(obj: Obj, path: tuple[str | int, ...], replicas: int, **counts: Any) -> list[PodTemplate]:
    """The PodTemplateSpec (metadata and spec) at ``path`` of ``obj`` (the object itself for a Pod), or none."""
    template = get(obj, *path) if path else obj
    spec = get(template, "spec")
    if not isinstance(spec, dict):
        return []
    base = _dotted(path)
    return [
        PodTemplate(
            f"{base}.spec" if base else "spec",
            spec,
            as_dict(get(template, "metadata")),
            f"{base}.metadata" if base else "metadata",
            replicas,
            **counts,
        )
    ]


def job_pods(job_spec: Any) -> int:
    """Pods a Job runs at once: ``parallelism`` (default 1), no more than ``completions`` when it is set."""
    parallelism = _count(get(job_spec, "parallelism"), 1)
    completions = count_of(get(job_spec, "completions"))
    return parallelism if completions is None else min(parallelism, completions)


def _single(path: tuple[str, ...]) -> Callable[[Obj], list[PodTemplate]]:
    """One pod (a Pod, a PodTemplate)."""
    return lambda obj: _template(obj, path, 1)


def _replicated(obj: Obj) -> list[PodTemplate]:
    """spec.template, spec.replicas times (default 1)."""
    replicas = _count(get(obj, "spec", "replicas"), 1)
    return _template(obj, ("spec", "template"), replicas, gang=replicas)


def _daemon_set(obj: Obj) -> list[PodTemplate]:
    """spec.template, one pod per node (counted once: the nodes are not known here)."""
    return _template(obj, ("spec", "template"), 1)


def _job(obj: Obj) -> list[PodTemplate]:
    pods = job_pods(get(obj, "spec"))
    return _template(obj, ("spec", "template"), pods, gang=pods)


def _cron_job(obj: Obj) -> list[PodTemplate]:
    pods = job_pods(get(obj, "spec", "jobTemplate", "spec"))
    return _template(obj, ("spec", "jobTemplate", "spec", "template"), pods, gang=pods)


def _job_set(obj: Obj) -> list[PodTemplate]:
    """Each spec.replicatedJobs[i]: replicas (default 1) Jobs of template.spec, each running its parallel pods."""
    out: list[PodTemplate] = []
    for i, job in enumerate(as_list(get(obj, "spec", "replicatedJobs"))):
        pods = job_pods(get(job, "template", "spec"))
        copies = _count(get(job, "replicas"), 1)
        name = get(job, "name")
        out += _template(
            obj,
            ("spec", "replicatedJobs", i, "template", "spec", "template"),
            copies * pods,
            gang=pods,
            role=f"replicated job {name}" if isinstance(name, str) else "",
        )
    return out


def _leader_worker_set(obj: Obj) -> list[PodTemplate]:
    """spec.replicas groups (default 1) of size pods (default 1): a leader from leaderTemplate (the worker
    template when it is absent) and size - 1 workers."""
    base = ("spec", "leaderWorkerTemplate")
    groups = _count(get(obj, "spec", "replicas"), 1)
    size = max(_count(get(obj, *base, "size"), 1), 1)
    if isinstance(get(obj, *base, "leaderTemplate", "spec"), dict):
        return _template(obj, (*base, "leaderTemplate"), groups, gang=1, role="leader") + _template(
            obj, (*base, "workerTemplate"), groups * (size - 1), per_replica=size - 1, gang=size - 1, role="workers"
        )
    return _template(obj, (*base, "workerTemplate"), groups * size, per_replica=size, gang=size, role="group")


def _ray_cluster_at(obj: Obj, base: tuple[str, ...]) -> list[PodTemplate]:
    """A RayClusterSpec at ``base``: one head pod, and for each worker group its replicas within
    [minReplicas, maxReplicas] times numOfHosts (KubeRay's GetWorkerGroupDesiredReplicas); with the
    in-tree autoscaler enabled the group may move between minReplicas and maxReplicas."""
    out = _template(obj, (*base, "headGroupSpec", "template"), 1, role="head")
    autoscaled = truthy(get(obj, *base, "enableInTreeAutoscaling"))
    for i, group in enumerate(as_list(get(obj, *base, "workerGroupSpecs"))):
        low = _count(get(group, "minReplicas"), 0)
        high = _count(get(group, "maxReplicas"), INT32_MAX)
        replicas = min(max(_count(get(group, "replicas"), 0), low), high)
        hosts = max(_count(get(group, "numOfHosts"), 1), 1)
        if truthy(get(group, "suspend")):
            replicas = low = high = 0
        name = get(group, "groupName")
        out += _template(
            obj,
            (*base, "workerGroupSpecs", i, "template"),
            replicas * hosts,
            min_replicas=(low if autoscaled else replicas) * hosts,
            max_replicas=(high if autoscaled else replicas) * hosts,
            gang=hosts,
            role=f"worker group {name}" if isinstance(name, str) else "worker group",
        )
    return out


def _ray_job(obj: Obj) -> list[PodTemplate]:
    """The RayCluster of spec.rayClusterSpec (none when the job runs on an existing cluster), and the
    submitter pod of spec.submitterPodTemplate in K8sJobMode (the default)."""
    out = _ray_cluster_at(obj, ("spec", "rayClusterSpec"))
    if get(obj, "spec", "submissionMode") in (None, "K8sJobMode"):
        out += _template(obj, ("spec", "submitterPodTemplate"), 1, role="submitter")
    return out


_KUBERNETES = "kubernetes.io/docs/reference/kubernetes-api/workload-resources (Kubernetes 1.34)"
_KUBERAY = (
    "ray-project/kuberay v1.7.0 ray-operator/apis/ray/v1 (raycluster_types.go, rayservice_types.go, rayjob_types.go)"
)
WORKLOAD_KINDS: dict[str, WorkloadKind] = {
    w.kind: w
    for w in (
        WorkloadKind("Pod", "", _KUBERNETES, _single(())),
        WorkloadKind("PodTemplate", "", _KUBERNETES, _single(("template",))),
        WorkloadKind("Deployment", "apps", _KUBERNETES, _replicated),
        WorkloadKind("StatefulSet", "apps", _KUBERNETES, _replicated),
        WorkloadKind("ReplicaSet", "apps", _KUBERNETES, _replicated),
        WorkloadKind("DaemonSet", "apps", _KUBERNETES, _daemon_set),
        WorkloadKind("Job", "batch", _KUBERNETES, _job),
        WorkloadKind("CronJob", "batch", _KUBERNETES, _cron_job),
        WorkloadKind(
            "JobSet", "jobset.x-k8s.io", "kubernetes-sigs/jobset v0.12.0 api/jobset/v1alpha2/jobset_types.go", _job_set
        ),
        WorkloadKind(
            "LeaderWorkerSet",
            "leaderworkerset.x-k8s.io",
            "kubernetes-sigs/lws v0.10.0 api/leaderworkerset/v1/leaderworkerset_types.go",
            _leader_worker_set,
        ),
        WorkloadKind("RayCluster", "ray.io", _KUBERAY, lambda obj: _ray_cluster_at(obj, ("spec",))),
        WorkloadKind("RayService", "ray.io", _KUBERAY, lambda obj: _ray_cluster_at(obj, ("spec", "rayClusterConfig"))),
        WorkloadKind("RayJob", "ray.io", _KUBERAY, _ray_job),
    )
}


# Kinds that carry pod specs (what rules on pods inspect), and kinds that install a Helm chart.
POD_KINDS = tuple(WORKLOAD_KINDS)
CHART_KINDS = ("HelmRelease", "Application")


def pod_templates(obj: Obj) -> list[PodTemplate]:
    """Every pod template of a workload (:data:`WORKLOAD_KINDS`), with the pods that run from each."""
    found = WORKLOAD_KINDS.get(kind_of(obj))
    return found.templates(obj) if found else []


@dataclass(frozen=True)
class Container:
    """A container of a pod spec with its dotted path."""

    path: str
    spec: dict

    @property
    def security(self) -> dict:
        return as_dict(self.spec.get("securityContext"))

    def resource(self, kind: str, name: str) -> Any:
        """``resources.<kind>.<name>`` (kind: requests or limits)."""
        return get(self.spec, "resources", kind, name)

    def request(self, name: str) -> float | None:
        """Effective request in base units: the request, else the limit (Kubernetes copies it)."""
        value = quantity(self.resource("requests", name))
        return value if value is not None else quantity(self.resource("limits", name))


def containers(pod: PodTemplate, init: bool = True) -> list[Container]:
    """Containers (and init containers) of a pod spec."""
    keys = ("containers", "initContainers") if init else ("containers",)
    return [
        Container(f"{pod.path}.{key}[{i}]", c)
        for key in keys
        for i, c in enumerate(as_list(pod.spec.get(key)))
        if isinstance(c, dict)
    ]


def injected_sidecar(pod: PodTemplate) -> dict[tuple[str, str], float]:
    """What the GCS FUSE sidecar counts when the driver's webhook injects it into the pod (its annotation
    is true), keyed (requests|limits, resource): a limit annotation without a request makes the request
    equal (gcs-fuse-csi-driver pkg/webhook/config.go populateResource); without either, the webhook's
    default request, and Autopilot makes limits equal to requests. Empty when nothing is injected."""
    annotations = as_dict(pod.metadata.get("annotations"))
    if not truthy(annotations.get(platform.GCSFUSE_ANNOTATION)):
        return {}
    out: dict[tuple[str, str], float] = {}
    for resource, key in platform.GCSFUSE_SIDECAR_ANNOTATIONS.items():
        limit = quantity(annotations.get(key))
        request = quantity(annotations.get(key.replace("-limit", "-request")))
        default = quantity(platform.GCSFUSE_SIDECAR_DEFAULT_REQUESTS[resource])
        if request is None:
            request = limit if limit else default
        if not limit:
            limit = request
        out[("requests", resource)], out[("limits", resource)] = request or 0.0, limit or 0.0
    return out


def node_label(pod: PodTemplate, label: str) -> tuple[str | None, str]:
    """Value a pod requires for a node label (nodeSelector or required node affinity) and its field path."""
    selector = as_dict(pod.spec.get("nodeSelector"))
    if label in selector:
        value = selector[label]
        return (str(value) if value is not None else None), f"{pod.path}.nodeSelector.{label}"
    terms = get(
        pod.spec, "affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms"
    )
    for t, term in enumerate(as_list(terms)):
        for e, expr in enumerate(as_list(get(term, "matchExpressions"))):
            values = as_list(get(expr, "values"))
            if get(expr, "key") == label and get(expr, "operator") == "In" and values:
                return str(values[0]), (
                    f"{pod.path}.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuring"
                    f"Execution.nodeSelectorTerms[{t}].matchExpressions[{e}]"
                )
    return None, ""


Amounts = dict[Any, float]


def add_amounts(total: Amounts, part: Amounts) -> Amounts:
    """``total + part``, key by key."""
    return {k: total.get(k, 0.0) + part.get(k, 0.0) for k in set(total) | set(part)}


def max_amounts(a: Amounts, b: Amounts) -> Amounts:
    """The larger of ``a`` and ``b``, key by key."""
    return {k: max(a.get(k, 0.0), b.get(k, 0.0)) for k in set(a) | set(b)}


def effective_total(pod: PodTemplate, own: Callable[[dict], Amounts], sidecars: Amounts | None = None) -> Amounts:
    """What a Pod asks for as the scheduler and the kubelet add it up (Kubernetes' effective request, KEP-753
    sidecar containers): its app containers and native sidecars (init containers with restartPolicy Always,
    and the ``sidecars`` a webhook injects) together, or an ordinary init container with the sidecars started
    before it, whichever is larger. ``own(container)`` gives what one container asks for.

    Source: kubernetes.io/docs/concepts/workloads/pods/sidecar-containers ('Resource sharing within
    containers'); kubernetes/enhancements keps/sig-node/753-sidecar-containers."""
    apps: Amounts = {}
    for c in as_list(pod.spec.get("containers")):
        if isinstance(c, dict):
            apps = add_amounts(apps, own(c))
    running: Amounts = dict(sidecars or {})
    peak: Amounts = {}
    for c in as_list(pod.spec.get("initContainers")):
        if not isinstance(c, dict):
            continue
        if get(c, "restartPolicy") == "Always":
            running = add_amounts(running, own(c))
        else:
            peak = max_amounts(peak, add_amounts(running, own(c)))
    return max_amounts(add_amounts(apps, running), peak)


def accelerator_count(pod: PodTemplate, resource: str) -> tuple[int, str]:
    """The Pod's effective count of an extended resource (``nvidia.com/gpu``, ``google.com/tpu``: the limit,
    else the request, of its containers, native sidecars and init containers as :func:`effective_total` adds
    them up) and the path of the first container that sets it."""

    def own(c: dict) -> Amounts:
        value = quantity(get(c, "resources", "limits", resource))
        value = quantity(get(c, "resources", "requests", resource)) if value is None else value
        return {resource: float(int(value))} if value else {}

    where = ""
    for c in containers(pod):
        if own(c.spec):
            kind = "limits" if c.resource("limits", resource) is not None else "requests"
            where = f"{c.path}.resources.{kind}.{resource}"
            break
    return int(effective_total(pod, own).get(resource, 0.0)), where


def gpu_count(pod: PodTemplate) -> tuple[int, str]:
    """The Pod's ``nvidia.com/gpu`` count (native sidecars and init containers included) and the path of the
    first container that sets it."""
    return accelerator_count(pod, platform.GPU_RESOURCE)


def is_spot(pod: PodTemplate, group: Group) -> bool:
    """Whether the pod lands on Spot capacity: the Spot selector, or a ComputeClass in the group that prefers Spot."""
    spot, _ = node_label(pod, platform.SPOT_LABEL)
    if truthy(spot):
        return True
    cls, _ = node_label(pod, platform.COMPUTE_CLASS_LABEL)
    for cc in group.of_kind("ComputeClass"):
        if name_of(cc) == cls and any(truthy(get(p, "spot")) for p in as_list(get(cc, "spec", "priorities"))):
            return True
    return False


# --- Helm charts installed through objects ------------------------------------------


def values_document(text: str, source: str) -> object:
    """Helm values written as YAML text (one document, within the loader's limits), or None when
    the text is not YAML (e.g. a Terraform expression) or goes beyond the limits."""
    try:
        documents = load_yaml_documents(text, source)
    except ConfigError:
        return None
    return documents[0][1] if len(documents) == 1 else None


@dataclass(frozen=True)
class ChartRelease:
    """A Helm chart a Flux ``HelmRelease`` or an Argo CD ``Application`` installs: the chart and its
    repository, the values (a dict, empty when none or unreadable), the release name, the namespace it
    renders into, and the field paths findings name."""

    chart: Any
    repository: Any
    values: dict
    release: str
    namespace: str
    chart_path: str
    values_path: str
    namespace_path: str

    def value(self, path: tuple[str, ...], default: Any = None) -> Any:
        """The value at ``path`` (the chart's default when unset)."""
        found = get(self.values, *path)
        return default if found is None else found

    def value_path(self, path: tuple[str, ...]) -> str:
        return ".".join((self.values_path, *path))


def chart_release(obj: Obj, group: Group) -> ChartRelease | None:
    """The chart ``obj`` installs, or None when it is neither a HelmRelease nor an Application."""
    kind = kind_of(obj)
    if kind == "HelmRelease":
        source = get(obj, "spec", "chart", "spec", "sourceRef", "name")
        source_ns = get(obj, "spec", "chart", "spec", "sourceRef", "namespace") or namespace_of(obj)
        repos = [get(r, "spec", "url") for r in group.of_kind("HelmRepository", source_ns) if name_of(r) == source]
        target = get(obj, "spec", "targetNamespace")
        release = get(obj, "spec", "releaseName")
        return ChartRelease(
            get(obj, "spec", "chart", "spec", "chart"),
            repos[0] if repos else None,
            as_dict(get(obj, "spec", "values")),
            release if isinstance(release, str) and release else name_of(obj),
            target if isinstance(target, str) and target else namespace_of(obj),
            "spec.chart.spec.chart",
            "spec.values",
            "spec.targetNamespace" if target else "metadata.namespace",
        )
    if kind == "Application":
        source = as_dict(get(obj, "spec", "source"))
        helm = as_dict(source.get("helm"))
        values, values_path = helm.get("valuesObject"), "spec.source.helm.valuesObject"
        text = helm.get("values")
        if values is None and isinstance(text, str):
            values, values_path = values_document(text, "spec.source.helm.values"), "spec.source.helm.values"
        release = helm.get("releaseName")
        target = get(obj, "spec", "destination", "namespace")
        return ChartRelease(
            source.get("chart"),
            source.get("repoURL"),
            as_dict(values),
            release if isinstance(release, str) and release else name_of(obj),
            target if isinstance(target, str) else "",
            "spec.source.chart",
            values_path,
            "spec.destination.namespace",
        )
    return None
