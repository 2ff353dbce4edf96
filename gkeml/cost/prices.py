"""The dated price table (``prices.json``): typed model, loader and look-ups.

The table is JSON, which is also YAML, so it is read with the same loader as
environment files: a mistake in a ``--prices`` file is reported as
``file:line: field: message``. Every number that could not be confirmed on its
source page is named under ``estimates`` (a dotted path to the value or to a
section); the estimator flags line items that use one.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from gkeml import platform
from gkeml.config.loader import load_config_file
from gkeml.config.model import Problem, Strict

DEFAULT_PRICES = Path(__file__).with_name("prices.json")

# A price per hour, GiB or item: finite (no config number is NaN or infinite) and below a million, which no
# list price reaches, so that multiplied by a month and the largest workload it stays a finite amount.
MAX_RATE = 1_000_000
Rate = Field(ge=0, le=MAX_RATE)
StorageClass = Literal["STANDARD", "NEARLINE", "COLDLINE", "ARCHIVE"]


class PodRates(Strict):
    """Autopilot Pod-based rates per hour of request."""

    vcpu_hour: float = Rate
    gib_hour: float = Rate
    ephemeral_gib_hour: float = Rate


class ClassRates(Strict):
    """Regular and Spot rates of one Pod-based compute class."""

    regular: PodRates
    spot: PodRates


class Premium(Strict):
    """Autopilot premium on a GPU node, on top of the VM: per GPU, per node vCPU and GiB."""

    gpu_hour: float = Rate
    vcpu_hour: float = Rate
    gib_hour: float = Rate


class GpuPremium(Strict):
    """The premium of one GPU type for regular and Spot nodes."""

    regular: Premium
    spot: Premium


class Autopilot(Strict):
    """Pod-based rates per compute class and the node-based GPU premium per GPU type."""

    pod: dict[str, ClassRates]
    gpu_premium: dict[str, GpuPremium]

    @model_validator(mode="after")
    def _default_class(self) -> Autopilot:
        if platform.GENERAL_PURPOSE.name not in self.pod:
            raise ValueError(f"@pod: the {platform.GENERAL_PURPOSE.name!r} class is required")
        return self


class Machine(Strict):
    """A Compute Engine machine type: shape and hourly price (GPUs included for accelerator VMs)."""

    vcpu: float = Field(gt=0, le=100_000)
    memory_gib: float = Field(gt=0, le=1_000_000)
    on_demand_hour: float = Rate
    spot_hour: float = Rate


class AttachedGpu(Strict):
    """Hourly price of one GPU attached to a general-purpose VM (T4 on N1)."""

    on_demand: float = Rate
    spot: float = Rate


class GpuMachines(Strict):
    """Machines a GPU runs on, by GPU count, smallest first; ``attached_gpu_hour`` when the
    GPU is billed on top of the machine (T4 on N1), absent when the price includes it."""

    attached_gpu_hour: AttachedGpu | None = None
    machines: dict[str, list[str]]


class ClusterPrices(Strict):
    """Cluster management fee and the monthly free-tier credit (one Autopilot or zonal cluster)."""

    fee_per_hour: float = Rate
    free_tier_credit_per_month: float = Rate


class NetworkPrices(Strict):
    """A public endpoint: its global static IP and the global forwarding rules of its Ingress. One
    charge covers the project's first ``forwarding_rules_in_minimum`` rules together; each further
    rule is charged on its own."""

    global_static_ip_in_use_hour: float = Rate
    forwarding_rule_minimum_hour: float = Rate
    forwarding_rules_in_minimum: int = Field(ge=1, le=1000)
    forwarding_rule_additional_hour: float = Rate
    forwarding_rules_per_endpoint: int = Field(ge=1, le=1000)


class ArtifactRegistryPrices(Strict):
    """Artifact Registry storage (after the free GiB of the billing account) and image scanning."""

    storage_gib_month: float = Rate
    free_gib: float = Rate
    scan_per_image: float = Rate


class RegionalLoadBalancerPrices(Strict):
    """A regional external Application Load Balancer's forwarding rules (GKE Inference Gateway), charged per
    region the way global rules are per project."""

    forwarding_rule_minimum_hour: float = Rate
    forwarding_rules_in_minimum: int = Field(ge=1, le=1000)
    forwarding_rule_additional_hour: float = Rate


class CertificateManagerPrices(Strict):
    """Certificate Manager: Google-managed certificates per month, after the project's free allowance."""

    certificate_month: float = Rate
    free_certificates: float = Field(ge=0, le=1_000_000)


