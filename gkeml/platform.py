"""GKE Autopilot platform facts: the one place the toolkit keeps them.

Every GPU label, allowed count, request range, node label, annotation name and
limit that constructs, manifest builders, rules and the cost estimator rely on
lives here, with the page it was checked against and the date. Nothing else in
``gkeml`` may spell these values as literals.

Checked against Google's GKE documentation in November 2026; each section names its pages and
what could not be confirmed. Prices live in ``gkeml/cost/prices.json`` because they change more
often than the rules.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gkeml import platform_serving as serving

# --- Terraform -------------------------------------------------------------------------
# The oldest Terraform the synthesized stacks are written for: the W&B key uses an ephemeral resource
# (Terraform 1.10) and a write-only argument (1.11): developer.hashicorp.com/terraform/language/resources/ephemeral
# and .../resources/syntax#write-only-arguments. CI runs 1.11.4 (.github/workflows, TERRAFORM_VERSION).
# Every stack declares it (terraform.required_version, gkeml.framework.declare_terraform_version), cdktf
# checks the features it synthesizes against it (targetVersions: gkeml.synth.TARGET_VERSIONS and cdktf.json
# for the CLI), and `gkeml doctor` asks for it.
TERRAFORM_MIN_VERSION = "1.11.0"
TERRAFORM_REQUIRED_VERSION = f">= {TERRAFORM_MIN_VERSION}"  # a Terraform version constraint

# --- node labels and annotations ------------------------------------------------
# how-to/autopilot-gpus, how-to/autopilot-spot-pods, concepts/about-custom-compute-classes
ACCELERATOR_LABEL = "cloud.google.com/gke-accelerator"
ACCELERATOR_COUNT_LABEL = "cloud.google.com/gke-accelerator-count"
GPU_RESOURCE = "nvidia.com/gpu"
GPU_QUOTA_RESOURCE = "requests.nvidia.com/gpu"
SPOT_LABEL = "cloud.google.com/gke-spot"
COMPUTE_CLASS_LABEL = "cloud.google.com/compute-class"
PLACEMENT_GROUP_LABEL = "cloud.google.com/gke-placement-group"
ZONE_LABEL = "topology.kubernetes.io/zone"
# A Compute Engine machine series for an Autopilot Pod is selected with this label next to the Performance
# compute class (how-to/autopilot-compute-classes: "If you choose Performance, you can optionally select a
# Compute Engine machine series in the node selector"); Autopilot refuses the label without the class
# (reviewed fact of 2026-12-04). GKE's how-to/performance-pods (checked 2026-12-05) also describes the label
# alone, with several Pods per node, on newer clusters; the version it needs could not be read.
MACHINE_FAMILY_LABEL = "cloud.google.com/machine-family"
PERFORMANCE_CLASS = "Performance"
# GKE Warden refuses a toleration of the GPU taint on a Pod that requests no GPU: "[denied by
# autogke-gpu-limitation] The toleration with key 'nvidia.com/gpu' and operator 'Exists' cannot be specified
# if the pod does not request to use GPU in Autopilot" (GoogleCloudPlatform/k8s-stackdriver#1079, 2026-02-28;
# skypilot-org/skypilot#4542, 2025-01-07). A Pod that requests GPUs is given the toleration by the
# ExtendedResourceToleration admission controller (concepts/gpus 'Restrict GPU scheduling').
GPU_TOLERATION_KEY = GPU_RESOURCE
GPU_TOLERATION_DENIAL = "autogke-gpu-limitation"

# how-to/autopilot-spot-pods: a longer grace period is cut to this at preemption.
SPOT_TERMINATION_GRACE_SECONDS = 25
# how-to/autopilot-spot-pods (checked 2026-11): "GKE automatically taints nodes that run Spot Pods" so
# standard Pods are not scheduled there, and adds the matching toleration to Pods that select Spot.
# The taint is cloud.google.com/gke-spot="true":NoSchedule (concepts/spot-vms, how-to/spot-vms).
SPOT_TOLERATION = {"key": SPOT_LABEL, "operator": "Equal", "value": "true", "effect": "NoSchedule"}

# how-to/cloud-storage-fuse-csi-driver-setup
GCSFUSE_DRIVER = "gcsfuse.csi.storage.gke.io"
GCSFUSE_ANNOTATION = "gke-gcsfuse/volumes"
GCSFUSE_SIDECAR_ANNOTATIONS = {
    "cpu": "gke-gcsfuse/cpu-limit",
    "memory": "gke-gcsfuse/memory-limit",
    "ephemeral-storage": "gke-gcsfuse/ephemeral-storage-limit",
}
# What the sidecar requests without annotations: the webhook's defaults (gcs-fuse-csi-driver
# deploy/base/webhook/deployment.yaml --sidecar-*-request, checked 2026-11-30 at 5fcdc04a); a limit
# annotation without a request annotation makes the request equal to it (pkg/webhook/config.go).
GCSFUSE_SIDECAR_DEFAULT_REQUESTS = {"cpu": "250m", "memory": "256Mi", "ephemeral-storage": "5Gi"}
# Autopilot GPU nodes give the sidecar at most this much (docs/troubleshooting.md, "Sidecar container
# resource allocation": "cannot exceed 2 vCPU and memory allocation cannot exceed 14 GiB on GPU nodes
# on Autopilot clusters", a known issue GKE is working to remove; checked 2026-11-30 at 5fcdc04a).
GCSFUSE_SIDECAR_GPU_MAX = {"cpu": 2.0, "memory_gib": 14.0}

# concepts/ingress, how-to/managed-certs, how-to/ingress-configuration
INGRESS_CLASS_ANNOTATION = "kubernetes.io/ingress.class"
INGRESS_CLASS_EXTERNAL = "gce"
INGRESS_STATIC_IP_ANNOTATION = "kubernetes.io/ingress.global-static-ip-name"
INGRESS_PRE_SHARED_CERT_ANNOTATION = "ingress.gcp.kubernetes.io/pre-shared-cert"
INGRESS_MANAGED_CERTS_ANNOTATION = "networking.gke.io/managed-certificates"
INGRESS_FRONTEND_CONFIG_ANNOTATION = "networking.gke.io/v1beta1.FrontendConfig"
SERVICE_BACKEND_CONFIG_ANNOTATION = "cloud.google.com/backend-config"
SERVICE_NEG_ANNOTATION = "cloud.google.com/neg"
MANAGED_CERTIFICATE_API = "networking.gke.io/v1"
FRONTEND_CONFIG_API = "networking.gke.io/v1beta1"
BACKEND_CONFIG_API = "cloud.google.com/v1"
COMPUTE_CLASS_API = "cloud.google.com/v1"
SNAPSHOT_API = (
    "snapshot.storage.k8s.io/v1"  # VolumeSnapshot* (GKE installs them: how-to/persistent-volumes/volume-snapshots)
)
VOLUME_POPULATOR_API = "datalayer.gke.io/v1"  # GCPDataSource (GKE Volume Populator: reference/crds/gcpdatasource)
# What each capacity of a custom ComputeClass's ladder adds to its priority (reference/crds/computeclass,
# priorities[].spot and priorities[].flexStart.enabled; checked 2026-11-30, with Google's example class
# skills/cloud/gke-compute-classes/assets/genai-inference-g4-compute-class.yaml in google/skills at
# 1af77752, whose flex-start priority sets no spot). A pod selects a custom class with the
# compute-class node selector ALONE: another hard selector such as gke-spot or gke-accelerator next to it
# can contradict the class's priorities and leave the pod Pending (same skill, "Selector Conflicts").
COMPUTE_CLASS_CAPACITY: dict[str, dict[str, Any]] = {
    "spot": {"spot": True},
    "on-demand": {"spot": False},
    "flex-start": {"flexStart": {"enabled": True}},
    "reservation": {"spot": False},  # plus machineType and reservations (reservation_priority below)
}
# A specific Compute Engine reservation as a rung of a custom ComputeClass (checked 2026-12-05): the CRD reference
# (kubernetes-engine/docs/reference/crds/computeclass) has priorities[].reservations {affinity: Specific, specific:
# [{name, project, reservationBlock: {name}}]} (`project` for a reservation shared from another project);
# how-to/consuming-reservations: Autopilot consumes SPECIFIC reservations (consumption type specific, selected
# explicitly), reserved accelerators from 1.28.6-gke.1095000, and a reservation bills its VMs whether they are used
# or not (compute/docs/instances/reservations-overview, "Billing"); about-custom-compute-classes, "Consume Compute
# Engine reservations": from GKE 1.31.1-gke.2105000, with node pool auto-creation, and a non-TPU reservation only in
# a priority that names machineType or machineFamily. Google's own classes put the reservation first with spot:
# false and its zone in the reservation entry, never in location.zones, which a Specific priority refuses
# ("location config with specific reservations enabled"; google/skills 1af7775
# skills/cloud/gke-compute-classes/assets/genai-inference-g4-compute-class.yaml, references/compute-class-debug.md).
RESERVATION_AFFINITY = "Specific"
RESERVATION_MIN_GKE_VERSION = "1.31.1-gke.2105000"
# A reservation of another project is usable only when its owner shares it with the consuming project (its
# shareSettings; compute/docs/instances/reservations-shared), and GKE's autoscaler reads it there (the cluster
# autoscaler's GCE client fetches reservations of another project: kubernetes/autoscaler #6051), as the
# consuming project's GKE service agent: grant it compute.reservations.list and compute.reservations.get in the
# owner project (dstackai/dstack #3186 and GoogleCloudPlatform/cluster-toolkit #5117 found the same two
# permissions missing). gkeml does not grant them: the owner project is not the environment's.
SHARED_RESERVATION_PERMISSIONS = ("compute.reservations.list", "compute.reservations.get")
GKE_SERVICE_AGENT = "service-{project_number}@container-engine-robot.iam.gserviceaccount.com"
# Kueue's ResourceFlavor for a reservation's GPUs: only pods that tolerate this taint (key, value = the
# reservation's name) may be admitted on it (Kueue tries a flavor only for pods that tolerate its nodeTaints: see
# the Kueue sources below). No node carries the taint, so the toleration changes nothing for the scheduler; gkeml
# writes it on the pods of a ComputeClass with that reservation's rung.
RESERVATION_TAINT_KEY = "gkeml.io/reservation"
MAX_CERTIFICATES_PER_LOAD_BALANCER = 15
# Google front ends and health checkers (concepts/firewall-rules, ingress health checks).
LOAD_BALANCER_HEALTH_CHECK_RANGES = ("35.191.0.0/16", "130.211.0.0/22")

# concepts/workload-identity
WORKLOAD_IDENTITY_ANNOTATION = "iam.gke.io/gcp-service-account"
WORKLOAD_IDENTITY_USER_ROLE = "roles/iam.workloadIdentityUser"
# Secret Manager secret ids: [A-Za-z0-9_-], at most 255 (cloud.google.com/secret-manager/docs/creating-and-accessing-secrets).
SECRET_ID_MAX_LENGTH = 255
# A service account's id (the part before @): iam/docs/service-accounts-create, 6-30 characters.
SERVICE_ACCOUNT_ID = r"^[a-z][-a-z0-9]{4,28}[a-z0-9]$"
# Every namespace has it; pods that name no service account run as it.
DEFAULT_SERVICE_ACCOUNT = "default"
# Every service account's address ends so: user-managed ones (@PROJECT.iam.gserviceaccount.com), the
# default Compute Engine and App Engine ones, Google's service agents (iam/docs/service-account-types).
SERVICE_ACCOUNT_EMAIL_SUFFIXES = (".gserviceaccount.com",)

# --- people (teams[].members and groups) ----------------------------------------------
# What a person needs in IAM to reach the cluster: roles/container.clusterViewer holds exactly
# container.clusters.get and .list (gcloud container clusters get-credentials), container.clusters.connect (the
# DNS-based endpoint) and resourcemanager.projects.get/list, and no container.<kind>.* permission, so
# Kubernetes RBAC alone decides what the person may do inside (GKE authorizes a request when IAM or RBAC allows
# it: cloud.google.com/kubernetes-engine/docs/how-to/role-based-access-control). Permissions from
# darkbitio/gcp-iam-role-permissions roles/container.clusterViewer at 8ab2a6ff (2026-08-22).
CLUSTER_VIEWER_ROLE = "roles/container.clusterViewer"
# The user-facing ClusterRoles every Kubernetes cluster has (kubernetes.io/docs/reference/access-authn-authz/
# rbac, "User-facing roles"), bound per namespace. Kueue 0.19.2's chart aggregates reading Workloads,
# LocalQueues and their pending workloads into both (charts/kueue/templates/rbac/workload_viewer_role.yaml,
# localqueue_viewer_role.yaml, pending_workloads_lq_viewer_role.yaml: aggregate-to-view and aggregate-to-edit),
# so `gkeml job list/status` works for both.
TEAM_ACCESS_CLUSTER_ROLES = {"view": "view", "edit": "edit"}
RBAC_API_GROUP = "rbac.authorization.k8s.io"


def workload_identity_pool(project_id: str) -> str:
    """The Workload Identity pool of a GKE project (always enabled on Autopilot)."""
    return f"{project_id}.svc.id.goog"


def workload_identity_principal(project_number: str, project_id: str, namespace: str, ksa: str) -> str:
    """IAM principal of a Kubernetes service account: project NUMBER in the path, project ID in the pool."""
    return (
        f"principal://iam.googleapis.com/projects/{project_number}/locations/global/"
        f"workloadIdentityPools/{workload_identity_pool(project_id)}/subject/ns/{namespace}/sa/{ksa}"
    )


def service_account_name(project_id: str, email: str) -> str:
    """A service account's resource name, as the IAM API and the google provider's ``name`` attribute give it
    (cloud.google.com/iam/docs/reference/rest/v1/projects.serviceAccounts: projects/PROJECT/serviceAccounts/
    EMAIL): what a ``google_service_account_iam_member`` takes as ``service_account_id``."""
    return f"projects/{project_id}/serviceAccounts/{email}"


def workload_identity_classic_member(project_id: str, namespace: str, ksa: str) -> str:
    """Member that may impersonate a Google service account (classic Workload Identity)."""
    return f"serviceAccount:{workload_identity_pool(project_id)}[{namespace}/{ksa}]"


# --- nodes (concepts/plan-node-sizes, "Memory and CPU reservations") ----------------------
# What GKE keeps for the kubelet and the OS on every node, and the eviction threshold: the rest is the
# node's allocatable, the most all Pods on it together can request (Autopilot's own system Pods take
# part of that too). Checked 2026-11-30.
NODE_RESERVED_CPU_TIERS = ((1, 0.06), (1, 0.01), (2, 0.005), (None, 0.0025))  # (next vCPUs, fraction)
NODE_RESERVED_MEMORY_TIERS = ((4, 0.25), (4, 0.20), (8, 0.10), (112, 0.06), (None, 0.02))  # (next GiB, fraction)
NODE_EVICTION_THRESHOLD_GIB = 100 / 1024


def _reserved(size: float, tiers: tuple[tuple[float | None, float], ...]) -> float:
    reserved, rest = 0.0, size
    for step, fraction in tiers:
        part = rest if step is None else min(rest, step)
        reserved += part * fraction
        rest -= part
        if rest <= 0:
            break
    return reserved


def node_allocatable(vcpu: float, memory_gib: float) -> tuple[float, float]:
    """vCPU and GiB a GKE node of this shape leaves for Pods (capacity minus GKE's reservations and
    the eviction threshold)."""
    return (
        vcpu - _reserved(vcpu, NODE_RESERVED_CPU_TIERS),
        memory_gib - _reserved(memory_gib, NODE_RESERVED_MEMORY_TIERS) - NODE_EVICTION_THRESHOLD_GIB,
    )


# --- GPUs (how-to/autopilot-gpus, concepts/autopilot-resource-requests) ----------
# The machine behind each GPU type and count: Compute Engine's accelerator-optimized machine types
# (compute/docs/accelerator-optimized-machines; vCPUs and memory as listed by `gcloud compute
# machine-types list`, mirrored in Cyclenerd/google-cloud-pricing-cost-calculator
# tools/machinetypes.csv at dac31281, 2026-08-20). T4 runs on N1 machines sized to the Pod: the
# shape is the largest N1 allows with that many T4s (compute/docs/gpus, "NVIDIA T4").


@dataclass(frozen=True)
class GpuMachine:
    """The Compute Engine machine a GPU Pod's node is (GiB: Compute Engine's "GB" of memory are GiB)."""

    name: str
    vcpu: float
    memory_gib: float

    @property
    def allocatable(self) -> tuple[float, float]:
        return node_allocatable(self.vcpu, self.memory_gib)


@dataclass(frozen=True)
class GpuRange:
    """The largest CPU (vCPU) and memory (GiB) requests of a Pod with ``count`` GPUs.

    ``table_cpu``/``table_memory_gib`` are the maxima of Autopilot's Accelerator table as gkeml
    has them; ``confirmed`` says where a value was confirmed ("" = not confirmed: see
    :func:`unconfirmed_gpu_maxima`). The maxima gkeml enforces are never above what the node can
    allocate: an unconfirmed table value above it is capped there, and a missing one is the
    allocatable itself (rounded down). There is no minimum: Autopilot sets no default requests on GPU
    Pods (:data:`NO_DEFAULT_REQUESTS_CLASSES`), and gkeml has no source for a minimum it would raise them to."""

    count: int
    machine: GpuMachine
    table_cpu: float | None
    table_memory_gib: float | None
    confirmed: str = ""

    @property
    def max_cpu(self) -> float:
        cap = math.floor(self.machine.allocatable[0])
        return cap if self.table_cpu is None else min(self.table_cpu, cap)

    @property
    def max_memory_gib(self) -> float:
        cap = math.floor(self.machine.allocatable[1])
        return cap if self.table_memory_gib is None else min(self.table_memory_gib, cap)

    @property
    def capped(self) -> bool:
        """True when the enforced maximum is the node's allocatable rather than the table's value."""
        return (self.max_cpu, self.max_memory_gib) != (self.table_cpu, self.table_memory_gib)


@dataclass(frozen=True)
class Gpu:
    """One Autopilot GPU type: node label value, allowed counts and request ranges."""

    label: str
    name: str
    ranges: tuple[GpuRange, ...]
    compact_placement: bool = False
    machine_family: str = ""

    @property
    def counts(self) -> tuple[int, ...]:
        return tuple(r.count for r in self.ranges)

    def range_for(self, count: int) -> GpuRange:
        for r in self.ranges:
            if r.count == count:
                return r
        raise KeyError(count)


def _r(*rows: tuple) -> tuple[GpuRange, ...]:
    """Rows of (count, machine, vCPU, GiB, vCPUs of the machine, GiB of the machine[, where confirmed])."""
    return tuple(
        GpuRange(count, GpuMachine(machine, vcpu, memory), cpu, mem, *confirmed)
        for count, machine, cpu, mem, vcpu, memory, *confirmed in rows
    )


# Maximum requests per Pod by GPU count: Autopilot's Accelerator table (concepts/autopilot-resource-
# requests). GPU Pods get no default CPU/memory (NO_DEFAULT_REQUESTS_CLASSES). The allowed COUNTS are
# confirmed (how-to/autopilot-gpus, checked 2026-11); of the per-count maxima only A100 40GB x1 is confirmed, by Autopilot's own
# admission message ("higher than the Autopilot maximum of '11' ... maximum of '74Gi'", quoted in
# argoproj/argo-workflows#13073). The rest were copied from the table into an earlier gkeml and not
# re-read since; three of them (H100 x1, x4, H200 x8) were above what their node can allocate and are
# capped (review 2026-11-30), and H200/B200 CPU had the 208-vCPU A3's value (their machines have 224):
# left to the cap. `unconfirmed_gpu_maxima()` lists them; docs/jobs.md shows the table.
CONFIRMED_A100_40GB_X1 = "Autopilot admission message in argoproj/argo-workflows#13073"
GPUS: dict[str, Gpu] = {
    g.label: g
    for g in (
        Gpu(
            "nvidia-tesla-t4",
            "T4",
            _r(
                (1, "n1 (custom)", 46, 172, 48, 312),
                (2, "n1 (custom)", 46, 172, 48, 624),
                (4, "n1 (custom)", 94, 360, 96, 624),
            ),
            machine_family="n1",
        ),
        Gpu(
            "nvidia-l4",
            "L4",
            _r(
                (1, "g2-standard-32", 31, 115, 32, 128),
                (2, "g2-standard-24", 23, 77, 24, 96),
                (4, "g2-standard-48", 47, 170, 48, 192),
                (8, "g2-standard-96", 95, 355, 96, 384),
            ),
            compact_placement=True,
            machine_family="g2",
        ),
        Gpu(
            "nvidia-tesla-a100",
            "A100 40GB",
            _r(
                (1, "a2-highgpu-1g", 11, 74, 12, 85, CONFIRMED_A100_40GB_X1),
                (2, "a2-highgpu-2g", 22, 148, 24, 170),
                (4, "a2-highgpu-4g", 46, 310, 48, 340),
                (8, "a2-highgpu-8g", 94, 632, 96, 680),
                (16, "a2-megagpu-16g", 94, 1264, 96, 1360),
            ),
            compact_placement=True,
            machine_family="a2",
        ),
        Gpu(
            "nvidia-a100-80gb",
            "A100 80GB",
            _r(
                (1, "a2-ultragpu-1g", 11, 148, 12, 170),
                (2, "a2-ultragpu-2g", 22, 310, 24, 340),
                (4, "a2-ultragpu-4g", 46, 632, 48, 680),
                (8, "a2-ultragpu-8g", 94, 1264, 96, 1360),
            ),
            compact_placement=True,
            machine_family="a2-ultragpu",
        ),
        Gpu(
            "nvidia-h100-80gb",
            "H100 80GB",
            _r(
                (1, "a3-highgpu-1g", 25, 225, 26, 234),
                (2, "a3-highgpu-2g", 51, 450, 52, 468),
                (4, "a3-highgpu-4g", 103, 922, 104, 936),
                (8, "a3-highgpu-8g", 206, 1795, 208, 1872),
            ),
            compact_placement=True,
            machine_family="a3-highgpu",
        ),
        Gpu(
            "nvidia-h100-mega-80gb",
            "H100 Mega 80GB",
            _r((8, "a3-megagpu-8g", 206, 1795, 208, 1872)),
            machine_family="a3-megagpu",
        ),
        Gpu(
            "nvidia-h200-141gb",
            "H200 141GB",
            _r((8, "a3-ultragpu-8g", None, 2952, 224, 2952)),
            machine_family="a3-ultragpu",
        ),
        Gpu("nvidia-b200", "B200", _r((8, "a4-highgpu-8g", None, 3624, 224, 3968)), machine_family="a4-highgpu"),
    )
}
# GB200 (nvidia-gb200) is in preview on Autopilot: deliberately not offered.


def unconfirmed_gpu_maxima() -> list[tuple[str, GpuRange]]:
    """Every (GPU label, range) whose maxima are not confirmed: the one place that says which."""
    return [(label, r) for label, g in GPUS.items() for r in g.ranges if not r.confirmed]


def gpu_problem(label: str, count: int) -> tuple[str, str] | None:
    """Why Autopilot would reject ``count`` GPUs of type ``label``, as (field, message), or None."""
    if label not in GPUS:
        return "gpu", f"{label!r} is not an Autopilot GPU; allowed: {', '.join(GPUS)}"
    if count not in GPUS[label].counts:
        return "gpu_count", f"{count} is not allowed for {label}; allowed: {', '.join(map(str, GPUS[label].counts))}"
    return None


def gpu(label: str) -> Gpu:
    """The GPU with this node-label value; KeyError lists the allowed ones."""
    try:
        return GPUS[label]
    except KeyError:
        raise KeyError(f"unknown GPU {label!r}; allowed: {', '.join(GPUS)}") from None


# --- TPUs (how-to/tpus-autopilot, concepts/plan-tpus) ------------------------------
# An Autopilot TPU Pod selects the TPU version (TPU_ACCELERATOR_LABEL) and the slice topology
# (TPU_TOPOLOGY_LABEL) in its nodeSelector and asks for the chips of ONE node in requests and limits of
# google.com/tpu; GKE gives each such Pod a node of its own (how-to/tpus-autopilot, "How TPUs work in
# Autopilot", checked 2026-12-05). A topology of N chips is one node (single-host: 1, 4 or, for v5e and
# v6e, 8 chips) or N/4 nodes of 4 chips each (multi-host), and a multi-host slice runs one Pod per node,
# all started together (concepts/plan-tpus; cloud.google.com/tpu/docs/v5e 'Configurations'). The version
# labels, machine types, topologies and chips per machine are those of Google's TPU tool
# AI-Hypercomputer/xpk 367c838 src/xpk/core/system_characteristics.py (2026-06-25); GKE's own samples
# agree (GoogleCloudPlatform/kubernetes-engine-samples 2b50365: v6e 2x4 as 2 Pods of 4 chips, v6e 4x4 as
# 4, tpu7x 4x4x4 as 16). vCPUs and memory of the machines: Cyclenerd/google-cloud-pricing-cost-calculator
# tools/machinetypes.csv at 8c32d22 (2026-07-01); ct4p-hightpu-4t is not listed there. Autopilot's own
# TPU request maxima could not be read; gkeml holds a TPU Pod to what its node can allocate, which no
# maximum exceeds.
TPU_ACCELERATOR_LABEL = "cloud.google.com/gke-tpu-accelerator"
TPU_TOPOLOGY_LABEL = "cloud.google.com/gke-tpu-topology"
TPU_RESOURCE = "google.com/tpu"
TPU_CHIPS_PER_HOST = 4  # every multi-host slice: nodes of 4 chips
TPU_SMALL_3D_TOPOLOGIES = ("2x2x1", "2x2x2", "2x2x4", "2x4x4")  # 3D slices below a 4x4x4 cube
TPU_CUBE = 4  # larger 3D slices are whole 4x4x4 cubes: every side a multiple of 4
TPU_CHECKED_ON = "2026-12-05"


@dataclass(frozen=True)
class TpuMachine:
    """The Compute Engine machine of a TPU node: its chips, vCPUs and memory (GiB; None where not confirmed)."""

    name: str
    chips: int
    vcpu: float | None
    memory_gib: float | None

    @property
    def allocatable(self) -> tuple[float, float] | None:
        if self.vcpu is None or self.memory_gib is None:
            return None
        return node_allocatable(self.vcpu, self.memory_gib)


@dataclass(frozen=True)
class Tpu:
    """One TPU version: its node-label value, the machines of its nodes and its slice topologies (2D ones
    listed; 3D ones the small shapes listed plus whole cubes up to ``max_cubes``)."""

    label: str
    name: str
    machines: tuple[TpuMachine, ...]
    topologies: tuple[str, ...]
    max_cubes: int = 0  # 3D versions: the largest slice, in 4x4x4 cubes
    nondecreasing: bool = True  # 3D topologies written AxBxC with A <= B <= C

    def chips(self, topology: str) -> int | None:
        """Chips of a slice of ``topology``, or None when the version has no such slice."""
        sides = [int(d) for d in topology.split("x")] if re.fullmatch(r"[1-9]\d{0,3}(x[1-9]\d{0,3})+", topology) else []
        if not sides:
            return None
        product = math.prod(sides)
        if topology in self.topologies:
            return product
        whole_cubes = len(sides) == 3 and all(s % TPU_CUBE == 0 for s in sides)
        if not whole_cubes or product > self.max_cubes * TPU_CUBE**3:
            return None
        return product if not self.nondecreasing or sides == sorted(sides) else None

    def layouts(self, topology: str) -> dict[int, int]:
        """Chips per Pod -> nodes (Pods) of a slice of ``topology``: one node holding it all, where a machine
        has that many chips, and nodes of 4 chips for a larger slice (empty: no such slice)."""
        chips = self.chips(topology)
        if chips is None:
            return {}
        out = {m.chips: 1 for m in self.machines if m.chips == chips}
        if chips > TPU_CHIPS_PER_HOST and chips % TPU_CHIPS_PER_HOST == 0:
            out[TPU_CHIPS_PER_HOST] = chips // TPU_CHIPS_PER_HOST
        return out

    def machine(self, chips: int) -> TpuMachine | None:
        """The machine of a node with ``chips`` chips."""
        return next((m for m in self.machines if m.chips == chips), None)


_2D = ("1x1", "2x2", "2x4", "4x4", "4x8", "8x8", "8x16", "16x16")
TPUS: dict[str, Tpu] = {
    t.label: t
    for t in (
        Tpu(
            "tpu-v5-lite-podslice",
            "TPU v5e",
            (
                TpuMachine("ct5lp-hightpu-1t", 1, 24, 48),
                TpuMachine("ct5lp-hightpu-4t", 4, 112, 192),
                TpuMachine("ct5lp-hightpu-8t", 8, 224, 384),
            ),
            _2D,
        ),
        Tpu(
            "tpu-v6e-slice",
            "TPU v6e (Trillium)",
            (
                TpuMachine("ct6e-standard-1t", 1, 44, 176),
                TpuMachine("ct6e-standard-4t", 4, 180, 720),
                TpuMachine("ct6e-standard-8t", 8, 360, 1440),
            ),
            _2D,
        ),
        Tpu(
            "tpu-v5p-slice",
            "TPU v5p",
            (TpuMachine("ct5p-hightpu-4t", 4, 208, 448),),
            TPU_SMALL_3D_TOPOLOGIES,
            max_cubes=140,
        ),
        Tpu(
            "tpu-v4-podslice",
            "TPU v4",
            (TpuMachine("ct4p-hightpu-4t", 4, None, None),),
            TPU_SMALL_3D_TOPOLOGIES,
            max_cubes=64,
            nondecreasing=False,
        ),
        Tpu(
            "tpu7x",
            "TPU7x (Ironwood)",
            (TpuMachine("tpu7x-standard-1t", 1, 56, 240), TpuMachine("tpu7x-standard-4t", 4, 224, 960)),
            ("1x1x1", *TPU_SMALL_3D_TOPOLOGIES),
            max_cubes=144,
        ),
    )
}


# --- compute classes (concepts/autopilot-resource-requests) ----------------------


@dataclass(frozen=True)
class ComputeClass:
    """Request bounds of an Autopilot Pod-based compute class (vCPU and GiB)."""

    name: str
    min_cpu: float
    min_memory_gib: float
    max_cpu: float
    max_memory_gib: float
    min_ratio: float | None  # GiB per vCPU
    max_ratio: float | None
    cpu_step: float = 0.0  # requests rounded up to this step when > 0

    def billed_requests(self, cpu: float, memory_gib: float) -> tuple[float, float]:
        """The CPU (vCPU) and memory (GiB) requests Autopilot bills a Pod of this class for.

        Autopilot never lowers a request: it raises each to the class minimum, rounds CPU up to
        the class step, and raises the smaller resource until the CPU:memory ratio is inside the
        class range (concepts/autopilot-resource-requests, "Minimum and maximum resource requests"
        and "Resource ratio"). Raising CPU for the ratio can move it off the step, and stepping
        can move the ratio, so the rules are applied until nothing changes. The maximum is not
        applied: above it Autopilot rejects the Pod (see :meth:`above_maximum`).
        """
        cpu, memory_gib = max(cpu, self.min_cpu), max(memory_gib, self.min_memory_gib)
        for _ in range(8):  # converges in two rounds; the bound guards against float noise
            before = (cpu, memory_gib)
            if self.cpu_step:
                cpu = math.ceil(round(cpu / self.cpu_step, 9)) * self.cpu_step
            if self.min_ratio is not None and memory_gib < cpu * self.min_ratio:
                memory_gib = cpu * self.min_ratio
            if self.max_ratio is not None and memory_gib > cpu * self.max_ratio:
                cpu = memory_gib / self.max_ratio
            if (cpu, memory_gib) == before:
                break
        return cpu, memory_gib

    def above_maximum(self, cpu: float, memory_gib: float) -> bool:
        """True when Autopilot rejects a Pod with these (billed) requests."""
        return cpu > self.max_cpu + 1e-9 or memory_gib > self.max_memory_gib + 1e-9


# general-purpose minimums on clusters with Pod bursting (GKE >= 1.30.2-gke.1394000);
# without bursting: 250m / 512 MiB, CPU rounded up to 0.25 vCPU.
GENERAL_PURPOSE = ComputeClass("general-purpose", 0.05, 52 / 1024, 30, 110, 1.0, 6.5)
GENERAL_PURPOSE_NO_BURSTING = ComputeClass("general-purpose", 0.25, 0.5, 30, 110, 1.0, 6.5, cpu_step=0.25)
COMPUTE_CLASSES: dict[str, ComputeClass] = {
    "general-purpose": GENERAL_PURPOSE,
    "Balanced": ComputeClass("Balanced", 0.25, 0.5, 222, 851, 1.0, 8.0),
    "Scale-Out": ComputeClass("Scale-Out", 0.25, 1.0, 54, 216, 4.0, 4.0),
}
BUILTIN_COMPUTE_CLASSES = ("Balanced", "Scale-Out", "Performance", "Accelerator", "autopilot", "autopilot-spot")

DEFAULT_CPU = 0.5
DEFAULT_MEMORY_GIB = 2.0
DEFAULT_EPHEMERAL_GIB = 1.0
EPHEMERAL_MIN_GIB = 10 / 1024
EPHEMERAL_MAX_GIB = 10.0

# concepts/autopilot-resource-requests, 'Default requests for compute classes' (checked 2026-12-05; the zh-CN
# copy of the page: "加速器: 未强制执行任何默认请求", and "Autopilot does not enforce [default requests on] GPU Pods
# and Pods of the Performance ComputeClass"): a GPU Pod (Accelerator, billed per node) or a Performance Pod whose
# containers request no CPU or memory is admitted as it is, with no default requests and no "Autopilot
# changes the Pod's requests"; its containers then run BestEffort (kubernetes.io/docs/concepts/workloads/pods/
# pod-qos), the first evicted under node pressure, and the scheduler and the quota see nothing of what they use.
NO_DEFAULT_REQUESTS_CLASSES = ("Accelerator", "Performance")


@dataclass(frozen=True)
class DaemonSetRequests:
    """What Autopilot does with the requests of a DaemonSet's containers, which are not a Pod's: its own
    defaults per container (vCPU, GiB), and its own minimum and maximum values, None where gkeml has not
    confirmed them (gkeml then claims nothing: a DaemonSet is not held to the Pod classes' minimums, ratios
    and maxima)."""

    default_cpu: float
    default_memory_gib: float
    default_ephemeral_gib: float
    min_cpu: float | None
    min_memory_gib: float | None
    max_cpu: float | None
    max_memory_gib: float | None
    source: str


# concepts/autopilot-resource-requests, 'Default resource requests' and 'Resource requests for DaemonSets'
# (checked 2026-12-05): "regardless of the compute class or hardware configuration", a container of a DaemonSet
# that requests nothing gets 50 mCPU, 100 MiB of memory and 100 MiB of ephemeral storage (every other
# container: 1 GiB of ephemeral storage), and "Autopilot has different default, minimum, and maximum values for
# containers in DaemonSets". Autopilot says so at admission: "Autopilot set default resource requests on
# DaemonSet <ns>/<name> for containers ..., as resource requests were not specified"
# (signalfx/splunk-otel-collector-chart#595, 2022-12-07), and raises requests below its DaemonSet minimums
# ("Autopilot increased resource requests for DaemonSet default/cluster-tools to meet requirements",
# lfn-cnti/testsuite#1675, 2022-10-06). The minimum and maximum values themselves were not in the copies of the
# page read here: not confirmed, so not modelled.
DAEMONSET_REQUESTS = DaemonSetRequests(
    0.05,
    100 / 1024,
    100 / 1024,
    None,
    None,
    None,
    None,
    "cloud.google.com/kubernetes-engine/docs/concepts/autopilot-resource-requests ('Default resource requests', "
    "'Resource requests for DaemonSets'; checked 2026-12-05); Autopilot's admission warning 'Autopilot set "
    "default resource requests on DaemonSet' (signalfx/splunk-otel-collector-chart#595)",
)

# --- security (concepts/autopilot-security) ------------------------------------
# The Linux capabilities Autopilot admits in securityContext.capabilities.add, as GKE Warden lists them when it
# refuses another ("[denied by autogke-default-linux-capabilities] linux capability 'SYS_ADMIN' on container
# 'dfdaemon' not allowed; Autopilot only allows the capabilities: 'AUDIT_WRITE,CHOWN,...'":
# dragonflydb/dragonfly#1516, 2023-07-04; SumoLogic/sumologic-kubernetes-collection#3437, 2023-12-08;
# CrowdStrike/falcon-helm#310, 2024-09-06, the same list each time). Anything else is refused (NET_ADMIN,
# SYS_ADMIN, BPF, ALL), and so is a name written with the CAP_ prefix ("linux capability 'CAP_CHOWN' ... not
# allowed", #3437). NET_RAW is admitted. Checked 2026-12-05.
ALLOWED_CAPABILITIES = (
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "NET_RAW",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
    "SYS_PTRACE",
)
READ_ONLY_HOSTPATH_PREFIX = "/var/log/"

# --- Autopilot admission: GKE Warden's constraints, workload allowlists, what belongs to GKE Standard ---------
# GKE Warden, Autopilot's admission webhook, names each constraint a request violates ("GKE Warden rejected the
# request because it violates one or more constraints. Violations details: {"[denied by <constraint>]": [...]}"),
# and a WorkloadAllowlist names the constraints it exempts a workload from the same way (reference/crds/
# workloadallowlist: "exemptions: - autogke-disallow-hostnamespaces - autogke-disallow-privilege"). Quoted in
# lfn-cnti/testsuite#1675 (2022-10-06: privilege, host namespaces, hostPath), sourcegraph/sourcegraph-public-
# snapshot#52900 (2023-06-04: hostPID, hostPath /, /sys, /proc), SigNoz/charts#310 (2023-10-26: host ports,
# hostPath), CrowdStrike/falcon-helm#310 (2024-09-06: capabilities). Checked 2026-12-05.
WARDEN_PRIVILEGE = "autogke-disallow-privilege"
WARDEN_HOST_NAMESPACES = "autogke-disallow-hostnamespaces"
WARDEN_HOST_PORT = "autogke-no-host-port"
WARDEN_HOST_PATH = "autogke-no-write-mode-hostpath"
WARDEN_CAPABILITIES = "autogke-default-linux-capabilities"
WARDEN_NODE_SELECTION = "autogke-node-affinity-selector-limitation"

# Privileged workloads Autopilot admits by allowlist (how-to/run-autopilot-partner-workloads; reference/crds/
# workloadallowlist and allowlistsynchronizer; concepts/about-autopilot-privileged-workloads; checked 2026-12-05):
# partners (and verified open-source projects) publish WorkloadAllowlists; an AllowlistSynchronizer
# (spec.allowlistPaths, such as "CrowdStrike/falcon-sensor/*") installs them in the cluster and re-reads them every
# 10 minutes; a WorkloadAllowlist carries, at its top level, the constraints it exempts (exemptions) and the part
# of the pod spec a workload must match (matchingCriteria, containerImageDigests). A pod names the allowlist it
# matches with the label cloud.google.com/matching-allowlist, as the partners' charts set it (CrowdStrike
# falcon-helm "crowdstrike-falconsensor-deploy-allowlist-<version>", Sysdig "sysdig-agent-v1.1.4", SentinelOne
# helm-charts#247, Datadog's operator "datadog-datadog-daemonset-exemption-v1.0.6").
ALLOWLIST_API = "auto.gke.io/v1"
WORKLOAD_ALLOWLIST_KIND = "WorkloadAllowlist"
ALLOWLIST_SYNCHRONIZER_KIND = "AllowlistSynchronizer"
MATCHING_ALLOWLIST_LABEL = "cloud.google.com/matching-allowlist"
ALLOWLIST_SOURCE = (
    "cloud.google.com/kubernetes-engine/docs/how-to/run-autopilot-partner-workloads; "
    "cloud.google.com/kubernetes-engine/docs/reference/crds/workloadallowlist (exemptions, matchingCriteria); "
    "the label cloud.google.com/matching-allowlist as partners' charts set it (CrowdStrike/falcon-helm, "
    "Sentinel-One/helm-charts#247); checked 2026-12-05"
)

# What places a workload on GKE Standard rather than Autopilot. A node pool: Autopilot refuses selecting one
# ("[denied by autogke-node-affinity-selector-limitation] Key 'cloud.google.com/gke-nodepool' is not allowed
# with node selector; Autopilot only allows labels with keys: cloud.google.com/compute-class, ...":
# GoogleCloudPlatform/ai-on-gke#983, 2025-02-17). Extra network interfaces (multi-network Pods name them in
# networking.gke.io/interfaces) are supported on Autopilot from 1.29.5-gke.1091000 and 1.30.1-gke.1280000
# (how-to/setup-multinetwork-support-for-pods), so they alone do not; on the host network (the multi-NIC setups
# of GPU and TPU node pools) they do. Checked 2026-12-05.
NODE_POOL_LABEL = "cloud.google.com/gke-nodepool"
MULTI_NETWORK_ANNOTATION = "networking.gke.io/interfaces"
STANDARD_TARGET_SOURCE = (
    "GKE Warden's refusals: autogke-node-affinity-selector-limitation on cloud.google.com/gke-nodepool "
    "(GoogleCloudPlatform/ai-on-gke#983), managed-namespaces-limitation on kube-system "
    "(terraform-google-modules/terraform-google-kubernetes-engine#2348), autogke-disallow-privilege, "
    "autogke-disallow-hostnamespaces and autogke-no-write-mode-hostpath on node agents (lfn-cnti/testsuite#1675, "
    "sourcegraph/sourcegraph-public-snapshot#52900); "
    "cloud.google.com/kubernetes-engine/docs/how-to/setup-multinetwork-support-for-pods; checked 2026-12-05"
)
PD_STORAGE_CLASSES = ("standard-rwo", "premium-rwo", "standard", "premium")

# --- multi-node training (kubernetes.io job-with-pod-to-pod-communication) ------
JOB_NAME_LABEL = "job-name"
JOB_COMPLETION_INDEX_ENV = "JOB_COMPLETION_INDEX"
KUEUE_QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
# A suspended Job waits with no bound: Kueue keeps it suspended until its ClusterQueue has room (it has no
# queueing deadline), and "the Job's .spec.activeDeadlineSeconds timer will be stopped and reset when a Job is
# suspended and resumed" (kubernetes.io/docs/concepts/workloads/controllers/job, "Suspending a Job";
# checked 2026-12-04). None: unbounded.
KUEUE_QUEUE_WAIT_SECONDS: int | None = None

# --- Kueue (job queueing) ------------------------------------------------------------
# Sources (checked 2026-11): github.com/kubernetes-sigs/kueue tag v0.19.2 (commit 8eab6877, 2026-08-20):
# charts/kueue/README.md (the chart at oci://registry.k8s.io/kueue/charts/kueue), charts/kueue/values.yaml,
# hack/helm-chart-package.sh (the released chart runs registry.k8s.io/kueue/kueue:v<version>),
# charts/kueue/templates/webhook/manifests.yaml (mutating/validating webhooks, failurePolicy Fail; the Job
# webhooks' namespaceSelector is the config's managedJobsNamespaceSelector), templates/crd/ (CRDs as chart
# templates; v1beta1 served and deprecated, v1beta2 the storage version), apis/kueue/v1beta2/*_types.go,
# apis/config/v1beta2/{configuration_types,defaults}.go (Configuration: waitForPodsReady is always on in
# v1beta2, default timeout 30 min; fairSharing on when the section is present; resources undeclared in a
# ClusterQueue block admission unless excluded), pkg/scheduler/flavorassigner/flavorassigner.go (a flavor
# is tried only for pods that tolerate its nodeTaints and whose node selector matches its OWN nodeLabels
# keys; admission adds the flavor's nodeLabels to the pod's nodeSelector),
# site/.../opt_in_namespace_management.md (label namespaces, select them with managedJobsNamespaceSelector).
# The helm provider (hashicorp/terraform-provider-helm v3.1.2, helm/resource_helm_release.go) takes an OCI
# chart as repository "oci://registry.k8s.io/kueue/charts" + chart "kueue", and plans a release without
# rendering it against the cluster (no CRD is needed at plan time).
KUEUE_VERSION = "0.19.2"
KUEUE_CHART_REPOSITORY = "oci://registry.k8s.io/kueue/charts"
KUEUE_CHART = "kueue"
KUEUE_IMAGE = "registry.k8s.io/kueue/kueue"
KUEUE_NAMESPACE = "kueue-system"  # the Configuration's default namespace (apis/config/v1beta2/defaults.go)
KUEUE_RELEASE = "kueue"  # the chart names its objects after the release: kueue-controller-manager, ...
KUEUE_API = "kueue.x-k8s.io/v1beta2"
KUEUE_CONFIG_API = "config.kueue.x-k8s.io/v1beta2"
KUEUE_GROUP = "kueue.x-k8s.io"
# Kinds whose CRDs the chart installs (templates/crd/): no kubernetes_manifest may have one of them,
# because kubernetes_manifest needs the CRD when Terraform PLANS, before the chart is installed.
KUEUE_CRD_KINDS = (
    "AdmissionCheck",
    "ClusterQueue",
    "Cohort",
    "LocalQueue",
    "MultiKueueCluster",
    "MultiKueueConfig",
    "ProvisioningRequestConfig",
    "ResourceFlavor",
    "Topology",
    "WorkloadPriorityClass",
    "Workload",
)
# Opt-in namespace management: Kueue manages (and its Job webhook intercepts) Jobs only in namespaces
# with this label (site/.../opt_in_namespace_management.md uses this label name).
KUEUE_MANAGED_NAMESPACE_LABEL = "managed-by-kueue"
# The chart's enableVisibilityAPF creates a FlowSchema and PriorityLevelConfiguration that GKE's flowcontrol
# guardrail webhook denied (kubernetes-sigs/kueue #5374): it must stay false on GKE.
KUEUE_VISIBILITY_APF = False
# With internal certificate management the webhook can answer 502 for 10-30 s after the manager pod runs,
# even once the Deployment is Ready (kubernetes-sigs/kueue #13036, open); cluster-toolkit #5549 sleeps 60 s
# after the chart. Kueue's own e2e retries a server-side dry-run create of a ResourceFlavor until it passes
# (hack/testing/e2e-kueueviz-backend.sh, kueue PR #12016): gkeml does the same from a Helm hook Job, with
# the official kubectl image (registry.k8s.io/kubectl, published since Kubernetes 1.28, kubernetes PR
# #116672; built FROM registry.k8s.io/build-image/debian-base with ENTRYPOINT ["/bin/kubectl"]:
# kubernetes/kubernetes build/server-image/kubectl/Dockerfile). The Job runs the binary, no shell script.
KUBECTL_IMAGE = "registry.k8s.io/kubectl:v1.34.3"
KUBECTL_BINARY = "/bin/kubectl"

# Kueue's manager in more than one replica (checked 2026-12-04 at v0.19.2). Its Job webhooks fail closed
# (charts/kueue/templates/webhook/manifests.yaml: mjob/vjob failurePolicy Fail), so while no manager pod
# answers, every Job create in a managed namespace is refused. Every replica serves the webhooks (they are
# controller-runtime webhook servers, which need no leader election: cmd/kueue/main.go webhooks.Setup; the
# role tracker only labels logs, pkg/webhooks/webhooks.go) and bootstraps the shared certificate
# (pkg/util/cert/cert.go), while the leader alone admits workloads. The chart's values
# controllerManager.replicas (default 1) and controllerManager.podDisruptionBudget {enabled (default false),
# minAvailable} (templates/manager/manager-pdb.yaml) set it.
KUEUE_MANAGER_REPLICAS = 2
KUEUE_MANAGER_MIN_AVAILABLE = 1
# The chart names the manager's service account after the release (templates/manager/manager.yaml,
# "{{ include "kueue.fullname" . }}-controller-manager"; fullname is the release name when it holds "kueue").
KUEUE_MANAGER_SERVICE_ACCOUNT = f"{KUEUE_RELEASE}-controller-manager"
# The visibility API server (on by default: feature VisibilityOnDemand, pkg/features/kube_features.go; the
# manager exits when it cannot start, cmd/kueue/main.go) reads the API server's client CA from the ConfigMap
# below, like every aggregated API server (k8s.io/apiserver DelegatingAuthenticationOptions). The chart grants
# that with a RoleBinding IN kube-system (templates/visibility/role_binding.yaml), unless
# enableVisibilityAuthReaderRoleBinding (default true) is false; gkeml turns it off and grants the same read
# cluster-wide, limited to that ConfigMap's name (EXTENSION_APISERVER_AUTHENTICATION_RULE).
KUEUE_VISIBILITY_AUTH_READER_VALUE = ("enableVisibilityAuthReaderRoleBinding",)
# waitForPodsReady: always on in Configuration v1beta2 (apis/config/v1beta2/defaults.go), 30 minutes unless set.
KUEUE_PODS_READY_TIMEOUT_DEFAULT = "30m"

# What an aggregated API server (Kueue's visibility server, the metrics adapter) reads to authenticate the
# API server's proxied requests: the ConfigMap kube-system/extension-apiserver-authentication. Kubernetes'
# bootstrap Role kube-system/extension-apiserver-authentication-reader grants exactly this rule
# (plugin/pkg/auth/authorizer/rbac/bootstrappolicy/namespace_policy.go: get, list, watch on configmaps with
# resourceNames [extension-apiserver-authentication]); list and watch are authorized by resourceNames when
# the request selects the name (metadata.name field selector, which the client-CA controller of
# k8s.io/apiserver uses). The same rule in a ClusterRole bound cluster-wide reaches that one name in any
# namespace, and only kube-system has it: no object of ours needs to live in kube-system.
EXTENSION_APISERVER_AUTHENTICATION_CONFIGMAP = "extension-apiserver-authentication"
EXTENSION_APISERVER_AUTHENTICATION_RULE: dict[str, Any] = {
    "apiGroups": [""],
    "resources": ["configmaps"],
    "resourceNames": [EXTENSION_APISERVER_AUTHENTICATION_CONFIGMAP],
    "verbs": ["get", "list", "watch"],
}

# --- Kueue priorities (WorkloadPriorityClass) -----------------------------------------------
# kubernetes-sigs/kueue v0.19.2 site/content/en/docs/concepts/workload_priority_class.md and
# tasks/manage/run_job_with_workload_priority.md (checked 2026-12-05): a cluster-scoped
# WorkloadPriorityClass (kueue.x-k8s.io/v1beta2, `value` int32, `description` at most 2048 characters,
# templates/crd/kueue.x-k8s.io_workloadpriorityclasses.yaml) is named by a job's label below; its value is the
# Workload's priority for queueing and preemption only, never the pods' (the pod scheduler's PriorityClass is
# separate). The label may change while the job is suspended. A job without it gets priority 0 unless the alpha
# feature WorkloadPriorityClassDefaulting is on (setup_default_workload_priority_class.md): gkeml writes the
# label on every queued job instead.
KUEUE_PRIORITY_CLASS_LABEL = "kueue.x-k8s.io/priority-class"
WORKLOAD_PRIORITY_DESCRIPTION_MAX = 2048
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1

# --- JobSet (multi-node training) ----------------------------------------------------------------
# Sources (checked 2026-12-05): github.com/kubernetes-sigs/jobset tag v0.12.0 (commit f22e565a, 2026-05-08), the
# version Kueue v0.19.2 builds against (its go.mod: sigs.k8s.io/jobset v0.12.0):
# - charts/jobset/README.md: `helm install jobset oci://registry.k8s.io/jobset/charts/jobset --version 0.12.0`;
#   hack/helm-chart-package.sh: the released chart runs registry.k8s.io/jobset/jobset:v<version> (values.yaml says
#   a staging image with tag main, replaced at packaging);
# - charts/jobset/values.yaml: controller.replicas 1, controller.podDisruptionBudget.enabled false, resources
#   requests 500m/128Mi limits 2/4Gi, a non-root restricted security context, no hostNetwork; the chart writes
#   nothing outside its release namespace and creates no Namespace (templates/);
# - charts/jobset/templates/webhook/manifests.yaml: mutating and validating webhooks on jobsets (CREATE, UPDATE)
#   and on every pod CREATE labelled jobset.sigs.k8s.io/jobset-name, in every namespace, with no failurePolicy:
#   admissionregistration/v1 makes that Fail. While no controller pod answers, no JobSet and no JobSet pod is
#   created anywhere.
# - main.go, pkg/util/cert/cert.go: the webhook certificate is generated in-process (open-policy-agent
#   cert-controller) into the Secret jobset-webhook-server-cert and injected into the webhook configurations by
#   name (jobset-{validating,mutating}-webhook-configuration); the pod is Ready once the webhook server listens
#   with its certificate, and every replica serves the webhooks (controller-runtime webhook servers need no leader).
#   As with Kueue (kubernetes-sigs/kueue #13036), the API server may fail the webhook call for some seconds after
#   that: gkeml waits for a server-side dry run to pass (gkeml.manifests.jobset).
# - api/jobset/v1alpha2/jobset_types.go, pkg/webhooks/jobset_webhook.go, pkg/controllers/jobset_controller.go:
#   child Jobs are named <jobset>-<replicatedJob>-<jobIndex> and their pods' hostnames
#   <jobset>-<replicatedJob>-<jobIndex>-<completion index>; network.enableDNSHostnames (default true) gives each
#   pod that DNS name under the JobSet's own headless Service <subdomain> (default: the JobSet's name), with
#   publishNotReadyAddresses (default true); the webhook refuses a JobSet whose generated Job names, or pod names
#   plus a 5-character suffix, pass 63 characters or are no DNS-1035 label. failurePolicy.rules: the first rule
#   matching a failed child Job's reason acts (RestartJobSet counts against maxRestarts,
#   RestartJobSetAndIgnoreMaxRestarts does not, FailJobSet ends it); no matching rule restarts the JobSet
#   (site/content/en/docs/tasks/failure_policy.md, the host-maintenance example: a child Job whose
#   podFailurePolicy FailJob matches DisruptionTarget fails with reason PodFailurePolicy).
# - site/content/en/docs/installation: JobSet supports the last three Kubernetes minor versions (its e2e runs on
#   Kubernetes 1.34, Makefile E2E_KIND_VERSION); GKE's channels serve 1.34 and later (CHANNEL_VERSIONS).
# Kueue (v0.19.2 pkg/controller/jobframework/setup.go): with the framework jobset.x-k8s.io/jobset in its
# integrations, Kueue registers its JobSet webhooks at start and, when the JobSet CRD is not served yet, starts
# its JobSet controller once it is (polling with a back-off of at most 2 minutes); its chart restarts the manager
# on a configuration change (templates/manager/manager.yaml config-checksum).
JOBSET_VERSION = "0.12.0"
JOBSET_CHART_REPOSITORY = "oci://registry.k8s.io/jobset/charts"
JOBSET_CHART = "jobset"
JOBSET_IMAGE = "registry.k8s.io/jobset/jobset"
JOBSET_NAMESPACE = "jobset-system"  # the chart's documented namespace (charts/jobset/README.md)
JOBSET_RELEASE = "jobset"  # the chart names its objects after the release: jobset-controller, ...
JOBSET_GROUP = "jobset.x-k8s.io"
JOBSET_API = f"{JOBSET_GROUP}/v1alpha2"
JOBSET_CRD_KINDS = ("JobSet",)
BATCH_JOB_KUEUE_FRAMEWORK = (
    "batch/job"  # Kueue's integration name for batch/v1 Jobs (its configuration's integrations.frameworks)
)
JOBSET_KUEUE_FRAMEWORK = "jobset.x-k8s.io/jobset"
JOBSET_NAME_LABEL = "jobset.sigs.k8s.io/jobset-name"
JOBSET_CONTROLLER_REPLICAS = 2
JOBSET_CONTROLLER_MIN_AVAILABLE = 1
JOBSET_CONTROLLER_PORTS = (9443, 8443, 8081)  # webhook, metrics, probes (templates/controller/deployment.yaml)
JOBSET_CONTROLLER_SERVICE_ACCOUNT = f"{JOBSET_RELEASE}-controller"
JOBSET_POD_SUFFIX = 6  # '-' and the 5 random characters the Job controller appends to a pod's name
JOBSET_MIN_GKE_VERSION = "1.34"
# GKE's JOBSET metrics package (monitoring.components): "JOBSET is only supported in GKE 1.32.1-gke.1357001 and
# above" (hashicorp/terraform-provider-google website/docs/r/container_cluster.html.markdown, monitoring_config
# enable_components; checked 2026-12-05).
JOBSET_METRICS_MIN_GKE_VERSION = "1.32.1-gke.1357001"

# --- LeaderWorkerSet: multi-host serving (a model that does not fit one node) -----------------------------
# Sources (read 2026-12-05): github.com/kubernetes-sigs/lws at tag v0.10.0 (commit 2161f38f, 2026-08-11):
# - site/content/en/docs/installation/_index.md: `helm install lws oci://registry.k8s.io/lws/charts/lws
#   --version=0.10.0`; "A Kubernetes cluster with version >= 1.26 is Required"; Makefile / hack/push-chart.sh: the
#   released chart is packaged with --version and --app-version the tag, so it runs registry.k8s.io/lws/lws:v0.10.0
#   (values.yaml names tag main, pullPolicy Always: gkeml pins the tag);
# - charts/lws/values.yaml: replicaCount 1, requests 1 CPU / 1Gi and no limits, a non-root, read-only, no-
#   capability security context; charts/lws/crds/ holds the LeaderWorkerSet CRD (and DisaggregatedSet's: gkeml
#   leaves enableDisaggregatedSet off); no PodDisruptionBudget template, no Namespace;
# - charts/lws/templates/webhook/webhook.yaml: mutating and validating webhooks on leaderworkersets (CREATE, UPDATE)
#   and on every pod CREATE labelled leaderworkerset.sigs.k8s.io/name, failurePolicy Fail, in every namespace;
#   templates/manager/configmap.yaml: internal certificate management and leader election (every replica serves
#   the webhooks; only the leader reconciles): gkeml runs two replicas with a PodDisruptionBudget of its own;
# - api/leaderworkerset/v1/leaderworkerset_types.go: the scale subresource (spec.replicas = groups, status.
#   hpaPodSelector selects the leaders only: name label and worker-index "0"); restartPolicy
#   RecreateGroupOnPodRestart (default) recreates a whole group when one of its pods restarts; the pods carry
#   leaderworkerset.sigs.k8s.io/name, group-index, group-key, worker-index and the env LWS_LEADER_ADDRESS,
#   LWS_GROUP_SIZE, LWS_WORKER_INDEX (pkg/webhooks/pod_webhook.go);
# - site/content/en/docs/examples/hpa.md: "LeaderWorkerSet supports Horizontal Pod Autoscaler (HPA) through its
#   scale subresource ... HPA monitors leader pods only ... scaling affects the number of replica groups";
# - docs/examples/vllm/GPU/lws.yaml: vLLM across nodes with Ray: the leader runs `multi-node-serving.sh leader
#   --ray_cluster_size=$(LWS_GROUP_SIZE)` then the OpenAI server with --tensor-parallel-size (GPUs per node) and
#   --pipeline-parallel-size (nodes), each worker `multi-node-serving.sh worker --ray_address=$(LWS_LEADER_ADDRESS)`
#   (the script ships in the vllm/vllm-openai image; GKE's tutorial serve-multihost-gpu does the same).
LWS_VERSION = "0.10.0"
LWS_CHART_REPOSITORY = "oci://registry.k8s.io/lws/charts"
LWS_CHART = "lws"
LWS_IMAGE = "registry.k8s.io/lws/lws"
LWS_NAMESPACE = "lws-system"  # the chart's documented namespace (charts/lws/README.md)
LWS_RELEASE = "lws"  # the chart names its objects after the release: lws-controller-manager, ...
LWS_GROUP = "leaderworkerset.x-k8s.io"
LWS_API = f"{LWS_GROUP}/v1"
LWS_CRD_KINDS = ("LeaderWorkerSet", "DisaggregatedSet", "DisaggregatedSetRoleScaler")
LWS_CONTROLLER_REPLICAS = 2
LWS_CONTROLLER_MIN_AVAILABLE = 1
LWS_CONTROLLER_PORTS = (9443, 8443, 8081)  # webhook, metrics, probes (templates/manager/deployment.yaml)
LWS_CONTROLLER_LABELS = {"control-plane": "controller-manager"}  # the Deployment's pod labels (with the chart's)
LWS_NAME_LABEL = "leaderworkerset.sigs.k8s.io/name"
LWS_WORKER_INDEX_LABEL = "leaderworkerset.sigs.k8s.io/worker-index"  # "0" on a group's leader
LWS_GROUP_KEY_LABEL = "leaderworkerset.sigs.k8s.io/group-key"  # one value per group
VLLM_MULTI_NODE_SCRIPT = "/vllm-workspace/examples/online_serving/multi-node-serving.sh"
# A group's pods in one zone: podAffinity matchLabelKeys (kubernetes.io/docs/concepts/scheduling-eviction/
# assign-pod-node 'matchLabelKeys': beta and on by default from Kubernetes 1.31, MatchLabelKeysInPodAffinity);
# LWS itself asks for 1.26 or later.
LWS_MIN_GKE_VERSION = "1.31"

# Custom-resource kinds each Helm chart installs a CRD for, by chart name: the data the first-apply check
# and the deploy-sequence simulation (gkeml.lifecycle.sequence) read (a kubernetes_manifest of one of these
# kinds cannot be planned before the chart is installed, and can once it is).
CHART_CRD_KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    KUEUE_CHART: (KUEUE_GROUP, KUEUE_CRD_KINDS),
    JOBSET_CHART: (JOBSET_GROUP, JOBSET_CRD_KINDS),
    LWS_CHART: (LWS_GROUP, LWS_CRD_KINDS),
}

# --- Custom Metrics Stackdriver Adapter (HPA External, Object and Pods metrics) -------------
# Sources (checked 2026-11-30): github.com/GoogleCloudPlatform/k8s-stackdriver at commit 673c7dd8
# (2026-08-18; the file last changed in af49d863, 2026-08-17, "update custom-metrics-stackdriver-adapter
# image to v0.16.9-gke.0"): custom-metrics-stackdriver-adapter/deploy/production/
# adapter_new_resource_model.yaml (the objects, the image, flags, requests 250m/200Mi, the readiness probe),
# README.md (Workload Identity: the KSA custom-metrics/custom-metrics-stackdriver-adapter needs
# monitoring.viewer), adapter.go (flags; it exits when its first Cloud Monitoring call fails), Dockerfile
# (gcr.io/distroless/static, binary /adapter, no USER: root unless the pod says otherwise). Its server is
# sigs.k8s.io/custom-metrics-apiserver v1.35.0 on k8s.io/apiserver: --secure-port defaults to 443 and
# --cert-dir to "apiserver.local.config/certificates" relative to the working directory (/), where it
# WRITES a self-signed certificate when none is given (SecureServingOptions.MaybeDefaultWithSelfSignedCerts).
# GKE's tutorial (cloud.google.com/kubernetes-engine/docs/tutorials/autoscaling-metrics) grants
# roles/monitoring.viewer to the adapter KSA's principal:// member. HPA metric types and the API that
# serves each: kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale (Resource and
# ContainerResource: metrics.k8s.io, GKE's own; Pods and Object: custom.metrics.k8s.io; External:
# external.metrics.k8s.io).
METRICS_ADAPTER_IMAGE = "gcr.io/gke-release/custom-metrics-stackdriver-adapter"  # the allowlist pattern's stem
METRICS_ADAPTER_TAG = "v0.16.9-gke.0"
METRICS_ADAPTER_PINNED_IMAGE = f"{METRICS_ADAPTER_IMAGE}:{METRICS_ADAPTER_TAG}"
METRICS_ADAPTER_BINARY = "/adapter"
METRICS_ADAPTER_NAMESPACE = "custom-metrics"
METRICS_ADAPTER_KSA = "custom-metrics-stackdriver-adapter"  # also its Deployment's and Service's name
METRICS_ADAPTER_UID = 65532  # distroless "nonroot"; any non-root UID works for a static binary
METRICS_ADAPTER_HPA_TYPES = ("External", "Object", "Pods")  # HPA metric types the adapter serves
# (group, version, versionPriority) of each APIService the manifest registers; groupPriorityMinimum 100.
METRICS_ADAPTER_APIS = (
    ("custom.metrics.k8s.io", "v1beta1", 100),
    ("custom.metrics.k8s.io", "v1beta2", 200),
    ("external.metrics.k8s.io", "v1beta1", 100),
)
METRICS_ADAPTER_GROUP_PRIORITY_MINIMUM = 100
# The HPA controller's service account, which the manifest lets read external metrics.
HPA_CONTROLLER_SERVICE_ACCOUNT = ("kube-system", "horizontal-pod-autoscaler")
# How an HPA names an External metric the adapter serves: the Cloud Monitoring metric type (DOMAIN/PATH,
# cloud.google.com/monitoring/api/v3/naming-conventions, e.g. pubsub.googleapis.com/subscription/
# num_undelivered_messages or prometheus.googleapis.com/NAME/gauge) with every '/' written as '|'. The name
# is one segment of the external.metrics.k8s.io URL path the HPA controller calls, and the adapter turns
# each '|' back into '/' (custom-metrics-stackdriver-adapter pkg/adapter/provider/provider.go
# getExternalMetricName, strings.Replace at cm-sd-adapter-v0.16.9); Kubernetes refuses an HPA metric name
# holding '/' or '%' (pkg/apis/autoscaling/validation validateMetricIdentifier: IsValidPathSegmentName).
# Checked 2026-12-04. Characters of a metric type's parts: letters, digits, '_', '.', '-' and Prometheus's ':'.
EXTERNAL_METRIC_SEPARATOR = "|"
EXTERNAL_METRIC_NAME = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+(\|[-_.:A-Za-z0-9]+)+$"

# --- W&B Launch agent (github.com/wandb/helm-charts) ----------------------------
WANDB_CHART_REPOSITORY = "https://charts.wandb.ai"
WANDB_CHART_REPOSITORIES = (WANDB_CHART_REPOSITORY, "https://wandb.github.io/helm-charts")
WANDB_LAUNCH_AGENT_CHART = "launch-agent"
WANDB_SERVER_OPERATOR_CHART = "operator"  # the W&B *server* operator: not a Launch agent
WANDB_LAUNCH_AGENT_CHART_VERSION = "0.13.12"  # charts/launch-agent/Chart.yaml, checked 2026-11
# The chart's values gkeml sets, read at wandb/helm-charts 82d5626a (chart 0.13.12, checked 2026-12-04):
# values.yaml and templates/deployment.yaml. agent.image defaults to the Docker Hub SHORT name
# wandb/launch-agent:0.17.3 (the image of every chart from 0.13.7 on); gkeml writes it fully qualified so
# the Binary Authorization allowlist pattern (WANDB_LAUNCH_AGENT_IMAGE*) matches it as written.
WANDB_LAUNCH_AGENT_TAG = "0.17.3"
# agent.startTimeout becomes WANDB_LAUNCH_START_TIMEOUT: the agent cancels (deletes the Job of) a run still
# "starting", no pod Running, after that many seconds; 0 turns the check off (wandb/wandb
# sdk/launch/agent/agent.py: `if state == "starting" and RUN_START_TIMEOUT > 0`, default 60 * 30).
WANDB_LAUNCH_START_TIMEOUT_DEFAULT = 1800
WANDB_LAUNCH_START_TIMEOUT_VALUE = ("agent", "startTimeout")
# agent.podAnnotations (pod template annotations; from chart 0.13.11 on) is how gkeml restarts the agent when
# its API key version changes: the agent reads WANDB_API_KEY from the Secret only when its container starts.
WANDB_LAUNCH_POD_ANNOTATIONS_VALUE = ("agent", "podAnnotations")
WANDB_LAUNCH_POD_ANNOTATIONS_MIN_CHART = "0.13.11"
# Where the agent runs and launches into when the values do not say (values.yaml namespace,
# additionalTargetNamespaces).
WANDB_LAUNCH_DEFAULT_NAMESPACE = "wandb"
WANDB_LAUNCH_DEFAULT_TARGETS = ("default", "wandb")


@dataclass(frozen=True)
class StartTimeoutProducer:
    """A chart whose controller creates workloads and cancels one that has not started within a timeout:
    where it creates them (its own namespace and target namespaces, as values with defaults) and the
    timeout (a value in seconds, its default, 0 = never)."""

    chart: str
    repositories: tuple[str, ...]
    timeout: tuple[str, ...]
    timeout_default: float
    namespace: tuple[str, ...]
    namespace_default: str
    targets: tuple[str, ...]
    targets_default: tuple[str, ...]
    what: str  # what it does at the timeout


START_TIMEOUT_PRODUCERS: tuple[StartTimeoutProducer, ...] = (
    StartTimeoutProducer(
        WANDB_LAUNCH_AGENT_CHART,
        WANDB_CHART_REPOSITORIES,
        WANDB_LAUNCH_START_TIMEOUT_VALUE,
        WANDB_LAUNCH_START_TIMEOUT_DEFAULT,
        ("namespace",),
        WANDB_LAUNCH_DEFAULT_NAMESPACE,
        ("additionalTargetNamespaces",),
        WANDB_LAUNCH_DEFAULT_TARGETS,
        "the W&B Launch agent cancels a run still starting (no pod Running) and deletes its Job",
    ),
)


def wandb_launch_service_account(release: str) -> str:
    """The KSA the launch-agent chart creates (templates/rbac.yaml)."""
    return f"wandb-launch-serviceaccount-{release}"


def wandb_api_key_secret(release: str) -> str:
    """The Secret (key ``password``) the chart reads the API key from (templates/deployment.yaml)."""
    return f"wandb-api-key-{release}"


# Key of wandb_api_key_secret() that the chart and the Launch agent read (wandb/wandb
# sdk/launch/runner/kubernetes_runner.py, ensure_api_key_secret; checked 2026-11).
WANDB_API_KEY_SECRET_KEY = "password"

# --- Secret Manager secrets synchronized into Kubernetes Secrets by GKE -------------
# cloud.google.com/secret-manager/docs/sync-k8-secrets (checked 2026-11-30): Standard and Autopilot,
# Workload Identity required, enabled per cluster (container API SecretSyncConfig; Terraform
# google_container_cluster.secret_sync_config from google provider 7.33.0). The controller copies
# the version a SecretProviderClass (provider "gke") names into the Secret named after the
# SecretSync, as the SecretSync's Kubernetes service account (which needs secretAccessor on the
# secret through Workload Identity), and re-syncs every rotation interval. The English page says
# GKE 1.34 or later (translated copies say 1.33): 1.34 is used.
SECRET_SYNC_MIN_GKE_VERSION = "1.34"
SECRET_PROVIDER_CLASS_API = "secrets-store.csi.x-k8s.io/v1"
SECRET_SYNC_API = "secret-sync.gke.io/v1"
SECRET_SYNC_PROVIDER = "gke"
SECRET_SYNC_ROTATION_INTERVAL = "120s"  # the documented minimum of the Secret Manager add-on
SECRET_SYNC_SERVICE_ACCOUNT = "gkeml-secret-sync"  # the KSA gkeml creates for it in each namespace
SECRET_SYNC_SOURCE_PATH = "value"
# The SecretSync schema (secret-sync.gke.io/v1, as generated by kcl-doc, checked 2026-12-04) has
# spec.forceSynchronization ("the secret synchronization is triggered by changing the value in this field")
# and spec.secretObject.annotations (copied onto the Secret; prefix secrets-store.sync.x-k8s.io/ reserved).
# A pod that reads a synced Secret through env only when its container starts keeps the old value after a
# new version is synced: gkeml pins the version it syncs and writes it into the pod template of every
# long-running reader as the annotation SECRET_VERSION_ANNOTATION_PREFIX + <Secret name> (gkeml's own
# convention), so a version change is a rollout.
SECRET_SYNC_GROUPS = ("secret-sync.gke.io", "secrets-store.sync.x-k8s.io")
SECRET_VERSION_ANNOTATION_PREFIX = "secret.gkeml.io/"
SECRET_MANAGER_LATEST = "latest"


def secret_version_annotation(secret: str) -> str:
    """The pod template annotation that holds the synced version of ``secret`` a pod was started with."""
    return f"{SECRET_VERSION_ANNOTATION_PREFIX}{secret}"


# --- how Terraform reaches the cluster (kubernetes and helm providers) ---------------
# The providers run gke-gcloud-auth-plugin for a short-lived token on every call, so no token is
# ever written to Terraform state (a data.google_client_config.access_token in a provider block is
# stored in state: terraform-provider-google #11451, #24318). kubernetes/cloud-provider-gcp
# cmd/gke-gcloud-auth-plugin/cred.go: --use_application_default_credentials, ExecCredential
# client.authentication.k8s.io/v1beta1. Installed with `gcloud components install
# gke-gcloud-auth-plugin` (google-github-actions/setup-gcloud: install_components).
KUBE_EXEC_API_VERSION = "client.authentication.k8s.io/v1beta1"
KUBE_EXEC_COMMAND = "gke-gcloud-auth-plugin"
KUBE_EXEC_ARGS = ("--use_application_default_credentials",)
# Helm keeps release records in ConfigMaps, not Secrets, so a read-only identity can refresh a
# release without reading Secrets (hashicorp/terraform-provider-helm v3.1.x provider.go helm_driver).
HELM_DRIVER = "configmap"

# --- Binary Authorization (cloud.google.com/binary-authorization/docs, checked 2026-11-30) -----------
# PROJECT_SINGLETON_POLICY_ENFORCE enforces the project's one policy; a project that never set one
# has the default "allow all" (defaultAdmissionRule ALWAYS_ALLOW), so gkeml writes the policy it
# means: deny by default, allow the images the environment deploys. globalPolicyEvaluationMode
# ENABLE exempts Google-maintained system images ("a system policy that exempts Google-owned system
# images", policy-yaml-reference). admissionWhitelistPatterns: a wildcard only at the end, `*`
# within one path segment, `**` across segments.
BINAUTHZ_ENFORCEMENT = {"enforce": "ENFORCED_BLOCK_AND_AUDIT_LOG", "dryrun": "DRYRUN_AUDIT_LOG_ONLY"}
# Images gkeml itself deploys from outside the environment's registry (the charts' defaults).
WANDB_LAUNCH_AGENT_IMAGE = "docker.io/wandb/launch-agent"  # chart launch-agent values.yaml agent.image


def artifact_registry_hosts(region: str) -> tuple[str, ...]:
    """Docker hosts of Artifact Registry repositories a region's environment uses: the region's own
    and its multi-region (cloud.google.com/artifact-registry/docs/repositories/repo-locations)."""
    multi = {"us": "us", "europe": "europe", "asia": "asia"}.get(region.split("-")[0])
    return (f"{region}-docker.pkg.dev",) + ((f"{multi}-docker.pkg.dev",) if multi else ())


def image_matches(image: str, pattern: str) -> bool:
    """Whether an image reference matches an admission allowlist pattern (policy-yaml-reference:
    a wildcard only at the end; ``*`` does not cross '/', ``**`` does). Docker Hub short names are
    matched in their full form (``docker.io/...``, ``docker.io/library/...``)."""
    image = image.strip()
    first, _, rest = image.partition("/")
    if not rest:  # "nginx:1.27": an official Docker Hub image
        image = f"docker.io/library/{image}"
    elif "." not in first and ":" not in first and first != "localhost":  # "wandb/launch-agent:0.17.3"
        image = f"docker.io/{image}"
    if pattern.endswith("**"):
        return image.startswith(pattern[:-2])
    if pattern.endswith("*"):
        return image.startswith(pattern[:-1]) and "/" not in image[len(pattern) - 1 :]
    return image == pattern


# --- the project APIs every environment needs (its services may add more: gkeml/config/apis.py) --------
# Enabled by the bootstrap stack (a person with Service Usage Admin, before the first deploy) and declared
# again by the cloud stack. RESOURCE_APIS below says which resource types need each.
PROJECT_APIS = (
    "cloudresourcemanager.googleapis.com",
    "serviceusage.googleapis.com",
    "compute.googleapis.com",
    "container.googleapis.com",
    "iam.googleapis.com",
    "iamcredentials.googleapis.com",
    "sts.googleapis.com",
    "storage.googleapis.com",
    "secretmanager.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
    "binaryauthorization.googleapis.com",
    "containersecurity.googleapis.com",
    "artifactregistry.googleapis.com",
)


# --- which API serves which Terraform resource type -----------------------------------
# A resource can be created only once its API is enabled in the project (the API answers 403
# SERVICE_DISABLED before: cloud.google.com/service-usage/docs/enable-disable). Longest prefix wins.
# Checked 2026-11-30 against the provider's resource documentation (each page names its API).
RESOURCE_APIS: dict[str, str] = {
    "google_compute_": "compute.googleapis.com",
    "google_container_": "container.googleapis.com",
    "google_storage_": "storage.googleapis.com",
    "google_secret_manager_": "secretmanager.googleapis.com",
    "google_service_account": "iam.googleapis.com",
    "google_project_iam_custom_role": "iam.googleapis.com",
    "google_iam_workload_identity_pool": "iam.googleapis.com",
    "google_project_iam_": "cloudresourcemanager.googleapis.com",
    "google_binary_authorization_": "binaryauthorization.googleapis.com",
    "google_artifact_registry_": "artifactregistry.googleapis.com",
    "google_dns_": "dns.googleapis.com",
    "google_monitoring_": "monitoring.googleapis.com",
    "google_logging_": "logging.googleapis.com",
    "google_pubsub_": "pubsub.googleapis.com",
    "google_billing_budget": "billingbudgets.googleapis.com",
    "google_certificate_manager_": serving.CERTIFICATE_MANAGER_API,
    # what extensions commonly add (the Cloud SQL example: sqladmin, and private services access)
    "google_sql_": "sqladmin.googleapis.com",
    "google_service_networking_": "servicenetworking.googleapis.com",
    "google_redis_": "redis.googleapis.com",
}


def resource_api(resource_type: str, table: Mapping[str, str] | None = None) -> str | None:
    """The API a Terraform resource type needs enabled, or None (not a Google API resource); ``table``:
    :data:`RESOURCE_APIS` with what extensions add (gkeml.config.extensions.resource_apis)."""
    table = RESOURCE_APIS if table is None else table
    matches = [prefix for prefix in table if resource_type.startswith(prefix)]
    return table[max(matches, key=len)] if matches else None


# Namespaces that belong to Kubernetes and GKE: Kubernetes reserves the kube- prefix and runs every
# pod without a namespace in default (kubernetes.io/docs/concepts/overview/working-with-objects/
# namespaces); GKE manages gke-* and Managed Prometheus gmp-* (cloud.google.com/kubernetes-engine/docs/
# concepts/autopilot-security#managed-namespaces); checked 2026-11-30. Objects in them need no
# Namespace of ours, and a team may not take one.
SYSTEM_NAMESPACES = (
    "default",
    "kube-system",
    "kube-public",
    "kube-node-lease",
    "gke-managed-system",
    "gmp-system",
    "gmp-public",
)
SYSTEM_NAMESPACE_PREFIXES = ("kube-", "gke-", "gmp-")


def is_system_namespace(name: str) -> bool:
    """Whether ``name`` belongs to Kubernetes or GKE (see :data:`SYSTEM_NAMESPACES`)."""
    return name in SYSTEM_NAMESPACES or name.startswith(SYSTEM_NAMESPACE_PREFIXES)


# Namespaces Autopilot MANAGES: it denies creating or changing objects there ("GKE Warden authz [denied by
# managed-namespaces-limitation]: the namespace \"kube-system\" is managed and the request's verb \"create\" is
# denied": gitlab-org/charts/gitlab#5007 (Lease), prometheus-community/helm-charts #713 and #4833 (Service,
# ServiceAccount), cert-manager #3713 (Role)); GKE's own namespaces gke-* and Managed Service for
# Prometheus's gmp-system are GKE's (concepts/autopilot-security, "Managed namespaces"). gmp-public is not
# among them: it is where users configure Managed Prometheus (OperatorConfig). Checked 2026-12-04.
AUTOPILOT_MANAGED_NAMESPACES = ("kube-system", "gmp-system")
AUTOPILOT_MANAGED_NAMESPACE_PREFIXES = ("gke-",)


def is_managed_namespace(name: str) -> bool:
    """Whether Autopilot refuses objects of ours in namespace ``name``."""
    return name in AUTOPILOT_MANAGED_NAMESPACES or name.startswith(AUTOPILOT_MANAGED_NAMESPACE_PREFIXES)


@dataclass(frozen=True)
class ChartManagedNamespaceWrite:
    """An object a Helm chart renders into a managed namespace unless the value ``path`` is false."""

    chart: str
    path: tuple[str, ...]
    default: bool
    renders: str  # what, where


# Charts that write into a managed namespace by default (the charts gkeml installs or checks).
CHART_MANAGED_NAMESPACE_WRITES: tuple[ChartManagedNamespaceWrite, ...] = (
    ChartManagedNamespaceWrite(
        KUEUE_CHART,
        KUEUE_VISIBILITY_AUTH_READER_VALUE,
        True,
        "RoleBinding kube-system/<release>-visibility-server-auth-reader (templates/visibility/role_binding.yaml)",
    ),
)


@dataclass(frozen=True)
class ChartWebhookServer:
    """A chart whose admission webhook fails closed, and the values that make its server highly available."""

    chart: str
    replicas: tuple[str, ...]
    replicas_default: int
    disruption_budget: tuple[str, ...]  # a boolean value that turns the chart's PodDisruptionBudget on
    disruption_budget_default: bool
    webhook: str  # which webhook fails closed


CHART_WEBHOOK_SERVERS: tuple[ChartWebhookServer, ...] = (
    ChartWebhookServer(
        KUEUE_CHART,
        ("controllerManager", "replicas"),
        1,
        ("controllerManager", "podDisruptionBudget", "enabled"),
        False,
        "its Job webhooks (mjob.kb.io, vjob.kb.io: failurePolicy Fail)",
    ),
    ChartWebhookServer(
        JOBSET_CHART,
        ("controller", "replicas"),
        1,
        ("controller", "podDisruptionBudget", "enabled"),
        False,
        "its JobSet and pod webhooks (no failurePolicy: Fail)",
    ),
)


# --- what a cluster serves before anything is installed in it ---------------------------
# kubernetes_manifest looks an object's kind up in the API at PLAN time (terraform-provider-kubernetes
# manifest docs: "the cluster has to be accessible at plan time"; a missing CRD fails the plan). These
# API groups are built into Kubernetes; the GKE kinds below are installed by GKE in every Autopilot
# cluster (concepts/about-custom-compute-classes, how-to/ingress-configuration, how-to/managed-certs, the volume
# snapshot and GKE Volume Populator kinds: see their API constants), and the last two only when the cluster
# has the feature on (secret-manager/docs/sync-k8-secrets).
KUBERNETES_BUILTIN_GROUPS = (
    "",
    "apps",
    "batch",
    "autoscaling",
    "policy",
    "networking.k8s.io",
    "rbac.authorization.k8s.io",
    "apiregistration.k8s.io",
    "storage.k8s.io",
    "scheduling.k8s.io",
    "admissionregistration.k8s.io",
    "coordination.k8s.io",
    "discovery.k8s.io",
    "node.k8s.io",
    "certificates.k8s.io",
    "apiextensions.k8s.io",
)
# Managed Service for Prometheus's PodMonitoring: GKE installs it with managed collection (on by default on
# Autopilot; gkeml turns it on, constructs/monitoring.py), cloud.google.com/stackdriver/docs/managed-prometheus.
POD_MONITORING_API = "monitoring.googleapis.com/v1"
GKE_BUILTIN_KINDS = (
    (COMPUTE_CLASS_API, "ComputeClass"),
    (BACKEND_CONFIG_API, "BackendConfig"),
    (FRONTEND_CONFIG_API, "FrontendConfig"),
    (MANAGED_CERTIFICATE_API, "ManagedCertificate"),
    (SNAPSHOT_API, "VolumeSnapshotClass"),
    (SNAPSHOT_API, "VolumeSnapshotContent"),
    (SNAPSHOT_API, "VolumeSnapshot"),
    (VOLUME_POPULATOR_API, "GCPDataSource"),  # in clusters at or above GKE_FEATURE_MIN_VERSIONS' populator row
    # the Gateway API (gkeml's clusters set gateway_api_config CHANNEL_STANDARD) with GKE's policy kinds, and the
    # InferencePool CRD GKE installs from serving.INFERENCE_POOL_CRD_MIN_GKE_VERSION (gkeml.platform_serving)
    (serving.GATEWAY_API, "Gateway"),
    (serving.GATEWAY_API, "HTTPRoute"),
    (serving.GKE_POLICY_API, "HealthCheckPolicy"),
    (serving.GKE_POLICY_API, "GCPBackendPolicy"),
    (serving.INFERENCE_POOL_API, "InferencePool"),
    (POD_MONITORING_API, "PodMonitoring"),
)
CLUSTER_FEATURE_KINDS = {  # google_container_cluster block -> the kind it installs
    "secret_manager_config": (SECRET_PROVIDER_CLASS_API, "SecretProviderClass"),
    "secret_sync_config": (SECRET_SYNC_API, "SecretSync"),
}

# --- time: what exists at once but is usable only some time later (first-apply facts TF005-TF008) ----
# A log-based metric is refused by AlertPolicies.create for a while after it is created: "404 Cannot find
# metric(s) that match type = logging.googleapis.com/user/... If a metric was created recently, it could take
# up to 10 minutes to become available" (hashicorp/terraform-provider-google#11102, open, "still a problem with
# v7.28.0"; GoogleCloudPlatform/cloud-foundation-fabric#3739, merged 2026-02-16). The provider retries only 409
# on alert policies (v7.33.0 google/services/monitoring/resource_monitoring_alert_policy.go: Create retries
# IsMonitoringConcurrentEditError). Checked 2026-12-04.
LOG_METRIC_VISIBLE_SECONDS = 600
# An API enabled seconds ago may still answer 403 SERVICE_DISABLED ("If you enabled this API recently, wait a
# few minutes for the action to propagate to our systems and retry", the error's own text; hashicorp/terraform-
# provider-google#10510, terraform-google-modules/terraform-google-project-factory#753). Google gives no bound;
# "a few minutes" is taken as 3. The provider retries no 403 SERVICE_DISABLED (v7.33.0 google/transport/
# error_retry_predicates.go defaultErrorRetryPredicates). Checked 2026-12-04.
API_PROPAGATION_SECONDS = 180
# A service account (a service agent is one) may be unknown to IAM right after it is created: "After you
# create a service account, you might need to wait for 60 seconds or more before you use the service account"
# (cloud.google.com/iam/docs/service-accounts-create, checked 2026-12-04). A setIamPolicy naming it then answers
# 400 "Service account ... does not exist", which v7.33.0 google/tpgiamresource/iam.go iamPolicyReadModifyWrite
# does not retry (its etag re-check only runs when re-reading the policy FAILS). google_service_account's own
# Create polls until three reads in a row find the account, then sleeps 10 s (v7.33.0 google/services/
# resourcemanager/resource_google_service_account.go): for an account Terraform creates, the provider waits.
IAM_IDENTITY_VISIBLE_SECONDS = 60
# What gkeml waits: the Monitoring notification agent appears with the project's first Pub/Sub channel, and
# the pager topic's grant to it waits twice the documented minute (it runs beside the cluster's creation, so
# the wait costs the first deploy nothing).
SERVICE_AGENT_WAIT_SECONDS = 2 * IAM_IDENTITY_VISIBLE_SECONDS


# --- cluster (concepts/autopilot-overview, release-channels) -------------------
# Maintenance exclusions (checked 2026-12-05): a cluster holds at most 20 (terraform-provider-google
# resource_container_cluster maintenance_exclusion MaxItems 20, raised from 3 in 2023, changelog 8442, as
# the GKE API allows); an exclusion of scope NO_UPGRADES (patches too) lasts at most 30 days
# (cloud.google.com/kubernetes-engine/docs/concepts/maintenance-windows-and-exclusions, "Scope of
# maintenance to exclude"); the minor-version scopes last until the minor version's end of support,
# which depends on the version the cluster runs, so it is not checked here.
MAX_MAINTENANCE_EXCLUSIONS = 20
NO_UPGRADES_MAX_DAYS = 30


@dataclass(frozen=True)
class ChannelVersions:
    """The GKE versions a release channel offers: its oldest and newest minor version, and the patch version
    GKE creates a cluster at when none is asked for (gkeml asks for none: the cluster follows its channel)."""

    oldest_minor: str
    newest_minor: str
    default: str


# The "Current versions" table of the GKE release notes (cloud.google.com/kubernetes-engine/docs/release-notes),
# as read on CHANNEL_VERSIONS_CHECKED from the newest stored copy (undated; the newest dated Stable channel note
# it agrees with: 2026-07-10, versions 1.33.12-gke.1165000 and 1.34.8-gke.1278000; Stable's default reached 1.34
# on 2026-05-27, 1.34.6-gke.1307000). Channels move forward every week: a newer table only relaxes the checks.
CHANNEL_VERSIONS_CHECKED = "2026-12-04"
CHANNEL_VERSIONS: dict[str, ChannelVersions] = {
    "RAPID": ChannelVersions("1.34", "1.37", "1.36.4-gke.1082000"),
    "REGULAR": ChannelVersions("1.34", "1.36", "1.35.7-gke.1222000"),
    "STABLE": ChannelVersions("1.34", "1.35", "1.35.6-gke.1250000"),
    "EXTENDED": ChannelVersions("1.31", "1.36", "1.35.7-gke.1222000"),
}
# What each GKE feature gkeml can turn on needs: GKE_FEATURE_MIN_VERSIONS (at the end of this module).


def gke_version(text: str) -> tuple[int, ...]:
    """``1.35.6-gke.1250000`` -> (1, 35, 6, 1250000); ``1.34`` -> (1, 34): compares as GKE orders versions."""
    head, _, gke = text.partition("-gke.")
    return tuple(int(p) for p in head.split(".") if p.isdigit()) + ((int(gke),) if gke.isdigit() else ())


PROD_RELEASE_CHANNELS = ("REGULAR", "STABLE", "EXTENDED")
GATEWAY_API_CHANNEL = "CHANNEL_STANDARD"
NODE_SERVICE_ACCOUNT_ROLE = "roles/container.defaultNodeServiceAccount"

# VPC subnet ranges (primary and secondary), cloud.google.com/vpc/docs/subnets "Valid IPv4 ranges" and
# "Prohibited IPv4 subnet ranges", checked 2026-11-30. GKE VPC-native clusters take the same ranges for
# Pods and Services (cloud.google.com/kubernetes-engine/docs/concepts/alias-ips). Privately used public
# ranges are valid too but are refused here: they hide real internet addresses from the cluster.
VALID_SUBNET_RANGES: tuple[str, ...] = (
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",  # RFC 1918
    "100.64.0.0/10",  # RFC 6598 shared address space
    "192.0.0.0/24",  # RFC 6890 IETF protocol assignments
    "192.0.2.0/24",
    "198.51.100.0/24",
    "203.0.113.0/24",  # RFC 5737 documentation
    "192.88.99.0/24",  # former 6to4 relay anycast
    "198.18.0.0/15",  # RFC 2544 benchmarking
    "240.0.0.0/4",  # class E
)
# Sizes of the ranges of a VPC-native Autopilot cluster (prefix lengths, largest to smallest), checked
# 2026-12-05: cloud.google.com/kubernetes-engine/docs/concepts/alias-ips ("IP address ranges for
# VPC-native clusters": the node subnet at least a /29; the Pod range /9 to /21 on Autopilot; the
# Service range /16 to /27) and cloud.google.com/vpc/docs/subnets ("IPv4 subnet ranges": /29 the smallest).
SUBNET_PREFIX = (8, 29)
PROXY_ONLY_SUBNET_PREFIX = (8, serving.PROXY_ONLY_SUBNET_MAX_PREFIX)  # load-balancing/docs/proxy-only-subnets
POD_RANGE_PREFIX = (9, 21)
SERVICE_RANGE_PREFIX = (16, 27)
REFUSED_SUBNET_RANGES: dict[str, str] = {
    "0.0.0.0/8": "'this' network, RFC 1122",
    "127.0.0.0/8": "loopback",
    "169.254.0.0/16": "link-local; the GKE metadata server lives here",
    "224.0.0.0/4": "multicast",
    "255.255.255.255/32": "limited broadcast",
    "199.36.153.4/30": "restricted.googleapis.com",
    "199.36.153.8/30": "private.googleapis.com",
}

# --- regions and zones ---------------------------------------------------------------
# Every Compute Engine region and its zones, as `gcloud compute zones list` returns them (standard zones;
# AI zones such as us-west4-ai2b, compute/docs/regions-zones/ai-zones, are not node locations gkeml offers).
# Source: Cyclenerd/google-cloud-pricing-cost-calculator at dac31281 (2026-08-20): tools/regions.csv
# (43 regions, all UP, regenerated 2026-01-09) and tools/zones.csv (regenerated 2023-03-30); the regions
# opened after that (africa-south1, asia-southeast3, europe-north2, europe-west10, me-central2,
# northamerica-south1) and every zone letter checked against cloud.google.com/compute/docs/regions-zones
# ("Available regions and zones") on 2026-11-30. tools/machinetypezone.csv also lists zones that only some
# projects see (us-central2, us-east2, us-east7, europe-west5): not offered to everyone, so not here.
ZONES_CHECKED_ON = "2026-11-30"
COMPUTE_ZONES: dict[str, tuple[str, ...]] = {
    "africa-south1": ("africa-south1-a", "africa-south1-b", "africa-south1-c"),
    "asia-east1": ("asia-east1-a", "asia-east1-b", "asia-east1-c"),
    "asia-east2": ("asia-east2-a", "asia-east2-b", "asia-east2-c"),
    "asia-northeast1": ("asia-northeast1-a", "asia-northeast1-b", "asia-northeast1-c"),
    "asia-northeast2": ("asia-northeast2-a", "asia-northeast2-b", "asia-northeast2-c"),
    "asia-northeast3": ("asia-northeast3-a", "asia-northeast3-b", "asia-northeast3-c"),
    "asia-south1": ("asia-south1-a", "asia-south1-b", "asia-south1-c"),
    "asia-south2": ("asia-south2-a", "asia-south2-b", "asia-south2-c"),
    "asia-southeast1": ("asia-southeast1-a", "asia-southeast1-b", "asia-southeast1-c"),
    "asia-southeast2": ("asia-southeast2-a", "asia-southeast2-b", "asia-southeast2-c"),
    "asia-southeast3": ("asia-southeast3-a", "asia-southeast3-b", "asia-southeast3-c"),
    "australia-southeast1": ("australia-southeast1-a", "australia-southeast1-b", "australia-southeast1-c"),
    "australia-southeast2": ("australia-southeast2-a", "australia-southeast2-b", "australia-southeast2-c"),
    "europe-central2": ("europe-central2-a", "europe-central2-b", "europe-central2-c"),
    "europe-north1": ("europe-north1-a", "europe-north1-b", "europe-north1-c"),
    "europe-north2": ("europe-north2-a", "europe-north2-b", "europe-north2-c"),
    "europe-southwest1": ("europe-southwest1-a", "europe-southwest1-b", "europe-southwest1-c"),
    "europe-west1": ("europe-west1-b", "europe-west1-c", "europe-west1-d"),
    "europe-west10": ("europe-west10-a", "europe-west10-b", "europe-west10-c"),
    "europe-west12": ("europe-west12-a", "europe-west12-b", "europe-west12-c"),
    "europe-west2": ("europe-west2-a", "europe-west2-b", "europe-west2-c"),
    "europe-west3": ("europe-west3-a", "europe-west3-b", "europe-west3-c"),
    "europe-west4": ("europe-west4-a", "europe-west4-b", "europe-west4-c"),
    "europe-west6": ("europe-west6-a", "europe-west6-b", "europe-west6-c"),
    "europe-west8": ("europe-west8-a", "europe-west8-b", "europe-west8-c"),
    "europe-west9": ("europe-west9-a", "europe-west9-b", "europe-west9-c"),
    "me-central1": ("me-central1-a", "me-central1-b", "me-central1-c"),
    "me-central2": ("me-central2-a", "me-central2-b", "me-central2-c"),
    "me-west1": ("me-west1-a", "me-west1-b", "me-west1-c"),
    "northamerica-northeast1": ("northamerica-northeast1-a", "northamerica-northeast1-b", "northamerica-northeast1-c"),
    "northamerica-northeast2": ("northamerica-northeast2-a", "northamerica-northeast2-b", "northamerica-northeast2-c"),
    "northamerica-south1": ("northamerica-south1-a", "northamerica-south1-b", "northamerica-south1-c"),
    "southamerica-east1": ("southamerica-east1-a", "southamerica-east1-b", "southamerica-east1-c"),
    "southamerica-west1": ("southamerica-west1-a", "southamerica-west1-b", "southamerica-west1-c"),
    "us-central1": ("us-central1-a", "us-central1-b", "us-central1-c", "us-central1-f"),
    "us-east1": ("us-east1-b", "us-east1-c", "us-east1-d"),
    "us-east4": ("us-east4-a", "us-east4-b", "us-east4-c"),
    "us-east5": ("us-east5-a", "us-east5-b", "us-east5-c"),
    "us-south1": ("us-south1-a", "us-south1-b", "us-south1-c"),
    "us-west1": ("us-west1-a", "us-west1-b", "us-west1-c"),
    "us-west2": ("us-west2-a", "us-west2-b", "us-west2-c"),
    "us-west3": ("us-west3-a", "us-west3-b", "us-west3-c"),
    "us-west4": ("us-west4-a", "us-west4-b", "us-west4-c"),
}


# Zones used for node_locations when the config names none: fixed per region so a plan never sees a
# new random set (random zones have recreated clusters). Chosen once per region (2026-11-30: its first
# three zones of COMPUTE_ZONES) and written out, never derived: refreshing COMPUTE_ZONES must not move
# the nodes of a running cluster.
REGION_ZONE_LETTERS: dict[str, str] = {  # region -> the letters of its default zones
    "africa-south1": "abc",
    "asia-east1": "abc",
    "asia-east2": "abc",
    "asia-northeast1": "abc",
    "asia-northeast2": "abc",
    "asia-northeast3": "abc",
    "asia-south1": "abc",
    "asia-south2": "abc",
    "asia-southeast1": "abc",
    "asia-southeast2": "abc",
    "asia-southeast3": "abc",
    "australia-southeast1": "abc",
    "australia-southeast2": "abc",
    "europe-central2": "abc",
    "europe-north1": "abc",
    "europe-north2": "abc",
    "europe-southwest1": "abc",
    "europe-west1": "bcd",
    "europe-west10": "abc",
    "europe-west12": "abc",
    "europe-west2": "abc",
    "europe-west3": "abc",
    "europe-west4": "abc",
    "europe-west6": "abc",
    "europe-west8": "abc",
    "europe-west9": "abc",
    "me-central1": "abc",
    "me-central2": "abc",
    "me-west1": "abc",
    "northamerica-northeast1": "abc",
    "northamerica-northeast2": "abc",
    "northamerica-south1": "abc",
    "southamerica-east1": "abc",
    "southamerica-west1": "abc",
    "us-central1": "abc",
    "us-east1": "bcd",
    "us-east4": "abc",
    "us-east5": "abc",
    "us-south1": "abc",
    "us-west1": "abc",
    "us-west2": "abc",
    "us-west3": "abc",
    "us-west4": "abc",
}
REGION_ZONES: dict[str, tuple[str, ...]] = {
    region: tuple(f"{region}-{letter}" for letter in letters) for region, letters in REGION_ZONE_LETTERS.items()
}

# --- Cloud Storage bucket locations ------------------------------------------------------
# cloud.google.com/storage/docs/locations, checked 2026-11-30 (release notes: EUR5 2024-06-06, europe-west12
# in configurable dual-regions 2025-03-05, DE 2025-03-17). Every Compute Engine region above is also a bucket
# region. Locations are case-insensitive: the google provider upper-cases `location` and
# `custom_placement_config.data_locations` (resource_storage_bucket.go at e03b7622, 2026-08-21).
# Multi-regions: the docs name the area ("data centers in the United States", "in member states of the
# European Union", "in Asia"); listed here by the regions in it. Reads from a multi-region always pay
# outbound data transfer; reads from a region, or from a dual-region in either of its regions, do not.
GCS_MULTI_REGIONS: dict[str, tuple[str, ...]] = {
    "US": tuple(r for r in COMPUTE_ZONES if r.startswith("us-")),
    "EU": (
        "europe-central2",
        "europe-north1",
        "europe-north2",
        "europe-southwest1",
        "europe-west1",
        "europe-west3",
        "europe-west4",
        "europe-west8",
        "europe-west9",
        "europe-west10",
        "europe-west12",
    ),
    "ASIA": tuple(r for r in COMPUTE_ZONES if r.startswith("asia-")),
}
# Predefined dual-regions and their two regions.
GCS_DUAL_REGIONS: dict[str, tuple[str, str]] = {
    "ASIA1": ("asia-northeast1", "asia-northeast2"),
    "EUR4": ("europe-north1", "europe-west4"),
    "EUR5": ("europe-west1", "europe-west2"),
    "EUR7": ("europe-west2", "europe-west3"),
    "EUR8": ("europe-west3", "europe-west6"),
    "NAM4": ("us-central1", "us-east1"),
}
# Configurable dual-regions: `location` is one of these codes and `data_locations` two of its regions.
GCS_CONFIGURABLE_DUAL_REGIONS: dict[str, tuple[str, ...]] = {
    "ASIA": ("asia-east1", "asia-southeast1"),
    "AU": ("australia-southeast1", "australia-southeast2"),
    "CA": ("northamerica-northeast1", "northamerica-northeast2"),
    "DE": ("europe-west3", "europe-west10"),
    "EU": (
        "europe-central2",
        "europe-north1",
        "europe-southwest1",
        "europe-west1",
        "europe-west3",
        "europe-west4",
        "europe-west8",
        "europe-west9",
        "europe-west10",
        "europe-west12",
    ),
    "IN": ("asia-south1", "asia-south2"),
    "IT": ("europe-west8", "europe-west12"),
    "US": (
        "us-central1",
        "us-east1",
        "us-east4",
        "us-east5",
        "us-south1",
        "us-west1",
        "us-west2",
        "us-west3",
        "us-west4",
    ),
}
# "The EUROPE-NORTH1 and EUROPE-WEST4 dual-region pairing is only available as a predefined dual-region."
GCS_PREDEFINED_ONLY_PAIRS: dict[frozenset[str], str] = {frozenset(GCS_DUAL_REGIONS["EUR4"]): "EUR4"}


# Bucket names Cloud Storage refuses, cloud.google.com/storage/docs/buckets#naming (checked 2026-12-05):
# 3-63 of a-z 0-9 '-' '_' '.', starting and ending with a letter or digit; with dots up to 222, each
# dot-separated part at most 63; not an IP address in dotted-decimal form; not starting with "goog" and
# not containing "google" or a close misspelling (g00gle, go0gle, g0ogle: checked as 0 -> o).
GCS_BUCKET_CHARACTERS = re.compile(r"[a-z0-9][-_.a-z0-9]*[a-z0-9]")
GCS_BUCKET_MAX_LENGTH, GCS_BUCKET_MAX_DOTTED_LENGTH, GCS_BUCKET_MAX_PART = 63, 222, 63


def gcs_bucket_name_problem(name: str) -> str | None:
    """Why Cloud Storage refuses ``name`` as a bucket name (what to change), or None."""
    dotted = "." in name
    longest = GCS_BUCKET_MAX_DOTTED_LENGTH if dotted else GCS_BUCKET_MAX_LENGTH
    if not 3 <= len(name) <= longest or not GCS_BUCKET_CHARACTERS.fullmatch(name):
        return (
            f"3-{GCS_BUCKET_MAX_LENGTH} of a-z 0-9 '-' '_' '.' (with dots up to {GCS_BUCKET_MAX_DOTTED_LENGTH}), "
            "starting and ending with a letter or digit"
        )
    if dotted and (any(not part or len(part) > GCS_BUCKET_MAX_PART for part in name.split("."))):
        return f"each dot-separated part must have 1-{GCS_BUCKET_MAX_PART} characters"
    if re.fullmatch(r"[0-9]{1,3}(\.[0-9]{1,3}){3}", name):
        return "Cloud Storage refuses a name that reads as an IP address"
    if name.startswith("goog") or "google" in name.replace("0", "o"):
        return "Cloud Storage refuses names starting with 'goog' or containing 'google' (or g00gle and the like)"
    return None


# Compute Engine machine series a ComputeClass priority may name (machineFamily), from the Machine families
# resource and comparison guide (cloud.google.com/compute/docs/machine-resource) and GKE's machine support
# page (cloud.google.com/kubernetes-engine/docs/concepts/machine-support), checked 2026-12-05. A series
# missing here is refused with this list: add it with its source when Compute Engine offers it.
MACHINE_SERIES_CHECKED_ON = "2026-12-05"
MACHINE_SERIES: tuple[str, ...] = (
    # general-purpose
    "c4", "c4a", "c4d", "c3", "c3d", "n4", "n4a", "n4d", "n2", "n2d", "n1", "e2", "t2a", "t2d",
    # compute-optimized
    "h4d", "h3", "c2", "c2d",
    # memory-optimized
    "x4", "m4", "m3", "m2", "m1",
    # storage-optimized
    "z3",
    # accelerator-optimized (a GPU class names its GPU instead)
    "a4x", "a4", "a3", "a2", "g4", "g2",
)  # fmt: skip


def bucket_location_regions(location: str) -> tuple[str, ...] | None:
    """The regions (lowercase) a bucket in ``location`` keeps its data in without ``data_locations``: the
    region itself, a predefined dual-region's two, a multi-region's; None when Cloud Storage offers no
    such location."""
    code = location.upper()
    if location.lower() in COMPUTE_ZONES:
        return (location.lower(),)
    return GCS_DUAL_REGIONS.get(code) or GCS_MULTI_REGIONS.get(code)


# --- GitHub Actions through Workload Identity Federation --------------------------
# Sources (checked 2026-11): cloud.google.com/iam/docs/workload-identity-federation-with-deployment-pipelines,
# docs.github.com/en/actions/reference/security/oidc, github.com/google-github-actions/auth,
# cloud.google.com/iam/docs/setting-limits-on-granting-roles (conditions on modifiedGrantsByRole).
GITHUB_OIDC_ISSUER = "https://token.actions.githubusercontent.com"
PROJECT_IAM_ADMIN_ROLE = "roles/resourcemanager.projectIamAdmin"


def federation_pool_name(project_number: str, pool: str) -> str:
    """Full resource name of a Workload Identity Federation pool (project NUMBER, not ID)."""
    return f"projects/{project_number}/locations/global/workloadIdentityPools/{pool}"


def github_repository_principal_set(project_number: str, pool: str, repository: str) -> str:
    """IAM member for every workflow run of one GitHub repository (``owner/name``) in a pool."""
    return f"principalSet://iam.googleapis.com/{federation_pool_name(project_number, pool)}/attribute.repository/{repository}"


def grant_only_roles_condition(roles: list[str] | tuple[str, ...]) -> str:
    """IAM condition (CEL) that lets a project IAM admin grant or revoke only ``roles``."""
    quoted = ", ".join(f"'{r}'" for r in roles)
    return f"api.getAttribute('iam.googleapis.com/modifiedGrantsByRole', []).hasOnly([{quoted}])"


# --- GitHub Actions: separate plan and deploy identities (follow-up to issue 7) ------
# Sources (checked 2026-11): cloud.google.com/iam/docs/workload-identity-federation-with-deployment-pipelines
# (principalSet://.../attribute.NAME/VALUE, attribute mapping in CEL),
# docs.github.com/en/actions/reference/security/oidc (claims `ref` and `environment`; a job
# without `environment:` and every pull_request run carry no `environment` claim),
# cloud.google.com/iam/docs/roles-permissions/container (no predefined GKE role reads Secrets
# without also writing Kubernetes objects), cloud.google.com/storage/docs/access-control/iam
# (IAM conditions on resource.name need uniform bucket-level access), Terraform gcs backend
# (lock object `<prefix>/<workspace>.tflock`).
GITHUB_DEFAULT_DEPLOY_REF = "refs/heads/main"
GITHUB_NO_ENVIRONMENT = "none"  # what the mappings below put in for a token without `environment`
# attribute.ref_env = "<ref>:<environment or 'none'>": lets ONE principalSet require both
GITHUB_REF_ENV_ATTRIBUTE = "attribute.ref_env"
GITHUB_REF_ENV_MAPPING = (
    f"assertion.ref + ':' + (has(assertion.environment) ? assertion.environment : '{GITHUB_NO_ENVIRONMENT}')"
)
TERRAFORM_GCS_LOCK_SUFFIX = ".tflock"


def github_ref_principal_set(project_number: str, pool: str, ref: str) -> str:
    """IAM member for every workflow job of one git ref (``attribute.ref``), in any GitHub environment."""
    return f"principalSet://iam.googleapis.com/{federation_pool_name(project_number, pool)}/attribute.ref/{ref}"


def github_ref_environment_principal_set(project_number: str, pool: str, ref: str, environment: str) -> str:
    """IAM member for workflow jobs of one git ref that run in one GitHub environment
    (so they passed that environment's protection rules); needs :data:`GITHUB_REF_ENV_MAPPING`."""
    return (
        f"principalSet://iam.googleapis.com/{federation_pool_name(project_number, pool)}/"
        f"{GITHUB_REF_ENV_ATTRIBUTE}/{ref}:{environment}"
    )


def object_name_suffix_condition(suffix: str) -> str:
    """IAM condition (CEL) on Cloud Storage objects whose name ends with ``suffix``."""
    return f"resource.name.endsWith('{suffix}')"


def all_buckets_but_condition(bucket: str) -> str:
    """IAM condition (CEL) on a project-level storage role: every bucket and object of the project except
    ``bucket`` and its objects (cloud.google.com/storage/docs/access-control/iam#conditions: resource names
    ``projects/_/buckets/BUCKET`` and ``.../objects/OBJECT``; project-level checks such as
    buckets.create name the project, so they pass)."""
    return (
        f"resource.name != 'projects/_/buckets/{bucket}' && !resource.name.startsWith('projects/_/buckets/{bucket}/')"
    )


def state_objects_condition(bucket: str, prefixes: tuple[str, ...] | list[str]) -> str:
    """IAM condition (CEL) limiting a role on a SHARED state bucket to one environment's objects
    (``projects/_/buckets/BUCKET/objects/PREFIX...``), and to the bucket itself for listing
    (cloud.google.com/storage/docs/access-control/iam#conditions: objects.list is checked on the bucket)."""
    parts = [f"resource.name.startsWith('projects/_/buckets/{bucket}/objects/{p}')" for p in prefixes]
    return " || ".join([f"resource.name == 'projects/_/buckets/{bucket}'", *parts])


# --- policy checks (gkeml check, gkeml/rules) ---------------------------------------
# Sources (checked 2026-11): concepts/ingress (the internal class), concepts/persistent-volumes
# (Autopilot's default StorageClass), github.com/wandb/helm-charts (chart values),
# pytorch.org/docs/stable/elastic/run.html (rendezvous environment). Prices: gkeml/cost/prices.json.
INGRESS_CLASS_INTERNAL = "gce-internal"
GKE_INGRESS_CLASSES = (INGRESS_CLASS_EXTERNAL, INGRESS_CLASS_INTERNAL)
DEFAULT_STORAGE_CLASS = "standard-rwo"  # what a PVC without storageClassName gets on Autopilot
WANDB_LAUNCH_AGENT_VALUES = ("launchConfig", "agent")  # top-level values of the launch-agent chart
TORCH_RENDEZVOUS_ENV = ("MASTER_ADDR", "MASTER_PORT")

# --- fields a controller owns once the object runs --------------------------------
# A field written by a controller after the first apply must not be in what Terraform applies:
# with server-side apply (kubernetes_manifest) it gets two managers and every later plan fails
# with "Apply failed with 1 conflict: conflict with "kube-controller-manager" with subresource
# "scale" ... .spec.replicas" (hashicorp/terraform-provider-kubernetes-alpha#134). Sources
# (checked 2026-11-30): kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale,
# "Migrating Deployments and StatefulSets to horizontal autoscaling" ("it is recommended that the
# value of spec.replicas of the Deployment and / or StatefulSet be removed from their
# manifest(s)"; without another owner the field falls back to its default of 1 once, which a
# `kubectl scale` to the current count avoids); keda.sh/docs/latest/reference/scaledobject-spec
# (scaleTargetRef.kind defaults to Deployment; KEDA drives the target through an HPA it creates).


@dataclass(frozen=True)
class ControllerOwnedField:
    """A field of ``kinds`` that ``owner`` writes once an ``autoscaler`` targets the object."""

    kinds: tuple[str, ...]
    path: tuple[str, ...]
    owner: str
    autoscalers: tuple[str, ...]


# Autoscaler kinds and the default kind of their spec.scaleTargetRef.
AUTOSCALER_TARGET_DEFAULT_KIND = {"HorizontalPodAutoscaler": None, "ScaledObject": "Deployment"}
KEDA_DEFAULT_MAX_REPLICAS = 100  # ScaledObject spec.maxReplicaCount default (same page)
CONTROLLER_OWNED_FIELDS: tuple[ControllerOwnedField, ...] = (
    ControllerOwnedField(  # a LeaderWorkerSet's scale subresource is spec.replicas too (kubernetes-sigs/lws v0.10.0)
        ("Deployment", "StatefulSet", "ReplicaSet", "LeaderWorkerSet"),
        ("spec", "replicas"),
        "the HorizontalPodAutoscaler (kube-controller-manager, through the scale subresource)",
        tuple(AUTOSCALER_TARGET_DEFAULT_KIND),
    ),
)

# --- flex-start (Dynamic Workload Scheduler) for Autopilot GPU Pods ----------------
# Sources (checked 2026-11): how-to/dws-flex-start-training ("Run a small batch workload with
# GPUs and Flex-start VMs", Preview, page updated 2026-06-09: an Autopilot Pod asks for flex-start
# with this node selector next to cloud.google.com/gke-accelerator, on GKE 1.33.0-gke.1712000 or
# later, and needs preemptible GPU quota); concepts/dws (flex-start VMs run for at most seven
# days); compute/docs/instances/about-flex-start-vms (flex-start supports the accelerator-optimized
# machine series except A4X and G4, so not T4 on N1; FLEX_START is a provisioning model of its
# own, never Spot). Per-zone GPU availability: `gcloud compute accelerator-types list`.
# How long a flex-start pod waits for its capacity has no documented bound: flex-start is for workloads
# that "can afford to wait to get all the requested capacity" (concepts/dws, checked 2026-12-04); Google's
# GKE skill quotes "~3 min" as a typical queue, not a limit (google/skills 1af7775
# skills/cloud/gke-compute-classes/references/compute-class-gotchas-and-cuds.md). None: unbounded.
FLEX_START_CAPACITY_WAIT_SECONDS: int | None = None
FLEX_START_LABEL = "cloud.google.com/gke-flex-start"
FLEX_START_MIN_GKE_VERSION = "1.33.0-gke.1712000"
FLEX_START_MAX_RUN_SECONDS = 7 * 24 * 3600
FLEX_START_MACHINE_FAMILIES = ("g2", "a2", "a2-ultragpu", "a3-highgpu", "a3-megagpu", "a3-ultragpu", "a4-highgpu")


def flex_start_gpus() -> tuple[str, ...]:
    """GPU node-label values whose machine series flex-start provisions."""
    return tuple(label for label, g in GPUS.items() if g.machine_family in FLEX_START_MACHINE_FAMILIES)


# --- platform services: image registry, DNS, budgets, observability, notices, quotas ----------
# Artifact Registry (cloud.google.com/artifact-registry/docs/docker/names, .../repositories/cleanup-policy,
# .../analysis: checked 2026-11-30; google provider website/docs/r/artifact_registry_repository at v7.45.0):
# Docker images are named LOCATION-docker.pkg.dev/PROJECT/REPOSITORY/IMAGE; repository ids are 1-63 of
# a-z 0-9 '-', starting with a letter; a cleanup policy deletes what a DELETE policy matches unless a KEEP
# policy matches it too (KEEP wins); `immutable_tags` stops tags from being moved or deleted; scanning of
# pushed images (`vulnerability_scanning_config.enablement_config = INHERITED`) follows the project's
# Container Scanning API (Artifact Analysis).
ARTIFACT_REGISTRY_DOCKER_HOST_SUFFIX = "-docker.pkg.dev"
ARTIFACT_REGISTRY_REPOSITORY_ID = r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$"
ARTIFACT_REGISTRY_READER_ROLE = "roles/artifactregistry.reader"
ARTIFACT_REGISTRY_WRITER_ROLE = "roles/artifactregistry.writer"
CONTAINER_SCANNING_API = "containerscanning.googleapis.com"
# Multi-regions an Artifact Registry repository may use besides a region.
ARTIFACT_REGISTRY_MULTI_REGIONS = ("us", "europe", "asia")


def project_service_accounts_principal_set(project_number: str) -> str:
    """IAM member for every service account of one project, those not created yet included
    (cloud.google.com/iam/docs/principal-identifiers, "All service accounts in a project", allow
    policies; checked 2026-12-05). Granting it needs no service account to exist, unlike
    ``serviceAccount:EMAIL``, which IAM refuses until the account exists."""
    return f"principalSet://cloudresourcemanager.googleapis.com/projects/{project_number}/type/ServiceAccount"


def docker_registry_host(location: str) -> str:
    """Host of the Docker repositories of an Artifact Registry location (``us-central1-docker.pkg.dev``)."""
    return f"{location}{ARTIFACT_REGISTRY_DOCKER_HOST_SUFFIX}"


# Cloud DNS (cloud.google.com/dns/docs/zones, /dns/docs/dnssec-config; checked 2026-11-30): a managed zone
# name is 1-63 of a-z 0-9 '-' starting with a letter; its dns_name ends with a dot; DNSSEC defaults to
# RSASHA256 keys when no key specs are given.
DNS_API = "dns.googleapis.com"
DNS_DEFAULT_TTL_SECONDS = 300

# Cloud Billing budgets (cloud.google.com/billing/docs/how-to/budgets, .../budgets-programmatic-notifications;
# google provider website/docs/r/billing_budget at v7.45.0; checked 2026-11-30): the Budget API is called
# with a quota project (a user's ADC needs `billing_project` + `user_project_override`); threshold rules are
# fractions (1.0 = 100 %) on CURRENT_SPEND or FORECASTED_SPEND; at most 5 Monitoring channels, email only;
# a Pub/Sub topic needs the caller to hold pubsub.topics.setIamPolicy on it (the API then lets
# billing-budget-alert@system.gserviceaccount.com publish); billing account ids are XXXXXX-XXXXXX-XXXXXX.
BILLING_BUDGETS_API = "billingbudgets.googleapis.com"
BILLING_ACCOUNT_ID = r"^[0-9A-F]{6}-[0-9A-F]{6}-[0-9A-F]{6}$"
BUDGET_MAX_CHANNELS = 5
BUDGET_COSTS_MANAGER_ROLE = "roles/billing.costsManager"  # on the billing account: create and edit budgets
BUDGET_VIEWER_ROLE = "roles/billing.viewer"  # on the billing account: read them

# Pub/Sub (cloud.google.com/pubsub/docs/create-topic: topic ids 3-255 characters, start with a letter,
# not "goog").
PUBSUB_API = "pubsub.googleapis.com"
PUBSUB_PUBLISHER_ROLE = "roles/pubsub.publisher"

# GKE cluster notifications (concepts/cluster-notifications, how-to/cluster-notifications; google provider
# container_cluster notification_config at v7.45.0; checked 2026-11-30): GKE publishes to a topic in the
# cluster's own project, where its service agent holds roles/container.serviceAgent, which includes
# pubsub.topics.publish (github.com/darkbitio/gcp-iam-role-permissions roles/container.serviceAgent at
# 8ab2a6ff8d7e977c4feb6b60a377883d45560050, 2026-08-22): no grant is needed.
CLUSTER_NOTIFICATION_EVENTS = (
    "UPGRADE_AVAILABLE_EVENT",
    "UPGRADE_EVENT",
    "SECURITY_BULLETIN_EVENT",
    "UPGRADE_INFO_EVENT",
)
DEFAULT_CLUSTER_NOTIFICATION_EVENTS = ("UPGRADE_AVAILABLE_EVENT", "UPGRADE_EVENT", "SECURITY_BULLETIN_EVENT")

# Managed Service for Prometheus and GKE's metric packages (how-to/configure-metrics, how-to/dcgm-metrics,
# concepts/kube-state-metrics; google provider container_cluster monitoring_config at v7.45.0; checked
# 2026-11-30): SYSTEM_COMPONENTS is always on (and required on Autopilot); every other package is opt-in
# and billed per sample as Managed Service for Prometheus; the list replaces, it does not add. DCGM
# installs NVIDIA's DCGM exporter on GPU nodes (Google-managed drivers) and sends DCGM_FI_* metrics to
# Managed Service for Prometheus.
MONITORING_COMPONENTS = (
    "SYSTEM_COMPONENTS",
    "APISERVER",
    "SCHEDULER",
    "CONTROLLER_MANAGER",
    "STORAGE",
    "HPA",
    "POD",
    "DAEMONSET",
    "DEPLOYMENT",
    "STATEFULSET",
    "KUBELET",
    "CADVISOR",
    "DCGM",
    "JOBSET",
)
REQUIRED_MONITORING_COMPONENT = "SYSTEM_COMPONENTS"
DEFAULT_MONITORING_COMPONENTS = ("SYSTEM_COMPONENTS", "POD", "DEPLOYMENT", "HPA", "DCGM")
# The metric and log names the alerts and dashboard read: gkeml.telemetry (a dated, sourced table).
# Cloud Monitoring notification channels (cloud.google.com/monitoring/support/notification-options): a Pub/Sub
# channel publishes as the project's Monitoring notification service agent, which needs roles/pubsub.publisher
# on the topic; the agent is created with the project's first Pub/Sub channel.


def monitoring_notification_agent(project_number: str) -> str:
    """IAM member of the service agent Cloud Monitoring publishes Pub/Sub notifications as."""
    return f"serviceAccount:service-{project_number}@gcp-sa-monitoring-notification.iam.gserviceaccount.com"


# Compute Engine regional quotas (cloud.google.com/compute/resource-usage "GPU quota", "CPU quota",
# "Preemptible quota"; REST regions.get returns quotas[] of {metric, limit, usage}; checked 2026-11-30):
# GPUs count against NVIDIA_<MODEL>_GPUS; Spot and flex-start VMs against PREEMPTIBLE_NVIDIA_<MODEL>_GPUS
# (and PREEMPTIBLE_CPUS) when the project has preemptible quota, else against the regular quota; vCPUs of a
# machine family with its own quota (e.g. A2_CPUS, N2_CPUS) count there, all others against CPUS.
GPU_QUOTA_METRICS: dict[str, str] = {
    "nvidia-tesla-t4": "NVIDIA_T4_GPUS",
    "nvidia-l4": "NVIDIA_L4_GPUS",
    "nvidia-tesla-a100": "NVIDIA_A100_GPUS",
    "nvidia-a100-80gb": "NVIDIA_A100_80GB_GPUS",
    "nvidia-h100-80gb": "NVIDIA_H100_GPUS",
    "nvidia-h100-mega-80gb": "NVIDIA_H100_MEGA_GPUS",
    "nvidia-h200-141gb": "NVIDIA_H200_GPUS",
    "nvidia-b200": "NVIDIA_B200_GPUS",
}
PREEMPTIBLE_QUOTA_PREFIX = "PREEMPTIBLE_"
CPU_QUOTA_METRIC = "CPUS"


# Autopilot runs Pods of the general-purpose platform (no compute class) on E2 VMs
# (concepts/autopilot-compute-classes, "General-purpose"): their vCPUs count against E2's quota.
AUTOPILOT_GENERAL_PURPOSE_FAMILY = "e2"


def family_cpu_quota_metric(machine_family: str) -> str:
    """The family's own vCPU quota metric name (``g2`` -> ``G2_CPUS``); used when the region lists it."""
    return f"{machine_family.split('-')[0].upper()}_CPUS"


# Compute managed SSL certificates (cloud.google.com/load-balancing/docs/ssl-certificates/google-managed-certs):
# managed.status PROVISIONING until every domain's A record points at the load balancer, then ACTIVE.
CERTIFICATE_ACTIVE = "ACTIVE"


# --- GKE feature versions (the version gate) ----------------------------------------
@dataclass(frozen=True)
class GkeFeature:
    """The GKE version a feature needs (``MAJOR.MINOR`` or a full ``1.33.2-gke.4780000``) and where that is
    written (checked on :data:`GKE_FEATURES_CHECKED` unless the source gives its own date)."""

    minimum: str
    source: str


# GKE features and the control-plane version each needs, from GKE's own pages (a source without a host is a
# path under cloud.google.com/kubernetes-engine/docs/). The gate (gkeml/config/versions.py) refuses at load an
# environment that uses one on a release channel whose clusters are created below it. Rows without a detector
# there are features gkeml does not emit yet: their versions are recorded here so the gate covers them as soon as
# they are. Kueue is a controller gkeml installs from its chart, not a GKE feature, and is not gated here; JobSet
# is, because its release supports only the last three Kubernetes minor versions (JOBSET_MIN_GKE_VERSION, with its
# sources above), and LeaderWorkerSet is, for the pod affinity its groups use (LWS_MIN_GKE_VERSION).
GKE_FEATURES_CHECKED = "2026-12-05"
GKE_FEATURE_MIN_VERSIONS: dict[str, GkeFeature] = {
    "secret sync": GkeFeature(
        SECRET_SYNC_MIN_GKE_VERSION, "cloud.google.com/secret-manager/docs/sync-k8-secrets (English page)"
    ),
    "flex-start": GkeFeature(
        FLEX_START_MIN_GKE_VERSION, "how-to/dws-flex-start-training (Autopilot; page updated 2026-06-09)"
    ),
    "custom ComputeClass": GkeFeature(
        "1.30.3-gke.1451000", "concepts/about-custom-compute-classes (custom compute classes in Autopilot)"
    ),
    "GKE Gateway": GkeFeature(
        serving.GATEWAY_API_MIN_GKE_VERSION,
        "how-to/gatewayclass-capabilities ('GKE Autopilot: 1.26 and later'; gkeml.platform_serving); every cluster "
        "gkeml makes sets gateway_api_config",
    ),
    "Hyperdisk ML": GkeFeature("1.26", "how-to/persistent-volumes/hyperdisk (Hyperdisk volumes: GKE 1.26 or later)"),
    "GKE Volume Populator": GkeFeature(
        "1.33.2-gke.4780000",
        "how-to/persistent-volumes/volume-populator (Cloud Storage to Hyperdisk ML; 'Requirements', read 2026-12-05)",
    ),
    "GPU time-sharing on Autopilot": GkeFeature("1.29.4-gke.1427000", "how-to/autopilot-gpus"),
    "secondary boot disk on Autopilot": GkeFeature(
        "1.30.1-gke.1329000", "how-to/data-container-image-preloading ('Requirements', COS_CONTAINERD)"
    ),
    "Ray operator add-on": GkeFeature("1.30.0-gke.1747000", "add-on/ray-on-gke/how-to/enable-ray-on-gke"),
    "JobSet": GkeFeature(
        JOBSET_MIN_GKE_VERSION,
        "github.com/kubernetes-sigs/jobset v0.12.0 site/content/en/docs/installation (the last three Kubernetes "
        "minor versions; its e2e runs on 1.34): the chart gkeml installs (jobset.enabled)",
    ),
    "LeaderWorkerSet": GkeFeature(
        LWS_MIN_GKE_VERSION,
        "github.com/kubernetes-sigs/lws v0.10.0 site/content/en/docs/installation (Kubernetes 1.26 or later) and "
        "kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node (podAffinity matchLabelKeys, on by default "
        "from 1.31): the chart gkeml installs for a multi-host model (model.nodes > 1)",
    ),
    "reservation rung": GkeFeature(
        RESERVATION_MIN_GKE_VERSION,
        "concepts/about-custom-compute-classes ('Consume Compute Engine reservations': GKE 1.31.1-gke.2105000 or "
        "later, with node pool auto-creation)",
    ),
    "JOBSET metrics package": GkeFeature(
        JOBSET_METRICS_MIN_GKE_VERSION,
        "terraform-provider-google website/docs/r/container_cluster.html.markdown (monitoring_config."
        "enable_components: JOBSET 'only supported in GKE 1.32.1-gke.1357001 and above'), from GKE's API",
    ),
    "GKE Inference Gateway": GkeFeature(
        serving.INFERENCE_POOL_CRD_MIN_GKE_VERSION,
        "llm-d.ai/docs/resources/gateway/gke (GKE installs the InferencePool CRD from 1.34.0-gke.1626000, which "
        "gkeml relies on; the Gateway controller serves InferencePools from 1.32.3: how-to/deploy-gke-inference-"
        "gateway; gkeml.platform_serving)",
    ),
}


# --- Hyperdisk ML volumes (datasets and model weights read by many nodes) -------------------------
# Sources, read 2026-12-05:
# - compute/docs/disks/hyperdisks (copy last updated 2026-08-26): a Hyperdisk ML volume is 4 GiB to 64 TiB; it is
#   attached read-only to up to 2,500 instances; it is zonal (Hyperdisk Balanced High Availability is the only
#   type replicated across zones); "You can attach a Hyperdisk ML volume to up to 100 VMs at most once every 30
#   seconds"; a Hyperdisk ML disk made from a snapshot or image must be created read-only; billed per provisioned
#   GiB and per provisioned MiB/s each month, "no additional charge for attaching multiple VMs"; machine series
#   that can attach it: the table "Machine series support for Hyperdisk" (HYPERDISK_ML_MACHINE_SERIES).
# - compute/docs/disks/hd-types/hyperdisk-ml: provisioned throughput 400 to 1,200,000 MiB/s (16 IOPS per MiB/s).
# - compute/docs/disks/sharing-disks-between-vms: how many instances one volume can be attached to depends on its
#   size (HYPERDISK_ML_ATTACH_LIMITS). Compute Engine release notes 2025-08-11: "You can attach up to 128 instances
#   to the same Hyperdisk ML volume whose size is between 2 TiB and 16 TiB. The previous limit was 30." The other
#   rows are the page's as last read before that note and not re-read from a stored copy since; the 16-64 TiB row
#   takes the lower of the two values remembered (20 and 30).
# - GKE: the Persistent Disk CSI driver (pd.csi.storage.gke.io, always on in Autopilot) provisions it from a
#   StorageClass with type hyperdisk-ml; with enable-multi-zone-provisioning it creates one disk per zone of the
#   class's allowedTopologies, read-only from a snapshot or through a populator (kubernetes-sigs/gcp-compute-
#   persistent-disk-csi-driver pkg/gce-pd-csi-driver/controller.go at b560165, createMultiZoneDisk and
#   validateMultiZoneProvisioning: no cloning, no snapshots of such a volume, no expansion).
#   GoogleCloudPlatform/ai-on-gke tutorials-and-examples/storage/hyperdisk-ml (the snapshot path: a
#   VolumeSnapshotClass, a pre-provisioned VolumeSnapshotContent naming projects/P/global/snapshots/S with
#   deletionPolicy Retain, its VolumeSnapshot, and a ReadOnlyMany claim with that dataSource on the multi-zone class).
# - GKE Volume Populator (kubernetes-engine/docs/how-to/persistent-volumes/volume-populator, "Automate data transfer
#   from Cloud Storage to a Hyperdisk ML volume"): a GCPDataSource (datalayer.gke.io/v1) in the claim's namespace
#   names the bucket URI and a Kubernetes service account with Workload Identity access to it (roles/storage.
#   objectViewer); the claim's dataSourceRef names it; a transfer Job per zone runs on nodes of the compute class
#   that MUST be named gcs-to-hdml-compute-class, asking for 24 vCPUs unless the claim's annotation says otherwise;
#   "don't delete the GCPDataSource custom resource before you delete the PersistentVolumeClaim that refers to it".
HYPERDISK_ML_TYPE = "hyperdisk-ml"
PD_CSI_DRIVER = "pd.csi.storage.gke.io"
HYPERDISK_ML_MIN_GIB = 4
HYPERDISK_ML_MAX_GIB = 64 * 1024
HYPERDISK_ML_MIN_THROUGHPUT = 400  # MiB/s
HYPERDISK_ML_MAX_THROUGHPUT = 1_200_000  # MiB/s
HYPERDISK_ML_MAX_ATTACHMENTS = 2500
# (largest size in GiB, instances it can be attached to at once), smallest first
HYPERDISK_ML_ATTACH_LIMITS: tuple[tuple[int, int], ...] = (
    (256, 2500),
    (1024, 1500),
    (2 * 1024, 600),
    (16 * 1024, 128),
    (64 * 1024, 20),
)
HYPERDISK_ML_ATTACHES_PER_30_SECONDS = 100
# Machine series (the part of a machine family before '-') that can attach Hyperdisk ML, from the support table
# of compute/docs/disks/hyperdisks. Not E2 (Autopilot's general-purpose Pods), N1 (T4), N2, N2D, C2, C2D, H3, M1-M4.
HYPERDISK_ML_MACHINE_SERIES = (
    "a2",
    "a3",
    "a4",
    "a4x",
    "c3",
    "c3d",
    "c4",
    "c4a",
    "c4d",
    "c4n",
    "g2",
    "g4",
    "m4n",
    "n4",
    "n4a",
    "n4d",
)
MULTI_ZONE_PROVISIONING_PARAMETER = "enable-multi-zone-provisioning"
ZONE_TOPOLOGY_KEY = "topology.gke.io/zone"
VOLUME_POPULATOR_TRANSFER_CLASS = "gcs-to-hdml-compute-class"
VOLUME_POPULATOR_TRANSFER_MACHINE_FAMILIES = ("c3", "c3d")  # the guide's class
VOLUME_POPULATOR_TRANSFER_CPU = 24
VOLUME_POPULATOR_CPU_ANNOTATION = "volume-populator.datalayer.gke.io/cpu-request"


def hyperdisk_ml_attach_limit(size_gib: float) -> int:
    """How many instances (nodes) a Hyperdisk ML volume of this size can be attached to at once."""
    for largest, limit in HYPERDISK_ML_ATTACH_LIMITS:
        if size_gib <= largest:
            return limit
    return HYPERDISK_ML_ATTACH_LIMITS[-1][1]


def hyperdisk_ml_machine(machine_family: str) -> bool:
    """Whether nodes of this machine family (``g2``, ``a3-highgpu``, ``c3``, ...) can attach Hyperdisk ML."""
    return machine_family.split("-")[0] in HYPERDISK_ML_MACHINE_SERIES


# --- model serving (the ``model:`` preset of an inference service; gkeml.config.serving_model) ----------------
MODEL_SERVING_CHECKED_ON = "2026-12-05"
# The labels GKE's model-serving samples put on a server's Pods (how-to/machine-learning/inference guides, e.g.
# "Serve Gemma open models using GPUs on GKE with vLLM": ai.gke.io/model, ai.gke.io/inference-server); GKE's
# inference dashboards group by them. Label values: at most 63 of [A-Za-z0-9._-], alphanumeric at both ends.
MODEL_LABEL = "ai.gke.io/model"
INFERENCE_SERVER_LABEL = "ai.gke.io/inference-server"
# Cloud Storage FUSE mount options GKE recommends for serving weights (how-to/cloud-storage-fuse-csi-driver-perf
# and persistent-volumes/gcsfuse-profiles, the serving profile; GoogleCloudPlatform/accelerated-platforms
# inference-ref-arch online-inference-gpu manifests): metadata cached without expiry (weights do not change under a
# running server), an unlimited file cache filled by parallel downloads, whole files cached on range reads.
GCSFUSE_SERVING_MOUNT_OPTIONS = (
    "implicit-dirs",
    "metadata-cache:negative-ttl-secs:0",
    "metadata-cache:ttl-secs:-1",
    "metadata-cache:stat-cache-max-size-mb:-1",
    "metadata-cache:type-cache-max-size-mb:-1",
    "file-cache:max-size-mb:-1",
    "file-cache:cache-file-for-range-read:true",
    "file-cache:enable-parallel-downloads:true",
)
# The sidecar's file cache lives on the Pod's volume of this name when the Pod has one (GKE how-to/persistent-
# volumes/cloud-storage-fuse-csi-driver-sidecar, "Configure a private volume for the sidecar container":
# gke-gcsfuse-cache; gke-gcsfuse-buffer and gke-gcsfuse-tmp are the write buffer and the temp dir, which a read-only
# mount barely uses: the sidecar's own ephemeral storage covers them). Without it the cache is on the sidecar's
# ephemeral storage, capped by its ephemeral-storage limit.
GCSFUSE_CACHE_VOLUME = "gke-gcsfuse-cache"
# The sidecar's limits while it reads weights (its requests equal them: gcs-fuse-csi-driver pkg/webhook/config.go):
# parallel downloads use CPU and memory for their chunks (1 vCPU: the webhook's 250m default starves them; an
# Autopilot GPU node gives the sidecar at most 2, GCSFUSE_SIDECAR_GPU_MAX, rule GKE027, and every vCPU here may
# push the server onto a larger VM); the file cache is on GCSFUSE_CACHE_VOLUME, so its own disk stays small.
GCSFUSE_SERVING_SIDECAR_LIMITS = {"cpu": "1", "memory": "4Gi", "ephemeral-storage": "1Gi"}
# How fast a replica reads weights through GCS FUSE with parallel downloads, for the cold-start estimate. An
# ASSUMPTION, not a guarantee: the perf guide reports parallel downloads "up to 9x faster" model loads without a
# figure per VM; 0.5 GiB/s is a conservative single-replica rate (a larger VM's NIC and CPU raise it).
GCSFUSE_PARALLEL_READ_GIB_PER_SECOND = 0.5
# vLLM's own start after the weights are read (CUDA graph capture, KV-cache profiling, torch.compile): about one
# to three minutes on an L4/A100 per the vLLM docs' optimization notes; the startup probe allows this much more.
VLLM_ENGINE_START_SECONDS = 180
# The startup probe allows this multiple of the estimated cold start before the kubelet restarts the container.
STARTUP_PROBE_MARGIN = 2.0
STARTUP_PROBE_PERIOD_SECONDS = 10

# vLLM's Prometheus metrics on /metrics of its serving port (docs.vllm.ai/en/stable/usage/metrics, "Production
# Metrics", V1 engine): the gauges an autoscaler may scale on. vllm:kv_cache_usage_perc replaced
# vllm:gpu_cache_usage_perc (deprecated in v0.10, removed later); num_requests_waiting is the queue GKE's guide
# ("Best practices for autoscaling LLM inference workloads with GPUs") recommends for throughput.
VLLM_METRICS_PATH = "/metrics"
VLLM_SCALING_METRICS: dict[str, str] = {
    "num_requests_waiting": "vllm:num_requests_waiting",
    "kv_cache_usage_perc": "vllm:kv_cache_usage_perc",
}
VLLM_HEALTH_PATH = "/health"  # vLLM's OpenAI server answers 200 once the engine is up
# Managed Service for Prometheus: the PodMonitoring kind GKE installs with managed collection (on by default on
# Autopilot, gkeml turns it on: constructs/monitoring.py), and how the Stackdriver adapter names a Prometheus
# series it serves as a custom (Pods) metric: prometheus.googleapis.com|<name>|<kind> (GKE how-to/machine-learning
# /inference/autoscaling: "prometheus.googleapis.com|vllm:num_requests_waiting|gauge").
PROMETHEUS_METRIC_DOMAIN = "prometheus.googleapis.com"
SCRAPE_INTERVAL = "15s"
# Where managed collection's collectors run, which scrape the Pods a PodMonitoring selects: gke-gmp-system on GKE's
# managed install (Autopilot), gmp-system where it is installed by hand (cloud.google.com/stackdriver/docs/managed-
# prometheus/setup-managed; Warden's managed-namespaces list names gke-gmp-system). A default-deny ingress policy
# blocks the scrape unless the serving port is opened to them.
GMP_COLLECTOR_NAMESPACES = ("gke-gmp-system", "gmp-system")
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"  # set by Kubernetes on every namespace (1.22+)


def prometheus_metric(name: str, kind: str = "gauge") -> str:
    """The name the metrics adapter serves a Managed Prometheus series under (its '/' written as '|')."""
    return EXTERNAL_METRIC_SEPARATOR.join((PROMETHEUS_METRIC_DOMAIN, name, kind))
