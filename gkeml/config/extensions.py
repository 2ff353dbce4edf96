"""Extensions: a platform team's own Python code that adds resources to an environment's stacks without
forking gkeml, named in the environment file::

    extensions:
      - module: extensions.cloudsql      # importable from the platform repository's root, or installed
        name: metadata                    # optional: this use's name (default: the module's last part)
        config: {tier: db-f1-micro}       # checked by the extension's own Config model, with file:line errors

The module defines one subclass of :class:`Extension`. It is imported while the environment file is loaded
(so every command judges the file the same way), its ``config`` is validated there, and what it adds passes
the same gate as gkeml's own resources: its resource types need entries in the permission model (it may bring
them: :attr:`Extension.permissions`), the bootstrap enables its APIs and gives the CI identities custom roles
with exactly the permissions of those entries, ``gkeml check`` checks the first-apply order, the
permissions and the Kubernetes objects, and checkov reads the synthesized stacks. A module that does not
import, a config that does not validate, or an extension that raises gives one line naming the environment
file, the entry and the module, and exit code 2; synthesis writes nothing (docs/extensions.md).

Public names for extension authors are re-exported by :mod:`gkeml.extension`.
"""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ValidationError

from gkeml import platform
from gkeml.config.base import NAME, Problem, Strict
from gkeml.config.loader import ConfigError, ConfigProblem, _message, field_name, file_line
from gkeml.config.roles import extension_role_problem

if TYPE_CHECKING:
    from gkeml.config.model import Environment, ExtensionRef

# An IAM permission: service.resource.verb (cloud.google.com/iam/docs/permissions-reference).
PERMISSION = re.compile(r"^[a-z][a-z0-9]*(\.[a-zA-Z0-9]+){2,}$")
RESOURCE_SECTIONS = ("resources", "data")  # permission-model sections an extension may add to
OPERATIONS = ("create", "update", "delete", "read")


class NoConfig(Strict):
    """The configuration of an extension that takes none (``config`` must then be empty)."""


class Extension:
    """Base class of an extension: subclass it in a module and name the module in an environment file.

    Class attributes say what the extension brings (all optional):

    - ``Config``: a pydantic model (subclass :class:`gkeml.config.base.Strict` to refuse unknown keys) that
      validates the entry's ``config``; errors are reported at their line of the environment file.
    - ``permissions``: permission-model entries (``gkeml/iam/resources.json`` shape: ``{"resources":
      {TYPE: {"create": [...], "update": [...], "delete": [...], "read": [...], "source": "...",
      "verified": bool}}, "data": {...}}``) for the resource types it adds that gkeml's model does not have.
      The bootstrap gives the deploy identity a custom role with exactly these permissions and the plan
      identity one with their reads.
    - ``resource_apis``: ``{type prefix: API}`` for those types (``google_redis_`` -> ``redis.googleapis.com``),
      so the first-apply checks know which API each needs (gkeml knows the common ones:
      :data:`gkeml.platform.RESOURCE_APIS`).
    - ``checkov_skips``: ``{check id: reason}``, reviewed exceptions to checkov's checks, applied to the
      extension's own resources only (``gkeml check`` lists them as skipped, with the reason).

    The instance is made with its ``name``, validated ``config`` and the ``env``, and may override:

    - :meth:`problems`: checks spanning the config and the environment, (path in ``config``, message);
    - :meth:`apis`: the project APIs its resources need (the bootstrap enables them, the cloud stack declares them);
    - :meth:`project_roles`: the project roles it grants, with why: CI must be allowed to grant each
      (``ci.grantable_roles``; never a role :data:`gkeml.config.roles.ESCALATION` names);
    - :meth:`cloud`: add its Terraform resources to the cloud stack, through :mod:`gkeml.framework` only;
    - :meth:`kubernetes_objects`: Kubernetes objects (plain dicts) for team namespaces, which the in-cluster
      stack applies after their namespace and ``gkeml check`` checks with the rest.
    """

    Config: ClassVar[type[BaseModel]] = NoConfig
    permissions: ClassVar[Mapping[str, Mapping[str, Mapping[str, Any]]]] = {}
    resource_apis: ClassVar[Mapping[str, str]] = {}
    checkov_skips: ClassVar[Mapping[str, str]] = {}

    def __init__(self, name: str, config: Any, env: Environment):
        self.name, self.config, self.env = name, config, env

    def problems(self) -> Iterable[Problem]:
        """What is wrong with the config in this environment: (path inside ``config``, message)."""
        return ()

    def apis(self) -> tuple[str, ...]:
        """The project APIs its resources need."""
        return ()

    def project_roles(self) -> Mapping[str, str]:
        """The project roles it grants (to workload identities, people), each with why."""
        return {}

    def cloud(self, ctx: CloudContext) -> None:
        """Add the extension's resources to the cloud stack (``ctx.scope``)."""

    def kubernetes_objects(self) -> list[dict[str, Any]]:
        """Kubernetes objects for team namespaces (plain dicts, as :mod:`gkeml.manifests` builds them)."""
        return []


