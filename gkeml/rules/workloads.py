"""Rules on storage, multi-node training, Ingress, certificates and the W&B Launch agent."""

from __future__ import annotations

from collections.abc import Iterator

from gkeml import platform
from gkeml.manifests import Obj
from gkeml.registry import ADMISSION, CONTROLLER, ERROR, WARNING
from gkeml.rules.engine import (
    CHART_KINDS,
    POD_KINDS,
    Group,
    Issue,
    as_dict,
    as_list,
    chart_release,
    containers,
    get,
    gpu_count,
    kind_of,
    name_of,
    namespace_of,
    pod_templates,
    quantity,
    rule,
    truthy,
)

# --- storage ------------------------------------------------------------------------


def _claims(obj: Obj) -> Iterator[tuple[str, dict]]:
    if kind_of(obj) == "PersistentVolumeClaim":
        yield "spec", as_dict(obj.get("spec"))
    elif kind_of(obj) == "StatefulSet":
        for i, tpl in enumerate(as_list(get(obj, "spec", "volumeClaimTemplates"))):
            yield f"spec.volumeClaimTemplates[{i}].spec", as_dict(get(tpl, "spec"))


@rule(
    "GKE014",
    "ReadOnlyMany on a Persistent Disk class needs a data source",
    ERROR,
    kind=ADMISSION,
    inspects=("PersistentVolumeClaim", "StatefulSet"),
)
def read_only_many_on_pd(obj: Obj, group: Group) -> Iterator[Issue]:
    """A ReadOnlyMany claim on standard-rwo/premium-rwo (the default class) is refused unless
    it is restored from a snapshot or cloned (dataSource); an empty disk cannot be shared read-only.

    Source: cloud.google.com/kubernetes-engine/docs/how-to/persistent-volumes/readonlymany-disks (a ReadOnlyMany
    disk comes from a snapshot or another disk); cloud.google.com/kubernetes-engine/docs/concepts/persistent-volumes
    (the default StorageClass)."""
    for path, spec in _claims(obj):
        if "ReadOnlyMany" not in as_list(spec.get("accessModes")):
            continue
        storage_class = spec.get("storageClassName") or platform.DEFAULT_STORAGE_CLASS
        if storage_class in platform.PD_STORAGE_CLASSES and not (spec.get("dataSource") or spec.get("dataSourceRef")):
            yield Issue(
                f"{path}.accessModes",
                f"ReadOnlyMany on {storage_class} without a dataSource",
                "restore it from a VolumeSnapshot (dataSource), or share datasets through GCS FUSE, "
                "Filestore (*-rwx) or Hyperdisk ML (an environment's volumes: docs/volumes.md)",
            )


@rule(
    "GKE027",
    "GCS FUSE sidecar above what an Autopilot GPU node gives it",
    WARNING,
    kind=CONTROLLER,
    inspects=POD_KINDS,
    autopilot=True,
)
def gcsfuse_sidecar_on_gpu_node(obj: Obj, group: Group) -> Iterator[Issue]:
    """On Autopilot GPU nodes the GCS FUSE sidecar's CPU cannot exceed 2 vCPU and its memory 14 GiB
    (gcs-fuse-csi-driver docs/troubleshooting.md, a known issue): larger sidecar limits are not what
    the sidecar gets.

    Source: gcs-fuse-csi-driver docs/troubleshooting.md 'Sidecar container resource allocation' (5fcdc04a, checked
    2026-11-30)."""
    cap = platform.GCSFUSE_SIDECAR_GPU_MAX
    for pod in pod_templates(obj):
        annotations = as_dict(pod.metadata.get("annotations"))
        if not truthy(annotations.get(platform.GCSFUSE_ANNOTATION)) or not gpu_count(pod)[0]:
            continue
        for resource, limit in (("cpu", cap["cpu"]), ("memory", cap["memory_gib"] * 2**30)):
            key = platform.GCSFUSE_SIDECAR_ANNOTATIONS[resource]
            value = quantity(annotations.get(key))
            if value is not None and value > limit:
                shown = f"{limit:g}" if resource == "cpu" else f"{cap['memory_gib']:g}Gi"
                yield Issue(
                    f"{pod.metadata_path}.annotations.{key}",
                    f"the sidecar asks for {annotations[key]} {resource} on a GPU node; it gets at most {shown}",
                    f"set {key} to at most {shown}",
                )


