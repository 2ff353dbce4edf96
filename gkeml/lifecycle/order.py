"""First-apply order: what Terraform must have created before each resource can be created.

Terraform creates resources in parallel, in any order its graph (:mod:`gkeml.lifecycle.graph`)
allows. Some things exist only after others do, and nothing in the JSON says so unless gkeml
writes the dependency: each such fact is data (:data:`FACTS`, with its source), and
:func:`order_problems` checks every synthesized stack against all of them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from gkeml import platform
from gkeml.lifecycle.graph import ancestors, blocks, dependency_graph
from gkeml.rules.engine import ERROR, Finding
from gkeml.stackfile import read_stack


@dataclass(frozen=True)
class Fact:
    """Something that exists only after something else, and where that is documented."""

    id: str
    title: str
    source: str


@dataclass(frozen=True)
class OrderProblem:
    """A resource that may be created before what it needs exists."""

    fact: Fact
    stack: str
    address: str
    message: str
    fix: str


FACTS = {
    "TF001": Fact(
        "TF001",
        "a Workload Identity member exists only once a cluster has created the pool",
        "PROJECT.svc.id.goog is created with the project's first Workload Identity cluster; before that, "
        "IAM answers 'Identity Pool does not exist' (terraform-google-modules/terraform-google-"
        "kubernetes-engine#916, googleforgames/global-multiplayer-demo#39)",
    ),
    "TF002": Fact(
        "TF002",
        "a Google resource exists only once its API is enabled",
        "cloud.google.com/service-usage/docs/enable-disable: a disabled API answers 403 SERVICE_DISABLED",
    ),
    "TF003": Fact(
        "TF003",
        "a namespaced Kubernetes object exists only once its namespace does",
        "kubernetes.io/docs/concepts/overview/working-with-objects/namespaces: creating an object in a "
        "missing namespace is refused (NotFound)",
    ),
    "TF004": Fact(
        "TF004",
        "the cluster's nodes need their service account's role before they start",
        "cloud.google.com/kubernetes-engine/docs/how-to/service-accounts: nodes run as the service "
        "account with roles/container.defaultNodeServiceAccount",
    ),
}


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _workload_identity_pool(stack: str, conf: dict, rtype: str, address: str, found: dict) -> Iterator[OrderProblem]:
    if rtype == "google_container_cluster" or address.startswith(("data.", "ephemeral.")):
        return
    if not any(".svc.id.goog" in s for s in _strings({k: v for k, v in conf.items() if k != "//"})):
        return
    clusters = found["clusters"]
    if not clusters:
        return  # no cluster in this stack: the pool comes from elsewhere (another stack applied before)
    if not clusters & found["ancestors"](address):
        yield OrderProblem(
            FACTS["TF001"],
            stack,
            address,
            f"{address} names a Workload Identity member but does not wait for the cluster",
            f"add depends_on: {sorted(clusters)[0]} (the cluster creates the identity pool)",
        )


def _api_enabled(stack: str, conf: dict, rtype: str, address: str, found: dict) -> Iterator[OrderProblem]:
    api = platform.resource_api(rtype)
    enabling = found["apis"].get(api or "")
    if api is None or rtype == "google_project_service" or address.startswith(("data.", "ephemeral.")) or not enabling:
        return
    if enabling not in found["ancestors"](address):
        yield OrderProblem(
            FACTS["TF002"],
            stack,
            address,
            f"{address} may be created before {api} is enabled",
            f"add depends_on: {enabling}",
        )


def _namespace_exists(stack: str, conf: dict, rtype: str, address: str, found: dict) -> Iterator[OrderProblem]:
    if rtype == "kubernetes_manifest":
        meta = (conf.get("manifest") or {}).get("metadata") or {}
        namespace = meta.get("namespace")
    elif rtype == "helm_release" and not conf.get("create_namespace"):
        namespace = conf.get("namespace")
    else:
        return
    if not isinstance(namespace, str) or namespace in platform.SYSTEM_NAMESPACES:
        return
    creator = found["namespaces"].get(namespace)
    if creator is None:
        yield OrderProblem(
            FACTS["TF003"],
            stack,
            address,
            f"{address} is in namespace {namespace}, which this stack does not create",
            f"create the Namespace {namespace} in the same stack",
        )
    elif creator != address and creator not in found["ancestors"](address):
        yield OrderProblem(
            FACTS["TF003"],
            stack,
            address,
            f"{address} may be created before namespace {namespace}",
            f"add depends_on: {creator}",
        )


def _node_role(stack: str, conf: dict, rtype: str, address: str, found: dict) -> Iterator[OrderProblem]:
    if rtype != "google_container_cluster":
        return
    roles = found["node_role_bindings"]
    if roles and not roles & found["ancestors"](address):
        yield OrderProblem(
            FACTS["TF004"],
            stack,
            address,
            f"{address} may start nodes before their service account holds {platform.NODE_SERVICE_ACCOUNT_ROLE}",
            f"add depends_on: {sorted(roles)[0]}",
        )


CHECKS: tuple[Callable[..., Iterator[OrderProblem]], ...] = (
    _workload_identity_pool,
    _api_enabled,
    _namespace_exists,
    _node_role,
)


def order_problems(stacks: dict[str, dict]) -> list[OrderProblem]:
    """Every place in the synthesized ``stacks`` (name -> cdk.tf.json) where a resource may be
    created before something it needs exists, per :data:`FACTS`."""
    problems: list[OrderProblem] = []
    for name, stack in sorted(stacks.items()):
        graph = dependency_graph(stack)
        cache: dict[str, set[str]] = {}

        def ancestors_of(address: str, graph: dict = graph, cache: dict = cache) -> set[str]:
            if address not in cache:
                cache[address] = ancestors(graph, address)
            return cache[address]

        found = {
            "ancestors": ancestors_of,
            "clusters": {
                a for a, t, _ in blocks(stack) if t == "google_container_cluster" and not a.startswith("data.")
            },
            "apis": {c.get("service"): a for a, t, c in blocks(stack) if t == "google_project_service"},
            "namespaces": {
                ((c.get("manifest") or {}).get("metadata") or {}).get("name"): a
                for a, t, c in blocks(stack)
                if t == "kubernetes_manifest" and (c.get("manifest") or {}).get("kind") == "Namespace"
            },
            "node_role_bindings": {
                a
                for a, t, c in blocks(stack)
                if t == "google_project_iam_member" and c.get("role") == platform.NODE_SERVICE_ACCOUNT_ROLE
            },
        }
        for address, rtype, conf in blocks(stack):
            for check in CHECKS:
                problems.extend(check(name, conf, rtype, address, found))
    return problems


def describe(problems: list[OrderProblem]) -> str:
    """One line per problem (for test messages and logs)."""
    return "\n".join(f"{p.fact.id} {p.stack}: {p.message}; {p.fix}" for p in problems) or json.dumps([])


def order_findings(synth_dir: str | Path) -> list[Finding]:
    """The order problems of every stack in ``synth_dir`` as ``gkeml check`` findings."""
    files = sorted(Path(synth_dir).glob("stacks/*/cdk.tf.json"))
    stacks = {f.parent.name: read_stack(f) for f in files}
    return [
        Finding(
            p.fact.id,
            ERROR,
            f"{p.stack}/{p.address}",
            "depends_on",
            p.message,
            p.fix,
            str(Path(synth_dir) / "stacks" / p.stack / "cdk.tf.json"),
        )
        for p in order_problems(stacks)
    ]
