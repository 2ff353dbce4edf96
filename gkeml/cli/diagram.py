"""``gkeml diagram ENV``: a picture of an environment, from the synthesized output."""

from __future__ import annotations

import sys

from gkeml.cli.output import add_command, print_json, warn

FORMATS = ("mermaid", "markdown", "svg", "dot", "json")

DESCRIPTION = """\
Draw ENV from cdktf.out/stacks/ENV/cdk.tf.json and, when synthesized,
cdktf.out/stacks/ENV-k8s/cdk.tf.json: VPC, subnet, router and NAT; the cluster;
buckets, secrets and project roles with the identities IAM grants them to; static
IPs and certificates; namespaces, service accounts, workloads, Services and
Ingresses. Run `make synth` first.

formats (one diagram, five writers):
  mermaid   Mermaid flowchart source (default); GitHub renders ```mermaid blocks in
            pull requests and Markdown files
  markdown  the same in a ```mermaid fenced block
  svg       a picture: laid out by Graphviz (the WebAssembly build in the npm package
            @viz-js/viz, which `make install` puts into node_modules; needs node)
  dot       Graphviz DOT source, for your own Graphviz (dot -Tpng)
  json      the nodes (id, label, shape, group), groups and edges (from, to, label,
            dotted), and the resource types not drawn
"""

EPILOG = """\
exit codes: 0 printed, 2 no synthesized output for ENV (or a malformed one), or --format
svg without node or @viz-js/viz.

examples:
  gkeml diagram dev > env.mmd
  gkeml diagram dev --format svg > dev.svg
  gkeml diagram prod --format markdown >> pr-comment.md
  gkeml diagram dev --format json | jq '.edges[] | select(.label | test("storage"))'
"""


HELP = "diagram of an environment from cdktf.out: Mermaid, SVG, DOT or JSON"


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
    p.add_argument("--format", choices=FORMATS, default="mermaid", help="output format (default: %(default)s)")
    p.set_defaults(func=run)


def run(args) -> int:
    """Print the diagram; a missing, partial or malformed stack is a usage error (exit 2)."""
    from gkeml.diagram import build, load, stack_files, svg
    from gkeml.synth import stale_warning

    cloud, k8s = load(args.out, args.env)
    graph = build(cloud, k8s, sources=tuple(str(p) for p in stack_files(args.out, args.env)))
    title = f"gkeml environment {args.env}"
    warning = stale_warning(args.out, [args.environments])
    if warning:
        warn(args, warning)
    if args.format == "json":
        print_json(graph.to_dict(title))
    elif args.format == "svg":
        sys.stdout.write(svg(graph.dot(title)))
    elif args.format == "dot":
        sys.stdout.write(graph.dot(title))
    else:
        text = graph.render(title)
        sys.stdout.write(f"```mermaid\n{text}```\n" if args.format == "markdown" else text)
    return 0