# --- multi-node training --------------------------------------------------------------


def _pod_labels(obj: Obj) -> dict:
    templates = pod_templates(obj)
    return as_dict(templates[0].metadata.get("labels")) if templates else {}


def _selects(service: Obj, labels: dict) -> bool:
    selector = as_dict(get(service, "spec", "selector"))
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


@rule(
    "GKE015",
    "Multi-node training needs an Indexed Job and a headless Service",
    ERROR,
    kind=CONTROLLER,
    inspects=("Job",),
)
def multi_node_job(obj: Obj, group: Group) -> Iterator[Issue]:
    """A plain Job with parallelism > 1 gives its pods no rank, and a ClusterIP "master" Service
    load-balances the rendezvous across workers. Use completionMode: Indexed, completions ==
    parallelism, a headless Service and spec.template.spec.subdomain.

    Source: kubernetes.io/docs/tasks/job/job-with-pod-to-pod-communication (an Indexed Job, a headless Service,
    subdomain); pytorch.org/docs/stable/elastic/run.html (the rendezvous environment)."""
    if kind_of(obj) != "Job":
        return
    spec = as_dict(obj.get("spec"))
    parallelism = spec.get("parallelism")
    if spec.get("completionMode") == "Indexed" or not isinstance(parallelism, int) or parallelism < 2:
        return
    labels = {**_pod_labels(obj), platform.JOB_NAME_LABEL: name_of(obj)}
    services = [
        s
        for s in group.of_kind("Service", namespace_of(obj))
        if get(s, "spec", "clusterIP") != "None" and _selects(s, labels)
    ]
    rendezvous = [
        e
        for pod in pod_templates(obj)
        for c in containers(pod, init=False)
        for e in as_list(c.spec.get("env"))
        if get(e, "name") in platform.TORCH_RENDEZVOUS_ENV
    ]
    if services or rendezvous:
        why = (
            f"ClusterIP Service {name_of(services[0])} load-balances the rendezvous"
            if services
            else f"{get(rendezvous[0], 'name')} points every worker at one address"
        )
        yield Issue(
            "spec.completionMode",
            f"{parallelism} workers in a non-indexed Job: no ranks, and {why}",
            "set completionMode: Indexed with completions == parallelism, a headless Service "
            f"(clusterIP: None) as spec.template.spec.subdomain, MASTER_ADDR=<job>-0.<service> and the "
            f"rank from {platform.JOB_COMPLETION_INDEX_ENV}; or run it as a JobSet, which makes that Service "
            "and restarts the group as a whole (gkeml job renders one)",
        )


# --- Ingress and certificates ---------------------------------------------------------


@rule(
    "GKE016",
    "GKE Ingress is selected by annotation, not ingressClassName",
    ERROR,
    kind=CONTROLLER,
    inspects=("Ingress",),
)
def ingress_class_name(obj: Obj, group: Group) -> Iterator[Issue]:
    """The GKE Ingress controller reads the kubernetes.io/ingress.class annotation;
    spec.ingressClassName: gce selects no controller and no load balancer is created.

    Source: cloud.google.com/kubernetes-engine/docs/concepts/ingress (the kubernetes.io/ingress.class annotation
    selects GKE Ingress)."""
    if kind_of(obj) != "Ingress":
        return
    value = get(obj, "spec", "ingressClassName")
    if value in platform.GKE_INGRESS_CLASSES:
        yield Issue(
            "spec.ingressClassName",
            f"ingressClassName {value!r} does not select GKE Ingress",
            f"remove spec.ingressClassName and set the annotation {platform.INGRESS_CLASS_ANNOTATION}: {value}",
        )


