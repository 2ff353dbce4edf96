"""Synthesize every environment in one process, atomically.

Config is loaded and checked before anything is written. Output goes to a
sibling staging directory and replaces ``cdktf.out`` only when synthesis of
every stack succeeded, so a failed run never clobbers the previous output.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path
from typing import Callable

from gkeml.config import ConfigError, Environment
from gkeml.environments import load_environments
from gkeml.exitcodes import ExitCode

# The W&B key uses an ephemeral resource and a write-only argument: Terraform >= 1.11.
# cdktn validates features against this (cdktf.json "targetVersions" for its CLI).
TARGET_VERSIONS = {"terraform": ">=1.11.0"}


def build_app(envs: list[Environment], outdir: str, progress: Callable[[str], None] = lambda _: None):
    """An App holding the stacks of every environment (imports the framework lazily)."""
    from gkeml.framework import App
    from gkeml.stacks.cloud import CloudStack
    from gkeml.stacks.in_cluster import InClusterStack

    app = App(outdir=outdir, context={"targetVersions": TARGET_VERSIONS})
    for i, env in enumerate(envs, 1):
        progress(f"[{i}/{len(envs)}] building {env.name} and {env.name}-k8s")
        InClusterStack(app, env, cloud=CloudStack(app, env))
    return app


def synth(envs: list[Environment], outdir: str | Path, progress: Callable[[str], None] = lambda _: None) -> Path:
    """Synthesize into ``outdir``, replacing it only on success."""
    outdir = Path(outdir).resolve()
    outdir.parent.mkdir(parents=True, exist_ok=True)
    staging = outdir.with_name(f".{outdir.name}.staging-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        app = build_app(envs, str(staging), progress)
        progress("synthesizing Terraform JSON")
        app.synth()
        old = outdir.with_name(f".{outdir.name}.old-{os.getpid()}")
        if outdir.exists():
            outdir.rename(old)
        staging.rename(outdir)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return outdir


def main(argv: list[str] | None = None) -> int:
    """``python main.py``: what the cdktf CLI runs; also ``make synth``."""
    directory = os.environ.get("GKEML_ENVIRONMENTS", "environments")
    outdir = os.environ.get("CDKTF_OUTDIR", "cdktf.out")
    quiet = os.environ.get("GKEML_QUIET") == "1"
    start = time.monotonic()

    def progress(message: str) -> None:
        if not quiet:
            print(f"gkeml: {message} ({time.monotonic() - start:.1f}s)", file=sys.stderr, flush=True)

    try:
        envs = load_environments(directory)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return ExitCode.USAGE
    progress(f"loaded {', '.join(e.name for e in envs)}; loading the {_framework_name()} providers")
    synth(envs, outdir, progress)
    stacks = ",".join(f"{e.name},{e.name}-k8s" for e in envs)
    progress(f"wrote {outdir}/stacks/{{{stacks}}}")
    return ExitCode.OK


def _framework_name() -> str:
    from gkeml.framework import FRAMEWORK

    return FRAMEWORK
