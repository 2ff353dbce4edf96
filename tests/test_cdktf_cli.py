"""`cdktf synth` through the real cdktf CLI (node_modules/.bin/cdktf), as users run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

pytestmark = pytest.mark.slow


def test_cdktf_cli_synthesizes_every_stack(tmp_path):
    cli = ROOT / "node_modules" / ".bin" / "cdktf"
    assert cli.exists(), "make install puts the cdktf CLI in node_modules"
    venv_bin = str(Path(sys.executable).parent)
    env = dict(os.environ, PATH=f"{venv_bin}:{os.environ['PATH']}", CI="1", CDKTF_DISABLE_PLUGIN_CACHE_ENV="1")
    out = tmp_path / "cdktf.out"
    result = subprocess.run([str(cli), "synth", "--output", str(out)], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["stacks"]) == {"dev", "dev-k8s", "staging", "staging-k8s", "prod", "prod-k8s"}
    assert manifest["stacks"]["dev-k8s"]["dependencies"] == ["dev"]
