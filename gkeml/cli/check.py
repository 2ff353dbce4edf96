"""``gkeml check``: Autopilot admission rules, the security baseline and checkov, as a CI gate; ``--fail-on``
sets the severity that fails it, ``--target`` the cluster the objects are for, ``--own`` the files whose
baseline findings are errors."""

from __future__ import annotations

from pathlib import Path

from gkeml.cli import EXIT_FINDINGS, EXIT_OK
from gkeml.cli.output import add_command, progress, warn

DESCRIPTION = """\
Check Kubernetes objects against GKE Autopilot's admission rules and the gkeml
security baseline (rules GKE001..., listed in docs/policy.md), and the
synthesized Terraform with checkov.

Without FILES: every object the toolkit produces for each environment (the
in-cluster layer, its extensions' objects, the Helm releases of the synthesized
stacks, and every canonical job in --jobs rendered for that environment); the
synthesized stacks in --synth-dir for the first-apply order (TF001-TF008) and
against the permission model, with what the environment's extensions bring
(IAM001-IAM003); and checkov over every stack (run `make synth` first, or pass
--no-checkov).

With FILES: only the objects in those YAML files (multi-document files and
kind: List are fine; - reads standard input, so a chart or an overlay is checked
before it is installed: helm template REL CHART | gkeml check -, kustomize build |
gkeml check -); checkov is not run. Only regular files are read: a pipe such as
<(kustomize build) is refused (pipe it to - instead). Each file may have 16 MiB, all
files together too. A template left unrendered is one line saying so (exit 2).

Findings are facts or advice. An error is what Autopilot refuses or what will not
run; a warning what Autopilot (or a controller) changes, so you pay for or get
something other than the file says; advice is gkeml's: the security baseline and
explicit requests. The baseline is advice on others' manifests (their images may
need root) and an error on the toolkit's own output and on what a team marks as
its own: files given with --own, and objects annotated gkeml.io/own: "true".
--target standard checks objects for a GKE Standard cluster: no Autopilot-only
rule runs. On Autopilot, an object written for Standard (a node-pool selector, a
node agent with host access, kube-system) gets one finding, "targets GKE Standard",
and a workload a partner's allowlist admits (label
cloud.google.com/matching-allowlist) is not reported as refused.
"""

EPILOG = """\
examples:
  gkeml check                              everything, table output
  gkeml check k8s/*.yaml                   your own manifests
  gkeml check --format github              annotations on the pull request
  gkeml check --format sarif > gkeml.sarif upload to code scanning
  gkeml check --against origin/main       also what the change breaks on the next deploy
  gkeml check --server-config sc.json     GKE features against GKE's own channel versions today
  gkeml check --classes cc.yaml k8s/*.yaml with the cluster's ComputeClasses

  helm template rel chart | gkeml check -  a third-party chart before it is installed
  gkeml check --own k8s/app.yaml vendor/*.yaml   your file under the baseline, the vendor's advised

Exit codes: 0 nothing at or above --fail-on (default: error), 1 a finding at or
above it (or checkov failures), 2 usage or configuration error (bad YAML, a template
left unrendered, unknown environment, a GKE feature the environment's release
channel does not serve yet, checkov missing, a malformed cdktf.out, a bootstrap
file that does not grant what the environment needs). Notices never fail: GKE081
(a workload a workload allowlist admits), ENV001 (an environment's tier_override or
guard_overrides), ENV002 (an inference service with one replica, availability
best-effort) and GKE075 (a custom ComputeClass neither FILES nor --classes define)
are reported on every run without failing it, and so is REL001 when --against REF
pins an older gkeml than this one (the upgrade notes to read); REF pinning a newer
one fails. A warning on stderr when cdktf.out was synthesized
by another gkeml release or is older than the environment files or the toolkit, or has no stacks
(the Helm releases' objects and the first-apply order are then not checked).
"""


HELP = "check manifests against Autopilot rules and run checkov on the Terraform"


