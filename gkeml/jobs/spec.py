"""The job spec: a short YAML file describing one training (or batch) job.

Validated like the environment files (``extra=forbid``, strict types) and loaded
through :func:`gkeml.config.parse` (:func:`gkeml.jobs.gate.parse_job_spec`), so every
mistake reads ``file:line: field: message`` and names the allowed values. The spec's own
checks are :func:`spec_problems`; checks against an environment (team, identity, buckets,
compute class, W&B secret) are in :func:`env_problems`; without an environment,
:func:`standalone_problems` refuses what only an environment can resolve (logical bucket
names, the W&B secret). What Autopilot does with the requests is not decided here: the
rules decide it on the rendered pod (:func:`gkeml.jobs.fit.request_problems`).

Buckets: a bare name (``bucket: datasets``) is a logical bucket of the environment
and needs ``--env`` (it becomes ``Names.of(env).bucket("datasets")``); ``gs://NAME``
marks a bucket outside the environment, used exactly as written, with or without
``--env``. GCS bucket names are global: a logical name taken literally would read
from, or write checkpoints into, whoever owns that bucket.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Literal

from pydantic import Field, PrivateAttr, field_validator, model_validator

from gkeml import platform
from gkeml.config.base import Int32, Int64
from gkeml.config.checks import compute_class_problems
from gkeml.config.images import image_admission_problem
from gkeml.config.loader import ConfigProblem
from gkeml.config.model import (
    BUCKET_NAME,
    NAME,
    ByteSize,
    DnsLabel,
    Environment,
    Image,
    Problem,
    Quantity,
    ShortName,
    Strict,
)
from gkeml.config.versions import feature_problem
from gkeml.manifests.kueue import local_queue
from gkeml.manifests.volumes import attach_problem
from gkeml.units import gib, parse_quantity

# Hostnames of Indexed Job pods are '<job>-<index>' and must stay a DNS label.
MAX_JOB_NAME = 52
RUN_SUFFIX_LENGTH = 6  # '-' and the 5 characters `gkeml job submit` appends (gkeml.jobs.build.unique_name)
# A multi-node job is a JobSet with one replicatedJob: its Job is '<run>-node-0', its pods' host names
# '<run>-node-0-<index>', and the JobSet webhook refuses a JobSet whose pod names (host name plus the Job
# controller's 5-character suffix) could pass 63 characters (gkeml.platform, JobSet sources).
JOBSET_REPLICATED_JOB = "node"
DNS_LABEL_MAX = 63


def max_run_name(nodes: int) -> int:
    """The longest name of one run (a Job, or the JobSet of a multi-node job) of a job on ``nodes`` nodes."""
    if nodes < 2:
        return MAX_JOB_NAME + RUN_SUFFIX_LENGTH
    host = f"-{JOBSET_REPLICATED_JOB}-0-{nodes - 1}"
    return DNS_LABEL_MAX - len(host) - platform.JOBSET_POD_SUFFIX


def max_spec_name(nodes: int) -> int:
    """The longest spec name of a job on ``nodes`` nodes (its runs are named '<name>-<5 characters>')."""
    return max_run_name(nodes) - RUN_SUFFIX_LENGTH


ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # always fullmatch: a trailing newline is no name
# Environment variables that hold credentials must come from a Secret, never from the spec. A name
# is one when a word ('_'-separated) ends with CREDENTIAL_WORDS (HF_TOKEN, OPENAI_APIKEY, HFTOKEN) or
# its last word (of several) is in CREDENTIAL_LAST_WORDS (API_KEY, DB_PASS), unless the last word says it names
# where the credential is (TOKEN_FILE, SECRET_PATH).
CREDENTIAL_WORDS = (
    "APIKEY",
    "TOKEN",
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "PASSPHRASE",
    "CREDENTIAL",
    "CREDENTIALS",
    "ACCESSKEY",
    "PRIVATEKEY",
    "SECRETKEY",
)
CREDENTIAL_LAST_WORDS = ("KEY", "PASS", "PWD", "PAT", "AUTH")
CREDENTIAL_REFERENCE_WORDS = ("FILE", "PATH", "DIR", "NAME", "ID", "URL", "URI", "ENDPOINT", "REF", "TYPE")
# A password in a URL's user information (RFC 3986 section 3.2.1 deprecates it for this reason):
# scheme://user:password@host, the scheme a letter then letters, digits, '+', '-' and '.'.
URL_SEPARATOR = "://"
SCHEME_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.")
USER_AND_PASSWORD = re.compile(r"[^/\s:@]*:[^/\s@]+@")
# Variables the builder sets itself; a spec may not override them.
RESERVED_ENV = (
    "MASTER_ADDR",
    "MASTER_PORT",
    "CHECKPOINT_DIR",
    "DATA_DIR",
    "OUTPUT_DIR",
    "HOME",
    "PYTHONUNBUFFERED",
    platform.JOB_COMPLETION_INDEX_ENV,
    "WANDB_PROJECT",
    "WANDB_ENTITY",
    "WANDB_BASE_URL",
    "WANDB_API_KEY",
)


# Why a flex-start job cannot go through a Kueue queue (rule GKE041, gkeml.rules.interactions).
FLEX_START_QUEUED = (
    "a queued job cannot wait for flex-start capacity: Kueue admits it first and evicts and requeues it when "
    "its pods are not all ready within waitForPodsReady (kueue.pods_ready_timeout_minutes), while flex-start "
    "capacity may take longer to come, with no documented bound; remove flex_start (spot or on-demand "
    "capacity), or queue without flex-start"
)

EXTERNAL_BUCKET = "gs://"  # marks a bucket outside the environment
UNCHECKED = object()  # a JobSpec built without parse_job_spec: nothing checked it yet


class Mount(Strict):
    """A GCS bucket mounted through the GCS FUSE CSI driver, or (for the dataset) a Hyperdisk ML volume of the
    environment."""

    bucket: str | None = Field(
        None,
        min_length=1,
        description="A logical bucket of the environment (needs --env), or gs://NAME "
        "for a bucket outside it, used exactly as written.",
    )
    volume: DnsLabel | None = Field(
        None,
        description="dataset only: a Hyperdisk ML volume of the environment (its volumes), mounted read-only "
        "instead of a bucket; needs --env.",
    )
    prefix: str | None = Field(
        None,
        pattern=r"^[-_.a-zA-Z0-9]+(/[-_.a-zA-Z0-9]+)*/?$",
        description="Mount only this folder of the bucket (GCS FUSE only-dir) or of the volume (subPath).",
    )

    @model_validator(mode="after")
    def _one_source(self) -> Mount:
        if (self.bucket is None) == (self.volume is None):
            raise ValueError("set bucket (a GCS bucket) or volume (a Hyperdisk ML volume of the environment)")
        return self

    @field_validator("bucket")
    @classmethod
    def _bucket_syntax(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if value.startswith(EXTERNAL_BUCKET):
            if not re.fullmatch(BUCKET_NAME, value[len(EXTERNAL_BUCKET) :]):
                raise ValueError(
                    f"{value!r} is not gs:// and a bucket name (3-63 lowercase letters, digits, '-', "
                    "'_' and '.'); put a folder in prefix, e.g. {bucket: gs://BUCKET, prefix: DIR}"
                )
        elif not re.fullmatch(NAME, value):
            raise ValueError(
                f"{value!r} is neither a logical bucket name of the environment (e.g. datasets) nor "
                "gs://BUCKET for a bucket outside it"
            )
        return value

    @property
    def external(self) -> bool:
        """True for ``gs://NAME``: a bucket outside the environment, never renamed."""
        return (self.bucket or "").startswith(EXTERNAL_BUCKET)

    @property
    def external_name(self) -> str:
        """The real name of an external bucket (without ``gs://``)."""
        return (self.bucket or "")[len(EXTERNAL_BUCKET) :]


