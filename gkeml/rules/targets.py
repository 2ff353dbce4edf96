"""Which of Autopilot's refusals hold for an object: the cluster it is written for, and the allowlist that
admits it.

A manifest nobody here wrote is often not for Autopilot at all: a node agent in ``kube-system``, a Job that
selects a node pool, a multi-NIC pod on the host network are written for GKE Standard. Judged as Autopilot
objects they draw several refusals each, none of them the fix; GKE080 reports one finding per object instead,
"targets GKE Standard: <why>", and replaces the Autopilot-only findings on it (``gkeml check --target
standard`` runs no Autopilot-only check at all). A privileged partner workload that names its workload
allowlist (the label ``cloud.google.com/matching-allowlist``) is admitted by it: GKE081 says so, and replaces
the refusals the allowlist exempts it from (those it names, when the allowlist is among the checked objects;
the host-access ones when it is installed from elsewhere).
"""

from __future__ import annotations

from collections.abc import Iterator

from gkeml import platform
from gkeml.manifests import Obj
from gkeml.registry import ADMISSION, CHECKS, ERROR, WARNING
from gkeml.rules.engine import (
    POD_KINDS,
    Group,
    Issue,
    PodTemplate,
    as_dict,
    as_list,
    containers,
    get,
    kind_of,
    name_of,
    namespace_of,
    pod_templates,
    rule,
)

STANDARD_TARGET, ALLOWLISTED = "GKE080", "GKE081"

# The rule that reports what each GKE Warden constraint refuses (an allowlist exempts a workload by
# constraint: gkeml.platform, WARDEN_*).
EXEMPTED_RULES = {
    platform.WARDEN_PRIVILEGE: "GKE008",
    platform.WARDEN_HOST_NAMESPACES: "GKE009",
    platform.WARDEN_HOST_PORT: "GKE010",
    platform.WARDEN_HOST_PATH: "GKE011",
    platform.WARDEN_CAPABILITIES: "GKE012",
}


def host_access(pod: PodTemplate) -> list[str]:
    """What of the node a pod asks for that Autopilot refuses without an allowlist (privileged containers,
    host namespaces and ports, hostPath outside /var/log/, capabilities it does not admit), in words."""
    found: list[str] = []
    if any(c.security.get("privileged") is True for c in containers(pod)):
        found.append("privileged containers")
    found += [key for key in ("hostNetwork", "hostPID", "hostIPC") if pod.spec.get(key) is True]
    if any(get(port, "hostPort") for c in containers(pod) for port in as_list(c.spec.get("ports"))):
        found.append("host ports")
    paths = [get(v, "hostPath", "path") for v in as_list(pod.spec.get("volumes")) if get(v, "hostPath") is not None]
    outside = [
        p for p in paths if not (isinstance(p, str) and (p + "/").startswith(platform.READ_ONLY_HOSTPATH_PREFIX))
    ]
    if outside:
        found.append(f"hostPath {', '.join(str(p) for p in outside[:3])}{' ...' if len(outside) > 3 else ''}")
    allowed = set(platform.ALLOWED_CAPABILITIES)
    caps = sorted(
        {
            str(cap)
            for c in containers(pod)
            for cap in as_list(get(c.security, "capabilities", "add"))
            if str(cap).upper() not in allowed
        }
    )
    if caps:
        found.append(f"capabilities {', '.join(caps)}")
    return found


def allowlist_name(pod: PodTemplate) -> str:
    """The workload allowlist a pod says it matches (its label), or ''."""
    name = as_dict(pod.metadata.get("labels")).get(platform.MATCHING_ALLOWLIST_LABEL)
    return name if isinstance(name, str) else ""


def _key_path(pod: PodTemplate, key: str) -> str:
    """The field that selects nodes by label ``key`` (nodeSelector, or any required node affinity term), or ''."""
    if key in as_dict(pod.spec.get("nodeSelector")):
        return f"{pod.path}.nodeSelector.{key}"
    terms = get(
        pod.spec, "affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms"
    )
    for t, term in enumerate(as_list(terms)):
        for e, expr in enumerate(as_list(get(term, "matchExpressions"))):
            if get(expr, "key") == key:
                return (
                    f"{pod.path}.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution."
                    f"nodeSelectorTerms[{t}].matchExpressions[{e}]"
                )
    return ""


