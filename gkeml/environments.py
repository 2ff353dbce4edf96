"""Load and check environment files: every command that takes environments loads them here.

So a file is judged the same way everywhere: the config model's own checks, the checks of the names
derived from it (:mod:`gkeml.naming`) and the Autopilot request ranges of its workloads (the rules
``gkeml check`` runs: :mod:`gkeml.rules.admission`)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from gkeml.config import ConfigError, ConfigProblem, Environment, parse
from gkeml.config.bootstrap import Bootstrap, isolation_problems, load_bootstrap
from gkeml.config.checks import model_problems, reference_problems
from gkeml.config.extensions import import_root
from gkeml.config.extensions import load as load_extensions
from gkeml.config.loader import (
    LIMITS,
    decode,
    field_name,
    file_line,
    load_config_file,
    load_yaml,
    named_file,
    read_config_text,
)
from gkeml.config.registries import attach as attach_registries
from gkeml.config.registries import registry_problems
from gkeml.config.state import StateLocation, nested_state_problems
from gkeml.cost.estimate import budget_problems
from gkeml.naming import Names, name_problems, service_account_ids
from gkeml.rules.admission import request_problems


def _checks(env: Environment, root: Path | None) -> list:
    problems = model_problems(env) + name_problems(env) + request_problems(env) + extension_problems(env, root)
    # the budget is derived from the cost estimate, which prices only an environment without problems
    return problems or list(budget_problems(env))


def extension_problems(env: Environment, root: Path | None) -> list:
    """Load the environment's extensions (importing their modules from ``root`` or the installed packages) and
    check what they bring: their config, and their permission-model entries against gkeml's model."""
    from gkeml.iam.extensions import entry_problems
    from gkeml.iam.model import load_model

    problems = load_extensions(env, root)
    model = load_model()
    for i, ref in enumerate(env.extensions):
        if ref._loaded is not None and ref._loaded.permissions:
            path = ("extensions", i, "module")
            problems += [(path, line) for line in entry_problems(ref.module, ref._loaded.permissions, model)]
    return problems


def parse_environment(text: str, label: str, root: Path | None = None) -> Environment:
    """An environment from YAML text (``label`` names it in errors, e.g. ``REF:dev.yaml``); ``root`` is
    where its extensions' modules are imported from (:func:`gkeml.config.extensions.import_root`)."""
    return parse(text, label, Environment, lambda env: _checks(env, root), reference_problems)


def load_environment(path: str | Path) -> Environment:
    """Load and check one environment file; its ``name`` must match the file name."""
    root = import_root(path)
    env = load_config_file(
        path, Environment, lambda env: _checks(env, root), reference_problems, name_matches_file=True
    )
    env._source = str(path)
    return env


def environment_file(directory: str | Path, name: str, field: str = "ENV") -> Path:
    """``<directory>/<name>.yaml``; a ConfigError naming the defined environments when missing."""
    path = named_file(directory, name, field)
    if not path.exists():  # a FIFO or a device of that name is refused when it is read, saying what it is
        known = sorted(p.stem for p in Path(directory).glob("*.yaml"))
        raise ConfigError(
            [ConfigProblem(str(directory), 0, field, f"no environment {name!r}; defined: {', '.join(known) or 'none'}")]
        )
    return path


def load_named_environment(directory: str | Path, name: str, field: str = "ENV") -> Environment:
    """Load the environment called ``name`` from ``directory`` (for commands taking ENV)."""
    return load_environment(environment_file(directory, name, field))


def load_environments(directory: str | Path) -> list[Environment]:
    """Every ``*.yaml`` in ``directory`` (sorted); all problems of all files are reported."""
    problems: list[ConfigProblem] = []
    if not Path(directory).is_dir():
        raise ConfigError([ConfigProblem(str(directory), 0, "", "no such directory")])
    files = sorted(Path(directory).glob("*.yaml"))
    if not files:
        raise ConfigError([ConfigProblem(str(directory), 0, "", "no environment files (*.yaml) found")])
    loaded: list[tuple[Path, Environment]] = []
    for f in files:
        try:
            loaded.append((f, load_environment(f)))
        except ConfigError as exc:
            problems += exc.problems
    problems += clashes(loaded)
    if not problems:  # images across environments: only between environments that load
        problems += registry_problems(loaded)
    if problems:
        raise ConfigError(problems)
    attach_registries(loaded)
    return [env for _, env in loaded]