class GcsFuseSidecar(Strict):
    """Limits of the GCS FUSE sidecar (pod annotations); Autopilot bills them with the pod."""

    cpu: Quantity = "250m"
    memory: ByteSize = "256Mi"
    ephemeral_storage: ByteSize = Field("5Gi", description="Write staging: must hold the largest checkpoint file.")


class WandB(Strict):
    """Weights & Biases settings; the API key comes from a Kubernetes Secret."""

    project: str = Field(min_length=1)
    entity: str | None = None
    secret: DnsLabel | None = Field(
        None,
        description="Kubernetes Secret holding the API key. With --env, default: the Secret the environment's "
        "W&B Launch release puts in its launch.teams (wandb-api-key-<release>); required without --env.",
    )
    key: str = Field(
        platform.WANDB_API_KEY_SECRET_KEY, pattern=r"^[-._a-zA-Z0-9]+$", description="Key of the API key in the Secret."
    )
    base_url: str | None = Field(None, pattern=r"^https://")


class Trainer(Strict):
    """Arguments of the reference trainer (examples/trainer), the default command."""

    script: str = Field("train.py", min_length=1, description="Trainer script, relative to working_dir.")
    working_dir: str = Field("/app", pattern=r"^/")
    steps: Int64 = Field(1000, ge=1)
    checkpoint_every: Int64 = Field(100, ge=1, description="Checkpoint every N steps (and always on SIGTERM).")
    args: list[str] = Field(default_factory=list, description="More trainer arguments.")
    master_port: int = Field(29500, ge=1024, le=65535, description="Rendezvous port of node 0 (multi-node).")


