"""Workload Identity: what a Kubernetes service account is in IAM."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from gkeml import platform
from gkeml.framework import Construct, google


@dataclass(frozen=True)
class WorkloadIdentityProps:
    """One Kubernetes service account (namespace + KSA) of a project's cluster, and the
    project roles it holds. ``gsa_email`` names the Google service account of classic mode, which
    exists before (the environment's bootstrap stack creates it)."""

    project: str
    project_number: str
    namespace: str
    ksa: str
    mode: Literal["principal", "classic"] = "principal"
    gsa_email: str | None = None
    roles: tuple[str, ...] = ()


def role_construct_id(role: str) -> str:
    """The construct id of a project role's binding, from the whole role name: ``logging.logWriter`` for
    roles/logging.logWriter, ``projects-P-roles-logging.logWriter`` for a custom role of project P."""
    return role.removeprefix("roles/").replace("/", "-")


class WorkloadIdentity(Construct):
    """The IAM identity of one Kubernetes service account.

    ``principal`` mode (default): roles are granted directly to the KSA's
    ``principal://`` member; nothing to annotate. ``classic`` mode: a Google
    service account the KSA may impersonate (``roles/iam.workloadIdentityUser``, bound here
    on an account made before: whoever applies this needs ``setIamPolicy`` on that account alone,
    and no right to create service accounts).
    Grants on buckets and secrets go through their ``grant_*`` methods (this is a grantee:
    :attr:`member`, :attr:`grant_id`).

    ``pool_created_by`` is what creates the project's Workload Identity pool
    (``PROJECT.svc.id.goog``): the cluster. The pool exists only once a cluster has created it,
    and a binding to one of its members fails before that with ``Identity Pool does not exist``,
    so every binding of a pool member (here, and through :attr:`grant_dependencies` in other
    constructs' grant methods) waits for it.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        props: WorkloadIdentityProps,
        *,
        pool_created_by: Any,
        depends_on: Sequence[Any] = (),
    ):
        super().__init__(scope, id)
        self.props = props
        self.namespace, self.ksa = props.namespace, props.ksa
        self.gsa_email = props.gsa_email if props.mode == "classic" else None
        self.bindings: list[Any] = []
        depends = [*depends_on, pool_created_by]
        if props.mode == "classic":
            if not props.gsa_email:
                raise ValueError("classic mode needs gsa_email")
            self.bindings.append(
                google("service_account_iam_member").ServiceAccountIamMember(
                    self,
                    "wi-user",
                    service_account_id=platform.service_account_name(props.project, props.gsa_email),
                    role=platform.WORKLOAD_IDENTITY_USER_ROLE,
                    member=platform.workload_identity_classic_member(props.project, props.namespace, props.ksa),
                    depends_on=depends,
                )
            )
            self._member = f"serviceAccount:{props.gsa_email}"
            self._grant_dependencies: list[Any] = []  # the Google service account exists before the cluster
        else:
            self._grant_dependencies = [pool_created_by]
            self._member = platform.workload_identity_principal(
                props.project_number, props.project, props.namespace, props.ksa
            )
        pim = google("project_iam_member")
        # (construct id until 2026-12, binding) of each custom role whose binding moved: its id was the
        # role's last segment, which a predefined role of that name (roles/logging.logWriter beside
        # projects/P/roles/logging.logWriter) or "gsa" shared, and synth failed
        self.moved_roles: list[tuple[str, Any]] = []
        for role in props.roles:
            binding = pim.ProjectIamMember(
                self,
                role_construct_id(role),
                project=props.project,
                role=role,
                member=self._member,
                depends_on=depends,
            )
            self.bindings.append(binding)
            if role_construct_id(role) != role.split("/")[-1]:
                self.moved_roles.append((role.split("/")[-1], binding))
        taken = {child.node.id for child in self.node.children}
        if props.mode == "classic":
            taken.add("gsa")  # the Google service account's id here until 2026-12 (the bootstrap creates it now)
        self.moved_roles = [(old, binding) for old, binding in self.moved_roles if old not in taken]

    @property
    def member(self) -> str:
        return self._member

    @property
    def grant_id(self) -> str:
        return self.node.id

    @property
    def grant_dependencies(self) -> Sequence[Any]:
        return self._grant_dependencies