def load_environment_among(path: str | Path) -> Environment:
    """Load and check one environment file, knowing the registries of the other environment files
    beside it (what its nodes may pull from them): those that load; a broken sibling is not this
    environment's problem (synth and check report it)."""
    env = load_environment(path)
    loaded: list[tuple[Path, Environment]] = []
    for other in sorted(Path(path).parent.glob("*.yaml")):
        if other.resolve() == Path(path).resolve():
            loaded.append((Path(path), env))
            continue
        try:
            loaded.append((other, load_environment(other)))
        except ConfigError:
            continue
    attach_registries(loaded)
    return env


# --- what must be unique across environments --------------------------------------------


@dataclass(frozen=True)
class UniqueValue:
    """One value an environment must not share with another: where it is and what it is."""

    path: tuple
    what: str
    value: str


def unique_values(env: Environment) -> Iterator[UniqueValue]:
    """The values of ``env`` no other environment may have: its project, its stack names, its
    globally named buckets, public hosts, W&B Launch queues and Terraform state objects."""
    names = Names.of(env)
    yield UniqueValue(("project", "id"), "project id", env.project.id)
    yield UniqueValue(("project", "number"), "project number", env.project.number)
    for stack in (names.cloud_stack, names.k8s_stack):  # `dev` and `dev-k8s` would collide
        yield UniqueValue(("name",), "stack name", stack)
    for i, bucket in enumerate(env.buckets):  # bucket names are global across all of Cloud Storage
        yield UniqueValue(("buckets", i, "name"), "bucket", names.bucket(bucket.name))
    yield UniqueValue(("prefix",), "bucket", names.access_log_bucket)
    for i, endpoint in enumerate(env.endpoints):
        for host in endpoint.certificate_hosts:  # two certificates for one host: one never provisions
            yield UniqueValue(("endpoints", i, "host"), "host", host)
    if env.launch is not None:
        for i, queue in enumerate(env.launch.queues):
            yield UniqueValue(("launch", "queues", i, "name"), "W&B Launch queue", f"{env.launch.entity}/{queue.name}")
    for stack in (names.cloud_stack, names.k8s_stack):
        yield UniqueValue(("state", "prefix"), "Terraform state", f"gs://{env.state.bucket}/{names.state(stack)}")


def state_location(env: Environment) -> StateLocation:
    """Where ``env`` keeps its Terraform state: its bucket and the object prefixes of its two stacks."""
    names = Names.of(env)
    stacks = (names.cloud_stack, names.k8s_stack)
    return StateLocation(env.name, env.state.bucket, tuple(f"{names.state(stack)}/" for stack in stacks))


def clashes(files: list[tuple[Path, Environment]]) -> list[ConfigProblem]:
    """One problem per value an environment shares with an earlier one (file, line and field of the
    later), per state prefix nested in an earlier one's in the same bucket, and per state bucket that
    another environment creates (and may delete with itself)."""
    seen: dict[tuple[str, str], Path] = {}
    problems = []
    for path, env in files:
        for item in unique_values(env):
            first = seen.setdefault((item.what, item.value), path)
            if first != path:
                problems.append(
                    ConfigProblem(
                        str(path),
                        file_line(path, item.path),
                        field_name(item.path),
                        f"{item.what} {item.value!r} is also used by {first}; each environment needs its own",
                    )
                )
    for i, message in nested_state_problems([state_location(env) for _, env in files]):
        path = files[i][0]
        problems.append(ConfigProblem(str(path), file_line(path, ("state", "prefix")), "state.prefix", message))
    for path, env in files:
        owner = seen.get(("bucket", env.state.bucket))
        if owner is not None and owner != path:  # its own buckets are refused by gkeml.config.checks
            problems.append(
                ConfigProblem(
                    str(path),
                    file_line(path, ("state", "bucket")),
                    "state.bucket",
                    f"{env.state.bucket!r} is a bucket {owner} creates; Terraform state needs "
                    "a bucket no environment creates (the bootstrap's state bucket)",
                )
            )
    return problems


TIER_ORDER = ("dev", "staging", "prod")  # deploy order: every dev, then every staging, then every prod


def deploy_order(envs: list[Environment]) -> list[Environment]:
    """Environments in the order CI deploys them: by tier (dev, staging, prod), then by name."""
    return sorted(envs, key=lambda e: (TIER_ORDER.index(e.tier), e.name))


def split_bootstrapped(
    envs: list[Environment], bootstrap_dir: str | Path
) -> tuple[list[Environment], list[Environment]]:
    """(environments with a bootstrap file, environments without one yet): CI plans, deploys and pushes
    images only for the first, because their identities come from the bootstrap stack."""
    ready = [e for e in envs if (Path(bootstrap_dir) / f"{e.name}.yaml").exists()]
    return ready, [e for e in envs if e not in ready]