class JobSpec(Strict):
    """One job: what runs, on which hardware, with which data, identity and retry policy."""

    name: DnsLabel = Field(
        description="Job name: each run is '<name>-<5 characters>' (the JobSet of a multi-node job, whose pod "
        "names must stay 63 characters: at most 42 for 2-10 nodes, 52 on one node)."
    )
    team: DnsLabel = Field(description="Team namespace the job runs in.")
    image: Image | None = Field(None, description="Container image with a tag or digest (required).")
    command: list[str] | None = Field(
        None, min_length=1, description="Replaces the reference trainer (torchrun) as the container command."
    )
    args: list[str] = Field(default_factory=list, description="Arguments for a custom command.")
    trainer: Trainer = Field(default_factory=Trainer)
    gpu: str | None = Field(None, description=f"GPU type: {', '.join(platform.GPUS)}.")
    gpu_count: Int32 = Field(1, ge=1, description="GPUs per node (per pod).")
    nodes: Int32 = Field(1, ge=1, description="Pods (nodes) of a multi-node DDP job.")
    completion_mode: Literal["Indexed", "NonIndexed"] | None = Field(
        None, description="Default: Indexed for multi-node jobs, NonIndexed otherwise."
    )
    cpu: Quantity = "4"
    memory: ByteSize = "16Gi"
    ephemeral_storage: ByteSize | None = Field(
        None, description="Request for /tmp and the container's writable layers."
    )
    shared_memory: ByteSize = Field("1Gi", description="Size of /dev/shm (memory-backed; counts against memory).")
    spot: bool = False
    flex_start: bool = Field(
        False,
        description=f"GKE flex-start (Dynamic Workload Scheduler) GPU nodes: wait for "
        f"capacity, run at most {platform.FLEX_START_MAX_RUN_SECONDS // 86400} days "
        f"(GPUs: {', '.join(platform.flex_start_gpus())}).",
    )
    compact_placement: bool = Field(
        False,
        description=f"Place the nodes close together (GPUs: "
        f"{', '.join(g for g, v in platform.GPUS.items() if v.compact_placement)}).",
    )
    compute_class: str | None = Field(
        None,
        description="A ComputeClass of the environment (its capacity ladder "
        "places the pods; gpu must match its GPU) or a built-in class.",
    )
    queue: DnsLabel | None = Field(
        None,
        description="Kueue LocalQueue (label kueue.x-k8s.io/queue-name); with "
        "--env, the team's LocalQueue whether set or not.",
    )
    priority: DnsLabel | None = Field(
        None,
        description="Priority tier of a queued job (its WorkloadPriorityClass, label kueue.x-k8s.io/priority-class): "
        "with --env one of the environment's kueue.priorities (default: kueue.default_priority); a higher tier "
        "preempts lower ones in the team's queue (docs/jobs.md, Priorities).",
    )
    identity: ShortName | None = Field(None, description="Workload Identity the pods run as.")
    dataset: Mount | None = Field(
        None, description="Read-only at /data (DATA_DIR): a bucket, or a Hyperdisk ML volume of the environment."
    )
    checkpoints: Mount | None = Field(None, description="Read-write at /checkpoints (CHECKPOINT_DIR).")
    output: Mount | None = Field(None, description="Read-write at /output (OUTPUT_DIR).")
    gcsfuse: GcsFuseSidecar = Field(default_factory=GcsFuseSidecar)
    wandb: WandB | None = None
    env: dict[str, str] = Field(default_factory=dict, description="Plain environment variables (no credentials).")
    backoff_limit: int = Field(3, ge=0, le=100, description="Failed pods allowed before the job fails.")
    ttl_seconds_after_finished: Int32 = Field(86400, ge=0, description="Delete the finished job after this.")
    active_deadline_seconds: Int64 = Field(86400, ge=60, description="Stop the job after this, retries included.")
    termination_grace_seconds: Int64 | None = Field(
        None, ge=1, description=f"Default: {platform.SPOT_TERMINATION_GRACE_SECONDS} (Spot honours no more)."
    )

    _file: str = PrivateAttr("<spec>")
    _text: str = PrivateAttr("")
    _checked_in: object = PrivateAttr(UNCHECKED)  # the environment (or None) parse_job_spec checked it against
    _warnings: list[ConfigProblem] = PrivateAttr(default_factory=list)

    # -- derived ---------------------------------------------------------------
    @property
    def warnings(self) -> list[ConfigProblem]:
        """What the request rules warn about in the rendered pod (Autopilot changes it, and bills what it
        sets), at the spec's lines; set by :func:`gkeml.jobs.gate.parse_job_spec`."""
        return list(self._warnings)

    @property
    def indexed(self) -> bool:
        """True when pods get a completion index (rank)."""
        return (self.completion_mode or ("Indexed" if self.nodes > 1 else "NonIndexed")) == "Indexed"

    @property
    def uses_trainer(self) -> bool:
        """True when the container runs the reference trainer through torchrun."""
        return self.command is None

    @property
    def processes_per_node(self) -> int:
        """torchrun workers per pod: one per GPU, one on CPU."""
        return self.gpu_count if self.gpu else 1

    @property
    def grace_seconds(self) -> int:
        """terminationGracePeriodSeconds of the pods."""
        return self.termination_grace_seconds or platform.SPOT_TERMINATION_GRACE_SECONDS

    def mounts(self) -> dict[str, Mount]:
        """The GCS mounts in use, by role (dataset, checkpoints, output); a dataset volume is not one."""
        return {
            role: m
            for role in ("dataset", "checkpoints", "output")
            if (m := getattr(self, role)) is not None and m.bucket is not None
        }

    @property
    def dataset_volume(self) -> str | None:
        """The Hyperdisk ML volume the dataset is read from, or None."""
        return self.dataset.volume if self.dataset is not None else None

    # -- checks ----------------------------------------------------------------
    def _problems(self) -> Iterator[tuple[str, str]]:
        """Every (field, message) the spec's own checks find; all are reported at once."""
        longest = max_spec_name(self.nodes)
        if len(self.name) > longest:
            hosts = (
                f"'<name>-<5 characters>-{JOBSET_REPLICATED_JOB}-0-<index>-<5 characters>' for {self.nodes} nodes"
                if self.nodes > 1
                else "'<name>-<index>'"
            )
            yield "name", f"{len(self.name)} characters; at most {longest} (pod names are {hosts}, at most 63)"
        if self.image is None:
            yield (
                "image",
                (
                    "required; set a container image with a tag or digest, e.g. "
                    "us-docker.pkg.dev/PROJECT/REPO/trainer:1.0"
                ),
            )
        yield from self._placement_problems()
        yield from self._request_problems()
        yield from self._env_problems()
        yield from self._url_problems()
        for role in ("checkpoints", "output"):
            mount = getattr(self, role)
            if mount is not None and mount.volume is not None:
                yield f"{role}.volume", "a Hyperdisk ML volume is read-only once filled; write to a bucket instead"

    def _placement_problems(self) -> Iterator[tuple[str, str]]:
        if self.gpu is not None:
            problem = platform.gpu_problem(self.gpu, self.gpu_count)
            if problem:
                yield problem
        elif "gpu_count" in self.model_fields_set:
            yield "gpu_count", "set without gpu; add gpu (allowed: " + ", ".join(platform.GPUS) + ")"
        if self.nodes > 1 and not self.indexed:
            yield "completion_mode", f"NonIndexed cannot run {self.nodes} nodes (pods get no rank); allowed: Indexed"
        if self.compact_placement:
            allowed = [g for g, v in platform.GPUS.items() if v.compact_placement]
            if self.compute_class is not None and self.compute_class not in platform.BUILTIN_COMPUTE_CLASSES:
                yield (
                    "compact_placement",
                    (
                        f"not with compute class {self.compute_class}: a pod on a ComputeClass selects the class "
                        "alone and gets its nodes from the class's priorities, and a placement-group selector "
                        "next to it can contradict them; remove compact_placement or compute_class"
                    ),
                )
            elif self.gpu not in allowed:
                yield (
                    "compact_placement",
                    (f"not available for {self.gpu or 'CPU-only jobs'}; allowed with gpu: {', '.join(allowed)}"),
                )
            elif self.nodes < 2:
                yield "compact_placement", "only useful with nodes >= 2"
        if self.spot:
            if self.grace_seconds > platform.SPOT_TERMINATION_GRACE_SECONDS:
                yield (
                    "termination_grace_seconds",
                    (
                        f"{self.grace_seconds} s is more than Spot honours; "
                        f"allowed: 1-{platform.SPOT_TERMINATION_GRACE_SECONDS}"
                    ),
                )
            if self.checkpoints is None:
                yield (
                    "spot",
                    (
                        "true needs a checkpoint bucket so a preempted run resumes; "
                        "add checkpoints: {bucket: ...} or set spot: false"
                    ),
                )
        if self.flex_start:
            yield from self._flex_start_problems()
        if not self.uses_trainer and "trainer" in self.model_fields_set:
            yield "trainer", "ignored with a custom command; remove trainer or command"
        if self.uses_trainer and self.args:
            yield "args", "only with a custom command; use trainer.args for the reference trainer"

    def _flex_start_problems(self) -> Iterator[tuple[str, str]]:
        allowed = platform.flex_start_gpus()
        if self.gpu is None:
            yield "flex_start", f"GPU jobs only; set gpu (allowed with flex_start: {', '.join(allowed)})"
        elif self.gpu not in allowed:
            yield "flex_start", f"not available for {self.gpu}; allowed with gpu: {', '.join(allowed)}"
        if self.spot:
            yield (
                "flex_start",
                ("cannot be combined with spot (a node is either Spot or flex-start); remove spot or flex_start"),
            )
        if self.queue is not None:
            yield "flex_start", FLEX_START_QUEUED
        if self.active_deadline_seconds > platform.FLEX_START_MAX_RUN_SECONDS:
            yield (
                "active_deadline_seconds",
                (
                    f"{self.active_deadline_seconds} s is longer than flex-start nodes "
                    f"run; allowed with flex_start: up to "
                    f"{platform.FLEX_START_MAX_RUN_SECONDS} (7 days)"
                ),
            )

    def _request_problems(self) -> Iterator[tuple[str, str]]:
        """What a job spec must ask for whatever Autopilot does with it (its request rules run on the rendered
        pod: :func:`gkeml.jobs.fit.request_problems`)."""
        cpu, memory = parse_quantity(self.cpu), gib(self.memory)
        if cpu <= 0 or memory <= 0:
            for field, value in (("cpu", cpu), ("memory", memory)):
                if value <= 0:
                    yield field, f"{getattr(self, field)} requests nothing; a job needs some {field}"
            return
        if gib(self.shared_memory) >= memory:
            yield "shared_memory", f"{self.shared_memory} must be below memory {self.memory} (it counts against it)"

    def _env_problems(self) -> Iterator[tuple[str, str]]:
        for name in self.env:
            field = f"env.{name}" if ENV_NAME.fullmatch(name) else "env"
            if not ENV_NAME.fullmatch(name):
                yield field, f"{name!r} is not a variable name; use letters, digits and '_'"
            elif name in RESERVED_ENV:
                yield field, f"{name} is set by gkeml; remove it (reserved: {', '.join(RESERVED_ENV)})"
            elif credential_name(name):
                yield field, f"{name} looks like a credential; keep it in a Kubernetes Secret, never in the spec"

    def _url_problems(self) -> Iterator[tuple[str, str]]:
        """Passwords written into URLs (``scheme://user:password@host``) anywhere the spec passes text on."""
        texts: list[tuple[str, str]] = [
            (f"env.{k}" if ENV_NAME.fullmatch(k) else "env", v) for k, v in self.env.items()
        ]
        texts += [(f"command.{i}", v) for i, v in enumerate(self.command or [])]
        texts += [(f"args.{i}", v) for i, v in enumerate(self.args)]
        texts += [(f"trainer.args.{i}", v) for i, v in enumerate(self.trainer.args)]
        if self.wandb is not None and self.wandb.base_url:
            texts.append(("wandb.base_url", self.wandb.base_url))
        for field, text in texts:
            if url_with_password(text):
                yield (
                    field,
                    (
                        "holds a URL with a user and password (scheme://user:password@host); keep the "
                        "password in a Kubernetes Secret and pass it as a variable, never in the spec"
                    ),
                )


