"""The diagram of one environment, drawn from its synthesized Terraform JSON.

One model (:class:`Graph`), written as a Mermaid flowchart, as Graphviz DOT (laid out into SVG by Graphviz), or
as data (JSON).

Input is what ``cdktf synth`` wrote: ``cdktf.out/stacks/<env>/cdk.tf.json`` (cloud
layer) and, when it exists, ``cdktf.out/stacks/<env>-k8s/cdk.tf.json`` (in-cluster
layer). Nothing is taken from the environment file, so the picture shows what
Terraform would create: the network, the cluster, buckets and the identities IAM
grants them to, secrets, static IPs and certificates, and the namespaces,
service accounts, workloads, Services and Ingresses of the in-cluster stack.

Identities are read from IAM members: a Workload Identity ``principal://...``
member and a classic ``serviceAccount:POOL[NS/KSA]`` member are the same
Kubernetes service account node, so the cloud and the in-cluster stack meet there.

SVG: the DOT is laid out by Graphviz compiled to WebAssembly, the npm package ``@viz-js/viz``
(pinned in package.json, installed by ``make install`` into node_modules; no browser, no native
Graphviz), driven by ``diagram_svg.mjs`` beside this module under node.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gkeml import platform
from gkeml import platform_serving as serving
from gkeml.config.base import one_line
from gkeml.exitcodes import CommandError
from gkeml.iam.model import LOCAL_CHART_PREFIX

REF = re.compile(r"^\$\{([a-z0-9_]+)\.([A-Za-z0-9_-]+)((?:\.[A-Za-z0-9_]+|\[\d+\])*)\}$")
PRINCIPAL = re.compile(
    r"^principal://iam\.googleapis\.com/projects/[^/]+/locations/global/workloadIdentityPools/"
    r"[^/]+/subject/ns/(?P<ns>[^/]+)/sa/(?P<ksa>[^/]+)$"
)
CLASSIC = re.compile(r"^serviceAccount:[^\[]+\.svc\.id\.goog\[(?P<ns>[^/]+)/(?P<ksa>[^\]]+)\]$")
GSA_REF = re.compile(r"^serviceAccount:\$\{google_service_account\.([A-Za-z0-9_-]+)\.email\}$")

# How each kind of node is drawn: Mermaid shape opening and closing; Graphviz node attributes.
SHAPES = {
    "bucket": ('[("', '")]'),
    "secret": ('{{"', '"}}'),
    "ksa": ('(["', '"])'),
    "gsa": ('[/"', '"/]'),
    "cluster": ('[["', '"]]'),
    "box": ('["', '"]'),
}
DOT_SHAPES = {
    "bucket": "shape=cylinder",
    "secret": "shape=hexagon",
    "ksa": 'shape=box, style="rounded"',
    "gsa": "shape=parallelogram",
    "cluster": "shape=box, peripheries=2",
    "box": "shape=box",
}
SVG_RENDERER = Path(__file__).with_name("diagram_svg.mjs")
VIZ_PACKAGE = "@viz-js/viz"  # Graphviz as WebAssembly (package.json pins it; gkeml init's package.json too)
SVG_SECONDS = 120  # the dev diagram takes about a second; a graph that takes minutes is not one we draw
DRAWN = {
    "google_compute_network",
    "google_compute_subnetwork",
    "google_compute_router",
    "google_compute_router_nat",
    "google_container_cluster",
    "google_service_account",
    "google_storage_bucket",
    "google_storage_bucket_iam_member",
    "google_secret_manager_secret",
    "google_secret_manager_secret_iam_member",
    "google_service_account_iam_member",
    "google_project_iam_member",
    "google_compute_global_address",
    "google_compute_address",
    "google_compute_managed_ssl_certificate",
    "google_certificate_manager_certificate",
    "google_certificate_manager_dns_authorization",
    "google_certificate_manager_certificate_map",
    "google_certificate_manager_certificate_map_entry",
    "kubernetes_namespace",
    "kubernetes_namespace_v1",
    "kubernetes_service_account",
    "kubernetes_service_account_v1",
    "kubernetes_service",
    "kubernetes_service_v1",
    "kubernetes_ingress_v1",
    "kubernetes_deployment",
    "kubernetes_deployment_v1",
    "kubernetes_manifest",
    "helm_release",
    "kubernetes_secret",
    "kubernetes_secret_v1",
    # platform services
    "google_artifact_registry_repository",
    "google_artifact_registry_repository_iam_member",
    "google_dns_managed_zone",
    "google_dns_record_set",
    "google_billing_budget",
    "google_pubsub_topic",
    "google_pubsub_topic_iam_member",
    "google_monitoring_notification_channel",
    "google_monitoring_alert_policy",
    "google_monitoring_dashboard",
    "google_logging_metric",
}


class DiagramError(CommandError):
    """The synthesized output cannot be read; ``str()`` says what to run."""


@dataclass
class Group:
    """A group of the diagram (Mermaid subgraph, Graphviz cluster): nodes and nested groups, in insertion order."""

    id: str
    label: str
    nodes: list[str] = field(default_factory=list)
    groups: dict[str, Group] = field(default_factory=dict)


@dataclass
class Graph:
    """Nodes (id -> shape, label), groups and labelled edges: written as a Mermaid ``flowchart``
    (:meth:`render`), Graphviz DOT (:meth:`dot`) or data (:meth:`to_dict`)."""

    nodes: dict[str, tuple[str, str]] = field(default_factory=dict)
    root: Group = field(default_factory=lambda: Group("root", ""))
    edges: list[tuple[str, str, str, bool]] = field(default_factory=list)  # src, dst, label, dotted
    skipped: Counter = field(default_factory=Counter)

    def group(self, *path: tuple[str, str]) -> Group:
        """The nested group at ``path`` of (id, label) pairs, created on first use."""
        g = self.root
        for gid, label in path:
            g = g.groups.setdefault(gid, Group(gid, label))
        return g

    def node(self, nid: str, label: str, shape: str = "box", *within: tuple[str, str]) -> str:
        """Add a node once (the first placement wins) and return its id."""
        if nid not in self.nodes:
            self.nodes[nid] = (shape, label)
            self.group(*within).nodes.append(nid)
        return nid

    def edge(self, src: str, dst: str, label: str = "", dotted: bool = False) -> None:
        """Add an edge once; several grants between the same pair share one edge."""
        for i, (s, d, text, dot) in enumerate(self.edges):
            if (s, d, dot) == (src, dst, dotted):
                if label and label not in text.split(", "):
                    self.edges[i] = (s, d, f"{text}, {label}" if text else label, dot)
                return
        self.edges.append((src, dst, label, dotted))

    def render(self, title: str) -> str:
        """Mermaid ``flowchart`` source."""
        lines = ["---", f"title: {title}", "---", "flowchart LR"]
        lines += self._group_lines(self.root, 1)
        for src, dst, label, dotted in self.edges:
            arrow = "-.->" if dotted else "-->"
            lines.append(f'  {src} {arrow}|"{_text(label)}"| {dst}' if label else f"  {src} {arrow} {dst}")
        for rtype, count in sorted(self.skipped.items()):
            lines.append(f"  %% not drawn: {rtype} x{count}")
        return "\n".join(lines) + "\n"

    def to_dict(self, title: str) -> dict[str, Any]:
        """The diagram as data (``gkeml diagram --format json``): nodes with the group they are in (None: at
        the top), groups with their enclosing group, edges (``dotted``: runs as, syncs, uses), and the count
        of each resource type that is not drawn."""
        groups: list[dict[str, Any]] = []
        nodes: list[dict[str, Any]] = []

        def walk(group: Group, parent: str | None) -> None:
            for nid in group.nodes:
                shape, label = self.nodes[nid]
                nodes.append({"id": nid, "label": label, "shape": shape, "group": parent})
            for sub in group.groups.values():
                groups.append({"id": sub.id, "label": sub.label, "group": parent})
                walk(sub, sub.id)

        walk(self.root, None)
        return {
            "title": title,
            "nodes": nodes,
            "groups": groups,
            "edges": [{"from": s, "to": d, "label": label, "dotted": dot} for s, d, label, dot in self.edges],
            "not_drawn": dict(sorted(self.skipped.items())),
        }

    def dot(self, title: str) -> str:
        """Graphviz DOT source: groups are clusters; an edge to a group ends at its border (``lhead``)."""
        groups: dict[str, Group] = {}

        def collect(group: Group) -> None:
            for sub in group.groups.values():
                groups[sub.id] = sub
                collect(sub)

        collect(self.root)
        lines = [
            "digraph gkeml {",
            f'  graph [label={_dot(title)}, labelloc=t, rankdir=LR, compound=true, fontname="Helvetica", fontsize=14];',
            '  node [fontname="Helvetica", fontsize=10];',
            '  edge [fontname="Helvetica", fontsize=9];',
        ]
        lines += self._dot_lines(self.root, 1)
        for src, dst, label, dotted in self.edges:
            attrs = [f"label={_dot(label)}"] if label else []
            ends = []
            for end, side in ((src, "ltail"), (dst, "lhead")):
                if end in groups:
                    attrs.append(f"{side}={_dot('cluster_' + end)}")
                    end = _anchor(groups[end])
                ends.append(_dot(end))
            attrs += ["style=dashed"] if dotted else []
            lines.append(f"  {ends[0]} -> {ends[1]}" + (f" [{', '.join(attrs)}]" if attrs else "") + ";")
        for rtype, count in sorted(self.skipped.items()):
            lines.append(f"  // not drawn: {one_line(rtype)} x{count}")
        return "\n".join([*lines, "}"]) + "\n"

    def _dot_lines(self, group: Group, depth: int) -> list[str]:
        pad = "  " * depth
        out = [
            f"{pad}{_dot(nid)} [label={_dot(self.nodes[nid][1])}, {DOT_SHAPES[self.nodes[nid][0]]}];"
            for nid in group.nodes
        ]
        for sub in group.groups.values():
            out.append(f"{pad}subgraph {_dot('cluster_' + sub.id)} {{")
            out.append(f'{pad}  label={_dot(sub.label)}; style="rounded"; color="#888888";')
            if not _anchor(sub, placeholder=False):  # an empty group is drawn too, around an invisible point
                out.append(f'{pad}  {_dot(_anchor(sub))} [shape=point, style=invis, label=""];')
            out += self._dot_lines(sub, depth + 1)
            out.append(f"{pad}}}")
        return out

    def _group_lines(self, group: Group, depth: int) -> list[str]:
        pad = "  " * depth
        out = []
        for nid in group.nodes:
            shape, label = self.nodes[nid]
            opening, closing = SHAPES[shape]
            out.append(f"{pad}{nid}{opening}{_text(label)}{closing}")
        for sub in group.groups.values():
            out.append(f'{pad}subgraph {sub.id}["{_text(sub.label)}"]')
            out += self._group_lines(sub, depth + 1)
            out.append(f"{pad}end")
        return out


def _text(label: str) -> str:
    """A label safe inside Mermaid double quotes; ``\\n`` becomes a line break."""
    return (
        label.replace("#", "#35;")
        .replace('"', "#quot;")
        .replace("<", "#lt;")
        .replace(">", "#gt;")
        .replace("\n", "<br/>")
    )


def _dot(text: str) -> str:
    """A DOT quoted string: each line made printable (:func:`one_line`), backslashes and quotes escaped,
    line breaks as Graphviz's centred ``\\n``."""
    return '"' + "\\n".join(one_line(line).replace("\\", "\\\\").replace('"', '\\"') for line in text.split("\n")) + '"'


