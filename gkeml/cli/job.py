"""``gkeml job``: render a job spec, submit it, and follow it on the cluster.

``render`` is offline. ``submit``, ``list``, ``status``, ``logs``, ``wait`` and ``delete`` talk
to the cluster with the official ``kubernetes`` client through the kubeconfig context; with
``--env`` that context must be the environment's cluster (:mod:`gkeml.jobs.cluster`).
"""

from __future__ import annotations

import argparse
import functools
import re
import sys
import time

from gkeml import platform
from gkeml.cli import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE
from gkeml.cli.output import (
    add_command,
    add_format_option,
    add_request_timeout_option,
    print_json,
    progress,
    table,
    warn,
)
from gkeml.config import ConfigError, ConfigProblem, Environment
from gkeml.environments import environment_file, load_environment_among
from gkeml.exitcodes import CommandError
from gkeml.jobs.lifecycle import MANAGED_SELECTOR, name_problem
from gkeml.text import TerminalText, one_line

SPEC_HELP = "job spec YAML (see examples/jobs/ and docs/jobs.md)"
RUN_NAME = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")  # always fullmatch: "run\n" is no name (DNS-1123)
# The longest wait (--timeout, --interval): a job may queue for days, not for ever (time.sleep refuses more).
MAX_SECONDS = 30 * 86400

EPILOG = """\
exit codes: 0 success; 1 the cluster refused or failed (job failed, not found, unreachable, an
answer too slow, too large or not what the Kubernetes API sends); 2 spec/config error, a name
that is not a Kubernetes name, or no usable kubectl context (nothing is sent to the cluster);
130/143 interrupted by SIGINT/SIGTERM (the job itself keeps running).

Every request has a timeout (--request-timeout, default 60 s for a whole answer; for a log
stream, the silence after which gkeml checks the container still runs), every answer a size
limit (32 MiB), and what the cluster sends is printed with control characters escaped.

With --env ENV the kubectl context must be ENV's cluster (the context 'get-credentials' writes,
gke_PROJECT_REGION_CLUSTER); otherwise the command refuses and prints the exact
'gcloud container clusters get-credentials ...' command for ENV.

examples:
  gkeml job render examples/jobs/single-gpu.yaml --env dev
  gkeml job explain examples/jobs/single-gpu.yaml --env dev
  gkeml job submit examples/jobs/single-gpu.yaml --env dev --wait
  gkeml job list --env dev
  gkeml job status research/finetune-l4-x7k2p --env dev
  gkeml job logs research/finetune-l4-x7k2p --env dev --follow
  gkeml job delete research/finetune-l4-x7k2p --env dev
"""

# render asks no cluster: its exit codes are those of reading a spec
RENDER_EPILOG = """\
exit codes: 0 rendered (warnings, if any, on stderr); 2 spec/config error (nothing printed on
stdout); 130/143 interrupted by SIGINT/SIGTERM. Nothing is sent to a cluster.

examples:
  gkeml job render examples/jobs/single-gpu.yaml --env dev
  gkeml job render examples/jobs/multi-node-ddp.yaml --env dev --format json | kubectl apply -f -
"""


def add_env_options(parser: argparse.ArgumentParser) -> None:
    """--env and --environments, shared with ``gkeml launch``."""
    parser.add_argument(
        "--env",
        metavar="ENV",
        help="environment whose namespace, identity (Workload Identity KSA), bucket names and cluster "
        "to use; without it logical bucket names are refused and the current context is used",
    )
    parser.add_argument(
        "--environments",
        default="environments",
        metavar="DIR",
        help="directory of <env>.yaml files (default: %(default)s)",
    )


def environment_with_file(args: argparse.Namespace) -> tuple[Environment | None, str | None]:
    """The environment named by --env and its file, or (None, None); ConfigError lists the available ones."""
    if not args.env:
        return None, None
    path = environment_file(args.environments, args.env, field="--env")
    # with its siblings' registries: an image of another environment's registry its nodes cannot pull is refused
    return load_environment_among(path), str(path)


def environment(args: argparse.Namespace) -> Environment | None:
    """The environment named by --env, or None."""
    return environment_with_file(args)[0]


def load_spec(args: argparse.Namespace):
    """(spec checked against --env, environment or None); what the rules warn about in its pod (Autopilot
    changes it) goes to stderr, ``file:line: field: message`` like an error."""
    from gkeml.jobs import load_job_spec

    env, env_file = environment_with_file(args)
    spec = load_job_spec(args.spec, env, env_file)
    for warning in spec.warnings:
        warn(args, str(warning))
    return spec, env