def url_with_password(text: str) -> bool:
    """True when ``text`` holds ``scheme://user:password@`` somewhere. Linear in the length of ``text``
    (a regular expression searched from every position is quadratic on a long word): each ``://`` is
    looked at once, with the scheme before it and the user information after it, and neither
    reaches past a '/' (which the next ``://`` starts with)."""
    start = 0
    while (at := text.find(URL_SEPARATOR, start)) >= 0:
        begin = at
        while begin > 0 and text[begin - 1] in SCHEME_CHARACTERS:
            begin -= 1
        # the scheme starts with its first letter; the characters before it may be digits and '+-.'
        if any(c.isascii() and c.isalpha() for c in text[begin:at]) and USER_AND_PASSWORD.match(
            text, at + len(URL_SEPARATOR)
        ):
            return True
        start = at + len(URL_SEPARATOR)
    return False


def credential_name(name: str) -> bool:
    """True when environment variable ``name`` names a credential itself (HF_TOKEN, OPENAI_APIKEY,
    DB_PASS), not where one is kept (TOKEN_FILE, SECRET_PATH)."""
    words = [w for w in name.upper().split("_") if w]
    if not words or words[-1] in CREDENTIAL_REFERENCE_WORDS:
        return False
    return (len(words) > 1 and words[-1] in CREDENTIAL_LAST_WORDS) or any(w.endswith(CREDENTIAL_WORDS) for w in words)


