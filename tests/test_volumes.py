"""Hyperdisk ML dataset volumes: the environment's ``volumes``, the objects the in-cluster layer applies for them,
the jobs that mount one (``dataset: {volume: NAME}``), their price, and what Hyperdisk ML cannot do."""

from __future__ import annotations

import json

import jobset_crd
import kubernetes_validate
import pytest
from conftest import DEV, PROD, resources

from gkeml import platform
from gkeml.config import ConfigError
from gkeml.config.kueue import namespace_quota
from gkeml.cost.estimate import CostError, Estimator
from gkeml.cost.prices import shipped_prices
from gkeml.environments import parse_environment
from gkeml.jobs import parse_job_spec, render
from gkeml.manifests.volumes import SNAPSHOT_CLASS, claim, source_objects, storage_class, storage_objects
from gkeml.manifests.workloads import in_cluster_objects
from gkeml.rules import check

K8S_VERSION = "1.33.0"

# An environment of this file's own: two teams, a bucket-filled volume in all three zones, a snapshot volume in one.
ENV = """\
name: vol
tier: dev
project: {id: vol-ml-project, number: "200000000009", region: us-central1}
state: {bucket: vol-ml-tfstate}
network: {subnet_cidr: 10.30.0.0/20, pods_cidr: 10.36.0.0/14, services_cidr: 10.30.16.0/20}
teams:
  - name: research
    quota: {cpu: "512", memory: 4Ti, gpus: 64}
  - name: interns
    quota: {cpu: "16", memory: 64Gi}
buckets:
  - {name: datasets, purpose: datasets}
identities:
  - {name: loader, namespace: research, reads: [datasets]}
  - {name: intern-loader, namespace: interns, reads: [datasets]}
compute_classes:
  - {name: c3-cpu, machine_family: c3, capacity: [on-demand]}
  - {name: n2-cpu, machine_family: n2, capacity: [on-demand]}
volumes:
  - name: imagenet
    team: research
    source: {bucket: datasets, prefix: imagenet/train, identity: loader}
    size: 500Gi
  - name: corpus
    team: research
    source: {snapshot: projects/shared-data-project/global/snapshots/corpus-v3}
    size: 20Ti
    throughput_mibps: 8000
    zones: [us-central1-a]
"""


def env(text: str = ENV):
    return parse_environment(text, "vol.yaml")


