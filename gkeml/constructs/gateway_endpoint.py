"""A public HTTPS host on GKE's Gateway: a static IP and Google-managed Certificate Manager certificates authorized
by DNS (a certificate map for a global Gateway; regional certificates for a regional one)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gkeml import platform_serving as serving
from gkeml.framework import Construct, TerraformResourceLifecycle, google


@dataclass(frozen=True)
class GatewayEndpointProps:
    """One endpoint's Gateway resources: where (``region`` set: regional, for GKE Inference Gateway; else global),
    its static IP's name, a certificate (and DNS authorization) name per host it keeps one for, and, for a global
    Gateway, its certificate map and an entry per host it serves."""

    project: str
    exposure: str
    address_name: str
    certificates: tuple[tuple[str, str], ...]  # (host, certificate name), the current host first
    region: str | None = None
    certificate_map: str | None = None
    map_entries: tuple[tuple[str, str], ...] = ()  # (host, entry name): the hosts the Gateway serves
    prevent_destroy: bool = False


def _hash_of(name: str) -> str:
    """Construct ids keyed by the certificate (its host's hash), never by position, so a host that moves keeps
    its resources at the same addresses until it is removed."""
    return name.rsplit("-", 1)[-1]


class GatewayEndpoint(Construct):
    """The cloud side of an endpoint served by a Gateway of the in-cluster layer, which names these by NAME
    (:mod:`gkeml.manifests.gateway`): a static IP (global, or regional in the Standard tier a regional external
    Application Load Balancer needs) and, per host, a Certificate Manager DNS authorization and a Google-managed
    certificate it authorizes. DNS authorization is what makes a move with no outage possible: the certificate
    becomes ACTIVE once the authorization's CNAME resolves, before any A record points at the new IP (a
    load-balancer authorization, like a Compute managed SSL certificate, needs the A record first). A global
    Gateway takes its certificates through a certificate map (one entry per host); a regional one names the
    regional certificates in its listener."""

    def __init__(self, scope: Construct, id: str, props: GatewayEndpointProps, *, depends_on: Sequence[Any] = ()):
        super().__init__(scope, id)
        self.props = props
        deps = list(depends_on) or None
        lifecycle = TerraformResourceLifecycle(prevent_destroy=True) if props.prevent_destroy else None
        location = props.region or serving.GLOBAL_LOCATION
        what = f"Gateway IP of {props.certificates[0][0]} ({props.exposure})"
        if props.region:
            self.address: Any = google("compute_address").ComputeAddress(
                self,
                "ip",
                name=props.address_name,
                project=props.project,
                region=props.region,
                address_type="EXTERNAL",
                network_tier=serving.REGIONAL_LB_NETWORK_TIER,
                description=what,
                lifecycle=lifecycle,
                depends_on=deps,
            )
        else:
            self.address = google("compute_global_address").ComputeGlobalAddress(
                self,
                "ip",
                name=props.address_name,
                project=props.project,
                address_type="EXTERNAL",
                ip_version="IPV4",
                description=what,
                lifecycle=lifecycle,
                depends_on=deps,
            )
        auth = google("certificate_manager_dns_authorization")
        cert = google("certificate_manager_certificate")
        self.authorizations: dict[str, Any] = {}
        self.certificates: dict[str, Any] = {}
        for host, name in props.certificates:
            self.authorizations[host] = auth.CertificateManagerDnsAuthorization(
                self,
                f"auth-{_hash_of(name)}",
                name=name,
                project=props.project,
                location=location,
                domain=host,
                type=serving.DNS_AUTHORIZATION_TYPE,
                description=f"{host}: DNS authorization of its Gateway certificate",
                depends_on=deps,
            )
            self.certificates[host] = cert.CertificateManagerCertificate(
                self,
                f"cert-{_hash_of(name)}",
                name=name,
                project=props.project,
                location=location,
                description=f"{host} ({props.exposure})",
                managed=cert.CertificateManagerCertificateManaged(
                    domains=[host], dns_authorizations=[self.authorizations[host].id]
                ),
                depends_on=deps,
            )
        self.certificate_map = None
        self.map_entries: dict[str, Any] = {}
        if props.certificate_map:
            cmap = google("certificate_manager_certificate_map")
            entry = google("certificate_manager_certificate_map_entry")
            self.certificate_map = cmap.CertificateManagerCertificateMap(
                self,
                "map",
                name=props.certificate_map,
                project=props.project,
                description=f"certificates of {props.certificates[0][0]}'s Gateway",
                depends_on=deps,
            )
            for host, name in props.map_entries:
                self.map_entries[host] = entry.CertificateManagerCertificateMapEntry(
                    self,
                    f"entry-{_hash_of(name)}",
                    name=name,
                    project=props.project,
                    map=self.certificate_map.name,
                    hostname=host,
                    certificates=[self.certificates[host].id],
                )

    def dns_record(self, host: str) -> tuple[Any, Any, Any]:
        """(name, type, data) of the CNAME record that authorizes ``host``'s certificate (known after apply)."""
        record = self.authorizations[host].dns_resource_record.get(0)
        return record.name, record.type, record.data