def spec_problems(spec: JobSpec) -> list[Problem]:
    """The spec's own problems (what it says, whatever the environment), each at its key."""
    return [
        (tuple(int(p) if p.isdigit() else p for p in field.split(".")), message) for field, message in spec._problems()
    ]


def standalone_problems(spec: JobSpec) -> list[Problem]:
    """Problems of ``spec`` without an environment: names only an environment can resolve."""
    problems: list[Problem] = []
    for role, mount in spec.mounts().items():
        if not mount.external:
            problems.append(
                (
                    (role, "bucket"),
                    f"{mount.bucket!r} is a logical bucket name; pass --env ENV to use the "
                    f"environment's bucket, or write gs://BUCKET for a bucket outside it "
                    f"(GCS names are global: taken literally it is someone else's bucket)",
                )
            )
    if spec.dataset_volume is not None:
        problems.append(
            (
                ("dataset", "volume"),
                f"{spec.dataset_volume!r} is a volume of an environment; pass --env ENV (its volumes), or read "
                "the data from a bucket (dataset: {bucket: gs://BUCKET})",
            )
        )
    if spec.wandb is not None and spec.wandb.secret is None:
        problems.append(
            (
                ("wandb", "secret"),
                "required without --env; name the Kubernetes Secret holding the "
                "W&B API key, or pass --env ENV to use the environment's",
            )
        )
    if spec.priority is not None and spec.queue is None:
        problems.append(
            (
                ("priority",),
                "only a queued job has a priority (Kueue reads it); add queue: the team's LocalQueue, or pass "
                "--env ENV to queue the job through the environment's Kueue",
            )
        )
    return problems