@dataclass
class CloudContext:
    """What an extension's :meth:`Extension.cloud` gets: where to add its constructs and what it may refer to
    or grant to. ``scope`` is a construct of its own in the ``<env>`` stack (``ext-<name>``), so its resources'
    addresses never collide with gkeml's; ``depends_on`` is what every Google resource must wait for (the
    project APIs, its own among them)."""

    scope: Any
    env: Environment
    names: Any  # gkeml.naming.Names
    network: Any  # gkeml.constructs.Network: .vpc, .subnet
    cluster: Any  # gkeml.constructs.AutopilotCluster: .cluster (what creates the Workload Identity pool)
    identities: Mapping[str, Any]  # identity name -> gkeml.constructs.WorkloadIdentity (a Grantee)
    buckets: Mapping[str, Any]  # bucket name -> gkeml.constructs.Bucket
    secrets: Mapping[str, Any]  # secret name -> gkeml.constructs.Secret
    depends_on: list[Any] = field(default_factory=list)
    # for label fields the provider's default labels do not reach (e.g. a Cloud SQL instance's user_labels)
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def project(self) -> str:
        return self.env.project.id

    @property
    def region(self) -> str:
        return self.env.project.region

    def identity(self, name: str) -> Any:
        """The Workload Identity of ``identities[name]`` (its ``member``, ``grant_dependencies``)."""
        return self.identities[name]


# --- loading --------------------------------------------------------------------------------------------


def import_root(env_file: str | Path) -> Path:
    """Where the modules of an environment file's extensions are imported from, besides the installed packages:
    the platform repository's root, the directory above the one holding the file (``environments/``)."""
    return Path(env_file).resolve().parent.parent


def make_importable(root: Path | None) -> None:
    """Let modules under ``root`` be imported (at the END of the search path: an installed package of the same
    name wins), for as long as the process runs: an extension may import more of its modules later."""
    if root is not None and str(root) not in sys.path:
        sys.path.append(str(root))


def _classes(module: Any) -> list[type[Extension]]:
    return [
        obj
        for obj in vars(module).values()
        if isinstance(obj, type)
        and issubclass(obj, Extension)
        and obj is not Extension
        and obj.__module__ == module.__name__
    ]


def load(env: Environment, root: Path | None = None) -> list[Problem]:
    """Import the module of every extension of ``env``, validate its config and make the extension (kept on
    the entry); the problems, each at its key of the file. ``root``: see :func:`import_root`."""
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for i, ref in enumerate(env.extensions):
        at = ("extensions", i)
        if not re.fullmatch(NAME, ref.id):
            problems.append(
                (
                    (*at, "module"),
                    f"{ref.id!r} (the module's last part) cannot name its resources; add name: with lowercase "
                    "letters, digits and '-'",
                )
            )
            continue
        if ref.id in seen:
            problems.append(
                (
                    (*at, "name" if ref.name else "module"),
                    f"{ref.id!r} also names extensions[{seen[ref.id]}]; give each use its own name:",
                )
            )
            continue
        seen[ref.id] = i
        problems += _load_one(env, i, ref, root)
    return problems


def _load_one(env: Environment, i: int, ref: ExtensionRef, root: Path | None) -> list[Problem]:
    at = ("extensions", i)
    where = f" (importable from {root} or installed)" if root is not None else ""
    make_importable(root)
    try:
        module = importlib.import_module(ref.module)
    except Exception as exc:  # an ImportError, or anything the module raises while it runs
        return [((*at, "module"), f"cannot import {ref.module}{where}: {_error(exc)}")]
    found = _classes(module)
    if len(found) != 1:
        what = "no subclass" if not found else f"{len(found)} subclasses ({', '.join(c.__name__ for c in found)})"
        return [((*at, "module"), f"{ref.module} defines {what} of gkeml.extension.Extension; define exactly one")]
    cls = found[0]
    try:
        config = cls.Config.model_validate(ref.config)
    except ValidationError as exc:
        return [
            ((*at, "config", *_location(err["loc"])), _message(err, cls.Config))
            for err in exc.errors(include_url=False)
        ]
    try:
        extension = cls(ref.id, config, env)
        problems = [((*at, "config", *path), message) for path, message in extension.problems()]
        problems += _object_problems(env, at, ref.module, extension.kubernetes_objects())
        problems += [
            ((*at, "module"), f"{ref.module}: {problem}")
            for problem in map(extension_role_problem, extension.project_roles())
            if problem
        ]
    except Exception as exc:
        return [((*at, "module"), f"{ref.module} raised {_error(exc)} while checking its config")]
    ref._loaded = extension
    return problems


def _location(loc: Sequence[Any]) -> tuple:
    return tuple(p for p in loc if isinstance(p, int) or ("[" not in str(p) and p not in ("str", "int", "float")))


