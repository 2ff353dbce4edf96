"""``gkeml cost ENV``: what an environment costs per month, Autopilot versus Standard,
and (``--against REF``) how a change moves it, as markdown for a pull-request comment."""

from __future__ import annotations

import sys

from gkeml.cli.output import add_command, print_json, warn
from gkeml.exitcodes import CommandError

FORMATS = ("table", "json", "markdown")
EPILOG = """\
what is priced:
  cluster fee and free-tier credit; each inference service from HPA min to max
  replicas for hours_per_day; each training budget (nodes x hours_per_day x
  days_per_month); buckets (expected_size_gib x storage class); endpoints
  (global static IP + forwarding rules); the registry (storage, scans), a DNS zone
  the environment creates, monitoring samples and alert conditions. The budget
  (budget section) is shown under the table, with the items it rests on that use
  unconfirmed prices. Not priced: network egress, load-balancer data
  processing, Cloud NAT, logging volume, persistent disks.

free-tier credit:
  one per billing account: the environments of --environments whose
  budget.billing_account is the same split it evenly (their estimates add up to
  what the account pays). A derived budget never counts on it: it watches one
  project, and Google applies the credit to whichever cluster it chooses.

Standard comparison:
  the same Pods bin-packed onto the price table's standard.general_machine
  (GPU Pods: one node of the cheapest fitting machine each), plus an always-on
  system node; regional Standard clusters get no free-tier credit.

capacity ladder:
  every workload priced on each rung of its ComputeClass (reservation, Spot,
  on-demand, flex-start), with the share of its hours each is expected to serve
  (gkeml/cost/capacity.json: dated discounts and stated availability
  assumptions; --capacity FILE for your own). --commit 1y|3y adds a committed-
  use what-if: flexible CUDs for Pods, resource-based CUDs for GPU VMs, only
  where a workload runs past the break-even (an estimate, never a quote).

examples:
  gkeml cost dev
  gkeml cost prod --commit 3y
  gkeml cost prod --format json
  gkeml cost staging --against origin/main > cost-comment.md
  gkeml cost dev --prices my-prices.json --no-free-tier

exit codes: 0 estimate printed, 2 unknown environment, config or price-table error."""


HELP = "monthly cost of an environment: Autopilot vs Standard, and the change of a PR"
DESCRIPTION = (
    "Estimate what environment ENV costs per month on GKE Autopilot (list prices of the dated "
    "price table), next to the same workloads on a Standard cluster. With --against REF, print "
    "the monthly change against the environment file at a git ref, as markdown."
)


def register(sub) -> None:
    """Add the ``cost`` subcommand."""
    p = add_command(sub, "cost", HELP, DESCRIPTION, EPILOG)
    p.add_argument("env", metavar="ENV", help="environment name: the file ENV.yaml in --environments")
    p.add_argument("--format", choices=FORMATS, default="table", help="output format (default: %(default)s)")
    p.add_argument(
        "--prices",
        metavar="FILE",
        help="price table to use instead of the shipped gkeml/cost/prices.json (same layout)",
    )
    p.add_argument(
        "--commit",
        choices=("1y", "3y"),
        help="add a committed-use what-if for this term to the capacity ladder (an estimate)",
    )
    p.add_argument(
        "--capacity",
        metavar="FILE",
        help="capacity table (discounts, rung availability) instead of the shipped gkeml/cost/capacity.json",
    )
    p.add_argument(
        "--against",
        metavar="REF",
        help="git ref (branch, tag, commit) to compare with: prints the Autopilot monthly delta and the "
        "budget before and after, as markdown for a pull-request comment (--format json: as data)",
    )
    p.add_argument(
        "--environments",
        metavar="DIR",
        default="environments",
        help="directory of <env>.yaml files (default: %(default)s)",
    )
    p.add_argument(
        "--no-free-tier",
        dest="free_tier",
        action="store_false",
        help="do not subtract the GKE free-tier credit (a cluster outside these environments uses it)",
    )
    p.set_defaults(func=run)


def run(args) -> int:
    """Print the estimate (or the delta); CostError is a usage error (exit 2)."""
    from gkeml.cost import CostError, delta_dict, estimate, load_prices, render_delta, render_markdown, render_table
    from gkeml.cost.ladder import ladder, load_capacity, render_ladder, render_ladder_markdown
    from gkeml.environments import (
        billing_account_sharers,
        billing_account_sharers_at,
        environment_at,
        environment_file,
        load_environment,
    )

    path = environment_file(args.environments, args.env)
    env = load_environment(path)
    prices = load_prices(args.prices)
    capacity = load_capacity(args.capacity)
    try:
        current = estimate(env, prices, free_tier=args.free_tier, credit_shared_with=billing_account_sharers(path, env))
        if args.against:
            old_env = environment_at(path, args.against)
            before = None
            if old_env is not None:
                sharers = billing_account_sharers_at(path, args.against, old_env)
                before = estimate(old_env, prices, free_tier=args.free_tier, credit_shared_with=sharers)
            if args.format == "json":
                print_json(delta_dict(before, current, args.against))
            else:
                sys.stdout.write(render_delta(before, current, args.against))
            return 0
        rungs = ladder(env, prices, capacity, args.commit)
    except CostError as exc:
        raise CommandError(f"{path}: {exc}") from None
    for warning in current.warnings:
        warn(args, warning)
    if args.format == "json":
        print_json({**current.to_dict(), "ladder": rungs.to_dict()})
    elif args.format == "markdown":
        sys.stdout.write(render_markdown(current))
        sys.stdout.write(render_ladder_markdown(rungs))
    else:
        sys.stdout.write(render_table(current))
        sys.stdout.write(render_ladder(rungs))
    return 0
