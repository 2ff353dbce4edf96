"""The GKE version gate: which GKE features an environment turns on, and whether its release channel serves them.

Each feature gkeml can turn on has a minimum GKE version in one dated, sourced table
(:data:`gkeml.platform.GKE_FEATURE_MIN_VERSIONS`); each channel creates clusters at the default version of
:data:`gkeml.platform.CHANNEL_VERSIONS` (the release notes, dated), or of a recorded server config
(``gcloud container get-server-config --location REGION --format json``, passed with
``gkeml check --server-config FILE``: the same gate with GKE's own newer, or older, answer). A feature the
environment uses above what its channel offers is refused at load, at the key that turns the feature on.

Which features an environment uses is read from the model (:data:`DETECTORS`, one per feature it can turn
on); :func:`emitted_features` reads the same features from the objects and resources the stacks emit, and the
tests hold the two to agree, so a feature a stack starts emitting without a detector here fails them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gkeml import platform
from gkeml.config.base import Problem
from gkeml.config.exposure import GATEWAY_EXPOSURES, INFERENCE_GATEWAY, served_exposures
from gkeml.config.loader import ConfigError, ConfigProblem, field_name
from gkeml.config.reservations import RESERVATION

if TYPE_CHECKING:
    from gkeml.config.model import Environment

Key = tuple  # a config path: ("compute_classes", 0, "capacity")


@dataclass(frozen=True)
class ChannelTable:
    """The versions each release channel offers, and where they were read (named in every refusal)."""

    channels: Mapping[str, platform.ChannelVersions]
    source: str


_active: ContextVar[ChannelTable | None] = ContextVar("gkeml_channel_table", default=None)


def channel_table() -> ChannelTable:
    """The channel table in force: a recorded server config (:func:`using_channels`), else the shipped one."""
    return _active.get() or ChannelTable(
        platform.CHANNEL_VERSIONS, f"release notes, read {platform.CHANNEL_VERSIONS_CHECKED}"
    )


@contextmanager
def using_channels(table: ChannelTable | None) -> Iterator[None]:
    """Check environments against ``table`` inside the block (None: the shipped table)."""
    token = _active.set(table)
    try:
        yield
    finally:
        _active.reset(token)


def _minor(version: str) -> str:
    return ".".join(version.split("-")[0].split(".")[:2])


def load_server_config(path: str | Path) -> ChannelTable:
    """The channels of a recorded GKE server config (the JSON of ``gcloud container get-server-config
    --format json`` or of the API's ``serverConfig``: ``channels[].channel``, ``defaultVersion``,
    ``validVersions``). ConfigError naming the file on anything else."""

    def refuse(message: str) -> ConfigError:
        return ConfigError([ConfigProblem(str(path), 0, "channels", message)])

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ConfigError([ConfigProblem(str(path), 0, "", f"not a readable JSON server config ({exc})")]) from None
    channels = data.get("channels") if isinstance(data, dict) else None
    if not isinstance(channels, list) or not channels:
        raise refuse("no channels; record it with `gcloud container get-server-config --location REGION --format json`")
    table: dict[str, platform.ChannelVersions] = {}
    for i, entry in enumerate(channels):
        name = entry.get("channel") if isinstance(entry, dict) else None
        default = entry.get("defaultVersion") if isinstance(entry, dict) else None
        valid = entry.get("validVersions", [default]) if isinstance(entry, dict) else None
        versions = [v for v in (valid or []) if isinstance(v, str) and platform.gke_version(v)]
        if not isinstance(name, str) or not isinstance(default, str) or not platform.gke_version(default):
            raise refuse(f"channels[{i}] needs channel and defaultVersion (a GKE version such as 1.35.6-gke.1250000)")
        minors = sorted({_minor(v) for v in versions or [default]}, key=platform.gke_version)
        table[name] = platform.ChannelVersions(minors[0], minors[-1], default)
    return ChannelTable(table, f"server config {Path(path).name}")


# --- which features an environment uses ---------------------------------------------------------------------------
# feature -> where the environment turns it on: (config path, how to do without it). Every feature of
# platform.GKE_FEATURE_MIN_VERSIONS that gkeml emits has one; the others are recorded for the work that will.
Use = tuple[Key, str]


def _remove(path: Key) -> Use:
    return path, f"remove {field_name(path)}"


def _snapshot_instead(i: int) -> Use:
    return ("volumes", i, "source", "bucket"), f"fill volumes[{i}] from a disk snapshot instead (source.snapshot)"


def _secret_sync(env: Environment) -> Iterator[Use]:
    if env.launch is not None:  # how the W&B key reaches the Launch teams' namespaces
        yield _remove(("launch",))


def _flex_start(env: Environment) -> Iterator[Use]:
    for i, policy in enumerate(env.compute_classes):
        if "flex-start" in policy.capacity:
            yield ("compute_classes", i, "capacity"), f"remove flex-start from compute_classes[{i}].capacity"


def _compute_classes(env: Environment) -> Iterator[Use]:
    for i, _ in enumerate(env.compute_classes):
        yield _remove(("compute_classes", i))
    for i, volume in enumerate(env.volumes):
        if volume.populated:  # the copy Jobs' class, gcs-to-hdml-compute-class
            yield _snapshot_instead(i)


def _served_through(env: Environment, exposures: tuple[str, ...], instead: str) -> Iterator[Use]:
    """The endpoints served (their in-cluster objects exist) through one of ``exposures``: at the exposure, or at
    the previous way of a migration that still serves it."""
    for i, endpoint in enumerate(env.endpoints):
        if endpoint.exposure in exposures:
            yield ("endpoints", i, "exposure"), f"expose endpoints[{i}] through {instead}"
        elif any(way in exposures for way in served_exposures(endpoint)):
            yield ("endpoints", i, "migration", "step"), f"retire endpoints[{i}]'s previous way (step: retired)"


def _gateway(env: Environment) -> Iterator[Use]:
    uses = list(_served_through(env, GATEWAY_EXPOSURES, "an Ingress (exposure: ingress)"))
    # without a Gateway endpoint, the cluster's gateway_api_config (platform.GATEWAY_API_CHANNEL, on every cluster)
    yield from uses or [(("cluster",), "")]


def _inference_gateway(env: Environment) -> Iterator[Use]:
    yield from _served_through(env, (INFERENCE_GATEWAY,), "a Gateway or an Ingress (exposure: gateway or ingress)")


def _hyperdisk_ml(env: Environment) -> Iterator[Use]:
    for i, _ in enumerate(env.volumes):
        yield ("volumes", i), f"read the data from a bucket instead (remove volumes[{i}])"


def _volume_populator(env: Environment) -> Iterator[Use]:
    for i, volume in enumerate(env.volumes):
        if volume.populated:
            yield _snapshot_instead(i)


def _jobset(env: Environment) -> Iterator[Use]:
    if env.jobset.enabled:  # the controller's chart, whether or not a multi-node job runs yet
        yield ("jobset", "enabled"), "set jobset.enabled: false (multi-node jobs are then refused)"


def _lws(env: Environment) -> Iterator[Use]:
    for i, svc in enumerate(env.inference):
        if svc.model is not None and svc.model.multi_host:  # the controller's chart comes with the first one
            yield ("inference", i, "model", "nodes"), "serve a model that fits one node (nodes: 1)"


def _reservation_rung(env: Environment) -> Iterator[Use]:
    for i, policy in enumerate(env.compute_classes):
        if RESERVATION in policy.capacity:
            yield ("compute_classes", i, "capacity"), f"remove reservation from compute_classes[{i}].capacity"


def _jobset_metrics(env: Environment) -> Iterator[Use]:
    if "JOBSET" in env.monitoring.components:
        yield ("monitoring", "components"), "remove JOBSET from monitoring.components"


DETECTORS: dict[str, Callable[[Environment], Iterator[Use]]] = {
    "secret sync": _secret_sync,
    "flex-start": _flex_start,
    "custom ComputeClass": _compute_classes,
    "GKE Gateway": _gateway,
    "GKE Inference Gateway": _inference_gateway,
    "Hyperdisk ML": _hyperdisk_ml,
    "GKE Volume Populator": _volume_populator,
    "JobSet": _jobset,
    "LeaderWorkerSet": _lws,
    "reservation rung": _reservation_rung,
    "JOBSET metrics package": _jobset_metrics,
}


def used_features(env: Environment) -> dict[str, list[Use]]:
    """Feature -> where ``env`` turns it on (config path, how to do without it), for every feature it uses."""
    used = {feature: list(detect(env)) for feature, detect in DETECTORS.items()}
    return {feature: uses for feature, uses in used.items() if uses}


def emitted_features(objects: list[dict], cloud: Mapping[str, Any] | None = None) -> set[str]:
    """The features the in-cluster ``objects`` and the cloud stack's synthesized JSON (``cloud``) turn on, read
    from what is emitted rather than from the config."""
    found: set[str] = set()
    for obj in objects:
        kind, spec = obj.get("kind"), obj.get("spec") or {}
        if kind == "SecretSync":
            found.add("secret sync")
        elif kind == "ComputeClass":
            found.add("custom ComputeClass")
            if any("flexStart" in p for p in spec.get("priorities", [])):
                found.add("flex-start")
            if any("reservations" in p for p in spec.get("priorities", [])):
                found.add("reservation rung")
        elif kind == "Namespace" and (obj.get("metadata") or {}).get("name") == platform.JOBSET_NAMESPACE:
            found.add("JobSet")
        elif kind == "Namespace" and (obj.get("metadata") or {}).get("name") == platform.LWS_NAMESPACE:
            found.add("LeaderWorkerSet")
        elif kind == "StorageClass" and (obj.get("parameters") or {}).get("type") == platform.HYPERDISK_ML_TYPE:
            found.add("Hyperdisk ML")
        elif kind == "GCPDataSource":
            found.add("GKE Volume Populator")
        elif kind == "Gateway":
            found.add("GKE Gateway")
        elif kind == "InferencePool":
            found.add("GKE Inference Gateway")
    for cluster in (cloud or {}).get("resource", {}).get("google_container_cluster", {}).values():
        if cluster.get("gateway_api_config"):
            found.add("GKE Gateway")
        if cluster.get("secret_manager_config") or cluster.get("secret_sync_config"):
            found.add("secret sync")
        if "JOBSET" in (cluster.get("monitoring_config") or {}).get("enable_components", []):
            found.add("JOBSET metrics package")
    return found


# --- the gate ---------------------------------------------------------------------------------------------------------
def serves(channel: platform.ChannelVersions, minimum: str) -> bool:
    """Whether clusters the channel creates (its default version) have a feature that needs ``minimum``."""
    return platform.gke_version(channel.default) >= platform.gke_version(minimum)


def feature_problem(env: Environment, feature: str, path: Key, without: str = "") -> Problem | None:
    """Why ``env``'s release channel cannot serve ``feature`` (turned on at ``path``; ``without``: how to do
    without it), or None."""
    table = channel_table()
    channel = env.cluster.release_channel
    offered = table.channels.get(channel)
    needed = platform.GKE_FEATURE_MIN_VERSIONS[feature]
    if offered is None or serves(offered, needed.minimum):
        return None
    able = [
        name
        for name, versions in table.channels.items()
        if serves(versions, needed.minimum) and (env.tier != "prod" or name in platform.PROD_RELEASE_CHANNELS)
    ]
    fix = f"set cluster.release_channel to {' or '.join(able)}" if able else "wait for a channel that offers it"
    return (
        path,
        f"{feature} needs GKE {needed.minimum} or later; release channel {channel} creates clusters at "
        f"{offered.default} ({table.source}): {fix}{', or ' + without if without else ''}",
    )


def version_problems(env: Environment) -> Iterator[Problem]:
    """Every feature ``env`` turns on that its release channel cannot serve yet, at the key that turns it on."""
    for feature, uses in used_features(env).items():
        for path, without in uses:
            problem = feature_problem(env, feature, path, without)
            if problem is not None:
                yield problem