def refused(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        env(text)
    return str(info.value)


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


# --- the environment's volumes ---------------------------------------------------------------------------------------


def test_a_volume_gets_the_cluster_s_zones_unless_it_names_its_own():
    e = env()
    imagenet, corpus = e.volumes
    assert imagenet.zones == e.cluster.zones == list(platform.REGION_ZONES["us-central1"])
    assert corpus.zones == ["us-central1-a"]
    assert (imagenet.attach_limit, corpus.attach_limit) == (1500, 20)


@pytest.mark.parametrize(
    "change, where, message",
    [
        (
            ("source: {bucket: datasets, prefix: imagenet/train, identity: loader}", "source: {identity: loader}"),
            "source: {identity",
            "volumes[0].source: set bucket (copied by GKE Volume Populator) or snapshot, one of them",
        ),
        (
            ("prefix: imagenet/train, identity: loader}", "prefix: imagenet/train}"),
            "source: {bucket",
            "volumes[0].source.identity: required with bucket: the identity whose service account copies it",
        ),
        (
            ("snapshots/corpus-v3}", "snapshots/corpus-v3, identity: loader}"),
            "corpus-v3",
            "volumes[1].source.identity: only with bucket; a snapshot is used whole",
        ),
        (
            ("size: 20Ti", "size: 65Ti"),
            "size: 65Ti",
            "volumes[1].size: 65Ti is outside what a Hyperdisk ML disk can be; allowed: 4Gi to 64Ti",
        ),
        (
            ("zones: [us-central1-a]", "zones: [us-central1-f]"),
            "us-central1-f",
            "volumes[1].zones: us-central1-f is not a zone of the cluster (us-central1-a, us-central1-b, "
            "us-central1-c): no node there could attach the disk",
        ),
        (
            ("identity: loader}", "identity: intern-loader}"),
            "intern-loader}",
            "volumes[0].source.identity: identity 'intern-loader' is in namespace interns; the copy Job runs in "
            "the volume's (research): name an identity of research",
        ),
    ],
)
def test_a_volume_hyperdisk_ml_or_its_copy_cannot_make_is_refused_at_its_key(change, where, message):
    text = ENV.replace(*change)
    assert refused(text) == f"vol.yaml:{line_of(text, where)}: {message}"


def test_the_copy_job_must_fit_the_namespace_quota_and_a_snapshot_needs_none():
    cpu = namespace_quota(env(), env().team("research"))[0]  # with Kueue: its quota plus what it may borrow
    text = ENV.replace("    size: 500Gi\n", "    size: 500Gi\n    transfer_cpu: 5000\n", 1)
    assert refused(text) == (
        f"vol.yaml:{line_of(text, 'transfer_cpu')}: volumes[0].transfer_cpu: the copy Job asks for 5000 vCPUs, more "
        f"than namespace research's quota ({cpu}): its Pod would be refused and the volume never filled; lower "
        "transfer_cpu"
    )
    text = ENV.replace("    size: 20Ti\n", "    size: 20Ti\n    transfer_cpu: 8\n")
    assert "volumes[1].transfer_cpu: only with a bucket source" in refused(text)


def test_the_copy_identity_must_read_the_bucket_and_the_populator_class_name_is_reserved():
    text = ENV.replace("{name: loader, namespace: research, reads: [datasets]}", "{name: loader, namespace: research}")
    assert refused(text).endswith(
        "volumes[0].source.identity: identity 'loader' cannot read bucket 'datasets'; add it to identities.loader.reads"
    )
    text = ENV.replace("name: c3-cpu", f"name: {platform.VOLUME_POPULATOR_TRANSFER_CLASS}")
    assert "compute_classes[0].name: gcs-to-hdml-compute-class is the compute class GKE Volume Populator" in (
        refused(text)
    )


def test_volume_references_and_names_are_checked_like_every_other_section():
    text = ENV.replace("team: research\n    source: {snapshot", "team: ops\n    source: {snapshot")
    assert "volumes[1].team: unknown team 'ops'" in refused(text)
    text = ENV.replace("name: corpus", "name: imagenet")
    assert "volumes[1].name: duplicate name 'imagenet'" in refused(text)


# --- what the in-cluster layer applies ---------------------------------------------------------------------------------


def test_a_bucket_volume_is_a_multi_zone_class_a_gcp_data_source_and_a_read_only_many_claim():
    e = env()
    imagenet = e.volumes[0]
    sc = storage_class(imagenet)
    assert sc["provisioner"] == "pd.csi.storage.gke.io" and sc["volumeBindingMode"] == "Immediate"
    assert sc["parameters"] == {
        "type": "hyperdisk-ml",
        "provisioned-throughput-on-create": "2400Mi",
        "enable-multi-zone-provisioning": "true",
    }
    assert sc["allowedTopologies"][0]["matchLabelExpressions"] == [
        {"key": "topology.gke.io/zone", "values": imagenet.zones}
    ]
    (source,) = source_objects(e, imagenet)
    assert source["kind"] == "GCPDataSource" and source["metadata"]["namespace"] == "research"
    assert source["spec"] == {
        "cloudStorage": {"serviceAccountName": "loader", "uri": "gs://vol-ml-project-datasets/imagenet/train/"}
    }
    pvc = claim(imagenet)
    assert pvc["spec"]["accessModes"] == ["ReadOnlyMany"]
    assert pvc["spec"]["dataSourceRef"] == {
        "apiGroup": "datalayer.gke.io",
        "kind": "GCPDataSource",
        "name": source["metadata"]["name"],
    }
    assert pvc["metadata"]["annotations"] == {"volume-populator.datalayer.gke.io/cpu-request": "24"}
    for obj in (sc, pvc):
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


def test_a_snapshot_volume_is_restored_read_only_and_terraform_never_deletes_the_snapshot():
    e = env()
    corpus = e.volumes[1]
    assert "enable-multi-zone-provisioning" not in storage_class(corpus)["parameters"]  # one zone: one disk
    content, snapshot = source_objects(e, corpus)
    assert content["spec"]["deletionPolicy"] == "Retain"
    assert content["spec"]["source"] == {"snapshotHandle": "projects/shared-data-project/global/snapshots/corpus-v3"}
    assert content["spec"]["volumeSnapshotRef"] == {
        "kind": "VolumeSnapshot",
        "name": "corpus-source",
        "namespace": "research",
    }
    assert snapshot["spec"]["source"] == {"volumeSnapshotContentName": content["metadata"]["name"]}
    assert claim(corpus)["spec"]["dataSource"]["kind"] == "VolumeSnapshot"
    shared = {o["kind"]: o for o in storage_objects(e)}
    assert shared["VolumeSnapshotClass"]["metadata"]["name"] == SNAPSHOT_CLASS
    assert shared["VolumeSnapshotClass"]["deletionPolicy"] == "Retain"
    assert shared["ComputeClass"]["metadata"]["name"] == platform.VOLUME_POPULATOR_TRANSFER_CLASS


def test_a_snapshot_name_alone_is_in_the_environment_s_project():
    e = env(ENV.replace("projects/shared-data-project/global/snapshots/corpus-v3", "corpus-v3"))
    content, _ = source_objects(e, e.volumes[1])
    assert content["spec"]["source"]["snapshotHandle"] == "projects/vol-ml-project/global/snapshots/corpus-v3"


def test_the_volume_objects_pass_the_autopilot_rules_and_the_classic_shared_claim_still_does_not():
    findings = check(in_cluster_objects(env()))
    assert [f for f in findings if f.severity == "error"] == []
    classic = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "shared", "namespace": "research"},
        "spec": {"accessModes": ["ReadOnlyMany"], "storageClassName": "standard-rwo"},
    }
    assert [f.rule for f in check([classic])] == ["GKE014"]
    assert "Hyperdisk ML" in check([classic])[0].fix


