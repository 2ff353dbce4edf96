"""Advice on GPU Pods' requests: Autopilot sets none on them (they are billed per node), so a container that
requests nothing is invisible to the scheduler and the quota (GKE082)."""

from __future__ import annotations

from collections.abc import Iterator

from gkeml.manifests import Obj
from gkeml.registry import ADVICE, BASELINE, ERROR
from gkeml.rules.engine import POD_KINDS, Group, Issue, containers, gpu_count, kind_of, pod_templates, rule
from gkeml.rules.scheduling import _fmt, request_bounds


@rule(
    "GKE082",
    "GPU containers request CPU and memory explicitly",
    ADVICE,
    kind=BASELINE,
    inspects=POD_KINDS,
    basis=ADVICE,
    also=ERROR,
)
def gpu_explicit_requests(obj: Obj, group: Group) -> Iterator[Issue]:
    """Autopilot sets no default requests on a GPU Pod (it is billed per node), so what a container of one
    that requests no CPU and no memory uses is invisible to the scheduler and to the namespace's quota, and a
    Pod none of whose containers requests any is BestEffort, the first evicted under node pressure. Advice:
    say what it uses (an error on your own objects, like the rest of the baseline).

    Source: cloud.google.com/kubernetes-engine/docs/concepts/autopilot-resource-requests ('Default requests for
    compute classes': no default requests for Accelerator Pods); kubernetes.io/docs/concepts/workloads/pods/pod-qos
    (BestEffort)."""
    if kind_of(obj) == "DaemonSet":
        return  # DaemonSets get defaults of their own (GKE006)
    for pod in pod_templates(obj):
        if not gpu_count(pod)[0]:
            continue
        unset = [c for c in containers(pod) if c.request("cpu") is None and c.request("memory") is None]
        if not unset:
            continue
        cls = request_bounds(pod)
        bound = f" (at most {_fmt(cls.max_cpu, cls.max_memory_gib)} for {cls.name})" if cls is not None else ""
        effect = (
            "the Pod is BestEffort, the first evicted under node pressure"
            if len(unset) == len(containers(pod))
            else "what they use is invisible to the scheduler and to the namespace's quota"
        )
        yield Issue(
            f"{unset[0].path}.resources",
            f"{len(unset)} container(s) of a GPU Pod request no CPU or memory, and Autopilot sets no default requests "
            f"on GPU Pods: {effect}",
            f"set cpu and memory requests (limits equal) to what each container uses{bound}",
        )
