"""Controllers that meet: where two controllers act on the same object, the setting that reconciles them.

:data:`INTERACTIONS` is the table (controller A, controller B, the object both act on, the setting that
reconciles them, the source with its date); each row names the rule that checks what is applied against
it. The rules read only the objects of the group (the objects, the Helm releases' values, the queue
objects, rendered jobs), so they check gkeml's own output and a user's manifests alike; every name and
number they compare against comes from :mod:`gkeml.platform`. ``docs/policy.md`` shows the table.

The timing rows share one comparison: a controller that gives up on a workload after T must not act on
one that another controller may legitimately keep waiting longer than T. A wait without a documented
bound (a Job suspended in a Kueue queue, a pod waiting for flex-start capacity) leaves only "never give
up" (T = 0, off) as a setting that fits.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from gkeml import platform
from gkeml.manifests import Obj
from gkeml.registry import ERROR, INTERACTION
from gkeml.rules.engine import (
    CHART_KINDS,
    ChartRelease,
    Group,
    Issue,
    PodTemplate,
    as_dict,
    as_list,
    chart_release,
    containers,
    count_of,
    get,
    kind_of,
    name_of,
    namespace_of,
    node_label,
    pod_templates,
    rule,
    truthy,
    values_document,
)
from gkeml.rules.ownership import autoscaled_replicas
from gkeml.rules.queueing import QUEUED_KINDS, cluster_queue_of, eligible, template_requests


@dataclass(frozen=True)
class Interaction:
    """Two controllers acting on one object, and what keeps them from working against each other."""

    rule: str  # the rule that checks emitted objects against this row
    first: str  # controller A and what it does
    second: str  # controller B and what it does
    object: str  # what both act on
    reconciled_by: str  # the setting that reconciles them
    source: str  # where the facts were read, with the date


CHECKED_ON = "2026-12-04"
INTERACTIONS: tuple[Interaction, ...] = (
    Interaction(
        "GKE040",
        "W&B Launch agent: cancels (deletes) a run still starting after agent.startTimeout (chart default 1800 s)",
        "Kueue: keeps the run's Job suspended in its LocalQueue until the ClusterQueue has quota, with no bound",
        "the Job of a W&B Launch run",
        "agent.startTimeout: 0 (never cancel) for an agent launching into a namespace with a LocalQueue",
        "wandb/helm-charts 82d5626a charts/launch-agent values.yaml, templates/deployment.yaml "
        "(WANDB_LAUNCH_START_TIMEOUT); wandb/wandb sdk/launch/agent/agent.py (RUN_START_TIMEOUT > 0); "
        f"kubernetes.io Job 'Suspending a Job'; {CHECKED_ON}",
    ),
    Interaction(
        "GKE041",
        "Kueue waitForPodsReady: evicts and requeues an admitted workload whose pods are not all ready "
        "within its timeout (always on in Configuration v1beta2)",
        "GKE flex-start: the pod waits for Dynamic Workload Scheduler capacity, with no documented bound",
        "the pods of a queued GPU Job",
        "no flex-start capacity for a queued Job: gkeml refuses flex_start with Kueue (Kueue's path to "
        "flex-start is the ProvisioningRequest admission check); a ComputeClass that falls back to flex-start "
        "is accepted (each requeue retries the class from its first priority)",
        "kubernetes-sigs/kueue v0.19.2 apis/config/v1beta2 (configuration_types.go, defaults.go); GKE "
        f"concepts/dws; google/skills 1af7775 gke-compute-classes; {CHECKED_ON}",
    ),
    Interaction(
        "GKE042",
        "Kueue: adds the nodeLabels of the ResourceFlavor it admits a workload on to its pods' nodeSelector",
        "ComputeClass: places a pod that selects it alone on the capacity of its priorities (Spot, on-demand, "
        "flex-start)",
        "the pods of a queued Job on a custom ComputeClass",
        "no flavor such a pod may get injects a node label other than its class (gkeml's gpu-spot flavor "
        "keeps Spot off other pods with its taint only; Spot jobs select Spot themselves)",
        "kubernetes-sigs/kueue v0.19.2 pkg/scheduler/flavorassigner/flavorassigner.go, "
        "apis/kueue/v1beta2/resourceflavor_types.go; google/skills 1af7775 gke-compute-classes SKILL.md "
        f"'Selector Conflicts', compute-class-provisioning-methods.md (Kueue); {CHECKED_ON}",
    ),
    Interaction(
        "GKE028",
        "compact placement: the pod selects a placement group (cloud.google.com/gke-placement-group)",
        "ComputeClass: a pod that selects it gets nodes from the class's priorities only",
        "the pods of a multi-node job on a custom ComputeClass",
        "the class is selected alone: gkeml refuses compact_placement with compute_class; GKE028 reports a "
        "placement group next to a class",
        f"google/skills 1af7775 gke-compute-classes SKILL.md 'Selector Conflicts'; GKE reference/crds/computeclass; "
        f"{CHECKED_ON}",
    ),
    Interaction(
        "GKE043",
        "GKE secret sync: copies the Secret Manager version its SecretProviderClass names into the Secret, "
        "again every rotation interval",
        "a long-running pod (the W&B agent): reads the Secret through env only when its container starts",
        "the Secret wandb-api-key-<release>",
        "the synced version is pinned (launch.api_key_version) and written into the reader's pod template "
        "(annotation secret.gkeml.io/<Secret>): a new version is a rollout of the reader",
        "secret-sync.gke.io/v1 SecretSync schema (forceSynchronization, secretObject.annotations); "
        "wandb/wandb sdk/launch/runner/kubernetes_runner.py ensure_api_key_secret; wandb/helm-charts "
        f"82d5626a templates/deployment.yaml (secretKeyRef, agent.podAnnotations); {CHECKED_ON}",
    ),
    Interaction(
        "GKE044",
        "Kueue's Job webhooks: fail closed (failurePolicy Fail) for every namespace Kueue manages",
        "the Kueue manager Deployment: restarted by node upgrades, consolidation and evictions",
        "every Job created in a team namespace (gkeml job submit, the W&B agent)",
        "controllerManager.replicas: 2 (every replica serves the webhooks) and a PodDisruptionBudget (minAvailable 1)",
        "kubernetes-sigs/kueue v0.19.2 charts/kueue values.yaml, templates/webhook/manifests.yaml, "
        f"templates/manager/manager-pdb.yaml, cmd/kueue/main.go, pkg/util/cert/cert.go; {CHECKED_ON}",
    ),
    Interaction(
        "GKE045",
        "GKE Warden (Autopilot): denies creating or changing objects in the namespaces GKE manages",
        "charts and manifests that write there (Kueue's visibility RoleBinding, the metrics adapter's)",
        "RBAC for reading kube-system/extension-apiserver-authentication",
        "the same read through a ClusterRole limited by resourceNames and a ClusterRoleBinding; Kueue's "
        "enableVisibilityAuthReaderRoleBinding: false",
        "GKE concepts/autopilot-security 'Managed namespaces'; 'denied by managed-namespaces-limitation' "
        "(gitlab-org/charts/gitlab#5007, prometheus-community/helm-charts#713); kubernetes bootstrap policy "
        f"namespace_policy.go; kubernetes-sigs/kueue v0.19.2 templates/visibility/role_binding.yaml; {CHECKED_ON}",
    ),
)


def _interaction(rule_id: str, title: str, inspects: tuple[str, ...] = (), autopilot: bool = False) -> Callable:
    """Register the rule that checks the row ``rule_id`` of :data:`INTERACTIONS` (an error; its source is the row's;
    ``autopilot``: one of the controllers is Autopilot's)."""
    source = next(i.source for i in INTERACTIONS if i.rule == rule_id)
    return rule(rule_id, title, ERROR, kind=INTERACTION, inspects=inspects, source=source, autopilot=autopilot)


def _seconds(value: Any) -> float | None:
    """A number of seconds written as a number or a numeric string, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


GO_DURATION = re.compile(r"(\d+(?:\.\d+)?)(h|m|s|ms)")
GO_DURATION_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def duration_seconds(text: str) -> float | None:
    """Seconds of a Go duration such as ``15m`` or ``1h30m`` (what Kueue's configuration takes), else None."""
    parts = GO_DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return sum(float(n) * GO_DURATION_UNITS[u] for n, u in parts)


def _kueue_config(group: Group) -> dict:
    """Kueue's Configuration from the values of a Kueue chart release in the group ({} when none)."""
    for obj in group.objects:
        release = chart_release(obj, group)
        if release is None or release.chart != platform.KUEUE_CHART:
            continue
        text = release.value(("managerConfig", "controllerManagerConfigYaml"))
        if isinstance(text, str):
            return as_dict(values_document(text, "managerConfig.controllerManagerConfigYaml"))
    return {}


def pods_ready_timeout(group: Group) -> str:
    """Kueue's waitForPodsReady.timeout as configured in the group, else the v1beta2 default."""
    timeout = get(_kueue_config(group), "waitForPodsReady", "timeout")
    return timeout if isinstance(timeout, str) and timeout else platform.KUEUE_PODS_READY_TIMEOUT_DEFAULT


def _is_launch_agent(release: ChartRelease) -> bool:
    if release.chart != platform.WANDB_LAUNCH_AGENT_CHART:
        return False
    repo = release.repository
    return not isinstance(repo, str) or repo.rstrip("/") in platform.WANDB_CHART_REPOSITORIES


def _launch_namespace(release: ChartRelease) -> str:
    namespace = release.value(("namespace",), platform.WANDB_LAUNCH_DEFAULT_NAMESPACE)
    return namespace if isinstance(namespace, str) else platform.WANDB_LAUNCH_DEFAULT_NAMESPACE


# --- W&B Launch agent vs Kueue -----------------------------------------------------------


def _namespaces(release: ChartRelease, producer: platform.StartTimeoutProducer) -> list[str]:
    """Where a producer's controller runs and creates workloads."""
    own = release.value(producer.namespace, producer.namespace_default)
    targets = release.value(producer.targets, list(producer.targets_default))
    found = [own if isinstance(own, str) else producer.namespace_default]
    return list(dict.fromkeys(found + [t for t in as_list(targets) if isinstance(t, str)]))


@_interaction("GKE040", "A workload producer must not give up on workloads that wait in a Kueue queue", CHART_KINDS)
def start_timeout_vs_queue(obj: Obj, group: Group) -> Iterator[Issue]:
    """A controller that cancels a workload not started within a timeout T (the W&B Launch agent's
    agent.startTimeout, chart default 1800 s: it deletes the run's Job) must allow at least the longest
    wait of the queue it creates workloads in. A Job in a namespace with a Kueue LocalQueue waits
    suspended until its ClusterQueue has quota, with no bound: T must be 0 (never)."""
    release = chart_release(obj, group)
    for producer in platform.START_TIMEOUT_PRODUCERS:
        if release is None or release.chart != producer.chart:
            continue
        if isinstance(release.repository, str) and release.repository.rstrip("/") not in producer.repositories:
            continue  # somebody else's chart of that name
        queued = [(ns, name_of(q)) for ns in _namespaces(release, producer) for q in group.of_kind("LocalQueue", ns)]
        timeout = _seconds(release.value(producer.timeout, producer.timeout_default))
        bound = platform.KUEUE_QUEUE_WAIT_SECONDS
        if not queued or timeout is None or timeout == 0 or (bound is not None and timeout >= bound):
            continue
        where = ", ".join(f"LocalQueue {ns}/{q}" for ns, q in queued)
        yield Issue(
            release.value_path(producer.timeout),
            f"{producer.what} after {timeout:g} s, and what it creates waits in {where} (Kueue keeps a Job "
            f"suspended until its ClusterQueue has quota, with no bound on the wait): a workload queued longer "
            f"than {timeout:g} s is cancelled",
            f"set {'.'.join(producer.timeout)}: 0 (never cancel a starting workload); an admitted Job is still "
            "bounded by its activeDeadlineSeconds",
        )


# --- Kueue waitForPodsReady vs flex-start -------------------------------------------------


def _queued(obj: Obj) -> bool:
    return kind_of(obj) in QUEUED_KINDS and isinstance(get(obj, "metadata", "labels", platform.KUEUE_QUEUE_LABEL), str)


def _custom_class(pod: PodTemplate) -> tuple[str | None, str]:
    """(the custom ComputeClass the pod selects, field path), or (None, "")."""
    name, path = node_label(pod, platform.COMPUTE_CLASS_LABEL)
    if name is None or name in platform.BUILTIN_COMPUTE_CLASSES:
        return None, ""
    return name, path


@_interaction("GKE041", "A queued Job must not wait for flex-start capacity", QUEUED_KINDS)
def queued_flex_start(obj: Obj, group: Group) -> Iterator[Issue]:
    """Kueue admits a queued Job before its pods have nodes and, when they are not all ready within
    waitForPodsReady.timeout (always on in Kueue's v1beta2 configuration), evicts and requeues it. A
    flex-start pod waits for Dynamic Workload Scheduler capacity with no documented bound, so under
    scarcity the Job loops between eviction and requeue (restarting the flex-start request) instead of
    waiting. (A ComputeClass whose last resort is flex-start is not reported: each requeue retries the
    class from its first priority.)"""
    if not _queued(obj):
        return
    timeout = pods_ready_timeout(group)
    bound, seconds = platform.FLEX_START_CAPACITY_WAIT_SECONDS, duration_seconds(timeout)
    if bound is not None and seconds is not None and seconds >= bound:
        return
    for pod in pod_templates(obj):
        flex, path = node_label(pod, platform.FLEX_START_LABEL)
        if truthy(flex):
            yield Issue(
                path,
                f"a queued Job's pod waits for flex-start capacity with no bound, but Kueue evicts and requeues "
                f"the Job when its pods are not all ready within waitForPodsReady.timeout ({timeout})",
                "drop the flex-start selector (flex_start: false) for a queued Job, or run it without the queue "
                "label; Kueue's path to flex-start is its ProvisioningRequest admission check",
            )


# --- Kueue flavor node labels vs ComputeClass -------------------------------------------------


@_interaction("GKE042", "Kueue must not add node labels to a pod on a ComputeClass", QUEUED_KINDS)
def flavor_labels_vs_compute_class(obj: Obj, group: Group) -> Iterator[Issue]:
    """Kueue adds the nodeLabels of the ResourceFlavor it admits a workload on to its pods'
    nodeSelector. A pod on a custom ComputeClass must select the class alone: a flavor label such as
    cloud.google.com/gke-spot next to the class pins the pod to that capacity, so the class's other
    priorities (its fallback) are never used. Every flavor such a pod may be admitted on must carry no
    node label but its class."""
    if not _queued(obj):
        return
    local, cq = cluster_queue_of(obj, group)
    if cq is None:
        return
    flavors = {name_of(f): f for f in group.of_kind("ResourceFlavor")}
    for pod in pod_templates(obj):
        name, path = _custom_class(pod)
        if name is None:
            continue
        need = template_requests(pod, group, namespace_of(obj))
        for rg in as_list(get(cq, "spec", "resourceGroups")):
            if not any(need.get(r, 0.0) > 0 for r in as_list(get(rg, "coveredResources")) if isinstance(r, str)):
                continue
            for f in as_list(get(rg, "flavors")):
                flavor_name = get(f, "name")
                flavor = flavors.get(flavor_name) if isinstance(flavor_name, str) else None
                if flavor is None or not eligible(pod, flavor):
                    continue
                extra = {
                    str(k): str(v)
                    for k, v in as_dict(get(flavor, "spec", "nodeLabels")).items()
                    if (k, str(v)) != (platform.COMPUTE_CLASS_LABEL, name)
                }
                if extra:
                    labels = ", ".join(f"{k}={v}" for k, v in sorted(extra.items()))
                    yield Issue(
                        path,
                        f"Kueue may admit it on flavor {name_of(flavor)} of ClusterQueue {name_of(cq)} (LocalQueue "
                        f"{local}) and add {labels} to its nodeSelector next to compute class {name}, which then "
                        "no longer decides the capacity",
                        f"give ResourceFlavor {name_of(flavor)} no nodeLabels (a taint keeps other pods off it), or "
                        "keep pods on a class off it (they must not tolerate its taints)",
                    )


# --- secret sync vs readers at start ----------------------------------------------------------

LONG_RUNNING_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet")


@dataclass(frozen=True)
class SecretReader:
    """A long-running pod template that reads Secret ``secret`` of ``namespace`` only when it starts."""

    secret: str
    namespace: str
    path: str  # where it reads it
    annotations: dict
    annotations_path: str


def secret_readers(obj: Obj, group: Group) -> list[SecretReader]:
    """The Secrets a long-running workload (or a chart known to) reads through env at container start."""
    found: list[SecretReader] = []
    if kind_of(obj) in LONG_RUNNING_KINDS:
        for pod in pod_templates(obj):
            annotations = as_dict(pod.metadata.get("annotations"))
            where = f"{pod.metadata_path}.annotations"
            for c in containers(pod):
                for i, env in enumerate(as_list(c.spec.get("env"))):
                    name = get(env, "valueFrom", "secretKeyRef", "name")
                    if isinstance(name, str):
                        path = f"{c.path}.env[{i}].valueFrom.secretKeyRef"
                        found.append(SecretReader(name, namespace_of(obj), path, annotations, where))
                for i, ref in enumerate(as_list(c.spec.get("envFrom"))):
                    name = get(ref, "secretRef", "name")
                    if isinstance(name, str):
                        path = f"{c.path}.envFrom[{i}].secretRef"
                        found.append(SecretReader(name, namespace_of(obj), path, annotations, where))
        return found
    release = chart_release(obj, group)
    if release is not None and _is_launch_agent(release):
        # templates/deployment.yaml: WANDB_API_KEY from Secret wandb-api-key-<release>, in .Values.namespace
        annotations = as_dict(release.value(platform.WANDB_LAUNCH_POD_ANNOTATIONS_VALUE))
        found.append(
            SecretReader(
                platform.wandb_api_key_secret(release.release),
                _launch_namespace(release),
                release.value_path(("agent",)),
                annotations,
                release.value_path(platform.WANDB_LAUNCH_POD_ANNOTATIONS_VALUE),
            )
        )
    return found


def synced_versions(secret: str, namespace: str, group: Group) -> tuple[str, list[str]] | None:
    """(SecretProviderClass, the Secret Manager versions it names) of the SecretSync that writes
    ``secret``, or None when no SecretSync in the group writes it (or its class cannot be read)."""
    syncs = [
        s
        for s in group.of_kind("SecretSync", namespace)
        if name_of(s) == secret and str(s.get("apiVersion", "")).split("/")[0] in platform.SECRET_SYNC_GROUPS
    ]
    if not syncs:
        return None
    spc_name = get(syncs[0], "spec", "secretProviderClassName")
    spcs = [c for c in group.of_kind("SecretProviderClass", namespace) if name_of(c) == spc_name]
    text = get(spcs[0], "spec", "parameters", "secrets") if spcs else None
    entries = values_document(text, "spec.parameters.secrets") if isinstance(text, str) else None
    versions = [
        str(get(e, "resourceName")).rsplit("/versions/", 1)[1]
        for e in as_list(entries)
        if "/versions/" in str(get(e, "resourceName"))
    ]
    return (str(spc_name), versions) if versions else None


@_interaction(
    "GKE043",
    "A pod that reads a synced Secret at start must restart when its version changes",
    (*LONG_RUNNING_KINDS, *CHART_KINDS),
)
def synced_secret_readers(obj: Obj, group: Group) -> Iterator[Issue]:
    """GKE's secret sync copies the Secret Manager version its SecretProviderClass names into a Secret,
    and copies `latest` again every rotation interval. A long-running pod reading that Secret through
    env gets its value only when its container starts, so after a new version it keeps the old one (the
    W&B agent then refuses every launch: "Kubernetes secret already exists ... with incorrect data").
    Pin the version and put it in the reader's pod template (annotation secret.gkeml.io/<Secret>), so a
    new version is a rollout."""
    for reader in secret_readers(obj, group):
        synced = synced_versions(reader.secret, reader.namespace, group)
        if synced is None:
            continue
        spc, versions = synced
        annotation = platform.secret_version_annotation(reader.secret)
        if platform.SECRET_MANAGER_LATEST in versions:
            yield Issue(
                reader.path,
                f"reads Secret {reader.secret} only when its container starts, but SecretSync {reader.secret} "
                f"copies the latest Secret Manager version again every rotation interval (SecretProviderClass "
                f"{spc}): after a new version the pod keeps the old value until it restarts",
                f"pin the version in SecretProviderClass {spc} (versions/N; gkeml: launch.api_key_version) and "
                f'set the pod template annotation {annotation}: "N", so a new version restarts the pod',
            )
        elif reader.annotations.get(annotation) != ",".join(versions):
            yield Issue(
                reader.annotations_path,
                f"SecretSync {reader.secret} holds version {','.join(versions)}, but the pod template does not "
                f'carry {annotation}: "{",".join(versions)}": a version change would not restart it',
                f'set the pod template annotation {annotation}: "{",".join(versions)}"',
            )


# --- fail-closed webhooks vs their servers ------------------------------------------------------


def _labels_match(selector: Any, labels: Any) -> bool:
    selector, labels = as_dict(selector), as_dict(labels)
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _budgeted(pod_labels: dict, namespace: str, group: Group) -> bool:
    """Whether a PodDisruptionBudget in ``namespace`` keeps at least one of these pods up."""
    for pdb in group.of_kind("PodDisruptionBudget", namespace):
        if not _labels_match(get(pdb, "spec", "selector", "matchLabels"), pod_labels):
            continue
        if get(pdb, "spec", "minAvailable") not in (None, 0, "0", "0%"):
            return True
        if get(pdb, "spec", "maxUnavailable") not in (None, "100%"):
            return True
    return False


@_interaction(
    "GKE044",
    "A fail-closed admission webhook needs a highly available server",
    (*CHART_KINDS, "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"),
)
def fail_closed_webhook_server(obj: Obj, group: Group) -> Iterator[Issue]:
    """An admission webhook with failurePolicy Fail refuses every request it intercepts while no pod of
    its server answers: with one replica, every restart (node upgrade, consolidation, eviction) refuses
    them (Kueue's Job webhooks: every Job in a team namespace). Run at least two replicas and a
    PodDisruptionBudget so a drain never takes the last one."""
    release = chart_release(obj, group)
    for server in platform.CHART_WEBHOOK_SERVERS:
        if release is None or release.chart != server.chart:
            continue
        replicas = count_of(release.value(server.replicas, server.replicas_default))
        budget = release.value(server.disruption_budget, server.disruption_budget_default)
        if replicas is not None and replicas < 2:
            yield Issue(
                release.value_path(server.replicas),
                f"chart {server.chart} runs {replicas} manager replica and {server.webhook} fail closed: while it "
                "restarts, every request they intercept is refused",
                f"set {'.'.join(server.replicas)}: {platform.KUEUE_MANAGER_REPLICAS} (every replica serves the "
                f"webhooks) and {'.'.join(server.disruption_budget)}: true",
            )
        elif not truthy(budget):
            yield Issue(
                release.value_path(server.disruption_budget),
                f"chart {server.chart} has no PodDisruptionBudget for its manager, whose {server.webhook} fail "
                "closed: a node drain may evict every replica at once",
                f"set {'.'.join(server.disruption_budget)}: true",
            )
    if kind_of(obj) not in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
        return
    for i, hook in enumerate(as_list(obj.get("webhooks"))):
        if (get(hook, "failurePolicy") or "Fail") != "Fail":
            continue
        ns, svc = get(hook, "clientConfig", "service", "namespace"), get(hook, "clientConfig", "service", "name")
        services = [s for s in group.of_kind("Service", ns) if name_of(s) == svc] if isinstance(ns, str) else []
        selector = get(services[0], "spec", "selector") if services else None
        for backend in [*group.of_kind("Deployment", ns), *group.of_kind("StatefulSet", ns)]:
            labels = get(backend, "spec", "template", "metadata", "labels")
            if not _labels_match(selector, labels):
                continue
            scaled = autoscaled_replicas(backend, group)
            replicas = scaled[0] if scaled else count_of(get(backend, "spec", "replicas"))
            replicas = 1 if replicas is None else replicas
            if replicas < 2:
                problem = f"{replicas} replica"
            elif not _budgeted(as_dict(labels), str(ns), group):
                problem = "no PodDisruptionBudget (a drain may evict every replica at once)"
            else:
                continue
            yield Issue(
                f"webhooks[{i}].failurePolicy",
                f"webhook {get(hook, 'name')} fails closed and its server {kind_of(backend)} {ns}/{name_of(backend)} "
                f"has {problem}: while no pod answers, every request it intercepts is refused",
                "run at least 2 replicas with a PodDisruptionBudget (minAvailable: 1), or set failurePolicy: "
                "Ignore where a missed check is acceptable",
            )


# --- managed namespaces -----------------------------------------------------------------------


@_interaction("GKE045", "Nothing may be written into a namespace Autopilot manages", autopilot=True)
def managed_namespace(obj: Obj, group: Group) -> Iterator[Issue]:
    """Autopilot manages kube-system and GKE's own namespaces (gke-*, gmp-system): GKE Warden denies
    creating or changing objects there ("the namespace "kube-system" is managed and the request's verb
    "create" is denied"). A chart that renders into one by default (Kueue's visibility RoleBinding) fails
    the same way. Permissions on an object there, such as reading the extension-apiserver-authentication
    ConfigMap, are granted by a ClusterRole limited by resourceNames and a ClusterRoleBinding."""
    ns = namespace_of(obj)
    fix = (
        "put it in a namespace of your own; to read an object in kube-system, grant a ClusterRole limited by "
        "resourceNames through a ClusterRoleBinding"
    )
    if ns and platform.is_managed_namespace(ns):
        yield Issue("metadata.namespace", f"namespace {ns} is managed by GKE: Autopilot denies writing there", fix)
    if kind_of(obj) == "Namespace" and platform.is_managed_namespace(name_of(obj)):
        yield Issue("metadata.name", f"namespace {name_of(obj)} is managed by GKE: Autopilot denies changing it", fix)
    release = chart_release(obj, group)
    if release is None:
        return
    if release.namespace and release.namespace != ns and platform.is_managed_namespace(release.namespace):
        yield Issue(
            release.namespace_path,
            f"the chart renders into namespace {release.namespace}, which GKE manages: Autopilot denies it",
            fix,
        )
    for write in platform.CHART_MANAGED_NAMESPACE_WRITES:
        if release.chart == write.chart and truthy(release.value(write.path, write.default)):
            yield Issue(
                release.value_path(write.path),
                f"chart {write.chart} renders {write.renders} with {'.'.join(write.path)} "
                f"{'unset (default true)' if get(release.values, *write.path) is None else 'true'}: Autopilot "
                "denies writing into a namespace it manages",
                f"set {'.'.join(write.path)}: false and grant the same read through a ClusterRole limited by "
                "resourceNames and a ClusterRoleBinding",
            )