def default_bootstrap_dir(environments_dir: str | Path) -> Path:
    """Where the bootstrap files of ``environments_dir`` are when nothing says otherwise: ``bootstrap``
    beside it (``environments/`` -> ``bootstrap/``)."""
    return Path(environments_dir).parent / "bootstrap"


def load_bootstrap_of(path: str | Path, env: Environment) -> Bootstrap:
    """The bootstrap file at ``path`` of ``env``, checked against it
    (:func:`gkeml.config.bootstrap.load_bootstrap`, given the service account ids ``env`` derives)."""
    return load_bootstrap(path, env, service_account_ids(env))


def load_bootstrap_files(directory: str | Path, environments: str | Path) -> list[Bootstrap]:
    """Every ``<directory>/*.yaml`` (the bootstrap stacks' app reads them all), each checked against
    ``<environments>/<name>.yaml`` when that file exists; all problems of all files are reported together."""
    files = sorted(Path(directory).glob("*.yaml"))
    if not files:
        raise ConfigError([ConfigProblem(str(directory), 0, "", "no bootstrap files (*.yaml) found")])
    problems, boots = [], []
    for file in files:
        env_file = Path(environments) / file.name
        try:
            env = load_environment(env_file) if env_file.exists() else None
            boots.append(load_bootstrap_of(file, env) if env is not None else load_bootstrap(file))
        except ConfigError as exc:
            problems += exc.problems
    problems += isolation_problems(list(zip(files, boots))) if not problems else []
    if problems:
        raise ConfigError(problems)
    return boots


def load_bootstraps(
    envs: list[Environment], bootstrap_dir: str | Path
) -> tuple[dict[str, Bootstrap], list[Environment]]:
    """(the bootstrap file of every environment that has one, checked against it; the environments
    still waiting for theirs). The check is the bootstrap's own (:func:`gkeml.config.bootstrap.check_against_environment`):
    a role the stacks grant that ``ci.grantable_roles`` lacks, a classic identity whose service account the
    bootstrap does not create (``classic_identities``), a billing account or image pusher that differs, a
    project or state that differs. ConfigError with every problem of every file, each
    ``file:line: field: message`` naming the fix and the command to run. An environment without a
    bootstrap file is not an error: CI leaves it out (:func:`not_bootstrapped_warning`)."""
    ready, waiting = split_bootstrapped(envs, bootstrap_dir)
    boots: dict[str, Bootstrap] = {}
    problems: list[ConfigProblem] = []
    for env in ready:
        try:
            boots[env.name] = load_bootstrap_of(Path(bootstrap_dir) / f"{env.name}.yaml", env)
        except ConfigError as exc:
            problems += exc.problems
    if problems:
        raise ConfigError(problems)
    return boots, waiting


def check_bootstraps(
    envs: list[Environment], environments_dir: str | Path, bootstrap_dir: str | Path | None, warn: Callable[[str], None]
) -> dict[str, Bootstrap]:
    """The gate of `make synth` and `gkeml check`: every environment against its bootstrap file
    (:func:`load_bootstraps`; ConfigError naming file, line, fix and command), ``warn`` for each without
    one; the bootstrap of each environment that has one. ``bootstrap_dir`` defaults to ``bootstrap`` beside the
    environments; a default that does not exist is a repository without gkeml's bootstrap stacks: nothing to
    check. A named one must exist."""
    if bootstrap_dir is None:
        bootstrap_dir = default_bootstrap_dir(environments_dir)
        if not bootstrap_dir.is_dir():
            return {}
    elif not Path(bootstrap_dir).is_dir():
        raise ConfigError([ConfigProblem(str(bootstrap_dir), 0, "", "no such directory of bootstrap files")])
    boots, waiting = load_bootstraps(envs, bootstrap_dir)
    for env in waiting:
        warn(not_bootstrapped_warning(env, bootstrap_dir))
    return boots


def not_bootstrapped_warning(env: Environment, bootstrap_dir: str | Path) -> str:
    """One line saying why CI leaves ``env`` out and how to bring it in."""
    return (
        f"warning: {env.name}: no {Path(bootstrap_dir) / (env.name + '.yaml')} yet, so CI neither plans nor "
        f"deploys it; write it (`gkeml env new` writes both files) and run `make bootstrap-deploy ENV={env.name}`"
    )


