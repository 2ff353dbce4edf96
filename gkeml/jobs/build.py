"""Pure-Python builders: a :class:`JobSpec` (and optionally its environment) -> Kubernetes objects.

One builder serves ``gkeml job render``/``submit`` and the W&B Launch queue
template, so the agent and a human submit identical pods. Platform facts come
from :mod:`gkeml.platform`; the security baseline from :mod:`gkeml.manifests`.

A job on one node is a batch/v1 Job. A multi-node DDP job is a JobSet (:func:`jobset`) with one replicatedJob
of one Indexed Job, completions == parallelism == nodes: the JobSet controller gives every pod the DNS name
``<run>-node-0-<index>.<run>`` under the JobSet's own headless Service, node rank = the completion index, and
restarts the whole group when one pod fails (DDP cannot go on without a rank), without counting preemptions.
The builders take a spec already checked (:mod:`gkeml.jobs.gate` checks it, renders it
and refuses what cannot run).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

from gkeml import platform
from gkeml.config import Environment
from gkeml.config.kueue import reserved_flavor
from gkeml.config.model import HyperdiskMlVolume
from gkeml.config.reservations import RESERVATION
from gkeml.jobs.spec import JOBSET_REPLICATED_JOB, RUN_SUFFIX_LENGTH, JobSpec, wandb_secret
from gkeml.manifests import (
    NON_ROOT_UID,
    Obj,
    container_security_context,
    metadata,
    node_selector,
    pod_security_context,
    resources,
)
from gkeml.manifests.kueue import local_queue, reservation_toleration
from gkeml.manifests.volumes import claim_volume
from gkeml.naming import Names

CONTAINER = "trainer"
MOUNT_PATHS = {"dataset": "/data", "checkpoints": "/checkpoints", "output": "/output"}
MOUNT_ENV = {"dataset": "DATA_DIR", "checkpoints": "CHECKPOINT_DIR", "output": "OUTPUT_DIR"}
RUN_SCOPED_MOUNTS = ("checkpoints", "output")  # written by a run: one folder per W&B Launch run
SCRATCH = "/tmp"
LOCAL_CHECKPOINTS = f"{SCRATCH}/checkpoints"  # without a checkpoint bucket (lost with the pod)
# Macro the W&B Launch agent replaces with the run id in the queue config (wandb/docs
# platform/launch/setup-queue-advanced.mdx, "Dynamically configure launch jobs", checked 2026-11).
LAUNCH_RUN_ID = "${run_id}"
MANAGED_BY = "gkeml"  # app.kubernetes.io/managed-by of every object gkeml renders
NAME_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # what Kubernetes uses for generateName
NAME_SUFFIX_LENGTH = RUN_SUFFIX_LENGTH - 1  # <= MAX_JOB_NAME + 6 characters keeps '<job>-<index>' a DNS label
# How a JobSet's child Job fails on a preempted pod (Job podFailurePolicy FailJob: its reason), and the JobSet's
# answers: a preemption restarts the group without counting (the trainer resumes from its checkpoint), a deadline
# ends the run (gkeml.platform, JobSet sources: failure_policy.md, the host-maintenance example).
POD_FAILURE_POLICY_REASON = "PodFailurePolicy"
DEADLINE_EXCEEDED_REASON = "DeadlineExceeded"


@dataclass(frozen=True)
class Target:
    """Where one run of the job lands: object name, namespace, service account, real buckets, W&B Secret,
    and the Kueue LocalQueue that admits it (None: the Job starts when created)."""

    name: str  # of the Job (or the JobSet) of this run
    namespace: str
    service_account: str | None
    buckets: dict[str, str]  # role -> real bucket name
    prefixes: dict[str, str | None]  # role -> folder mounted (GCS FUSE only-dir)
    wandb_secret: tuple[str, str] | None  # (Secret, key) of the W&B API key
    queue: str | None = None
    on_spot: bool = False  # the pods may land on Spot nodes (spot: true, or a ComputeClass with a Spot rung)
    priority: str | None = None  # the Kueue WorkloadPriorityClass of a queued job
    reservation: str | None = None  # the Kueue flavor of the reservation its ComputeClass consumes (queued jobs)
    dataset_volume: HyperdiskMlVolume | None = None  # the Hyperdisk ML volume the dataset is read from

    @classmethod
    def of(cls, spec: JobSpec, env: Environment | None, name: str | None = None) -> Target:
        """Resolve names through the environment (``Names``); ``gs://`` buckets are taken as written.

        The spec must have been checked in ``env`` (:func:`gkeml.jobs.gate.check_in_env`): without ``env``
        it stands alone (no logical bucket names, an explicit W&B Secret). In an environment with Kueue the
        job goes through its team's LocalQueue (``queue:`` may only name that one); without an
        environment, through the ``queue:`` written, if any.
        """
        mounts = spec.mounts()
        names = Names.of(env) if env is not None else None
        buckets = {
            role: m.external_name if m.external else names.bucket(m.bucket or "")  # type: ignore[union-attr]
            for role, m in mounts.items()
        }
        ksa = env.identity(spec.identity).ksa if env is not None and spec.identity else spec.identity
        queue = local_queue(spec.team) if env is not None and env.kueue.enabled else spec.queue
        compute_class = env.custom_compute_class(spec.compute_class) if env is not None else None
        on_spot = spec.spot or (compute_class is not None and compute_class.uses_spot)
        priority = spec.priority
        if queue and env is not None and env.kueue.enabled and priority is None:
            priority = env.kueue.default_priority
        reserved = None
        if queue and compute_class is not None and RESERVATION in compute_class.capacity and compute_class.reservation:
            reserved = reserved_flavor(compute_class.reservation)
        volume = next((v for v in env.volumes if v.name == spec.dataset_volume), None) if env is not None else None
        return cls(
            name or spec.name,
            spec.team,
            ksa,
            buckets,
            {role: m.prefix for role, m in mounts.items()},
            wandb_secret(spec, env),
            queue,
            on_spot,
            priority=priority if queue else None,
            reservation=reserved,
            dataset_volume=volume,
        )

    @classmethod
    def unresolved(cls, spec: JobSpec) -> Target:
        """The names as the spec writes them, resolved through no environment (logical bucket names as written,
        no W&B Secret): enough for what Autopilot's rules read of the pod (requests, selectors, annotations)."""
        mounts = spec.mounts()
        return cls(
            spec.name,
            spec.team,
            spec.identity,
            {role: m.external_name if m.external else m.bucket or "" for role, m in mounts.items()},
            {role: m.prefix for role, m in mounts.items()},
            None,
            spec.queue,
            spec.spot,
        )


