"""What the API server and the JobSet webhooks accept for the JobSets gkeml renders, written out from the CRD and
the webhook of the pinned chart (kubernetes-sigs/jobset v0.12.0, commit f22e565a):
charts/jobset/crds/jobset.x-k8s.io_jobsets.yaml (the ``v1alpha2`` openAPIV3Schema: properties, enums, formats,
defaults and list keys at every level gkeml writes) and pkg/webhooks/jobset_webhook.go (ValidateCreate: the
generated Job and pod names, failure policy rule names and reasons, replicatedJob references).

Not a copy of those files: like tests/kueue_crd.py, the subset of the schema gkeml writes, so that a misspelt or
removed field fails (no additional properties), plus the webhook checks that apply to it. A replicatedJob's
``template`` is a batch/v1 JobTemplateSpec: its ``spec`` is validated as a Job against the official Kubernetes
schema (``kubernetes-validate --strict``). When the chart version changes (``platform.JOBSET_VERSION``), re-read
the CRD and the webhook and update this (``test_the_schemas_are_for_the_pinned_chart`` fails until then).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import jsonschema
import kubernetes_validate

from gkeml import platform

CHART_VERSION = "0.12.0"
K8S_VERSION = "1.33.0"
INT32 = {"type": "integer", "minimum": -(2**31), "maximum": 2**31 - 1}
STRING_LIST = {"type": "array", "items": {"type": "string"}}
STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
# pkg/webhooks/jobset_webhook.go: validOnJobFailureReasons (batch/v1 Job failure reasons), the rule name pattern.
JOB_FAILURE_REASONS = (
    "BackoffLimitExceeded",
    "DeadlineExceeded",
    "FailedIndexes",
    "MaxFailedIndexesExceeded",
    "PodFailurePolicy",
)
RULE_NAME = re.compile(r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$")
DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
POD_NAME_SUFFIX = "-abcde"  # the webhook checks the pod name with a 5-character suffix


def _object(properties: dict, required: tuple[str, ...] = ()) -> dict:
    return {"type": "object", "additionalProperties": False, "properties": properties, "required": list(required)}


OBJECT_META = _object(
    {
        "name": {"type": "string"},
        "namespace": {"type": "string"},
        "labels": STRING_MAP,
        "annotations": STRING_MAP,
        "finalizers": STRING_LIST,
    }
)
SPEC = _object(
    {
        "replicatedJobs": {
            "type": "array",
            "items": _object(
                {
                    "name": {"type": "string"},
                    "groupName": {"type": "string"},
                    "replicas": INT32,
                    "dependsOn": {
                        "type": "array",
                        "maxItems": 5,
                        "items": _object(
                            {"name": {"type": "string"}, "status": {"type": "string", "enum": ["Ready", "Complete"]}},
                            ("name", "status"),
                        ),
                    },
                    # a batch/v1 JobTemplateSpec: its spec is checked with the Kubernetes schema (job_template_problems)
                    "template": _object({"metadata": OBJECT_META, "spec": {"type": "object"}}),
                },
                ("name", "template"),
            ),
        },
        "network": _object(
            {
                "enableDNSHostnames": {"type": "boolean"},
                "subdomain": {"type": "string"},
                "publishNotReadyAddresses": {"type": "boolean"},
            }
        ),
        "successPolicy": _object(
            {"operator": {"type": "string", "enum": ["All", "Any"]}, "targetReplicatedJobs": STRING_LIST},
            ("operator",),
        ),
        "failurePolicy": _object(
            {
                "maxRestarts": INT32,
                "restartStrategy": {"type": "string", "enum": ["Recreate", "BlockingRecreate", "InPlaceRestart"]},
                "rules": {
                    "type": "array",
                    "items": _object(
                        {
                            "name": {"type": "string"},
                            "action": {
                                "type": "string",
                                "enum": [
                                    "FailJobSet",
                                    "RestartJobSet",
                                    "RestartJobSetAndIgnoreMaxRestarts",
                                    "RestartJob",
                                    "RestartJobAndIgnoreMaxRestarts",
                                ],
                            },
                            "onJobFailureReasons": STRING_LIST,
                            "onJobFailureMessagePatterns": STRING_LIST,
                            "targetReplicatedJobs": STRING_LIST,
                        },
                        ("action", "name"),
                    ),
                },
            }
        ),
        "suspend": {"type": "boolean"},
        "managedBy": {"type": "string"},
        "ttlSecondsAfterFinished": {**INT32, "minimum": 0},
        # coordinator, startupPolicy, volumeClaimPolicies: in the CRD, not written by gkeml
    }
)
SCHEMA = _object(
    {
        "apiVersion": {"const": platform.JOBSET_API},
        "kind": {"const": "JobSet"},
        "metadata": _object(
            {
                "name": {"type": "string", "maxLength": 253},
                "namespace": {"type": "string"},
                "labels": STRING_MAP,
                "annotations": STRING_MAP,
            },
            ("name", "namespace"),
        ),
        "spec": SPEC,
    },
    ("apiVersion", "kind", "metadata"),
)


def job_template_problems(index: int, template: dict) -> Iterator[str]:
    """A replicatedJob's template as the API server checks it: a batch/v1 Job with that metadata and spec."""
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "job", **(template.get("metadata") or {})},
        "spec": template.get("spec") or {},
    }
    try:
        kubernetes_validate.validate(job, K8S_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        yield f"spec.replicatedJobs[{index}].template: {exc.message}"


def _webhook_problems(obj: dict) -> Iterator[str]:
    """pkg/webhooks/jobset_webhook.go ValidateCreate, for what gkeml writes."""
    name = obj["metadata"]["name"]
    spec = obj.get("spec") or {}
    rjobs = spec.get("replicatedJobs") or []
    names = [r["name"] for r in rjobs]
    if len(set(names)) != len(names):
        yield "spec.replicatedJobs: duplicate names"
    for i, rjob in enumerate(rjobs):
        replicas = rjob.get("replicas", 1)
        job_spec = rjob["template"].get("spec") or {}
        longest_job = f"{name}-{rjob['name']}-{replicas - 1}"
        if len(longest_job) > 63 or not DNS1035_LABEL.match(longest_job):
            yield f"spec.replicatedJobs[{i}]: job name {longest_job!r} is no DNS-1035 label of at most 63 characters"
        if job_spec.get("completionMode", "Indexed") == "Indexed" and "completions" in job_spec:
            pod = f"{longest_job}-{job_spec['completions'] - 1}{POD_NAME_SUFFIX}"
            if len(pod) > 63 or not DNS1035_LABEL.match(pod):
                yield f"spec.replicatedJobs[{i}]: pod name {pod!r} is no DNS-1035 label of at most 63 characters"
        yield from job_template_problems(i, rjob["template"])
    for target in (spec.get("successPolicy") or {}).get("targetReplicatedJobs") or []:
        if target not in names:
            yield f"successPolicy: unknown replicatedJob {target!r}"
    rules = (spec.get("failurePolicy") or {}).get("rules") or []
    rule_names = [r["name"] for r in rules]
    if len(set(rule_names)) != len(rule_names):
        yield "failurePolicy.rules: rule names are not unique"
    for j, rule in enumerate(rules):
        if not 1 <= len(rule["name"]) <= 128 or not RULE_NAME.match(rule["name"]):
            yield f"failurePolicy.rules[{j}].name: {rule['name']!r} is not a rule name"
        for reason in rule.get("onJobFailureReasons") or []:
            if reason not in JOB_FAILURE_REASONS:
                yield f"failurePolicy.rules[{j}]: {reason!r} is not a job failure reason"
        for target in rule.get("targetReplicatedJobs") or []:
            if target not in names:
                yield f"failurePolicy.rules[{j}]: unknown replicatedJob {target!r}"


def problems(obj: Any) -> list[str]:
    """Why the API server or the JobSet webhook would refuse ``obj``; empty when they accept it."""
    if not isinstance(obj, dict) or obj.get("kind") != "JobSet":
        return [f"not a JobSet: {obj!r:.80}"]
    validator = jsonschema.Draft7Validator(SCHEMA)
    found = [f"{'.'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in validator.iter_errors(obj)]
    return found or list(_webhook_problems(obj))
