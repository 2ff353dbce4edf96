"""Shared fixtures: the test suite's OWN environments (tests/fixtures/environments) and ONE real
synth of them per test session. The shipped environments/ are only smoke-tested
(tests/test_shipped.py), so adding or changing an environment file needs no test change.

Every test whose fixtures reach the session's synth is marked ``synth``: ``pytest -m "not synth"`` runs the
rest without synthesizing. The fakes of the APIs gkeml's clients talk to (``gke``, ``kube``) run here too, one
per test; test modules share helpers through modules of their own (tests/*.py without ``test_``), never by
importing another test module."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

# A suite started in the background by a non-interactive shell inherits SIGINT ignored, and so would every
# command the tests start: the tests of what Ctrl-C does would wait forever. Restored here, children start with
# the default disposition.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

# the suite's helper modules: their asserts say what failed, as a test's do
pytest.register_assert_rewrite("config_errors", "google_apis", "hostile", "job_env", "kube_api", "servers")

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "environments"
ENVIRONMENTS = ROOT / "tests" / "fixtures" / "environments"
# The fixture environments with every feature, one per tier; MINIMAL has none of them.
ENV_NAMES = ("lab", "stage", "live")
DEV, STAGING, PROD = ENV_NAMES
MINIMAL = "mini"


# The session fixtures that synthesize: a test that uses one (directly or through another fixture) is marked synth.
SYNTH_FIXTURES = frozenset({"synth_dir", "stacks", "bootstrap_stacks"})


def pytest_collection_modifyitems(items) -> None:
    """Mark ``synth`` every test whose fixture closure holds a synthesizing session fixture."""
    for item in items:
        if SYNTH_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.synth)


@pytest.fixture(scope="session")
def environments():
    from gkeml.environments import load_environments

    return {e.name: e for e in load_environments(ENVIRONMENTS)}


@pytest.fixture(scope="session")
def synth_dir(tmp_path_factory, environments) -> Path:
    """cdktf.out of the fixture environments, synthesized once with the installed framework."""
    from gkeml.synth import synth

    out = tmp_path_factory.mktemp("synth") / "cdktf.out"
    synth(list(environments.values()), out)
    return out


@pytest.fixture(scope="session")
def stacks(synth_dir) -> dict[str, dict]:
    """Parsed cdk.tf.json of every synthesized stack, by stack name."""
    return {p.parent.name: json.loads(p.read_text()) for p in sorted((synth_dir / "stacks").glob("*/cdk.tf.json"))}


def resources(stack: dict, rtype: str) -> list[dict]:
    """All resources of a Terraform type in a synthesized stack."""
    return list(stack.get("resource", {}).get(rtype, {}).values())


def framework() -> str:
    return os.environ.get("GKEML_CDK", "cdktf")


BOOTSTRAP = ROOT / "tests" / "fixtures" / "bootstrap"


@pytest.fixture(scope="session")
def bootstrap_stacks(tmp_path_factory) -> dict[str, dict]:
    """Parsed cdk.tf.json of the bootstrap stacks of the fixture environments (tests/fixtures/bootstrap),
    synthesized once per session the way bootstrap/main.py does."""
    from gkeml.environments import load_bootstrap_files
    from gkeml.framework import App
    from gkeml.stacks.bootstrap import BootstrapStack

    out = tmp_path_factory.mktemp("bootstrap") / "cdktf.out"
    app = App(outdir=str(out))
    for boot in load_bootstrap_files(BOOTSTRAP, ENVIRONMENTS):
        BootstrapStack(app, boot)
    app.synth()
    return {p.parent.name: json.loads(p.read_text()) for p in (out / "stacks").glob("*/cdk.tf.json")}


# --- fakes of the APIs gkeml's clients talk to: real servers on 127.0.0.1, one per test (tests/servers.py) ---


@pytest.fixture
def gke():
    """A running fake of the GKE, Resource Manager and Compute REST APIs (tests/google_apis.py)."""
    from google_apis import GkeApi
    from servers import serving

    with serving(GkeApi()) as api:
        yield api


@pytest.fixture
def kube():
    """A running in-memory Kubernetes API (tests/kube_api.py)."""
    from kube_api import KubeApi
    from servers import serving

    with serving(KubeApi()) as api:
        yield api


@pytest.fixture
def envs(tmp_path) -> Path:
    """--environments with the job tests' environments: lab (public IP endpoint) and vault (DNS endpoint only)."""
    from job_env import LAB, write_environments
    from kube_api import VAULT

    return write_environments(tmp_path / "environments", lab=LAB, vault=VAULT)