def register(sub) -> None:
    """Add the ``check`` subcommand."""
    from gkeml.registry import ERROR, SEVERITIES
    from gkeml.rules.engine import AUTOPILOT, TARGETS
    from gkeml.rules.report import FORMATS

    p = add_command(sub, "check", HELP, DESCRIPTION, EPILOG)
    p.add_argument(
        "files",
        nargs="*",
        metavar="FILE",
        help="Kubernetes manifest files to check instead of the toolkit's output (-: standard input)",
    )
    p.add_argument("--env", action="append", metavar="ENV", help="only this environment (repeatable; default: all)")
    p.add_argument(
        "--environments",
        default="environments",
        metavar="DIR",
        help="directory of <env>.yaml files (default: %(default)s)",
    )
    p.add_argument(
        "--bootstrap",
        metavar="DIR",
        help="directory of the bootstrap files each environment is checked against: a role its stacks grant "
        "that ci.grantable_roles lacks, or a classic identity missing from classic_identities, is an error "
        "(default: bootstrap beside --environments, when it exists)",
    )
    p.add_argument(
        "--jobs",
        default="examples/jobs",
        metavar="DIR",
        help="canonical job specs rendered for every environment (default: %(default)s)",
    )
    p.add_argument(
        "--synth-dir",
        default="cdktf.out",
        metavar="DIR",
        help="synthesized output to run checkov on (default: %(default)s)",
    )
    p.add_argument(
        "--format",
        choices=FORMATS,
        default="table",
        help="table (default), json, github (workflow annotations) or sarif (code scanning)",
    )
    p.add_argument("--no-checkov", action="store_true", help="skip checkov over the synthesized Terraform")
    p.add_argument(
        "--fail-on",
        choices=SEVERITIES,
        default=ERROR,
        help="fail (exit 1) on findings of this severity or graver: error (default: what Autopilot refuses or "
        "will not run), warning (also what it changes), advice (also gkeml's advice)",
    )
    p.add_argument(
        "--target",
        choices=TARGETS,
        default=AUTOPILOT,
        help="the cluster the objects are for: autopilot (default) or standard (no Autopilot-only rule runs)",
    )
    p.add_argument(
        "--own",
        action="append",
        default=[],
        metavar="FILE",
        help="a manifest file of your own, checked with FILES: the security baseline is an error on it, not "
        'advice (repeatable; an object annotated gkeml.io/own: "true" is yours in any file)',
    )
    p.add_argument(
        "--server-config",
        metavar="FILE",
        help="check the GKE features each environment uses against the release channels of this recorded server "
        "config (`gcloud container get-server-config --location REGION --format json`) instead of the versions "
        "gkeml ships (gkeml.platform.CHANNEL_VERSIONS)",
    )
    p.add_argument(
        "--classes",
        action="append",
        metavar="FILE",
        help="ComputeClass definitions the checked Pods may select (e.g. kubectl get computeclass -o yaml): a Pod "
        "on a custom class neither FILES nor this defines is reported as not checked (GKE075); other objects in "
        "FILE are ignored (repeatable)",
    )
    p.add_argument(
        "--against",
        metavar="REF",
        help="also check each environment's change from its file at git REF (what is deployed, e.g. "
        "origin/main): certificates or IPs the deployed Ingress still uses, data a rename deletes, and the "
        "gkeml release REF pins against this one",
    )
    p.set_defaults(func=run)


def _environments(args) -> list:
    """The environments to check (all of --environments, or those named by --env)."""
    from gkeml.config import ConfigError, ConfigProblem
    from gkeml.environments import load_environments

    envs = load_environments(args.environments)
    if args.env:
        known = [e.name for e in envs]
        unknown = [n for n in args.env if n not in known]
        if unknown:
            raise ConfigError(
                [
                    ConfigProblem(
                        args.environments,
                        0,
                        "--env",
                        f"unknown environment {', '.join(unknown)}; defined: {', '.join(known)}",
                    )
                ]
            )
        envs = [e for e in envs if e.name in args.env]
    return envs


def _check_bootstraps(args, envs: list) -> dict:
    """Each environment against its bootstrap file (ConfigError, exit 2, on a role its stacks grant that
    the deploy identity may not grant, and any other disagreement); a warning for each without one. The
    bootstrap of each environment that has one."""
    from gkeml.environments import check_bootstraps

    return check_bootstraps(envs, args.environments, args.bootstrap, lambda line: warn(args, line))


def _toolkit_groups(args, envs: list) -> list[list]:
    """One group of manifests per environment: in-cluster objects, Helm releases, rendered jobs."""
    from gkeml.toolkit import toolkit_group

    job_files = sorted(Path(args.jobs).glob("*.yaml"))
    return [
        toolkit_group(env, str(Path(args.environments) / f"{env.name}.yaml"), job_files, Path(args.synth_dir))
        for env in envs
    ]


def _transition_findings(args, envs: list) -> list:
    """What each environment's change since ``--against REF`` would break on the next deploy."""
    from gkeml.environments import environment_at
    from gkeml.lifecycle.transitions import transition_findings

    found = []
    for env in envs:
        env_file = str(Path(args.environments) / f"{env.name}.yaml")
        previous = environment_at(env_file, args.against)
        if previous is not None:  # a new environment has nothing deployed to break
            found += transition_findings(env_file, previous, env)
    return found


def _release_findings(args) -> tuple[list, list]:
    """(notices, findings) of the gkeml release the change moves to: REF pins one release, the change runs
    another. A newer one is a notice naming the upgrade notes to read; an older one a finding (its deploy
    would undo what the newer release changed)."""
    from gkeml.release import git_root, release_finding, version_at
    from gkeml.rules import ERROR

    root = git_root(Path(args.environments).resolve())
    found = version_at(args.against, root) if root else None
    finding = release_finding(args.against, *found) if found else None
    if finding is None:
        return [], []
    return ([], [finding]) if finding.severity == ERROR else ([finding], [])


def _notices(args, envs: list) -> list:
    """What each environment file chose on purpose, reported on every run without failing it (ENV001: its
    overrides; ENV002: services that accept downtime), so the choice stays visible."""
    from gkeml.config.checks import environment_notices

    return [f for env in envs for f in environment_notices(env, str(Path(args.environments) / f"{env.name}.yaml"))]


