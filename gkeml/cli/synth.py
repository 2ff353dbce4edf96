"""``gkeml synth``: synthesize every environment (what ``make synth`` runs)."""

from __future__ import annotations

import os


def register(sub) -> None:
    p = sub.add_parser(
        "synth",
        help="synthesize all environments into cdktf.out (atomic)",
        description="Synthesize every environment file into Terraform JSON. "
        "Exit 2 on configuration errors; the previous output is kept on any failure. "
        "OUT must be new, empty or a previous synth output: synth replaces the whole "
        "directory, so it refuses any other (nothing is deleted).",
    )
    p.add_argument("--environments", default="environments", help="directory of <env>.yaml files")
    p.add_argument(
        "--bootstrap",
        metavar="DIR",
        help="directory of the bootstrap files each environment is checked against (default: bootstrap beside "
        "--environments, when it exists); an environment without one is synthesized with a warning",
    )
    p.add_argument("--out", default="cdktf.out", help="output directory (default: %(default)s)")
    p.set_defaults(func=run)


def run(args) -> int:
    from gkeml.synth import run as synth

    return synth(
        args.environments, args.out, "--out", quiet=os.environ.get("GKEML_QUIET") == "1", bootstrap=args.bootstrap
    )
