"""Kubernetes manifests as plain Python dicts (no jsii): the building blocks.

Builders for jobs, team namespaces and inference services compose these; the
in-cluster stack wraps the same dicts in ``kubernetes_manifest`` resources, the
CLI prints them, and ``gkeml check`` reads them. Every value that is a platform
fact comes from :mod:`gkeml.platform`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import yaml

from gkeml import platform

if TYPE_CHECKING:
    from gkeml.config.model import IdentityConfig
    from gkeml.naming import Names

Obj = dict[str, Any]

NON_ROOT_UID = 1000
MANAGED_BY = {"app.kubernetes.io/managed-by": "gkeml"}
# Pod Security Admission: enforce baseline (the GCS FUSE sidecar and vendor charts
# need no more), warn and audit at restricted so drift shows up early.
POD_SECURITY_LABELS = {
    "pod-security.kubernetes.io/enforce": "baseline",
    "pod-security.kubernetes.io/warn": "restricted",
    "pod-security.kubernetes.io/audit": "restricted",
}


def metadata(
    name: str, namespace: str | None = None, labels: dict | None = None, annotations: dict | None = None
) -> Obj:
    meta: Obj = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    if labels:
        meta["labels"] = dict(labels)
    if annotations:
        meta["annotations"] = dict(annotations)
    return meta


def container_security_context(read_only_root: bool = True) -> Obj:
    """Restricted Pod Security Standard for a container: non-root, no privilege
    escalation, every capability dropped, RuntimeDefault seccomp."""
    return {
        "runAsNonRoot": True,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": read_only_root,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def pod_security_context(uid: int = NON_ROOT_UID) -> Obj:
    return {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": uid,
        "fsGroup": uid,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def resources(cpu: str, memory: str, gpus: int = 0, ephemeral: str | None = None) -> Obj:
    """Requests equal to limits (Guaranteed QoS; Autopilot bills requests)."""
    req: Obj = {"cpu": str(cpu), "memory": str(memory)}
    if ephemeral:
        req["ephemeral-storage"] = ephemeral
    lim = dict(req)
    if gpus:
        lim[platform.GPU_RESOURCE] = str(gpus)
        req = dict(req, **{platform.GPU_RESOURCE: str(gpus)})
    return {"requests": req, "limits": lim}


def node_selector(
    *, gpu: str | None = None, gpu_count: int = 1, spot: bool = False, compute_class: str | None = None
) -> Obj:
    """Node selectors Autopilot acts on: GPU type, Spot, compute class (never annotations).
    A GPU type and count Autopilot would reject raise ValueError naming the allowed values.
    A custom ComputeClass is selected alone: its priorities carry the GPU and the capacity
    (platform.COMPUTE_CLASS_CAPACITY); a built-in class combines with the others."""
    if compute_class and compute_class not in platform.BUILTIN_COMPUTE_CLASSES:
        return {platform.COMPUTE_CLASS_LABEL: compute_class}
    sel: Obj = {}
    if gpu:
        problem = platform.gpu_problem(gpu, gpu_count)
        if problem:
            raise ValueError(f"{problem[0]}: {problem[1]}")
        sel[platform.ACCELERATOR_LABEL] = gpu
        sel[platform.ACCELERATOR_COUNT_LABEL] = str(gpu_count)
    if spot:
        sel[platform.SPOT_LABEL] = "true"
    if compute_class:
        sel[platform.COMPUTE_CLASS_LABEL] = compute_class
    return sel


def ksa_annotations(names: Names, identity: IdentityConfig) -> dict[str, str]:
    """Annotations the Kubernetes service account of ``identity`` needs: the Google service
    account it impersonates in classic mode; none in principal mode."""
    if identity.mode != "classic":
        return {}
    return {platform.WORKLOAD_IDENTITY_ANNOTATION: names.gsa_email(identity.name)}


class _BlockStyleDumper(yaml.SafeDumper):
    """Multi-line strings as literal blocks (``|``), so embedded configs stay readable."""


_BlockStyleDumper.add_representer(
    str, lambda d, s: d.represent_scalar("tag:yaml.org,2002:str", s, style="|" if "\n" in s else None)
)


def to_yaml(objects: Iterable[Obj]) -> str:
    """Multi-document YAML in the order given."""
    return yaml.dump_all(list(objects), Dumper=_BlockStyleDumper, sort_keys=False, default_flow_style=False)
