"""``gkeml job``: render a job spec to Kubernetes YAML, or submit it with kubectl."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys

from gkeml.cli import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE
from gkeml.config import Environment
from gkeml.environments import load_named_environment

SPEC_HELP = "job spec YAML (see examples/jobs/ and docs/jobs.md)"


def add_env_options(parser: argparse.ArgumentParser) -> None:
    """--env and --environments, shared with ``gkeml launch``."""
    parser.add_argument("--env", metavar="ENV",
                        help="environment whose namespace, identity (Workload Identity KSA) and bucket names to use; "
                             "without it the spec's names are taken literally")
    parser.add_argument("--environments", default="environments", metavar="DIR",
                        help="directory of <env>.yaml files (default: %(default)s)")


def environment(args: argparse.Namespace) -> Environment | None:
    """The environment named by --env, or None; ConfigError lists the available ones."""
    if not args.env:
        return None
    return load_named_environment(args.environments, args.env, field="--env")


def rendered_yaml(args: argparse.Namespace) -> str:
    """Load the spec (checked against --env) and render all its objects as multi-document YAML."""
    from gkeml.jobs import load_job_spec, render
    from gkeml.manifests import to_yaml

    env = environment(args)
    return to_yaml(render(load_job_spec(args.spec, env), env))


def register(sub) -> None:
    """Add ``gkeml job render`` and ``gkeml job submit``."""
    p = sub.add_parser("job", help="render or submit an ML training job from a job spec",
                       description="Turn a short job spec into Autopilot-ready Kubernetes objects: a Job (Indexed "
                                   "Job plus headless Service for multi-node DDP) with GPU and Spot selectors, "
                                   "requests equal to limits, GCS FUSE mounts and Workload Identity.",
                       epilog="Exit codes: 0 success, 1 kubectl failed, 2 spec/config error or no kubectl context.")
    jobs = p.add_subparsers(dest="job_command", metavar="ACTION", required=True)

    r = jobs.add_parser("render", help="print the Kubernetes YAML of a job spec",
                        description="Print every Kubernetes object of the job, in apply order, as YAML on stdout.")
    r.add_argument("spec", metavar="SPEC", help=SPEC_HELP)
    add_env_options(r)
    r.set_defaults(func=run_render)

    s = jobs.add_parser("submit", help="apply the rendered job with kubectl",
                        description="Render the job and pipe it to 'kubectl apply -f -' on the current kubectl "
                                    "context (or --context). Nothing is applied when no context is configured.",
                        epilog="Get a context with: gcloud container clusters get-credentials CLUSTER "
                               "--region REGION --project PROJECT")
    s.add_argument("spec", metavar="SPEC", help=SPEC_HELP)
    add_env_options(s)
    s.add_argument("--context", help="kubectl context to use (default: the current context)")
    s.add_argument("--dry-run", action="store_true",
                   help="let the API server validate and admit the objects (kubectl apply --dry-run=server) "
                        "without creating them")
    s.set_defaults(func=run_submit)


def run_render(args: argparse.Namespace) -> int:
    """``gkeml job render``."""
    sys.stdout.write(rendered_yaml(args))
    return EXIT_OK


def kubectl_context(kubectl: str, requested: str | None) -> str | None:
    """The context kubectl would use (``requested`` if it exists), or None when there is none."""
    if requested:
        names = subprocess.run([kubectl, "config", "get-contexts", "-o", "name"],
                               capture_output=True, text=True, timeout=30).stdout.split()
        return requested if requested in names else None
    found = subprocess.run([kubectl, "config", "current-context"], capture_output=True, text=True, timeout=30)
    return (found.stdout.strip() or None) if found.returncode == 0 else None


def run_submit(args: argparse.Namespace) -> int:
    """``gkeml job submit``: render, then ``kubectl apply -f -`` when a context is configured."""
    manifest = rendered_yaml(args)
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        print("gkeml job submit: kubectl not found on PATH; install it or use 'gkeml job render' "
              "and apply the YAML yourself", file=sys.stderr)
        return EXIT_USAGE
    context = kubectl_context(kubectl, args.context)
    if context is None:
        which = f"context {args.context!r} does not exist" if args.context else "no current kubectl context"
        print(f"gkeml job submit: {which}; run 'gcloud container clusters get-credentials CLUSTER --region REGION "
              "--project PROJECT' or pass --context (nothing was applied)", file=sys.stderr)
        return EXIT_USAGE
    command = [kubectl, "--context", context, "apply", "-f", "-"]
    if args.dry_run:
        command.insert(4, "--dry-run=server")
    done = subprocess.run(command, input=manifest, text=True)
    if done.returncode != 0:
        print(f"gkeml job submit: kubectl apply failed (exit {done.returncode}) on context {context}", file=sys.stderr)
        return EXIT_FINDINGS
    return EXIT_OK
