"""``gkeml destroy ENV``: tear an environment down, in-cluster layer first, then the cloud layer.

Outside dev it refuses unless the environment file says ``retired: true`` (the same change drops
the protections that make Terraform itself refuse: prevent_destroy on data, deletion protection).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from gkeml.cli.output import add_command
from gkeml.exitcodes import CommandError, ExitCode

EPILOG = """\
order: `cdktf destroy ENV ENV-k8s` destroys ENV-k8s first (it depends on ENV): Ingresses are deleted
and waited for (their finalizer removes the load balancer), then the objects in each namespace, then
the namespaces, then the cloud layer (IPs, certificates, cluster, buckets, network).

exit codes: 0 destroyed (or printed with --dry-run), 1 cdktf failed, 2 refused or configuration error."""


HELP = "destroy an environment: in-cluster layer, then cloud layer"
DESCRIPTION = (
    "Destroy ENV's two stacks with the cdktf CLI. Outside tier dev the environment "
    "file must say `retired: true` (reviewed like any deletion)."
)


def register(sub) -> None:
    """Add the ``destroy`` subcommand."""
    p = add_command(sub, "destroy", HELP, DESCRIPTION, EPILOG)
    p.add_argument("env", metavar="ENV")
    p.add_argument(
        "--environments",
        default="environments",
        metavar="DIR",
        help="directory of <env>.yaml files (default: %(default)s)",
    )
    p.add_argument("--auto-approve", action="store_true", help="do not ask before destroying (CI)")
    p.add_argument("--dry-run", action="store_true", help="print the command instead of running it")
    p.set_defaults(func=run)


def destroy_command(env: str, auto_approve: bool = False) -> list[str]:
    """The cdktf command that destroys ``env`` (its in-cluster stack first)."""
    return ["node_modules/.bin/cdktf", "destroy", env, f"{env}-k8s", *(["--auto-approve"] if auto_approve else [])]


def run(args) -> int:
    """Refuse a protected environment; otherwise run (or print) the destroy."""
    from gkeml.environments import environment_file, load_environment

    path = environment_file(args.environments, args.env)
    env = load_environment(path)
    if env.protected:
        raise CommandError(
            f"{path}: {env.name} is tier {env.tier}; its data is protected. To tear it down, "
            f"set `retired: true` in {path}, deploy that change (it lifts the protections), then run this "
            "again (nothing was destroyed)"
        )
    command = destroy_command(env.name, args.auto_approve)
    if args.dry_run:
        print(" ".join(command))
        return ExitCode.OK
    if not Path(command[0]).exists() or shutil.which("terraform") is None:
        raise CommandError("needs the cdktf CLI (make install) and terraform on PATH (nothing was destroyed)")
    done = subprocess.run(command, env={**os.environ, "GKEML_QUIET": "1"})
    return ExitCode.OK if done.returncode == 0 else ExitCode.FINDINGS