HELP = "render, submit and follow ML training jobs"
DESCRIPTION = (
    "Turn a short job spec into an Autopilot-ready Kubernetes object (a Job, or a JobSet "
    "for multi-node DDP), submit it, and follow it on the cluster: queue admission and priority "
    "(Kueue), pods per index, preemptions, restarts, exit codes."
)
RENDER_HELP = "print the Kubernetes YAML (or JSON) of a job spec"
RENDER_DESCRIPTION = (
    "Print every Kubernetes object of the job, in apply order, on stdout: as YAML documents, or "
    "(--format json) as one JSON object of kind List, which kubectl apply -f - takes as it is."
)


def register(sub) -> None:
    """Add ``gkeml job`` and its actions."""
    p = add_command(sub, "job", HELP, DESCRIPTION, EPILOG)
    jobs = p.add_subparsers(dest="job_command", metavar="ACTION", required=True)

    r = add_command(jobs, "render", RENDER_HELP, RENDER_DESCRIPTION, RENDER_EPILOG)
    r.add_argument("spec", metavar="SPEC", help=SPEC_HELP)
    add_env_options(r)
    add_format_option(r, ("yaml", "json"))
    r.set_defaults(func=run_render)

    s = _cluster_parser(
        jobs,
        "submit",
        "create the job on the cluster",
        "Render the job and create its Job (or JobSet) with the Kubernetes API. Each submission is a new "
        "run named <name>-<5 random characters> (or --name).",
    )
    s.add_argument("spec", metavar="SPEC", help=SPEC_HELP)
    s.add_argument("--name", help="name of this run's Job or JobSet (default: the spec's name plus a random suffix)")
    s.add_argument(
        "--dry-run",
        action="store_true",
        help="server-side dry run: the API server validates and admits the objects without creating them",
    )
    s.add_argument(
        "--wait", action="store_true", help="follow the job to completion (progress on stderr); exit 1 if it fails"
    )
    _add_wait_options(s)
    s.set_defaults(func=run_submit)

    ls = _cluster_parser(
        jobs,
        "list",
        "list the jobs gkeml submitted",
        "List gkeml's Jobs and JobSets (label app.kubernetes.io/managed-by=gkeml), newest first: state, "
        "pods, preemptions, queue and Kueue admission.",
    )
    ls.add_argument(
        "--team", metavar="TEAM", help="only this team's namespace (default: every team of --env, or all namespaces)"
    )
    ls.set_defaults(func=run_list)

    st = _job_parser(
        jobs,
        "status",
        "show one job: admission, pods per index, preemptions, exit codes",
        "Show a Job or JobSet: its state, Kueue admission (or 'no Kueue'), a JobSet's whole-group restarts, and "
        "every pod by completion index with restarts, preemption (DisruptionTarget) and the trainer's exit code.",
    )
    st.set_defaults(func=run_status)

    lg = _job_parser(
        jobs,
        "logs",
        "print the trainer's log",
        "Print the trainer container's log of the job's newest pod of the lowest index (or --index, --pod, --all).",
    )
    lg.add_argument("--index", type=int, help="the newest pod of this completion index")
    lg.add_argument("--pod", help="this pod")
    lg.add_argument("--all", action="store_true", help="the newest pod of every index")
    lg.add_argument("--tail", type=int, metavar="N", help="only the last N lines")
    lg.add_argument(
        "--follow",
        "-f",
        action="store_true",
        help="stream the log until the container ends (one pod; not with --format json)",
    )
    lg.add_argument("--timeout", type=_seconds, metavar="SECONDS", help="with --follow: stop after this long (exit 1)")
    lg.add_argument(
        "--raw",
        action="store_true",
        help="write the log's bytes as the container wrote them; by default control characters other "
        "than newline, tab, carriage return and colours are shown escaped (\\x1b...), so a log cannot "
        "drive the terminal",
    )
    lg.set_defaults(func=run_logs)

    w = _job_parser(
        jobs,
        "wait",
        "wait until the job succeeds or fails",
        "Poll the job, print a progress line on stderr whenever it changes, and exit 0 when it "
        "succeeds, 1 when it fails or --timeout passes.",
    )
    _add_wait_options(w)
    w.set_defaults(func=run_wait)

    d = _job_parser(
        jobs,
        "delete",
        "delete the job and its pods",
        "Delete one Job or JobSet gkeml created (its pods go with it; a JobSet's Job and headless Service too), "
        "and the headless Service of a multi-node run of an earlier gkeml. Each object "
        f"is read first and deleted only if it carries the label {MANAGED_SELECTOR}, by name, with its "
        "uid as a precondition (a same-named object created since is left alone); never a whole "
        "collection. Without --env the same holds, in the given or current context, namespace from "
        "TEAM/, --team, the context, or default.",
    )
    d.set_defaults(func=run_delete)

    from gkeml.cli.job_explain import add_explain

    add_explain(jobs, add_env_options, environment_with_file, _api)


