"""The in-cluster objects of an inference service served by GKE's Gateway or GKE Inference Gateway
(``endpoints[].exposure``: docs/serving.md), as plain dicts; :meth:`gkeml.manifests.workloads.InferenceManifests.expose`
composes them into an :class:`~gkeml.manifests.workloads.Exposure`.

- GKE's Gateway (``gateway``): a Gateway of class gke-l7-global-external-managed on the cloud layer's global static IP
  (``addresses: NamedAddress``) with its Certificate Manager certificate map (annotation), an HTTPS listener, and
  an HTTP listener whose only route redirects to HTTPS; an HTTPRoute per service to its Service; a
  HealthCheckPolicy on the probe path (GKE's default health check asks ``/`` on the serving port) and, with
  ``timeout_seconds``, a GCPBackendPolicy.
- GKE Inference Gateway (``inference-gateway``): the same on a regional Gateway (gke-l7-regional-external-managed,
  the regional Standard-tier IP, the regional certificates named in the HTTPS listener), whose route goes to an
  InferencePool over the service's pods; the pool's endpoint picker (Deployment, Service, ConfigMap, RBAC, as the
  upstream inferencepool chart at :data:`gkeml.platform_serving.INFERENCE_EXTENSION_VERSION` renders them, with
  the restricted security context every gkeml pod has: the chart sets none, which is why gkeml writes these objects
  rather than installing the chart); HealthCheckPolicy and GCPBackendPolicy on the pool (the chart's
  ``provider.name: gke`` objects); the InferenceObjectives, applied through a local chart (their CRD, which GKE
  does not install, comes in the same apply: a ``kubernetes_manifest`` of its kind could not be planned).

Every object uses only fields of the oldest API each kind is served at by the GKE versions gkeml allows
(tests/gateway_crd.py validates them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gkeml import platform_serving as serving
from gkeml.config.exposure import INFERENCE_GATEWAY, InferenceGatewayConfig
from gkeml.manifests import (
    MANAGED_BY,
    Obj,
    container_security_context,
    metadata,
    pod_security_context,
    resources,
)
from gkeml.naming import Names

if TYPE_CHECKING:
    from gkeml.config.model import Endpoint, Environment, Inference

HTTP_LISTENER, HTTPS_LISTENER = "http", "https"
OBJECTIVES_CHART = "inference-objectives"  # gkeml's local chart of InferenceObjectives (gkeml/charts)
ROUTE_KIND = {"group": serving.GATEWAY_API_GROUP, "kind": "HTTPRoute"}
SERVICE_PORT = 80  # the port of the service's ClusterIP Service (gkeml.manifests.workloads)
EPP_CONFIG_DIR = "/config"


def gateway_name(svc: str, way: str) -> str:
    """The Gateway (and its HTTPS route) of a service's way of exposure: both ways exist during a migration."""
    return f"{svc}-{way}"


def picker_name(svc: str) -> str:
    """The endpoint picker's Deployment, Service, ConfigMap and service account."""
    return f"{svc}-epp"


