"""Autopilot scheduling rules: GPUs, node selectors, resource requests, Spot.

Every number (GPU counts and request ranges, compute-class bounds and ratios,
defaults, the ephemeral-storage range, the Spot grace period) is read from
:mod:`gkeml.platform` when the rule runs. The monthly cost effect of a request
Autopilot changes uses the dated price table of :mod:`gkeml.cost.prices`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from gkeml import platform
from gkeml.manifests import Obj
from gkeml.registry import ADMISSION, CONTROLLER, ERROR, WARNING
from gkeml.rules.engine import (
    POD_KINDS,
    Container,
    Group,
    Issue,
    PodTemplate,
    accelerator_count,
    as_dict,
    as_list,
    containers,
    count_of,
    effective_total,
    get,
    gpu_count,
    injected_sidecar,
    is_spot,
    kind_of,
    name_of,
    node_label,
    pod_templates,
    rule,
)

GIB = 2**30


# --- GPUs ---------------------------------------------------------------------------


def _custom_class(pod: PodTemplate) -> bool:
    """A custom ComputeClass (not a built-in one) may carry the GPU type itself."""
    cls, _ = node_label(pod, platform.COMPUTE_CLASS_LABEL)
    return cls is not None and cls not in platform.BUILTIN_COMPUTE_CLASSES and cls not in platform.COMPUTE_CLASSES


@rule(
    "GKE001", "GPU node selector and nvidia.com/gpu limit must come together", ERROR, kind=ADMISSION, inspects=POD_KINDS
)
def gpu_pairing(obj: Obj, group: Group) -> Iterator[Issue]:
    """Autopilot rejects a GPU Pod unless it has BOTH the cloud.google.com/gke-accelerator node
    selector and an nvidia.com/gpu limit (a custom ComputeClass may name the GPU instead of the selector).

    Source: cloud.google.com/kubernetes-engine/docs/how-to/autopilot-gpus (the GPU node selector and limit);
    cloud.google.com/kubernetes-engine/docs/concepts/about-custom-compute-classes (a class may carry the GPU)."""
    for pod in pod_templates(obj):
        accel, accel_path = node_label(pod, platform.ACCELERATOR_LABEL)
        count, count_path = gpu_count(pod)
        if accel and not count:
            yield Issue(
                accel_path,
                f"selects {accel} nodes but no container has an {platform.GPU_RESOURCE} limit",
                f"add resources.limits.{platform.GPU_RESOURCE} to the container that uses the GPU, "
                "or remove the selector",
            )
        elif count and not accel and not _custom_class(pod):
            yield Issue(
                count_path,
                f"asks for {count} GPU(s) without a {platform.ACCELERATOR_LABEL} node selector",
                f"add nodeSelector {platform.ACCELERATOR_LABEL}: one of {', '.join(platform.GPUS)}",
            )


@rule("GKE002", "GPU type and count must be ones Autopilot offers", ERROR, kind=ADMISSION, inspects=POD_KINDS)
def gpu_count_allowed(obj: Obj, group: Group) -> Iterator[Issue]:
    """Each Autopilot GPU type allows only some GPU counts per Pod; other counts, unknown
    types and an accelerator-count label that disagrees with the limit are rejected.

    Source: cloud.google.com/kubernetes-engine/docs/how-to/autopilot-gpus (the GPU counts of each type)."""
    for pod in pod_templates(obj):
        accel, accel_path = node_label(pod, platform.ACCELERATOR_LABEL)
        count, count_path = gpu_count(pod)
        if not accel or not count:
            continue
        if accel not in platform.GPUS:
            yield Issue(accel_path, f"{accel!r} is not an Autopilot GPU", f"use one of {', '.join(platform.GPUS)}")
            continue
        allowed = platform.GPUS[accel].counts
        if count not in allowed:
            yield Issue(
                count_path, f"{count} x {accel} is not allowed", f"request one of {', '.join(map(str, allowed))} GPUs"
            )
        label, label_path = node_label(pod, platform.ACCELERATOR_COUNT_LABEL)
        if label is not None and label != str(count):
            yield Issue(
                label_path,
                f"{platform.ACCELERATOR_COUNT_LABEL} is {label!r} but the containers ask for {count} GPU(s)",
                f'set it to "{count}" or drop it',
            )


@rule(
    "GKE028",
    "A pod on a custom ComputeClass must match the class",
    ERROR,
    kind=CONTROLLER,
    inspects=POD_KINDS,
    also=WARNING,
)
def custom_compute_class_fit(obj: Obj, group: Group) -> Iterator[Issue]:
    """A custom ComputeClass carries the GPU and the capacity (Spot, on-demand, flex-start) of its
    priorities: a pod whose GPU limit is not one of the class's (or that asks for none on a GPU class)
    never gets a node from it. Other hard node selectors next to the class's (Spot, flex-start, a compact
    placement group) can contradict its priorities and leave the pod Pending: select the class alone
    (warning).

    Source: cloud.google.com/kubernetes-engine/docs/reference/crds/computeclass (priorities[].gpu, spot, flexStart);
    google/skills 1af7775 gke-compute-classes SKILL.md 'Selector Conflicts' (checked 2026-11-30)."""
    for pod in pod_templates(obj):
        cls_name, _ = node_label(pod, platform.COMPUTE_CLASS_LABEL)
        classes = [c for c in group.of_kind("ComputeClass") if name_of(c) == cls_name]
        if not cls_name or cls_name in platform.BUILTIN_COMPUTE_CLASSES:
            continue
        for label in (
            platform.ACCELERATOR_LABEL,
            platform.ACCELERATOR_COUNT_LABEL,
            platform.SPOT_LABEL,
            platform.FLEX_START_LABEL,
            platform.PLACEMENT_GROUP_LABEL,
            platform.MACHINE_FAMILY_LABEL,
        ):
            value, path = node_label(pod, label)
            if value is not None:
                yield Issue(
                    path,
                    f"{label} next to compute class {cls_name}, whose priorities decide it",
                    f"remove {label}: the class's priorities place the pod",
                    WARNING,
                )
        if not classes:
            continue  # the class is applied elsewhere: its priorities are not known here
        gpus = {
            (str(get(p, "gpu", "type")), count_of(get(p, "gpu", "count")))
            for p in as_list(get(classes[0], "spec", "priorities"))
            if isinstance(get(p, "gpu"), dict)
        }
        count, count_path = gpu_count(pod)
        offered = ", ".join(f"{n} x {t}" for t, n in sorted(gpus, key=str)) or "no GPU"
        if gpus and count not in {n for _, n in gpus}:
            yield Issue(
                count_path or f"{pod.path}.containers",
                f"compute class {cls_name} offers {offered}; the pod asks for {count} GPU(s)",
                f"set the {platform.GPU_RESOURCE} limit to the class's count",
            )
        elif not gpus and count:
            yield Issue(
                count_path,
                f"compute class {cls_name} has no GPU; the pod asks for {count}",
                "select a class with that GPU, or remove the GPU limit",
            )


# --- selectors written as annotations -----------------------------------------------


def _annotation_issues(obj: Obj, label: str, what: str) -> Iterator[Issue]:
    places = [("metadata", as_dict(get(obj, "metadata", "annotations")))]
    places += [
        (pod.metadata_path, as_dict(pod.metadata.get("annotations")))
        for pod in pod_templates(obj)
        if pod.metadata_path != "metadata"
    ]  # a Pod's own metadata: above
    for path, found in places:
        if label in found:
            yield Issue(
                f"{path}.annotations.{label}",
                f"{what} is set as an annotation, which Autopilot ignores",
                f'move it to the pod\'s nodeSelector: {label}: "{found[label]}"',
            )


@rule("GKE003", "Compute class is a nodeSelector, not an annotation", ERROR, kind=ADMISSION)
def compute_class_annotation(obj: Obj, group: Group) -> Iterator[Issue]:
    """The compute class is chosen with the cloud.google.com/compute-class node label in
    nodeSelector (or node affinity); as an annotation it is silently ignored.

    Source: cloud.google.com/kubernetes-engine/docs/concepts/about-custom-compute-classes (a nodeSelector or node
    affinity selects a class)."""
    yield from _annotation_issues(obj, platform.COMPUTE_CLASS_LABEL, "the compute class")


@rule("GKE004", "Spot is a nodeSelector, not an annotation", ERROR, kind=ADMISSION)
def spot_annotation(obj: Obj, group: Group) -> Iterator[Issue]:
    """Spot Pods are selected with the Spot node label (platform.SPOT_LABEL) in nodeSelector; as an
    annotation the Pod runs (and is billed) on on-demand capacity.

    Source: cloud.google.com/kubernetes-engine/docs/how-to/autopilot-spot-pods (a nodeSelector or node affinity
    selects Spot)."""
    yield from _annotation_issues(obj, platform.SPOT_LABEL, "Spot")


# --- resource requests --------------------------------------------------------------


def request_bounds(pod: PodTemplate) -> platform.ComputeClass | None:
    """Request bounds that apply to the pod: its GPU range, its Pod-based class, or None when unknown (a TPU
    Pod has its node's, GKE074; a machine family's node is not a Pod-based class, GKE071)."""
    if node_label(pod, platform.TPU_ACCELERATOR_LABEL)[0] or accelerator_count(pod, platform.TPU_RESOURCE)[0]:
        return None
    if node_label(pod, platform.MACHINE_FAMILY_LABEL)[0] is not None and not gpu_count(pod)[0]:
        return None
    accel, _ = node_label(pod, platform.ACCELERATOR_LABEL)
    count, _ = gpu_count(pod)
    if accel or count:
        if accel not in platform.GPUS or count not in platform.GPUS[accel].counts:
            return None  # GKE001/GKE002 report it; the range is undefined
        r = platform.GPUS[accel].range_for(count)  # a maximum, no minimum (and no default requests)
        return platform.ComputeClass(f"{count} x {accel}", 0.0, 0.0, r.max_cpu, r.max_memory_gib, None, None)
    cls, _ = node_label(pod, platform.COMPUTE_CLASS_LABEL)
    if cls is None:
        return platform.GENERAL_PURPOSE
    return platform.COMPUTE_CLASSES.get(cls)  # Performance and custom classes: bounds depend on the machine


def pod_requests(pod: PodTemplate, gpu: bool) -> tuple[float, float, list[str]]:
    """Pod CPU (vCPU) and memory (GiB) requests as Autopilot sees them, and which containers set none.

    A container without requests gets the general-purpose defaults (GPU Pods get none);
    a missing CPU or memory counts as 0 so the class ratio fills it in. The containers add up as Kubernetes'
    effective request does (:func:`~gkeml.rules.engine.effective_total`): app containers and native sidecars
    (the GCS FUSE sidecar the driver's webhook injects among them, :func:`~gkeml.rules.engine.injected_sidecar`)
    together, or an ordinary init container with the sidecars started before it, whichever is larger.
    """
    unset = [c.path for c in containers(pod) if c.request("cpu") is None and c.request("memory") is None]

    def own(spec: dict) -> dict[str, float]:
        c = Container("", spec)
        c_cpu, c_mem = c.request("cpu"), c.request("memory")
        if c_cpu is None and c_mem is None and not gpu:
            c_cpu, c_mem = platform.DEFAULT_CPU, platform.DEFAULT_MEMORY_GIB * GIB
        return {"cpu": c_cpu or 0.0, "memory": (c_mem or 0.0) / GIB}

    sidecar = injected_sidecar(pod)
    injected = (
        {"cpu": sidecar[("requests", "cpu")], "memory": sidecar[("requests", "memory")] / GIB} if sidecar else None
    )
    total = effective_total(pod, own, injected)
    return total.get("cpu", 0.0), total.get("memory", 0.0), unset


def _with_sidecar(pod: PodTemplate, *resources: str) -> str:
    """`` (with the GCS FUSE sidecar's ...)`` when the driver's webhook injects one into the pod, else ''."""
    sidecar = injected_sidecar(pod)
    if not sidecar:
        return ""
    shown = {
        "cpu": lambda v: f"{round(v, 3):g} vCPU",
        "memory": lambda v: f"{round(v / GIB, 2):g} GiB",
        "ephemeral-storage": lambda v: f"{round(v / GIB, 2):g} GiB",
    }
    return f" (with the GCS FUSE sidecar's {' / '.join(shown[r](sidecar[('requests', r)]) for r in resources)})"


def monthly_cost(cpu: float, memory: float, class_name: str, spot: bool) -> float | None:
    """Monthly price of Pod requests in a Pod-based class (None when the table has no rate for it)."""
    from gkeml.cost.prices import shipped_prices

    table = shipped_prices()
    rates = table.autopilot.pod.get(class_name)
    if rates is None:
        return None
    r = rates.spot if spot else rates.regular
    return (cpu * r.vcpu_hour + memory * r.gib_hour) * table.hours_per_month


def _fmt(cpu: float, memory: float) -> str:
    return f"{round(cpu, 3):g} vCPU / {round(memory, 2):g} GiB"


def _request_field(pod: PodTemplate, resource: str) -> str:
    """The field of the first container that requests ``resource`` (the pod's containers when none does)."""
    for c in containers(pod):
        if c.request(resource) is not None:
            kind = "requests" if c.resource("requests", resource) is not None else "limits"
            return f"{c.path}.resources.{kind}.{resource}"
    return f"{pod.path}.containers"


@rule("GKE005", "Requests above the class or GPU maximum", ERROR, kind=ADMISSION, inspects=POD_KINDS)
def requests_above_maximum(obj: Obj, group: Group) -> Iterator[Issue]:
    """Autopilot rejects a Pod whose total CPU or memory requests exceed the maximum of its
    compute class (or of its GPU type and count). A DaemonSet has maxima of its own, which gkeml has not
    confirmed: it is not held to a Pod's.

    Source: cloud.google.com/kubernetes-engine/docs/concepts/autopilot-resource-requests ('Minimum and maximum
    resource requests'); cloud.google.com/kubernetes-engine/docs/how-to/autopilot-gpus (the ranges per GPU type and
    count); gcs-fuse-csi-driver pkg/webhook/config.go (the sidecar it injects)."""
    if kind_of(obj) == "DaemonSet":
        return  # platform.DAEMONSET_REQUESTS: its maxima are not confirmed
    for pod in pod_templates(obj):
        cls = request_bounds(pod)
        if cls is None:
            continue
        cpu, memory, _ = pod_requests(pod, gpu=cls.name not in platform.COMPUTE_CLASSES)
        if cpu <= cls.max_cpu + 1e-9 and memory <= cls.max_memory_gib + 1e-9:
            continue
        bigger = [c for c in platform.COMPUTE_CLASSES.values() if c.max_cpu >= cpu and c.max_memory_gib >= memory]
        fix = f"lower the requests to at most {_fmt(cls.max_cpu, cls.max_memory_gib)}"
        if bigger and cls.name in platform.COMPUTE_CLASSES:
            fix += (
                f", or select compute class {bigger[0].name} (max {_fmt(bigger[0].max_cpu, bigger[0].max_memory_gib)})"
            )
        yield Issue(
            _request_field(pod, "cpu" if cpu > cls.max_cpu + 1e-9 else "memory"),
            f"Pod requests {_fmt(cpu, memory)}{_with_sidecar(pod, 'cpu', 'memory')} exceed the {cls.name} maximum "
            f"{_fmt(cls.max_cpu, cls.max_memory_gib)}; Autopilot rejects the Pod",
            fix,
        )


@rule(
    "GKE006", "Requests Autopilot would change (minimum, ratio, missing)", WARNING, kind=ADMISSION, inspects=POD_KINDS
)
def requests_adjusted(obj: Obj, group: Group) -> Iterator[Issue]:
    """Autopilot raises requests below the class minimum, fills in a missing CPU or memory and
    raises the smaller resource to fit the class CPU:memory ratio; you pay for what it sets.
    GPU Pods get no default requests and no minimum (they are billed per node; GKE082 advises explicit
    requests). A DaemonSet's containers that request nothing get the DaemonSet defaults (50 mCPU, 100 MiB
    each), not a Pod's, and a DaemonSet is not held to the Pod classes' minimums and ratios.

    Source: cloud.google.com/kubernetes-engine/docs/concepts/autopilot-resource-requests ('Default resource
    requests', 'Default requests for compute classes', 'Minimum and maximum resource requests', 'Resource ratio',
    'Resource requests for DaemonSets'); the price table gkeml/cost/prices.json."""
    if kind_of(obj) == "DaemonSet":
        yield from _daemonset_defaults(obj)
        return
    for pod in pod_templates(obj):
        cls = request_bounds(pod)
        if cls is None or cls.name not in platform.COMPUTE_CLASSES:
            continue  # GPU Pods: no default requests, no minimum (platform.NO_DEFAULT_REQUESTS_CLASSES)
        cpu, memory, _ = pod_requests(pod, gpu=False)
        if cpu > cls.max_cpu or memory > cls.max_memory_gib:
            continue  # GKE005
        new_cpu, new_memory = cls.billed_requests(cpu, memory)
        if math.isclose(new_cpu, cpu, abs_tol=1e-6) and math.isclose(new_memory, memory, abs_tol=1e-6):
            continue
        spot = is_spot(pod, group)
        before, after = monthly_cost(cpu, memory, cls.name, spot), monthly_cost(new_cpu, new_memory, cls.name, spot)
        if before is None or after is None:
            effect = f"no {cls.name} rate in the price table"
        else:
            effect = (
                f"{'+' if after >= before else '-'}${abs(after - before) * pod.replicas:,.2f} per month for "
                f"{pod.replicas} replica(s){' on Spot' if spot else ''}"
            )
        yield Issue(
            f"{pod.path}.containers",
            f"Autopilot changes the Pod's requests from {_fmt(cpu, memory)}{_with_sidecar(pod, 'cpu', 'memory')} to "
            f"{_fmt(new_cpu, new_memory)} ({cls.name}); {effect}",
            f"request {_fmt(new_cpu, new_memory)} (limits equal) so the spec says what you pay for",
        )


def _daemonset_defaults(obj: Obj) -> Iterator[Issue]:
    """The containers of a DaemonSet that request neither CPU nor memory: Autopilot gives each the DaemonSet
    defaults (platform.DAEMONSET_REQUESTS), on every node it runs on."""
    ds = platform.DAEMONSET_REQUESTS
    for pod in pod_templates(obj):
        unset = [c for c in containers(pod) if c.request("cpu") is None and c.request("memory") is None]
        if not unset:
            continue
        names = ", ".join(str(c.spec.get("name", c.path)) for c in unset)
        cpu, memory = ds.default_cpu * len(unset), ds.default_memory_gib * len(unset)
        cost = monthly_cost(cpu, memory, platform.GENERAL_PURPOSE.name, False)
        effect = f"about ${cost:,.2f} per month on each general-purpose node it runs on" if cost is not None else ""
        yield Issue(
            f"{unset[0].path}.resources",
            f"Autopilot sets its DaemonSet defaults ({ds.default_cpu * 1000:g}m CPU, {ds.default_memory_gib * 1024:g} "
            f"MiB memory) on {len(unset)} container(s) that request none ({names})" + (f"; {effect}" if effect else ""),
            "set cpu and memory requests on each container to what it uses",
        )


@rule(
    "GKE007", "Ephemeral storage outside the Autopilot range", ERROR, kind=ADMISSION, inspects=POD_KINDS, also=WARNING
)
def ephemeral_storage(obj: Obj, group: Group) -> Iterator[Issue]:
    """Pod-based classes accept 10 MiB to 10 GiB of ephemeral storage per Pod: more is
    rejected (use a volume), less is raised. A DaemonSet has its own range, which gkeml has not confirmed.

    Source: cloud.google.com/kubernetes-engine/docs/concepts/autopilot-resource-requests (ephemeral storage of
    Pod-based classes); gcs-fuse-csi-driver pkg/webhook/config.go (the sidecar it injects)."""
    if kind_of(obj) == "DaemonSet":
        return  # platform.DAEMONSET_REQUESTS: its range is not confirmed
    for pod in pod_templates(obj):
        cls = request_bounds(pod)
        if cls is None or cls.name not in platform.COMPUTE_CLASSES:
            continue
        sidecar = injected_sidecar(pod).get(("requests", "ephemeral-storage"))
        total, first = (sidecar or 0.0) / GIB, ""
        for c in containers(pod, init=False):
            value = c.request("ephemeral-storage")
            if value is not None:
                total += value / GIB
                first = first or f"{c.path}.resources.requests.ephemeral-storage"
            elif sidecar is not None:  # beside a sidecar that asks for some, Autopilot's default counts
                total += platform.DEFAULT_EPHEMERAL_GIB
        if not first and sidecar is not None:
            first = f"{pod.metadata_path}.annotations.{platform.GCSFUSE_SIDECAR_ANNOTATIONS['ephemeral-storage']}"
        if not first:
            continue
        low, high = platform.EPHEMERAL_MIN_GIB, platform.EPHEMERAL_MAX_GIB
        if total > high + 1e-9:
            yield Issue(
                first,
                f"Pod asks for {round(total, 2):g} GiB of ephemeral storage{_with_sidecar(pod, 'ephemeral-storage')}; "
                f"the maximum is {high:g} GiB and Autopilot rejects the Pod",
                "use a volume (GCS FUSE, a PVC or a generic ephemeral volume) for scratch data",
            )
        elif total < low - 1e-9:
            yield Issue(
                first,
                f"Pod asks for {round(total * 1024, 2):g} MiB of ephemeral storage; Autopilot "
                f"raises it to {low * 1024:g} MiB",
                f"request at least {low * 1024:g}Mi",
                WARNING,
            )


# --- Spot -------------------------------------------------------------------------


@rule("GKE013", "Spot grace period longer than GKE honours", WARNING, kind=CONTROLLER, inspects=POD_KINDS)
def spot_grace_period(obj: Obj, group: Group) -> Iterator[Issue]:
    """At preemption a Spot Pod gets at most 25 s, whatever terminationGracePeriodSeconds says:
    a checkpoint that needs longer is lost.

    Source: cloud.google.com/kubernetes-engine/docs/how-to/autopilot-spot-pods (the grace period a preempted Spot
    Pod gets)."""
    limit = platform.SPOT_TERMINATION_GRACE_SECONDS
    for pod in pod_templates(obj):
        grace = pod.spec.get("terminationGracePeriodSeconds")
        if isinstance(grace, int) and not isinstance(grace, bool) and grace > limit and is_spot(pod, group):
            yield Issue(
                f"{pod.path}.terminationGracePeriodSeconds",
                f"{grace} s on Spot capacity: preemption gives at most {limit} s",
                f"set it to {limit} and checkpoint within {limit} s of SIGTERM (preStop hook or signal handler)",
            )
