"""``gkeml doctor ENV``: is the live cluster what the config says, and is the toolchain usable?"""

from __future__ import annotations

from gkeml.cli.output import (
    add_command,
    add_endpoint_option,
    add_environment_arguments,
    add_format_option,
    add_request_timeout_option,
    print_json,
    progress,
    table,
)
from gkeml.exitcodes import CommandError
from gkeml.text import one_line

DESCRIPTION = """\
Compare the live GKE cluster of ENV with environments/ENV.yaml and check the local toolchain.

Project (Cloud Resource Manager v3, projects.get): project.number is the number of
project.id (Workload Identity principal:// members name the project by number: a wrong
one grants nothing). A project that cannot be read is a warning.

Cluster (read with google-cloud-container, REST): exists and RUNNING, Autopilot on,
release channel, private nodes, DNS endpoint open to external traffic (IAM-guarded),
IP endpoint enabled == cluster.public_endpoint, authorized networks, node zones,
Workload Identity pool, and a master version GKE offers for the channel in the
region (server config). Toolchain: terraform, node, and the cdktf CLI pinned in
package.json (node_modules/.bin/cdktf).

Public hosts (Compute Engine REST + DNS): each host's A record points at its static IP,
and its Google-managed certificate is ACTIVE. Capacity preflight: the region's GPU and
vCPU quotas (regions.get) against the environment's peak (every HPA at max_replicas,
every training budget at once, Spot and ComputeClass fallbacks on both quotas): which
quota to raise before a deploy that would leave Pods Pending (docs/doctor.md).

Credentials: Application Default Credentials (gcloud auth application-default login);
the caller needs roles/container.clusterViewer (it has resourcemanager.projects.get too) and
roles/compute.viewer. Deletion
protection is a Terraform-side setting the GKE API does not report, so it is not compared.
"""

EPILOG = """\
exit codes: 0 no drift, 1 drift (or a tool missing/too old), 2 configuration,
credential or API problem (one line of advice on stderr: an API that cannot be reached,
or whose answer is too slow, larger than 32 MiB or not what the API sends).
What an API sends is printed with control characters escaped.

examples:
  gkeml doctor dev
  gkeml doctor prod --format json
  gkeml doctor dev --endpoint http://127.0.0.1:8080   # a local GKE REST server, no credentials sent
  gkeml doctor dev --dns-server 8.8.8.8               # ask one resolver instead of the system's
"""


HELP = "compare the live cluster with the config; check terraform/node/cdktf"


def register(sub) -> None:
    """Add the ``doctor`` subcommand."""
    p = add_command(sub, "doctor", HELP, DESCRIPTION, EPILOG)
    add_environment_arguments(p)
    add_endpoint_option(p)
    add_endpoint_option(p, "--compute-endpoint", "Compute Engine")
    add_endpoint_option(p, "--resource-manager-endpoint", "Cloud Resource Manager")
    p.add_argument(
        "--dns-server",
        metavar="IP[:PORT]",
        help="resolve the public hosts through this DNS server only (default: the system's resolver)",
    )
    p.add_argument(
        "--no-services",
        dest="services",
        action="store_false",
        help="skip the project number, DNS, certificate and quota checks",
    )
    p.add_argument(
        "--no-toolchain",
        dest="toolchain",
        action="store_false",
        help="skip the terraform/node/cdktf checks (e.g. on a machine that only inspects)",
    )
    add_request_timeout_option(p)
    add_format_option(p)
    p.set_defaults(func=run)


def run(args) -> int:
    """Load ENV, run the checks, print the report; the exit code follows the worst finding."""
    from gkeml.answers import Limits
    from gkeml.doctor import diagnose
    from gkeml.environments import environment_file, load_environment

    path = environment_file(args.environments, args.env)
    env = load_environment(path)
    if args.format == "table":
        progress(f"doctor: reading {env.name} ({env.project.id}, {env.project.region})")
    report = diagnose(
        env,
        endpoint=args.endpoint,
        toolchain=args.toolchain,
        compute_endpoint=args.compute_endpoint,
        dns_server=args.dns_server,
        services=args.services,
        resource_manager_endpoint=args.resource_manager_endpoint,
        env_file=str(path),
        limits=Limits.within(args.request_timeout),
    )
    if args.format == "json":
        print_json(report.to_dict())
    else:
        _print_table(report)
    if report.error:  # the report says it too (json: "error", "exit_code")
        raise CommandError(report.error, report.exit_code, reported=True)
    return report.exit_code


def _print_table(report) -> None:
    print(f"{report.environment}: {report.cluster}")
    if report.checks:
        rows = [(c.area, c.name, c.status.upper(), c.expected, c.live) for c in report.checks]
        print(table(rows, ("AREA", "CHECK", "STATUS", "EXPECTED", "LIVE")))
    advice = [c for c in report.checks if c.advice]
    for c in advice:
        print(one_line(f"- {c.name}: {c.advice}"))
    drift = sum(c.status == "drift" for c in report.checks)
    warn = sum(c.status == "warn" for c in report.checks)
    if report.error:
        print("not every part was checked (see the error below)")
    else:
        print(f"{drift} drift, {warn} warning(s), {len(report.checks) - drift - warn} ok")