def env_problems(spec: JobSpec, env: Environment, env_file: str | None = None) -> list[Problem]:
    """Problems of ``spec`` in ``env``: unknown team, identity, bucket, compute class, missing access, W&B secret.

    ``env_file`` (the environment's path) is named in fixes that belong in the environment file.
    """
    problems: list[Problem] = []
    teams = [t.name for t in env.teams]
    if spec.team not in teams:
        return [(("team",), f"unknown team {spec.team!r} in {env.name}; allowed: {', '.join(teams) or 'none'}")]
    image = spec.image and image_admission_problem(env, spec.image)
    if image:
        problems.append((("image",), image))
    buckets = [b.name for b in env.buckets]
    mounts = spec.mounts()
    logical = {role: m for role, m in mounts.items() if not m.external}
    for role, mount in logical.items():
        if mount.bucket not in buckets:
            problems.append(
                (
                    (role, "bucket"),
                    f"unknown bucket {mount.bucket!r} in {env.name}; "
                    f"allowed: {', '.join(buckets) or 'none'} (or gs://BUCKET for a "
                    f"bucket outside the environment)",
                )
            )
    identities = env.identities_in(spec.team)
    names = [i.name for i in identities]
    if spec.identity is not None and spec.identity not in names:
        problems.append(
            (
                ("identity",),
                f"{spec.identity!r} is not an identity of namespace {spec.team} in "
                f"{env.name}; allowed: {', '.join(names) or 'none'}",
            )
        )
    if spec.identity is None and mounts:
        problems.append(
            (("identity",), f"required to mount buckets (Workload Identity); allowed: {', '.join(names) or 'none'}")
        )
    if spec.identity in names and not problems:
        ident = env.identity(spec.identity)
        for role, mount in logical.items():
            writable = role != "dataset"
            granted = ident.writes if writable else ident.reads + ident.writes
            if mount.bucket not in granted:
                need = "writes" if writable else "reads"
                problems.append(
                    (
                        (role, "bucket"),
                        f"identity {ident.name!r} cannot {'write' if writable else 'read'} "
                        f"{mount.bucket!r}; add it to identities.{ident.name}.{need} "
                        f"in {env.name}",
                    )
                )
    if spec.compute_class is not None:
        allowed = [c.name for c in env.compute_classes] + list(platform.BUILTIN_COMPUTE_CLASSES)
        if spec.compute_class not in allowed:
            problems.append(
                (("compute_class",), f"unknown compute class {spec.compute_class!r}; allowed: {', '.join(allowed)}")
            )
        problems += _class_problems(spec, env)
    problems += _volume_problems(spec, env, env_file or f"{env.name}.yaml")
    problems += _wandb_problems(spec, env, env_file or f"{env.name}.yaml")
    problems += _queue_problems(spec, env, env_file or f"{env.name}.yaml")
    problems += _jobset_problems(spec, env, env_file or f"{env.name}.yaml")
    if spec.flex_start:
        gate = feature_problem(env, "flex-start", ("flex_start",), "remove flex_start")
        problems += [gate] if gate else []
    if spec.flex_start and env.kueue.enabled and spec.queue is None:  # with `queue:` the spec's own check says it
        problems.append((("flex_start",), f"{env.name} queues every job through Kueue, and {FLEX_START_QUEUED}"))
    return problems