def _cluster_parser(jobs, name: str, help_text: str, description: str) -> argparse.ArgumentParser:
    p = add_command(jobs, name, help_text, description, EPILOG)
    add_env_options(p)
    p.add_argument("--context", help="kubectl context to use (default: the current context)")
    add_request_timeout_option(p)
    add_format_option(p)
    return p


def _job_parser(jobs, name: str, help_text: str, description: str) -> argparse.ArgumentParser:
    p = _cluster_parser(jobs, name, help_text, description)
    p.add_argument("job", metavar="[TEAM/]NAME", help="the run's Job or JobSet name, e.g. research/finetune-l4-x7k2p")
    p.add_argument(
        "--team",
        metavar="TEAM",
        help="the job's team namespace (default: TEAM/ of the name, else the context's namespace, else default)",
    )
    return p


def _seconds(text: str) -> float:
    """A number of seconds from 0 to :data:`MAX_SECONDS` (argparse type): not NaN, not infinite."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= MAX_SECONDS:  # False for NaN too
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds (0 to {MAX_SECONDS:,})")
    return value


def _add_wait_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--timeout", type=_seconds, metavar="SECONDS", help="give up after this long (exit 1)")
    p.add_argument(
        "--interval",
        type=_seconds,
        default=10.0,
        metavar="SECONDS",
        help="seconds between polls (default: %(default)s)",
    )


# -- render ---------------------------------------------------------------------------------------


def rendered_objects(args: argparse.Namespace) -> list[dict]:
    """Load the spec (checked against --env) and render all its objects, in apply order."""
    from gkeml.jobs import render

    spec, env = load_spec(args)
    return render(spec, env)


def run_render(args: argparse.Namespace) -> int:
    """``gkeml job render``: YAML documents, or a ``v1 List`` of the objects as JSON."""
    from gkeml.manifests import to_yaml

    objects = rendered_objects(args)
    if args.format == "json":
        print_json({"apiVersion": "v1", "kind": "List", "items": objects})
    else:
        sys.stdout.write(to_yaml(objects))
    return EXIT_OK


# -- talking to the cluster ---------------------------------------------------------------------


def _on_cluster(run):
    """A verb ``run(args, env, api)`` on the checked context of --env (or the given/current one). A
    ClusterError ends it with that error's exit code (printed by :func:`gkeml.cli.main`)."""

    @functools.wraps(run)
    def verb(args: argparse.Namespace) -> int:
        _check_names(args)  # a name that is not one is refused before the kubeconfig is read
        env = environment(args)
        api = _api(args, env)
        try:
            return run(args, env, api)
        finally:
            api.connection.close()

    return verb


def _api(args: argparse.Namespace, env: Environment | None):
    """The API of the checked context, with the request timeout of ``--request-timeout``."""
    from gkeml.answers import Limits
    from gkeml.jobs.cluster import connect
    from gkeml.jobs.lifecycle import Api

    return Api(connect(env, args.context, f"gkeml job {args.job_command}"), Limits.within(args.request_timeout))


def _check_names(args: argparse.Namespace) -> None:
    """The names given on the command line (job, --team, --pod) are Kubernetes names; ConfigError otherwise."""
    if getattr(args, "job", None) is not None:
        _job_argument(args)
    elif getattr(args, "team", None) is not None:
        _check_name(args.team, "--team", "the team")
    pod = getattr(args, "pod", None)
    if pod is not None and name_problem(pod, subdomain=True):
        problem = f"{pod!r} is not a pod name ({name_problem(pod, subdomain=True)}); nothing was sent to the cluster"
        raise ConfigError([ConfigProblem("--pod", 0, "", problem)])


