"""The Custom Metrics Stackdriver Adapter in the in-cluster layer (pure Python): what serves the
custom and external metrics APIs that a HorizontalPodAutoscaler reads for its External, Object and
Pods metrics (a Pub/Sub backlog, say). Without it such an HPA reports FailedGetExternalMetric and
never scales on that metric.

The objects follow ``deploy/production/adapter_new_resource_model.yaml`` of
GoogleCloudPlatform/k8s-stackdriver (see the adapter facts in :mod:`gkeml.platform`), built here
rather than copied, with these differences:

- the pod runs as a non-root user with every capability dropped, no privilege escalation,
  RuntimeDefault seccomp and a read-only root filesystem. The adapter writes one thing, its
  self-signed serving certificate, which goes to an emptyDir (``--cert-dir``); it listens on an
  unprivileged port (``--secure-port``), so it needs no NET_BIND_SERVICE; the Service still
  answers on 443, the port the APIServices call;
- requests equal limits at what Autopilot bills (the manifest's 200Mi of memory is below the
  general-purpose 1:1 CPU:memory ratio, so Autopilot would bill 256Mi anyway);
- the image is pulled IfNotPresent (the tag is pinned), not Always;
- no GPU/TPU tolerations: on Autopilot the pod gets a general-purpose node of its own, and tolerating
  the accelerator taints would only let it keep an expensive node from scaling down;
- the ClusterRole that lets it read pods and nodes leaves out ``nodes/stats`` (the adapter's own code
  reads only pods and nodes; the stats served its experimental core metrics API, which stays off);
- its namespace gets the team namespaces' Pod Security labels and denies ingress except to the
  adapter's port (see :func:`network_policies`);
- Workload Identity: its KSA's ``principal://`` member holds ``roles/monitoring.viewer`` (granted by
  the cloud stack), so no Google service account and no annotation;
- nothing in ``kube-system``, which Autopilot manages: the manifest's RoleBinding there (to read the
  ``extension-apiserver-authentication`` ConfigMap) is a ClusterRole limited to that ConfigMap's name and
  a ClusterRoleBinding.
"""

from __future__ import annotations

from collections.abc import Iterable

from gkeml import platform
from gkeml.manifests import (
    MANAGED_BY,
    POD_SECURITY_LABELS,
    Obj,
    container_security_context,
    metadata,
    pod_security_context,
    resources,
)

NAME = platform.METRICS_ADAPTER_KSA  # the ServiceAccount, the Deployment and the Service
NAMESPACE = platform.METRICS_ADAPTER_NAMESPACE
LABELS = {**MANAGED_BY, "gkeml.io/component": "metrics-adapter"}
SELECTOR = {"app.kubernetes.io/name": NAME}
PORT = 6443  # the adapter's --secure-port: unprivileged, so the pod needs no capability
SERVICE_PORT = 443  # what an APIService calls when it names no port
CERT_DIR = "/tmp/certificates"  # --cert-dir, on the emptyDir at /tmp (the root filesystem is read-only)
# The manifest's 250m / 200Mi, with memory raised to what Autopilot bills for 250m (ratio 1:1 at least).
RESOURCES = {"cpu": "250m", "memory": "256Mi"}
RBAC_API = "rbac.authorization.k8s.io/v1"
RBAC_GROUP = "rbac.authorization.k8s.io"
APISERVICE_API = "apiregistration.k8s.io/v1"
AUTH_READER = "custom-metrics-auth-reader"  # the manifest's name for its kube-system RoleBinding


def uses_metrics_adapter(objects: Iterable[Obj]) -> bool:
    """Whether any HorizontalPodAutoscaler among ``objects`` scales on a metric only the adapter serves
    (External, Object or Pods: the custom and external metrics APIs)."""
    return any(
        metric.get("type") in platform.METRICS_ADAPTER_HPA_TYPES
        for obj in objects
        if obj.get("kind") == "HorizontalPodAutoscaler"
        for metric in (obj.get("spec") or {}).get("metrics") or []
    )


def _subject() -> Obj:
    return {"kind": "ServiceAccount", "name": NAME, "namespace": NAMESPACE}


def _binding(kind: str, name: str, role_kind: str, role: str, subject: Obj) -> Obj:
    return {
        "apiVersion": RBAC_API,
        "kind": kind,
        "metadata": metadata(name, labels=LABELS),
        "roleRef": {"apiGroup": RBAC_GROUP, "kind": role_kind, "name": role},
        "subjects": [subject],
    }


