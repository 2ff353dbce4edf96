"""Where a Pod lands: GPU tolerations, machine families, TPU slices and compute classes.

These rules read what a Pod selects (node selectors and required node affinity) and asks for (its
containers, native sidecars and init containers, as :func:`~gkeml.rules.engine.effective_total` adds them
up), in every kind of object that runs pods (:data:`~gkeml.rules.engine.WORKLOAD_KINDS`). TPU Pods are
judged against their own facts (:data:`gkeml.platform.TPUS`: versions, slice topologies, the chips of a node
and the nodes of a slice, the node's machine), never as CPU Pods; a Pod that selects a machine family is
judged against the Performance class it needs rather than the general-purpose maximum.
"""

from __future__ import annotations

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
    as_list,
    containers,
    effective_total,
    get,
    gpu_count,
    injected_sidecar,
    name_of,
    node_label,
    pod_templates,
    rule,
)

GIB = 2**30


def _custom_class(pod: PodTemplate) -> str | None:
    """The custom ComputeClass the pod selects (one that is not built in), or None."""
    cls, _ = node_label(pod, platform.COMPUTE_CLASS_LABEL)
    if cls is None or cls in platform.BUILTIN_COMPUTE_CLASSES or cls in platform.COMPUTE_CLASSES:
        return None
    return cls


# --- GPU tolerations --------------------------------------------------------------------


@rule("GKE070", "A GPU toleration needs a GPU request", ERROR, kind=ADMISSION, inspects=POD_KINDS)
def gpu_toleration_without_gpu(obj: Obj, group: Group) -> Iterator[Issue]:
    """GKE Warden refuses a Pod that tolerates the nvidia.com/gpu taint but requests no GPU ("denied by
    autogke-gpu-limitation"). A Pod that requests GPUs (in any container, native sidecar or init container)
    is given the toleration by GKE, so an Autopilot Pod spec never needs it.

    Source: GKE Warden's autogke-gpu-limitation denial, quoted in GoogleCloudPlatform/k8s-stackdriver#1079
    (2026-02-28) and skypilot-org/skypilot#4542 (2025-01-07); cloud.google.com/kubernetes-engine/docs/concepts/gpus
    (the toleration of GPU Pods)."""
    for pod in pod_templates(obj):
        if gpu_count(pod)[0]:
            continue
        for i, toleration in enumerate(as_list(pod.spec.get("tolerations"))):
            if get(toleration, "key") == platform.GPU_TOLERATION_KEY:
                yield Issue(
                    f"{pod.path}.tolerations[{i}]",
                    f"tolerates the {platform.GPU_TOLERATION_KEY} taint but requests no GPU: Autopilot refuses the "
                    f"Pod ({platform.GPU_TOLERATION_DENIAL})",
                    f"remove the toleration (a Pod that requests {platform.GPU_RESOURCE} is given it by GKE), or "
                    "request the GPU it is meant for",
                )


# --- machine families -------------------------------------------------------------------


@rule(
    "GKE071",
    "A machine-family selector needs compute class Performance",
    ERROR,
    kind=ADMISSION,
    inspects=POD_KINDS,
)
def machine_family_without_performance(obj: Obj, group: Group) -> Iterator[Issue]:
    """An Autopilot Pod chooses a Compute Engine machine series (cloud.google.com/machine-family) together
    with the Performance compute class; without it (or next to another built-in class) Autopilot refuses the
    Pod. The general-purpose request range does not apply to such a Pod, so no other rule judges it as a
    general-purpose Pod. (A custom ComputeClass names machine families in its priorities: GKE028.)

    Source: cloud.google.com/kubernetes-engine/docs/how-to/autopilot-compute-classes ('If you choose
    Performance, you can optionally select a Compute Engine machine series'); reviewed Autopilot admission facts
    of 2026-12-04. GKE's how-to/performance-pods (checked 2026-12-05) describes the selector alone on newer
    clusters; the version that admits it is not confirmed."""
    for pod in pod_templates(obj):
        family, path = node_label(pod, platform.MACHINE_FAMILY_LABEL)
        if family is None:
            continue
        cls, _ = node_label(pod, platform.COMPUTE_CLASS_LABEL)
        if cls == platform.PERFORMANCE_CLASS or _custom_class(pod):
            continue
        with_class = f"compute class {cls}" if cls else "no compute class"
        fix = (
            f"select compute class {platform.PERFORMANCE_CLASS} instead of {cls}"
            if cls
            else f"add nodeSelector {platform.COMPUTE_CLASS_LABEL}: {platform.PERFORMANCE_CLASS}"
        )
        yield Issue(
            path,
            f"selects machine family {family} with {with_class}: Autopilot admits a machine-family selector only "
            f"with compute class {platform.PERFORMANCE_CLASS}",
            f"{fix} (a {family} node for each Pod, billed per node), or remove {platform.MACHINE_FAMILY_LABEL} "
            "to run on general-purpose capacity",
        )


