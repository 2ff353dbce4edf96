"""The cloud layer of one environment: the stack named exactly ``<env>``."""

from __future__ import annotations

from constructs import Construct

from gkeml.config.model import Environment
from gkeml.constructs import (
    AccessLogBucket, AutopilotCluster, Bucket, Network, ProjectServices, PublicEndpoint, Secret, WorkloadIdentity,
)
from gkeml.framework import GcsBackend, TerraformOutput, TerraformStack, google
from gkeml.naming import Names


class CloudStack(TerraformStack):
    """Project APIs, network, Autopilot cluster, Workload Identity, buckets, public
    endpoints and secrets of one environment. ``cdktf deploy <env>`` applies it alone."""

    def __init__(self, scope: Construct, env: Environment):
        names = Names(env)
        super().__init__(scope, names.cloud_stack)
        self.env = env
        GcsBackend(self, bucket=env.state.bucket, prefix=names.state_prefix(names.cloud_stack))
        google("provider").GoogleProvider(
            self, "google", project=env.project.id, region=env.project.region,
            default_labels={**env.project.labels, "managed-by": "gkeml", "gkeml-env": env.name},
        )
        apis = ProjectServices(self, "apis", project=env.project.id).services
        self.network = Network(self, "network", env, depends_on=apis)
        self.cluster = AutopilotCluster(self, "cluster", env, network=self.network, depends_on=apis)
        access_logs = AccessLogBucket(self, "access-logs", env, depends_on=apis)
        self.buckets = {
            b.name: Bucket(self, f"bucket-{b.name}", env, b, access_logs=access_logs, depends_on=apis)
            for b in env.buckets
        }
        self.secrets = {s.name: Secret(self, f"secret-{s.name}", env, s.name, depends_on=apis) for s in env.secrets}
        self.identities: dict[str, WorkloadIdentity] = {}
        for ident in env.identities:
            wi = WorkloadIdentity(self, f"wi-{ident.name}", env, ident, depends_on=apis)
            self.identities[ident.name] = wi
            for name in ident.reads:
                self.buckets[name].grant_read(wi)
            for name in ident.writes:
                self.buckets[name].grant_write(wi)
            for name in ident.secrets:
                self.secrets[name].grant_access(wi)
        self.endpoints = {
            e.name: PublicEndpoint(self, f"endpoint-{e.name}", env, e, depends_on=apis) for e in env.endpoints
        }
        self._outputs()

    def _outputs(self) -> None:
        c = self.cluster.cluster
        TerraformOutput(self, "cluster_name", value=c.name)
        TerraformOutput(self, "cluster_location", value=c.location)
        TerraformOutput(
            self, "cluster_dns_endpoint",
            value=c.control_plane_endpoints_config.dns_endpoint_config.endpoint,
            description="kubectl / providers: https://<this> with a Google access token",
        )
        TerraformOutput(self, "buckets", value={k: b.bucket.name for k, b in self.buckets.items()})
        TerraformOutput(self, "static_ips", value={k: e.address.address for k, e in self.endpoints.items()},
                        description="Point each host's DNS A record here")
        TerraformOutput(self, "certificates", value={k: e.certificate.name for k, e in self.endpoints.items()})
        TerraformOutput(
            self, "google_service_accounts",
            value={k: wi.service_account.email for k, wi in self.identities.items() if wi.service_account},
        )
        TerraformOutput(self, "secrets", value={k: s.secret.secret_id for k, s in self.secrets.items()})
