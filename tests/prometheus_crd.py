"""What the API server accepts for the PodMonitoring gkeml emits, written out from Managed Service for
Prometheus's CRD (GoogleCloudPlatform/prometheus-engine charts/operator/crds/
monitoring.googleapis.com_podmonitorings.yaml at 00f28d4e, the ``v1`` openAPIV3Schema).

Not a copy of that file: the properties the CRD defines at every level gkeml writes (no additional properties,
so a misspelt field fails), with their types, bounds and required keys, plus the CEL rule on the scrape timeout.
GKE installs the CRD itself (managed collection), so no chart version of ours pins it; re-read it when GKE's
managed collection moves to a new API version.
"""

from __future__ import annotations

import re
from typing import Any

import jsonschema

CRD_COMMIT = "00f28d4e96f7a84a8ec11e0cd054bbe5752ba6a5"
# Prometheus durations (model.ParseDuration), as the CRD's `format: duration` is checked by the operator's webhook.
DURATION = {"type": "string", "pattern": r"^((\d+y)?(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\d+ms)?|0)$", "minLength": 1}
STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
LABEL_SELECTOR = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "matchLabels": STRING_MAP,
        "matchExpressions": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["key", "operator"],
                "properties": {
                    "key": {"type": "string"},
                    "operator": {"type": "string"},
                    "values": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
    },
}
ENDPOINT = {
    "type": "object",
    "additionalProperties": False,
    "required": ["interval", "port"],
    "properties": {
        "port": {"anyOf": [{"type": "integer"}, {"type": "string"}]},  # x-kubernetes-int-or-string
        "path": {"type": "string"},
        "scheme": {"type": "string"},
        "interval": DURATION,
        "timeout": DURATION,
        "params": {"type": "object"},
        "proxyUrl": {"type": "string", "maxLength": 2000},
        "metricRelabeling": {"type": "array", "maxItems": 250},
    },
}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "monitoring.googleapis.com/v1"},
        "kind": {"const": "PodMonitoring"},
        "metadata": {"type": "object", "required": ["name", "namespace"]},
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "required": ["endpoints", "selector"],
            "properties": {
                "endpoints": {"type": "array", "minItems": 1, "maxItems": 10, "items": ENDPOINT},
                "selector": LABEL_SELECTOR,
                "filterRunning": {"type": "boolean"},
                "limits": {"type": "object"},
                "targetLabels": {"type": "object"},
            },
        },
    },
}


def _seconds(duration: str) -> float:
    units = {"y": 31536000, "w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1, "ms": 0.001}
    return sum(int(n) * units[u] for n, u in re.findall(r"(\d+)(ms|y|w|d|h|m|s)", duration))


def problems(obj: Any) -> list[str]:
    """Why the API server would refuse ``obj`` as a PodMonitoring, or [] when it accepts it."""
    validator = jsonschema.Draft7Validator(SCHEMA)
    found = [f"{'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in validator.iter_errors(obj)]
    for i, endpoint in enumerate(((obj.get("spec") or {}).get("endpoints") or []) if not found else []):
        if "timeout" in endpoint and _seconds(endpoint["timeout"]) > _seconds(endpoint["interval"]):
            found.append(f"spec.endpoints.{i}: scrape timeout must not be greater than scrape interval")
    return found
