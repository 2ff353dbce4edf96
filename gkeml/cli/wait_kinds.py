"""``gkeml wait-kinds ENV``: wait until the cluster serves the kinds GKE installs that ENV-k8s plans."""

from __future__ import annotations

from pathlib import Path

from gkeml.cli.output import add_command, add_endpoint_option, add_environment_arguments, progress
from gkeml.exitcodes import CommandError, ExitCode

MAX_WAIT_SECONDS = 86400  # a day: a cluster that serves its kinds later than that is broken, not slow

DESCRIPTION = """\
Wait until the live cluster of ENV serves every custom resource kind that GKE installs itself
(ComputeClass, BackendConfig, FrontendConfig, ManagedCertificate; SecretProviderClass and
SecretSync of the Secret Manager add-on) and that the synthesized in-cluster stack ENV-k8s
plans. GKE installs them some time after it creates the cluster, and kubernetes_manifest needs
a kind at plan time (first-apply fact TF008): `make deploy` runs this between the two stacks.

The cluster is found through the GKE API (its DNS endpoint, as the in-cluster providers use it)
and asked through Kubernetes discovery (GET /apis/GROUP/VERSION). Credentials: Application
Default Credentials with container.clusters.get and container.clusters.connect.
"""

EPILOG = """\
exit codes: 0 every kind is served (or the stack plans none), 1 still missing at the timeout,
2 configuration, credential or API problem (one line of advice on stderr).

examples:
  gkeml wait-kinds dev
  gkeml wait-kinds prod --timeout 3600
  gkeml wait-kinds dev --server http://127.0.0.1:8001   # a local API server, no credentials sent
"""


HELP = "wait until the cluster serves the kinds GKE installs that ENV-k8s plans (make deploy runs it)"


def register(sub) -> None:
    """Add the ``wait-kinds`` subcommand."""
    from gkeml.doctor.kinds import DEFAULT_INTERVAL_SECONDS, DEFAULT_TIMEOUT_SECONDS

    p = add_command(sub, "wait-kinds", HELP, DESCRIPTION, EPILOG)
    add_environment_arguments(p)
    p.add_argument(
        "--synth-dir", default="cdktf.out", help="synthesized output to read ENV-k8s from (default: %(default)s)"
    )
    p.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT_SECONDS, help="seconds to wait at most (default: %(default)g)"
    )
    p.add_argument(
        "--interval", type=float, default=DEFAULT_INTERVAL_SECONDS, help="seconds between polls (default: %(default)g)"
    )
    add_endpoint_option(p)
    p.add_argument(
        "--server",
        metavar="URL",
        help="Kubernetes API server base URL (default: the cluster's DNS endpoint, read from the GKE API). "
        "http:// only to loopback, and then without credentials",
    )
    p.set_defaults(func=run)


def run(args) -> int:
    """Read ENV-k8s, find the cluster, poll; 0 when every kind is served."""
    from gkeml.doctor.api import RestApi, cluster_client
    from gkeml.doctor.kinds import cluster_server, planned_cluster_kinds, wait_for_kinds
    from gkeml.environments import environment_file, load_environment
    from gkeml.naming import Names
    from gkeml.stackfile import read_stack

    env = load_environment(environment_file(args.environments, args.env))
    stack_name = Names.of(env).k8s_stack
    path = Path(args.synth_dir) / "stacks" / stack_name / "cdk.tf.json"
    if not (0 <= args.timeout <= MAX_WAIT_SECONDS and 0 < args.interval <= MAX_WAIT_SECONDS):  # NaN too
        raise CommandError(f"--timeout must be 0 to {MAX_WAIT_SECONDS:,} and --interval more than 0 and at most that")
    kinds = planned_cluster_kinds(read_stack(path))  # a missing or broken file: ConfigError, exit 2
    if not kinds:
        progress(f"wait-kinds: {stack_name} plans no kind GKE installs; nothing to wait for")
        return ExitCode.OK
    # DoctorError (credentials, API): exit 2
    server = args.server or cluster_server(env, cluster_client(args.endpoint))
    api = RestApi(server, args.server, "--server", "Kubernetes")
    progress(f"wait-kinds: asking {server} for {len(kinds)} kind(s) {stack_name} plans")
    missing = wait_for_kinds(api, kinds, timeout=args.timeout, interval=args.interval, progress=progress)
    if missing:
        raise CommandError(
            f"after {args.timeout:g}s the cluster still does not serve {', '.join(f'{v} {k}' for v, k in missing)}; "
            f"check the cluster's add-ons (`gkeml doctor {env.name}`) and run again",
            ExitCode.FINDINGS,
        )
    progress(f"wait-kinds: the cluster serves every kind {stack_name} plans")
    return ExitCode.OK
