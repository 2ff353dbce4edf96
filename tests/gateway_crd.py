"""What the API server accepts for the Gateway API, GKE policy and Gateway API Inference Extension objects gkeml
writes, written out from their CRDs at the pinned versions (the sources below, read 2026-12-05):

- Gateway, HTTPRoute (``gateway.networking.k8s.io/v1``): kubernetes-sigs/gateway-api v1.4.0 (5e5891a5),
  config/crd/standard/gateway.networking.k8s.io_{gateways,httproutes}.yaml: the version GKE installs from
  1.34.1-gke.1822000, the oldest a cluster of gkeml's channels may run (v1.5.0, 3797b631, GKE's from
  1.35.2-gke.1842000, only adds to what is written here: listener-set and CORS fields, more redirect codes).
- HealthCheckPolicy, GCPBackendPolicy (``networking.gke.io/v1``): GoogleCloudPlatform/gke-gateway-api @ fc40d606
  (2026-04-29), config/crd/networking.gke.io_{healthcheckpolicies,gcpbackendpolicies}.yaml, with the CEL rules
  added since tag v1.4.0 (a663dec0): a port only with USE_FIXED_PORT, timeoutSec at most checkIntervalSec.
- InferencePool (``inference.networking.k8s.io/v1``) and InferenceObjective
  (``inference.networking.x-k8s.io/v1alpha2``): kubernetes-sigs/gateway-api-inference-extension v1.5.0 (df9f8909),
  config/crd/bases. InferencePool without ``appProtocol``, which v1.4.0 added: GKE installs the CRD itself, at a
  version it does not document, and every v1 InferencePool CRD since v1.0.0 has the other fields.

Not a copy of those files: for each kind, the properties the CRD defines at every level gkeml writes (anything
else fails: no additional properties, so a misspelt field or one a CRD version lacks is caught), with their types,
enums, patterns and list bounds, plus the CEL rules that apply to what gkeml sets. No package ships these CRDs and
the tests run offline; when a pin moves (``gkeml.platform_serving``), re-read the CRDs and update this file
(``test_the_schemas_are_for_the_pinned_versions`` fails until then).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jsonschema

from gkeml import platform_serving as serving

GATEWAY_API_BUNDLE = "v1.4.0"
INFERENCE_EXTENSION_VERSION = "v1.5.0"
GKE_GATEWAY_API_COMMIT = "fc40d606"

DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
HOSTNAME = {
    "type": "string",
    "minLength": 1,
    "maxLength": 253,
    "pattern": r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
}
GROUP = {"type": "string", "maxLength": 253, "pattern": rf"^$|{DNS_SUBDOMAIN}"}
KIND = {"type": "string", "minLength": 1, "maxLength": 63, "pattern": "^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$"}
OBJECT_NAME = {"type": "string", "minLength": 1, "maxLength": 253}
NAMESPACE = {"type": "string", "minLength": 1, "maxLength": 63, "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"}
SECTION_NAME = {"type": "string", "minLength": 1, "maxLength": 253, "pattern": DNS_SUBDOMAIN}
PORT = {"type": "integer", "minimum": 1, "maximum": 65535}
STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}


def _object(properties: dict, required: tuple[str, ...] = ()) -> dict:
    return {"type": "object", "additionalProperties": False, "properties": properties, "required": list(required)}


def _list(items: dict, max_items: int, min_items: int = 0) -> dict:
    return {"type": "array", "items": items, "maxItems": max_items, "minItems": min_items}


# --- gateway.networking.k8s.io/v1 ----------------------------------------------------------------------------
ALLOWED_ROUTES = _object(
    {
        "namespaces": _object(
            {
                "from": {"type": "string", "enum": ["All", "Selector", "Same"]},
                "selector": _object({"matchLabels": STRING_MAP}),
            }
        ),
        "kinds": _list(_object({"group": GROUP, "kind": KIND}, ("kind",)), 8),
    }
)
LISTENER = _object(
    {
        "name": SECTION_NAME,
        "hostname": HOSTNAME,
        "port": PORT,
        "protocol": {
            "type": "string",
            "minLength": 1,
            "maxLength": 255,
            "pattern": r"^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$"
            r"|[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/[A-Za-z0-9]+$",
        },
        "tls": _object(
            {
                "mode": {"type": "string", "enum": ["Terminate", "Passthrough"]},
                "certificateRefs": _list(
                    _object({"group": GROUP, "kind": KIND, "name": OBJECT_NAME, "namespace": NAMESPACE}, ("name",)),
                    64,
                ),
                "options": {
                    "type": "object",
                    "maxProperties": 16,
                    "additionalProperties": {"type": "string", "maxLength": 4096},
                },
            }
        ),
        "allowedRoutes": ALLOWED_ROUTES,
    },
    ("name", "port", "protocol"),
)
ADDRESS = _object(
    {
        "type": {
            "type": "string",
            "minLength": 1,
            "maxLength": 253,
            "pattern": r"^Hostname|IPAddress|NamedAddress|[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
            r"\/[A-Za-z0-9\/\-._~%!$&'()*+,;=:]+$",
        },
        "value": {"type": "string", "maxLength": 253},
    }
)
PARENT_REF = _object(
    {
        "group": GROUP,
        "kind": KIND,
        "namespace": NAMESPACE,
        "name": OBJECT_NAME,
        "sectionName": SECTION_NAME,
        "port": PORT,
    },
    ("name",),
)
BACKEND_REF = _object(
    {
        "group": GROUP,
        "kind": KIND,
        "name": OBJECT_NAME,
        "namespace": NAMESPACE,
        "port": PORT,
        "weight": {"type": "integer", "minimum": 0, "maximum": 1000000},
    },
    ("name",),
)
PATH_MATCH = _object(
    {
        "type": {"type": "string", "enum": ["Exact", "PathPrefix", "RegularExpression"]},
        "value": {"type": "string", "maxLength": 1024},
    }
)
FILTER = _object(
    {
        "type": {
            "type": "string",
            "enum": [
                "RequestHeaderModifier",
                "ResponseHeaderModifier",
                "RequestMirror",
                "RequestRedirect",
                "URLRewrite",
                "ExtensionRef",
            ],
        },
        "requestRedirect": _object(
            {
                "scheme": {"type": "string", "enum": ["http", "https"]},
                "hostname": {**HOSTNAME, "pattern": DNS_SUBDOMAIN},
                "port": PORT,
                "statusCode": {"type": "integer", "enum": [301, 302]},
            }
        ),
    },
    ("type",),
)
ROUTE_RULE = _object(
    {
        "name": SECTION_NAME,
        "matches": _list(_object({"path": PATH_MATCH}), 64),
        "filters": _list(FILTER, 16),
        "backendRefs": _list(BACKEND_REF, 16),
    }
)

# --- networking.gke.io/v1 ---------------------------------------------------------------------------------------
TARGET_REF = _object(
    {"group": GROUP, "kind": KIND, "name": OBJECT_NAME, "namespace": NAMESPACE}, ("group", "kind", "name")
)
PORT_SPECIFICATION = {"type": "string", "enum": ["USE_FIXED_PORT", "USE_NAMED_PORT", "USE_SERVING_PORT"]}
HTTP_HEALTH_CHECK = _object(
    {
        "host": {"type": "string", "maxLength": 2048, "pattern": DNS_SUBDOMAIN},
        "port": PORT,
        "portName": {"type": "string", "maxLength": 63, "pattern": "[a-z]([-a-z0-9]*[a-z0-9])?"},
        "portSpecification": PORT_SPECIFICATION,
        "proxyHeader": {"type": "string", "enum": ["NONE", "PROXY_V1"]},
        "requestPath": {"type": "string", "maxLength": 2048, "pattern": r"\/[A-Za-z0-9\/\-._~%!?$&'()*+,;=:]*$"},
        "response": {"type": "string", "maxLength": 1024},
    }
)
SECONDS = {"type": "integer", "minimum": 1, "maximum": 300}
THRESHOLD = {"type": "integer", "minimum": 1, "maximum": 10}

# --- inference.networking.k8s.io/v1, inference.networking.x-k8s.io/v1alpha2 ------------------------------------
LABEL_VALUE = {"type": "string", "maxLength": 63, "pattern": "^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$"}
POOL_PORT = _object({"number": PORT}, ("number",))

SPECS: dict[tuple[str, str], dict] = {
    (serving.GATEWAY_API, "Gateway"): _object(
        {
            "gatewayClassName": OBJECT_NAME,
            "listeners": _list(LISTENER, 64, 1),
            "addresses": _list(ADDRESS, 16),
        },
        ("gatewayClassName", "listeners"),
    ),
    (serving.GATEWAY_API, "HTTPRoute"): _object(
        {
            "parentRefs": _list(PARENT_REF, 32),
            "hostnames": _list(HOSTNAME, 16),
            "rules": _list(ROUTE_RULE, 16),
        }
    ),
    (serving.GKE_POLICY_API, "HealthCheckPolicy"): _object(
        {
            "targetRef": TARGET_REF,
            "default": _object(
                {
                    "checkIntervalSec": SECONDS,
                    "timeoutSec": SECONDS,
                    "healthyThreshold": THRESHOLD,
                    "unhealthyThreshold": THRESHOLD,
                    "logConfig": _object({"enabled": {"type": "boolean"}}),
                    "config": {
                        **_object(
                            {
                                "type": {"type": "string", "enum": ["TCP", "HTTP", "HTTPS", "HTTP2", "GRPC"]},
                                "httpHealthCheck": HTTP_HEALTH_CHECK,
                                "httpsHealthCheck": HTTP_HEALTH_CHECK,
                                "http2HealthCheck": HTTP_HEALTH_CHECK,
                            }
                        ),
                        "minProperties": 2,
                        "maxProperties": 2,
                    },
                }
            ),
        },
        ("targetRef",),
    ),
    (serving.GKE_POLICY_API, "GCPBackendPolicy"): _object(
        {
            "targetRef": TARGET_REF,
            "default": _object(
                {
                    "timeoutSec": {"type": "integer", "minimum": 1, "maximum": 2147483647},
                    "logging": _object(
                        {
                            "enabled": {"type": "boolean"},
                            "sampleRate": {"type": "integer", "minimum": 0, "maximum": 1000000},
                        }
                    ),
                    "connectionDraining": _object(
                        {"drainingTimeoutSec": {"type": "integer", "minimum": 0, "maximum": 3600}}
                    ),
                }
            ),
        },
        ("targetRef",),
    ),
    (serving.INFERENCE_POOL_API, "InferencePool"): _object(
        {
            "selector": _object(
                {
                    "matchLabels": {
                        "type": "object",
                        "minProperties": 1,
                        "maxProperties": 64,
                        "additionalProperties": LABEL_VALUE,
                    }
                },
                ("matchLabels",),
            ),
            "targetPorts": _list(POOL_PORT, 8, 1),
            "endpointPickerRef": _object(
                {
                    "group": GROUP,
                    "kind": KIND,
                    "name": OBJECT_NAME,
                    "port": POOL_PORT,
                    "failureMode": {"type": "string", "enum": ["FailOpen", "FailClose"]},
                },
                ("name",),
            ),
        },
        ("endpointPickerRef", "selector", "targetPorts"),
    ),
    (serving.INFERENCE_OBJECTIVE_API, "InferenceObjective"): _object(
        {
            "poolRef": _object({"group": GROUP, "kind": KIND, "name": OBJECT_NAME}, ("name",)),
            "priority": {"type": "integer"},
        },
        ("poolRef",),
    ),
}


def schema(api_version: str, kind: str) -> dict:
    """The JSON Schema of a whole namespaced object of ``kind`` (metadata as ObjectMeta)."""
    return _object(
        {
            "apiVersion": {"const": api_version},
            "kind": {"const": kind},
            "metadata": _object(
                {
                    "name": {"type": "string", "maxLength": 253, "pattern": DNS_SUBDOMAIN},
                    "namespace": NAMESPACE,
                    "labels": STRING_MAP,
                    "annotations": STRING_MAP,
                },
                ("name", "namespace"),
            ),
            "spec": SPECS[(api_version, kind)],
        },
        ("apiVersion", "kind", "metadata", "spec"),
    )


def _rule_problems(obj: dict) -> Iterator[str]:
    """The CRDs' CEL rules that apply to what gkeml writes."""
    kind, spec = obj["kind"], obj.get("spec") or {}
    if kind == "Gateway":
        listeners = spec.get("listeners") or []
        names = [listener["name"] for listener in listeners]
        if len(names) != len(set(names)):
            yield "listeners: Listener name must be unique within the Gateway"
        keys = [(x["port"], x["protocol"], x.get("hostname")) for x in listeners]
        if len(keys) != len(set(keys)):
            yield "listeners: Combination of port, protocol and hostname must be unique for each listener"
        for i, listener in enumerate(listeners):
            tls = listener.get("tls")
            if listener["protocol"] in ("HTTP", "TCP", "UDP") and tls is not None:
                yield f"listeners[{i}]: tls must not be specified for protocols ['HTTP', 'TCP', 'UDP']"
            if listener["protocol"] == "HTTPS" and tls is not None and tls.get("mode", "Terminate") != "Terminate":
                yield f"listeners[{i}]: tls mode must be Terminate for protocol HTTPS"
            terminates = tls is not None and tls.get("mode", "Terminate") == "Terminate"
            if terminates and not tls.get("certificateRefs") and not tls.get("options"):
                yield f"listeners[{i}].tls: certificateRefs or options must be specified when mode is Terminate"
    elif kind == "HTTPRoute":
        parents = [(p.get("group"), p.get("kind"), p.get("namespace"), p["name"]) for p in spec.get("parentRefs", [])]
        for parent in set(parents):
            same = [p for p, key in zip(spec.get("parentRefs", []), parents, strict=True) if key == parent]
            if len(same) > 1 and (
                not all(p.get("sectionName") for p in same) or len({p["sectionName"] for p in same}) < len(same)
            ):
                yield "parentRefs: sectionName must be specified and unique for 2 or more references to the same parent"
        for i, rule in enumerate(spec.get("rules", [])):
            types = [f["type"] for f in rule.get("filters", [])]
            if "RequestRedirect" in types and rule.get("backendRefs"):
                yield f"rules[{i}]: RequestRedirect filter must not be used together with backendRefs"
            for f in rule.get("filters", []):
                if (f["type"] == "RequestRedirect") != ("requestRedirect" in f):
                    yield f"rules[{i}].filters: filter.requestRedirect must be set exactly for RequestRedirect"
            for j, ref in enumerate(rule.get("backendRefs", [])):
                if ref.get("group", "") == "" and ref.get("kind", "Service") == "Service" and "port" not in ref:
                    yield f"rules[{i}].backendRefs[{j}]: Must have port for Service reference"
            for match in rule.get("matches", []):
                path = match.get("path") or {}
                if path.get("type", "PathPrefix") in ("Exact", "PathPrefix") and not path.get("value", "/").startswith(
                    "/"
                ):
                    yield f"rules[{i}].matches: value must be an absolute path and start with '/'"
    elif kind == "HealthCheckPolicy":
        default = spec.get("default") or {}
        if "timeoutSec" in default and default["timeoutSec"] > default.get("checkIntervalSec", 5):
            yield "default: timeOutSec cannot exceed checkIntervalSec (5 when unspecified)"
        config = default.get("config") or {}
        check_type = config.get("type")
        key = {"HTTP": "httpHealthCheck", "HTTPS": "httpsHealthCheck", "HTTP2": "http2HealthCheck"}.get(
            check_type or ""
        )
        if key and key not in config:
            yield f"default.config: {key} must be specified for type {check_type}"
        for name in ("httpHealthCheck", "httpsHealthCheck", "http2HealthCheck"):
            check = config.get(name)
            if check is None:
                continue
            specification = check.get("portSpecification", "USE_SERVING_PORT")
            if specification == "USE_FIXED_PORT" and ("port" not in check or "portName" in check):
                yield f"default.config.{name}: for USE_FIXED_PORT, port must be set and portName unset"
            if specification == "USE_SERVING_PORT" and ("port" in check or "portName" in check):
                yield f"default.config.{name}: port and portName must be unset for USE_SERVING_PORT (the default)"
    elif kind == "InferencePool":
        ports = [p["number"] for p in spec.get("targetPorts", [])]
        if len(ports) != len(set(ports)):
            yield "targetPorts: port number must be unique"
        picker = spec.get("endpointPickerRef") or {}
        if picker.get("kind", "Service") == "Service" and "port" not in picker:
            yield "endpointPickerRef: port is required when kind is 'Service' or unspecified"


def problems(obj: Any) -> list[str]:
    """Why the API server would refuse ``obj``; empty when it accepts it."""
    key = (obj.get("apiVersion"), obj.get("kind")) if isinstance(obj, dict) else None
    if key not in SPECS:
        return [f"not an object of a kind this file knows: {obj!r:.80}"]
    validator = jsonschema.Draft7Validator(schema(*key))  # type: ignore[misc]
    found = [f"{'.'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in validator.iter_errors(obj)]
    return found or list(_rule_problems(obj))
