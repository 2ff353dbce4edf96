"""Synthesize every environment in one process, atomically, and read what was synthesized.

Config is loaded and checked before anything is written. Output goes to a
sibling staging directory and replaces the output directory only when synthesis
of every stack succeeded, so a failed run never clobbers the previous output.
The staging directory is created before the framework loads (an output that cannot
be written is one line, not a framework traceback) and removed however the run
ends, a SIGINT or SIGTERM included (:mod:`gkeml.interrupts`): then also once more
at exit, after the framework's runtime, which may still be writing into it, has stopped.
The directory replaced must be empty or a previous synth output (it has cdktf's
``manifest.json`` naming its stacks): pointed at anything else (``environments/``,
the repository root) synth refuses and deletes nothing.

Commands that read the output (``gkeml check``, ``gkeml diagram``) read it with
:func:`gkeml.stackfile.read_stack` (a malformed or partial file is one clear error) and warn with
:func:`stale_warning` when the environment files or the toolkit changed after it.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from gkeml import platform
from gkeml.config import ConfigError, ConfigProblem, Environment
from gkeml.config.loader import read_budget
from gkeml.config.registries import attach as attach_registries
from gkeml.config.registries import registries_of
from gkeml.environments import check_bootstraps, load_bootstrap_files, load_environments
from gkeml.exitcodes import ExitCode
from gkeml.interrupts import Terminated, stoppable, stopped
from gkeml.stackfile import SYNTH_AGAIN, read_output_file

# cdktf/cdktn validate the features they synthesize against this (cdktf.json "targetVersions" for the CLI
# says the same): the Terraform the stacks are written for (gkeml.platform.TERRAFORM_MIN_VERSION).
TARGET_VERSIONS = {"terraform": f">={platform.TERRAFORM_MIN_VERSION}"}
MANIFEST = "manifest.json"  # what cdktf (and CDK Terrain) writes at the top of its output
# Top-level sections of a synthesized stack whose content is {type: {name: block}} (provider
# holds lists, output/variable/module are {name: block}: readers do not walk them).


def build_app(envs: list[Environment], outdir: str, progress: Callable[[str], None] = lambda _: None):
    """An App holding the stacks of every environment (imports the framework lazily)."""
    from gkeml.framework import App
    from gkeml.stacks.cloud import CloudStack
    from gkeml.stacks.in_cluster import InClusterStack

    if any(registries_of(e) is None for e in envs):  # loaded one by one: they still know each other's registries
        attach_registries([(Path(f"{e.name}.yaml"), e) for e in envs])
    app = App(outdir=outdir, context={"targetVersions": TARGET_VERSIONS})
    for i, env in enumerate(envs, 1):
        progress(f"[{i}/{len(envs)}] building {env.name} and {env.name}-k8s")
        InClusterStack(app, env, cloud=CloudStack(app, env))
    return app


def is_synth_output(directory: Path) -> bool:
    """True when ``directory`` holds what a synth wrote: a ``manifest.json`` naming its stacks."""
    try:
        manifest = json.loads(read_output_file(directory / MANIFEST))  # a FIFO or /dev/zero: not an output
    except (ConfigError, ValueError, RecursionError):
        return False
    return isinstance(manifest, dict) and isinstance(manifest.get("stacks"), dict)


def output_problem(outdir: Path) -> str | None:
    """Why synth may not replace ``outdir``, or None: it must be missing, empty or a previous synth output."""
    if not outdir.exists() and not outdir.is_symlink():
        return None
    if not outdir.is_dir():
        return "exists and is not a directory; name a new directory for the output"
    try:
        empty = next(outdir.iterdir(), None) is None
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    if empty or is_synth_output(outdir):
        return None
    return (
        f"is not empty and not a previous synth output (no cdktf {MANIFEST}); synth replaces the whole "
        "directory, so it refuses: name an empty or new directory (default: cdktf.out)"
    )


def synth_into(outdir: str | Path, write: Callable[[str], None], what: str = "--out") -> Path:
    """Run ``write(staging_dir)`` and move the result to ``outdir``, replacing it only on success.
    ConfigError (``what`` names the setting) when ``outdir`` is not ours to replace or cannot be written."""
    with staged_output(outdir, what) as staging:
        write(str(staging))
    return Path(outdir).resolve()


@contextlib.contextmanager
def staged_output(outdir: str | Path, what: str = "--out") -> Iterator[Path]:
    """A new, empty staging directory beside ``outdir``, moved over ``outdir`` when the block ends without
    an exception, removed in every case. ConfigError (``what`` names the setting) before the block runs
    when ``outdir`` is not ours to replace (:func:`output_problem`) or cannot be written."""
    given = Path(outdir)
    outdir = given.resolve()

    def cannot_write(reason: str) -> ConfigError:
        return ConfigError([ConfigProblem(str(given), 0, what, f"cannot write the output: {reason}")])

    problem = output_problem(outdir)
    if problem:
        raise ConfigError([ConfigProblem(str(given), 0, what, problem)])
    if outdir.is_dir() and not os.access(outdir, os.W_OK):
        raise cannot_write(f"{outdir} is read-only; make it writable or name another directory")
    staging = outdir.with_name(f".{outdir.name}.staging-{os.getpid()}")
    old = outdir.with_name(f".{outdir.name}.old-{os.getpid()}")

    def remove_staging() -> None:
        shutil.rmtree(staging, ignore_errors=True)

    try:
        outdir.parent.mkdir(parents=True, exist_ok=True)
        remove_staging()
        staging.mkdir()
    except OSError as exc:
        raise cannot_write(f"{exc.strerror or exc} ({exc.filename or staging})") from None
    # Registered before the framework's runtime starts, so it runs after that runtime's own exit hook
    # has stopped it (atexit runs last-registered first): nothing writes into staging any more then.
    atexit.register(remove_staging)
    stopped_by_signal = False
    try:
        yield staging
        if outdir.exists():
            outdir.rename(old)
        staging.rename(outdir)
        shutil.rmtree(old, ignore_errors=True)
    except OSError as exc:
        raise cannot_write(f"{exc.strerror or exc} ({exc.filename or outdir})") from None
    except (KeyboardInterrupt, Terminated):
        stopped_by_signal = True
        raise
    finally:
        remove_staging()
        if not stopped_by_signal:
            atexit.unregister(remove_staging)


def synth(
    envs: list[Environment], outdir: str | Path, progress: Callable[[str], None] = lambda _: None, what: str = "--out"
) -> Path:
    """Synthesize into ``outdir``, replacing it only on success (see :func:`synth_into`)."""

    def write(staging: str) -> None:
        app = build_app(envs, staging, progress)
        progress("synthesizing Terraform JSON")
        app.synth()

    return synth_into(outdir, write, what)


def main(argv: list[str] | None = None) -> int:
    """``python main.py``: what the cdktf CLI runs; also ``make synth``. Environment variables:
    GKEML_ENVIRONMENTS (default environments), GKEML_BOOTSTRAP (default: ``bootstrap`` beside the
    environments), CDKTF_OUTDIR (default cdktf.out), GKEML_QUIET=1."""
    from gkeml.text import output_closed

    with stoppable():
        try:
            return run(
                os.environ.get("GKEML_ENVIRONMENTS", "environments"),
                os.environ.get("CDKTF_OUTDIR", "cdktf.out"),
                "CDKTF_OUTDIR",
                quiet=os.environ.get("GKEML_QUIET") == "1",
                bootstrap=os.environ.get("GKEML_BOOTSTRAP"),
            )
        except BrokenPipeError:  # progress goes to stderr: `python main.py 2>&1 | head`
            return output_closed()
        except (KeyboardInterrupt, Terminated) as exc:
            return stopped(exc, "gkeml synth")


def run(directory: str, outdir: str, what: str, quiet: bool = False, bootstrap: str | None = None) -> int:
    """Load every environment of ``directory``, check each against its bootstrap file in ``bootstrap``
    (default: ``bootstrap`` beside ``directory``, when there is one; the roles its stacks grant must be
    grantable and the service accounts they name created there, so a gap fails here, in the pull request,
    not at apply), and synthesize them into
    ``outdir`` (``what`` names the setting that gave it, for errors); progress on stderr. An environment
    without a bootstrap file is synthesized with a warning (CI leaves it out until it has one). Exit
    code 0, or 2 with one line per problem."""
    start = time.monotonic()

    def progress(message: str) -> None:
        if not quiet:
            print(f"gkeml: {message} ({time.monotonic() - start:.1f}s)", file=sys.stderr, flush=True)

    try:
        with read_budget():
            envs = load_environments(directory)
        check_bootstraps(envs, directory, bootstrap, lambda line: print(f"gkeml: {line}", file=sys.stderr))
        # the output is checked and its staging directory made before the providers load: a
        # directory that is not ours or cannot be written is refused in a second, in one line
        with staged_output(outdir, what) as staging:
            progress(f"loaded {', '.join(e.name for e in envs)}; loading the {_framework_name()} providers")
            app = build_app(envs, str(staging), progress)
            progress("synthesizing Terraform JSON")
            app.synth()
    except ConfigError as exc:
        print("\n".join(exc.lines("gkeml synth")), file=sys.stderr)
        return ExitCode.USAGE
    stacks = ",".join(f"{e.name},{e.name}-k8s" for e in envs)
    progress(f"wrote {outdir}/stacks/{{{stacks}}}")
    return ExitCode.OK


def _framework_name() -> str:
    from gkeml.framework import FRAMEWORK

    return FRAMEWORK


def synthesized_by(outdir: str | Path) -> str | None:
    """The gkeml release that synthesized ``outdir`` (the ``gkeml_version`` output of its stacks), ``""``
    when its stacks record none (a release before :data:`gkeml.release.FIRST_RECORDING_RELEASE`), None
    when there is no stack to read."""
    from gkeml.release import VERSION_OUTPUT

    for stack in sorted(Path(outdir).glob("stacks/*/cdk.tf.json")):
        try:
            output = (json.loads(stack.read_bytes()).get("output") or {}).get(VERSION_OUTPUT) or {}
        except (OSError, ValueError, RecursionError, AttributeError):
            continue  # the readers report a malformed stack
        value = output.get("value") if isinstance(output, dict) else None
        return value if isinstance(value, str) else ""
    return None


def stale_warning(outdir: str | Path, inputs: Iterable[str | Path] = ()) -> str | None:
    """A one-line warning when another gkeml release synthesized ``outdir``, or when an environment file
    in ``inputs`` (files or directories of ``*.yaml``) or the gkeml package changed after it; None otherwise
    (also when there is no output: the reader reports that)."""
    from gkeml import __version__
    from gkeml.release import FIRST_RECORDING_RELEASE

    try:
        written = (Path(outdir) / MANIFEST).stat().st_mtime
    except OSError:
        return None
    release = synthesized_by(outdir)
    if release is not None and release != __version__:
        by = f"gkeml {release}" if release else f"a gkeml before {FIRST_RECORDING_RELEASE}"
        return f"warning: {outdir} was synthesized by {by}, this is gkeml {__version__}: {SYNTH_AGAIN}"
    files: list[Path] = []
    for item in map(Path, inputs):
        files += sorted(item.glob("*.yaml")) if item.is_dir() else [item]
    files += sorted(Path(__file__).parent.rglob("*.py"))
    newer = []
    for file in files:
        try:
            if file.stat().st_mtime > written:
                newer.append(file)
        except OSError:
            continue
    if not newer:
        return None
    more = f" (and {len(newer) - 1} more)" if len(newer) > 1 else ""
    return f"warning: {outdir} is older than {newer[0]}{more}; it may not match the config: {SYNTH_AGAIN}"


def bootstrap_main() -> int:
    """``bootstrap/main.py`` (what the cdktf CLI runs in bootstrap/): synthesize ``bootstrap-<env>``
    for every bootstrap file. Exit 2 on config errors, with one ``file:line: field: message`` each."""
    directory = os.environ.get("GKEML_BOOTSTRAP", ".")
    environments = os.environ.get("GKEML_ENVIRONMENTS", "../environments")
    with stoppable():
        try:
            # like the environments' synth: only a previous output is replaced, only on success, and the
            # output is claimed before the framework loads (gkeml.stacks.bootstrap imports it)
            with staged_output(os.environ.get("CDKTF_OUTDIR", "cdktf.out"), "CDKTF_OUTDIR") as staging:
                from gkeml.framework import App
                from gkeml.stacks.bootstrap import BootstrapStack, stack_name

                with read_budget():
                    boots = load_bootstrap_files(directory, environments)
                app = App(outdir=str(staging))
                for boot in boots:
                    BootstrapStack(app, boot)
                app.synth()
        except ConfigError as exc:
            print("\n".join(exc.lines("gkeml bootstrap synth")), file=sys.stderr)
            return ExitCode.USAGE
        except (KeyboardInterrupt, Terminated) as exc:
            return stopped(exc, "gkeml bootstrap synth")
    print(f"gkeml: synthesized {', '.join(stack_name(b.name) for b in boots)}", file=sys.stderr)
    return ExitCode.OK
