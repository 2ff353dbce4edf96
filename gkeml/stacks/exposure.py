"""The cloud side of the endpoints served by GKE's Gateway (``exposure: gateway`` or ``inference-gateway``, and the
previous way of a migration): added to the ``<env>`` stack by :class:`gkeml.stacks.cloud.CloudStack`; the DNS
records (A records at the way DNS points at, the CNAMEs of the DNS authorizations) by
:func:`gkeml.stacks.services.add_platform_services`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gkeml.config.apis import exposure_apis
from gkeml.config.exposure import GATEWAY_EXPOSURES, REGIONAL_EXPOSURES, kept_exposures, served_exposures
from gkeml.config.model import Endpoint, Environment
from gkeml.constructs import PublicEndpoint
from gkeml.constructs.gateway_endpoint import GatewayEndpoint, GatewayEndpointProps
from gkeml.constructs.project_services import ProjectServices
from gkeml.framework import TerraformOutput
from gkeml.naming import GATEWAY_TAGS, Names


def gateway_endpoint_id(endpoint: str, exposure: str) -> str:
    """Construct id of an endpoint's Gateway resources, one per way (both exist during a migration)."""
    return f"endpoint-{endpoint}-{GATEWAY_TAGS[exposure]}"


def gateway_props(env: Environment, names: Names, e: Endpoint, exposure: str) -> GatewayEndpointProps:
    """The Gateway resources of way ``exposure`` of endpoint ``e``."""
    regional = exposure in REGIONAL_EXPOSURES
    served = exposure in served_exposures(e)
    return GatewayEndpointProps(
        project=env.project.id,
        exposure=exposure,
        address_name=names.gateway_address(e.name, exposure),
        certificates=tuple((h, names.gateway_certificate(e.name, exposure, h)) for h in e.certificate_hosts),
        region=env.project.region if regional else None,
        certificate_map=None if regional else names.certificate_map(e.name),
        map_entries=()
        if regional or not served
        else tuple((h, names.certificate_map_entry(e.name, h)) for h in e.served_hosts),
        prevent_destroy=env.protected,
    )


def add_gateway_endpoints(
    stack: Any, env: Environment, names: Names, *, depends_on: Sequence[Any] = ()
) -> dict[tuple[str, str], GatewayEndpoint]:
    """The Gateway resources of every endpoint, by (endpoint, way), for each Gateway way it keeps, after the APIs
    they need (declared here: the bootstrap enabled them, fact TF006)."""
    own = exposure_apis(env)
    if own:
        depends_on = [
            *depends_on,
            *ProjectServices(stack, "exposure-apis", project=env.project.id, services=own).services,
        ]
    gateways = {
        (e.name, way): GatewayEndpoint(
            stack, gateway_endpoint_id(e.name, way), gateway_props(env, names, e, way), depends_on=depends_on
        )
        for e in env.endpoints
        for way in kept_exposures(e)
        if way in GATEWAY_EXPOSURES
    }
    if gateways:
        TerraformOutput(
            stack,
            "gateway_ips",
            value={f"{name}/{way}": g.address.address for (name, way), g in gateways.items()},
            description="The static IP of each endpoint's Gateway (endpoint/way)",
        )
        TerraformOutput(
            stack,
            "dns_authorizations",
            value={
                f"{host} ({way})": g.authorizations[host].dns_resource_record
                for (name, way), g in gateways.items()
                for host in g.authorizations
            },
            description="The CNAME record that authorizes each host's Gateway certificate: gkeml writes it in "
            "dns.zone when the zone holds the host; add the others at the host's DNS provider",
        )
    return gateways


def address_of(
    e: Endpoint,
    exposure: str,
    endpoints: Mapping[str, PublicEndpoint],
    gateways: Mapping[tuple[str, str], GatewayEndpoint],
) -> Any:
    """The address attribute of way ``exposure`` of endpoint ``e``: its Gateway's (by endpoint and way) or its
    Ingress's (by endpoint)."""
    if exposure in GATEWAY_EXPOSURES:
        return gateways[(e.name, exposure)].address.address
    return endpoints[e.name].address.address
