"""A public HTTPS host: global static IP and Google-managed certificates."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gkeml.framework import Construct, TerraformResourceLifecycle, google


@dataclass(frozen=True)
class EndpointProps:
    """One public endpoint: its static IP's name and a certificate name per host it keeps one for
    (the host, and hosts it is moving from)."""

    project: str
    host: str
    address_name: str
    certificates: tuple[tuple[str, str], ...]  # (host, certificate name), the current host first
    prevent_destroy: bool = False  # the IP is what DNS points at: losing it breaks the host


def certificate_id(host: str, name: str) -> str:
    """Construct id of a host's certificate: keyed by the certificate (the host's hash), never by
    position, so a host that moves keeps its certificate at the same address until it is removed."""
    return f"cert-{name.rsplit('-', 1)[-1]}"


class PublicEndpoint(Construct):
    """A global static IPv4 address and a Compute managed SSL certificate per host.

    The in-cluster layer's Ingress refers to both by NAME (the annotations
    ``platform.INGRESS_STATIC_IP_ANNOTATION`` and ``platform.INGRESS_PRE_SHARED_CERT_ANNOTATION``);
    see README, "Design decisions". A certificate is removed only when its host leaves the
    endpoint's config, which ``gkeml check --against`` allows only once the deployed Ingress no
    longer uses it (the cloud stack is applied first and GCP refuses to delete a certificate in use).
    """

    def __init__(self, scope: Construct, id: str, props: EndpointProps, *, depends_on: Sequence[Any] = ()):
        super().__init__(scope, id)
        ga, cert = google("compute_global_address"), google("compute_managed_ssl_certificate")
        self.props = props
        self.host = props.host
        self.address = ga.ComputeGlobalAddress(
            self,
            "ip",
            name=props.address_name,
            project=props.project,
            address_type="EXTERNAL",
            ip_version="IPV4",
            description=f"Ingress IP for {props.host}",
            # Every argument of a global address is ForceNew (terraform-provider-google, compute/
            # resource_compute_global_address.go: no update), so a new description would replace the IP, which
            # GCP refuses while the Ingress uses it: the description stays the one of the host it was made for
            lifecycle=TerraformResourceLifecycle(
                prevent_destroy=props.prevent_destroy or None, ignore_changes=["description"]
            ),
            depends_on=list(depends_on) or None,
        )
        self.certificates = {
            host: cert.ComputeManagedSslCertificate(
                self,
                certificate_id(host, name),
                name=name,
                project=props.project,
                managed=cert.ComputeManagedSslCertificateManaged(domains=[host]),
                depends_on=list(depends_on) or None,
            )
            for host, name in props.certificates
        }

    @property
    def certificate(self) -> Any:
        """The certificate of the current host."""
        return self.certificates[self.host]