def _class_problems(spec: JobSpec, env: Environment) -> list[Problem]:
    """A job on one of the environment's ComputeClasses: the class's GPU, no Spot or flex-start selector of
    its own, no active migration (it would restart the run), and a Spot rung needs what Spot jobs need."""
    cls = env.custom_compute_class(spec.compute_class)
    if cls is None:
        return []
    problems: list[Problem] = [
        (path[1:], message)
        for path, message in compute_class_problems(
            env,
            ("job",),
            spec.compute_class,
            spec.gpu,
            spec.gpu_count,
            spec.spot,
            gpu_fix=f"set gpu: {cls.gpu} and gpu_count: {cls.gpu_count}" if cls.gpu else "remove gpu",
        )
    ]
    if spec.flex_start:
        problems.append(
            (
                ("flex_start",),
                f"compute class {cls.name} decides the capacity ({', '.join(cls.capacity)}); remove flex_start",
            )
        )
    if cls.migrate_to_preferred:
        problems.append(
            (
                ("compute_class",),
                f"class {cls.name} moves running pods back to a preferred capacity "
                f"(migrate_to_preferred), which restarts a training run; use a class "
                f"without it",
            )
        )
    if cls.uses_spot:
        if spec.checkpoints is None:
            problems.append(
                (
                    ("compute_class",),
                    f"class {cls.name} may run the job on Spot nodes: add checkpoints: "
                    f"{{bucket: ...}} so a preempted run resumes, or use an on-demand class",
                )
            )
        if spec.grace_seconds > platform.SPOT_TERMINATION_GRACE_SECONDS:
            problems.append(
                (
                    ("termination_grace_seconds",),
                    f"{spec.grace_seconds} s is more than Spot honours "
                    f"(class {cls.name} may use Spot); allowed: 1-"
                    f"{platform.SPOT_TERMINATION_GRACE_SECONDS}",
                )
            )
    return problems


