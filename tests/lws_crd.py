"""What the API server and the LeaderWorkerSet webhooks accept for the LeaderWorkerSets gkeml renders, written out
from the CRD and the webhook of the pinned chart (kubernetes-sigs/lws v0.10.0, commit 2161f38f):
charts/lws/crds/leaderworkerset.x-k8s.io_leaderworkersets.yaml (the ``v1`` openAPIV3Schema: properties, enums,
formats, defaults and the scale subresource at every level gkeml writes) and pkg/webhooks/
leaderworkerset_webhook.go (generalValidate: the name a DNS-1035 label, replicas in [0, 1000000], size >= 1,
maxUnavailable and maxSurge not both 0).

Not a copy of those files: like tests/jobset_crd.py, the subset of the schema gkeml writes, so that a misspelt or
removed field fails (no additional properties), plus the webhook checks that apply to it. The leader and worker
templates are core/v1 PodTemplateSpecs: each is validated as a Pod against the official Kubernetes schema
(``kubernetes-validate --strict``). When the chart version changes (``platform.LWS_VERSION``), re-read the CRD and
the webhook and update this (``test_the_schema_is_for_the_pinned_chart`` fails until then).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import jsonschema
import kubernetes_validate

from gkeml import platform

CHART_VERSION = "0.10.0"
K8S_VERSION = "1.33.0"
INT32 = {"type": "integer", "minimum": -(2**31), "maximum": 2**31 - 1}
INT_OR_STRING = {"anyOf": [{"type": "integer"}, {"type": "string"}]}  # x-kubernetes-int-or-string
STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
# The CRD's subresources (api/leaderworkerset/v1/leaderworkerset_types.go kubebuilder:subresource:scale): what an
# HorizontalPodAutoscaler scales (the number of groups) and reads (the leaders, status.hpaPodSelector).
SCALE_SUBRESOURCE = {
    "labelSelectorPath": ".status.hpaPodSelector",
    "specReplicasPath": ".spec.replicas",
    "statusReplicasPath": ".status.replicas",
}
DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")


def _object(properties: dict, required: tuple[str, ...] = ()) -> dict:
    return {"type": "object", "additionalProperties": False, "properties": properties, "required": list(required)}


TEMPLATE = _object(
    {
        # metadata: annotations, finalizers, labels, name, namespace in the CRD; gkeml writes labels and annotations
        "metadata": _object({"labels": STRING_MAP, "annotations": STRING_MAP}),
        "spec": {"type": "object"},  # a PodSpec: validated with the Kubernetes schema (template_problems)
    },
)
SPEC = _object(
    {
        "replicas": {**INT32, "minimum": 0, "maximum": 1000000},
        "startupPolicy": {"type": "string", "enum": ["LeaderCreated", "LeaderReady"]},
        "rolloutStrategy": _object(
            {
                "type": {"type": "string", "enum": ["RollingUpdate"]},
                "rollingUpdateConfiguration": _object(
                    {"maxSurge": INT_OR_STRING, "maxUnavailable": INT_OR_STRING, "partition": INT32}
                ),
            }
        ),
        "networkConfig": _object({"subdomainPolicy": {"type": "string", "enum": ["Shared", "UniquePerReplica"]}}),
        "leaderWorkerTemplate": _object(
            {
                "size": {**INT32, "minimum": 1},  # webhook: size must be equal or greater than 1
                "restartPolicy": {
                    "type": "string",
                    "enum": ["Default", "RecreateGroupOnPodRestart", "RecreateGroupAfterStart", "None"],
                },
                "leaderTemplate": TEMPLATE,
                "workerTemplate": TEMPLATE,
                # persistentVolumeClaimRetentionPolicy, subGroupPolicy, volumeClaimTemplates: in the CRD, not
                # written by gkeml
            },
            ("workerTemplate",),
        ),
    },
    ("leaderWorkerTemplate",),
)
SCHEMA = _object(
    {
        "apiVersion": {"const": platform.LWS_API},
        "kind": {"const": "LeaderWorkerSet"},
        "metadata": _object(
            {
                "name": {"type": "string", "maxLength": 63},
                "namespace": {"type": "string"},
                "labels": STRING_MAP,
                "annotations": STRING_MAP,
            },
            ("name", "namespace"),
        ),
        "spec": SPEC,
    },
    ("apiVersion", "kind", "metadata", "spec"),
)


def template_problems(role: str, template: dict) -> Iterator[str]:
    """A leader or worker template as the API server checks the Pods made from it: a core/v1 Pod."""
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "pod", **(template.get("metadata") or {})},
        "spec": template.get("spec") or {},
    }
    try:
        kubernetes_validate.validate(pod, K8S_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        yield f"spec.leaderWorkerTemplate.{role}: {exc.message}"


def _zero(value: Any) -> bool:
    return value in (0, "0", "0%")


def _webhook_problems(obj: dict) -> Iterator[str]:
    """pkg/webhooks/leaderworkerset_webhook.go generalValidate, for what gkeml writes."""
    if not DNS1035_LABEL.match(obj["metadata"]["name"]):
        yield "metadata.name: not a DNS-1035 label (the LeaderWorkerSet's headless Service takes its name)"
    spec = obj["spec"]
    rolling = (spec.get("rolloutStrategy") or {}).get("rollingUpdateConfiguration") or {}
    if _zero(rolling.get("maxUnavailable", 1)) and _zero(rolling.get("maxSurge", 0)):
        yield "spec.rolloutStrategy.rollingUpdateConfiguration.maxUnavailable: must not be 0 when maxSurge is 0"
    template = spec["leaderWorkerTemplate"]
    for role in ("leaderTemplate", "workerTemplate"):
        if role in template:
            yield from template_problems(role, template[role])


def problems(obj: Any) -> list[str]:
    """Why the API server or the LWS webhook would refuse ``obj``; empty when they accept it."""
    if not isinstance(obj, dict) or obj.get("kind") != "LeaderWorkerSet":
        return [f"not a LeaderWorkerSet: {obj!r:.80}"]
    validator = jsonschema.Draft7Validator(SCHEMA)
    found = [f"{'.'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in validator.iter_errors(obj)]
    return found or list(_webhook_problems(obj))