def rbac_objects() -> list[Obj]:
    """What the adapter may do as an aggregated API server (delegate authentication and authorization,
    read the API server's client CA from kube-system/extension-apiserver-authentication), read the pods
    and nodes a custom metric names; and that the HPA controller may read external metrics."""
    hpa_namespace, hpa_account = platform.HPA_CONTROLLER_SERVICE_ACCOUNT
    return [
        _binding(
            "ClusterRoleBinding",
            "custom-metrics:system:auth-delegator",
            "ClusterRole",
            "system:auth-delegator",
            _subject(),
        ),
        # the manifest's RoleBinding in kube-system to extension-apiserver-authentication-reader, granted
        # cluster-wide by name instead: Autopilot manages kube-system (rule GKE045)
        {
            "apiVersion": RBAC_API,
            "kind": "ClusterRole",
            "metadata": metadata(AUTH_READER, labels=LABELS),
            "rules": [dict(platform.EXTENSION_APISERVER_AUTHENTICATION_RULE)],
        },
        _binding("ClusterRoleBinding", AUTH_READER, "ClusterRole", AUTH_READER, _subject()),
        {
            "apiVersion": RBAC_API,
            "kind": "ClusterRole",
            "metadata": metadata("custom-metrics-resource-reader", labels=LABELS),
            "rules": [{"apiGroups": [""], "resources": ["pods", "nodes"], "verbs": ["get", "list", "watch"]}],
        },
        _binding(
            "ClusterRoleBinding",
            "custom-metrics-resource-reader",
            "ClusterRole",
            "custom-metrics-resource-reader",
            _subject(),
        ),
        {
            "apiVersion": RBAC_API,
            "kind": "ClusterRole",
            "metadata": metadata("external-metrics-reader", labels=LABELS),
            "rules": [
                {"apiGroups": ["external.metrics.k8s.io"], "resources": ["*"], "verbs": ["list", "get", "watch"]}
            ],
        },
        _binding(
            "ClusterRoleBinding",
            "external-metrics-reader",
            "ClusterRole",
            "external-metrics-reader",
            {"kind": "ServiceAccount", "name": hpa_account, "namespace": hpa_namespace},
        ),
    ]


def network_policies() -> list[Obj]:
    """Deny ingress to the namespace except to the adapter's port, from any source. Its callers are the
    kube-apiserver (every call to an APIService is proxied by it) and the kubelet's readiness probe. GKE's
    control plane runs outside the cluster's network, and under GKE Dataplane V2 its traffic is not a pod
    or a namespace a selector could name; its address is not a stable, documented range either. So the
    rule opens this one port to every source (like Kueue's webhook ports), and only this port; the
    adapter authenticates every request on it (delegated authentication: a client certificate or token
    the API server vouches for) and authorizes it with SubjectAccessReviews."""
    return [
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": metadata("default-deny-ingress", NAMESPACE, LABELS),
            "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": metadata("allow-api-server-to-adapter", NAMESPACE, LABELS),
            "spec": {
                "podSelector": {"matchLabels": SELECTOR},
                "policyTypes": ["Ingress"],
                "ingress": [{"ports": [{"protocol": "TCP", "port": PORT}]}],
            },
        },
    ]


def deployment() -> Obj:
    """One adapter pod, hardened (module docstring), waiting to be Ready until it serves /healthz."""
    labels = {**LABELS, **SELECTOR}
    container = {
        "name": "adapter",
        "image": platform.METRICS_ADAPTER_PINNED_IMAGE,
        "imagePullPolicy": "IfNotPresent",
        "command": [
            platform.METRICS_ADAPTER_BINARY,
            "--use-new-resource-model=true",
            "--fallback-for-container-metrics=true",
            f"--secure-port={PORT}",
            f"--cert-dir={CERT_DIR}",
        ],
        "ports": [{"name": "https", "containerPort": PORT, "protocol": "TCP"}],
        "resources": resources(RESOURCES["cpu"], RESOURCES["memory"]),
        "securityContext": container_security_context(read_only_root=True),
        "readinessProbe": {
            "httpGet": {"path": "/healthz", "port": "https", "scheme": "HTTPS"},
            "initialDelaySeconds": 40,
            "periodSeconds": 10,
            "timeoutSeconds": 5,
        },
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(NAME, NAMESPACE, labels),
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": dict(SELECTOR)},
            # a new pod is Ready before the old one stops: the APIServices keep a backend during a rollout
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "serviceAccountName": NAME,
                    "automountServiceAccountToken": True,  # it calls the API server
                    "securityContext": pod_security_context(platform.METRICS_ADAPTER_UID),
                    "containers": [container],
                    "volumes": [{"name": "tmp", "emptyDir": {}}],
                },
            },
        },
    }


def api_services() -> list[Obj]:
    """The APIServices that route the custom and external metrics APIs to the adapter's Service. The
    adapter serves a self-signed certificate it makes at start, so the API server cannot verify it
    (``insecureSkipTLSVerify``, as in the upstream manifest); the path is the cluster's own network."""
    return [
        {
            "apiVersion": APISERVICE_API,
            "kind": "APIService",
            "metadata": metadata(f"{version}.{group}", labels=LABELS),
            "spec": {
                "group": group,
                "version": version,
                "insecureSkipTLSVerify": True,
                "groupPriorityMinimum": platform.METRICS_ADAPTER_GROUP_PRIORITY_MINIMUM,
                "versionPriority": priority,
                "service": {"name": NAME, "namespace": NAMESPACE, "port": SERVICE_PORT},
            },
        }
        for group, version, priority in platform.METRICS_ADAPTER_APIS
    ]


def metrics_adapter_objects() -> list[Obj]:
    """Every object of the adapter, in apply order: its Namespace first, the APIServices last."""
    namespace = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": metadata(NAMESPACE, labels={**LABELS, **POD_SECURITY_LABELS}),
    }
    service_account = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": metadata(NAME, NAMESPACE, LABELS)}
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(NAME, NAMESPACE, LABELS),
        "spec": {
            "type": "ClusterIP",
            "selector": dict(SELECTOR),
            "ports": [{"name": "https", "port": SERVICE_PORT, "targetPort": "https", "protocol": "TCP"}],
        },
    }
    return [namespace, service_account, *rbac_objects(), *network_policies(), deployment(), service, *api_services()]