def unique_name(base: str) -> str:
    """``base`` with a random suffix (Kubernetes generateName style), so every submission is a new run."""
    return f"{base}-{''.join(random.choices(NAME_SUFFIX_ALPHABET, k=NAME_SUFFIX_LENGTH))}"


def labels(spec: JobSpec, target: Target) -> dict[str, str]:
    """Labels on the Job (or JobSet) and its pods: the spec's name and this run's."""
    return {
        "app.kubernetes.io/name": spec.name,
        "app.kubernetes.io/instance": target.name,
        "app.kubernetes.io/component": "training",
        "app.kubernetes.io/managed-by": MANAGED_BY,
    }


def queue_labels(target: Target) -> dict[str, str]:
    """The labels Kueue reads on a queued Job or JobSet: its LocalQueue and its priority tier."""
    found = {}
    if target.queue:
        found[platform.KUEUE_QUEUE_LABEL] = target.queue
    if target.priority:
        found[platform.KUEUE_PRIORITY_CLASS_LABEL] = target.priority
    return found


def child_job(target: Target) -> str:
    """The name of a multi-node run's one Job (the JobSet controller's ``<jobset>-<replicatedJob>-<index>``)."""
    return f"{target.name}-{JOBSET_REPLICATED_JOB}-0"


def master_addr(target: Target) -> str:
    """Stable DNS name of rank 0 of a multi-node run: its pod's host name ``<job>-0`` under the JobSet's headless
    Service, named after the JobSet (``network.subdomain`` unset) and published before the pods are Ready."""
    return f"{child_job(target)}-0.{target.name}"