def standard_reasons(obj: Obj) -> list[tuple[str, str, str]]:
    """(field, why, what to do on Autopilot instead) for each sign that ``obj`` is written for GKE Standard."""
    found: list[tuple[str, str, str]] = []
    ns = namespace_of(obj)
    if ns and platform.is_managed_namespace(ns):
        found.append(
            ("metadata.namespace", f"runs in {ns}, a namespace Autopilot manages", "install it in a namespace of yours")
        )
    for pod in pod_templates(obj):
        path = _key_path(pod, platform.NODE_POOL_LABEL)
        if path:
            found.append(
                (path, "selects a node pool", f"select a compute class ({platform.COMPUTE_CLASS_LABEL}) instead")
            )
        host = host_access(pod)
        if kind_of(obj) == "DaemonSet" and host and not allowlist_name(pod):
            found.append(
                (
                    pod.path,
                    f"a node agent with host access ({', '.join(host)})",
                    "install the vendor's Autopilot variant (its chart's GKE Autopilot values, which name a workload "
                    "allowlist)",
                )
            )
        annotations = as_dict(pod.metadata.get("annotations"))
        if platform.MULTI_NETWORK_ANNOTATION in annotations and pod.spec.get("hostNetwork") is True:
            found.append(
                (
                    f"{pod.path}.hostNetwork",
                    f"extra network interfaces ({platform.MULTI_NETWORK_ANNOTATION}) on the host network",
                    "drop hostNetwork: multi-network pods run on Autopilot without it",
                )
            )
    return found


@rule(
    STANDARD_TARGET,
    "Objects written for GKE Standard are reported once",
    ERROR,
    kind=ADMISSION,
    inspects=POD_KINDS,
    source=platform.STANDARD_TARGET_SOURCE,
)
def standard_target(obj: Obj, group: Group) -> Iterator[Issue]:
    """A workload that selects a node pool, runs in a namespace Autopilot manages (kube-system), is a node
    agent (DaemonSet) with host access, or puts extra network interfaces on the host network is written for
    GKE Standard: Autopilot refuses it. One finding, "targets GKE Standard: <why>", replaces the Autopilot
    refusals of the object; `gkeml check --target standard` checks it for Standard (no Autopilot-only rule)."""
    reasons = standard_reasons(obj) if kind_of(obj) in POD_KINDS else []
    if not reasons:
        return
    replaced = frozenset(c.id for c in CHECKS.values() if c.autopilot_only) - {STANDARD_TARGET, ALLOWLISTED}
    yield Issue(
        reasons[0][0],
        f"targets GKE Standard: {'; '.join(why for _, why, _ in reasons)}; Autopilot refuses it",
        f"on a GKE Standard cluster, check it with `gkeml check --target standard`; on Autopilot, "
        f"{'; '.join(dict.fromkeys(fix for _, _, fix in reasons))}",
        replaces=replaced,
    )


@rule(
    ALLOWLISTED,
    "Workloads a workload allowlist admits are not refused",
    WARNING,
    kind=ADMISSION,
    inspects=POD_KINDS,
    source=platform.ALLOWLIST_SOURCE,
    notice=True,
)
def allowlisted(obj: Obj, group: Group) -> Iterator[Issue]:
    """A pod labelled cloud.google.com/matching-allowlist names the WorkloadAllowlist that admits it on
    Autopilot (partners' node agents). When that allowlist is among the checked objects, the refusals of
    the constraints it exempts are not reported (the others are); when it is installed from elsewhere (an
    AllowlistSynchronizer, in these files or in the cluster), the host-access refusals are not, and the
    notice says what must install it. Reported on every run without failing the check."""
    for pod in pod_templates(obj):
        name = allowlist_name(pod)
        if not name:
            continue
        field = f"{pod.metadata_path}.labels.{platform.MATCHING_ALLOWLIST_LABEL}"
        listed = [a for a in group.of_kind(platform.WORKLOAD_ALLOWLIST_KIND) if name_of(a) == name]
        if listed:
            exempt = [e for e in as_list(listed[0].get("exemptions")) if isinstance(e, str)]
            yield Issue(
                field,
                f"admitted by allowlist {name} (in these files), which exempts it from "
                f"{', '.join(exempt) or 'no constraint'}",
                "keep the pod spec matching the allowlist's matchingCriteria (images, commands, volumes): a pod "
                "that differs is refused",
                replaces=frozenset(EXEMPTED_RULES[e] for e in exempt if e in EXEMPTED_RULES),
            )
            continue
        synchronizers = group.of_kind(platform.ALLOWLIST_SYNCHRONIZER_KIND)
        paths = [p for s in synchronizers for p in as_list(get(s, "spec", "allowlistPaths")) if isinstance(p, str)]
        where = (
            f"AllowlistSynchronizer {', '.join(name_of(s) for s in synchronizers)} in these files installs "
            f"{', '.join(paths) or 'no path'}"
            if synchronizers
            else "no AllowlistSynchronizer in these files installs it"
        )
        yield Issue(
            field,
            f"admitted by allowlist {name} once the cluster has it ({where}); what it exempts is not checked here",
            f"apply the vendor's AllowlistSynchronizer ({platform.ALLOWLIST_API}) before the workload, naming the "
            "allowlist's path, and keep the pod spec matching it",
            replaces=frozenset(EXEMPTED_RULES.values()),
        )
