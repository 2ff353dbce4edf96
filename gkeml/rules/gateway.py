"""Rules on GKE's Gateway and GKE Inference Gateway objects: certificates a GatewayClass cannot take, an
InferencePool that selects no serving pod, a health check GKE's policy CRD refuses. Platform facts from
:mod:`gkeml.platform_serving`."""

from __future__ import annotations

from collections.abc import Iterator

from gkeml import platform_serving as serving
from gkeml.manifests import Obj
from gkeml.registry import ADMISSION, CONTROLLER, ERROR
from gkeml.rules.engine import (
    Group,
    Issue,
    as_dict,
    as_list,
    containers,
    get,
    kind_of,
    namespace_of,
    pod_templates,
    rule,
)

# GKE's classes whose load balancer is regional (how-to/gatewayclass-capabilities): they take no certificate map.
REGIONAL_GKE_CLASSES = ("gke-l7-regional-external-managed", "gke-l7-rilb")
HEALTH_CHECKS = ("httpHealthCheck", "httpsHealthCheck", "http2HealthCheck", "grpcHealthCheck", "tcpHealthCheck")


@rule(
    "GKE050",
    "A GKE Gateway's certificates must be given the way its class takes them",
    ERROR,
    kind=CONTROLLER,
    inspects=("Gateway",),
)
def gateway_certificates(obj: Obj, group: Group) -> Iterator[Issue]:
    """GKE's Gateway classes take certificates in different ways (how-to/secure-gateway): a global class from a
    Certificate Manager certificate map (annotation networking.gke.io/certmap) or its listeners' TLS; a regional
    class from its listeners' TLS only (certificate maps are global). An HTTPS listener with no certificate at all
    leaves the Gateway unprogrammed, and the certmap annotation next to tls.certificateRefs is an error to GKE.

    Source: cloud.google.com/kubernetes-engine/docs/how-to/secure-gateway and how-to/gatewayclass-capabilities
    (checked 2026-12-05)."""
    if kind_of(obj) != "Gateway":
        return
    gateway_class = get(obj, "spec", "gatewayClassName")
    if not isinstance(gateway_class, str) or not gateway_class.startswith("gke-l7-"):
        return
    certmap = get(obj, "metadata", "annotations", serving.CERTMAP_ANNOTATION)
    regional = gateway_class in REGIONAL_GKE_CLASSES
    if certmap and regional:
        yield Issue(
            f"metadata.annotations.{serving.CERTMAP_ANNOTATION}",
            f"class {gateway_class} is regional: it takes no certificate map, and its HTTPS listeners serve none",
            f"name regional Certificate Manager certificates in the HTTPS listener's tls.options "
            f"{serving.CERT_MANAGER_CERTS_OPTION} (or tls.certificateRefs to Secrets)",
        )
    for i, listener in enumerate(as_list(get(obj, "spec", "listeners"))):
        if get(listener, "protocol") != "HTTPS":
            continue
        tls = as_dict(get(listener, "tls"))
        if certmap and tls.get("certificateRefs"):
            yield Issue(
                f"spec.listeners[{i}].tls.certificateRefs",
                "a Gateway with a certificate map annotation may not also name certificateRefs (GKE treats it as an "
                "error)",
                "keep one: the certificate map, or the listener's certificates",
            )
        if not tls and not (certmap and not regional):
            yield Issue(
                f"spec.listeners[{i}]",
                f"HTTPS listener {get(listener, 'name')!r} has no certificate: GKE does not program the Gateway",
                f"add the annotation {serving.CERTMAP_ANNOTATION} (global classes) or tls with certificateRefs or "
                f"options {serving.CERT_MANAGER_CERTS_OPTION}",
            )


@rule(
    "GKE051",
    "An InferencePool must select serving pods on its target ports",
    ERROR,
    kind=CONTROLLER,
    inspects=("InferencePool",),
)
def inference_pool_backends(obj: Obj, group: Group) -> Iterator[Issue]:
    """An InferencePool routes to the pods its selector matches, on its targetPorts: when the workloads applied with
    it have no pod template with those labels, or none that listens on a target port, the endpoint picker has no
    endpoint and every request fails (or, with failure mode FailOpen, goes nowhere useful). Workloads applied
    elsewhere are not judged: the rule speaks only when the group holds workloads in the pool's namespace.

    Source: gateway-api-inference-extension, the InferencePool API reference (spec.selector, spec.targetPorts;
    gateway-api-inference-extension.sigs.k8s.io/reference/spec, checked 2026-12-05)."""
    if kind_of(obj) != "InferencePool":
        return
    selector = as_dict(get(obj, "spec", "selector", "matchLabels"))
    ports = {get(p, "number") for p in as_list(get(obj, "spec", "targetPorts"))}
    ns = namespace_of(obj)
    pods = [
        pod
        for kind in ("Deployment", "StatefulSet", "LeaderWorkerSet", "ReplicaSet")
        for workload in group.of_kind(kind, ns)
        for pod in pod_templates(workload)
    ]
    if not selector or not pods:
        return
    matched = [p for p in pods if all(as_dict(p.metadata.get("labels")).get(k) == v for k, v in selector.items())]
    if not matched:
        yield Issue(
            "spec.selector.matchLabels",
            f"no pod template in namespace {ns or '(none)'} has the labels {selector}",
            "select the model server's pod labels (its Deployment's spec.template.metadata.labels)",
        )
        return
    listening = {
        get(port, "containerPort")
        for pod in matched
        for c in containers(pod, init=False)
        for port in as_list(c.spec.get("ports"))
    }
    missing = sorted(p for p in ports if isinstance(p, int) and p not in listening)
    if missing and listening:
        yield Issue(
            "spec.targetPorts",
            f"the selected pods declare no container port {', '.join(map(str, missing))} (they list "
            f"{', '.join(str(p) for p in sorted(x for x in listening if isinstance(x, int)))})",
            "set targetPorts to the model server's container port",
        )


@rule(
    "GKE052",
    "A HealthCheckPolicy's port needs portSpecification USE_FIXED_PORT",
    ERROR,
    kind=ADMISSION,
    inspects=("HealthCheckPolicy",),
)
def health_check_port(obj: Obj, group: Group) -> Iterator[Issue]:
    """GKE's HealthCheckPolicy CRD refuses a port or portName unless portSpecification says which
    (GoogleCloudPlatform/gke-gateway-api 983ac3d: the default, USE_SERVING_PORT, takes neither); older CRDs took
    it. Writing USE_FIXED_PORT with the port is accepted by both.

    Source: GoogleCloudPlatform/gke-gateway-api 983ac3d, the HealthCheckPolicy CRD's validation (checked
    2026-12-05)."""
    if kind_of(obj) != "HealthCheckPolicy":
        return
    config = as_dict(get(obj, "spec", "default", "config"))
    for name in HEALTH_CHECKS:
        check = as_dict(config.get(name))
        specification = check.get("portSpecification", "USE_SERVING_PORT")
        if specification == "USE_SERVING_PORT" and ("port" in check or "portName" in check):
            field = "port" if "port" in check else "portName"
            yield Issue(
                f"spec.default.config.{name}.{field}",
                f"{field} without portSpecification (the default USE_SERVING_PORT takes none): GKE's policy CRD "
                "refuses it",
                "add portSpecification: " + (serving.HEALTH_CHECK_FIXED_PORT if field == "port" else "USE_NAMED_PORT"),
            )
