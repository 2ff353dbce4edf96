"""``gkeml env``: the environments in deploy order (what the CI workflows iterate over) and a
new environment copied from an existing one, with every value that must differ marked.

The workflows read the list at run time (``gkeml env list --format json``), so adding an
environment is two files, one bootstrap run and one GitHub environment: no workflow edit.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any, NoReturn

from gkeml.cli.output import add_format_option, print_json, progress, table, warn
from gkeml.config import ConfigError, ConfigProblem, Environment
from gkeml.config.loader import field_name, file_line, read_config_text
from gkeml.config.model import DNS_LABEL, TIER_DEFAULTS
from gkeml.config.registries import registries_of
from gkeml.environments import (
    TIER_ORDER,
    clashes,
    deploy_order,
    load_bootstraps,
    load_environments,
    load_named_environment,
    not_bootstrapped_warning,
    unique_values,
)
from gkeml.exitcodes import CommandError

CHANGE_ME = "CHANGE ME"
PLACEHOLDER = "CHANGE-ME"  # fails the pattern of project ids, numbers, hosts and prefixes: synth stops there
EPILOG = """\
examples:
  gkeml env list
  gkeml env list --format json          # what deploy.yml and pr.yml iterate over
  gkeml env new qa --from staging       # writes environments/qa.yaml and bootstrap/qa.yaml
  gkeml env new qa --from staging --project-id acme-ml-qa --project-number 104857600321 \\
      --host chat=chat.qa.ml.acme.example --queue research-qa
  gkeml env new loadtest --from prod --tier dev --reason "load tests of a prod copy, OPS-42"

