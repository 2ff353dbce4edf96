"""Security rules: what Autopilot refuses to admit, and the toolkit's baseline on top.

Autopilot rejects (concepts/autopilot-security): privileged containers, host
namespaces, host ports, writable hostPath and the capabilities listed in
:data:`gkeml.platform.FORBIDDEN_CAPABILITIES`. The baseline (restricted Pod
Security Standard, default-deny ingress per namespace) is what the toolkit's own
builders emit, so user workloads are held to the same.
"""

from __future__ import annotations

from collections.abc import Iterator

from gkeml import platform
from gkeml.manifests import Obj
from gkeml.registry import ADMISSION, ADVICE, BASELINE, ERROR, WARNING
from gkeml.rules.engine import (
    POD_KINDS,
    Group,
    Issue,
    as_dict,
    as_list,
    containers,
    get,
    kind_of,
    name_of,
    pod_templates,
    rule,
)


@rule("GKE008", "Privileged containers are rejected", ERROR, kind=ADMISSION, inspects=POD_KINDS)
def privileged(obj: Obj, group: Group) -> Iterator[Issue]:
    """Autopilot admits no privileged container.

    Source: cloud.google.com/kubernetes-engine/docs/concepts/autopilot-security ('Built-in security measures':
    privileged Pods)."""
    for pod in pod_templates(obj):
        for c in containers(pod):
            if c.security.get("privileged") is True:
                yield Issue(
                    f"{c.path}.securityContext.privileged",
                    "container is privileged",
                    "remove privileged: true; grant only what the workload needs",
                )


@rule("GKE009", "Host namespaces are rejected", ERROR, kind=ADMISSION, inspects=POD_KINDS)
def host_namespaces(obj: Obj, group: Group) -> Iterator[Issue]:
    """hostNetwork, hostPID and hostIPC are refused by Autopilot.

    Source: cloud.google.com/kubernetes-engine/docs/concepts/autopilot-security ('Built-in security measures': host
    namespaces)."""
    for pod in pod_templates(obj):
        for key in ("hostNetwork", "hostPID", "hostIPC"):
            if pod.spec.get(key) is True:
                yield Issue(f"{pod.path}.{key}", f"{key} shares the node's namespace", f"remove {key}: true")


@rule("GKE010", "Host ports are rejected", ERROR, kind=ADMISSION, inspects=POD_KINDS)
def host_ports(obj: Obj, group: Group) -> Iterator[Issue]:
    """A container port with hostPort binds on the node; Autopilot refuses it.

    Source: cloud.google.com/kubernetes-engine/docs/concepts/autopilot-security ('Built-in security measures': host
    ports)."""
    for pod in pod_templates(obj):
        for c in containers(pod):
            for i, port in enumerate(as_list(c.spec.get("ports"))):
                if get(port, "hostPort"):
                    yield Issue(
                        f"{c.path}.ports[{i}].hostPort",
                        f"hostPort {get(port, 'hostPort')} binds on the node",
                        "remove hostPort; expose the port through a Service",
                    )


@rule("GKE011", "Writable hostPath is rejected", ERROR, kind=ADMISSION, inspects=POD_KINDS)
def writable_host_path(obj: Obj, group: Group) -> Iterator[Issue]:
    """Autopilot allows hostPath only read-only and only under /var/log/.

    Source: cloud.google.com/kubernetes-engine/docs/concepts/autopilot-security ('Built-in security measures':
    hostPath)."""
    prefix = platform.READ_ONLY_HOSTPATH_PREFIX
    for pod in pod_templates(obj):
        host_volumes = {}
        for i, volume in enumerate(as_list(pod.spec.get("volumes"))):
            path = get(volume, "hostPath", "path")
            if get(volume, "hostPath") is None:
                continue
            if not isinstance(path, str) or not (path + "/").startswith(prefix):
                yield Issue(
                    f"{pod.path}.volumes[{i}].hostPath",
                    f"hostPath {path!r} is outside {prefix}",
                    "use an emptyDir, a PVC or GCS FUSE instead of the node's disk",
                )
            elif isinstance(get(volume, "name"), str):
                host_volumes[get(volume, "name")] = path
        for c in containers(pod):
            for j, mount in enumerate(as_list(c.spec.get("volumeMounts"))):
                name = get(mount, "name")
                if isinstance(name, str) and name in host_volumes and get(mount, "readOnly") is not True:
                    yield Issue(
                        f"{c.path}.volumeMounts[{j}].readOnly",
                        f"hostPath {host_volumes[name]} is mounted writable",
                        "set readOnly: true on the mount",
                    )


def _capability(value: object) -> str:
    name = str(value).upper()
    return name[4:] if name.startswith("CAP_") else name