def test_the_stack_applies_each_claim_after_its_source_and_class_and_destroys_it_before_them(stacks, environments):
    for name in (DEV, PROD):
        manifests = resources(stacks[f"{name}-k8s"], "kubernetes_manifest")
        by_kind: dict[str, list] = {}
        for address, m in stacks[f"{name}-k8s"]["resource"]["kubernetes_manifest"].items():
            by_kind.setdefault(m["manifest"]["kind"], []).append((address, m))
        assert len(manifests) == len(in_cluster_objects(environments[name]))
        for volume in environments[name].volumes:
            (pvc_address, pvc), *_ = [
                (a, m) for a, m in by_kind["PersistentVolumeClaim"] if m["manifest"]["metadata"]["name"] == volume.name
            ]
            needs = {d.split(".")[1] for d in pvc["depends_on"]}
            sources = [
                a for k in ("GCPDataSource", "VolumeSnapshot", "VolumeSnapshotContent") for a, _ in by_kind.get(k, [])
            ]
            classes = [a for a, m in by_kind["StorageClass"] if m["manifest"]["metadata"]["name"].endswith(volume.name)]
            assert sources and set(sources) <= needs, (pvc_address, needs)
            assert classes and set(classes) <= needs


# --- jobs that mount a volume ---------------------------------------------------------------------------------------------

JOB = """\
name: train
team: research
image: us-docker.pkg.dev/shared-images/training/trainer:1.0
gpu: nvidia-l4
gpu_count: 1
cpu: "4"
memory: 16Gi
dataset: {volume: imagenet}
"""


def job(text: str = JOB, environment=None):
    return parse_job_spec(text, "train.yaml", environment if environment is not None else env())


def job_refused(text: str, environment=None) -> str:
    with pytest.raises(ConfigError) as info:
        job(text, environment)
    return str(info.value)


def test_every_pod_of_the_job_mounts_the_claim_read_only_at_data_without_a_gcs_fuse_sidecar():
    spec = job(JOB.replace("dataset: {volume: imagenet}", "nodes: 2\ndataset: {volume: imagenet, prefix: shards/}"))
    objects = render(spec, env())
    (jobset,) = objects  # a multi-node job is one JobSet of one Indexed Job
    batch = jobset["spec"]["replicatedJobs"][0]["template"]
    template = batch["spec"]["template"]
    pod = template["spec"]
    assert {"name": "dataset", "persistentVolumeClaim": {"claimName": "imagenet", "readOnly": True}} in pod["volumes"]
    (container,) = pod["containers"]
    assert {"name": "dataset", "mountPath": "/data", "readOnly": True, "subPath": "shards"} in container["volumeMounts"]
    assert {"name": "DATA_DIR", "value": "/data"} in container["env"]
    assert platform.GCSFUSE_ANNOTATION not in template["metadata"].get("annotations", {})
    assert batch["spec"]["parallelism"] == 2
    assert jobset_crd.problems(jobset) == []  # its Job template too, with the Kubernetes schema
    assert [f for f in check(objects) if f.severity == "error"] == []


