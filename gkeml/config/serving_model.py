"""The ``model:`` preset of an inference service: which engine serves which weights, read from where.

With it, gkeml renders what GKE's model-serving guides do by hand (gkeml.manifests.model_serving): the weights
mounted read-only from a bucket through Cloud Storage FUSE tuned for loading them (metadata and file cache,
parallel downloads, the sidecar's cache on a volume of its own), the engine's arguments, a startup probe sized
from the estimated cold start, the ``ai.gke.io`` labels, and a PodMonitoring so the autoscaler can scale on the
engine's own metrics (``autoscaling.engine_metric``).

Engines: vLLM (its OpenAI-compatible server). Others differ in arguments, health path and metric names
(Hugging Face TGI: ``--model-id``, ``/health``, ``tgi_queue_size``; NVIDIA Triton: ``--model-repository``,
``/v2/health/ready`` on 8000, ``nv_inference_pending_request_count`` on 8002) and are not rendered yet
(docs/model-serving.md).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Annotated, Literal, Protocol

from pydantic import AfterValidator, Field

from gkeml import platform
from gkeml.config.base import ByteSize, FreeText, Problem, ShortName, Strict
from gkeml.units import gib, parse_quantity

Engine = Literal["vllm"]
ENGINE_SERVERS: dict[str, str] = {"vllm": "vllm"}  # engine -> ai.gke.io/inference-server value
MODEL_MOUNT = "/models"  # where the weights' folder is mounted in the server container
# A folder of a bucket: object-name characters without a leading or trailing '/' or '..' parts.
PATH = r"^[A-Za-z0-9_.=-]+(/[A-Za-z0-9_.=-]+)*$"


def _folder(path: str) -> str:
    if any(part in (".", "..") for part in path.split("/")):
        raise ValueError(f"{path!r} has a '.' or '..' part: name the folder from the bucket's root, e.g. models/NAME")
    return path


class ModelServing(Strict):
    """The model an inference service serves, and where its weights come from."""

    engine: Engine = Field("vllm", description="The inference server the image runs: vllm (its OpenAI server).")
    name: Annotated[FreeText, Field(min_length=1, max_length=200)] = Field(
        description="The model's name as clients ask for it (vLLM --served-model-name), e.g. google/gemma-3-12b-it; "
        "its last part is the ai.gke.io/model label."
    )
    bucket: ShortName = Field(
        description="The bucket (of buckets:) holding the weights; the service's identity must read it."
    )
    path: Annotated[str, Field(pattern=PATH, max_length=1000), AfterValidator(_folder)] = Field(
        description="The weights' folder in the bucket (config.json and *.safetensors), e.g. models/gemma-3-12b-it; "
        "only this folder is mounted, read-only."
    )
    size: ByteSize = Field(
        description="The weights' size (e.g. 24Gi): sizes the sidecar's file cache, the startup probe and the cold "
        "start `gkeml cost` shows."
    )
    nodes: int = Field(
        1,
        ge=1,
        le=64,
        description="Nodes one replica spans, for a model that does not fit one node's GPUs: above 1 the service "
        "runs as a LeaderWorkerSet (a leader and nodes - 1 workers per replica, each with the service's GPUs; "
        "tensor parallel within a node, pipeline parallel across them, over Ray) and gkeml installs the "
        f"LeaderWorkerSet controller (chart {platform.LWS_VERSION}).",
    )
    max_model_len: int | None = Field(None, ge=1, le=10_000_000, description="vLLM --max-model-len (context).")
    args: list[FreeText] = Field(
        default_factory=list, description="More engine arguments, e.g. --enable-prefix-caching."
    )

    @property
    def multi_host(self) -> bool:
        """Whether one replica spans several nodes (a LeaderWorkerSet group)."""
        return self.nodes > 1

    @property
    def size_gib(self) -> float:
        return gib(self.size)

    @property
    def label(self) -> str:
        """The ai.gke.io/model label value: the name's last part, made a valid label value."""
        last = self.name.rstrip("/").rsplit("/", 1)[-1]
        value = re.sub(r"[^A-Za-z0-9._-]+", "-", last)[:63]
        return re.sub(r"^[^A-Za-z0-9]+|[^A-Za-z0-9]+$", "", value) or "model"

    @property
    def cache_gib(self) -> int:
        """The sidecar's file cache: the weights and a tenth more (whole GiB)."""
        return max(1, math.ceil(self.size_gib * 1.1))