def _certificate_names(ingress: Obj) -> list[str]:
    value = get(ingress, "metadata", "annotations", platform.INGRESS_MANAGED_CERTS_ANNOTATION)
    return [n.strip() for n in value.split(",") if n.strip()] if isinstance(value, str) else []


@rule("GKE017", "ManagedCertificate must be in the Ingress's namespace", ERROR, kind=CONTROLLER, inspects=("Ingress",))
def managed_certificate_namespace(obj: Obj, group: Group) -> Iterator[Issue]:
    """An Ingress can only use ManagedCertificates from its own namespace; one that exists
    only elsewhere is never attached and the host serves no certificate.

    Source: cloud.google.com/kubernetes-engine/docs/how-to/managed-certs (an Ingress names ManagedCertificates of
    its own namespace)."""
    if kind_of(obj) != "Ingress":
        return
    ns = namespace_of(obj)
    certificates = group.of_kind("ManagedCertificate")
    for name in _certificate_names(obj):
        same = [c for c in certificates if name_of(c) == name]
        if same and not any(namespace_of(c) == ns for c in same):
            others = ", ".join(sorted({namespace_of(c) or "(none)" for c in same}))
            yield Issue(
                f"metadata.annotations.{platform.INGRESS_MANAGED_CERTS_ANNOTATION}",
                f"ManagedCertificate {name} is in namespace {others}, not {ns or '(none)'}",
                f"create the ManagedCertificate in namespace {ns or 'of the Ingress'}",
            )


@rule(
    "GKE018", "ManagedCertificate domains cannot be wildcards", ERROR, kind=CONTROLLER, inspects=("ManagedCertificate",)
)
def managed_certificate_wildcard(obj: Obj, group: Group) -> Iterator[Issue]:
    """Google-managed certificates do not support wildcard domains; provisioning never completes.

    Source: cloud.google.com/kubernetes-engine/docs/how-to/managed-certs (Google-managed certificates do not support
    wildcard domains)."""
    if kind_of(obj) != "ManagedCertificate":
        return
    for i, domain in enumerate(as_list(get(obj, "spec", "domains"))):
        if isinstance(domain, str) and "*" in domain:
            yield Issue(
                f"spec.domains[{i}]",
                f"wildcard domain {domain!r}",
                "list each host explicitly, or use Certificate Manager with the Gateway API for wildcards",
            )


# --- W&B Launch agent -----------------------------------------------------------------


@rule("GKE019", "The W&B operator chart is not the Launch agent", ERROR, kind=CONTROLLER, inspects=CHART_KINDS)
def wandb_operator_as_launch_agent(obj: Obj, group: Group) -> Iterator[Issue]:
    """W&B's operator chart deploys the W&B server; a Launch agent comes from the launch-agent
    chart (values agent.apiKey / launchConfig). Installing operator with launch values runs no agent.

    Source: github.com/wandb/helm-charts (charts/operator installs the W&B server, charts/launch-agent the Launch
    agent; checked 2026-11)."""
    release = chart_release(obj, group)
    if release is None or release.chart != platform.WANDB_SERVER_OPERATOR_CHART:
        return
    repo, values, path = release.repository, release.values, release.chart_path
    if isinstance(repo, str) and repo.rstrip("/") not in platform.WANDB_CHART_REPOSITORIES:
        return  # somebody else's chart called "operator"
    launch_values = [k for k in platform.WANDB_LAUNCH_AGENT_VALUES if k in as_dict(values)]
    if launch_values or "launch" in name_of(obj).lower():
        why = f"values {', '.join(launch_values)}" if launch_values else f"name {name_of(obj)!r}"
        yield Issue(
            path,
            f"chart {release.chart!r} is the W&B server operator, but {why} ask for a Launch agent",
            f"install chart {platform.WANDB_LAUNCH_AGENT_CHART!r} from {platform.WANDB_CHART_REPOSITORY}",
        )
