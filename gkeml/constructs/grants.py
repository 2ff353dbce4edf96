"""What a grant method needs from whoever receives access (the CDK ``IGrantable`` idea)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol


class Grantee(Protocol):
    """Anything that can be granted an IAM role: an IAM ``member`` string and a short,
    stable ``grant_id`` used in the construct ids of its bindings (so addresses never move)."""

    @property
    def member(self) -> str: ...

    @property
    def grant_id(self) -> str: ...

    @property
    def grant_dependencies(self) -> Sequence[Any]:
        """Resources a binding of this member must wait for (e.g. the cluster that creates a
        Workload Identity pool); empty for members that exist already."""
        ...


class Member:
    """A grantee known only by its IAM member string (a CI service account, a Google group)."""

    def __init__(self, member: str, grant_id: str, grant_dependencies: Sequence[Any] = ()):
        self._member, self._grant_id = member, grant_id
        self._dependencies = list(grant_dependencies)

    @property
    def member(self) -> str:
        return self._member

    @property
    def grant_id(self) -> str:
        return self._grant_id

    @property
    def grant_dependencies(self) -> Sequence[Any]:
        return self._dependencies
