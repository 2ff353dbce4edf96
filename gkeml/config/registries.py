"""Images across environments: which environment's nodes may pull from which Artifact Registry
repository of another environment.

An environment's nodes read its own registry (the cloud stack grants its node service account
``roles/artifactregistry.reader`` on each repository). Images promoted by digest from one
environment to another (dev builds, staging and prod run) stay in the first one's registry, so its
repositories name the environments that may read them (``registry.repositories[].readers``) and its
deploy grants the read. Without that grant Binary Authorization admits the image and the kubelet's
pull gets 403 (``ImagePullBackOff``): this module finds every such image at load, in the
environment files (``cluster.binary_authorization.allowed_images``, ``inference[].image``) and in job
specs rendered for an environment, and says which file to change.

Only registries of known environments (the environment files of one directory) are checked: an image
of any other project is the user's to grant (docs/services.md).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gkeml import platform
from gkeml.config.loader import ConfigProblem, field_name, file_line

if TYPE_CHECKING:
    from gkeml.config.model import Environment
    from gkeml.config.services import Repository

# An allowlist pattern or image of an Artifact Registry Docker host: LOCATION-docker.pkg.dev/PROJECT[/REPOSITORY...]
REGISTRY_PATH = re.compile(
    r"^(?P<location>[a-z0-9-]+)"
    + re.escape(platform.ARTIFACT_REGISTRY_DOCKER_HOST_SUFFIX)
    + r"/(?P<project>[^/]+)(?:/(?P<repository>[^/]*))?"
)


@dataclass(frozen=True)
class Registries:
    """The Artifact Registries of a set of environments (one directory's files): whose project is whose,
    and which repositories let which other environments' nodes pull."""

    environments: tuple[Environment, ...]
    files: tuple[str, ...]  # the file of each environment, same order

    @classmethod
    def of(cls, files: Iterable[tuple[str | Path, Environment]]) -> Registries:
        pairs = list(files)
        return cls(tuple(env for _, env in pairs), tuple(str(path) for path, _ in pairs))

    def environment(self, name: str) -> Environment | None:
        return next((e for e in self.environments if e.name == name), None)

    def file_of(self, env: Environment) -> str:
        return self.files[self.environments.index(env)]

    def _owner(self, project: str, env: Environment) -> Environment | None:
        """The other environment whose project ``project`` is, or None (this one's, or no environment's)."""
        return next((e for e in self.environments if e.project.id == project and e.name != env.name), None)

    def image_problem(self, env: Environment, image: str) -> str | None:
        """Why ``env``'s nodes cannot pull ``image`` from another environment's registry, or None (not
        another environment's registry, or a repository that lists ``env`` as a reader)."""
        match = REGISTRY_PATH.match(image)
        owner = match and self._owner(match["project"], env)
        if not match or owner is None:
            return None
        found = self._repositories(owner, match["location"], match["repository"] or "", image)
        if isinstance(found, str):
            return found
        ((i, repo),) = found
        if env.name in repo.readers:
            return None
        own = ""
        if env.registry is not None and env.registry.repository(repo.name) is not None:
            own = f" ({env.registry.host}/{env.project.id}/{repo.name}/{image[match.end() :].lstrip('/')})"
        return (
            f"{image!r} is in {owner.name}'s Artifact Registry, which {env.name}'s nodes may not pull from: add "
            f"{env.name} to registry.repositories[{i}].readers in {self.file_of(owner)} ({owner.name}'s deploy "
            f"grants the read), or push the image to {env.name}'s own registry{own}"
        )

    def pattern_problem(self, env: Environment, pattern: str) -> str | None:
        """Why an admission pattern of ``env`` admits images of another environment's repositories that
        ``env``'s nodes cannot pull, or None."""
        match = REGISTRY_PATH.match(pattern)
        if not match or "*" in match["project"]:
            return None
        owner = self._owner(match["project"], env)
        if owner is None:
            return None
        found = self._repositories(owner, match["location"], match["repository"] or "*", pattern)
        if isinstance(found, str):
            return found
        closed = [(i, r) for i, r in found if env.name not in r.readers]
        if not closed:
            return None
        where = ", ".join(f"registry.repositories[{i}].readers" for i, _ in closed)
        names = ", ".join(repr(r.name) for _, r in closed)
        return (
            f"{pattern!r} admits images of {owner.name}'s repository {names}, which {env.name}'s nodes may not "
            f"pull from (Binary Authorization would admit them, the pull would get 403): add {env.name} to "
            f"{where} in {self.file_of(owner)}"
        )

    def _repositories(
        self, owner: Environment, location: str, repository: str, text: str
    ) -> list[tuple[int, Repository]] | str:
        """The (index, repository) of ``owner``'s registry that ``repository`` (a name, or a pattern for
        allowlists) names, or the message saying why none can hold ``text``."""
        registry = owner.registry
        if registry is None:
            return (
                f"{text!r} names the project of environment {owner.name}, which has no registry section in "
                f"{self.file_of(owner)}"
            )
        if location != registry.location:
            return (
                f"{text!r} names location {location}, but {owner.name}'s registry is in {registry.location} "
                f"({self.file_of(owner)})"
            )
        wildcard = "*" in repository
        found = [
            (i, r)
            for i, r in enumerate(registry.repositories)
            if (fnmatch.fnmatchcase(r.name, repository) if wildcard else r.name == repository)
        ]
        if not found:
            known = ", ".join(r.name for r in registry.repositories)
            return (
                f"{text!r}: no repository {repository!r} in {owner.name}'s registry.repositories ({known}) in "
                f"{self.file_of(owner)}"
            )
        return found


def registry_problems(files: list[tuple[Path, Environment]]) -> list[ConfigProblem]:
    """One problem per reader that names no environment, and per image or admission pattern of an
    environment that another environment's repository does not let it pull (file, line and field of
    the place to fix: the reader, or the image with the owner's file in its message)."""
    registries = Registries.of(files)
    known = sorted(e.name for _, e in files)
    problems: list[ConfigProblem] = []
    for path, env in files:
        for i, repo in enumerate(env.registry.repositories if env.registry else []):
            for j, reader in enumerate(repo.readers):
                if registries.environment(reader) is None:
                    field = ("registry", "repositories", i, "readers", j)
                    problems.append(
                        ConfigProblem(
                            str(path),
                            file_line(path, field),
                            field_name(field),
                            f"unknown environment {reader!r} (its project is needed for the grant); "
                            f"defined: {', '.join(known)}",
                        )
                    )
        found: list[tuple[tuple, str | None]] = [
            (("cluster", "binary_authorization", "allowed_images", i), registries.pattern_problem(env, pattern))
            for i, pattern in enumerate(env.cluster.binary_authorization.allowed_images)
        ]
        found += [
            (("inference", i, "image"), registries.image_problem(env, svc.image)) for i, svc in enumerate(env.inference)
        ]
        for field, message in found:
            if message:
                problems.append(ConfigProblem(str(path), file_line(path, field), field_name(field), message))
    return problems


def attach(files: list[tuple[Path, Environment]]) -> None:
    """Let each environment know its siblings' registries (what its nodes may pull across environments,
    and the project numbers its own repositories grant read to): :func:`registries_of`."""
    registries = Registries.of(files)
    for _, env in files:
        env._registries = registries


def registries_of(env: Environment) -> Registries | None:
    """The registries of the environments ``env`` was loaded with, or None when it was loaded alone."""
    return env._registries
