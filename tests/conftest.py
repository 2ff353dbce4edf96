"""Shared fixtures: the default environments and ONE real synth per test session."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ENVIRONMENTS = ROOT / "environments"
ENV_NAMES = ("dev", "staging", "prod")


@pytest.fixture(scope="session")
def environments():
    from gkeml.config import load_environments

    return {e.name: e for e in load_environments(ENVIRONMENTS)}


@pytest.fixture(scope="session")
def synth_dir(tmp_path_factory, environments) -> Path:
    """cdktf.out of the default environments, synthesized once with the installed framework."""
    from gkeml.synth import synth

    out = tmp_path_factory.mktemp("synth") / "cdktf.out"
    synth(list(environments.values()), out)
    return out


@pytest.fixture(scope="session")
def stacks(synth_dir) -> dict[str, dict]:
    """Parsed cdk.tf.json of every synthesized stack, by stack name."""
    return {
        p.parent.name: json.loads(p.read_text())
        for p in sorted((synth_dir / "stacks").glob("*/cdk.tf.json"))
    }


def resources(stack: dict, rtype: str) -> list[dict]:
    """All resources of a Terraform type in a synthesized stack."""
    return list(stack.get("resource", {}).get(rtype, {}).values())


def framework() -> str:
    return os.environ.get("GKEML_CDK", "cdktf")
