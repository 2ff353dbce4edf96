"""VPC, regional subnet with Pod and Service ranges, Cloud Router and Cloud NAT."""

from __future__ import annotations

from constructs import Construct

from gkeml.config.model import Environment
from gkeml.framework import google
from gkeml.naming import Names


class Network(Construct):
    """A custom-mode VPC for one cluster.

    The subnet carries the secondary ranges Autopilot uses for Pods and
    Services and has Private Google Access on, so private nodes reach Google
    APIs without a public IP; Cloud NAT gives them egress to the internet
    (image pulls from registries outside Google). Denied ingress is logged."""

    def __init__(self, scope: Construct, id: str, env: Environment, *, depends_on: list | None = None):
        super().__init__(scope, id)
        names, net, project = Names(env), env.network, env.project.id
        region = env.project.region
        cn, cs = google("compute_network"), google("compute_subnetwork")
        cr, nat = google("compute_router"), google("compute_router_nat")
        fw = google("compute_firewall")
        self.pods_range = names.pods_range
        self.services_range = names.services_range
        self.vpc = cn.ComputeNetwork(
            self, "vpc", name=names.network, project=project, auto_create_subnetworks=False,
            routing_mode="REGIONAL", delete_default_routes_on_create=False, depends_on=depends_on,
        )
        self.subnet = cs.ComputeSubnetwork(
            self, "subnet", name=names.subnet, project=project, region=region, network=self.vpc.id,
            ip_cidr_range=str(net.subnet_cidr), private_ip_google_access=True,
            secondary_ip_range=[
                cs.ComputeSubnetworkSecondaryIpRange(range_name=self.pods_range, ip_cidr_range=str(net.pods_cidr)),
                cs.ComputeSubnetworkSecondaryIpRange(
                    range_name=self.services_range, ip_cidr_range=str(net.services_cidr)
                ),
            ],
            log_config=cs.ComputeSubnetworkLogConfig(
                aggregation_interval="INTERVAL_5_MIN", flow_sampling=0.5, metadata="INCLUDE_ALL_METADATA"
            ) if net.flow_logs else None,
        )
        # The implied deny-all, made explicit so denied connections are logged; GKE's own
        # allow rules (control plane, health checks) sit at higher priority.
        self.deny_ingress = fw.ComputeFirewall(
            self, "deny-all-ingress", name=f"{names.network}-deny-all-ingress", project=project,
            network=self.vpc.id, direction="INGRESS", priority=65534, source_ranges=["0.0.0.0/0"],
            deny=[fw.ComputeFirewallDeny(protocol="all")],
            log_config=fw.ComputeFirewallLogConfig(metadata="INCLUDE_ALL_METADATA"),
        )
        self.router = cr.ComputeRouter(self, "router", name=names.router, project=project, region=region,
                                       network=self.vpc.id)
        self.nat = nat.ComputeRouterNat(
            self, "nat", name=names.nat, project=project, region=region, router=self.router.name,
            nat_ip_allocate_option="AUTO_ONLY", source_subnetwork_ip_ranges_to_nat="ALL_SUBNETWORKS_ALL_IP_RANGES",
            enable_endpoint_independent_mapping=False,
            log_config=nat.ComputeRouterNatLogConfig(enable=True, filter="ERRORS_ONLY"),
        )