def _job_argument(args: argparse.Namespace) -> tuple[str | None, str]:
    """(team or None, name) of the job argument TEAM/NAME or NAME, and --team; each must be a Kubernetes
    name (an empty one, as ``research/`` gives, is refused before anything is sent)."""
    team, slash, name = args.job.partition("/")
    if not slash:
        team, name = "", args.job
    _check_name(name, "[TEAM/]NAME", "the job's name", args.job)
    if team:
        _check_name(team, "[TEAM/]NAME", "the team", args.job)
    if args.team is not None:
        _check_name(args.team, "--team", "the team")
        if team and team != args.team:
            raise ConfigError([ConfigProblem("--team", 0, "", f"{args.team!r} differs from the team in {args.job!r}")])
    return team or args.team, name


def _namespace(args: argparse.Namespace, env: Environment | None, api) -> tuple[str, str]:
    """(namespace, name) of the job argument: TEAM/NAME, --team, the context's namespace, or 'default'."""
    team, name = _job_argument(args)
    namespace = team or api.connection.context.namespace or "default"
    if not team:
        _check_name(namespace, "context", f"the namespace of context {api.connection.context.name!r}")
    _check_team(namespace, env)
    return namespace, name


def _check_name(value: str, field: str, what: str, given: str | None = None) -> None:
    """ConfigError (exit 2, nothing sent) when ``value`` is not a Kubernetes name."""
    problem = name_problem(value)
    if problem:
        quoted = f" in {given!r}" if given is not None and given != value else ""
        raise ConfigError(
            [
                ConfigProblem(
                    field,
                    0,
                    "",
                    f"{what} {value!r}{quoted} is not a Kubernetes name ({problem}); nothing was sent to the cluster",
                )
            ]
        )


def _check_team(team: str, env: Environment | None) -> None:
    if env is not None and team not in [t.name for t in env.teams]:
        allowed = ", ".join(t.name for t in env.teams) or "none"
        raise ConfigError([ConfigProblem("--team", 0, "", f"unknown team {team!r} in {env.name}; allowed: {allowed}")])


def _next_steps(namespace: str, name: str, env: Environment | None) -> str:
    where = f" --env {env.name}" if env is not None else ""
    return f"follow it: gkeml job wait {namespace}/{name}{where}  (status, logs, delete alike)"


def run_submit(args: argparse.Namespace) -> int:
    """``gkeml job submit``: render, create with the Kubernetes API (or dry-run), optionally wait."""
    from gkeml.jobs import render, unique_name
    from gkeml.jobs.cluster import ClusterError
    from gkeml.jobs.lifecycle import create, gke_version_at_least, server_version
    from gkeml.jobs.spec import max_run_name

    spec, env = load_spec(args)
    longest = max_run_name(spec.nodes)
    if args.name is not None and (not RUN_NAME.fullmatch(args.name) or len(args.name) > longest):
        what = f"JobSet name for {spec.nodes} nodes" if spec.nodes > 1 else "Job name"
        raise ConfigError(
            [
                ConfigProblem(
                    "--name",
                    0,
                    "",
                    f"{args.name!r} is not a {what}: lowercase letters, digits and '-', at most {longest} characters",
                )
            ]
        )
    name = args.name or unique_name(spec.name)
    (run,) = render(spec, env, name)
    if args.wait and args.dry_run:
        raise ConfigError([ConfigProblem("--wait", 0, "", "nothing to wait for after --dry-run; drop one of them")])
    api = _api(args, env)
    try:
        if spec.flex_start:
            version = server_version(api)
            if not gke_version_at_least(version, platform.FLEX_START_MIN_GKE_VERSION):
                raise ClusterError(
                    f"flex_start needs GKE {platform.FLEX_START_MIN_GKE_VERSION} or later; the cluster "
                    f"runs {version or 'an unknown version'} (nothing was created)",
                    EXIT_USAGE,
                )
        created = [create(api, run, args.dry_run)]
        namespace = run["metadata"]["namespace"]
        result: dict = {
            "context": api.connection.context.name,
            "namespace": namespace,
            "name": name,
            "kind": run["kind"],
            "dry_run": args.dry_run,
            "objects": created,
        }
        if args.format == "table":
            verb = "validated (server-side dry run, nothing created)" if args.dry_run else "created"
            for line in created:
                print(one_line(f"{verb}: {line}"))
            if not args.dry_run and not args.wait:
                print(_next_steps(namespace, name, env))
        if not args.wait:
            if args.format == "json":
                print_json(result)
            return EXIT_OK
        state, timed_out = _follow(api, namespace, name, args)
        result["state"] = state.to_dict()
        if args.format == "json":
            print_json(result)
        else:
            _print_status(state)
        return _wait_exit(state, timed_out, args)
    finally:
        api.connection.close()