@pytest.mark.parametrize(
    "change, message",
    [
        (
            ("gpu: nvidia-l4", "gpu: nvidia-tesla-t4"),
            "dataset.volume: job train runs on n1 nodes, which cannot attach Hyperdisk ML; use a GPU other than T4, "
            "or a compute class of a machine family that can",
        ),
        (
            ("gpu: nvidia-l4\ngpu_count: 1\n", ""),
            "dataset.volume: job train runs on e2 nodes, which cannot attach Hyperdisk ML",
        ),
        (
            ("gpu: nvidia-l4\ngpu_count: 1\n", "compute_class: n2-cpu\n"),
            "dataset.volume: job train runs on n2 nodes, which cannot attach Hyperdisk ML",
        ),
        (
            ("dataset: {volume: imagenet}", "dataset: {volume: corpus}\nnodes: 21"),
            "dataset.volume: job train has 21 nodes; a 20Ti Hyperdisk ML disk can be attached to at most 20 at "
            "once (each zone's disk may have to take every node)",
        ),
        (
            ("dataset: {volume: imagenet}", "dataset: {volume: mnist}"),
            "dataset.volume: unknown volume 'mnist' in vol; allowed: imagenet, corpus (vol.yaml)",
        ),
        (
            ("team: research", "team: interns"),
            "dataset.volume: volume 'imagenet' is in namespace research; a Pod mounts claims of its own namespace "
            "only (this job runs in interns): declare a volume for interns in vol.yaml",
        ),
        (
            ("dataset: {volume: imagenet}", "checkpoints: {volume: imagenet}"),
            "checkpoints.volume: a Hyperdisk ML volume is read-only once filled; write to a bucket instead",
        ),
        (
            ("dataset: {volume: imagenet}", "dataset: {volume: imagenet, bucket: datasets}"),
            "dataset: set bucket (a GCS bucket) or volume (a Hyperdisk ML volume of the environment)",
        ),
    ],
)
def test_a_job_the_volume_cannot_serve_is_refused(change, message):
    assert message in job_refused(JOB.replace(*change))


def test_a_cpu_job_on_a_class_whose_machines_attach_hyperdisk_ml_mounts_it():
    spec = job(JOB.replace("gpu: nvidia-l4\ngpu_count: 1\n", "compute_class: c3-cpu\n"))
    assert spec.dataset_volume == "imagenet"
    assert render(spec, env())


def test_a_volume_needs_its_environment():
    with pytest.raises(ConfigError) as info:
        parse_job_spec(JOB, "train.yaml")
    assert "dataset.volume: 'imagenet' is a volume of an environment; pass --env ENV" in str(info.value)


# --- what it costs ----------------------------------------------------------------------------------------------------


def test_each_zone_s_disk_is_priced_for_capacity_and_throughput_and_flagged_unconfirmed():
    prices = shipped_prices()
    rates = prices.hyperdisk_ml
    assert rates is not None
    estimate = Estimator(prices).estimate(env())
    imagenet, corpus = estimate.item("volume/imagenet"), estimate.item("volume/corpus")
    assert imagenet.autopilot.high == pytest.approx(
        3 * (500 * rates.capacity_gib_month + 2400 * rates.throughput_mibps_month)
    )
    assert corpus.autopilot.high == pytest.approx(
        20 * 1024 * rates.capacity_gib_month + 8000 * rates.throughput_mibps_month
    )
    assert imagenet.standard == imagenet.autopilot and imagenet.team == "research" and imagenet.kind == "volume"
    assert imagenet.unconfirmed == ("hyperdisk_ml",)
    priced = json.loads(prices.model_dump_json())
    del priced["hyperdisk_ml"]
    with pytest.raises(CostError, match="no hyperdisk_ml section"):
        Estimator(type(prices).model_validate(priced)).estimate(env())