def gateway_objects(env: Environment, svc: Inference, endpoint: Endpoint, way: str, labels: dict) -> list[Obj]:
    """The Gateway, its routes and GKE's policies for ``svc`` served on ``endpoint`` through ``way``."""
    names = Names.of(env)
    ns, name = svc.team, gateway_name(svc.name, way)
    allowed = {"namespaces": {"from": "Same"}, "kinds": [dict(ROUTE_KIND)]}
    https: Obj = {"name": HTTPS_LISTENER, "protocol": "HTTPS", "port": 443, "allowedRoutes": allowed}
    annotations: dict[str, str] = {}
    if way == INFERENCE_GATEWAY:  # a regional Gateway names its certificates; certificate maps are global only
        certs = ",".join(names.gateway_certificate(endpoint.name, way, h) for h in endpoint.served_hosts)
        https["tls"] = {"mode": "Terminate", "options": {serving.CERT_MANAGER_CERTS_OPTION: certs}}
        gateway_class = serving.GATEWAY_CLASS_REGIONAL
    else:
        annotations[serving.CERTMAP_ANNOTATION] = names.certificate_map(endpoint.name)
        gateway_class = serving.GATEWAY_CLASS_GLOBAL
    gateway: Obj = {
        "apiVersion": serving.GATEWAY_API,
        "kind": "Gateway",
        "metadata": metadata(name, ns, labels, annotations or None),
        "spec": {
            "gatewayClassName": gateway_class,
            "addresses": [{"type": "NamedAddress", "value": names.gateway_address(endpoint.name, way)}],
            "listeners": [
                {"name": HTTP_LISTENER, "protocol": "HTTP", "port": 80, "allowedRoutes": allowed},
                https,
            ],
        },
    }
    if way == INFERENCE_GATEWAY:
        backend: Obj = {"group": serving.INFERENCE_POOL_GROUP, "kind": "InferencePool", "name": svc.name}
    else:
        backend = {"group": "", "kind": "Service", "name": svc.name, "port": SERVICE_PORT}

    def parent(section: str) -> Obj:
        return {"group": serving.GATEWAY_API_GROUP, "kind": "Gateway", "name": name, "sectionName": section}

    hosts = list(endpoint.served_hosts)
    route: Obj = {
        "apiVersion": serving.GATEWAY_API,
        "kind": "HTTPRoute",
        "metadata": metadata(name, ns, labels),
        "spec": {
            "parentRefs": [parent(HTTPS_LISTENER)],
            "hostnames": hosts,
            "rules": [{"matches": [{"path": {"type": "PathPrefix", "value": "/"}}], "backendRefs": [backend]}],
        },
    }
    redirect: Obj = {
        "apiVersion": serving.GATEWAY_API,
        "kind": "HTTPRoute",
        "metadata": metadata(f"{name}-https-redirect", ns, labels),
        "spec": {
            "parentRefs": [parent(HTTP_LISTENER)],
            "hostnames": hosts,
            "rules": [
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                    "filters": [{"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 301}}],
                }
            ],
        },
    }
    return [gateway, route, redirect, *policies(svc, endpoint, way, labels)]


def policies(svc: Inference, endpoint: Endpoint, way: str, labels: dict) -> list[Obj]:
    """The health check (the probe's path and port) and backend policy (timeout) of the way's backend: the Service
    for GKE's Gateway, the InferencePool for GKE Inference Gateway (the chart's fast check and 300 s timeout)."""
    if way == INFERENCE_GATEWAY:
        target = {"group": serving.INFERENCE_POOL_GROUP, "kind": "InferencePool", "name": svc.name}
        name = f"{svc.name}-pool"
        seconds = serving.INFERENCE_HEALTH_CHECK_SECONDS
        check: Obj = {"checkIntervalSec": seconds, "timeoutSec": seconds}
        timeout: int | None = endpoint.timeout_seconds or serving.INFERENCE_BACKEND_TIMEOUT_SECONDS
    else:
        target = {"group": "", "kind": "Service", "name": svc.name}
        name = svc.name
        check = {"checkIntervalSec": 15}
        timeout = endpoint.timeout_seconds
    check["config"] = {
        "type": "HTTP",
        "httpHealthCheck": {
            "portSpecification": serving.HEALTH_CHECK_FIXED_PORT,
            "port": svc.probe.port,
            "requestPath": svc.probe.path,
        },
    }
    objects = [
        {
            "apiVersion": serving.GKE_POLICY_API,
            "kind": "HealthCheckPolicy",
            "metadata": metadata(name, svc.team, labels),
            "spec": {"targetRef": dict(target), "default": check},
        }
    ]
    if timeout:
        objects.append(
            {
                "apiVersion": serving.GKE_POLICY_API,
                "kind": "GCPBackendPolicy",
                "metadata": metadata(name, svc.team, labels),
                "spec": {"targetRef": dict(target), "default": {"timeoutSec": timeout}},
            }
        )
    return objects


# --- GKE Inference Gateway: the pool and its endpoint picker -------------------------------------------------


def inference_pool(svc: Inference, selector: dict, labels: dict) -> Obj:
    """The InferencePool over the service's pods (their serving port), with its endpoint picker. Only fields of
    InferencePool v1 since v1.0.0 (``appProtocol`` came in v1.4.0; GKE's own CRD may be older)."""
    return {
        "apiVersion": serving.INFERENCE_POOL_API,
        "kind": "InferencePool",
        "metadata": metadata(svc.name, svc.team, labels),
        "spec": {
            "selector": {"matchLabels": dict(selector)},
            "targetPorts": [{"number": svc.port}],
            "endpointPickerRef": {
                "group": "",
                "kind": "Service",
                "name": picker_name(svc.name),
                "port": {"number": serving.EPP_EXT_PROC_PORT},
                "failureMode": serving.EPP_FAILURE_MODE,
            },
        },
    }


def picker_args(svc: Inference, config: InferenceGatewayConfig) -> list[str]:
    """The endpoint picker's command line (the chart's _deployment.yaml for an InferencePool release)."""
    args = [
        "--pool-name",
        svc.name,
        "--pool-namespace",
        svc.team,
        "--pool-group",
        serving.INFERENCE_POOL_GROUP,
        *serving.MODEL_SERVER_FLAGS[config.model_server],
        "--zap-encoder",
        "json",
        "--config-file",
        f"{EPP_CONFIG_DIR}/{serving.EPP_PLUGINS_FILE}",
    ]
    if config.picker.replicas > 1:
        args.append("--ha-enable-leader-election")
    return [*args, "--v", str(serving.EPP_VERBOSITY), "--tracing=false"]


def picker_objects(svc: Inference, config: InferenceGatewayConfig, team_labels: dict) -> list[Obj]:
    """The endpoint picker of ``svc``'s pool: its service account with read access to the pool, its objectives and
    the namespace's pods (and leases, with more than one replica), its plugin configuration, its Deployment and
    Service."""
    ns, name = svc.team, picker_name(svc.name)
    labels = {**team_labels, "app.kubernetes.io/name": name, "app.kubernetes.io/component": "endpoint-picker"}
    selector = {"app.kubernetes.io/name": name}
    rules = [
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "watch", "list"]},
        {
            "apiGroups": [serving.INFERENCE_POOL_GROUP],
            "resources": ["inferencepools"],
            "verbs": ["get", "watch", "list"],
        },
        {
            "apiGroups": [serving.INFERENCE_OBJECTIVE_GROUP],
            "resources": ["inferenceobjectives", "inferencemodelrewrites"],
            "verbs": ["get", "watch", "list"],
        },
    ]
    if config.picker.replicas > 1:  # leader election (the chart's _leader-election-rbac.yaml)
        rules += [
            {
                "apiGroups": ["coordination.k8s.io"],
                "resources": ["leases"],
                "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"],
            },
            {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]},
        ]
    probes = (
        dict(serving.EPP_HA_HEALTH_SERVICES)
        if config.picker.replicas > 1
        else dict.fromkeys(serving.EPP_HA_HEALTH_SERVICES, serving.EPP_HEALTH_SERVICE)
    )
    container = {
        "name": "epp",
        "image": f"{serving.EPP_IMAGE}:{serving.INFERENCE_EXTENSION_VERSION}",
        "imagePullPolicy": "IfNotPresent",
        "args": picker_args(svc, config),
        "ports": [
            {"name": "grpc", "containerPort": serving.EPP_EXT_PROC_PORT, "protocol": "TCP"},
            {"name": "grpc-health", "containerPort": serving.EPP_HEALTH_PORT, "protocol": "TCP"},
            {"name": "metrics", "containerPort": serving.EPP_METRICS_PORT, "protocol": "TCP"},
        ],
        "env": [
            {"name": "NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        ],
        "resources": resources(config.picker.cpu, config.picker.memory),
        "securityContext": container_security_context(read_only_root=True),
        "livenessProbe": {
            "grpc": {"port": serving.EPP_HEALTH_PORT, "service": probes["livenessProbe"]},
            "initialDelaySeconds": 5,
            "periodSeconds": 10,
        },
        "readinessProbe": {
            "grpc": {"port": serving.EPP_HEALTH_PORT, "service": probes["readinessProbe"]},
            "periodSeconds": 2,
        },
        "volumeMounts": [{"name": "plugins-config", "mountPath": EPP_CONFIG_DIR, "readOnly": True}],
    }
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": metadata(name, ns, labels)},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": metadata(name, ns, labels),
            "rules": rules,
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": metadata(name, ns, labels),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": ns}],
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": metadata(name, ns, labels),
            "data": {serving.EPP_PLUGINS_FILE: serving.epp_plugins_config(config.model_server)},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": metadata(name, ns, labels),
            "spec": {
                "replicas": config.picker.replicas,
                # one active picker: the old one stops before the new one starts (its prefix-cache state is its own)
                "strategy": {"type": "Recreate"},
                "selector": {"matchLabels": selector},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "serviceAccountName": name,
                        "automountServiceAccountToken": True,  # it watches the pool's pods through the API
                        "securityContext": pod_security_context(),
                        "terminationGracePeriodSeconds": serving.EPP_TERMINATION_GRACE_SECONDS,
                        "containers": [container],
                        "volumes": [{"name": "plugins-config", "configMap": {"name": name}}],
                    },
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": metadata(name, ns, labels),
            "spec": {
                "type": "ClusterIP",
                "selector": selector,
                "ports": [
                    {"name": "grpc-ext-proc", "port": serving.EPP_EXT_PROC_PORT, "protocol": "TCP"},
                    {"name": "http-metrics", "port": serving.EPP_METRICS_PORT, "protocol": "TCP"},
                ],
            },
        },
    ]


