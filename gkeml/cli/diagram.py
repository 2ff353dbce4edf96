"""``gkeml diagram ENV``: a Mermaid flowchart of an environment, from the synthesized output."""

from __future__ import annotations

import sys

from gkeml.cli.output import add_command

DESCRIPTION = """\
Print a Mermaid flowchart of ENV drawn from cdktf.out/stacks/ENV/cdk.tf.json and, when
synthesized, cdktf.out/stacks/ENV-k8s/cdk.tf.json: VPC, subnet, router and NAT; the
cluster; buckets, secrets and project roles with the identities IAM grants them to;
static IPs and certificates; namespaces, service accounts, workloads, Services and
Ingresses. Run `make synth` first. GitHub renders ```mermaid blocks in pull requests
and Markdown files (--format markdown writes one).
"""

EPILOG = """\
exit codes: 0 printed, 2 no synthesized output for ENV.

examples:
  gkeml diagram dev > env.mmd
  gkeml diagram prod --format markdown >> pr-comment.md
"""


HELP = "Mermaid flowchart of an environment from cdktf.out"


def register(sub) -> None:
    """Add the ``diagram`` subcommand."""
    p = add_command(sub, "diagram", HELP, DESCRIPTION, EPILOG)
    p.add_argument("env", metavar="ENV", help="environment (stack) name, e.g. dev")
    p.add_argument("--out", default="cdktf.out", help="synthesized output directory (default: %(default)s)")
    p.add_argument(
        "--environments",
        default="environments",
        metavar="DIR",
        help="directory of <env>.yaml files; a warning when one is newer than the output (default: %(default)s)",
    )
    p.add_argument(
        "--format",
        choices=("mermaid", "markdown"),
        default="mermaid",
        help="bare Mermaid source, or a ```mermaid fenced block (default: %(default)s)",
    )
    p.set_defaults(func=run)


def run(args) -> int:
    """Print the diagram; a missing, partial or malformed stack is one line on stderr and exit 2."""
    from gkeml.diagram import DiagramError, load, render, stack_files
    from gkeml.synth import stale_warning

    try:
        cloud, k8s = load(args.out, args.env)
        text = render(
            cloud,
            k8s,
            title=f"gkeml environment {args.env}",
            sources=tuple(str(p) for p in stack_files(args.out, args.env)),
        )
    except DiagramError as exc:
        print(f"gkeml diagram: {exc}", file=sys.stderr)
        return 2
    warning = stale_warning(args.out, [args.environments])
    if warning:
        print(f"gkeml diagram: {warning}", file=sys.stderr)
    sys.stdout.write(f"```mermaid\n{text}```\n" if args.format == "markdown" else text)
    return 0
