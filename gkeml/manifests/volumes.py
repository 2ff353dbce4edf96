"""The Kubernetes objects of a read-only-many Hyperdisk ML volume (:class:`gkeml.config.volumes.HyperdiskMlVolume`)
and the pieces of a Pod that mounts it.

One volume is: a StorageClass of type ``hyperdisk-ml`` with its zones (multi-zone provisioning: one disk per
zone, each attached by the nodes of its zone), the source of its data (a ``GCPDataSource`` that GKE Volume
Populator copies a bucket from, as the volume's identity; or a pre-provisioned ``VolumeSnapshotContent`` naming
a Compute Engine snapshot, and its ``VolumeSnapshot``), and a ``ReadOnlyMany`` claim whose ``dataSourceRef`` or
``dataSource`` is that source. The claim is what Pods mount. Facts and sources: :mod:`gkeml.platform`
("Hyperdisk ML volumes").
"""

from __future__ import annotations

from dataclasses import dataclass

from gkeml import platform
from gkeml.config.model import Environment, HyperdiskMlVolume
from gkeml.manifests import MANAGED_BY, Obj, metadata
from gkeml.naming import Names

SNAPSHOT_CLASS = "gkeml-hyperdisk-ml-snapshots"  # one VolumeSnapshotClass for every snapshot source
LABELS = {**MANAGED_BY, "app.kubernetes.io/component": "dataset-volume"}


def storage_class_name(volume: HyperdiskMlVolume) -> str:
    """The volume's own StorageClass (its zones and throughput are its own): ``hyperdisk-ml-TEAM-NAME``."""
    return f"{platform.HYPERDISK_ML_TYPE}-{volume.team}-{volume.name}"


def source_name(volume: HyperdiskMlVolume) -> str:
    """Name of the volume's GCPDataSource or VolumeSnapshot (in the team namespace)."""
    return f"{volume.name}-source"


def snapshot_handle(env: Environment, volume: HyperdiskMlVolume) -> str:
    """``projects/P/global/snapshots/S`` of a snapshot source (a bare name is in the environment's project)."""
    snapshot = volume.source.snapshot or ""
    return snapshot if snapshot.startswith("projects/") else f"projects/{env.project.id}/global/snapshots/{snapshot}"


def storage_class(volume: HyperdiskMlVolume) -> Obj:
    """Hyperdisk ML disks of the volume's size and throughput in its zones, read-only once made from data; never
    expanded (a multi-zone volume cannot be), deleted with the claim (the data is in the bucket or snapshot)."""
    parameters = {
        "type": platform.HYPERDISK_ML_TYPE,
        "provisioned-throughput-on-create": f"{volume.throughput_mibps}Mi",
    }
    if len(volume.zones) > 1:
        parameters[platform.MULTI_ZONE_PROVISIONING_PARAMETER] = "true"
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": metadata(storage_class_name(volume), labels=LABELS),
        "provisioner": platform.PD_CSI_DRIVER,
        "parameters": parameters,
        "allowVolumeExpansion": False,
        "reclaimPolicy": "Delete",
        # Immediate: the disks are made and filled when the claim is created, not when the first Pod waits
        "volumeBindingMode": "Immediate",
        "allowedTopologies": [
            {"matchLabelExpressions": [{"key": platform.ZONE_TOPOLOGY_KEY, "values": list(volume.zones)}]}
        ],
    }


def snapshot_class() -> Obj:
    """The VolumeSnapshotClass of snapshot sources: Retain, so Terraform never deletes a snapshot it did not make."""
    return {
        "apiVersion": platform.SNAPSHOT_API,
        "kind": "VolumeSnapshotClass",
        "metadata": metadata(SNAPSHOT_CLASS, labels=LABELS),
        "driver": platform.PD_CSI_DRIVER,
        "deletionPolicy": "Retain",
    }


def transfer_compute_class() -> Obj:
    """The compute class GKE Volume Populator's copy Jobs run on: its name is fixed by GKE, its machines can attach
    Hyperdisk ML (the guide's class, with node pool auto-creation for Autopilot)."""
    return {
        "apiVersion": platform.COMPUTE_CLASS_API,
        "kind": "ComputeClass",
        "metadata": metadata(platform.VOLUME_POPULATOR_TRANSFER_CLASS, labels=LABELS),
        "spec": {
            "priorities": [{"machineFamily": f} for f in platform.VOLUME_POPULATOR_TRANSFER_MACHINE_FAMILIES],
            "nodePoolAutoCreation": {"enabled": True},
            "whenUnsatisfiable": "DoNotScaleUp",
        },
    }


