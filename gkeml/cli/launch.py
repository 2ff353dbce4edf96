"""``gkeml launch template``: the W&B Launch queue config of a job spec."""

from __future__ import annotations

import argparse
import sys

import yaml

from gkeml.cli.job import EXIT_OK, SPEC_HELP, add_env_options, environment
from gkeml.cli.output import print_json


def register(sub) -> None:
    """Add ``gkeml launch template``."""
    p = sub.add_parser("launch", help="W&B Launch helpers",
                       description="Helpers for the W&B Launch agent (Helm chart launch-agent).",
                       epilog="Exit codes: 0 success, 2 spec/config error.")
    actions = p.add_subparsers(dest="launch_command", metavar="ACTION", required=True)
    t = actions.add_parser(
        "template", help="print the Kubernetes queue config (resource_args) for a job spec",
        description="Print the W&B Launch queue config for Kubernetes: resource_args.kubernetes holds the same "
                    "Job 'gkeml job render' produces (named <name>-${run_id}), so the agent and a human submit "
                    "identical pods. Paste it as the queue's configuration. Single-node jobs only.")
    t.add_argument("spec", metavar="SPEC", help=SPEC_HELP)
    add_env_options(t)
    t.add_argument("--format", choices=("yaml", "json"), default="yaml", help="output format (default: %(default)s)")
    t.set_defaults(func=run_template)


def run_template(args: argparse.Namespace) -> int:
    """``gkeml launch template``."""
    from gkeml.jobs import launch_template, load_job_spec

    env = environment(args)
    config = launch_template(load_job_spec(args.spec, env), env)
    if args.format == "json":
        print_json(config)
    else:
        sys.stdout.write(yaml.safe_dump(config, sort_keys=False, default_flow_style=False))
    return EXIT_OK