def cold_start_seconds(model: ModelServing) -> int:
    """The estimated time from a replica's start to its first answer: reading the weights through GCS FUSE with
    parallel downloads, then the engine's own start (:data:`gkeml.platform.GCSFUSE_PARALLEL_READ_GIB_PER_SECOND`,
    :data:`gkeml.platform.VLLM_ENGINE_START_SECONDS`). Node provisioning and the image pull come on top when a
    new node is needed."""
    load = model.size_gib / platform.GCSFUSE_PARALLEL_READ_GIB_PER_SECOND
    return math.ceil(load + platform.VLLM_ENGINE_START_SECONDS)


def startup_failure_threshold(model: ModelServing) -> int:
    """Startup-probe failures allowed: the cold start times the margin, in probe periods."""
    allowed = cold_start_seconds(model) * platform.STARTUP_PROBE_MARGIN
    return math.ceil(allowed / platform.STARTUP_PROBE_PERIOD_SECONDS)


class Inference(Protocol):
    """What these helpers read of an inference service (gkeml.config.model.Inference; a protocol, so this module
    needs no import of the model that imports it)."""

    cpu: str
    memory: str
    gpu: str | None
    shared_memory: str
    ephemeral_storage: str
    model: ModelServing | None


def _size_text(total_gib: float) -> str:
    return f"{total_gib:g}Gi" if total_gib == int(total_gib) else f"{math.ceil(total_gib * 1024)}Mi"


def server_memory(svc: Inference) -> str:
    """The server container's memory request: the service's memory, plus its memory-backed /dev/shm on a GPU
    (tmpfs pages count against the container's memory limit)."""
    if not svc.gpu:
        return svc.memory
    return _size_text(gib(svc.memory) + gib(svc.shared_memory))


def server_ephemeral_storage(svc: Inference) -> str:
    """The server container's local disk: its /tmp, plus the weights' file cache (an emptyDir of the Pod, which
    counts against the Pod's ephemeral storage)."""
    return _size_text(gib(svc.ephemeral_storage) + (svc.model.cache_gib if svc.model else 0))


def pod_requests(svc: Inference) -> tuple[float, float, float]:
    """vCPU, memory GiB and ephemeral-storage GiB one replica requests: the server, and the GCS FUSE sidecar the
    driver injects for the weights (what Autopilot bills and what a node must hold)."""
    cpu, memory, disk = parse_quantity(svc.cpu), gib(server_memory(svc)), gib(server_ephemeral_storage(svc))
    if svc.model is not None:
        sidecar = platform.GCSFUSE_SERVING_SIDECAR_LIMITS
        cpu += parse_quantity(sidecar["cpu"])
        memory += gib(sidecar["memory"])
        disk += gib(sidecar["ephemeral-storage"])
    return cpu, memory, disk


def model_serving_problems(env: object) -> Iterator[Problem]:
    """The weights' bucket must be readable by the service's identity (Workload Identity: the GCS FUSE sidecar
    reads as the Pod's service account), and the engine metric needs the model preset (its PodMonitoring)."""
    identities = {i.name: i for i in getattr(env, "identities", [])}
    for i, svc in enumerate(getattr(env, "inference", [])):
        model = svc.model
        engine_metric = svc.autoscaling.engine_metric
        if model is None:
            if engine_metric:
                yield (
                    ("inference", i, "autoscaling", "engine_metric"),
                    "scaling on the engine's metric needs model: (the PodMonitoring that scrapes it comes with "
                    "the engine); add model: or scale on external_metric",
                )
            continue
        ident = identities.get(svc.identity or "")
        if ident is None:
            yield (
                ("inference", i, "identity"),
                f"the weights in bucket {model.bucket!r} are read as the service's identity; set identity: to one "
                f"that reads {model.bucket!r}",
            )
        elif model.bucket not in (*ident.reads, *ident.writes):
            yield (
                ("inference", i, "model", "bucket"),
                f"identity {ident.name!r} cannot read bucket {model.bucket!r}; add {model.bucket} to its reads",
            )
