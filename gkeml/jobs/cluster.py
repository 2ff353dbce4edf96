"""Which cluster a job command talks to: the kubeconfig context, checked against the environment.

Every ``gkeml job`` verb that reaches a cluster goes through :func:`connect`. With an
environment, the selected context must be the one ``gcloud container clusters
get-credentials`` writes for that environment's cluster (context and cluster entry
``gke_<project>_<region>_<cluster>``, :func:`kubeconfig_cluster_entry`), and a
DNS-based endpoint in the server URL must belong to the environment's region and project
number; an environment without the public IP endpoint is only reachable through its DNS
endpoint. Anything else is refused before a request is sent, with the exact
``get-credentials`` command for that environment. Without an environment the given or
current context is used, and named on stderr.

The API client is the official ``kubernetes`` Python client, configured from the kubeconfig
(exec credential plugins such as ``gke-gcloud-auth-plugin`` included), with retries only for a
connection that could not be opened (nothing was sent): a read that times out is not retried, so
no request waits longer than its timeout, and a redirect is an answer, not followed.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from urllib.parse import urlsplit

from gkeml.config import Environment
from gkeml.exitcodes import CommandError
from gkeml.naming import Names
from gkeml.text import one_line

EXIT_FAILURE, EXIT_USAGE = 1, 2
DEFAULT_KUBECONFIG = "~/.kube/config"
NOTHING_SENT = "nothing was sent to the cluster"

# --- kubeconfig entries written by `gcloud container clusters get-credentials` -------
# Sources (checked 2026-11): cloud.google.com/kubernetes-engine/docs/how-to/cluster-access-for-kubectl
# (context and cluster entry are both named gke_PROJECT_LOCATION_CLUSTER; --dns-endpoint writes the
# cluster's DNS-based endpoint, gke-UNIQUE_ID-PROJECT_NUMBER.LOCATION.gke.goog, as the server).
DNS_ENDPOINT_DOMAIN = "gke.goog"


def kubeconfig_cluster_entry(project_id: str, location: str, cluster: str) -> str:
    """Name of the kubeconfig context and cluster entry ``get-credentials`` writes."""
    return f"gke_{project_id}_{location}_{cluster}"


def get_credentials_command(cluster: str, location: str, project_id: str, dns_endpoint: bool) -> str:
    """The gcloud command that writes (and selects) the kubeconfig context of a cluster."""
    command = f"gcloud container clusters get-credentials {cluster} --region {location} --project {project_id}"
    return command + " --dns-endpoint" if dns_endpoint else command


class ClusterError(CommandError):
    """A job command cannot use (or reach) the cluster; ``exit_code`` 2 for setup, 1 for the cluster."""

    def __init__(self, message: str, exit_code: int = EXIT_USAGE):
        super().__init__(message, exit_code)


@dataclass(frozen=True)
class Context:
    """A kubeconfig context: its name, the cluster entry it uses, that entry's server, its namespace."""

    name: str
    cluster: str
    server: str
    namespace: str | None = None


@dataclass(frozen=True)
class ExpectedCluster:
    """The GKE cluster of an environment and how ``get-credentials`` names it in a kubeconfig."""

    name: str
    region: str
    project_id: str
    project_number: str
    dns_only: bool

    @classmethod
    def of(cls, env: Environment) -> ExpectedCluster:
        """The cluster ``env`` creates (``Names.of(env).cluster`` in ``env.project.region``)."""
        return cls(
            Names.of(env).cluster,
            env.project.region,
            env.project.id,
            env.project.number,
            not env.cluster.public_endpoint,
        )

    @property
    def kubeconfig_entry(self) -> str:
        """The context and cluster entry name ``get-credentials`` writes."""
        return kubeconfig_cluster_entry(self.project_id, self.region, self.name)

    @property
    def get_credentials(self) -> str:
        """The exact command that writes and selects this cluster's context."""
        return get_credentials_command(self.name, self.region, self.project_id, self.dns_only)


def kubeconfig_path() -> str:
    """The kubeconfig the client reads: ``$KUBECONFIG`` (``:``-separated files) or ``~/.kube/config``."""
    return os.environ.get("KUBECONFIG") or DEFAULT_KUBECONFIG


