"""Workload Identity: what a Kubernetes service account is in IAM."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from gkeml import platform
from gkeml.framework import Construct, TerraformResourceLifecycle, google


@dataclass(frozen=True)
class WorkloadIdentityProps:
    """One Kubernetes service account (namespace + KSA) of a project's cluster, and the
    project roles it holds. ``gsa_account_id`` names the Google service account of classic mode."""

    project_id: str
    project_number: str
    namespace: str
    ksa: str
    mode: Literal["principal", "classic"] = "principal"
    gsa_account_id: str | None = None
    roles: tuple[str, ...] = ()
    prevent_destroy: bool = False  # a re-created Google service account gets a new identity: grants elsewhere break


def role_construct_id(role: str) -> str:
    """The construct id of a project role's binding, from the whole role name: ``logging.logWriter`` for
    roles/logging.logWriter, ``projects-P-roles-logging.logWriter`` for a custom role of project P."""
    return role.removeprefix("roles/").replace("/", "-")


class WorkloadIdentity(Construct):
    """The IAM identity of one Kubernetes service account.

    ``principal`` mode (default): roles are granted directly to the KSA's
    ``principal://`` member; nothing to annotate. ``classic`` mode: a Google
    service account the KSA may impersonate (``roles/iam.workloadIdentityUser``).
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
        self.service_account = None
        self.bindings: list[Any] = []
        depends = [*depends_on, pool_created_by]
        if props.mode == "classic":
            if not props.gsa_account_id:
                raise ValueError("classic mode needs gsa_account_id")
            sa, sam = google("service_account"), google("service_account_iam_member")
            self.service_account = sa.ServiceAccount(
                self,
                "gsa",
                account_id=props.gsa_account_id,
                project=props.project_id,
                display_name=f"Workload Identity {props.namespace}/{props.ksa}",
                depends_on=list(depends_on) or None,
                lifecycle=TerraformResourceLifecycle(prevent_destroy=True) if props.prevent_destroy else None,
            )
            self.bindings.append(
                sam.ServiceAccountIamMember(
                    self,
                    "wi-user",
                    service_account_id=self.service_account.name,
                    role=platform.WORKLOAD_IDENTITY_USER_ROLE,
                    member=platform.workload_identity_classic_member(props.project_id, props.namespace, props.ksa),
                    depends_on=depends,
                )
            )
            self._member = f"serviceAccount:{self.service_account.email}"
            self._grant_dependencies: list[Any] = []  # a Google service account exists once created
        else:
            self._grant_dependencies = [pool_created_by]
            self._member = platform.workload_identity_principal(
                props.project_number, props.project_id, props.namespace, props.ksa
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
                project=props.project_id,
                role=role,
                member=self._member,
                depends_on=depends,
            )
            self.bindings.append(binding)
            if role_construct_id(role) != role.split("/")[-1]:
                self.moved_roles.append((role.split("/")[-1], binding))
        taken = {child.node.id for child in self.node.children}
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