Values that must differ between environments (project id and number, public hosts, listed W&B
Launch queues, an explicit name prefix, the project of images in the source's registry) are never
copied: they become CHANGE-ME placeholders marked '# CHANGE ME', which fail `make synth` with
file:line until filled, or take the options above.
An option repeating another environment's value is refused (exit 2), and so is a tier below what the
copy is (its source's tier, or what its name or project id says: prod2, acme-prd01) without --reason.

exit codes: 0 listed / written, 2 usage or configuration error (nothing written)."""


def register(sub) -> None:
    """Add the ``env`` subcommand with ``list`` and ``new``."""
    p = sub.add_parser(
        "env",
        help="list the environments in deploy order; create one from another",
        description="The environments of environments/*.yaml in deploy order (tier dev, staging, prod, then "
        "name), and a new environment copied from an existing one.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.set_defaults(func=lambda args: _usage(p))
    commands = p.add_subparsers(dest="env_command", metavar="COMMAND")

    ls = commands.add_parser(
        "list",
        help="environments in deploy order (the CI matrix)",
        description="Load every environments/*.yaml and its bootstrap/<name>.yaml, check that no two "
        "environments share what must be unique, and print them in deploy order: tier "
        "(dev, staging, prod), then name. Exit 2 on any configuration problem.",
    )
    _dirs(ls)
    add_format_option(ls)
    ls.set_defaults(func=run_list)

    new = commands.add_parser(
        "new",
        help="write environments/NAME.yaml and bootstrap/NAME.yaml from another environment",
        description="Copy environment SOURCE to NAME. What must differ between environments is replaced by a "
        "CHANGE-ME placeholder marked '# CHANGE ME' (or by the options below); the rest is copied.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    new.add_argument("name", metavar="NAME", help="name of the new environment (a DNS label, e.g. qa)")
    new.add_argument("--from", dest="source", metavar="SOURCE", required=True, help="environment to copy")
    new.add_argument(
        "--tier",
        choices=TIER_ORDER,
        help="tier of NAME (default: NAME if it is a tier, else the tier SOURCE is); below that tier needs --reason",
    )
    new.add_argument(
        "--reason",
        metavar="TEXT",
        help="why NAME runs below the tier its source (or its name or project) is: written as tier_override, "
        "which `gkeml check` reports on every run",
    )
    new.add_argument("--project-id", metavar="ID", help="Google Cloud project id of NAME")
    new.add_argument("--project-number", metavar="NUMBER", help="project number of NAME")
    new.add_argument(
        "--host",
        metavar="ENDPOINT=HOST",
        action="append",
        default=[],
        help="public host of an endpoint (repeat per endpoint)",
    )
    new.add_argument(
        "--queue",
        metavar="QUEUE",
        action="append",
        default=[],
        help="W&B Launch queue of NAME (repeat; replaces the queues of SOURCE)",
    )
    _dirs(new)
    new.set_defaults(func=run_new)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _dirs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--environments",
        metavar="DIR",
        default="environments",
        help="directory of <env>.yaml files (default: %(default)s)",
    )
    parser.add_argument(
        "--bootstrap",
        metavar="DIR",
        default="bootstrap",
        help="directory of the bootstrap files (default: %(default)s)",
    )


# --- list ------------------------------------------------------------------------------


def run_list(args) -> int:
    """Print the environments in deploy order; exit 2 on a config problem or a clash between files."""
    from gkeml.config.bootstrap import isolation_problems

    ordered = deploy_order(load_environments(args.environments))
    boots, waiting = load_bootstraps(ordered, args.bootstrap)
    for env in waiting:
        warn(args, not_bootstrapped_warning(env, args.bootstrap))
    envs = [e for e in ordered if e.name in boots]
    rows: list[dict[str, Any]] = [
        {
            "name": env.name,
            "tier": env.tier,
            "project": env.project.id,
            "project_number": env.project.number,
            "region": env.project.region,
            "deploy_environment": boots[env.name].github.deploy_environment,
        }
        for env in envs
    ]
    raise_on(isolation_problems([(Path(args.bootstrap) / f"{r['name']}.yaml", boots[str(r["name"])]) for r in rows]))
    if args.format == "json":
        print_json(rows)
    else:
        print(
            table(
                [[r["name"], r["tier"], r["project"], r["region"], r["deploy_environment"]] for r in rows],
                ["ENV", "TIER", "PROJECT", "REGION", "GITHUB ENVIRONMENT"],
            )
        )
    return 0


def raise_on(problems: list[ConfigProblem]) -> None:
    """Raise the problems as one ConfigError (the CLI prints them and exits 2)."""
    if problems:
        raise ConfigError(problems)


# --- new -------------------------------------------------------------------------------


def run_new(args) -> int:
    """Write environments/NAME.yaml and bootstrap/NAME.yaml from SOURCE (both or neither)."""
    from gkeml.environments import load_bootstrap_of

    env_dir, boot_dir = Path(args.environments), Path(args.bootstrap)
    if not re.fullmatch(DNS_LABEL, args.name):
        return _refuse(
            f"NAME: {args.name!r} is not a DNS label (lowercase letters, digits, '-', starting with a letter)"
        )
    targets = [env_dir / f"{args.name}.yaml", boot_dir / f"{args.name}.yaml"]
    existing = [str(t) for t in targets if t.exists()]
    if existing:
        return _refuse(f"{', '.join(existing)}: already exists; choose another NAME or remove it")
    source = load_named_environment(env_dir, args.source, field="--from")
    source_boot = load_bootstrap_of(boot_dir / f"{args.source}.yaml", source)  # the copy starts from a valid pair
    others = load_environments(env_dir)
    hosts = _hosts(args.host, source)
    if isinstance(hosts, str):
        return _refuse(hosts)
    refused = _taken(args, hosts, others, env_dir)
    if refused:
        return _refuse(refused)

    copy_tier = _copy_tier(args, source)
    if isinstance(copy_tier, str):
        return _refuse(copy_tier)
    tier, override = copy_tier
    env_text, env_todo = new_environment_text(
        read_config_text(env_dir / f"{args.source}.yaml"),
        source,
        args.name,
        tier,
        project_id=args.project_id,
        project_number=args.project_number,
        hosts=hosts,
        queues=args.queue,
        explicit_tier=tier != args.name,
        own_state=source_boot.state_project == source.project.id,
        tier_override=override,
    )
    boot_text, boot_todo = new_bootstrap_text(
        read_config_text(boot_dir / f"{args.source}.yaml"),
        args.source,
        args.name,
        project_id=args.project_id,
        project_number=args.project_number,
    )
    if not env_todo and not boot_todo:  # complete: it must load, with its bootstrap, and clash with nothing
        _check_complete(targets, [env_text, boot_text], others)
    _write_both(targets, [env_text, boot_text])
    progress(f"gkeml: wrote {targets[0]} and {targets[1]} (copied from {args.source})")
    todo = [(targets[0], p, m) for p, m in env_todo] + [(targets[1], p, m) for p, m in boot_todo]
    for path, field, message in todo:
        print(f"{path}:{file_line(path, field)}: {field_name(field)}: {CHANGE_ME}: {message}")
    pulls = pull_todo(next(e for e in others if e.name == args.source), args.name)  # loaded with its siblings
    for field, message in pulls:
        print(f"{targets[0]}:{file_line(targets[0], field)}: {field_name(field)}: {message}")
    steps = [f"fill in the {len(todo)} value(s) marked '# {CHANGE_ME}' above"] if todo else []
    steps += [f"add {args.name} to the readers named above"] if pulls else []
    if steps:
        progress(f"gkeml: {' and '.join(steps)}; `make synth` fails on each until then")
    progress(f"then: make bootstrap-deploy ENV={args.name}, and add the GitHub environment '{args.name}' (docs/ci.md)")
    return 0


def _refuse(message: str) -> NoReturn:
    """End ``gkeml env new`` with ``message`` (printed by gkeml.cli.main in the one error form), exit 2."""
    raise CommandError(message)


def _copy_tier(args, source: Environment) -> tuple[str, dict[str, str] | None] | str:
    """(tier of the copy, its tier_override or None), or the message refusing the options. A copy is at
    least what its source is (a copy of prod is prod) and what its name or project says (prod2,
    acme-prd01); a lower tier needs --reason, written as tier_override with the tier it stands in for."""
    from gkeml.config.model import TIER_RANK
    from gkeml.config.tiers import implied_tier, tier_in_words

    found: list[tuple[str, str]] = [(source.tier, f"the tier of its source {source.name}")]
    implied = implied_tier(source)
    if implied is not None:
        found.append((implied.tier, f"what its source {source.name} is ({implied.says})"))
    for what, value in (("its name", args.name), ("its project id", args.project_id)):
        named = tier_in_words(value) if value else None
        if named is not None:
            found.append((named, f"what {what} {value!r} says"))
    required, why = max(found, key=lambda f: TIER_RANK[f[0]])
    tier = args.tier or (args.name if args.name in TIER_ORDER else required)
    if TIER_RANK[tier] >= TIER_RANK[required]:
        return f"--reason: nothing to override: tier {tier} is not below {required}" if args.reason else (tier, None)
    if args.reason is None:
        return (
            f"{args.name} would run at tier {tier}, below {required}, {why}, and drop its guards; pass "
            f'--tier {required}, or keep {tier} with --reason "why" (written as tier_override, which gkeml check '
            "reports on every run)"
        )
    if not 20 <= len(args.reason) <= 500:
        return "--reason: give the reviewer 20 to 500 characters"
    return tier, {"tier": tier, "instead_of": required, "reason": args.reason}


def _hosts(options: list[str], source: Environment) -> dict[str, str] | str:
    """``--host ENDPOINT=HOST`` options as a dict, or the message refusing them."""
    endpoints = [e.name for e in source.endpoints]
    hosts: dict[str, str] = {}
    for option in options:
        endpoint, sep, host = option.partition("=")
        if not sep or endpoint not in endpoints:
            return (
                f"--host {option!r}: use ENDPOINT=HOST with an endpoint of the source "
                f"({', '.join(endpoints) or 'it has none'})"
            )
        hosts[endpoint] = host
    return hosts


def _taken(args, hosts: dict[str, str], others: list[Environment], env_dir: Path) -> str:
    """The message refusing an option that repeats a value another environment has, or ''."""
    owners = {(u.what, u.value): env.name for env in others for u in unique_values(env)}
    entity = None
    source = next(e for e in others if e.name == args.source)
    if source.launch is not None:
        entity = source.launch.entity
    wanted = [
        ("--project-id", "project id", args.project_id),
        ("--project-number", "project number", args.project_number),
    ]
    wanted += [(f"--host {endpoint}=...", "host", host) for endpoint, host in hosts.items()]
    wanted += [("--queue", "W&B Launch queue", f"{entity}/{queue}") for queue in args.queue]
    for option, what, value in wanted:
        if value is not None and (what, value) in owners:
            shown = value.split("/", 1)[1] if what == "W&B Launch queue" else value
            return (
                f"{option}: {shown!r} is the {what} of {env_dir / owners[(what, value)]}.yaml; "
                f"each environment needs its own"
            )
    return ""


def _yaml():
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    return yaml


def _dump(data: Any, header: list[str], source: str, name: str) -> str:
    """YAML text of ``data`` after ``header``; comments that quote the source's name quote the new one."""
    out = io.StringIO()
    _yaml().dump(data, out)
    lines = [
        line.replace(f"'{source}'", f"'{name}'") if line.lstrip().startswith("#") else line
        for line in out.getvalue().splitlines(keepends=True)
    ]
    return "".join(line + "\n" for line in header) + "".join(lines)


def _split_header(text: str) -> tuple[list[str], str]:
    """The leading comment lines of a file (kept: schema modelines only) and the rest."""
    lines = text.splitlines(keepends=True)
    n = 0
    while n < len(lines) and lines[n].startswith("#"):
        n += 1
    keep = [line.rstrip("\n") for line in lines[:n] if line.startswith("# yaml-language-server:")]
    return keep, "".join(lines[n:])


def _mark(mapping, key: str, value: Any, note: str, todo: list, path: tuple) -> None:
    """Put ``value`` at ``key`` with a '# CHANGE ME: note' comment and record it as to do."""
    mapping[key] = value
    mapping.yaml_add_eol_comment(f"# {CHANGE_ME}: {note}", key)
    todo.append((path, note))


def own_registry_image(image: str, source_project: str, project_id: str) -> str | None:
    """``image`` in the copy's own Artifact Registry when it is in the source's
    (``HOST/SOURCE-PROJECT/...`` -> ``HOST/PROJECT/...``); None for any other image."""
    from gkeml.config.services import IMAGE_IN_REGISTRY

    match = IMAGE_IN_REGISTRY.match(image)
    if match is None or match["project"] != source_project:
        return None
    return image[: match.start("project")] + project_id + image[match.end("project") :]


def pull_todo(source: Environment, name: str) -> list[tuple[tuple, str]]:
    """What the copy ``name`` of ``source`` admits or runs from another environment's registry that its
    nodes could not pull ((field, message naming the readers list to extend)): the source is a reader
    there, the copy is not yet. Images of the source's own registry are not among them (they move)."""
    siblings = registries_of(source)
    if siblings is None:
        return []
    copy = source.model_copy(update={"name": name})
    found: list[tuple[tuple, str | None]] = [
        (("cluster", "binary_authorization", "allowed_images", i), siblings.pattern_problem(copy, pattern))
        for i, pattern in enumerate(source.cluster.binary_authorization.allowed_images)
    ]
    found += [
        (("inference", i, "image"), siblings.image_problem(copy, svc.image))
        for i, svc in enumerate(source.inference)
        if own_registry_image(svc.image, source.project.id, source.project.id) is None
    ]
    return [(field, message) for field, message in found if message]


def hosts_domain(hosts: list[str]) -> str:
    """The deepest domain holding every host (the parent of a single host), '' when there is none
    of at least two labels or a host is missing."""
    if not hosts or not all(hosts):
        return ""
    labels = [h.rstrip(".").split(".") for h in hosts]
    common: list[str] = []
    for parts in zip(*(reversed(h) for h in labels)):
        if len(set(parts)) != 1:
            break
        common.insert(0, parts[0])
    if len(common) == min(len(h) for h in labels):  # a host is the domain itself: take its parent
        common = common[1:]
    return ".".join(common) if len(common) >= 2 else ""


def own_state_bucket(project_id: str) -> str:
    """The state bucket `gkeml env new` gives an environment that keeps its state in its own project."""
    return f"{project_id}-tfstate"


def new_environment_text(
    text: str,
    source: Environment,
    name: str,
    tier: str,
    *,
    project_id: str | None,
    project_number: str | None,
    hosts: dict[str, str],
    queues: list[str],
    explicit_tier: bool,
    own_state: bool,
    tier_override: dict[str, str] | None = None,
) -> tuple[str, list[tuple[tuple, str]]]:
    """environments/NAME.yaml from SOURCE's text, and the (path, note) of each value left to fill in.
    The source's tier_override is its own exception: the copy has ``tier_override`` or none."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    from gkeml.config.tiers import guard_applies

    keep, body = _split_header(text)
    data = _yaml().load(body)
    todo: list[tuple[tuple, str]] = []
    data["name"] = name
    if explicit_tier or tier_override:
        if "tier" in data:
            data["tier"] = tier
        else:
            data.insert(
                list(data).index("name") + 1,
                "tier",
                tier,
                comment=f"copied from {source.name}; defaults (deletion protection, channel) follow it",
            )
    data.pop("tier_override", None)
    if tier_override:
        data.insert(list(data).index("tier") + 1, "tier_override", CommentedMap(tier_override))
    if data.get("guard_overrides"):  # an override of a guard the copy's tier does not keep overrides nothing
        kept = [o for o in data["guard_overrides"] if guard_applies(o.get("guard"), tier)]
        if kept:
            data["guard_overrides"] = CommentedSeq(kept)
        else:
            del data["guard_overrides"]
    project = data["project"]
    for key, given, what in (("id", project_id, "project id"), ("number", project_number, "project number")):
        if given is None:
            _mark(
                project,
                key,
                PLACEHOLDER,
                f"the {what} of {name} ({source.name} has "
                f"{getattr(source.project, key)!r}; each environment needs its own)",
                todo,
                ("project", key),
            )
        else:
            project[key] = given
    labels = project.get("labels") or {}
    if labels.get("env") == source.name:
        labels["env"] = name
    state = data["state"]
    if own_state:  # the source's bucket is its own (in its project): the copy needs one too
        if project_id is not None:
            state["bucket"] = own_state_bucket(project_id)
        else:
            _mark(
                state,
                "bucket",
                PLACEHOLDER,
                f"the state bucket of {name}, e.g. <project id>-tfstate "
                f"({state['bucket']!r} holds {source.name}'s state)",
                todo,
                ("state", "bucket"),
            )
    if "prefix" in data:  # bucket names derive from it and are global
        _mark(data, "prefix", PLACEHOLDER, f"a name prefix of {name} (bucket names are global)", todo, ("prefix",))
    for i, endpoint in enumerate(data.get("endpoints") or []):
        # a host move of the source is its own: the copy's endpoint is new and has no earlier host
        for moving in ("previous_hosts", "retired_hosts"):
            endpoint.pop(moving, None)
        if endpoint["name"] in hosts:
            endpoint["host"] = hosts[endpoint["name"]]
        else:
            _mark(
                endpoint,
                "host",
                PLACEHOLDER,
                f"a public host of {name} ({source.name} has {endpoint['host']!r})",
                todo,
                ("endpoints", i, "host"),
            )
    # images in the source's own registry move to the copy's registry (its nodes cannot read the source's)
    for i, service in enumerate(data.get("inference") or []):
        image = service.get("image")
        moved = isinstance(image, str) and own_registry_image(image, source.project.id, project_id or PLACEHOLDER)
        if not moved:
            continue
        if project_id is not None:
            service["image"] = moved
        else:
            _mark(
                service,
                "image",
                moved,
                f"{name}'s project id in the image path ({source.name}'s registry is not readable by {name}'s nodes)",
                todo,
                ("inference", i, "image"),
            )
    # a service on its tier's default availability keeps it, written out, where the copy's tier defaults to
    # another: the copy runs as its source did, and the choice is in the file (best-effort: gkeml check, ENV002)
    default = TIER_DEFAULTS[tier]["availability"]
    for service, svc in zip(data.get("inference") or [], source.inference, strict=False):
        if "availability" not in service and svc.availability != default:
            service["availability"] = svc.availability
            service.yaml_add_eol_comment(
                f"# {source.name}'s default, kept by `gkeml env new` ({tier}'s is {default})"
                + (
                    ": one replica may do; for two, set autoscaling.min_replicas: 2 and remove this"
                    * (svc.availability == "best-effort")
                ),
                "availability",
            )
    dns = data.get("dns")
    if dns is not None and source.dns is not None:
        domain = hosts_domain([hosts.get(e.name, "") for e in source.endpoints])
        if domain:
            dns["domain"], dns["zone"] = domain, domain.replace(".", "-")[:63].rstrip("-")
        else:
            _mark(
                dns,
                "domain",
                PLACEHOLDER,
                f"the DNS domain of {name}'s hosts ({source.name} has {source.dns.domain!r})",
                todo,
                ("dns", "domain"),
            )
    launch = data.get("launch")
    # a source that leaves its queues to the default (<agent namespace>-<environment name>) gives the
    # copy its own by the same default; listed ones are never copied
    if launch is not None and source.launch is not None and ("queues" in launch or queues):
        taken = ", ".join(q.name for q in source.launch.queues)
        new = CommentedSeq()
        for i, queue in enumerate(queues or [""] * len(launch.get("queues") or [])):
            item = CommentedMap(name=queue)
            if not queue:
                _mark(
                    item,
                    "name",
                    "",
                    f"a W&B Launch queue of {name} ({source.name} polls {taken})",
                    todo,
                    ("launch", "queues", i, "name"),
                )
            new.append(item)
        launch["queues"] = new
    if launch is not None and "api_key_version" in launch:
        # the copy's W&B key is a secret of its own project: its first version is 1 (the default)
        del launch["api_key_version"]
    header = keep + [
        f"# {name}: copied from {source.name} by `gkeml env new`. Values marked '# {CHANGE_ME}' "
        "must differ from every other environment."
    ]
    return _dump(data, header, source.name, name), todo


def new_bootstrap_text(
    text: str, source: str, name: str, *, project_id: str | None, project_number: str | None
) -> tuple[str, list[tuple[tuple, str]]]:
    """bootstrap/NAME.yaml from SOURCE's, and the (path, note) of each value left to fill in."""
    _, body = _split_header(text)
    data = _yaml().load(body)
    todo: list[tuple[tuple, str]] = []
    data["name"] = name
    project = data["project"]
    for key, given in (("id", project_id), ("number", project_number)):
        if given is None:
            _mark(project, key, PLACEHOLDER, f"= project.{key} in environments/{name}.yaml", todo, ("project", key))
        else:
            project[key] = given
    state = data["state"]
    if "project" in state:  # a bucket shared in a state project: created once, by the source's file
        if state.get("create", True):
            state["create"] = False
            state.yaml_add_eol_comment(f"# created by bootstrap/{source}.yaml", "create")
    else:  # a bucket of its own, in its own project
        state.pop("create", None)
        if project_id is not None:
            state["bucket"] = own_state_bucket(project_id)
        else:
            _mark(
                state, "bucket", PLACEHOLDER, f"= state.bucket in environments/{name}.yaml", todo, ("state", "bucket")
            )
    state.pop("bootstrap_backend", None)  # the first run of a bootstrap keeps its state locally
    github = data["github"]
    github["deploy_environment"] = name
    header = [
        f"# Bootstrap of {name}: copied from {source} by `gkeml env new`; apply once: "
        f"make bootstrap-deploy ENV={name} (docs/bootstrap.md)."
    ]
    return _dump(data, header, source, name), todo


def _check_complete(targets: list[Path], texts: list[str], others: list[Environment]) -> None:
    """A copy without placeholders must load as a pair and clash with no other environment."""
    from gkeml.environments import load_bootstrap_of, load_environment

    with tempfile.TemporaryDirectory() as tmp:
        staged = [Path(tmp, str(i), target.name) for i, target in enumerate(targets)]
        for path, text in zip(staged, texts):
            path.parent.mkdir()
            path.write_text(text)
        try:
            env = load_environment(staged[0])
            load_bootstrap_of(staged[1], env)
            problems = clashes([(targets[0].parent / f"{e.name}.yaml", e) for e in others] + [(staged[0], env)])
        except ConfigError as exc:
            problems = exc.problems
        for problem in problems:  # name the files as they will be
            for path, target in zip(staged, targets):
                problem.file = problem.file.replace(str(path), str(target))
        raise_on(problems)


def _write_both(targets: list[Path], texts: list[str]) -> None:
    """Write every file or none: each goes to a temporary file beside it, then all are renamed."""
    staged = []
    try:
        for target, text in zip(targets, texts):
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
            with os.fdopen(fd, "w") as fh:
                fh.write(text)
            staged.append((tmp, target))
        for tmp, target in staged:
            os.replace(tmp, target)
    finally:
        for tmp, _ in staged:
            if os.path.exists(tmp):
                os.unlink(tmp)