def _anchor(group: Group, placeholder: bool = True) -> str:
    """The node an edge to ``group`` is drawn to: its first node, depth first; an empty group's invisible
    point (``placeholder``), or "" when it has none."""
    if group.nodes:
        return group.nodes[0]
    for sub in group.groups.values():
        found = _anchor(sub, placeholder=False)
        if found:
            return found
    return f"{group.id}__empty" if placeholder else ""


def _id(*parts: str) -> str:
    """A Mermaid node id from readable parts (letters, digits and underscores only)."""
    return re.sub(r"[^A-Za-z0-9_]", "_", "_".join(parts))


def _one(value: Any) -> Any:
    """A single nested block: cdktf writes some as an object, cdktn as a one-item list."""
    if isinstance(value, list):
        return value[0] if value else {}
    return value if value is not None else {}


def _resources(stack: dict) -> Iterator[tuple[str, str, dict]]:
    for rtype, items in sorted(stack.get("resource", {}).items()):
        for name, body in sorted(items.items()):
            yield rtype, name, body


def _role(role: str) -> str:
    return role.removeprefix("roles/")


class _Builder:
    """Walks the stacks once and fills a :class:`Graph`."""

    def __init__(self, cloud: dict, k8s: dict | None, sources: tuple[str, ...]):
        self.cloud, self.k8s = cloud, k8s or {}
        self.sources = sources  # how errors name the cloud and the in-cluster stack
        self.g = Graph()
        self.project = ("project", "project")
        self.project_id = ""
        self.cluster_group: tuple[str, str] | None = None
        self.at = ""  # the resource being drawn, for errors

    def each(self, stack: dict, source: str) -> Iterator[tuple[str, str, dict]]:
        """The resources of ``stack``, remembering which one is being drawn."""
        for rtype, name, body in _resources(stack):
            self.at = f"{source}: resource.{rtype}.{name}"
            yield rtype, name, body

    # -- references ---------------------------------------------------------------
    def ref(self, value: Any) -> tuple[str, str] | None:
        """(type, name) of a ``${type.name.attr}`` reference, else None."""
        match = REF.match(value) if isinstance(value, str) else None
        return (match.group(1), match.group(2)) if match else None

    def resolve(self, value: Any, stack: dict) -> Any:
        """The literal behind a ``${type.name.attr...}`` reference into ``stack``, when it has one."""
        match = REF.match(value) if isinstance(value, str) else None
        if not match:
            return value
        current: Any = stack.get("resource", {}).get(match.group(1), {}).get(match.group(2))
        for step in re.findall(r"\.([A-Za-z0-9_]+)|\[(\d+)\]", match.group(3)):
            key, index = step
            if key:
                current = _one(current).get(key) if isinstance(_one(current), dict) else None
            elif isinstance(current, list) and int(index) < len(current):
                current = current[int(index)]
            if current is None:
                return value
        return current if isinstance(current, (str, int)) else value

    def rid(self, rtype: str, name: str) -> str:
        return _id(rtype.removeprefix("google_").removeprefix("kubernetes_"), name)

    # -- identities -------------------------------------------------------------------
    def ksa(self, namespace: str, name: str) -> str:
        """The node of a Kubernetes service account, inside its namespace group."""
        ns_group = (_id("ns", namespace), f"namespace {namespace}")
        return self.g.node(_id("ksa", namespace, name), f"KSA {name}", "ksa", self.workloads(), ns_group)

    def workloads(self) -> tuple[str, str]:
        return self.cluster_group or ("workloads", "Kubernetes workloads")

    def member(self, member: str) -> str:
        """The node an IAM member string stands for."""
        for pattern in (PRINCIPAL, CLASSIC):
            m = pattern.match(member)
            if m:
                return self.ksa(m.group("ns"), m.group("ksa"))
        m = GSA_REF.match(member)
        if m:
            return self.rid("google_service_account", m.group(1))
        kind, _, who = member.partition(":")
        if kind == "serviceAccount":
            found = self.account(who)
            if found:
                return found
        return self.g.node(_id("member", member), member, "box", ("others", "other principals"))

    def account(self, email: str) -> str | None:
        """The node of a Google service account of the project named by email: one the stack creates, or
        one made before it (the environment's bootstrap creates the nodes' and classic identities'); None
        for an account of another project."""
        for _, name, body in _resources(self.cloud):
            if body.get("account_id") and email.startswith(f"{body['account_id']}@"):
                return self.rid("google_service_account", name)
        account, _, domain = email.partition("@")
        if not self.project_id or domain != f"{self.project_id}.iam.gserviceaccount.com":
            return None
        return self.g.node(
            _id("gsa", account), f"GSA {account}", "gsa", self.project, ("gsas", "Google service accounts")
        )

    # -- the cloud stack ------------------------------------------------------------
    def build(self) -> Graph:
        res = self.cloud.get("resource", {})
        clusters = list(res.get("google_container_cluster", {}).items())
        project = next(
            (
                b.get("project")
                for _, _, b in _resources(self.cloud)
                if isinstance(b.get("project"), str) and not b["project"].startswith("${")
            ),
            "",
        )
        region = next((b.get("location") for _, b in clusters), "")
        self.project_id = str(project or "")
        self.project = ("project", " · ".join(p for p in (f"project {project}".strip(), region) if p))
        for name, body in clusters:
            self.at = f"{self.sources[0]}: resource.google_container_cluster.{name}"
            label = f"GKE Autopilot {body.get('name')}" if body.get("enable_autopilot") else f"GKE {body.get('name')}"
            channel = _one(body.get("release_channel")).get("channel")
            private = _one(body.get("private_cluster_config")).get("enable_private_nodes")
            details = [channel or "", "private nodes" if private else "public nodes"]
            self.g.node(
                self.rid("google_container_cluster", name),
                f"{label}\n{' · '.join(d for d in details if d)}",
                "cluster",
                self.project,
            )
            self.cluster_group = (_id("in", body.get("name", name)), f"in cluster {body.get('name', name)}")
        handlers = {
            "google_compute_network": self.network,
            "google_compute_subnetwork": self.subnet,
            "google_compute_router": self.router,
            "google_compute_router_nat": self.nat,
            "google_service_account": self.gsa,
            "google_storage_bucket": self.bucket,
            "google_secret_manager_secret": self.secret,
            "google_compute_global_address": self.address,
            "google_compute_managed_ssl_certificate": self.certificate,
            "google_compute_address": self.regional_address,
            "google_certificate_manager_dns_authorization": self.dns_authorization,
            "google_certificate_manager_certificate": self.manager_certificate,
            "google_certificate_manager_certificate_map": self.certificate_map,
            "google_artifact_registry_repository": self.repository,
            "google_dns_managed_zone": self.zone,
            "google_pubsub_topic": self.topic,
            "google_monitoring_notification_channel": self.channel,
            "google_monitoring_alert_policy": self.alert,
            "google_monitoring_dashboard": self.dashboard,
            "google_logging_metric": self.log_metric,
            "google_billing_budget": self.budget,
        }
        for rtype, name, body in self.each(self.cloud, self.sources[0]):  # nodes first, then edges between them
            if rtype in handlers:
                handlers[rtype](name, body)
            elif rtype not in DRAWN:
                self.g.skipped[rtype] += 1
        for name, body in clusters:
            self.at = f"{self.sources[0]}: resource.google_container_cluster.{name}"
            self.cluster_edges(name, body)
        for rtype, name, body in self.each(self.cloud, self.sources[0]):
            self.grant(rtype, name, body)
        self.service_edges()
        if self.k8s:
            _InCluster(self).build()
        return self.g

    def network(self, name: str, body: dict) -> None:
        self.g.group(self.project, (self.rid("google_compute_network", name), f"VPC {body.get('name')}"))

    def _in_vpc(self, body: dict) -> tuple[tuple[str, str], ...]:
        vpc = self.ref(body.get("network"))
        if vpc and vpc[0] == "google_compute_network":
            net = self.cloud["resource"]["google_compute_network"].get(vpc[1], {})
            return self.project, (self.rid(*vpc), f"VPC {net.get('name')}")
        return (self.project,)

    def subnet(self, name: str, body: dict) -> None:
        ranges = [f"{r.get('range_name')} {r.get('ip_cidr_range')}" for r in body.get("secondary_ip_range", [])]
        label = f"subnet {body.get('name')}\nnodes {body.get('ip_cidr_range')}" + "".join(f"\n{r}" for r in ranges)
        if body.get("purpose") == serving.PROXY_ONLY_SUBNET_PURPOSE:
            label = f"proxy-only subnet {body.get('name')}\n{body.get('ip_cidr_range')} (regional load balancers)"
        self.g.node(self.rid("google_compute_subnetwork", name), label, "box", *self._in_vpc(body))

    def router(self, name: str, body: dict) -> None:
        self.g.node(
            self.rid("google_compute_router", name), f"Cloud Router {body.get('name')}", "box", *self._in_vpc(body)
        )

    def nat(self, name: str, body: dict) -> None:
        router = self.ref(body.get("router"))
        path: tuple = (self.project,)
        if router:
            path = self._in_vpc(self.cloud["resource"].get(router[0], {}).get(router[1], {}))
        nid = self.g.node(self.rid("google_compute_router_nat", name), f"Cloud NAT {body.get('name')}", "box", *path)
        if router:
            self.g.edge(nid, self.rid(*router), "on")
        if "ALL_SUBNETWORKS" in str(body.get("source_subnetwork_ip_ranges_to_nat", "")):
            for sub, sub_body in self.cloud["resource"].get("google_compute_subnetwork", {}).items():
                if sub_body.get("purpose") != serving.PROXY_ONLY_SUBNET_PURPOSE:  # proxies reach no internet
                    self.g.edge(self.rid("google_compute_subnetwork", sub), nid, "egress", dotted=True)

    def gsa(self, name: str, body: dict) -> None:
        self.g.node(
            self.rid("google_service_account", name),
            f"GSA {body.get('account_id')}",
            "gsa",
            self.project,
            ("gsas", "Google service accounts"),
        )

    def bucket(self, name: str, body: dict) -> None:
        extra = ["versioned"] if _one(body.get("versioning")).get("enabled") else []
        if body.get("retention_policy"):
            extra.append("retention")
        label = f"bucket {body.get('name')}" + (f"\n{', '.join(extra)}" if extra else "")
        self.g.node(
            self.rid("google_storage_bucket", name), label, "bucket", self.project, ("storage", "Cloud Storage")
        )

    def secret(self, name: str, body: dict) -> None:
        self.g.node(
            self.rid("google_secret_manager_secret", name),
            f"secret {body.get('secret_id')}",
            "secret",
            self.project,
            ("secrets", "Secret Manager"),
        )

    def _front_end(self) -> tuple[tuple[str, str], ...]:
        return self.project, ("frontend", "HTTPS load balancer front end")

    def address(self, name: str, body: dict) -> None:
        self.g.node(
            self.rid("google_compute_global_address", name), f"static IP {body.get('name')}", "box", *self._front_end()
        )

    def certificate(self, name: str, body: dict) -> None:
        domains = _one(body.get("managed")).get("domains", [])
        nid = self.g.node(
            self.rid("google_compute_managed_ssl_certificate", name),
            f"certificate {body.get('name')}" + "".join(f"\n{d}" for d in domains),
            "box",
            *self._front_end(),
        )
        for addr_name, addr in self.cloud["resource"].get("google_compute_global_address", {}).items():
            if any(d in str(addr.get("description", "")) for d in domains):
                self.g.edge(nid, self.rid("google_compute_global_address", addr_name), "served on", dotted=True)

    def regional_address(self, name: str, body: dict) -> None:
        """A regional static IP (a regional load balancer's: GKE Inference Gateway)."""
        self.g.node(
            self.rid("google_compute_address", name),
            f"static IP {body.get('name')}\n{body.get('region', '')} · {str(body.get('network_tier', '')).lower()}",
            "box",
            *self._front_end(),
        )

    def dns_authorization(self, name: str, body: dict) -> None:
        self.g.node(
            self.rid("google_certificate_manager_dns_authorization", name),
            f"DNS authorization\n{body.get('domain')}",
            "box",
            *self._front_end(),
        )

    def manager_certificate(self, name: str, body: dict) -> None:
        """A Certificate Manager certificate, authorized by its DNS authorizations (edges)."""
        managed = _one(body.get("managed"))
        location = body.get("location") or "global"
        nid = self.g.node(
            self.rid("google_certificate_manager_certificate", name),
            f"certificate {body.get('name')} ({location})" + "".join(f"\n{d}" for d in managed.get("domains", [])),
            "box",
            *self._front_end(),
        )
        for auth in self._refs(managed.get("dns_authorizations")):
            self.g.edge(nid, self.rid(*auth), "authorized by", dotted=True)

    def certificate_map(self, name: str, body: dict) -> None:
        """A certificate map and, as edges, its entries' certificates."""
        nid = self.g.node(
            self.rid("google_certificate_manager_certificate_map", name),
            f"certificate map {body.get('name')}",
            "box",
            *self._front_end(),
        )
        for entry in self.cloud["resource"].get("google_certificate_manager_certificate_map_entry", {}).values():
            if self.ref(entry.get("map")) == ("google_certificate_manager_certificate_map", name):
                for cert in self._refs(entry.get("certificates")):
                    self.g.edge(nid, self.rid(*cert), str(entry.get("hostname", "")))

    # -- platform services -----------------------------------------------------------
    def repository(self, name: str, body: dict) -> None:
        extra = [f"{body.get('format', '').lower()} · {body.get('location')}"]
        if _one(body.get("docker_config")).get("immutable_tags"):
            extra.append("immutable tags")
        if _one(body.get("vulnerability_scanning_config")).get("enablement_config") == "INHERITED":
            extra.append("scanned")
        self.g.node(
            self.rid("google_artifact_registry_repository", name),
            f"repository {body.get('repository_id')}\n{' · '.join(extra)}",
            "bucket",
            self.project,
            ("registry", "Artifact Registry"),
        )

    def zone(self, name: str, body: dict) -> None:
        dnssec = _one(body.get("dnssec_config")).get("state") == "on"
        self.g.node(
            self.rid("google_dns_managed_zone", name),
            f"DNS zone {body.get('name')}\n{body.get('dns_name')}{' · DNSSEC' if dnssec else ''}",
            "box",
            self.project,
            ("dns", "Cloud DNS"),
        )

    def _services_group(self, *path: tuple[str, str]) -> tuple[tuple[str, str], ...]:
        return (self.project, *path)

    def topic(self, name: str, body: dict) -> None:
        self.g.node(
            self.rid("google_pubsub_topic", name),
            f"topic {body.get('name')}",
            "box",
            *self._services_group(("pubsub", "Pub/Sub")),
        )

    def channel(self, name: str, body: dict) -> None:
        labels = body.get("labels") or {}
        where = labels.get("email_address") or "Pub/Sub"
        self.g.node(
            self.rid("google_monitoring_notification_channel", name),
            f"channel {body.get('type')}\n{where}",
            "box",
            *self._services_group(("monitoring", "Cloud Monitoring")),
        )

    def alert(self, name: str, body: dict) -> None:
        self.g.node(
            self.rid("google_monitoring_alert_policy", name),
            f"alert {body.get('display_name')}",
            "box",
            *self._services_group(("monitoring", "Cloud Monitoring")),
        )

    def dashboard(self, name: str, body: dict) -> None:
        try:
            title = json.loads(body.get("dashboard_json", "{}")).get("displayName", name)
        except ValueError:
            title = name
        self.g.node(
            self.rid("google_monitoring_dashboard", name),
            f"dashboard {title}",
            "box",
            *self._services_group(("monitoring", "Cloud Monitoring")),
        )

    def log_metric(self, name: str, body: dict) -> None:
        self.g.node(
            self.rid("google_logging_metric", name),
            f"log metric {body.get('name')}",
            "box",
            *self._services_group(("monitoring", "Cloud Monitoring")),
        )

    def budget(self, name: str, body: dict) -> None:
        amount = _one(_one(body.get("amount")).get("specified_amount"))
        rules = [
            f"{r.get('threshold_percent', 0) * 100:g} %"
            + (" forecast" if r.get("spend_basis") == "FORECASTED_SPEND" else "")
            for r in body.get("threshold_rules", [])
        ]
        self.g.node(
            self.rid("google_billing_budget", name),
            f"budget {amount.get('units')} {amount.get('currency_code')}/month\nalerts at {', '.join(rules)}",
            "box",
            self.project,
        )

    def _refs(self, value: Any) -> list[tuple[str, str]]:
        values = value if isinstance(value, list) else [value]
        return [r for r in (self.ref(v) for v in values) if r]

    def service_edges(self) -> None:
        """Records to their static IPs, alerts and budgets to their channels and topics, metrics to alerts,
        the cluster to its notification topic."""
        res = self.cloud.get("resource", {})
        for body in res.get("google_dns_record_set", {}).values():
            zone = self.ref(body.get("managed_zone"))
            src = (
                self.rid(*zone)
                if zone
                else self.g.node(
                    _id("zone", str(body.get("managed_zone"))),
                    f"DNS zone {body.get('managed_zone')}\n(existing)",
                    "box",
                    self.project,
                    ("dns", "Cloud DNS"),
                )
            )
            for target in self._refs(body.get("rrdatas")):
                if body.get("type", "A") == "A":
                    self.g.edge(src, self.rid(*target), f"A {str(body.get('name', '')).rstrip('.')}")
                else:  # the CNAME a DNS authorization asks for (its name and type are known after apply)
                    self.g.edge(src, self.rid(*target), "validation record", dotted=True)
        for name, body in res.get("google_monitoring_alert_policy", {}).items():
            nid = self.rid("google_monitoring_alert_policy", name)
            for channel in self._refs(body.get("notification_channels")):
                self.g.edge(nid, self.rid(*channel), "notifies")
            for condition in body.get("conditions", []):
                metric = re.search(
                    r'logging\.googleapis\.com/user/([^"]+)"',
                    str(_one(condition.get("condition_threshold")).get("filter", "")),
                )
                for mname, mbody in res.get("google_logging_metric", {}).items():
                    if metric and mbody.get("name") == metric.group(1):
                        self.g.edge(self.rid("google_logging_metric", mname), nid, "counted by", dotted=True)
        for name, body in res.get("google_monitoring_notification_channel", {}).items():
            for topic in self._refs((body.get("labels") or {}).get("topic")):
                self.g.edge(self.rid("google_monitoring_notification_channel", name), self.rid(*topic), "publishes")
        for name, body in res.get("google_billing_budget", {}).items():
            nid = self.rid("google_billing_budget", name)
            rule = _one(body.get("all_updates_rule"))
            for channel in self._refs(rule.get("monitoring_notification_channels")):
                self.g.edge(nid, self.rid(*channel), "alerts")
            for topic in self._refs(rule.get("pubsub_topic")):
                self.g.edge(nid, self.rid(*topic), "publishes")
        for name, body in res.get("google_container_cluster", {}).items():
            pubsub = _one(_one(body.get("notification_config")).get("pubsub"))
            for topic in self._refs(pubsub.get("topic")):
                events = _one(pubsub.get("filter")).get("event_type", [])
                label = "notices" + (f": {len(events)} kinds" if events else "")
                self.g.edge(self.rid("google_container_cluster", name), self.rid(*topic), label, dotted=True)

    def cluster_edges(self, name: str, body: dict) -> None:
        cid = self.rid("google_container_cluster", name)
        sub = self.ref(body.get("subnetwork"))
        if sub:
            self.g.edge(cid, self.rid(*sub), "nodes in")
        runs_as = _one(_one(body.get("cluster_autoscaling")).get("auto_provisioning_defaults")).get("service_account")
        nodes_sa = self.ref(runs_as)
        if nodes_sa:
            self.g.edge(cid, self.rid(*nodes_sa), "nodes run as")
        elif isinstance(runs_as, str) and self.account(runs_as):
            self.g.edge(cid, str(self.account(runs_as)), "nodes run as")
        if self.cluster_group:
            self.g.group(self.cluster_group)
            self.g.edge(cid, self.cluster_group[0], "runs", dotted=True)

    def grant(self, rtype: str, name: str, body: dict) -> None:
        """An IAM member resource: an edge from the identity to what it may use."""
        if rtype == "google_storage_bucket_iam_member":
            target = self.ref(body.get("bucket"))
        elif rtype == "google_secret_manager_secret_iam_member":
            target = self.ref(body.get("secret_id"))
        elif rtype == "google_service_account_iam_member":
            target = self.ref(body.get("service_account_id"))
            name = str(body.get("service_account_id", ""))
            account = self.account(name.rsplit("/serviceAccounts/", 1)[-1]) if "/serviceAccounts/" in name else None
            if target is None and account:
                self.g.edge(self.member(body.get("member", "")), account, _edge_label(body))
                return
        elif rtype == "google_project_iam_member":
            target = ("project", "iam")
        elif rtype == "google_artifact_registry_repository_iam_member":
            target = self.ref(body.get("repository"))
        elif rtype == "google_pubsub_topic_iam_member":
            target = self.ref(body.get("topic"))
        else:
            return
        if target is None:
            return
        if target == ("project", "iam"):
            dst = self.g.node("project_iam", "project IAM roles", "box", self.project)
        else:
            dst = self.rid(*target)
        self.g.edge(self.member(body.get("member", "")), dst, _edge_label(body))


