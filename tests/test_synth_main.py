"""`python main.py` (what `make synth` and the cdktf CLI run): exit codes and atomic output."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from config_errors import DEV
from conftest import ENVIRONMENTS, ROOT
from hostile import line_of


def run_main(env_dir, outdir):
    env = dict(os.environ, GKEML_ENVIRONMENTS=str(env_dir), CDKTF_OUTDIR=str(outdir))
    return subprocess.run([sys.executable, "main.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_config_error_exits_2_with_one_line_and_keeps_previous_output(tmp_path):
    envs = tmp_path / "environments"
    envs.mkdir()
    (envs / "lab.yaml").write_text(
        (ENVIRONMENTS / "lab.yaml").read_text().replace("purpose: datasets", "purpose: data")
    )
    out = tmp_path / "cdktf.out"
    (out / "stacks" / "dev").mkdir(parents=True)
    (out / "stacks" / "dev" / "cdk.tf.json").write_text("previous")
    result = run_main(envs, out)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"{envs}/lab.yaml:{line_of(DEV, 'purpose: datasets')}: buckets[0].purpose: Input should be 'datasets', "
        "'checkpoints' or 'artifacts' (got 'data') (did you mean 'datasets'?)"
    ]
    assert (out / "stacks" / "dev" / "cdk.tf.json").read_text() == "previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cdktf.out", "environments"]


def test_failure_during_synthesis_leaves_previous_output_untouched(tmp_path, monkeypatch, environments):
    import gkeml.stacks.cloud as cloud
    from gkeml.synth import synth

    def broken(*args, **kwargs):
        raise RuntimeError("boom in the middle of synthesis")

    monkeypatch.setattr(cloud, "CloudStack", broken)
    out = tmp_path / "cdktf.out"
    out.mkdir()
    previous = '{"stacks": {"lab": {}}, "version": "previous"}'
    (out / "manifest.json").write_text(previous)
    with pytest.raises(RuntimeError, match="boom"):
        synth(list(environments.values()), out)
    assert (out / "manifest.json").read_text() == previous
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cdktf.out"]