def _follow(api, namespace: str, name: str, args: argparse.Namespace):
    from gkeml.jobs.lifecycle import wait

    started = time.monotonic()

    def show(state) -> None:
        elapsed = int(time.monotonic() - started)
        progress(f"[{elapsed // 60:d}:{elapsed % 60:02d}] {state.progress()}")

    return wait(api, namespace, name, args.interval, args.timeout, show)


def _wait_exit(state, timed_out: bool, args: argparse.Namespace) -> int:
    """0 when the job succeeded, 1 when it failed; after --timeout, a CommandError (exit 1) saying so (the
    output printed already holds the state)."""
    if timed_out:
        raise CommandError(
            f"{state.namespace}/{state.name} still {state.state} after {args.timeout:g} s", EXIT_FINDINGS, reported=True
        )
    return EXIT_OK if state.state == "Succeeded" else EXIT_FINDINGS


@_on_cluster
def run_list(args: argparse.Namespace, env: Environment | None, api) -> int:
    """``gkeml job list``."""
    from gkeml.jobs.lifecycle import list_states

    if args.team:
        _check_team(args.team, env)
    namespaces = [args.team] if args.team else ([t.name for t in env.teams] if env is not None else None)
    states = list_states(api, namespaces)
    if args.format == "json":
        print_json({"context": api.connection.context.name, "jobs": [s.to_dict() for s in states]})
        return EXIT_OK
    if not states:
        where = ", ".join(namespaces) if namespaces else "any namespace"
        say(f"no gkeml jobs in {where} (context {api.connection.context.name})")
        return EXIT_OK
    rows = [
        (
            s.namespace,
            s.name,
            s.spec or "",
            s.state,
            f"{s.succeeded}/{s.completions}",
            s.active,
            s.failed,
            s.preempted,
            s.queue or "",
            s.admission.summary() if s.queue or s.admission.workload else "",
            s.created or "",
        )
        for s in states
    ]
    print(
        table(
            rows,
            ("TEAM", "JOB", "SPEC", "STATE", "DONE", "ACTIVE", "FAILED", "PREEMPTED", "QUEUE", "ADMISSION", "CREATED"),
            align="lllllrrrlll",
        )
    )
    return EXIT_OK


def _print_status(state) -> None:
    """The status for humans; what the API sent is escaped (:func:`gkeml.text.one_line`, tables too)."""
    details = ", ".join(part for part in (f"spec {state.spec}" if state.spec else "", state.kind) if part != "Job")
    say(
        f"job {state.namespace}/{state.name}"
        + (f" ({details})" if details else "")
        + f": {state.state}"
        + (
            f" ({state.reason}: {state.message})"
            if state.reason and state.message
            else f" ({state.reason})"
            if state.reason
            else ""
        )
    )
    say(
        f"  pods: {state.succeeded}/{state.completions} succeeded, {state.active} active ({state.ready} ready), "
        f"{state.failed} failed"
        + (f" (+{state.uncounted_failed} not yet counted)" if state.uncounted_failed else "")
        + f"; preempted: {state.preempted}"
        + (f"; restarts: {state.restarts}" if state.kind == "JobSet" else "")
    )
    say(
        f"  queue: {state.queue or '(none)'}"
        + (f" (priority {state.priority})" if state.priority else "")
        + f"; admission: {state.admission.summary()}"
        + ("; job suspended" if state.suspended else "")
    )
    times = [
        f"{label} {value}"
        for label, value in (("created", state.created), ("started", state.started), ("finished", state.finished))
        if value
    ]
    if times:
        say("  " + ", ".join(times))
    if state.pods:
        rows = [
            (
                p.index if p.index is not None else "-",
                p.name,
                p.phase,
                p.restarts,
                "yes" if p.preempted else "",
                "" if p.exit_code is None else p.exit_code,
                p.reason or "",
                p.node or "",
            )
            for p in state.pods
        ]
        print(
            table(rows, ("INDEX", "POD", "PHASE", "RESTARTS", "PREEMPTED", "EXIT", "REASON", "NODE"), align="rllrlrll")
        )
    else:
        print("  no pods yet")


def say(line: str) -> None:
    """Print one line of output holding what the API sent, escaped."""
    print(one_line(line))


@_on_cluster
def run_status(args: argparse.Namespace, env: Environment | None, api) -> int:
    """``gkeml job status``."""
    from gkeml.jobs.lifecycle import read

    state = read(api, *_namespace(args, env, api))
    if args.format == "json":
        print_json({"context": api.connection.context.name, "job": state.to_dict()})
    else:
        _print_status(state)
    return EXIT_OK