@rule("GKE012", "Disallowed Linux capabilities", ERROR, kind=ADMISSION, inspects=POD_KINDS)
def capabilities(obj: Obj, group: Group) -> Iterator[Issue]:
    """NET_ADMIN and SYS_ADMIN are rejected by Autopilot; NET_RAW is treated as not allowed.

    Source: cloud.google.com/kubernetes-engine/docs/concepts/autopilot-security ('Built-in security measures': Linux
    capabilities)."""
    forbidden = set(platform.FORBIDDEN_CAPABILITIES)
    for pod in pod_templates(obj):
        for c in containers(pod):
            for i, cap in enumerate(as_list(get(c.security, "capabilities", "add"))):
                name = _capability(cap)
                if name in forbidden or name == "ALL":
                    yield Issue(
                        f"{c.path}.securityContext.capabilities.add[{i}]",
                        f"adds capability {name}",
                        f"remove it; not allowed: {', '.join(sorted(forbidden))} (nor ALL)",
                    )


# --- baseline (restricted Pod Security Standard) -------------------------------------


@rule("GKE020", "Containers must run as non-root", WARNING, kind=BASELINE, inspects=POD_KINDS, basis=ADVICE)
def run_as_non_root(obj: Obj, group: Group) -> Iterator[Issue]:
    """Baseline: runAsNonRoot: true on the pod or every container, and never runAsUser: 0.

    Source: kubernetes.io/docs/concepts/security/pod-security-standards (Restricted: running as non-root)."""
    for pod in pod_templates(obj):
        pod_ctx = as_dict(pod.spec.get("securityContext"))
        for c in containers(pod):
            non_root = c.security.get("runAsNonRoot", pod_ctx.get("runAsNonRoot"))
            user = c.security.get("runAsUser", pod_ctx.get("runAsUser"))
            if user == 0:
                yield Issue(
                    f"{c.path}.securityContext.runAsUser",
                    "runs as root (uid 0)",
                    "run as a non-root uid (the toolkit uses 1000) with runAsNonRoot: true",
                )
            elif non_root is not True:
                yield Issue(
                    f"{c.path}.securityContext.runAsNonRoot",
                    "may run as root",
                    "set runAsNonRoot: true on the pod or the container",
                )


@rule("GKE021", "Privilege escalation must be off", WARNING, kind=BASELINE, inspects=POD_KINDS, basis=ADVICE)
def privilege_escalation(obj: Obj, group: Group) -> Iterator[Issue]:
    """Baseline: allowPrivilegeEscalation: false on every container.

    Source: kubernetes.io/docs/concepts/security/pod-security-standards (Restricted: privilege escalation)."""
    for pod in pod_templates(obj):
        for c in containers(pod):
            if c.security.get("allowPrivilegeEscalation") is not False:
                yield Issue(
                    f"{c.path}.securityContext.allowPrivilegeEscalation",
                    "privilege escalation is allowed",
                    "set allowPrivilegeEscalation: false",
                )


@rule("GKE022", "Capabilities must be dropped", WARNING, kind=BASELINE, inspects=POD_KINDS, basis=ADVICE)
def drop_capabilities(obj: Obj, group: Group) -> Iterator[Issue]:
    """Baseline: every container drops ALL capabilities (and adds back only what it needs).

    Source: kubernetes.io/docs/concepts/security/pod-security-standards (Restricted: capabilities)."""
    for pod in pod_templates(obj):
        for c in containers(pod):
            drop = [_capability(x) for x in as_list(get(c.security, "capabilities", "drop"))]
            if "ALL" not in drop:
                yield Issue(
                    f"{c.path}.securityContext.capabilities.drop",
                    "does not drop ALL capabilities",
                    "set capabilities: {drop: [ALL]}",
                )


def _denies_ingress(policy: Obj) -> bool:
    spec = as_dict(policy.get("spec"))
    selects_all = spec.get("podSelector") == {}
    return selects_all and "Ingress" in as_list(spec.get("policyTypes")) and not spec.get("ingress")


@rule("GKE023", "Namespace without default-deny ingress", WARNING, kind=BASELINE, inspects=("Namespace",), basis=ADVICE)
def default_deny(obj: Obj, group: Group) -> Iterator[Issue]:
    """Autopilot enforces NetworkPolicy but has none by default: a namespace admits all traffic
    until a default-deny ingress policy (podSelector: {}, policyTypes: [Ingress], no rules) exists.

    Source: kubernetes.io/docs/concepts/services-networking/network-policies ('Default deny all ingress traffic');
    cloud.google.com/kubernetes-engine/docs/concepts/dataplane-v2 (Autopilot enforces NetworkPolicy)."""
    name = name_of(obj)
    if kind_of(obj) != "Namespace" or name in platform.SYSTEM_NAMESPACES:
        return
    if not any(_denies_ingress(p) for p in group.of_kind("NetworkPolicy", name)):
        yield Issue(
            "metadata.name",
            f"namespace {name} has no default-deny ingress NetworkPolicy",
            "add a NetworkPolicy with podSelector: {} and policyTypes: [Ingress] in it, "
            "then allow what must reach the pods",
        )
