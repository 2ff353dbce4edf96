"""Which project APIs an environment needs enabled: the platform's own (:data:`gkeml.platform.PROJECT_APIS`)
and those its configured services and its extensions add. The bootstrap stack enables all of them, minutes to days before the
first deploy (an API enabled in the same apply as its first user may still answer SERVICE_DISABLED: fact
TF006); the cloud stack declares the same ones again, which changes nothing once they are on."""

from __future__ import annotations

from gkeml import platform
from gkeml import platform_serving as serving
from gkeml.config.exposure import GATEWAY_EXPOSURES, INFERENCE_GATEWAY, uses_exposure
from gkeml.config.model import Environment


def service_apis(env: Environment) -> tuple[str, ...]:
    """The project APIs the configured services need beyond :data:`gkeml.platform.PROJECT_APIS`."""
    apis = []
    if (
        env.upgrade_notices.enabled
        or any(c.pubsub for c in env.monitoring.channels)
        or (env.budget is not None and env.budget.pubsub)
    ):
        apis.append(platform.PUBSUB_API)  # the topics of notices, channels and budget updates
    if env.registry is not None and env.registry.vulnerability_scanning:
        apis.append(platform.CONTAINER_SCANNING_API)
    if env.dns is not None:
        apis.append(platform.DNS_API)
    if env.budget is not None:
        apis.append(platform.BILLING_BUDGETS_API)
    return tuple(apis)


def exposure_apis(env: Environment) -> tuple[str, ...]:
    """The project APIs the endpoints' ways of exposure need (gkeml.config.exposure), declared by the cloud stack
    with the Gateways' resources (gkeml.stacks.exposure)."""
    apis = []
    if any(uses_exposure(env, way) for way in GATEWAY_EXPOSURES):  # the Gateways' certificates and maps
        apis.append(serving.CERTIFICATE_MANAGER_API)
    if uses_exposure(env, INFERENCE_GATEWAY):  # GKE configures the endpoint picker as a Service Extension there
        apis.append(serving.NETWORK_SERVICES_API)
    return tuple(apis)


def own_extension_apis(env: Environment) -> tuple[str, ...]:
    """The project APIs the extensions of ``env`` need that neither the platform nor its services enable."""
    from gkeml.config.extensions import extension_apis

    known = set(platform.PROJECT_APIS) | set(service_apis(env)) | set(exposure_apis(env))
    return tuple(api for api in extension_apis(env) if api not in known)


def project_apis(env: Environment | None) -> tuple[str, ...]:
    """Every API the environment's stacks use (the platform's alone without an environment): the platform's,
    its services' and its extensions'."""
    if env is None:
        return platform.PROJECT_APIS
    return platform.PROJECT_APIS + service_apis(env) + exposure_apis(env) + own_extension_apis(env)
