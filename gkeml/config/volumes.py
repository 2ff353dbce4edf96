"""Read-only-many Hyperdisk ML volumes: datasets (and model weights) that many Pods read at once.

The shared-dataset claim common guides show (``ReadOnlyMany`` on ``standard-rwo``) is refused by GKE
(rule GKE014): an empty Persistent Disk cannot be shared read-only. What works on Autopilot is a Hyperdisk ML
volume made read-only from data: from a Cloud Storage bucket through GKE Volume Populator, or from a Compute
Engine disk snapshot. An environment declares each under ``volumes``; the in-cluster layer creates its
StorageClass, its source and its claim (:mod:`gkeml.manifests.volumes`), a job mounts it with
``dataset: {volume: NAME}``, ``gkeml cost`` prices it, and the checks here and in the job spec hold it to
what Hyperdisk ML supports (sizes, throughput, zones, how many nodes can attach one volume, which machines
can attach it at all). Facts and sources: :mod:`gkeml.platform` ("Hyperdisk ML volumes").

:class:`HyperdiskMlVolume` is the reusable piece: an inference service can mount the same kind of volume
for its model weights with :func:`gkeml.manifests.volumes.claim_volume`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from pydantic import Field, model_validator

from gkeml import platform
from gkeml.config.base import NAME, ByteSize, DnsLabel, FileDefaults, Int32, Problem, Strict, at, resolved
from gkeml.units import gib, parse_quantity

if TYPE_CHECKING:
    from gkeml.config.model import Environment

# A Compute Engine snapshot: its name in the environment's project, or projects/PROJECT/global/snapshots/NAME.
SNAPSHOT = r"^(projects/[a-z][-a-z0-9]{4,28}[a-z0-9]/global/snapshots/)?[a-z]([-a-z0-9]{0,61}[a-z0-9])?$"
PREFIX = r"^[-_.a-zA-Z0-9]+(/[-_.a-zA-Z0-9]+)*/?$"
DEFAULT_THROUGHPUT = 2400  # MiB/s: the value of GKE's Hyperdisk ML guides


class VolumeSource(Strict):
    """Where the volume's data comes from: a bucket of the environment (copied once by GKE Volume Populator,
    as ``identity``) or a Compute Engine disk snapshot."""

    bucket: str | None = Field(
        None, pattern=NAME, description="A bucket of the environment (its logical name) to copy the data from."
    )
    prefix: str | None = Field(
        None, pattern=PREFIX, description="Copy only this folder of the bucket (its content lands at the root)."
    )
    identity: str | None = Field(
        None,
        description="With bucket: the identity in the volume's team namespace whose service account copies it "
        "(it must read the bucket). Give it to nothing else: every Pod running as it can read the bucket.",
    )
    snapshot: str | None = Field(
        None,
        pattern=SNAPSHOT,
        description="A Compute Engine disk snapshot holding the data: its name in the environment's project, "
        "or projects/PROJECT/global/snapshots/NAME. Terraform never deletes it.",
    )

    @model_validator(mode="after")
    def _one_source(self) -> VolumeSource:
        if (self.bucket is None) == (self.snapshot is None):
            raise ValueError("set bucket (copied by GKE Volume Populator) or snapshot, one of them")
        if self.snapshot is not None:
            for field in ("prefix", "identity"):
                if getattr(self, field) is not None:
                    raise at(field, "only with bucket; a snapshot is used whole")
        elif self.identity is None:
            raise at("identity", "required with bucket: the identity whose service account copies it")
        return self


class HyperdiskMlVolume(Strict):
    """A read-only-many Hyperdisk ML volume in a team's namespace, made from a bucket or a snapshot: one disk
    in each of ``zones`` (multi-zone provisioning), each attached read-only by the nodes of that zone that run
    a Pod mounting it. Pods mounting it are scheduled in those zones only."""

    name: DnsLabel = Field(description="Name of the volume's PersistentVolumeClaim (jobs name it in dataset.volume).")
    team: DnsLabel = Field(description="The team whose namespace holds the claim: only its Pods can mount it.")
    source: VolumeSource = Field(description="Where the data comes from: a bucket, or a disk snapshot.")
    size: ByteSize = Field(
        description=f"Capacity of each disk, with a unit: {platform.HYPERDISK_ML_MIN_GIB}Gi to "
        f"{platform.HYPERDISK_ML_MAX_GIB // 1024}Ti; larger than the data. The size also bounds how many nodes "
        "can attach one disk (gkeml.platform.HYPERDISK_ML_ATTACH_LIMITS)."
    )
    throughput_mibps: Int32 = Field(
        DEFAULT_THROUGHPUT,
        ge=platform.HYPERDISK_ML_MIN_THROUGHPUT,
        le=platform.HYPERDISK_ML_MAX_THROUGHPUT,
        description="Provisioned read throughput of each disk in MiB/s (billed per MiB/s each month), shared by "
        "every node that reads it.",
    )
    zones: list[str] = resolved(
        "Zones to make a disk in (each is billed): zones of the cluster (cluster.zones). Pods mounting the volume "
        "run only there.",
        "the cluster's zones",
        min_length=1,
    )
    transfer_cpu: Int32 = Field(
        platform.VOLUME_POPULATOR_TRANSFER_CPU,
        ge=1,
        description="With a bucket source: vCPUs the copy Job of GKE Volume Populator asks for in the team "
        "namespace (it counts against the namespace's quota while it runs).",
    )

    @model_validator(mode="after")
    def _size(self) -> HyperdiskMlVolume:
        size = gib(self.size)
        if not platform.HYPERDISK_ML_MIN_GIB <= size <= platform.HYPERDISK_ML_MAX_GIB:
            raise at(
                "size",
                f"{self.size} is outside what a Hyperdisk ML disk can be; allowed: "
                f"{platform.HYPERDISK_ML_MIN_GIB}Gi to {platform.HYPERDISK_ML_MAX_GIB // 1024}Ti",
            )
        if "transfer_cpu" in self.model_fields_set and self.source.bucket is None:
            raise at("transfer_cpu", "only with a bucket source (a snapshot is restored without a copy Job)")
        return self

    @property
    def size_gib(self) -> float:
        return gib(self.size)

    @property
    def attach_limit(self) -> int:
        """How many nodes can attach one of its disks at once (per zone: each zone has its own disk)."""
        return platform.hyperdisk_ml_attach_limit(self.size_gib)

    @property
    def populated(self) -> bool:
        """True when GKE Volume Populator copies the data from a bucket (else it is restored from a snapshot)."""
        return self.source.bucket is not None


def volume_problems(env: Environment) -> Iterator[Problem]:
    """The volumes against the rest of the environment: zones of the cluster, the copying identity in the
    volume's namespace reading its bucket, the copy Job within the namespace's quota, the compute class name
    GKE Volume Populator reserves (references to teams, buckets and identities are checked on the plain data)."""
    from gkeml.config.kueue import namespace_quota

    teams = {t.name: t for t in env.teams}
    identities = {i.name: i for i in env.identities}
    for i, volume in enumerate(env.volumes):
        outside = [z for z in volume.zones if z not in env.cluster.zones]
        if outside:
            yield (
                ("volumes", i, "zones"),
                f"{', '.join(outside)} {'is' if len(outside) == 1 else 'are'} not a zone of the cluster "
                f"({', '.join(env.cluster.zones)}): no node there could attach the disk",
            )
        source = volume.source
        ident = identities.get(source.identity or "")
        if ident is not None and source.bucket is not None:
            if ident.namespace != volume.team:
                yield (
                    ("volumes", i, "source", "identity"),
                    f"identity {ident.name!r} is in namespace {ident.namespace}; the copy Job runs in the "
                    f"volume's ({volume.team}): name an identity of {volume.team}",
                )
            elif source.bucket not in ident.reads + ident.writes:
                yield (
                    ("volumes", i, "source", "identity"),
                    f"identity {ident.name!r} cannot read bucket {source.bucket!r}; add it to "
                    f"identities.{ident.name}.reads",
                )
        team = teams.get(volume.team)
        if team is not None and volume.populated:
            cpu = parse_quantity(namespace_quota(env, team)[0])
            if volume.transfer_cpu > cpu:
                yield (
                    ("volumes", i, "transfer_cpu"),
                    f"the copy Job asks for {volume.transfer_cpu} vCPUs, more than namespace {team.name}'s quota "
                    f"({cpu:g}): its Pod would be refused and the volume never filled; lower transfer_cpu",
                )
    if any(v.populated for v in env.volumes):
        for j, policy in enumerate(env.compute_classes):
            if policy.name == platform.VOLUME_POPULATOR_TRANSFER_CLASS:
                yield (
                    ("compute_classes", j, "name"),
                    f"{policy.name} is the compute class GKE Volume Populator's copy Jobs run on, which gkeml "
                    "creates for the volumes copied from a bucket; rename this one",
                )


def volume_defaults(data: dict[str, Any], defaults: FileDefaults) -> None:
    """``volumes``: the cluster's zones (already resolved in ``data['cluster']``, so this resolver runs after the
    cluster's). A default resolver of :data:`gkeml.config.model.DEFAULT_RESOLVERS`."""
    volumes = data.get("volumes")
    cluster = data.get("cluster")
    zones = cluster.get("zones") if isinstance(cluster, dict) else None
    if not isinstance(volumes, list) or not isinstance(zones, list):
        return
    data["volumes"] = [{**v, "zones": list(zones)} if isinstance(v, dict) and "zones" not in v else v for v in volumes]
