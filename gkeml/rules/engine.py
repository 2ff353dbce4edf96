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
    ``notice``: its findings never fail `gkeml check`."""

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
    """A pod spec found in an object, with the dotted path to it."""

    path: str  # e.g. "spec.template.spec"
    spec: dict
    metadata: dict
    metadata_path: str
    replicas: int


_TEMPLATE_PATHS = {
    "Pod": ((), ("metadata",), ("spec",)),
    "PodTemplate": (("template",), ("template", "metadata"), ("template", "spec")),
    "Deployment": (("spec",), ("spec", "template", "metadata"), ("spec", "template", "spec")),
    "StatefulSet": (("spec",), ("spec", "template", "metadata"), ("spec", "template", "spec")),
    "ReplicaSet": (("spec",), ("spec", "template", "metadata"), ("spec", "template", "spec")),
    "DaemonSet": (("spec",), ("spec", "template", "metadata"), ("spec", "template", "spec")),
    "Job": (("spec",), ("spec", "template", "metadata"), ("spec", "template", "spec")),
    "CronJob": (
        ("spec", "jobTemplate", "spec"),
        ("spec", "jobTemplate", "spec", "template", "metadata"),
        ("spec", "jobTemplate", "spec", "template", "spec"),
    ),
}


# Kinds that carry pod specs (what rules on pods inspect), and kinds that install a Helm chart.
POD_KINDS = (*_TEMPLATE_PATHS, "JobSet")
CHART_KINDS = ("HelmRelease", "Application")


def count_of(value: Any) -> int | None:
    """A Kubernetes count (replicas, parallelism: int32), or None for anything else: a string, a
    bool, a negative number, or one too large for the API (which would also overflow a float)."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= INT32_MAX:
        return value
    return None


def _replicas(kind: str, owner: Any) -> int:
    key = "parallelism" if kind in ("Job", "CronJob") else "replicas"
    value = count_of(get(owner, key)) if kind not in ("Pod", "PodTemplate") else 1
    return 1 if value is None else value


def pod_templates(obj: Obj) -> list[PodTemplate]:
    """Every pod spec in a workload (Pod, Deployment, Job, CronJob, JobSet, ...)."""
    kind = kind_of(obj)
    out: list[PodTemplate] = []
    if kind in _TEMPLATE_PATHS:
        owner, meta, spec = _TEMPLATE_PATHS[kind]
        pod = get(obj, *spec)
        if isinstance(pod, dict):
            out.append(
                PodTemplate(
                    ".".join(spec),
                    pod,
                    as_dict(get(obj, *meta)),
                    ".".join(meta),
                    _replicas(kind, get(obj, *owner) if owner else obj),
                )
            )
    elif kind == "JobSet":
        for i, job in enumerate(as_list(get(obj, "spec", "replicatedJobs"))):
            pod = get(job, "template", "spec", "template", "spec")
            if isinstance(pod, dict):
                base = f"spec.replicatedJobs[{i}].template.spec.template"
                count = count_of(get(job, "replicas"))
                parallel = _replicas("Job", get(job, "template", "spec"))
                out.append(
                    PodTemplate(
                        f"{base}.spec",
                        pod,
                        as_dict(get(job, "template", "spec", "template", "metadata")),
                        f"{base}.metadata",
                        parallel * (1 if count is None else count),
                    )
                )
    return out


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


def gpu_count(pod: PodTemplate) -> tuple[int, str]:
    """Total ``nvidia.com/gpu`` limit of the app containers and the path of the first one that sets it."""
    total, where = 0, ""
    for c in containers(pod, init=False):
        value = quantity(c.resource("limits", platform.GPU_RESOURCE))
        if value is None:
            value = quantity(c.resource("requests", platform.GPU_RESOURCE))
        if value:
            total += int(value)
            where = where or f"{c.path}.resources.limits.{platform.GPU_RESOURCE}"
    return total, where


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
