"""Workload Identity: what a Kubernetes service account is in IAM."""

from __future__ import annotations

from constructs import Construct

from gkeml import platform
from gkeml.config.model import Environment, Identity
from gkeml.framework import google
from gkeml.naming import Names


class WorkloadIdentity(Construct):
    """The IAM identity of one Kubernetes service account (namespace + KSA).

    ``principal`` mode (default): roles are granted directly to the KSA's
    ``principal://`` member; nothing to annotate. ``classic`` mode: a Google
    service account the KSA may impersonate (``roles/iam.workloadIdentityUser``);
    the in-cluster layer must put :attr:`annotations` on the KSA. Grants on
    buckets and secrets go through their ``grant_*`` methods with :attr:`member`.
    """

    def __init__(self, scope: Construct, id: str, env: Environment, identity: Identity,
                 *, depends_on: list | None = None):
        super().__init__(scope, id)
        self.identity = identity
        project = env.project
        self.namespace, self.ksa = identity.namespace, identity.ksa
        self.annotations: dict[str, str] = {}
        self.service_account = None
        if identity.mode == "classic":
            sa, sam = google("service_account"), google("service_account_iam_member")
            self.service_account = sa.ServiceAccount(
                self, "gsa", account_id=Names(env).service_account(identity.name), project=project.id,
                display_name=f"Workload Identity {identity.namespace}/{identity.ksa}", depends_on=depends_on,
            )
            sam.ServiceAccountIamMember(
                self, "wi-user", service_account_id=self.service_account.name,
                role=platform.WORKLOAD_IDENTITY_USER_ROLE,
                member=platform.workload_identity_classic_member(project.id, identity.namespace, identity.ksa),
            )
            self.member = f"serviceAccount:{self.service_account.email}"
            self.annotations = Names(env).ksa_annotations(identity.name)
        else:
            self.member = platform.workload_identity_principal(
                project.number, project.id, identity.namespace, identity.ksa
            )
        pim = google("project_iam_member")
        for role in identity.roles:
            pim.ProjectIamMember(self, role.split("/")[-1], project=project.id, role=role, member=self.member)