def source_objects(env: Environment, volume: HyperdiskMlVolume) -> list[Obj]:
    """What the claim's data comes from: a GCPDataSource (bucket), or a VolumeSnapshotContent and its
    VolumeSnapshot (snapshot). Applied before the claim and destroyed after it."""
    ns, name = volume.team, source_name(volume)
    if volume.populated:
        prefix = (volume.source.prefix or "").strip("/")
        bucket = Names.of(env).bucket(volume.source.bucket or "")
        return [
            {
                "apiVersion": platform.VOLUME_POPULATOR_API,
                "kind": "GCPDataSource",
                "metadata": metadata(name, ns, LABELS),
                "spec": {
                    "cloudStorage": {
                        "serviceAccountName": env.identity(volume.source.identity or "").ksa,
                        "uri": f"gs://{bucket}/{prefix + '/' if prefix else ''}",
                    }
                },
            }
        ]
    content = f"{volume.team}-{name}"
    return [
        {
            "apiVersion": platform.SNAPSHOT_API,
            "kind": "VolumeSnapshotContent",
            "metadata": metadata(content, labels=LABELS),
            "spec": {
                "deletionPolicy": "Retain",
                "driver": platform.PD_CSI_DRIVER,
                "source": {"snapshotHandle": snapshot_handle(env, volume)},
                "volumeSnapshotClassName": SNAPSHOT_CLASS,
                "volumeSnapshotRef": {"kind": "VolumeSnapshot", "name": name, "namespace": ns},
            },
        },
        {
            "apiVersion": platform.SNAPSHOT_API,
            "kind": "VolumeSnapshot",
            "metadata": metadata(name, ns, LABELS),
            "spec": {"volumeSnapshotClassName": SNAPSHOT_CLASS, "source": {"volumeSnapshotContentName": content}},
        },
    ]


def claim(volume: HyperdiskMlVolume) -> Obj:
    """The ReadOnlyMany claim Pods mount, filled from its source (so GKE014's data-source rule holds)."""
    group, kind = (
        (platform.VOLUME_POPULATOR_API.split("/")[0], "GCPDataSource")
        if volume.populated
        else (platform.SNAPSHOT_API.split("/")[0], "VolumeSnapshot")
    )
    annotations = {platform.VOLUME_POPULATOR_CPU_ANNOTATION: str(volume.transfer_cpu)} if volume.populated else None
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": metadata(volume.name, volume.team, LABELS, annotations),
        "spec": {
            "accessModes": ["ReadOnlyMany"],
            "storageClassName": storage_class_name(volume),
            "resources": {"requests": {"storage": volume.size}},
            "dataSourceRef" if volume.populated else "dataSource": {
                "apiGroup": group,
                "kind": kind,
                "name": source_name(volume),
            },
        },
    }


@dataclass(frozen=True)
class VolumePlan:
    """One volume in the in-cluster layer: its source objects, then its claim (which depends on them)."""

    name: str
    team: str
    sources: list[Obj]
    claim: Obj


def storage_objects(env: Environment) -> list[Obj]:
    """The cluster-scoped objects every volume shares or owns: the StorageClasses, the VolumeSnapshotClass of
    snapshot sources, GKE Volume Populator's compute class for bucket sources."""
    objects = [storage_class(v) for v in env.volumes]
    if any(not v.populated for v in env.volumes):
        objects.append(snapshot_class())
    if any(v.populated for v in env.volumes):
        objects.append(transfer_compute_class())
    return objects


def volume_plans(env: Environment) -> list[VolumePlan]:
    """Each volume's source objects and claim."""
    return [VolumePlan(v.name, v.team, source_objects(env, v), claim(v)) for v in env.volumes]


def claim_volume(volume: HyperdiskMlVolume, name: str, path: str, sub_path: str | None = None) -> tuple[Obj, Obj]:
    """(Pod volume, container volumeMount) mounting ``volume``'s claim read-only at ``path`` (``sub_path``: only
    that folder of it). For jobs (``dataset.volume``) and, the same way, inference services' model weights."""
    mount: Obj = {"name": name, "mountPath": path, "readOnly": True}
    if sub_path:
        mount["subPath"] = sub_path.strip("/")
    return {"name": name, "persistentVolumeClaim": {"claimName": volume.name, "readOnly": True}}, mount


def attach_problem(volume: HyperdiskMlVolume, nodes: int, machine_family: str | None, what: str) -> str | None:
    """Why ``nodes`` nodes of ``machine_family`` (None: Autopilot's general-purpose E2 nodes) cannot all mount
    ``volume`` at once, or None. ``what`` names the workload in the message. Nodes may all land in one zone, so
    each zone's disk must take all of them."""
    family = machine_family or platform.AUTOPILOT_GENERAL_PURPOSE_FAMILY
    if not platform.hyperdisk_ml_machine(family):
        return (
            f"{what} runs on {family} nodes, which cannot attach Hyperdisk ML; use a GPU other than T4, or a "
            f"compute class of a machine family that can ({', '.join(platform.HYPERDISK_ML_MACHINE_SERIES)})"
        )
    if nodes > volume.attach_limit:
        return (
            f"{what} has {nodes} nodes; a {volume.size} Hyperdisk ML disk can be attached to at most "
            f"{volume.attach_limit} at once (each zone's disk may have to take every node): use fewer nodes, or a "
            "smaller volume (gkeml.platform.HYPERDISK_ML_ATTACH_LIMITS)"
        )
    return None
