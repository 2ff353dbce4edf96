"""``gkeml wait-kinds``: wait until a live cluster serves the custom resource kinds GKE installs in it that
the environment's in-cluster stack plans (first-apply fact TF008).

``kubernetes_manifest`` looks an object's kind up when it PLANS; ComputeClass, BackendConfig, FrontendConfig,
ManagedCertificate and the Secret Manager add-on's SecretProviderClass and SecretSync are installed by GKE,
some unmeasured time after it creates the cluster (:data:`gkeml.platform.GKE_BUILTIN_KINDS`,
:data:`gkeml.platform.CLUSTER_FEATURE_KINDS`). ``make deploy`` runs this between the two stacks, so the first
plan of ``<env>-k8s`` never meets a kind the cluster does not serve yet.

A kind is served when the API server's discovery document of its group version lists it
(``GET /apis/GROUP/VERSION``: an APIResourceList; 404 while the group version is not served). Discovery is
readable by every authenticated user (Kubernetes RBAC ``system:discovery``), so the deploy identity needs only
``container.clusters.connect`` (the DNS endpoint) and ``container.clusters.get`` (to find it).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from gkeml import platform
from gkeml.answers import Limits
from gkeml.doctor.api import DoctorError, RestApi
from gkeml.lifecycle.graph import blocks
from gkeml.naming import Names

if TYPE_CHECKING:
    from google.cloud.container_v1 import ClusterManagerClient

    from gkeml.config.model import Environment

# What GKE installs in a cluster it creates (TF008), (apiVersion, kind).
CLUSTER_INSTALLED_KINDS = frozenset(platform.GKE_BUILTIN_KINDS) | frozenset(platform.CLUSTER_FEATURE_KINDS.values())
DEFAULT_TIMEOUT_SECONDS = 1800  # the Launch agent's own start timeout is 30 minutes too; a cluster is slower
DEFAULT_INTERVAL_SECONDS = 15


def planned_cluster_kinds(stack: dict) -> list[tuple[str, str]]:
    """The (apiVersion, kind) of every ``kubernetes_manifest`` in ``stack`` that GKE installs, sorted."""
    found = set()
    for _, rtype, conf in blocks(stack):
        manifest = conf.get("manifest") if rtype == "kubernetes_manifest" else None
        if isinstance(manifest, dict):
            kind = (str(manifest.get("apiVersion", "")), str(manifest.get("kind", "")))
            if kind in CLUSTER_INSTALLED_KINDS:
                found.add(kind)
    return sorted(found)


def served_kinds(api: RestApi, api_version: str) -> set[str]:
    """The kinds the cluster serves in ``api_version`` (empty while the group version is not served)."""
    path = f"apis/{api_version}"
    status, body = api.read(path)
    if status in (404, 503):  # not served yet; an aggregated API still starting answers 503
        return set()
    if status != 200:
        raise DoctorError(
            f"the cluster answered {path} with HTTP {status}: the caller needs container.clusters.connect "
            "(roles/container.clusterViewer has it) on the project"
            if status in (401, 403)
            else f"the cluster answered {path} with HTTP {status}"
        )
    if body is None:
        raise api.not_json(path, status)
    resources = body.get("resources")
    return {str(r.get("kind")) for r in resources if isinstance(r, dict)} if isinstance(resources, list) else set()


def wait_for_kinds(
    api: RestApi,
    kinds: list[tuple[str, str]],
    *,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    interval: float = DEFAULT_INTERVAL_SECONDS,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    progress: Callable[[str], None] = lambda _: None,
) -> list[tuple[str, str]]:
    """Poll discovery until the cluster serves every one of ``kinds`` or ``timeout`` seconds passed; the kinds
    still missing (empty: all served)."""
    deadline = clock() + timeout
    missing = list(kinds)
    while True:
        by_version: dict[str, set[str]] = {}
        for api_version, _ in missing:
            if api_version not in by_version:
                by_version[api_version] = served_kinds(api, api_version)
        missing = [(v, k) for v, k in missing if k not in by_version[v]]
        if not missing or clock() >= deadline:
            return missing
        progress(f"waiting for the cluster to serve {', '.join(f'{v} {k}' for v, k in missing)}")
        sleep(max(0.0, min(interval, deadline - clock())))


def cluster_server(env: Environment, client: ClusterManagerClient) -> str:
    """``https://`` + the DNS endpoint of ``env``'s cluster (what the in-cluster stack's providers use)."""
    from google.api_core import exceptions as gexc

    names = Names.of(env)
    path = f"projects/{env.project.id}/locations/{env.project.region}/clusters/{names.cluster}"
    try:
        cluster = client.get_cluster(name=path, timeout=Limits().silence)
    except gexc.NotFound:
        raise DoctorError(f"no cluster {path}: deploy the cloud stack first (`cdktf deploy {env.name}`)") from None
    except gexc.GoogleAPICallError as exc:
        raise DoctorError(f"cannot read {path}: {' '.join(str(exc.message).split())}"[:300]) from None
    endpoint = cluster.control_plane_endpoints_config.dns_endpoint_config.endpoint
    if not endpoint:
        raise DoctorError(f"{path} has no DNS endpoint (control_plane_endpoints_config.dns_endpoint_config)")
    return f"https://{endpoint}"
