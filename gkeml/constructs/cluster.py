"""The hardened regional Autopilot cluster."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

from gkeml import platform
from gkeml.constructs.network import Network
from gkeml.framework import Construct, enable_secret_sync, google


@dataclass(frozen=True)
class MaintenanceExclusion:
    """A period (UTC) in which GKE must not upgrade, and what it holds back."""

    name: str
    start: datetime
    end: datetime
    scope: str


@dataclass(frozen=True)
class ClusterProps:
    """Everything the cluster construct needs, resolved by the stack from the environment."""

    project: str
    region: str
    name: str
    node_service_account: str  # email of the account the nodes run as (the bootstrap stack creates it)
    zones: tuple[str, ...]
    release_channel: str
    deletion_protection: bool
    maintenance_days: tuple[str, ...]
    maintenance_start: time
    maintenance_hours: int
    maintenance_exclusions: tuple[MaintenanceExclusion, ...] = ()
    public_endpoint: bool = False
    authorized_networks: tuple[tuple[str, str], ...] = ()  # (display name, CIDR)
    binary_authorization: bool = True  # enforce the project's policy (written by ImagePolicy)
    security_posture: str = "BASIC"
    cost_allocation: bool = True
    secret_sync: bool = False  # GKE copies Secret Manager secrets into Kubernetes Secrets (SecretSync objects)
    # Google Groups for RBAC: gke-security-groups@DOMAIN, whose member groups RBAC subjects may name
    security_group: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)


def _recurring_window(days: Sequence[str], hours: int, start: time) -> tuple[str, str, str]:
    """start_time, end_time and RRULE of the maintenance window (UTC, fixed reference date)."""
    begin = datetime(2026, 1, 1, start.hour, start.minute, tzinfo=UTC)
    end = begin + timedelta(hours=hours)
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    return begin.strftime(fmt), end.strftime(fmt), f"FREQ=WEEKLY;BYDAY={','.join(days)}"


class AutopilotCluster(Construct):
    """A regional GKE Autopilot cluster with private nodes.

    Secure defaults: private nodes; the control plane is reached through its
    DNS-based endpoint (IAM-authorised), the IP endpoint only when
    ``cluster.public_endpoint`` is set, then limited to the authorised networks;
    nodes run as a dedicated least-privilege service account (created before, by the
    environment's bootstrap stack: whoever applies this construct needs to act as that
    account, and no right to create or administer one; this grants it its project role); Binary
    Authorization (the project policy, see ImagePolicy) and security posture on; deletion
    protection, release channel and zones follow the environment config; with ``security_group``,
    Google Groups for RBAC (RoleBindings may name the groups nested in it).
    """

    def __init__(
        self, scope: Construct, id: str, props: ClusterProps, *, network: Network, depends_on: Sequence[Any] = ()
    ):
        super().__init__(scope, id)
        cc = google("container_cluster")
        c, project = props, props.project
        self.props = props

        pim = google("project_iam_member")
        self.node_service_account = props.node_service_account
        node_role = pim.ProjectIamMember(
            self,
            "nodes-role",
            project=project,
            role=platform.NODE_SERVICE_ACCOUNT_ROLE,
            member=f"serviceAccount:{props.node_service_account}",
            depends_on=list(depends_on) or None,
        )

        start, end, rrule = _recurring_window(c.maintenance_days, c.maintenance_hours, c.maintenance_start)
        exclusions = [
            cc.ContainerClusterMaintenancePolicyMaintenanceExclusion(
                exclusion_name=x.name,
                start_time=x.start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                end_time=x.end.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                exclusion_options=cc.ContainerClusterMaintenancePolicyMaintenanceExclusionExclusionOptions(
                    scope=x.scope
                ),
            )
            for x in c.maintenance_exclusions
        ]
        self.name = props.name
        self.location = props.region
        self.cluster = cc.ContainerCluster(
            self,
            "cluster",
            name=props.name,
            project=project,
            location=props.region,
            node_locations=list(c.zones),
            enable_autopilot=True,
            # Autopilot's default, made explicit so scanners (checkov) and reviewers see it.
            # (Intranode visibility is on by default on Autopilot and the provider refuses the
            # field together with enable_autopilot, so it is not set.)
            master_auth=cc.ContainerClusterMasterAuth(
                client_certificate_config=cc.ContainerClusterMasterAuthClientCertificateConfig(
                    issue_client_certificate=False
                )
            ),
            network=network.vpc.id,
            subnetwork=network.subnet.id,
            ip_allocation_policy=cc.ContainerClusterIpAllocationPolicy(
                cluster_secondary_range_name=network.pods_range,
                services_secondary_range_name=network.services_range,
            ),
            private_cluster_config=cc.ContainerClusterPrivateClusterConfig(enable_private_nodes=True),
            control_plane_endpoints_config=cc.ContainerClusterControlPlaneEndpointsConfig(
                dns_endpoint_config=cc.ContainerClusterControlPlaneEndpointsConfigDnsEndpointConfig(
                    allow_external_traffic=True
                ),
                ip_endpoints_config=cc.ContainerClusterControlPlaneEndpointsConfigIpEndpointsConfig(
                    enabled=c.public_endpoint
                ),
            ),
            master_authorized_networks_config=cc.ContainerClusterMasterAuthorizedNetworksConfig(
                cidr_blocks=[
                    cc.ContainerClusterMasterAuthorizedNetworksConfigCidrBlocks(cidr_block=cidr, display_name=name)
                    for name, cidr in c.authorized_networks
                ],
                gcp_public_cidrs_access_enabled=False,
            )
            if c.public_endpoint
            else None,
            release_channel=cc.ContainerClusterReleaseChannel(channel=c.release_channel),
            maintenance_policy=cc.ContainerClusterMaintenancePolicy(
                recurring_window=cc.ContainerClusterMaintenancePolicyRecurringWindow(
                    start_time=start, end_time=end, recurrence=rrule
                ),
                maintenance_exclusion=exclusions or None,
            ),
            deletion_protection=c.deletion_protection,
            binary_authorization=cc.ContainerClusterBinaryAuthorization(
                evaluation_mode="PROJECT_SINGLETON_POLICY_ENFORCE"
            )
            if c.binary_authorization
            else None,
            security_posture_config=cc.ContainerClusterSecurityPostureConfig(
                # workload vulnerability scanning in GKE is deprecated (VULNERABILITY_BASIC and
                # _ENTERPRISE are "no longer supported"): images are scanned by Artifact Analysis
                mode=c.security_posture,
                vulnerability_mode="VULNERABILITY_DISABLED",
            ),
            cost_management_config=cc.ContainerClusterCostManagementConfig(enabled=c.cost_allocation),
            gateway_api_config=cc.ContainerClusterGatewayApiConfig(channel=platform.GATEWAY_API_CHANNEL),
            workload_identity_config=cc.ContainerClusterWorkloadIdentityConfig(
                workload_pool=platform.workload_identity_pool(project)
            ),
            cluster_autoscaling=cc.ContainerClusterClusterAutoscaling(
                auto_provisioning_defaults=cc.ContainerClusterClusterAutoscalingAutoProvisioningDefaults(
                    service_account=props.node_service_account,
                    oauth_scopes=["https://www.googleapis.com/auth/cloud-platform"],
                )
            ),
            # the Secret Manager add-on installs SecretProviderClass (secrets-store.csi.x-k8s.io) and its
            # provider "gke"; secret sync reads through it (cloud.google.com/secret-manager/docs/sync-k8-secrets)
            secret_manager_config=cc.ContainerClusterSecretManagerConfig(enabled=True) if c.secret_sync else None,
            # an update in place on an existing cluster (google v7.33 resource_container_cluster.go: not ForceNew,
            # UpdateCluster desiredAuthenticatorGroupsConfig); Optional+Computed, so leaving it out later keeps it
            authenticator_groups_config=cc.ContainerClusterAuthenticatorGroupsConfig(security_group=c.security_group)
            if c.security_group
            else None,
            resource_labels=dict(c.labels),
            depends_on=[node_role, *depends_on],
        )
        if c.secret_sync:
            enable_secret_sync(self.cluster, platform.SECRET_SYNC_ROTATION_INTERVAL)