# --- an environment file as it was at a git ref (cost and check --against REF) -----------


def _git(cwd: Path, *args: str, text: bool = True) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=text, check=False)
    except FileNotFoundError:
        raise ConfigError([ConfigProblem(str(cwd), 0, "", "git is not installed; --against needs it")]) from None


def environment_at(env_file: str | Path, ref: str) -> Environment | None:
    """Parse ``env_file`` as committed at ``ref`` with the normal loader; ``None`` when the file
    does not exist at that ref (a new environment). ConfigError for an unknown ref or a bad file."""
    env_file = Path(env_file).resolve()
    where = env_file.parent
    if not where.is_dir():
        raise ConfigError([ConfigProblem(str(where), 0, "", "no such directory")])
    if ref.startswith("-"):
        raise ConfigError([ConfigProblem(ref, 0, "--against", "a git ref cannot start with '-'")])
    inside = _git(where, "rev-parse", "--is-inside-work-tree")
    if inside.returncode != 0:
        raise ConfigError([ConfigProblem(str(where), 0, "--against", "not inside a git repository")])
    found = _git(where, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if found.returncode != 0:
        raise ConfigError(
            [
                ConfigProblem(
                    str(where), 0, "--against", f"{ref!r} is not a commit, branch or tag in this git repository"
                )
            ]
        )
    label = f"{ref}:{env_file.name}"
    size = _git(where, "cat-file", "-s", f"{ref}:./{env_file.name}")
    if size.returncode != 0:
        return None
    if int(size.stdout.strip() or 0) > LIMITS.max_bytes:  # refused before git writes it into memory
        raise ConfigError(
            [ConfigProblem(label, 0, "", f"is larger than the {LIMITS.max_bytes:,} bytes such a file may have")]
        )
    shown = _git(where, "show", f"{ref}:./{env_file.name}", text=False)  # bytes: decoded as a file is
    if shown.returncode != 0:
        return None
    return parse_environment(decode(shown.stdout, label), label, import_root(env_file))


# --- the free-tier credit: one per billing account (gkeml cost) ------------------------------------


def _billing_account(text: str, label: str) -> tuple[str, str] | None:
    """(name, budget.billing_account) of an environment file's text; None when it names no billing
    account or is not readable YAML (the file's own command reports its problems)."""
    try:
        data, _ = load_yaml(text, label)
    except ConfigError:
        return None
    budget = data.get("budget") if isinstance(data, dict) else None
    account = budget.get("billing_account") if isinstance(budget, dict) else None
    name = data.get("name") if isinstance(data, dict) else None
    return (name, account) if isinstance(name, str) and isinstance(account, str) else None


def _sharers(env: Environment, files: dict[str, str]) -> tuple[str, ...]:
    """The names of the environments among ``files`` (label -> text) other than ``env`` whose budget names
    ``env``'s billing account."""
    account = env.budget.billing_account if env.budget is not None else None
    if account is None:
        return ()
    found = (_billing_account(text, label) for label, text in sorted(files.items()))
    return tuple(sorted({name for name, acct in filter(None, found) if acct == account and name != env.name}))


def billing_account_sharers(env_file: str | Path, env: Environment) -> tuple[str, ...]:
    """The other environments of ``env_file``'s directory billed to ``env``'s billing account (their
    ``budget.billing_account``): they share its one free-tier credit. Unreadable files are skipped."""
    env_file = Path(env_file)
    files = {}
    for path in env_file.parent.glob("*.yaml"):
        if path.name == env_file.name:
            continue
        try:
            files[str(path)] = read_config_text(path)
        except ConfigError:
            continue
    return _sharers(env, files)


def billing_account_sharers_at(env_file: str | Path, ref: str, env: Environment) -> tuple[str, ...]:
    """:func:`billing_account_sharers` as the directory was at git ``ref`` (``--against``; the ref was
    checked by :func:`environment_at`)."""
    env_file = Path(env_file).resolve()
    where = env_file.parent
    listed = _git(where, "ls-tree", "--name-only", ref, "./")
    files = {}
    for name in listed.stdout.splitlines() if listed.returncode == 0 else []:
        name = Path(name).name
        if not name.endswith(".yaml") or name == env_file.name:
            continue
        shown = _git(where, "show", f"{ref}:./{name}", text=False)
        if shown.returncode == 0:
            try:
                files[f"{ref}:{name}"] = decode(shown.stdout, f"{ref}:{name}")
            except ConfigError:
                continue
    return _sharers(env, files)