def _error(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _object_problems(env: Environment, at: tuple, module: str, objects: list[Any]) -> list[Problem]:
    """An extension's Kubernetes objects live in team namespaces (applied after the namespace, removed before it)."""
    teams = {t.name for t in env.teams}
    problems = []
    for obj in objects:
        meta = obj.get("metadata") if isinstance(obj, dict) else None
        if not isinstance(meta, dict) or not isinstance(obj.get("kind"), str):
            problems.append(((*at, "module"), f"{module}: a Kubernetes object needs kind and metadata: {obj!r:.80}"))
            continue
        namespace = meta.get("namespace")
        if namespace not in teams:
            problems.append(
                (
                    (*at, "module"),
                    f"{module}: {obj['kind']}/{meta.get('name')} is in namespace {namespace!r}, which is no team's; "
                    f"an extension's objects go in a team namespace ({', '.join(sorted(teams)) or 'none defined'})",
                )
            )
    return problems


def loaded(env: Environment) -> list[tuple[int, Extension]]:
    """(index, extension) of every extension of ``env``, loading those not loaded yet (an environment built
    without its file's checks); ConfigError when one cannot be loaded."""
    if any(ref._loaded is None for ref in env.extensions):
        problems = load(env, import_root(env._source) if env._source else None)
        if problems:
            raise ConfigError([_problem(env, path, message) for path, message in problems])
    return [(i, ref._loaded) for i, ref in enumerate(env.extensions)]


def _problem(env: Environment, path: tuple, message: str) -> ConfigProblem:
    source = env._source or f"{env.name}.yaml"
    return ConfigProblem(source, file_line(source, path) if env._source else 0, field_name(path), message)


@contextmanager
def running(env: Environment, index: int, what: str) -> Iterator[None]:
    """Run an extension's code: anything it raises becomes one ConfigError line naming the environment file,
    the entry and the module (exit code 2, and synthesis writes nothing)."""
    try:
        yield
    except ConfigError:
        raise
    except Exception as exc:
        ref = env.extensions[index]
        raise ConfigError(
            [_problem(env, ("extensions", index, "module"), f"{ref.module} raised {_error(exc)} while {what}")]
        ) from exc


# --- what the environment's extensions add up to ---------------------------------------------------------


def extension_apis(env: Environment) -> tuple[str, ...]:
    """The project APIs the extensions of ``env`` need, in order, once each."""
    return tuple(dict.fromkeys(api for i, ext in loaded(env) for api in _called(env, i, ext.apis, "listing its APIs")))


def extension_roles(env: Environment) -> dict[str, str]:
    """The project roles the extensions of ``env`` grant, with why."""
    roles: dict[str, str] = {}
    for i, ext in loaded(env):
        roles.update(_called(env, i, ext.project_roles, "listing its project roles"))
    return roles


def _called(env: Environment, index: int, method: Any, what: str) -> Any:
    with running(env, index, what):
        return method()


def resource_apis(envs: Iterable[Environment]) -> dict[str, str]:
    """Which API each resource type needs (:data:`gkeml.platform.RESOURCE_APIS` and what the environments'
    extensions add)."""
    table = dict(platform.RESOURCE_APIS)
    for env in envs:
        for _, ext in loaded(env):
            table.update(ext.resource_apis)
    return table


@dataclass(frozen=True)
class ExtensionPermissions:
    """What the CI identities need for the resource types the extensions of an environment bring (their
    permission-model entries): the deploy identity every operation's permissions, the plan identity the reads.
    The bootstrap grants each as a custom role (nothing when empty)."""

    deploy: tuple[str, ...] = ()
    plan: tuple[str, ...] = ()


def permission_entries(env: Environment) -> list[tuple[str, dict[str, Any]]]:
    """(module, its permission-model entries) of every extension of ``env`` that brings some."""
    return [(env.extensions[i].module, dict(ext.permissions)) for i, ext in loaded(env) if ext.permissions]


def extension_permissions(env: Environment) -> ExtensionPermissions:
    """The permissions of every resource and data-source entry the extensions of ``env`` bring."""
    deploy: set[str] = set()
    plan: set[str] = set()
    for _, entries in permission_entries(env):
        for section in RESOURCE_SECTIONS:
            for entry in entries.get(section, {}).values():
                reads = set(entry.get("read", []))
                plan |= reads
                deploy |= reads
                if section == "resources":
                    for op in OPERATIONS[:3]:
                        deploy |= set(entry.get(op, []))
                    for rule in entry.get("when", []):
                        for op in OPERATIONS[:3]:
                            deploy |= set(rule.get(op, []))
    return ExtensionPermissions(tuple(sorted(deploy)), tuple(sorted(plan)))


def environments_with_extensions(directory: str | Path) -> list[Environment]:
    """The environment files of ``directory`` that use extensions, each read with its extensions loaded, for a
    reader that needs no more of the file (the permission report, the CI identity lookup); a file that does not
    load is left out (``gkeml synth`` and ``gkeml check`` report it)."""
    from gkeml.config.loader import load_config_file
    from gkeml.config.model import Environment

    found = []
    for path in sorted(Path(directory).glob("*.yaml")):
        try:
            env = load_config_file(path, Environment)
        except ConfigError:
            continue
        env._source = str(path)
        if env.extensions and not load(env, import_root(path)):
            found.append(env)
    return found