def _edge_label(grant: dict) -> str:
    """How a grant's edge is labelled: its role, or what granting workloadIdentityUser means."""
    if grant.get("role") == platform.WORKLOAD_IDENTITY_USER_ROLE:
        return "impersonates"
    return _role(grant.get("role", ""))


HANDLED_KINDS = (
    "Namespace",
    "ComputeClass",
    "ServiceAccount",
    "SecretSync",
    "Deployment",
    "Service",
    "ManagedCertificate",
    "Ingress",
    "InferencePool",
    "Gateway",
    "HTTPRoute",
    "Helm",
)


class _InCluster:
    """Adds the in-cluster stack: namespaces, service accounts, workloads, Services, Ingresses, charts."""

    def __init__(self, builder: _Builder):
        self.b, self.g, self.stack = builder, builder.g, builder.k8s
        self.deployments: list[tuple[str, dict, str]] = []  # namespace, pod labels, node id

    def meta(self, body: dict) -> tuple[str, str, dict]:
        """(namespace, name, annotations) of a typed resource or a manifest, references resolved."""
        if "manifest" in body:
            meta = body["manifest"].get("metadata", {})
        else:
            meta = _one(body.get("metadata"))
        namespace = self.b.resolve(meta.get("namespace", "default"), self.stack)
        return str(namespace), str(self.b.resolve(meta.get("name", ""), self.stack)), meta.get("annotations") or {}

    def ns_path(self, namespace: str) -> tuple[tuple[str, str], ...]:
        return self.b.workloads(), (_id("ns", namespace), f"namespace {namespace}")

    def build(self) -> None:
        kinds: dict[str, list[tuple[str, str, dict]]] = defaultdict(list)
        for rtype, name, body in self.b.each(self.stack, self.b.sources[1]):
            kind = self.kind(rtype, body)
            if kind in HANDLED_KINDS:
                kinds[kind].append((rtype, name, body))
            else:
                self.g.skipped[kind or rtype] += 1
        for kind in HANDLED_KINDS:  # in this order: later kinds point at earlier ones
            for rtype, name, body in kinds.get(kind, []):
                self.b.at = f"{self.b.sources[1]}: resource.{rtype}.{name}"
                getattr(self, kind.lower())(name, body)

    @staticmethod
    def kind(rtype: str, body: dict) -> str | None:
        if rtype == "kubernetes_manifest":  # a kind that is not a string is not drawn, under its resource type
            kind = body.get("manifest", {}).get("kind")  # a manifest that is not an object: DiagramError
            return kind if isinstance(kind, str) else None
        if rtype == "helm_release":
            return "Helm"
        typed = {
            "namespace": "Namespace",
            "service_account": "ServiceAccount",
            "deployment": "Deployment",
            "service": "Service",
            "ingress": "Ingress",
            "secret": "Secret",
        }
        return typed.get(re.sub(r"^kubernetes_|_v1$", "", rtype))

    def namespace(self, name: str, body: dict) -> None:
        _, ns, _ = self.meta(body)
        self.g.group(*self.ns_path(ns))

    def computeclass(self, name: str, body: dict) -> None:
        _, cls, _ = self.meta(body)
        self.g.node(_id("cc", cls), f"ComputeClass {cls}", "box", self.b.workloads())

    def secretsync(self, name: str, body: dict) -> None:
        """The Kubernetes Secret GKE's secret sync writes (named after the SecretSync), with an edge from
        the Secret Manager secret its SecretProviderClass names and from the service account it reads as."""
        ns, secret, _ = self.meta(body)
        spec = self._spec(body)
        nid = self.g.node(_id("k8s_secret", ns, secret), f"Secret {secret}", "secret", *self.ns_path(ns))
        ksa = spec.get("serviceAccountName")
        if isinstance(ksa, str):
            self.g.edge(self.b.ksa(ns, ksa), nid, "syncs", dotted=True)
        provider_class = spec.get("secretProviderClassName")
        for rtype, _, other in _resources(self.stack):
            if self.kind(rtype, other) != "SecretProviderClass" or self.meta(other)[:2] != (ns, provider_class):
                continue
            versions = re.findall(r"projects/[^/\s\"']+/secrets/([^/\s\"']+)/versions/", json.dumps(self._spec(other)))
            for cloud_name, cloud in self.b.cloud.get("resource", {}).get("google_secret_manager_secret", {}).items():
                if cloud.get("secret_id") in versions:
                    self.g.edge(self.b.rid("google_secret_manager_secret", cloud_name), nid, "synced to", dotted=True)

    def serviceaccount(self, name: str, body: dict) -> None:
        ns, ksa, annotations = self.meta(body)
        nid = self.b.ksa(ns, ksa)
        gsa = annotations.get(platform.WORKLOAD_IDENTITY_ANNOTATION)
        if gsa:
            self.g.edge(nid, self.b.member(f"serviceAccount:{gsa}"), "impersonates")

    def _spec(self, body: dict) -> dict:
        return body["manifest"].get("spec", {}) if "manifest" in body else _one(body.get("spec"))

    def deployment(self, name: str, body: dict) -> None:
        ns, dep, _ = self.meta(body)
        spec = self._spec(body)
        pod = _one(_one(spec.get("template")).get("spec"))
        nid = self.g.node(_id("deploy", ns, dep), f"Deployment {dep}", "box", *self.ns_path(ns))
        ksa = pod.get("service_account_name") or pod.get("serviceAccountName")
        if ksa:
            self.g.edge(nid, self.b.ksa(ns, str(self.b.resolve(ksa, self.stack))), "runs as", dotted=True)
        labels = _one(_one(_one(spec.get("template")).get("metadata"))).get("labels", {})
        self.deployments.append((ns, labels, nid))

    def service(self, name: str, body: dict) -> None:
        ns, svc, _ = self.meta(body)
        spec = self._spec(body)
        nid = self.g.node(
            _id("svc", ns, svc), f"Service {svc}\n{spec.get('type', 'ClusterIP')}", "box", *self.ns_path(ns)
        )
        selector = spec.get("selector") or {}
        for dns, labels, dep in self.deployments:
            if selector and dns == ns and all(labels.get(k) == v for k, v in selector.items()):
                self.g.edge(nid, dep, "selects")

    def managedcertificate(self, name: str, body: dict) -> None:
        ns, cert, _ = self.meta(body)
        domains = self._spec(body).get("domains", [])
        self.g.node(
            _id("mcrt", ns, cert),
            f"ManagedCertificate {cert}" + "".join(f"\n{d}" for d in domains),
            "box",
            *self.ns_path(ns),
        )

    def ingress(self, name: str, body: dict) -> None:
        ns, ing, annotations = self.meta(body)
        nid = self.g.node(_id("ing", ns, ing), f"Ingress {ing}", "box", *self.ns_path(ns))
        ip = annotations.get(platform.INGRESS_STATIC_IP_ANNOTATION)
        if ip:
            self.g.edge(nid, self.cloud_named("google_compute_global_address", ip, "static IP"), "IP")
        for cert in filter(None, str(annotations.get(platform.INGRESS_PRE_SHARED_CERT_ANNOTATION, "")).split(",")):
            self.g.edge(
                nid, self.cloud_named("google_compute_managed_ssl_certificate", cert.strip(), "certificate"), "TLS"
            )
        for cert in filter(None, str(annotations.get(platform.INGRESS_MANAGED_CERTS_ANNOTATION, "")).split(",")):
            self.g.edge(nid, _id("mcrt", ns, cert.strip()), "TLS")
        for svc in sorted(self.backends(self._spec(body))):
            self.g.edge(nid, _id("svc", ns, svc), "routes to")

    def inferencepool(self, name: str, body: dict) -> None:
        """An InferencePool: the Deployment whose pods it selects, and its endpoint picker's Service."""
        ns, pool, _ = self.meta(body)
        spec = self._spec(body)
        nid = self.g.node(_id("pool", ns, pool), f"InferencePool {pool}", "box", *self.ns_path(ns))
        selector = _one(spec.get("selector")).get("matchLabels") or {}
        for dns, labels, dep in self.deployments:
            if selector and dns == ns and all(labels.get(k) == v for k, v in selector.items()):
                self.g.edge(nid, dep, "selects")
        picker = _one(spec.get("endpointPickerRef")).get("name")
        if picker:
            self.g.edge(nid, _id("svc", ns, str(picker)), "endpoint picker", dotted=True)

    def gateway(self, name: str, body: dict) -> None:
        """A Gateway: its static IP and certificates (a certificate map, or regional certificates by name)."""
        ns, gw, annotations = self.meta(body)
        spec = self._spec(body)
        nid = self.g.node(
            _id("gw", ns, gw), f"Gateway {gw}\n{spec.get('gatewayClassName', '')}", "box", *self.ns_path(ns)
        )
        regional = spec.get("gatewayClassName") == serving.GATEWAY_CLASS_REGIONAL
        address_type = "google_compute_address" if regional else "google_compute_global_address"
        for address in spec.get("addresses", []):
            if isinstance(address, dict) and address.get("type") == "NamedAddress":
                self.g.edge(nid, self.cloud_named(address_type, str(address.get("value")), "static IP"), "IP")
        certmap = annotations.get(serving.CERTMAP_ANNOTATION)
        if certmap:
            self.g.edge(
                nid, self.cloud_named("google_certificate_manager_certificate_map", certmap, "certificate map"), "TLS"
            )
        for listener in spec.get("listeners", []):
            options = _one(_one(listener).get("tls")).get("options") or {}
            for cert in filter(None, str(options.get(serving.CERT_MANAGER_CERTS_OPTION, "")).split(",")):
                self.g.edge(
                    nid, self.cloud_named("google_certificate_manager_certificate", cert.strip(), "certificate"), "TLS"
                )

    def httproute(self, name: str, body: dict) -> None:
        """An HTTPRoute, as edges from its Gateways to its backends (a redirect route adds none)."""
        ns, _, _ = self.meta(body)
        spec = self._spec(body)
        gateways = [_id("gw", ns, str(p.get("name"))) for p in spec.get("parentRefs", []) if isinstance(p, dict)]
        for rule in spec.get("rules", []):
            for ref in _one(rule).get("backendRefs", []) if isinstance(rule, dict) else []:
                target = _id("pool" if ref.get("kind") == "InferencePool" else "svc", ns, str(ref.get("name")))
                for gw in gateways:
                    hosts = ", ".join(spec.get("hostnames", []))
                    self.g.edge(gw, target, f"routes {hosts}".strip())

    def cloud_named(self, rtype: str, name: str, what: str) -> str:
        """The cloud-stack node of ``rtype`` whose ``name`` is ``name`` (or a stand-alone node)."""
        for rname, body in self.b.cloud.get("resource", {}).get(rtype, {}).items():
            if body.get("name") == name:
                return self.b.rid(rtype, rname)
        return self.g.node(_id(rtype, name), f"{what} {name}\n(not in this stack)", "box", self.b.project)

    def backends(self, spec: Any) -> set[str]:
        """Service names anywhere under an Ingress spec (default backend and every rule path)."""
        found: set[str] = set()
        if isinstance(spec, dict):
            service = spec.get("service")
            if isinstance(service, (dict, list)) and _one(service).get("name"):
                found.add(str(self.b.resolve(_one(service)["name"], self.stack)))
            for value in spec.values():
                found |= self.backends(value)
        elif isinstance(spec, list):
            for item in spec:
                found |= self.backends(item)
        return found

    def helm(self, name: str, body: dict) -> None:
        """A Helm release: the Secrets it depends on, and the identity its values annotate (Workload Identity)."""
        ns = str(self.b.resolve(body.get("namespace", "default"), self.stack))
        chart = str(body.get("chart"))
        chart = "gkeml's own (local)" if chart.startswith(LOCAL_CHART_PREFIX) else chart
        nid = self.g.node(
            _id("helm", ns, body.get("name", name)),
            f"Helm {body.get('name', name)}\nchart {chart} {body.get('version', '')}".rstrip(),
            "box",
            *self.ns_path(ns),
        )
        for dep in body.get("depends_on", []):
            rtype, _, rname = dep.partition(".")
            target = self.stack.get("resource", {}).get(rtype, {}).get(rname)
            if target is not None and self.kind(rtype, target) == "SecretSync":
                sns, secret, _ = self.meta(target)
                if sns == ns:
                    self.g.edge(nid, _id("k8s_secret", sns, secret), "uses", dotted=True)
        for values in body.get("values", []):
            match = re.search(re.escape(platform.WORKLOAD_IDENTITY_ANNOTATION) + r":\s*(\S+@\S+)", str(values))
            if match:
                gsa = self.b.member(f"serviceAccount:{match.group(1)}")
                ksa = next(
                    (
                        s
                        for s, d, label, _ in self.g.edges
                        if d == gsa and label == "impersonates" and s.startswith(_id("ksa", ns, ""))
                    ),
                    None,
                )
                self.g.edge(nid, ksa or gsa, "runs as", dotted=True)