class DnsPrices(Strict):
    """Cloud DNS: a managed zone per month, queries per million."""

    zone_month: float = Rate
    queries_per_million: float = Rate


class HyperdiskMlPrices(Strict):
    """Hyperdisk ML: each disk's provisioned capacity and provisioned throughput, per month (no charge per
    attached node)."""

    capacity_gib_month: float = Rate
    throughput_mibps_month: float = Rate


class MonitoringPrices(Strict):
    """Managed Service for Prometheus samples and alerting conditions, with the volume assumptions
    that turn GPUs and replicas into samples."""

    samples_per_million: float = Rate
    scrape_interval_seconds: float = Field(ge=1, le=86400)
    dcgm_series_per_gpu: int = Field(ge=0, le=100_000)
    kube_state_series_per_replica: int = Field(ge=0, le=100_000)
    alert_condition_month: float = Rate


class NodeShare(Strict):
    """vCPU and GiB taken on every Standard node (system DaemonSets)."""

    vcpu: float = Field(ge=0, le=100_000)
    memory_gib: float = Field(ge=0, le=1_000_000)


class StandardMode(Strict):
    """How the Standard-mode comparison packs nodes: machine types and the system DaemonSets' share of each
    node (GKE's node reservations are platform facts: :func:`gkeml.platform.node_allocatable`)."""

    general_machine: str
    system_machine: str
    system_nodes: int = Field(ge=0, le=1000)
    daemonset_per_node: NodeShare


class PriceTable(Strict):
    """The whole table; see ``gkeml/cost/prices.json`` for the shipped one."""

    region: str
    currency: Literal["USD"]
    date: str = Field(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
    hours_per_month: float = Field(gt=0, le=744)  # 31 days
    sources: dict[str, str]
    notes: str = ""
    cluster: ClusterPrices
    autopilot: Autopilot
    machines: dict[str, Machine]
    gpus: dict[str, GpuMachines]
    storage: dict[Literal["region", "multi-region"], dict[StorageClass, float]]
    network: NetworkPrices
    artifact_registry: ArtifactRegistryPrices | None = None
    dns: DnsPrices | None = None
    certificate_manager: CertificateManagerPrices | None = None
    regional_load_balancer: RegionalLoadBalancerPrices | None = None
    monitoring: MonitoringPrices | None = None
    hyperdisk_ml: HyperdiskMlPrices | None = None
    standard: StandardMode
    estimates: dict[str, str] = Field(default_factory=dict)

    @property
    def source(self) -> str:
        """The main source page (GKE pricing)."""
        return self.sources.get("gke", next(iter(self.sources.values()), ""))

    def estimates_of(self, path: str) -> list[str]:
        """The ``estimates`` entries that cover ``path`` (dotted): the path itself or a section holding it."""
        return [e for e in self.estimates if path == e or path.startswith(e + ".")]


def _checks(table: PriceTable) -> list[Problem]:
    """References inside the table: machines named by GPUs and Standard mode, estimate paths."""
    problems: list[Problem] = []
    data = table.model_dump(by_alias=True)
    for field in ("general_machine", "system_machine"):
        name = getattr(table.standard, field)
        if name not in table.machines:
            problems.append((("standard", field), f"unknown machine {name!r}; defined: {', '.join(table.machines)}"))
    for label, entry in table.gpus.items():
        if label not in platform.GPUS:
            problems.append(
                (("gpus", label), f"{label!r} is not an Autopilot GPU; allowed: {', '.join(platform.GPUS)}")
            )
        for count, names in entry.machines.items():
            for name in names:
                if name not in table.machines:
                    problems.append(
                        (("gpus", label, "machines", count), f"unknown machine {name!r}; add it under machines")
                    )
    for path in table.estimates:
        node: Any = data
        for key in path.split("."):
            if not isinstance(node, dict) or key not in node:
                problems.append((("estimates", path), f"{path!r} names no value in this table"))
                break
            node = node[key]
    return problems


def load_prices(path: str | Path | None = None) -> PriceTable:
    """Load the shipped price table, or the one at ``path`` (``--prices``); ConfigError on mistakes."""
    return load_config_file(Path(path), PriceTable, _checks) if path else shipped_prices()


@lru_cache(maxsize=1)
def shipped_prices() -> PriceTable:
    """The shipped price table, read once per process (every environment with a derived budget prices
    itself when loaded; synth, check and doctor read it again). Callers must not change it."""
    return load_config_file(DEFAULT_PRICES, PriceTable, _checks)
