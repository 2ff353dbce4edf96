"""How an endpoint's hosts reach its inference service, and how an endpoint moves from one way to another.

Three ways (``endpoints[].exposure``; docs/serving.md says when to choose which):

- ``ingress``: GKE Ingress, a global external Application Load Balancer with a global static IP and Compute managed
  SSL certificates (the path gkeml has always had);
- ``gateway``: GKE's Gateway (class gke-l7-global-external-managed) with its own global static IP and Google-managed
  Certificate Manager certificates in a certificate map, authorized by DNS, and an HTTPRoute per service;
- ``inference-gateway``: GKE Inference Gateway, a regional Gateway (gke-l7-regional-external-managed, Standard tier
  IP, the region's proxy-only subnet, regional Certificate Manager certificates) that routes to an InferencePool,
  whose endpoint picker sends each request to the model server best placed to serve it (queue, KV cache, prefix).

Each way has its own static IP: one address serves one load balancer, so a move between two ways cannot hand an
address over. ``endpoints[].migration`` moves an endpoint with no outage, one deploy per step, the way a host move
keeps the old host (``previous_hosts``) while the new one's certificate provisions:

1. ``serve-both``: the new way comes up beside the old one (its IP, its certificates, authorized by DNS before
   any traffic reaches it); DNS still points at the old way.
2. ``dns-moved``: DNS points at the new way; the old one still answers the clients that resolved its address.
3. ``retired``: the old way serves nothing; its static IP and certificates stay until its load balancer has let
   them go (the cloud stack is applied first, and GCP refuses to delete what a load balancer still uses).
4. (``migration`` removed): the old way's IP and certificates are deleted.

``gkeml check --against REF`` refuses a change that skips a step (CHG005, CHG006 in
:mod:`gkeml.lifecycle.transitions`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator

from gkeml import platform_serving as serving
from gkeml.config.base import ByteSize, DnsLabel, Int32, Problem, Quantity, Strict, at

if TYPE_CHECKING:
    from gkeml.config.model import Endpoint, Environment, Inference

INGRESS, GATEWAY, INFERENCE_GATEWAY = "ingress", "gateway", "inference-gateway"
EXPOSURES = (INGRESS, GATEWAY, INFERENCE_GATEWAY)
Exposure = Literal["ingress", "gateway", "inference-gateway"]
MigrationStep = Literal["serve-both", "dns-moved", "retired"]
MIGRATION_STEPS: tuple[MigrationStep, ...] = ("serve-both", "dns-moved", "retired")
# The ways that are Gateways (GKE's Gateway controller, Certificate Manager), and which of them is regional.
GATEWAY_EXPOSURES = (GATEWAY, INFERENCE_GATEWAY)
REGIONAL_EXPOSURES = (INFERENCE_GATEWAY,)
ModelServer = Literal["vllm", "sglang", "triton-tensorrt-llm", "trtllm-serve"]


class ExposureMigration(Strict):
    """A move of the endpoint from another way of exposure to ``exposure``, one deploy per step (docs/serving.md):
    serve-both, then dns-moved, then retired, then remove ``migration``."""

    previous: Exposure = Field(description="The way the endpoint moves from: ingress, gateway or inference-gateway.")
    step: MigrationStep = Field(
        description="serve-both: the new way comes up beside the previous one, DNS still points at the previous "
        "one; dns-moved: DNS points at the new way, the previous one still answers clients that resolved its "
        "address; retired: the previous way serves nothing, its static IP and certificates are kept until a later "
        "deploy removes `migration`."
    )


class InferenceObjective(Strict):
    """A serving objective of the model: requests naming it (header x-gateway-inference-objective) are queued and
    served by its priority when the pool is saturated."""

    name: DnsLabel
    priority: int = Field(
        0,
        ge=-(2**31),
        le=2**31 - 1,
        description="Higher is served first when requests queue; negative values are allowed; requests without "
        "an objective run at 0.",
    )


class EndpointPicker(Strict):
    """The endpoint picker (EPP) of the service's InferencePool: the load balancer asks it where to send each
    request."""

    cpu: Quantity = Field(
        serving.EPP_DEFAULT_CPU,
        description="vCPU per replica (the upstream chart's request, sized at high QPS; a test environment needs "
        "far less).",
    )
    memory: ByteSize = Field(serving.EPP_DEFAULT_MEMORY, description="Memory per replica, with a unit.")
    replicas: Int32 = Field(
        1,
        ge=1,
        le=5,
        description="Replicas; more than one elect a leader. With the picker down the load balancer still "
        "routes (failure mode FailOpen), without model awareness.",
    )


class InferenceGatewayConfig(Strict):
    """GKE Inference Gateway for this service (its endpoint's exposure is inference-gateway): an InferencePool over
    its pods, with an endpoint picker that reads the model server's metrics, and its serving objectives."""

    model_server: ModelServer = Field(
        "vllm",
        description="The model server the pods run, whose metrics the picker reads: vllm, sglang, "
        "triton-tensorrt-llm or trtllm-serve.",
    )
    objectives: list[InferenceObjective] = Field(
        default_factory=list, description="InferenceObjectives of the pool (priority per request class)."
    )
    picker: EndpointPicker = Field(default_factory=EndpointPicker)

    @model_validator(mode="after")
    def _unique(self) -> InferenceGatewayConfig:
        seen: set[str] = set()
        for i, objective in enumerate(self.objectives):
            if objective.name in seen:
                raise at(f"objectives.{i}.name", f"objective {objective.name!r} is listed twice")
            seen.add(objective.name)
        return self


# --- the ways an endpoint is served, kept and pointed at ---------------------------------------------------


def served_exposures(endpoint: Endpoint) -> list[str]:
    """The ways the endpoint serves now (their in-cluster objects exist): its exposure, and the previous way while
    a migration has not retired it; none once the endpoint is retired."""
    if endpoint.retired:
        return []
    served: list[str] = [endpoint.exposure]
    move = endpoint.migration
    if move is not None and move.step != "retired":
        served.append(move.previous)
    return served


def kept_exposures(endpoint: Endpoint) -> list[str]:
    """The ways whose static IP and certificates the cloud layer keeps: its exposure, and the previous way until
    the migration is removed."""
    kept: list[str] = [endpoint.exposure]
    if endpoint.migration is not None:
        kept.append(endpoint.migration.previous)
    return kept


def dns_exposure(endpoint: Endpoint) -> str:
    """The way the hosts' A records point at: the previous one during a migration's first step, else the
    endpoint's exposure (a retired endpoint's records keep pointing at its IP until it is removed)."""
    move = endpoint.migration
    if move is not None and move.step == "serve-both":
        return move.previous
    return endpoint.exposure


def uses_exposure(env: Environment, exposure: str) -> bool:
    """Whether any endpoint of ``env`` keeps resources of ``exposure``."""
    return any(exposure in kept_exposures(e) for e in env.endpoints)


def inference_gateway_of(env: Environment, svc: Inference) -> InferenceGatewayConfig | None:
    """The Inference Gateway settings of ``svc`` when its endpoint serves through GKE Inference Gateway (the
    service's own, else the defaults), or None."""
    if not svc.endpoint:
        return None
    endpoint = next((e for e in env.endpoints if e.name == svc.endpoint), None)
    if endpoint is None or INFERENCE_GATEWAY not in served_exposures(endpoint):
        return None
    return svc.inference_gateway or InferenceGatewayConfig()


# --- checks across sections (registered in gkeml.config.checks.MODEL_CHECKS) -----------------------------------


def _migrations(env: Environment) -> Iterator[Problem]:
    for i, e in enumerate(env.endpoints):
        move = e.migration
        if move is None:
            continue
        if move.previous == e.exposure:
            yield (
                ("endpoints", i, "migration", "previous"),
                f"the endpoint already serves through {e.exposure}; previous names the way it moves FROM "
                f"(one of {', '.join(x for x in EXPOSURES if x != e.exposure)}), or remove migration",
            )
        if e.retired:
            yield (
                ("endpoints", i, "migration"),
                "a retired endpoint serves nothing and moves nowhere; finish the migration first, or remove it",
            )


def _proxy_only_subnet(env: Environment) -> Iterator[Problem]:
    if env.network.proxy_only_cidr is not None:
        return
    for i, e in enumerate(env.endpoints):
        regional = [x for x in kept_exposures(e) if x in REGIONAL_EXPOSURES]
        if regional:
            field = ("exposure",) if e.exposure in REGIONAL_EXPOSURES else ("migration", "previous")
            yield (
                ("endpoints", i, *field),
                f"{regional[0]} runs a regional load balancer, whose proxies take their addresses from the region's "
                f"proxy-only subnet: set network.proxy_only_cidr (a /{serving.PROXY_ONLY_SUBNET_MAX_PREFIX} or "
                "larger, e.g. a /23, that no other range overlaps)",
            )
            return


def _services(env: Environment) -> Iterator[Problem]:
    """One service per endpoint (its load balancer and routes are the service's), and Inference Gateway settings
    only on a service whose endpoint serves through it."""
    exposed: dict[str, int] = {}
    endpoints = {e.name: e for e in env.endpoints}
    for i, svc in enumerate(env.inference):
        if svc.endpoint:
            if svc.endpoint in exposed:
                yield (
                    ("inference", i, "endpoint"),
                    f"endpoint {svc.endpoint!r} already exposes inference[{exposed[svc.endpoint]}]; an endpoint "
                    "(its static IP, certificates and load balancer) serves one service: give this one its own",
                )
            exposed.setdefault(svc.endpoint, i)
        if svc.inference_gateway is None:
            continue
        endpoint = endpoints.get(svc.endpoint or "")
        if endpoint is None or INFERENCE_GATEWAY not in served_exposures(endpoint):
            where = f"endpoint {svc.endpoint!r}" if svc.endpoint else "the service, which has no endpoint,"
            yield (
                ("inference", i, "inference_gateway"),
                f"{where} does not serve through GKE Inference Gateway; set the endpoint's exposure: "
                "inference-gateway, or remove inference_gateway",
            )


EXPOSURE_CHECKS = (_migrations, _proxy_only_subnet, _services)
