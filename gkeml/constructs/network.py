"""VPC, regional subnet with Pod and Service ranges, Cloud Router and Cloud NAT."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gkeml import platform_serving as serving
from gkeml.framework import Construct, google


@dataclass(frozen=True)
class NetworkProps:
    """Names and ranges of one cluster's VPC."""

    project: str
    region: str
    network_name: str
    subnet_name: str
    router_name: str
    nat_name: str
    firewall_name: str
    subnet_cidr: str
    pods_cidr: str
    services_cidr: str
    flow_logs: bool = True
    pods_range: str = "pods"
    services_range: str = "services"
    # the region's proxy-only subnet (regional load balancers' proxies: GKE Inference Gateway), and its name
    proxy_only_cidr: str | None = None
    proxy_only_name: str = ""
    proxy_firewall_name: str = ""


class Network(Construct):
    """A custom-mode VPC for one cluster.

    The subnet carries the secondary ranges Autopilot uses for Pods and
    Services and has Private Google Access on, so private nodes reach Google
    APIs without a public IP; Cloud NAT gives them egress to the internet
    (image pulls from registries outside Google). Denied ingress is logged. With ``proxy_only_cidr``, the
    region's proxy-only subnet for regional load balancers (GKE Inference Gateway), and a logged firewall rule
    letting their proxies reach the Pods (the proxies connect from that range; Google's health checkers from
    their own, which GKE's Gateway controller opens)."""

    def __init__(self, scope: Construct, id: str, props: NetworkProps, *, depends_on: Sequence[Any] = ()):
        super().__init__(scope, id)
        cn, cs = google("compute_network"), google("compute_subnetwork")
        cr, nat = google("compute_router"), google("compute_router_nat")
        fw = google("compute_firewall")
        self.props = props
        self.pods_range, self.services_range = props.pods_range, props.services_range
        self.vpc = cn.ComputeNetwork(
            self,
            "vpc",
            name=props.network_name,
            project=props.project,
            auto_create_subnetworks=False,
            routing_mode="REGIONAL",
            delete_default_routes_on_create=False,
            depends_on=list(depends_on) or None,
        )
        self.subnet = cs.ComputeSubnetwork(
            self,
            "subnet",
            name=props.subnet_name,
            project=props.project,
            region=props.region,
            network=self.vpc.id,
            ip_cidr_range=props.subnet_cidr,
            private_ip_google_access=True,
            secondary_ip_range=[
                cs.ComputeSubnetworkSecondaryIpRange(range_name=props.pods_range, ip_cidr_range=props.pods_cidr),
                cs.ComputeSubnetworkSecondaryIpRange(
                    range_name=props.services_range, ip_cidr_range=props.services_cidr
                ),
            ],
            log_config=cs.ComputeSubnetworkLogConfig(
                aggregation_interval="INTERVAL_5_MIN", flow_sampling=0.5, metadata="INCLUDE_ALL_METADATA"
            )
            if props.flow_logs
            else None,
        )
        # The implied deny-all, made explicit so denied connections are logged; GKE's own
        # allow rules (control plane, health checks) sit at higher priority.
        self.deny_ingress = fw.ComputeFirewall(
            self,
            "deny-all-ingress",
            name=props.firewall_name,
            project=props.project,
            network=self.vpc.id,
            direction="INGRESS",
            priority=65534,
            source_ranges=["0.0.0.0/0"],
            deny=[fw.ComputeFirewallDeny(protocol="all")],
            log_config=fw.ComputeFirewallLogConfig(metadata="INCLUDE_ALL_METADATA"),
        )
        self.proxy_only_subnet = None
        self.allow_proxies = None
        if props.proxy_only_cidr:
            self.proxy_only_subnet = cs.ComputeSubnetwork(
                self,
                "proxy-only",
                name=props.proxy_only_name,
                project=props.project,
                region=props.region,
                network=self.vpc.id,
                ip_cidr_range=props.proxy_only_cidr,
                purpose=serving.PROXY_ONLY_SUBNET_PURPOSE,
                role=serving.PROXY_ONLY_SUBNET_ROLE,
            )
            self.allow_proxies = fw.ComputeFirewall(
                self,
                "allow-load-balancer-proxies",
                name=props.proxy_firewall_name,
                project=props.project,
                network=self.vpc.id,
                direction="INGRESS",
                priority=1000,
                source_ranges=[props.proxy_only_cidr],
                allow=[fw.ComputeFirewallAllow(protocol="tcp")],
                log_config=fw.ComputeFirewallLogConfig(metadata="INCLUDE_ALL_METADATA"),
            )
        self.router = cr.ComputeRouter(
            self, "router", name=props.router_name, project=props.project, region=props.region, network=self.vpc.id
        )
        self.nat = nat.ComputeRouterNat(
            self,
            "nat",
            name=props.nat_name,
            project=props.project,
            region=props.region,
            router=self.router.name,
            nat_ip_allocate_option="AUTO_ONLY",
            source_subnetwork_ip_ranges_to_nat="ALL_SUBNETWORKS_ALL_IP_RANGES",
            enable_endpoint_independent_mapping=False,
            log_config=nat.ComputeRouterNatLogConfig(enable=True, filter="ERRORS_ONLY"),
        )