@_on_cluster
def run_logs(args: argparse.Namespace, env: Environment | None, api) -> int:
    """``gkeml job logs``."""
    from gkeml.jobs.lifecycle import FollowTimeout, choose_pods, follow_log, read, read_log

    def refuse(field: str, message: str) -> ConfigError:
        return ConfigError([ConfigProblem(field, 0, "", message)])

    if args.follow and (args.all or args.format == "json"):
        raise refuse("--follow", "streams one pod as text; drop --all / --format json")
    if args.timeout is not None and not args.follow:
        raise refuse("--timeout", "bounds --follow; a log without --follow is read once")
    if args.raw and args.format == "json":
        raise refuse("--raw", "writes the log's bytes as they are; JSON escapes them: drop one of them")
    if args.tail is not None and args.tail < 0:
        raise refuse("--tail", f"{args.tail} is not a number of lines (0 or more)")
    state = read(api, *_namespace(args, env, api))
    pods = choose_pods(state, args.index, args.pod, args.all)
    out = LogOutput(args.raw)
    if args.follow:
        deadline = None if args.timeout is None else time.monotonic() + args.timeout
        try:
            for chunk in follow_log(api, state.namespace, pods[0].name, args.tail, deadline):
                out.write(chunk)
        except FollowTimeout:
            out.end()
            raise CommandError(f"{pods[0].name} still running after {args.timeout:g} s", EXIT_FINDINGS) from None
        out.end()
        return EXIT_OK
    logs = [(p, *read_log(api, state.namespace, p.name, args.tail)) for p in pods]
    if args.format == "json":
        print_json(
            {
                "job": f"{state.namespace}/{state.name}",
                "logs": [
                    {"pod": p.name, "index": p.index, "log": data.decode("utf-8", "replace"), "cut": cut}
                    for p, data, cut in logs
                ],
            }
        )
    for p, data, cut in logs:
        if args.format != "json":
            if len(logs) > 1:
                say(f"==> {p.name} (index {p.index}) <==")
            out.write(data)
            out.end(newline=True)
        if cut:
            warn(
                args,
                f"the log of {p.name} is longer than {api.limits.size // 2**20} MiB and was cut there; --tail N shows its end",
            )
    return EXIT_OK


class LogOutput:
    """Where ``gkeml job logs`` writes a log: through :class:`gkeml.text.TerminalText` (control characters
    escaped, colours kept), or the bytes as they are with ``--raw``."""

    def __init__(self, raw: bool):
        self.raw = raw
        self.text = TerminalText()
        self.last = "\n"

    def write(self, data: bytes) -> None:
        buffer = getattr(sys.stdout, "buffer", None)
        if self.raw and buffer is not None:
            sys.stdout.flush()
            buffer.write(data)
            buffer.flush()
            text = data[-1:].decode("latin-1")
        else:
            text = data.decode("utf-8", "replace") if self.raw else self.text.feed(data)
            sys.stdout.write(text)
            sys.stdout.flush()
        self.last = text[-1:] or self.last

    def end(self, newline: bool = False) -> None:
        """The log ended: what was held back, and a newline if it did not end with one (``newline``)."""
        if not self.raw:
            rest = self.text.feed(b"", final=True)
            sys.stdout.write(rest)
            self.last = rest[-1:] or self.last
            self.text = TerminalText()
        if newline and self.last != "\n":
            sys.stdout.write("\n")
            self.last = "\n"
        sys.stdout.flush()


@_on_cluster
def run_wait(args: argparse.Namespace, env: Environment | None, api) -> int:
    """``gkeml job wait``."""
    namespace, name = _namespace(args, env, api)
    state, timed_out = _follow(api, namespace, name, args)
    if args.format == "json":
        print_json({"context": api.connection.context.name, "timed_out": timed_out, "job": state.to_dict()})
    else:
        _print_status(state)
    return _wait_exit(state, timed_out, args)


@_on_cluster
def run_delete(args: argparse.Namespace, env: Environment | None, api) -> int:
    """``gkeml job delete``."""
    from gkeml.jobs.lifecycle import delete

    deleted = delete(api, *_namespace(args, env, api))
    if args.format == "json":
        print_json({"context": api.connection.context.name, "deleted": deleted})
    else:
        for line in deleted:
            say(f"deleted: {line}")
    return EXIT_OK