def objective_objects(svc: Inference, config: InferenceGatewayConfig, labels: dict) -> list[Obj]:
    """The InferenceObjectives of ``svc``'s pool (applied by the local chart ``inference-objectives``)."""
    return [
        {
            "apiVersion": serving.INFERENCE_OBJECTIVE_API,
            "kind": "InferenceObjective",
            "metadata": metadata(o.name, svc.team, labels),
            "spec": {
                "poolRef": {"group": serving.INFERENCE_POOL_GROUP, "kind": "InferencePool", "name": svc.name},
                "priority": o.priority,
            },
        }
        for o in config.objectives
    ]


_NAME = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
_CONDITIONS = {
    "type": "array",
    "maxItems": 8,
    "items": {
        "type": "object",
        "required": ["lastTransitionTime", "message", "reason", "status", "type"],
        "properties": {
            "lastTransitionTime": {"type": "string", "format": "date-time"},
            "message": {"type": "string", "maxLength": 32768},
            "observedGeneration": {"type": "integer", "format": "int64", "minimum": 0},
            "reason": {
                "type": "string",
                "minLength": 1,
                "maxLength": 1024,
                "pattern": "^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$",
            },
            "status": {"type": "string", "enum": ["True", "False", "Unknown"]},
            "type": {
                "type": "string",
                "maxLength": 316,
                "pattern": "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
                "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$",
            },
        },
    },
    "x-kubernetes-list-map-keys": ["type"],
    "x-kubernetes-list-type": "map",
}


