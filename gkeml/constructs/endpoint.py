"""A public HTTPS host: global static IP and Google-managed certificate."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from constructs import Construct

from gkeml.framework import TerraformResourceLifecycle, google


@dataclass(frozen=True)
class EndpointProps:
    """One public host and the names of its static IP and certificate."""

    project: str
    host: str
    address_name: str
    certificate_name: str
    prevent_destroy: bool = False  # the IP is what DNS points at: losing it breaks the host


class PublicEndpoint(Construct):
    """A global static IPv4 address and a Compute managed SSL certificate for one host.

    The in-cluster layer's Ingress refers to both by NAME (the annotations
    ``platform.INGRESS_STATIC_IP_ANNOTATION`` and ``platform.INGRESS_PRE_SHARED_CERT_ANNOTATION``);
    see README, "Design decisions".
    """

    def __init__(self, scope: Construct, id: str, props: EndpointProps, *, depends_on: Sequence[Any] = ()):
        super().__init__(scope, id)
        ga, cert = google("compute_global_address"), google("compute_managed_ssl_certificate")
        self.props = props
        self.host = props.host
        self.address = ga.ComputeGlobalAddress(
            self, "ip", name=props.address_name, project=props.project,
            address_type="EXTERNAL", ip_version="IPV4", description=f"Ingress IP for {props.host}",
            lifecycle=TerraformResourceLifecycle(prevent_destroy=True) if props.prevent_destroy else None,
            depends_on=list(depends_on) or None,
        )
        self.certificate = cert.ComputeManagedSslCertificate(
            self, "cert", name=props.certificate_name, project=props.project,
            managed=cert.ComputeManagedSslCertificateManaged(domains=[props.host]),
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
            depends_on=list(depends_on) or None,
        )
