"""What the API server and Kueue's webhooks accept for the Kueue objects gkeml emits, written out from
the CRDs and webhooks of the pinned chart (kubernetes-sigs/kueue v0.19.2, commit 8eab6877):
charts/kueue/templates/crd/kueue.x-k8s.io_{resourceflavors,cohorts,clusterqueues,localqueues,
workloadpriorityclasses}.yaml
(the ``v1beta2`` openAPIV3Schema and its x-kubernetes-validations) and
pkg/webhooks/clusterqueue_webhook.go.

Not a copy of those files: for each kind, the properties the CRD defines at every level gkeml writes
(so a misspelt or removed field, such as v1beta1's ``cohort`` for ``cohortName``, fails: no
additional properties), with their types, enums, patterns and list bounds, plus the CEL rules and
webhook checks that apply to what gkeml sets. No package ships Kueue's CRD schemas, and the tests
run offline, so the subset lives here; when the chart version changes (``platform.KUEUE_VERSION``),
re-read the CRDs and update it (``test_the_schemas_are_for_the_pinned_chart`` fails until then).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jsonschema

from gkeml import platform
from gkeml.units import parse_quantity

CHART_VERSION = "0.19.2"
# metav1 names of these kinds (DNS subdomain) and resource.Quantity (apimachinery), as the CRDs spell them.
NAME = {
    "type": "string",
    "maxLength": 253,
    "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
}
QUANTITY = {
    "anyOf": [{"type": "integer"}, {"type": "string"}],
    "pattern": r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$",
}
STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
EFFECT = {"type": "string", "enum": ["NoSchedule", "PreferNoSchedule", "NoExecute"]}  # CEL on nodeTaints
FAIR_SHARING = {"type": "object", "additionalProperties": False, "properties": {"weight": QUANTITY}}
STOP_POLICY = {"type": "string", "enum": ["None", "Hold", "HoldAndDrain"]}


def _object(properties: dict, required: tuple[str, ...] = ()) -> dict:
    return {"type": "object", "additionalProperties": False, "properties": properties, "required": list(required)}


RESOURCE_GROUPS = {
    "type": "array",
    "maxItems": 16,
    "items": _object(
        {
            "coveredResources": {"type": "array", "minItems": 1, "maxItems": 64, "items": {"type": "string"}},
            "flavors": {
                "type": "array",
                "minItems": 1,
                "maxItems": 64,
                "items": _object(
                    {
                        "name": NAME,
                        "resources": {
                            "type": "array",
                            "minItems": 1,
                            "maxItems": 64,
                            "items": _object(
                                {
                                    "name": {"type": "string"},
                                    "nominalQuota": QUANTITY,
                                    "borrowingLimit": QUANTITY,
                                    "lendingLimit": QUANTITY,
                                },
                                ("name", "nominalQuota"),
                            ),
                        },
                    },
                    ("name", "resources"),
                ),
            },
        },
        ("coveredResources", "flavors"),
    ),
}
LABEL_SELECTOR = _object(
    {
        "matchLabels": STRING_MAP,
        "matchExpressions": {
            "type": "array",
            "items": _object(
                {
                    "key": {"type": "string"},
                    "operator": {"type": "string"},
                    "values": {"type": "array", "items": {"type": "string"}},
                },
                ("key", "operator"),
            ),
        },
    }
)
POLICY = {"type": "string", "enum": ["MayStopSearch", "TryNextFlavor"]}

SPECS: dict[str, dict] = {
    "ResourceFlavor": _object(
        {
            "nodeLabels": {**STRING_MAP, "maxProperties": 8},
            "nodeTaints": {
                "type": "array",
                "maxItems": 8,
                "items": _object(
                    {
                        "key": {"type": "string"},
                        "value": {"type": "string"},
                        "effect": EFFECT,
                        "timeAdded": {"type": "string"},
                    },
                    ("effect", "key"),
                ),
            },
            "tolerations": {
                "type": "array",
                "maxItems": 8,
                "items": _object(
                    {
                        "key": {"type": "string"},
                        "operator": {"type": "string", "enum": ["Equal", "Exists"]},
                        "value": {"type": "string"},
                        "effect": EFFECT,
                        "tolerationSeconds": {"type": "integer"},
                    }
                ),
            },
            "topologyName": NAME,
        }
    ),
    "Cohort": _object({"parentName": NAME, "resourceGroups": RESOURCE_GROUPS, "fairSharing": FAIR_SHARING}),
    "ClusterQueue": _object(
        {
            "cohortName": NAME,
            "namespaceSelector": LABEL_SELECTOR,
            "queueingStrategy": {"type": "string", "enum": ["StrictFIFO", "BestEffortFIFO"]},
            "resourceGroups": RESOURCE_GROUPS,
            "flavorFungibility": _object(
                {
                    "whenCanBorrow": POLICY,
                    "whenCanPreempt": POLICY,
                    "preference": {"type": "string", "enum": ["BorrowingOverPreemption", "PreemptionOverBorrowing"]},
                }
            ),
            "preemption": _object(
                {
                    "reclaimWithinCohort": {"type": "string", "enum": ["Never", "LowerPriority", "Any"]},
                    "withinClusterQueue": {
                        "type": "string",
                        "enum": ["Never", "LowerPriority", "LowerOrNewerEqualPriority"],
                    },
                    "borrowWithinCohort": _object(
                        {
                            "policy": {"type": "string", "enum": ["Never", "LowerPriority"]},
                            "maxPriorityThreshold": {"type": "integer"},
                        }
                    ),
                }
            ),
            "fairSharing": FAIR_SHARING,
            "stopPolicy": STOP_POLICY,
            # admissionChecksStrategy, admissionScope, concurrentAdmissionPolicy: in the CRD, not written by gkeml
        }
    ),
    "LocalQueue": _object({"clusterQueue": NAME, "stopPolicy": STOP_POLICY, "fairSharing": FAIR_SHARING}),
}
SCOPE = {
    "ResourceFlavor": "Cluster",
    "Cohort": "Cluster",
    "ClusterQueue": "Cluster",
    "LocalQueue": "Namespaced",
    "WorkloadPriorityClass": "Cluster",
}
# Kinds whose fields are at the root, beside metadata, not under spec: WorkloadPriorityClass (value: int32,
# required; description: at most 2048 characters).
ROOT_FIELDS: dict[str, tuple[dict, tuple[str, ...]]] = {
    "WorkloadPriorityClass": (
        {
            "value": {"type": "integer", "minimum": -(2**31), "maximum": 2**31 - 1},
            "description": {"type": "string", "maxLength": 2048},
        },
        ("value",),
    )
}


def schema(kind: str) -> dict:
    """The JSON Schema of a whole ``kueue.x-k8s.io/v1beta2`` object of ``kind`` (metadata as ObjectMeta)."""
    metadata = {"name": NAME, "labels": STRING_MAP, "annotations": STRING_MAP}
    if SCOPE[kind] == "Namespaced":
        metadata["namespace"] = NAME
    root, required = ROOT_FIELDS.get(kind, ({"spec": SPECS.get(kind, {})}, ()))
    return _object(
        {
            "apiVersion": {"const": platform.KUEUE_API},
            "kind": {"const": kind},
            "metadata": _object(metadata, ("name", "namespace") if SCOPE[kind] == "Namespaced" else ("name",)),
            **root,
        },
        ("apiVersion", "kind", "metadata", *required),
    )


def _rule_problems(obj: dict) -> Iterator[str]:
    """The CRD's CEL rules and the ClusterQueue webhook's checks that apply to what gkeml writes."""
    spec = obj.get("spec") or {}
    groups = spec.get("resourceGroups") or []
    seen_resources: set[str] = set()
    seen_flavors: set[str] = set()
    for i, group in enumerate(groups):
        covered = group["coveredResources"]
        for name in covered:
            if name in seen_resources:
                yield f"resourceGroups[{i}]: resource {name} covered twice"
            seen_resources.add(name)
        for j, flavor in enumerate(group["flavors"]):
            where = f"resourceGroups[{i}].flavors[{j}]"
            if flavor["name"] in seen_flavors:
                yield f"{where}: flavor {flavor['name']} used twice"
            seen_flavors.add(flavor["name"])
            if len(flavor["resources"]) != len(covered):  # CEL
                yield f"{where}: flavors must have the same number of resources as the coveredResources"
            for k, (resource, name) in enumerate(zip(flavor["resources"], covered)):
                if resource["name"] != name:  # webhook
                    yield f"{where}.resources[{k}].name: must match the name in coveredResources"
                for key in ("nominalQuota", "borrowingLimit", "lendingLimit"):
                    if key in resource and parse_quantity(resource[key]) < 0:
                        yield f"{where}.resources[{k}].{key}: must be greater than or equal to 0"
                if "borrowingLimit" in resource and not spec.get("cohortName") and obj["kind"] == "ClusterQueue":
                    yield f"{where}.resources[{k}].borrowingLimit: must be nil when cohort is empty"
                for key in ("borrowingLimit", "lendingLimit"):  # pkg/webhooks/cohort_webhook.go (hasParent)
                    if key in resource and obj["kind"] == "Cohort" and not spec.get("parentName"):
                        yield f"{where}.resources[{k}].{key}: must be nil when the cohort has no parent"
                if "lendingLimit" in resource and parse_quantity(resource["lendingLimit"]) > parse_quantity(
                    resource["nominalQuota"]
                ):
                    yield f"{where}.resources[{k}].lendingLimit: must be less than or equal to the nominalQuota"
    preemption = spec.get("preemption") or {}
    if (
        preemption.get("reclaimWithinCohort", "Never") == "Never"
        and (preemption.get("borrowWithinCohort") or {}).get("policy", "Never") != "Never"
    ):
        yield "preemption: reclaimWithinCohort=Never and borrowWithinCohort.Policy!=Never"


def problems(obj: Any) -> list[str]:
    """Why the API server or Kueue's webhooks would refuse ``obj``; empty when they accept it."""
    if not isinstance(obj, dict) or obj.get("kind") not in SCOPE:
        return [f"not a Kueue object gkeml writes: {obj!r:.80}"]
    validator = jsonschema.Draft7Validator(schema(obj["kind"]))
    found = [f"{'.'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in validator.iter_errors(obj)]
    return found or list(_rule_problems(obj))
