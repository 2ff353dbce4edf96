"""A public HTTPS host: global static IP and Google-managed certificate."""

from __future__ import annotations

from constructs import Construct

from gkeml.config.model import Endpoint, Environment
from gkeml.framework import TerraformResourceLifecycle, google
from gkeml.naming import Names


class PublicEndpoint(Construct):
    """A global static IPv4 address and a Compute managed SSL certificate for one host.

    The in-cluster layer's Ingress refers to both by NAME (the annotations
    ``platform.INGRESS_STATIC_IP_ANNOTATION`` and ``platform.INGRESS_PRE_SHARED_CERT_ANNOTATION``);
    see README, "Design decisions".
    The certificate is created before its predecessor is destroyed, so a host
    change never leaves the load balancer without one.
    """

    def __init__(self, scope: Construct, id: str, env: Environment, endpoint: Endpoint,
                 *, depends_on: list | None = None):
        super().__init__(scope, id)
        names = Names(env)
        ga, cert = google("compute_global_address"), google("compute_managed_ssl_certificate")
        self.host = endpoint.host
        self.address = ga.ComputeGlobalAddress(
            self, "ip", name=names.address(endpoint.name), project=env.project.id,
            address_type="EXTERNAL", ip_version="IPV4", description=f"Ingress IP for {endpoint.host}",
            depends_on=depends_on,
        )
        self.certificate = cert.ComputeManagedSslCertificate(
            self, "cert", name=names.certificate(endpoint.name), project=env.project.id,
            managed=cert.ComputeManagedSslCertificateManaged(domains=[endpoint.host]),
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
            depends_on=depends_on,
        )