def build(
    cloud: dict,
    k8s: dict | None = None,
    sources: tuple[str, ...] = ("cloud stack", "in-cluster stack"),
) -> Graph:
    """The diagram of a cloud stack and, optionally, its in-cluster stack. DiagramError naming the resource
    (in ``sources``: the two stacks' files) when a stack is not what cdktf writes."""
    from gkeml.stackfile import SYNTH_AGAIN

    builder = _Builder(cloud, k8s, sources)
    try:
        graph = builder.build()
        labels = [label for _, label in graph.nodes.values()] + [label for _, _, label, _ in graph.edges]
        for label in labels:  # every writer takes text
            if not isinstance(label, str):
                raise TypeError(f"a label {label!r} is not text")
        return graph
    except (AttributeError, TypeError, KeyError, ValueError, IndexError, RecursionError) as exc:
        # one line even when a resource name holds a newline or another control character
        raise DiagramError(
            one_line(
                f"{builder.at or 'the stacks'}: not what cdktf writes ({type(exc).__name__}: {exc}); {SYNTH_AGAIN}"
            )
        ) from None


def render(
    cloud: dict,
    k8s: dict | None = None,
    title: str = "environment",
    sources: tuple[str, ...] = ("cloud stack", "in-cluster stack"),
) -> str:
    """Mermaid flowchart source for a cloud stack and, optionally, its in-cluster stack (:func:`build`)."""
    return build(cloud, k8s, sources).render(title)