def trainer_command(spec: JobSpec) -> tuple[list[str], list[str]]:
    """torchrun command and trainer arguments of the reference trainer.

    ``$(VAR)`` references are expanded by the kubelet from the container's env;
    ``JOB_COMPLETION_INDEX`` is added to that env by the Job controller (a JobSet's Job is Indexed): the node rank.
    """
    t = spec.trainer
    command = ["torchrun", f"--nnodes={spec.nodes}", f"--nproc_per_node={spec.processes_per_node}"]
    if spec.nodes == 1:
        command.append("--standalone")
    else:
        command += [
            f"--node_rank=$({platform.JOB_COMPLETION_INDEX_ENV})",
            "--master_addr=$(MASTER_ADDR)",
            "--master_port=$(MASTER_PORT)",
        ]
    command.append(t.script)
    args = [f"--steps={t.steps}", f"--checkpoint-every={t.checkpoint_every}", "--checkpoint-dir=$(CHECKPOINT_DIR)"]
    return command, args + list(t.args)


def container_env(spec: JobSpec, target: Target) -> list[Obj]:
    """Environment of the container: paths, rendezvous, W&B (key from a Secret), then the spec's own."""
    env: list[Obj] = [{"name": "PYTHONUNBUFFERED", "value": "1"}, {"name": "HOME", "value": SCRATCH}]
    mounts = spec.mounts()
    for role, path in MOUNT_PATHS.items():
        if role in mounts or (role == "dataset" and target.dataset_volume is not None):
            env.append({"name": MOUNT_ENV[role], "value": path})
    if "checkpoints" not in mounts and spec.uses_trainer:
        env.append({"name": "CHECKPOINT_DIR", "value": LOCAL_CHECKPOINTS})
    if spec.nodes > 1:
        env += [
            {"name": "MASTER_ADDR", "value": master_addr(target)},
            {"name": "MASTER_PORT", "value": str(spec.trainer.master_port)},
        ]
    if spec.wandb is not None and target.wandb_secret is not None:
        w = spec.wandb
        secret, key = target.wandb_secret
        env.append({"name": "WANDB_API_KEY", "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}})
        env.append({"name": "WANDB_PROJECT", "value": w.project})
        if w.entity:
            env.append({"name": "WANDB_ENTITY", "value": w.entity})
        if w.base_url:
            env.append({"name": "WANDB_BASE_URL", "value": w.base_url})
    env += [{"name": k, "value": v} for k, v in spec.env.items()]
    return env


def gcs_volume(role: str, bucket: str, prefix: str | None) -> Obj:
    """An inline GCS FUSE CSI volume; the dataset is read-only."""
    options = ["implicit-dirs", f"uid={NON_ROOT_UID}", f"gid={NON_ROOT_UID}"]
    if prefix:
        options.append(f"only-dir={prefix.rstrip('/')}")
    return {
        "name": role,
        "csi": {
            "driver": platform.GCSFUSE_DRIVER,
            "readOnly": role == "dataset",
            "volumeAttributes": {"bucketName": bucket, "mountOptions": ",".join(options)},
        },
    }


def pod_annotations(spec: JobSpec) -> dict[str, str]:
    """GCS FUSE sidecar injection and its limits (only when a bucket is mounted)."""
    if not spec.mounts():
        return {}
    g = spec.gcsfuse
    sizes = {"cpu": g.cpu, "memory": g.memory, "ephemeral-storage": g.ephemeral_storage}
    return {
        platform.GCSFUSE_ANNOTATION: "true",
        **{platform.GCSFUSE_SIDECAR_ANNOTATIONS[k]: v for k, v in sizes.items()},
    }


def pod_spec(spec: JobSpec, target: Target) -> Obj:
    """The pod: non-root, no token, GPU/Spot/placement selectors, scratch, shm and GCS volumes."""
    if spec.uses_trainer:
        command, args = trainer_command(spec)
    else:
        command, args = list(spec.command or []), list(spec.args)
    scratch_size = spec.ephemeral_storage or f"{platform.DEFAULT_EPHEMERAL_GIB:g}Gi"
    volumes: list[Obj] = [
        {"name": "scratch", "emptyDir": {"sizeLimit": scratch_size}},
        {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": spec.shared_memory}},
    ]
    mounts: list[Obj] = [{"name": "scratch", "mountPath": SCRATCH}, {"name": "dshm", "mountPath": "/dev/shm"}]
    for role in spec.mounts():
        volumes.append(gcs_volume(role, target.buckets[role], target.prefixes[role]))
        mounts.append({"name": role, "mountPath": MOUNT_PATHS[role], "readOnly": role == "dataset"})
    if target.dataset_volume is not None and spec.dataset is not None:  # read-only, every pod of the job
        volume, mount = claim_volume(target.dataset_volume, "dataset", MOUNT_PATHS["dataset"], spec.dataset.prefix)
        volumes.append(volume)
        mounts.append(mount)
    container: Obj = {"name": CONTAINER, "image": spec.image, "imagePullPolicy": "IfNotPresent"}
    if spec.uses_trainer:
        container["workingDir"] = spec.trainer.working_dir
    container["command"] = command
    if args:
        container["args"] = args
    container.update(
        {
            "env": container_env(spec, target),
            "resources": resources(spec.cpu, spec.memory, spec.gpu_count if spec.gpu else 0, spec.ephemeral_storage),
            "securityContext": container_security_context(),
            "volumeMounts": mounts,
        }
    )
    selector = node_selector(gpu=spec.gpu, gpu_count=spec.gpu_count, spot=spec.spot, compute_class=spec.compute_class)
    if spec.flex_start:
        selector[platform.FLEX_START_LABEL] = "true"
    if spec.compact_placement:
        selector[platform.PLACEMENT_GROUP_LABEL] = target.name
    pod: Obj = {"restartPolicy": "Never"}
    tolerations = []
    if target.on_spot:
        # GKE adds it for the Spot selector; written here so Kueue, which admits the pod template, may use its
        # Spot flavor, and so a pod of a ComputeClass with a Spot rung may land on its (tainted) Spot nodes
        tolerations.append(dict(platform.SPOT_TOLERATION))
    if target.reservation:
        # no node has this taint: it lets Kueue admit the job on its class's reservation flavor (gkeml.manifests.kueue)
        tolerations.append(reservation_toleration(target.reservation))
    if tolerations:
        pod["tolerations"] = tolerations
    if target.service_account:
        pod["serviceAccountName"] = target.service_account
    pod.update(
        {
            # Workload Identity and the GCS FUSE driver need no Kubernetes API token in the pod.
            "automountServiceAccountToken": False,
            "securityContext": pod_security_context(),
            "terminationGracePeriodSeconds": spec.grace_seconds,
            "nodeSelector": selector,
            "containers": [container],
            "volumes": volumes,
        }
    )
    return pod


def job(spec: JobSpec, target: Target) -> Obj:
    """The batch/v1 Job: retries, deadline, TTL, preemption-tolerant failure policy. A queued Job is
    created suspended (so it cannot start before Kueue admits it, even while Kueue's webhook restarts)
    with the label that names its LocalQueue; Kueue unsuspends it when all its pods fit."""
    job_labels = {**labels(spec, target), **queue_labels(target)}
    body: Obj = {}
    if target.queue:
        body["suspend"] = True
    body.update(
        {
            "backoffLimit": spec.backoff_limit,
            "activeDeadlineSeconds": spec.active_deadline_seconds,
            "ttlSecondsAfterFinished": spec.ttl_seconds_after_finished,
            "completions": spec.nodes,
            "parallelism": spec.nodes,
        }
    )
    if spec.indexed:
        body["completionMode"] = "Indexed"
    # Preemption and other disruptions do not count against backoffLimit.
    body["podFailurePolicy"] = {
        "rules": [
            {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]},
        ]
    }
    template_meta: Obj = {"labels": labels(spec, target)}
    if pod_annotations(spec):
        template_meta["annotations"] = pod_annotations(spec)
    body["template"] = {"metadata": template_meta, "spec": pod_spec(spec, target)}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": metadata(target.name, target.namespace, job_labels),
        "spec": body,
    }


def jobset(spec: JobSpec, target: Target) -> Obj:
    """The JobSet of a multi-node job: one replicatedJob (``node``) of one Indexed Job, completions ==
    parallelism == nodes, and the JobSet's own headless Service (DNS host names, published before the pods are
    Ready, so that every rank finds rank 0 while they start).

    Failures: the Job fails at its first failed pod (``backoffLimit: 0``); a pod preempted or drained (pod
    condition ``DisruptionTarget``) fails it with reason ``PodFailurePolicy``, and the JobSet then recreates the
    whole group without counting it (``RestartJobSetAndIgnoreMaxRestarts``): the trainer resumes from its last
    checkpoint. Any other failure restarts the group at most ``backoff_limit`` times (``maxRestarts``); a run
    past ``active_deadline_seconds`` fails (``FailJobSet``). While Kueue has the JobSet admitted, a restart keeps
    its quota; if the new pods are not all ready within ``kueue.pods_ready_timeout_minutes``, Kueue suspends it
    and queues it again (waitForPodsReady, whose recovery timeout is the same). A queued JobSet is created
    suspended, labelled with its LocalQueue and priority tier."""
    body: Obj = {}
    if target.queue:
        body["suspend"] = True
    template_meta: Obj = {"labels": labels(spec, target)}
    if pod_annotations(spec):
        template_meta["annotations"] = pod_annotations(spec)
    body.update(
        {
            "ttlSecondsAfterFinished": spec.ttl_seconds_after_finished,
            "network": {"enableDNSHostnames": True, "publishNotReadyAddresses": True},
            "successPolicy": {"operator": "All"},
            "failurePolicy": {
                "maxRestarts": spec.backoff_limit,
                "rules": [
                    {
                        "name": "preempted",
                        "action": "RestartJobSetAndIgnoreMaxRestarts",
                        "onJobFailureReasons": [POD_FAILURE_POLICY_REASON],
                    },
                    {"name": "deadline", "action": "FailJobSet", "onJobFailureReasons": [DEADLINE_EXCEEDED_REASON]},
                ],
            },
            "replicatedJobs": [
                {
                    "name": JOBSET_REPLICATED_JOB,
                    "replicas": 1,
                    "template": {
                        "spec": {
                            "completionMode": "Indexed",
                            "completions": spec.nodes,
                            "parallelism": spec.nodes,
                            "backoffLimit": 0,
                            "activeDeadlineSeconds": spec.active_deadline_seconds,
                            "podFailurePolicy": {
                                "rules": [
                                    {
                                        "action": "FailJob",
                                        "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}],
                                    }
                                ]
                            },
                            "template": {"metadata": template_meta, "spec": pod_spec(spec, target)},
                        }
                    },
                }
            ],
        }
    )
    return {
        "apiVersion": platform.JOBSET_API,
        "kind": "JobSet",
        "metadata": metadata(target.name, target.namespace, {**labels(spec, target), **queue_labels(target)}),
        "spec": body,
    }


def objects(spec: JobSpec, target: Target) -> list[Obj]:
    """The objects of ``spec`` for a resolved :class:`Target`."""
    return [jobset(spec, target) if spec.nodes > 1 else job(spec, target)]


def launch_job(spec: JobSpec, target: Target) -> Obj:
    """The Job W&B Launch creates for each run (the queue config of :func:`gkeml.jobs.gate.launch_template`).

    W&B's "Tutorial: Set up W&B Launch on Kubernetes" (wandb/docs
    platform/launch/setup-launch-kubernetes.mdx, "Configure a queue for Kubernetes", Kubernetes
    job spec tab; checked 2026-11) has the queue's Configuration field take the bare Job
    manifest (``metadata``, ``spec``); the agent substitutes macros such as ``${run_id}``
    (platform/launch/setup-queue-advanced.mdx). So the Job is named ``<name>-${run_id}`` (``target``'s name)
    and the checkpoint and output folders get ``/${run_id}`` appended: every run (each run of a sweep)
    starts from its own empty checkpoint folder instead of resuming the previous run's.
    """
    per_run = {
        role: (f"{prefix.rstrip('/')}/{LAUNCH_RUN_ID}" if prefix else LAUNCH_RUN_ID)
        if role in RUN_SCOPED_MOUNTS
        else prefix
        for role, prefix in target.prefixes.items()
    }
    return job(spec, replace(target, prefixes=per_run))