def inference_objective_crd() -> Obj:
    """The InferenceObjective CRD (``inference.networking.x-k8s.io/v1alpha2``, structurally that of the pinned
    release's config/crd/bases, without its descriptions): GKE installs InferencePool's CRD, not this one."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": metadata(
            serving.INFERENCE_OBJECTIVE_CRD,
            labels=MANAGED_BY,
            annotations={"inference.networking.k8s.io/bundle-version": serving.INFERENCE_EXTENSION_VERSION},
        ),
        "spec": {
            "group": serving.INFERENCE_OBJECTIVE_GROUP,
            "names": {
                "kind": "InferenceObjective",
                "listKind": "InferenceObjectiveList",
                "plural": "inferenceobjectives",
                "singular": "inferenceobjective",
            },
            "scope": "Namespaced",
            "versions": [
                {
                    "name": "v1alpha2",
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": [
                        {"jsonPath": ".spec.poolRef.name", "name": "Inference Pool", "type": "string"},
                        {"jsonPath": ".spec.priority", "name": "Priority", "type": "string"},
                        {"jsonPath": ".metadata.creationTimestamp", "name": "Age", "type": "date"},
                    ],
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "apiVersion": {"type": "string"},
                                "kind": {"type": "string"},
                                "metadata": {"type": "object"},
                                "spec": {
                                    "type": "object",
                                    "required": ["poolRef"],
                                    "properties": {
                                        "poolRef": {
                                            "type": "object",
                                            "required": ["name"],
                                            "properties": {
                                                "group": {
                                                    "type": "string",
                                                    "default": serving.INFERENCE_POOL_GROUP,
                                                    "maxLength": 253,
                                                    "pattern": f"^$|{_NAME}",
                                                },
                                                "kind": {
                                                    "type": "string",
                                                    "default": "InferencePool",
                                                    "minLength": 1,
                                                    "maxLength": 63,
                                                    "pattern": "^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$",
                                                },
                                                "name": {"type": "string", "minLength": 1, "maxLength": 253},
                                            },
                                        },
                                        "priority": {"type": "integer"},
                                    },
                                },
                                "status": {"type": "object", "properties": {"conditions": _CONDITIONS}},
                            },
                        }
                    },
                }
            ],
        },
    }