def _with_classes(groups: list[list], files: list[str]) -> tuple[list[list], set[str]]:
    """Each group with the ComputeClasses of ``files`` it does not define itself (the rules read them: which
    nodes a Pod that selects one gets), and the sources of those added: they are the cluster's, read and not
    checked."""
    from gkeml.rules import load_manifest_files

    classes = [m for m in load_manifest_files(files) if m.obj.get("kind") == "ComputeClass"]
    out, added = [], set()
    for group in groups:
        defined = {_name(m.obj) for m in group if m.obj.get("kind") == "ComputeClass"}
        sources = {m.source for m in group}
        extra = [m for m in classes if _name(m.obj) not in defined and m.source not in sources]
        added |= {m.source for m in extra}
        out.append(group + extra)
    return out, added


def _name(obj: dict) -> object:
    metadata = obj.get("metadata")
    return metadata.get("name") if isinstance(metadata, dict) else None


def _permission_findings(args, envs: list, boots: dict) -> list:
    """The permission model as a gate (IAM001-IAM003) over the synthesized stacks of each environment, with
    what its extensions bring, and the service accounts its bootstrap (in ``boots``, when it has one) creates."""
    from gkeml.config.extensions import extension_permissions, permission_entries
    from gkeml.iam.extensions import extended
    from gkeml.iam.gate import gate_problems
    from gkeml.iam.identities import deploy_identity, plan_identity
    from gkeml.iam.model import load_model, load_roles
    from gkeml.naming import Names
    from gkeml.stackfile import read_stack

    findings = []
    for env in envs:
        names = Names.of(env)
        files = {s: Path(args.synth_dir, "stacks", s, "cdk.tf.json") for s in (names.cloud_stack, names.k8s_stack)}
        stacks = {s: read_stack(f) for s, f in files.items() if f.exists()}
        granted = extension_permissions(env)
        problems = gate_problems(
            stacks,
            extended(load_model(), permission_entries(env)),
            deploy_identity(boots.get(env.name), extensions=granted.deploy, env=env),
            plan_identity(granted.plan),
            load_roles(),
        )
        findings += [p.finding(str(files[p.stack])) for p in problems]
    return findings


def run(args) -> int:
    """Check, print in the chosen format, and return 0 (clean), 1 (findings) or 2 (usage error)."""
    from gkeml.config.versions import load_server_config, using_channels

    with using_channels(load_server_config(args.server_config) if args.server_config else None):
        return _run(args)


def _run(args) -> int:
    from gkeml.checkov import extension_skips, run_checkov, stack_files
    from gkeml.cli.output import output_width
    from gkeml.registry import CHECKS
    from gkeml.rules import check, load_manifest_files
    from gkeml.rules.report import RENDERERS, failing
    from gkeml.stackfile import read_stack
    from gkeml.synth import stale_warning

    notices = []
    boots: dict = {}
    files = bool(args.files or args.own)
    if files:
        groups = [load_manifest_files(args.files, own=args.own)]
    else:
        envs = _environments(args)
        boots = _check_bootstraps(args, envs)
        notices = _notices(args, envs)
        groups = _toolkit_groups(args, envs)
        warning = stale_warning(args.synth_dir, [args.environments])
        if warning:
            warn(args, warning)
    objects = sum(len(g) for g in groups)
    added: set[str] = set()
    if args.classes:
        groups, added = _with_classes(groups, args.classes)
    findings = [f for group in groups for f in check(group, target=args.target, own=not files) if f.source not in added]
    notices += [f for f in findings if f.rule in CHECKS and CHECKS[f.rule].notice]
    findings = [f for f in findings if not (f.rule in CHECKS and CHECKS[f.rule].notice)]
    if not files and args.against:
        findings += _transition_findings(args, envs)
        release_notices, release_findings = _release_findings(args)
        notices += release_notices
        findings += release_findings
    if not files and Path(args.synth_dir, "stacks").is_dir():  # the first-apply order and the permissions
        from gkeml.config.extensions import resource_apis
        from gkeml.lifecycle.order import order_findings

        findings += order_findings(args.synth_dir, apis=resource_apis(envs))
        findings += _permission_findings(args, envs, boots)
    elif not files:
        warn(
            args,
            f"no synthesized stacks in {args.synth_dir}: the Helm releases' objects and the "
            "first-apply order are not checked; run `gkeml synth` (or `make synth`) first",
        )
    report = None
    if not files and not args.no_checkov:
        progress(f"running checkov on {args.synth_dir}/stacks")
        for stack in stack_files(args.synth_dir):
            read_stack(stack)  # a malformed or partial output is a clear error, not checkov's traceback
        report = run_checkov(args.synth_dir, extra_skips=extension_skips(envs))  # CheckovError: exit 2
    extra = {"width": output_width()} if args.format == "table" else {}
    print(RENDERERS[args.format](notices + findings, objects, report, fail_on=args.fail_on, **extra))
    return EXIT_FINDINGS if failing(findings, args.fail_on) or (report is not None and not report.ok) else EXIT_OK