# --- TPU slices -------------------------------------------------------------------------


def _layouts_text(layouts: dict[int, int]) -> str:
    """{8: 1, 4: 2} -> '8 chips on one node, or 4 on each of 2 nodes'."""
    parts = [
        f"{chips} chip(s) on one node" if nodes == 1 else f"{chips} on each of {nodes} nodes"
        for chips, nodes in sorted(layouts.items(), key=lambda item: item[1])
    ]
    return ", or ".join(parts)


def _topologies_text(tpu: platform.Tpu) -> str:
    shown = ", ".join(tpu.topologies)
    return shown + (", or whole 4x4x4 cubes (sides multiples of 4)" if tpu.max_cubes else "")


@rule(
    "GKE072",
    "A TPU Pod selects a TPU version and topology and asks for chips",
    ERROR,
    kind=ADMISSION,
    inspects=POD_KINDS,
    also=WARNING,
)
def tpu_request(obj: Obj, group: Group) -> Iterator[Issue]:
    """An Autopilot TPU Pod selects the TPU version (cloud.google.com/gke-tpu-accelerator) and a slice
    topology that version has (cloud.google.com/gke-tpu-topology), and asks for the chips in google.com/tpu:
    a selector without chips, chips without a selector, no topology or a topology the version does not have
    is not admitted (a custom ComputeClass may carry the TPU instead of the selectors). A TPU version gkeml does
    not know is reported as not checked (warning).

    Source: cloud.google.com/kubernetes-engine/docs/how-to/tpus-autopilot ('How TPUs work in Autopilot');
    cloud.google.com/kubernetes-engine/docs/concepts/plan-tpus (versions and topologies);
    AI-Hypercomputer/xpk 367c838 src/xpk/core/system_characteristics.py (labels and topologies, 2026-06-25)."""
    for pod in pod_templates(obj):
        accel, accel_path = node_label(pod, platform.TPU_ACCELERATOR_LABEL)
        topology, topology_path = node_label(pod, platform.TPU_TOPOLOGY_LABEL)
        count, count_path = accelerator_count(pod, platform.TPU_RESOURCE)
        if accel and not count:
            yield Issue(
                accel_path,
                f"selects {accel} TPU nodes but no container asks for {platform.TPU_RESOURCE}",
                f"add resources.requests and limits {platform.TPU_RESOURCE} (the chips of one node) to the "
                "container that uses the TPU, or remove the selector",
            )
        elif count and not accel and not _custom_class(pod):
            yield Issue(
                count_path,
                f"asks for {count} TPU chip(s) without a {platform.TPU_ACCELERATOR_LABEL} node selector",
                f"add nodeSelector {platform.TPU_ACCELERATOR_LABEL}: one of {', '.join(platform.TPUS)}, and "
                f"{platform.TPU_TOPOLOGY_LABEL}",
            )
        if not accel:
            continue
        tpu = platform.TPUS.get(accel)
        if tpu is None:
            yield Issue(
                accel_path,
                f"{accel!r} is not a TPU version gkeml knows: its topology, chips and requests are not checked",
                f"check the name against the GKE TPU docs (gkeml knows {', '.join(platform.TPUS)})",
                WARNING,
            )
        elif topology is None:
            if not _custom_class(pod):
                yield Issue(
                    accel_path,
                    f"selects {tpu.name} without a {platform.TPU_TOPOLOGY_LABEL} selector: Autopilot needs the "
                    "slice topology",
                    f"add nodeSelector {platform.TPU_TOPOLOGY_LABEL}: one of {_topologies_text(tpu)}",
                )
        elif tpu.chips(topology) is None:
            yield Issue(
                topology_path,
                f"{topology!r} is not a {tpu.name} slice topology",
                f"use one of {_topologies_text(tpu)}",
            )


