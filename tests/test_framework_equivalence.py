"""cdktf and CDK Terrain synthesize the same infrastructure from the same code."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from conftest import ENVIRONMENTS, ROOT

pytestmark = pytest.mark.synth

VENVS = {"cdktf": ROOT / ".venv", "cdktn": ROOT / ".venv-cdktn"}
# Known, documented differences between the generations (docs/frameworks.md).
IGNORED_KEYS = {"//", "required_providers"}


def normalize(node, key=None):
    if isinstance(node, dict):
        return {k: normalize(v, k) for k, v in node.items() if k not in IGNORED_KEYS}
    if isinstance(node, list):
        return [normalize(v) for v in node]
    if key == "retention_period":  # number on google 6.x, string on google 8.x
        return int(node)
    return node


def test_the_other_framework_synthesizes_identical_stacks(tmp_path, stacks):
    here = os.environ.get("GKEML_CDK", "cdktf")
    other = "cdktn" if here == "cdktf" else "cdktf"
    python = VENVS[other] / "bin" / "python"
    if not python.exists():
        pytest.skip(f"{other} is not installed here (`make install CDK={other}`); .ci/run installs both")
    env = dict(
        os.environ,
        GKEML_CDK=other,
        CDKTF_OUTDIR=str(tmp_path / "out"),
        GKEML_ENVIRONMENTS=str(ENVIRONMENTS),
        GKEML_QUIET="1",
    )
    subprocess.run([str(python), "main.py"], cwd=ROOT, env=env, check=True, timeout=600)
    theirs = {p.parent.name: json.loads(p.read_text()) for p in (tmp_path / "out" / "stacks").glob("*/cdk.tf.json")}
    assert set(theirs) == set(stacks)
    for name in stacks:
        assert normalize(theirs[name]) == normalize(stacks[name]), name
    providers = {s: set(stacks[s]["terraform"]["required_providers"]) for s in stacks}
    assert providers == {s: set(theirs[s]["terraform"]["required_providers"]) for s in theirs}
