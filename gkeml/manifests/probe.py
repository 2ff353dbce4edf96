"""A Helm hook that waits until a controller's admission webhook answers (pure Python).

A chart's controller is Ready some seconds before the API server can call its webhook (the certificate it
generates in-process is injected into the webhook configuration afterwards; kubernetes-sigs/kueue #13036), and
a fail-closed webhook refuses every object it intercepts until then. The hook Job here retries a server-side
dry-run create of one object through the webhook (nothing is stored; the Job controller's back-off retries it)
until it passes, so the Helm release it belongs to, and everything Terraform applies after it, waits for a
webhook that answers. It runs the official kubectl image as a service account that may only create that kind,
and Helm deletes all of it once the Job succeeded.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import yaml

from gkeml import platform
from gkeml.manifests import Obj, container_security_context, metadata, resources

PROBE_UID = 65532  # the distroless nonroot user
PROBE_RESOURCES = {"cpu": "100m", "memory": "128Mi"}
PROBE_BACKOFF_LIMIT = 6  # retries 10 s, 20 s, ... 320 s apart: about 10 minutes in all
PROBE_DEADLINE_SECONDS = 900
PROBE_DIR = "/probe"
HOOK = {"helm.sh/hook": "pre-install,pre-upgrade", "helm.sh/hook-delete-policy": "before-hook-creation,hook-succeeded"}
RBAC = "rbac.authorization.k8s.io"


def controller_namespace(namespace: str, labels: dict[str, str], policy: str, ports: Iterable[int]) -> list[Obj]:
    """A controller's namespace under restricted Pod Security (the controller and its probe meet it) and its
    NetworkPolicies: ingress denied except to ``ports`` (its webhook, which the API server calls, and its
    metrics and probes), allowed by the policy named ``policy``."""
    return [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": metadata(namespace, labels={**labels, "pod-security.kubernetes.io/enforce": "restricted"}),
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": metadata("default-deny-ingress", namespace, labels),
            "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": metadata(policy, namespace, labels),
            "spec": {
                "podSelector": {},
                "policyTypes": ["Ingress"],
                "ingress": [{"ports": [{"protocol": "TCP", "port": p} for p in ports]}],
            },
        },
    ]


def hook(weight: int) -> dict[str, str]:
    """The annotations of a hook object applied at ``weight`` (lower first)."""
    return {**HOOK, "helm.sh/hook-weight": str(weight)}


@dataclass(frozen=True)
class WebhookProbe:
    """What to dry-run, where, and the one permission it takes (a ClusterRole for a cluster-scoped kind,
    else a Role in the probe's namespace)."""

    name: str
    namespace: str
    labels: dict[str, str]
    manifest: Obj  # the object the dry run creates
    file: str  # its file name in the ConfigMap
    rule: Obj  # the RBAC rule that allows creating it
    cluster_scoped: bool

    def objects(self) -> list[Obj]:
        """ServiceAccount, (Cluster)Role and binding, ConfigMap, then the hook Job."""
        ns, labels = self.namespace, self.labels
        role = f"gkeml-{self.name}" if self.cluster_scoped else self.name
        kind = "ClusterRole" if self.cluster_scoped else "Role"
        where = None if self.cluster_scoped else ns
        path = f"{PROBE_DIR}/{self.file}"
        container = {
            "name": "probe",
            "image": platform.KUBECTL_IMAGE,
            "imagePullPolicy": "IfNotPresent",
            "command": [platform.KUBECTL_BINARY],
            "args": ["create", "--dry-run=server", "-o", "name", "-f", path],
            "env": [{"name": "HOME", "value": "/tmp"}],  # kubectl's cache; the root filesystem is read-only
            "resources": resources(PROBE_RESOURCES["cpu"], PROBE_RESOURCES["memory"]),
            "securityContext": container_security_context(),
            "volumeMounts": [
                {"name": "manifest", "mountPath": PROBE_DIR, "readOnly": True},
                {"name": "tmp", "mountPath": "/tmp"},
            ],
        }
        job = {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": metadata(self.name, ns, labels, hook(0)),
            "spec": {
                "backoffLimit": PROBE_BACKOFF_LIMIT,
                "activeDeadlineSeconds": PROBE_DEADLINE_SECONDS,
                "template": {
                    "metadata": {"labels": {**labels, "app.kubernetes.io/name": self.name}},
                    "spec": {
                        "restartPolicy": "Never",
                        "serviceAccountName": self.name,
                        "automountServiceAccountToken": True,  # it calls the API server
                        "securityContext": {
                            "runAsNonRoot": True,
                            "runAsUser": PROBE_UID,
                            "runAsGroup": PROBE_UID,
                            "seccompProfile": {"type": "RuntimeDefault"},
                        },
                        "containers": [container],
                        "volumes": [
                            {"name": "manifest", "configMap": {"name": self.name}},
                            {"name": "tmp", "emptyDir": {}},
                        ],
                    },
                },
            },
        }
        return [
            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": metadata(self.name, ns, labels, hook(-10))},
            {
                "apiVersion": f"{RBAC}/v1",
                "kind": kind,
                "metadata": metadata(role, where, labels=labels, annotations=hook(-10)),
                "rules": [self.rule],
            },
            {
                "apiVersion": f"{RBAC}/v1",
                "kind": f"{kind}Binding",
                "metadata": metadata(role, where, labels=labels, annotations=hook(-10)),
                "roleRef": {"apiGroup": RBAC, "kind": kind, "name": role},
                "subjects": [{"kind": "ServiceAccount", "name": self.name, "namespace": ns}],
            },
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": metadata(self.name, ns, labels, hook(-10)),
                "data": {self.file: yaml.safe_dump(self.manifest, sort_keys=False)},
            },
            job,
        ]