def tpu_slice(pod: PodTemplate) -> tuple[platform.Tpu, str, dict[int, int]] | None:
    """(TPU version, topology, chips per Pod -> nodes) of a Pod that selects a known version and one of its
    topologies, or None."""
    accel, _ = node_label(pod, platform.TPU_ACCELERATOR_LABEL)
    topology, _ = node_label(pod, platform.TPU_TOPOLOGY_LABEL)
    tpu = platform.TPUS.get(accel) if accel else None
    if tpu is None or topology is None:
        return None
    layouts = tpu.layouts(topology)
    return (tpu, topology, layouts) if layouts else None


@rule(
    "GKE073",
    "TPU chips per Pod and Pods per slice must match the topology",
    ERROR,
    kind=CONTROLLER,
    inspects=POD_KINDS,
    also=WARNING,
)
def tpu_chips_for_topology(obj: Obj, group: Group) -> Iterator[Issue]:
    """A slice topology is one node holding all its chips (1, 4, or 8 for v5e and v6e) or nodes of 4 chips
    each, and every TPU Pod gets a node of its own: google.com/tpu must be the chips of one node, otherwise no
    node fits the Pod (error). A multi-host slice runs one Pod per node, all started together: a template that
    starts fewer (a Job's parallelism, a JobSet job's, a Ray worker group's numOfHosts, a LeaderWorkerSet
    group's workers) leaves nodes of the slice idle and the Pods wait for peers that never come (warning).

    Source: cloud.google.com/kubernetes-engine/docs/concepts/plan-tpus (single-host and multi-host slices);
    cloud.google.com/tpu/docs/v5e ('Configurations'); AI-Hypercomputer/xpk 367c838
    src/xpk/core/system_characteristics.py (chips per machine); GoogleCloudPlatform/kubernetes-engine-samples
    2b50365 (multi-host Jobs, JobSets, RayClusters, LeaderWorkerSets)."""
    for pod in pod_templates(obj):
        found = tpu_slice(pod)
        count, count_path = accelerator_count(pod, platform.TPU_RESOURCE)
        if found is None or not count:
            continue
        tpu, topology, layouts = found
        chips = tpu.chips(topology)
        if count not in layouts:
            best = max(layouts, key=lambda c: (layouts[c] == 1, c))
            yield Issue(
                count_path,
                f"asks for {count} TPU chip(s) per Pod; a {topology} {tpu.name} slice has {chips} chips: "
                f"{_layouts_text(layouts)}, so no node fits the Pod",
                f"request {platform.TPU_RESOURCE}: {best} (requests and limits)",
            )
            continue
        nodes = layouts[count]
        if nodes > 1 and pod.gang % nodes:
            yield Issue(
                pod.path,
                f"a {topology} {tpu.name} slice is {nodes} nodes of {count} chips and runs {nodes} Pods started "
                f"together; this template starts {pod.gang} at once, so the slice never runs whole",
                f"start {nodes} Pods of it together (a Job's parallelism and completions, a Ray worker group's "
                f"numOfHosts, a LeaderWorkerSet group's workers), or select a single-node topology",
                WARNING,
            )


