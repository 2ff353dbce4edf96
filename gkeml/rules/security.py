"""Security rules: what Autopilot refuses to admit, and the toolkit's baseline on top.

Autopilot rejects (concepts/autopilot-security, and GKE Warden's own refusals, each naming its constraint:
:mod:`gkeml.platform`, ``WARDEN_*``): privileged containers, host namespaces, host ports, writable hostPath
and any capability outside :data:`gkeml.platform.ALLOWED_CAPABILITIES`, unless a workload allowlist exempts
the workload (:mod:`gkeml.rules.targets`). The baseline (restricted Pod Security Standard, default-deny
ingress per namespace) is what the toolkit's own builders emit: an error on the toolkit's output and on
the objects a team marks as its own, advice on anyone else's, whose images may need what it removes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from gkeml import platform
from gkeml.manifests import Obj
from gkeml.registry import ADMISSION, ADVICE, BASELINE, ERROR
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
    """Autopilot admits no privileged container (GKE Warden: autogke-disallow-privilege) unless a workload
    allowlist exempts it (GKE081).

    Source: cloud.google.com/kubernetes-engine/docs/concepts/autopilot-security ('Built-in security measures':
    privileged Pods); "container cluster-tools is privileged; not allowed in Autopilot" (lfn-cnti/testsuite#1675)."""
    for pod in pod_templates(obj):
        for c in containers(pod):
            if c.security.get("privileged") is True:
                yield Issue(
                    f"{c.path}.securityContext.privileged",
                    "container is privileged; Autopilot refuses it",
                    "remove privileged: true and grant only what the workload needs; a node agent that must be "
                    "privileged runs on GKE Standard, or on Autopilot by its partner's workload allowlist",
                )


@rule("GKE009", "Host namespaces are rejected", ERROR, kind=ADMISSION, inspects=POD_KINDS)
def host_namespaces(obj: Obj, group: Group) -> Iterator[Issue]:
    """hostNetwork, hostPID and hostIPC are refused by Autopilot (GKE Warden: autogke-disallow-hostnamespaces).

    Source: cloud.google.com/kubernetes-engine/docs/concepts/autopilot-security ('Built-in security measures': host
    namespaces)."""
    for pod in pod_templates(obj):
        for key in ("hostNetwork", "hostPID", "hostIPC"):
            if pod.spec.get(key) is True:
                yield Issue(f"{pod.path}.{key}", f"{key} shares the node's namespace", f"remove {key}: true")


@rule("GKE010", "Host ports are rejected", ERROR, kind=ADMISSION, inspects=POD_KINDS)
def host_ports(obj: Obj, group: Group) -> Iterator[Issue]:
    """A container port with hostPort binds on the node; Autopilot refuses it (GKE Warden: autogke-no-host-port).

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
    """Autopilot allows hostPath only read-only and only under /var/log/ (GKE Warden:
    autogke-no-write-mode-hostpath).

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


@rule("GKE012", "Linux capabilities Autopilot does not admit", ERROR, kind=ADMISSION, inspects=POD_KINDS)
def capabilities(obj: Obj, group: Group) -> Iterator[Issue]:
    """Autopilot admits only the capabilities of its list in capabilities.add (AUDIT_WRITE, CHOWN, ... NET_RAW,
    SYS_PTRACE): anything else (NET_ADMIN, SYS_ADMIN, BPF, ALL) is refused (GKE Warden:
    autogke-default-linux-capabilities), and so is a name written with the CAP_ prefix.

    Source: GKE Warden's refusals listing the capabilities Autopilot allows (dragonflydb/dragonfly#1516,
    SumoLogic/sumologic-kubernetes-collection#3437, CrowdStrike/falcon-helm#310; checked 2026-12-05);
    cloud.google.com/kubernetes-engine/docs/concepts/autopilot-security ('Built-in security measures')."""
    allowed = set(platform.ALLOWED_CAPABILITIES)
    for pod in pod_templates(obj):
        for c in containers(pod):
            for i, cap in enumerate(as_list(get(c.security, "capabilities", "add"))):
                name = str(cap)
                if name.upper() in allowed:  # Warden's list is upper case; a lower-case name is not known refused
                    continue
                fix = (
                    f"write it as {_capability(cap)} (no CAP_ prefix)"
                    if _capability(cap) in allowed
                    else f"remove it; Autopilot admits only {', '.join(platform.ALLOWED_CAPABILITIES)}"
                )
                yield Issue(
                    f"{c.path}.securityContext.capabilities.add[{i}]",
                    f"adds capability {name}, which Autopilot does not admit",
                    fix,
                )


# --- baseline (restricted Pod Security Standard) -------------------------------------


# The baseline is advice on others' objects (an image may need what it removes) and an error on the objects that
# are the checker's own (gkeml.rules.engine.check): the toolkit's output, `gkeml check --own FILE`, and objects
# annotated gkeml.io/own: "true".
def _baseline(rule_id: str, title: str, inspects: tuple[str, ...] = POD_KINDS) -> Callable:
    return rule(rule_id, title, ADVICE, kind=BASELINE, inspects=inspects, basis=ADVICE, also=ERROR)


# What a fix of the baseline costs an image that needs what it takes away.
ROOT_IMAGE_CAVEAT = (
    "if the image runs as a non-root user: one built to run as root (as many inference servers' images are) "
    "then fails to start, so use a non-root build of it, or leave this and accept the advice"
)


@_baseline("GKE020", "Containers run as non-root")
def run_as_non_root(obj: Obj, group: Group) -> Iterator[Issue]:
    """Baseline: runAsNonRoot: true on the pod or every container, and never runAsUser: 0. An image built to
    run as root does not start under runAsNonRoot, so the fix says so: on others' manifests this is advice.

    Source: kubernetes.io/docs/concepts/security/pod-security-standards (Restricted: running as non-root);
    kubernetes.io/docs/tasks/configure-pod-container/security-context (runAsNonRoot: the kubelet refuses to start
    a container whose image runs as uid 0)."""
    for pod in pod_templates(obj):
        pod_ctx = as_dict(pod.spec.get("securityContext"))
        for c in containers(pod):
            non_root = c.security.get("runAsNonRoot", pod_ctx.get("runAsNonRoot"))
            user = c.security.get("runAsUser", pod_ctx.get("runAsUser"))
            if user == 0:
                yield Issue(
                    f"{c.path}.securityContext.runAsUser",
                    "runs as root (uid 0)",
                    f"run as a non-root uid (the toolkit uses 1000) with runAsNonRoot: true {ROOT_IMAGE_CAVEAT}",
                )
            elif non_root is not True:
                yield Issue(
                    f"{c.path}.securityContext.runAsNonRoot",
                    "may run as root",
                    f"set runAsNonRoot: true on the pod or the container {ROOT_IMAGE_CAVEAT}",
                )


@_baseline("GKE021", "Privilege escalation is off")
def privilege_escalation(obj: Obj, group: Group) -> Iterator[Issue]:
    """Baseline: allowPrivilegeEscalation: false on every container (setuid binaries such as sudo stop working).

    Source: kubernetes.io/docs/concepts/security/pod-security-standards (Restricted: privilege escalation)."""
    for pod in pod_templates(obj):
        for c in containers(pod):
            if c.security.get("allowPrivilegeEscalation") is not False:
                yield Issue(
                    f"{c.path}.securityContext.allowPrivilegeEscalation",
                    "privilege escalation is allowed",
                    "set allowPrivilegeEscalation: false (a process that gains privileges through a setuid binary "
                    "then cannot)",
                )


@_baseline("GKE022", "Capabilities are dropped")
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
                    "set capabilities: {drop: [ALL]} and add back what the image needs (an image that starts as "
                    "root and switches user needs SETUID and SETGID)",
                )


def _denies_ingress(policy: Obj) -> bool:
    spec = as_dict(policy.get("spec"))
    selects_all = spec.get("podSelector") == {}
    return selects_all and "Ingress" in as_list(spec.get("policyTypes")) and not spec.get("ingress")


@_baseline("GKE023", "Namespaces deny ingress by default", inspects=("Namespace",))
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