def select_context(requested: str | None, hint: str) -> Context:
    """The context ``requested`` (or the current one) from the kubeconfig; ClusterError when there is none.

    Read with the client's own kubeconfig merger (``$KUBECONFIG`` files merged as kubectl
    does), without loading credentials, so no auth plugin runs for a context that is refused.
    """
    import yaml
    from kubernetes.config import ConfigException
    from kubernetes.config.kube_config import KubeConfigMerger

    try:
        merged = KubeConfigMerger(kubeconfig_path()).config
    except (ConfigException, OSError, ValueError, yaml.YAMLError) as exc:
        raise ClusterError(f"unreadable kubeconfig {kubeconfig_path()}: {_first_line(exc)} ({NOTHING_SENT})") from None
    raw = merged.value if merged is not None else {}
    contexts = {c.get("name"): c.get("context") or {} for c in _entries(raw, "contexts")}
    if requested:
        if requested not in contexts:
            raise ClusterError(
                f"context {requested!r} does not exist; defined: {', '.join(str(c) for c in contexts) or 'none'} ({NOTHING_SENT})"
            )
        name = requested
    else:
        name = raw.get("current-context") or ""
        if name not in contexts:
            raise ClusterError(f"no current kubectl context; run '{hint}' or pass --context ({NOTHING_SENT})")
    entry = contexts[name]
    cluster = entry.get("cluster") or ""
    clusters = {c.get("name"): c.get("cluster") or {} for c in _entries(raw, "clusters")}
    return Context(name, cluster, str(clusters.get(cluster, {}).get("server") or ""), entry.get("namespace"))


def context_problem(context: Context, expected: ExpectedCluster, env_name: str) -> str | None:
    """Why ``context`` is not ``expected``'s cluster, or None when it is."""
    if context.cluster != expected.kubeconfig_entry:
        return (
            f"context {context.name!r} uses cluster {context.cluster or '(none)'!r}, not {env_name}'s "
            f"{expected.kubeconfig_entry!r}"
        )
    try:
        host = urlsplit(context.server).hostname or ""
    except ValueError:  # an unclosed IPv6 bracket
        return f"context {context.name!r} has a server that is not a URL: {context.server!r}"
    if host.endswith("." + DNS_ENDPOINT_DOMAIN):
        first, _, rest = host.partition(".")
        location = rest[: -len(DNS_ENDPOINT_DOMAIN) - 1]
        if location != expected.region or not first.endswith(f"-{expected.project_number}"):
            return (
                f"context {context.name!r} talks to DNS endpoint {host}, which is not a cluster of project "
                f"number {expected.project_number} in {expected.region} ({env_name})"
            )
    elif expected.dns_only:
        return (
            f"context {context.name!r} talks to {context.server or '(no server)'}, but {env_name} has only the "
            f"DNS endpoint (cluster.public_endpoint is false)"
        )
    return None


@dataclass
class Connection:
    """An API client for one kubeconfig context."""

    context: Context
    api_client: object  # kubernetes.client.ApiClient

    def close(self) -> None:
        """Release the client's connection pool."""
        self.api_client.close()  # type: ignore[attr-defined]


def connect(env: Environment | None, requested: str | None, command: str) -> Connection:
    """The API client of the context to use; refuses a context that is not ``env``'s cluster.

    ``command`` (e.g. ``gkeml job submit``) prefixes the note naming the context on stderr
    when no environment pins it.
    """
    from kubernetes import client, config
    from urllib3.util.retry import Retry

    expected = ExpectedCluster.of(env) if env is not None else None
    hint = (
        expected.get_credentials
        if expected
        else get_credentials_command("CLUSTER", "REGION", "PROJECT", dns_endpoint=False)
    )
    context = select_context(requested, hint)
    if expected is not None:
        problem = context_problem(context, expected, env.name)  # type: ignore[union-attr]
        if problem:
            raise ClusterError(f"{problem}; run '{expected.get_credentials}' ({NOTHING_SENT})")
    else:
        print(
            one_line(
                f"{command}: using kubectl context {context.name!r} (cluster {context.cluster!r}, "
                f"{context.server}); pass --env ENV to check it is that environment's cluster"
            ),
            file=sys.stderr,
        )
    configuration = client.Configuration()
    configuration.retries = Retry(total=1, connect=1, read=False, redirect=False, other=0)
    try:
        config.load_kube_config(
            config_file=kubeconfig_path(),
            context=context.name,
            client_configuration=configuration,
            persist_config=False,
        )
    except (config.ConfigException, OSError, ValueError) as exc:  # ValueError: a server that is not a URL
        raise ClusterError(f"context {context.name!r}: {_first_line(exc)} ({NOTHING_SENT})") from None
    return Connection(context, client.ApiClient(configuration))


def _entries(raw: dict, section: str) -> list[dict]:
    """The named entries of a kubeconfig section (the merger wraps each in a ConfigNode)."""
    items = [getattr(item, "value", item) for item in raw.get(section) or []]
    return [item for item in items if isinstance(item, dict)]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