@rule("GKE074", "A TPU Pod's requests must fit its TPU node", ERROR, kind=ADMISSION, inspects=POD_KINDS)
def tpu_requests_fit_node(obj: Obj, group: Group) -> Iterator[Issue]:
    """A TPU Pod gets a node of its own, the machine of its version with as many chips as it asks for: CPU and
    memory requests above what that node allocates to Pods (its capacity less GKE's reservations) are never
    scheduled. The GCS FUSE sidecar the driver injects counts. (TPU Pods are not judged against the
    general-purpose range.)

    Source: cloud.google.com/kubernetes-engine/docs/how-to/tpus-autopilot (a node per TPU Pod);
    cloud.google.com/kubernetes-engine/docs/concepts/plan-node-sizes (allocatable); the machines' vCPUs and memory
    in Cyclenerd/google-cloud-pricing-cost-calculator tools/machinetypes.csv 8c32d22 (2026-07-01)."""
    for pod in pod_templates(obj):
        found = tpu_slice(pod)
        count, _ = accelerator_count(pod, platform.TPU_RESOURCE)
        machine = found[0].machine(count) if found and count in found[2] else None
        allocatable = machine.allocatable if machine else None
        if machine is None or allocatable is None:
            continue

        def own(spec: dict) -> dict[str, float]:
            c = Container("", spec)
            return {"cpu": c.request("cpu") or 0.0, "memory": (c.request("memory") or 0.0) / GIB}

        sidecar = injected_sidecar(pod)
        injected = (
            {"cpu": sidecar[("requests", "cpu")], "memory": sidecar[("requests", "memory")] / GIB} if sidecar else None
        )
        total = effective_total(pod, own, injected)
        cpu, memory = total.get("cpu", 0.0), total.get("memory", 0.0)
        max_cpu, max_memory = allocatable
        if cpu <= max_cpu + 1e-9 and memory <= max_memory + 1e-9:
            continue
        resource = "cpu" if cpu > max_cpu + 1e-9 else "memory"
        field = next(
            (
                f"{c.path}.resources.{'requests' if c.resource('requests', resource) is not None else 'limits'}."
                f"{resource}"
                for c in containers(pod)
                if c.request(resource)
            ),
            f"{pod.path}.containers",
        )
        yield Issue(
            field,
            f"Pod requests {cpu:.4g} vCPU / {memory:.4g} GiB; its {machine.name} node ({count} TPU chip(s)) "
            f"allocates at most {max_cpu:.4g} vCPU / {max_memory:.4g} GiB to Pods, so it is never scheduled",
            f"lower the requests to at most {int(max_cpu)} vCPU / {int(max_memory)} GiB",
        )


# --- compute classes the input does not define --------------------------------------------------


@rule(
    "GKE075",
    "A custom ComputeClass the checked input does not define is not checked",
    WARNING,
    kind=CONTROLLER,
    inspects=POD_KINDS,
    notice=True,
)
def compute_class_not_checked(obj: Obj, group: Group) -> Iterator[Issue]:
    """A Pod on a custom ComputeClass gets the nodes of the class's priorities (GPU type and count, TPU, Spot,
    machine family): whether the Pod fits them (GKE028), lands on Spot (GKE013) or meets a Kueue flavor (GKE042)
    is only checked when the class is among the checked objects. A class defined elsewhere is reported as not
    checked, without failing the check: give its definition with `gkeml check --classes FILE`.

    Source: cloud.google.com/kubernetes-engine/docs/concepts/about-custom-compute-classes (a class's priorities
    decide the nodes of the Pods that select it)."""
    defined = {name_of(c) for c in group.of_kind("ComputeClass")}
    seen: set[str] = set()
    for pod in pod_templates(obj):
        cls = _custom_class(pod)
        if cls is None or cls in defined or cls in seen:
            continue
        seen.add(cls)
        _, path = node_label(pod, platform.COMPUTE_CLASS_LABEL)
        yield Issue(
            path,
            f"compute class {cls} is not defined in the checked input: whether the Pod fits its priorities is not "
            "checked",
            f"check it together with the ComputeClass {cls} (gkeml check --classes FILE; "
            f"kubectl get computeclass {cls} -o yaml)",
        )
