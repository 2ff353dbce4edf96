"""``gkeml job explain SPEC --env ENV``: for each capacity rung, does the job fit, what blocks it, what it costs
(:mod:`gkeml.doctor.explain`); ``--live`` adds what the cluster says about the spec's newest run."""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable
from typing import Any

from gkeml.cli.output import add_command, add_format_option, add_request_timeout_option, print_json
from gkeml.exitcodes import CommandError

EPILOG = """\
rungs: the spec's ComputeClass's capacity, in order (reservation, spot, on-demand,
flex-start); without a class, spot, on-demand and flex-start (GPU jobs), the ones
the spec does not choose shown as alternatives. Each rung is checked as a
submission landing there would be: the Autopilot maxima of its GPU, the team's
ResourceQuota, its ClusterQueue with what it may borrow, flex-start's 7-day limit,
Spot's 25 s termination grace and checkpoints, the region's GPU quota (from
--quota-snapshot FILE or --read-quota, else unknown), and priced per hour (list
prices, capacity.json).

exit codes: 0 the job fits on a rung it may land on; 1 it fits on none (or, with
--live or --read-quota, the cluster or Compute Engine refused or failed); 2 spec,
environment, snapshot or usage error, or no usable kubectl context.

examples:
  gkeml job explain examples/jobs/single-gpu.yaml --env dev
  gkeml job explain examples/jobs/single-gpu.yaml --env dev --read-quota --record-quota quota.json
  gcloud compute regions describe us-central1 --project P --format json > quota.json   # the same file
  gkeml job explain examples/jobs/multi-node-ddp.yaml --env dev --quota-snapshot quota.json --format json
  gkeml job explain examples/jobs/multi-node-ddp.yaml --env dev --live
"""


HELP = "why a job would not run: each capacity rung, what blocks it, its cost per hour"
DESCRIPTION = (
    "For each capacity rung the job may land on, say whether it fits and, if not, what blocks it (Autopilot "
    "maxima, team quota, ClusterQueue and borrowing, region GPU quota, flex-start run limit, Spot grace) and what "
    "the job costs per hour there. Offline; --live adds the Kueue workload's conditions and the events of the "
    "spec's newest run."
)


def add_explain(
    jobs,
    env_options: Callable[[argparse.ArgumentParser], None],
    environment_with_file: Callable[[argparse.Namespace], tuple[Any, str | None]],
    api_of: Callable[[argparse.Namespace, Any], Any],
) -> None:
    """Add ``gkeml job explain`` to ``gkeml job``'s actions, with the job command's own --env options, environment
    loading and cluster API (passed in: this module never imports :mod:`gkeml.cli.job`)."""
    p = add_command(jobs, "explain", HELP, DESCRIPTION, EPILOG)
    p.add_argument("spec", metavar="SPEC", help="job spec YAML (see examples/jobs/ and docs/jobs.md)")
    env_options(p)
    p.add_argument(
        "--quota-snapshot",
        metavar="FILE",
        help="the region's quotas as Compute Engine returns them (gcloud compute regions describe REGION "
        "--format json); without it the region's GPU quota is unknown",
    )
    p.add_argument(
        "--read-quota",
        action="store_true",
        help="read the region's quotas from Compute Engine now (regions.get, as gkeml doctor's preflight does; "
        "Application Default Credentials with compute.regions.get)",
    )
    p.add_argument(
        "--record-quota",
        metavar="FILE",
        help="with --read-quota: also write what Compute Engine answered to FILE, for --quota-snapshot later",
    )
    p.add_argument(
        "--compute-endpoint",
        metavar="URL",
        help="Compute Engine API base URL (default: Google's). http:// only to loopback, and then without credentials",
    )
    p.add_argument("--live", action="store_true", help="also read the run's Kueue workload and events")
    p.add_argument("--run", metavar="NAME", help="with --live: this run's Job (default: the spec's newest run)")
    p.add_argument("--context", help="with --live: kubectl context to use (default: the current context)")
    add_request_timeout_option(p)
    add_format_option(p)
    p.set_defaults(func=functools.partial(run_explain, environment_with_file=environment_with_file, api_of=api_of))


def run_explain(
    args: argparse.Namespace,
    environment_with_file: Callable[[argparse.Namespace], tuple[Any, str | None]],
    api_of: Callable[[argparse.Namespace, Any], Any],
) -> int:
    """Explain the spec; the exit code says whether it fits on a rung it may land on."""
    from gkeml.doctor.explain import EXIT_NOWHERE, explain, live_facts, load_for_explain, load_quota_snapshot, render
    from gkeml.jobs.cluster import ClusterError
    from gkeml.jobs.lifecycle import name_problem
    from gkeml.text import one_line

    if not args.env:
        raise CommandError("--env ENV is required (the rungs, quotas and queues are the environment's)")
    if args.run is not None and name_problem(args.run):
        raise CommandError(f"--run {args.run!r} is not a Kubernetes name ({name_problem(args.run)})")
    env, env_file = environment_with_file(args)
    assert env is not None
    spec = load_for_explain(args.spec)
    quotas, source = None, ""
    if args.quota_snapshot and args.read_quota:
        raise CommandError("--quota-snapshot or --read-quota, not both")
    if args.record_quota and not args.read_quota:
        raise CommandError("--record-quota FILE needs --read-quota")
    if args.quota_snapshot:
        quotas = load_quota_snapshot(args.quota_snapshot, env)
        source = f"from {args.quota_snapshot}"
    elif args.read_quota:
        from gkeml.answers import Limits
        from gkeml.doctor.explain import read_region_quotas
        from gkeml.doctor.preflight import DoctorError

        try:
            quotas = read_region_quotas(
                env, args.compute_endpoint, Limits.within(args.request_timeout), args.record_quota
            )
        except DoctorError as exc:
            raise CommandError(one_line(str(exc)), EXIT_NOWHERE) from None
        source = f"read from Compute Engine ({env.project.region})" + (
            f", recorded in {args.record_quota}" if args.record_quota else ""
        )
    result = explain(spec, env, env_file, quotas, source)
    if args.live:
        try:
            api = api_of(args, env)
            try:
                result.live = live_facts(api, spec, args.run)
            finally:
                api.connection.close()
        except ClusterError as exc:
            raise CommandError(one_line(str(exc)), exc.exit_code) from None
    if args.format == "json":
        print_json(result.to_dict())
    else:
        sys.stdout.write(render(result))
    return result.exit_code
