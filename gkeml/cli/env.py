"""``gkeml env``: the environments in deploy order (what the CI workflows iterate over) and a
new environment copied from an existing one, with every value that must differ marked.

The workflows read the list at run time (``gkeml env list --format json``), so adding an
environment is two files, one bootstrap run and one GitHub environment: no workflow edit.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any, NoReturn

from gkeml.cli.output import add_command, add_format_option, print_json, progress, table, warn
from gkeml.config import ConfigError, ConfigProblem, Environment
from gkeml.config.loader import field_name, file_line, read_config_text
from gkeml.config.model import DNS_LABEL
from gkeml.environments import (
    TIER_ORDER,
    deploy_order,
    load_bootstraps,
    load_environments,
    load_named_environment,
    not_bootstrapped_warning,
    unique_values,
)
from gkeml.exitcodes import CommandError

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


HELP = "list the environments in deploy order; create one from another"
DESCRIPTION = (
    "The environments of environments/*.yaml in deploy order (tier dev, staging, prod, then "
    "name), and a new environment copied from an existing one."
)
NEW_HELP = "write environments/NAME.yaml and bootstrap/NAME.yaml from another environment"
NEW_DESCRIPTION = (
    "Copy environment SOURCE to NAME. What must differ between environments is replaced by a "
    "CHANGE-ME placeholder marked '# CHANGE ME' (or by the options below); the rest is copied."
)


def register(sub) -> None:
    """Add the ``env`` subcommand with ``list`` and ``new``."""
    p = add_command(sub, "env", HELP, DESCRIPTION, EPILOG)
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

    new = add_command(commands, "new", NEW_HELP, NEW_DESCRIPTION, EPILOG)
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
    from gkeml.envcopy import (
        CHANGE_ME,
        complete_problems,
        new_bootstrap_text,
        new_environment_text,
        pull_todo,
        write_both,
    )
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
        raise_on(complete_problems(targets, [env_text, boot_text], others))
    write_both(targets, [env_text, boot_text])
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
