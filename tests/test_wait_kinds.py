"""`gkeml wait-kinds` against a real HTTP server on 127.0.0.1 that speaks Kubernetes discovery: GKE installs
its kinds some time after it creates the cluster (fact TF008), and `make deploy` waits for them between the
two stacks."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import DEV, ENVIRONMENTS, MINIMAL, ROOT

from gkeml.cli import main


class Discovery:
    """Serves GET /apis/GROUP/VERSION: 404 until the group version is installed, then its kinds."""

    def __init__(self) -> None:
        self.served: dict[str, list[str]] = {}
        self.requests: list[str] = []
        self.install_after: dict[str, tuple[int, list[str]]] = {}  # group version -> (after n requests, kinds)
        discovery = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                discovery.requests.append(self.path)
                for version, (after, kinds) in discovery.install_after.items():
                    if len(discovery.requests) > after:
                        discovery.served[version] = kinds
                version = self.path.removeprefix("/apis/")
                if version not in discovery.served:
                    self.send_response(404)
                    self.end_headers()
                    return
                body = json.dumps(
                    {
                        "kind": "APIResourceList",
                        "groupVersion": version,
                        "resources": [{"kind": k} for k in discovery.served[version]],
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"


@pytest.fixture
def discovery():
    d = Discovery()
    thread = threading.Thread(target=d.server.serve_forever, daemon=True)
    thread.start()
    yield d
    d.server.shutdown()
    d.server.server_close()


def wait(env: str, synth_dir, discovery: Discovery, *extra: str) -> int:
    return main(
        [
            "wait-kinds",
            env,
            "--environments",
            str(ENVIRONMENTS),
            "--synth-dir",
            str(synth_dir),
            "--server",
            discovery.url,
        ]
        + ["--interval", "0.01", *extra]
    )


def test_waits_until_the_add_on_kinds_are_served(discovery, synth_dir, stacks, capsys):
    from gkeml.doctor.kinds import planned_cluster_kinds

    later = {  # the Secret Manager add-on's kinds come last; the cluster serves every other kind DEV plans
        "secrets-store.csi.x-k8s.io/v1": (6, ["SecretProviderClass", "SecretProviderClassPodStatus"]),
        "secret-sync.gke.io/v1": (9, ["SecretSync"]),
    }
    planned = planned_cluster_kinds(stacks[f"{DEV}-k8s"])
    assert {("secret-sync.gke.io/v1", "SecretSync"), ("cloud.google.com/v1", "ComputeClass")} <= set(planned)
    for version, kind in planned:
        if version not in later:
            discovery.served.setdefault(version, []).append(kind)
    discovery.install_after = later
    assert wait(DEV, synth_dir, discovery, "--timeout", "120") == 0
    asked = set(discovery.requests)
    assert {"/apis/secrets-store.csi.x-k8s.io/v1", "/apis/secret-sync.gke.io/v1"} <= asked
    assert len(discovery.requests) > 9  # it polled until the last one was installed
    err = capsys.readouterr().err
    assert "waiting for the cluster to serve" in err and "secret-sync.gke.io/v1 SecretSync" in err


def test_a_kind_still_missing_at_the_timeout_exits_1_naming_it(discovery, synth_dir, capsys):
    discovery.served = {"cloud.google.com/v1": ["BackendConfig"]}
    assert wait(DEV, synth_dir, discovery, "--timeout", "0.05") == 1
    err = capsys.readouterr().err
    assert "still does not serve" in err and "cloud.google.com/v1 ComputeClass" in err
    assert "secret-sync.gke.io/v1 SecretSync" in err


def test_a_stack_that_plans_no_gke_kind_does_not_ask_the_cluster(discovery, synth_dir, stacks):
    from gkeml.doctor.kinds import planned_cluster_kinds

    assert planned_cluster_kinds(stacks[f"{MINIMAL}-k8s"]) == []
    assert wait(MINIMAL, synth_dir, discovery) == 0
    assert discovery.requests == []


def test_make_deploy_waits_between_the_two_stacks():
    """The documented command (README, DEPLOY_SEQUENCE) is what the Makefile runs, wait included."""
    from gkeml.lifecycle.sequence import DEPLOY_SEQUENCE

    makefile = (ROOT / "Makefile").read_text()
    variables = dict(re.findall(r"^([A-Z_0-9]+) :?= (.*)$", makefile, re.M))

    def expand(line: str) -> str:
        for _ in range(3):
            line = re.sub(r"\$\(([A-Z_0-9]+)\)", lambda m: variables.get(m.group(1), m.group(0)), line)
        return line

    (step,) = [s for s in DEPLOY_SEQUENCE if s.command == "make deploy ENV={env}"]
    assert step.waits_for_cluster_kinds
    for target in ("deploy", "deploy-ci"):
        recipe = [expand(line) for line in makefile.split(f"\n{target}: ", 1)[1].split("\n\n", 1)[0].splitlines()[1:]]
        assert len(recipe) == 3, recipe
        assert "cdktf deploy $(ENV) " in recipe[0] + " " and "-k8s" not in recipe[0]
        assert "-m gkeml.cli wait-kinds $(ENV)" in recipe[1]
        assert "cdktf deploy $(ENV)-k8s --ignore-missing-stack-dependencies" in recipe[2]
