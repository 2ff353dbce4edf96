"""``gkeml init DIR``: a platform repository of the team's own, pinned to this gkeml release."""

from __future__ import annotations

from gkeml.cli.output import add_command

DESCRIPTION = """\
Write a new platform repository into DIR (new or empty): it depends on the installed gkeml
release from PyPI, not on a checkout of gkeml.

  cdktf.json, main.py            the cdktf app: gkeml.synth.main over environments/
  environments/dev.yaml          gkeml's example environment (replace its acme values)
  bootstrap/                     the bootstrap app and dev's bootstrap file
  schema/                        the environment files' JSON Schema (editors)
  requirements/gkeml.txt         gkeml[CDK]==VERSION; `make lock` adds the hash-locked file
  Makefile                       make synth, make test, make check, deploy, bootstrap, lock
  .github/workflows/             gkeml's pull-request and deploy workflows
  package.json, README.md, .gitignore, .github/dependabot.yml

Nothing is written when DIR exists and is not empty, and nothing is left behind on a failure.
"""

EPILOG = """\
examples:
  gkeml init ml-platform                 on cdktf 0.21 (the default)
  gkeml init ml-platform --cdk cdktn     on CDK Terrain

Exit codes: 0 written, 2 usage error (DIR not empty, unknown framework).
"""


HELP = "write a new platform repository pinned to this gkeml release"


def register(sub) -> None:
    """Add the ``init`` subcommand."""
    p = add_command(sub, "init", HELP, DESCRIPTION, EPILOG)
    p.add_argument("directory", metavar="DIR", help="where to write it (new or empty)")
    p.add_argument(
        "--cdk",
        choices=("cdktf", "cdktn"),
        default="cdktf",
        help="framework: cdktf 0.21 (default) or cdktn (CDK Terrain)",
    )
    p.set_defaults(func=run)


def run(args) -> int:
    """Write the repository and say what to do next."""
    from gkeml.scaffold import scaffold, write

    made = scaffold(args.cdk)
    where = write(args.directory, made)
    print(f"gkeml: wrote {len(made.files)} files into {where} (gkeml {made.version}, {made.cdk})")
    print("next, in that directory:")
    for i, step in enumerate(made.next_steps, 1):
        print(f"  {i}. {step}")
    return 0