def _volume_problems(spec: JobSpec, env: Environment, env_file: str) -> list[Problem]:
    """A dataset volume: one of the environment's, in the job's namespace, attachable by every node of the job
    (their machine family, and how many nodes one disk of its size takes), and served by the channel."""
    name = spec.dataset_volume
    if name is None:
        return []
    volume = next((v for v in env.volumes if v.name == name), None)
    if volume is None:
        known = ", ".join(v.name for v in env.volumes) or "none"
        return [(("dataset", "volume"), f"unknown volume {name!r} in {env.name}; allowed: {known} ({env_file})")]
    if volume.team != spec.team:
        return [
            (
                ("dataset", "volume"),
                f"volume {name!r} is in namespace {volume.team}; a Pod mounts claims of its own namespace only "
                f"(this job runs in {spec.team}): declare a volume for {spec.team} in {env_file}",
            )
        ]
    cls = env.custom_compute_class(spec.compute_class)
    family = platform.GPUS[spec.gpu].machine_family if spec.gpu in platform.GPUS else None
    if cls is not None:
        family = platform.GPUS[cls.gpu].machine_family if cls.gpu in platform.GPUS else cls.machine_family
    elif family is None and spec.compute_class in platform.BUILTIN_COMPUTE_CLASSES:
        family = f"the {spec.compute_class} class's"  # no machine-family selector: not a series that can attach
    problem = attach_problem(volume, spec.nodes, family, f"job {spec.name}")
    return [(("dataset", "volume"), problem)] if problem else []


def _queue_problems(spec: JobSpec, env: Environment, env_file: str) -> list[Problem]:
    """With Kueue a job goes through its team's LocalQueue; without it nothing would admit a queued Job."""
    if spec.queue is None:
        return []
    if not env.kueue.enabled:
        return [
            (
                ("queue",),
                f"{env.name} has no Kueue (kueue.enabled is false in {env_file}), so nothing would "
                f"admit the job; remove queue, or turn Kueue on there",
            )
        ]
    allowed = local_queue(spec.team)
    if spec.queue != allowed:
        return [
            (
                ("queue",),
                f"{spec.queue!r} is not team {spec.team}'s LocalQueue in {env.name}; allowed: {allowed} "
                "(or leave queue out: the team's LocalQueue is used)",
            )
        ]
    return []


def _jobset_problems(spec: JobSpec, env: Environment, env_file: str) -> list[Problem]:
    """A multi-node job runs as a JobSet: the environment must install the controller. A priority names one of
    the environment's tiers, and only Kueue reads it."""
    problems: list[Problem] = []
    if spec.nodes > 1 and not env.jobset.enabled:
        problems.append(
            (
                ("nodes",),
                f"{env.name} has no JobSet controller (jobset.enabled is false in {env_file}), which multi-node jobs "
                "run on; turn it on there, or run on one node",
            )
        )
    if spec.priority is None:
        return problems
    if not env.kueue.enabled:
        problems.append(
            (
                ("priority",),
                f"{env.name} has no Kueue (kueue.enabled is false in {env_file}), which is what reads a priority; "
                "remove priority, or turn Kueue on there",
            )
        )
    elif spec.priority not in env.kueue.priorities:
        tiers = ", ".join(env.kueue.priority_names())
        problems.append(
            (("priority",), f"unknown priority {spec.priority!r} in {env.name}; allowed: {tiers} (kueue.priorities)")
        )
    return problems


def _wandb_problems(spec: JobSpec, env: Environment, env_file: str) -> list[Problem]:
    """A W&B job must read a Secret that exists: the environment's is only in its Launch teams."""
    if spec.wandb is None or spec.wandb.secret is not None:
        return []
    if env.launch is None:
        return [
            (
                ("wandb",),
                f"{env.name} has no W&B Launch (launch: in {env_file}), so no W&B API key Secret; "
                f"add launch: there, or name your own Secret in wandb.secret",
            )
        ]
    teams = env.launch_teams()
    if spec.team not in teams:
        secret = platform.wandb_api_key_secret(env.launch.release)
        return [
            (
                ("wandb",),
                f"team {spec.team} has no W&B API key Secret ({secret} is only in "
                f"{', '.join(teams)}); add {spec.team} to launch.teams in {env_file}",
            )
        ]
    return []


def wandb_secret(spec: JobSpec, env: Environment | None) -> tuple[str, str] | None:
    """(Secret name, key) the W&B API key is read from, or None for a job without W&B."""
    if spec.wandb is None:
        return None
    if spec.wandb.secret is not None:
        return spec.wandb.secret, spec.wandb.key
    if env is None or env.launch is None:  # refused by standalone_problems / env_problems
        raise ValueError("wandb.secret is unresolved without an environment with launch:")
    return platform.wandb_api_key_secret(env.launch.release), spec.wandb.key