def node_modules_dirs() -> list[Path]:
    """Where ``node_modules`` is looked for: the current directory (a platform repository, where ``make
    install`` put it), then the checkout this package is in (running from gkeml's own repository)."""
    return [Path.cwd(), Path(__file__).resolve().parents[1]]


def svg(dot: str) -> str:
    """SVG of Graphviz DOT source, laid out by Graphviz's ``dot`` (WebAssembly, :data:`VIZ_PACKAGE`) under
    node. DiagramError when node or the package is missing, or Graphviz refuses the graph."""
    node = shutil.which("node")
    root = next((d for d in node_modules_dirs() if (d / "node_modules" / VIZ_PACKAGE / "package.json").is_file()), None)
    if node is None or root is None:
        missing = "node (Node.js 20+) on PATH" if node is None else f"the npm package {VIZ_PACKAGE} in ./node_modules"
        raise DiagramError(
            f"--format svg needs {missing}: run `make install` (or `npm ci`); --format dot needs neither"
        )
    try:
        done = subprocess.run(
            [node, str(SVG_RENDERER), str(root)],
            input=dot.encode(),
            capture_output=True,
            timeout=SVG_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise DiagramError(f"Graphviz took more than {SVG_SECONDS} s to lay the diagram out") from None
    lines = done.stderr.decode("utf-8", "replace").splitlines()
    said = one_line(next((line for line in lines if ": error: " in line), lines[0] if lines else "").strip())
    text = done.stdout.decode("utf-8", "replace")
    if done.returncode != 0 or "<svg" not in text[:1000]:
        raise DiagramError(f"Graphviz ({VIZ_PACKAGE}) did not draw the diagram: {said or f'exit {done.returncode}'}")
    return text


def stack_files(out: str | Path, env: str) -> tuple[Path, Path]:
    """Where the cloud and the in-cluster stack of ``env`` are in the output ``out``."""
    stacks = Path(out) / "stacks"
    return stacks / env / "cdk.tf.json", stacks / f"{env}-k8s" / "cdk.tf.json"


def load(out: str | Path, env: str) -> tuple[dict, dict | None]:
    """The synthesized cloud stack of ``env`` and its in-cluster stack (None when not synthesized).
    DiagramError when the output is missing or partial (a stack its manifest names is absent); ConfigError
    (with the file and line) when a stack is malformed, or ``env`` is not a name."""
    from gkeml.config.loader import named_file
    from gkeml.stackfile import SYNTH_AGAIN, read_output_file, read_stack
    from gkeml.synth import MANIFEST, is_synth_output

    named_file(out, env, "ENV")  # a name, not a path out of the output (../x)
    stacks = Path(out) / "stacks"
    path, k8s_path = stack_files(out, env)
    if not is_synth_output(Path(out)):
        raise DiagramError(f"{Path(out) / MANIFEST} is missing or not cdktf's manifest; run `make synth` first")
    if not path.exists():  # a FIFO or a device there is refused by read_stack, saying what it is
        known = sorted(p.parent.name for p in stacks.glob("*/cdk.tf.json") if not p.parent.name.endswith("-k8s"))
        hint = f"; synthesized: {', '.join(known)}" if known else "; run `make synth` first"
        raise DiagramError(f"{path} not found{hint}")
    manifest = json.loads(read_output_file(Path(out) / MANIFEST))  # read as cdktf's manifest just above
    if f"{env}-k8s" in manifest["stacks"] and not k8s_path.exists():
        raise DiagramError(
            f"{k8s_path} is missing although {Path(out) / MANIFEST} names stack {env}-k8s "
            f"(a partial output); {SYNTH_AGAIN}"
        )
    return read_stack(path), (read_stack(k8s_path) if k8s_path.exists() else None)
