"""``gkeml launch template``: the W&B Launch queue config of a job spec."""

from __future__ import annotations

import argparse
import sys

import yaml

from gkeml.cli.job import EXIT_OK, SPEC_HELP, add_env_options, load_spec
from gkeml.cli.output import add_command, print_json

DESCRIPTION = """\
Print the W&B Launch queue configuration for a Kubernetes queue: the same Job 'gkeml job render'
produces, as the bare Job manifest W&B's docs ask you to paste into the queue's Configuration
field (wandb/docs, "Tutorial: Set up W&B Launch on Kubernetes", Configure a queue for
Kubernetes, Kubernetes job spec tab). The agent replaces ${run_id} in it: the Job is named
<name>-${run_id}, and the checkpoint and output folders get /${run_id} appended, so every run
(each run of a sweep) starts from its own empty checkpoint folder. Single-node jobs only.
"""


TEMPLATE_HELP = "print the Kubernetes queue config (the Job manifest) for a job spec"
EPILOG = "Exit codes: 0 success, 2 spec/config error."


def register(sub) -> None:
    """Add ``gkeml launch template``."""
    p = sub.add_parser(
        "launch",
        help="W&B Launch helpers",
        description="Helpers for the W&B Launch agent (Helm chart launch-agent).",
        epilog=EPILOG,
    )
    actions = p.add_subparsers(dest="launch_command", metavar="ACTION", required=True)
    t = add_command(actions, "template", TEMPLATE_HELP, DESCRIPTION, EPILOG)
    t.add_argument("spec", metavar="SPEC", help=SPEC_HELP)
    add_env_options(t)
    t.add_argument("--format", choices=("yaml", "json"), default="yaml", help="output format (default: %(default)s)")
    t.set_defaults(func=run_template)


def run_template(args: argparse.Namespace) -> int:
    """``gkeml launch template``."""
    from gkeml.jobs import launch_template

    spec, env = load_spec(args)
    config = launch_template(spec, env)
    if args.format == "json":
        print_json(config)
    else:
        sys.stdout.write(yaml.safe_dump(config, sort_keys=False, default_flow_style=False))
    return EXIT_OK
