"""The dependency graph Terraform builds from a synthesized stack: explicit ``depends_on`` plus
every ``${...}`` reference to another resource, data source or ephemeral resource."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

# ${google_container_cluster.cluster_A4C38409.name}, ${data.google_container_cluster.cluster...}
REFERENCE = re.compile(r"\$\{(?:(data|ephemeral)\.)?([a-z][a-z0-9_]*)\.([A-Za-z0-9_-]+)")
BLOCKS = {"resource": "", "data": "data.", "ephemeral": "ephemeral."}


def blocks(stack: dict) -> Iterator[tuple[str, str, dict]]:
    """(address, type, config) of every resource, data source and ephemeral resource."""
    for block, prefix in BLOCKS.items():
        for rtype, items in (stack.get(block) or {}).items():
            if isinstance(items, dict):
                for name, conf in items.items():
                    if isinstance(conf, dict):
                        yield f"{prefix}{rtype}.{name}", rtype, conf


def references(value: Any) -> set[str]:
    """Addresses ``value`` refers to through ``${...}`` expressions."""
    text = value if isinstance(value, str) else json.dumps(value)
    return {f"{kind + '.' if kind else ''}{rtype}.{name}" for kind, rtype, name in REFERENCE.findall(text)}


def dependency_graph(stack: dict) -> dict[str, set[str]]:
    """address -> the addresses it depends on directly (depends_on and references), within the stack."""
    known = {address for address, _, _ in blocks(stack)}
    graph: dict[str, set[str]] = {}
    for address, _, conf in blocks(stack):
        body = {k: v for k, v in conf.items() if k not in ("//", "depends_on")}
        deps = references(body) | {d for d in conf.get("depends_on") or [] if isinstance(d, str)}
        graph[address] = {d for d in deps if d in known and d != address}
    return graph


def ancestors(graph: dict[str, set[str]], address: str) -> set[str]:
    """Everything ``address`` waits for, directly or through others."""
    seen: set[str] = set()
    todo = list(graph.get(address, ()))
    while todo:
        dep = todo.pop()
        if dep not in seen:
            seen.add(dep)
            todo.extend(graph.get(dep, ()))
    return seen
