"""``gkeml diagram``: the Mermaid flowchart drawn from the real synthesized stacks."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from conftest import DEV, PROD, ROOT

from gkeml.diagram import render
from gkeml.naming import Names

NODE = re.compile(
    r'^(?P<id>[A-Za-z][A-Za-z0-9_]*)(?P<open>\[\("|\{\{"|\(\["|\[/"|\[\["|\[")(?P<label>[^"]*)'
    r'(?P<close>"\)\]|"\}\}|"\]\)|"/\]|"\]\]|"\])$'
)
SUBGRAPH = re.compile(r'^subgraph (?P<id>[A-Za-z][A-Za-z0-9_]*)\["(?P<label>[^"]*)"\]$')
EDGE = re.compile(
    r'^(?P<src>[A-Za-z][A-Za-z0-9_]*) (?P<arrow>-->|-\.->)(?:\|"(?P<label>[^"]*)"\|)? '
    r"(?P<dst>[A-Za-z][A-Za-z0-9_]*)$"
)
SHAPE_PAIRS = {'[("': '")]', '{{"': '"}}', '(["': '"])', '[/"': '"/]', '[["': '"]]', '["': '"]'}
RESERVED_IDS = {"end", "subgraph", "graph", "flowchart", "style", "class", "click"}


class Diagram:
    """The Mermaid text parsed back, line by line, with a syntax sanity check on the way."""

    def __init__(self, text: str):
        lines = text.splitlines()
        assert lines[:4] == ["---", lines[1], "---", "flowchart LR"] and lines[1].startswith("title: "), lines[:4]
        self.nodes: dict[str, str] = {}  # id -> label (line breaks as \n)
        self.groups: dict[str, str] = {}  # id -> label
        self.parent: dict[str, str] = {}  # node or group id -> enclosing group id
        self.edges: list[tuple[str, str, str, bool]] = []
        stack: list[str] = []
        for number, raw in enumerate(lines[4:], 5):
            line = raw.strip()
            if m := SUBGRAPH.match(line):
                self._declare(m["id"], number)
                self.groups[m["id"]] = m["label"]
                if stack:
                    self.parent[m["id"]] = stack[-1]
                stack.append(m["id"])
            elif line == "end":
                assert stack, f"line {number}: 'end' without subgraph"
                stack.pop()
            elif m := NODE.match(line):
                assert SHAPE_PAIRS[m["open"]] == m["close"], f"line {number}: shape {m['open']}..{m['close']}"
                self._declare(m["id"], number)
                self.nodes[m["id"]] = m["label"].replace("<br/>", "\n")
                if stack:
                    self.parent[m["id"]] = stack[-1]
            elif m := EDGE.match(line):
                self.edges.append((m["src"], m["dst"], m["label"] or "", m["arrow"] == "-.->"))
            elif not line.startswith("%% "):
                raise AssertionError(f"line {number} is not a node, subgraph, end, edge or comment: {raw!r}")
        assert not stack, f"subgraphs left open: {stack}"
        for src, dst, _, _ in self.edges:
            for end_id in (src, dst):
                assert end_id in self.nodes or end_id in self.groups, f"edge to undeclared {end_id}"
            assert src not in self._ancestors(dst) and dst not in self._ancestors(src), "edge to an enclosing group"

    def _declare(self, nid: str, number: int) -> None:
        assert nid.lower() not in RESERVED_IDS, f"line {number}: reserved id {nid}"
        assert nid not in self.nodes and nid not in self.groups, f"line {number}: {nid} declared twice"

    def _ancestors(self, nid: str) -> list[str]:
        out = []
        while nid in self.parent:
            nid = self.parent[nid]
            out.append(nid)
        return out

    def node(self, label_start: str) -> str:
        """The one node whose label starts with ``label_start``."""
        found = [i for i, label in self.nodes.items() if label.startswith(label_start)]
        assert len(found) == 1, f"{label_start!r}: {found}"
        return found[0]

    def group_of(self, nid: str) -> str:
        return self.groups[self.parent[nid]]

    def edge(self, src: str, dst: str) -> str:
        """Label of the edge src -> dst (AssertionError when there is none)."""
        labels = [label for s, d, label, _ in self.edges if (s, d) == (src, dst)]
        assert labels, f"no edge {src} -> {dst}"
        return labels[0]


@pytest.fixture(scope="module")
def dev(stacks) -> Diagram:
    return Diagram(render(stacks[DEV], stacks[f"{DEV}-k8s"], title=DEV))


def test_network_and_cluster_of_dev(dev, environments):
    env, names = environments[DEV], Names.of(environments[DEV])
    subnet = dev.node(f"subnet {names.subnet}")
    for cidr in (env.network.subnet_cidr, env.network.pods_cidr, env.network.services_cidr):
        assert str(cidr) in dev.nodes[subnet]
    assert dev.group_of(subnet) == f"VPC {names.network}"
    nat, router = dev.node(f"Cloud NAT {names.nat}"), dev.node(f"Cloud Router {names.router}")
    assert dev.edge(nat, router) == "on"
    assert dev.edge(subnet, nat) == "egress"
    cluster = dev.node(f"GKE Autopilot {names.cluster}")
    assert "REGULAR" in dev.nodes[cluster] and "private nodes" in dev.nodes[cluster]
    assert dev.edge(cluster, subnet) == "nodes in"
    assert dev.edge(cluster, dev.node(f"GSA {names.node_service_account}")) == "nodes run as"


def test_every_bucket_grant_of_the_config_is_an_edge_from_its_identity(dev, environments):
    env, names = environments[DEV], Names.of(environments[DEV])
    grants = 0
    for ident in env.identities:
        for bucket, role in [(b, "storage.objectViewer") for b in ident.reads] + [
            (b, "storage.objectUser") for b in ident.writes
        ]:
            node = dev.node(f"bucket {names.bucket(bucket)}")
            if ident.mode == "principal":
                src = f"ksa_{ident.namespace}_{ident.ksa}".replace("-", "_")
                assert dev.nodes[src] == f"KSA {ident.ksa}"
                assert dev.group_of(src) == f"namespace {ident.namespace}"
            else:
                src = dev.node(f"GSA {names.gsa(ident.name)}")
            assert role in dev.edge(src, node).split(", ")
            grants += 1
    assert grants >= 4  # the fixture's trainer reads datasets, writes checkpoints and artifacts; chat reads artifacts
    assert dev.nodes[dev.node(f"bucket {names.bucket('datasets')}")].endswith("versioned")


def test_the_wandb_key_is_synced_by_gke_into_the_launch_namespaces(dev, environments):
    names = Names.of(environments[DEV])
    secret = dev.node(f"secret {names.secret('wandb-api-key')}")
    readers = [s for s, d, label, _ in dev.edges if d == secret and label == "secretmanager.secretAccessor"]
    assert sorted(dev.group_of(r) for r in readers) == [f"namespace {t}" for t in environments[DEV].launch_teams()]
    copies = [d for s, d, label, _ in dev.edges if s == secret and label == "synced to"]
    assert sorted(dev.group_of(c) for c in copies) == [f"namespace {t}" for t in environments[DEV].launch_teams()]
    assert all(dev.edge(r, c) == "syncs" for r, c in zip(sorted(readers), sorted(copies)))


def test_ingress_uses_the_static_ip_and_certificate_of_the_cloud_layer(dev, environments):
    names = Names.of(environments[DEV])
    ip = dev.node(f"static IP {names.address('chat')}")
    cert = dev.node(f"certificate {names.certificate('chat', environments[DEV].endpoint('chat').host)}")
    assert environments[DEV].endpoint("chat").host in dev.nodes[cert]
    ingress, service = dev.node("Ingress chat"), dev.node("Service chat")
    assert dev.edge(ingress, ip) == "IP"
    assert dev.edge(ingress, cert) == "TLS"
    assert dev.edge(ingress, service) == "routes to"
    assert dev.edge(service, dev.node("Deployment chat")) == "selects"
    assert dev.group_of(ingress) == "namespace serving"
    assert dev.groups[dev.parent[dev.parent[ingress]]] == f"in cluster {environments[DEV].project.id}"


def test_prod_cloud_layer_alone(stacks, environments):
    names = Names.of(environments[PROD])
    prod = Diagram(render(stacks[PROD], title=PROD))
    for endpoint in ("chat", "embed"):
        assert has_edge(
            prod,
            prod.node(f"certificate {names.certificate(endpoint, environments[PROD].endpoint(endpoint).host)}"),
            prod.node(f"static IP {names.address(endpoint)}"),
        )
    assert "STABLE" in prod.nodes[prod.node(f"GKE Autopilot {names.cluster}")]
    trainer = prod.node("KSA trainer")
    assert prod.group_of(trainer) == "namespace research"
    assert prod.groups[prod.parent[prod.parent[trainer]]] == f"in cluster {names.cluster}"
    assert not any(label.startswith(("Ingress", "Service", "Deployment")) for label in prod.nodes.values())


def has_edge(d: Diagram, src: str, dst: str) -> bool:
    return any((s, t) == (src, dst) for s, t, _, _ in d.edges)


def test_typed_kubernetes_resources_with_references_and_list_metadata():
    """The in-cluster layer written with typed resources (cdktn puts metadata in a one-item list)."""
    cloud = {"resource": {"google_compute_global_address": {"ip": {"name": "acme-web-ip"}}}}
    k8s = {
        "resource": {
            "kubernetes_namespace_v1": {"ns": {"metadata": [{"name": "web"}]}},
            "kubernetes_service_v1": {
                "svc": {
                    "metadata": [{"name": "front", "namespace": "${kubernetes_namespace_v1.ns.metadata[0].name}"}],
                    "spec": [{"type": "NodePort", "selector": {"app": "front"}}],
                }
            },
            "kubernetes_ingress_v1": {
                "ing": {
                    "metadata": {
                        "name": "front",
                        "namespace": "web",
                        "annotations": {
                            "kubernetes.io/ingress.global-static-ip-name": "acme-web-ip",
                            "networking.gke.io/managed-certificates": "front-cert",
                        },
                    },
                    "spec": {"default_backend": {"service": {"name": "${kubernetes_service_v1.svc.metadata[0].name}"}}},
                }
            },
            "kubernetes_manifest": {
                "cert": {
                    "manifest": {
                        "apiVersion": "networking.gke.io/v1",
                        "kind": "ManagedCertificate",
                        "metadata": {"name": "front-cert", "namespace": "web"},
                        "spec": {"domains": ["web.example.com"]},
                    }
                }
            },
            "kubernetes_config_map_v1": {"cm": {"metadata": {"name": "x", "namespace": "web"}}},
        }
    }
    text = render(cloud, k8s, title="typed")
    d = Diagram(text)
    ingress, service = d.node("Ingress front"), d.node("Service front")
    assert d.group_of(service) == "namespace web"
    assert "NodePort" in d.nodes[service]
    assert d.edge(ingress, service) == "routes to"
    assert d.edge(ingress, d.node("static IP acme-web-ip")) == "IP"
    assert d.edge(ingress, d.node("ManagedCertificate front-cert")) == "TLS"
    assert "%% not drawn: kubernetes_config_map_v1 x1" in text


def test_labels_are_escaped():
    cloud = {
        "resource": {
            "google_storage_bucket_iam_member": {
                "g": {
                    "bucket": "${google_storage_bucket.b.name}",
                    "role": "roles/storage.objectViewer",
                    "member": 'group:"ml#team"@example.com',
                }
            },
            "google_storage_bucket": {"b": {"name": "data"}},
        }
    }
    text = render(cloud, title="escape")
    d = Diagram(text)
    assert d.nodes[d.node("group:")] == "group:#quot;ml#35;team#quot;@example.com"


def test_a_manifest_whose_kind_is_not_a_string_is_listed_as_not_drawn():
    k8s = {
        "resource": {
            "kubernetes_manifest": {
                "odd": {"manifest": {"apiVersion": "v1", "kind": True, "metadata": {"name": "x"}}},
                "cm": {"manifest": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "y"}}},
            }
        }
    }
    text = render({"resource": {}}, k8s, title="odd kinds")
    assert "%% not drawn: kubernetes_manifest x1" in text and "%% not drawn: ConfigMap x1" in text


def gkeml(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gkeml.cli", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_cli_prints_mermaid_and_markdown(synth_dir, stacks):
    done = gkeml("diagram", DEV, "--out", str(synth_dir))
    assert done.returncode == 0, done.stderr
    assert done.stdout == render(stacks[DEV], stacks[f"{DEV}-k8s"], title=f"gkeml environment {DEV}")
    md = gkeml("diagram", DEV, "--out", str(synth_dir), "--format", "markdown").stdout
    assert md == f"```mermaid\n{done.stdout}```\n"


def test_cli_unknown_stack_lists_the_synthesized_ones(synth_dir):
    done = gkeml("diagram", "qa", "--out", str(synth_dir))
    assert done.returncode == 2
    synthesized = sorted(p.name for p in (synth_dir / "stacks").iterdir() if not p.name.endswith("-k8s"))
    assert done.stderr.strip().endswith(f"not found; synthesized: {', '.join(synthesized)}")
