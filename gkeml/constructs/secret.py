"""A Secret Manager secret whose value never passes through Terraform."""

from __future__ import annotations

from constructs import Construct

from gkeml.config.model import Environment
from gkeml.constructs.workload_identity import WorkloadIdentity
from gkeml.framework import google
from gkeml.naming import Names


class Secret(Construct):
    """The secret container only: no ``google_secret_manager_secret_version`` is ever
    synthesized, so the value stays out of the Terraform JSON and state. Add it with
    ``gcloud secrets versions add`` (README). Access is per secret via :meth:`grant_access`."""

    def __init__(self, scope: Construct, id: str, env: Environment, name: str, *, depends_on: list | None = None):
        super().__init__(scope, id)
        sm = google("secret_manager_secret")
        self._iam = google("secret_manager_secret_iam_member")
        self.secret_id = Names(env).secret(name)
        self.secret = sm.SecretManagerSecret(
            self, "secret", secret_id=self.secret_id, project=env.project.id,
            replication=sm.SecretManagerSecretReplication(auto=sm.SecretManagerSecretReplicationAuto()),
            labels={"gkeml-env": env.name}, depends_on=depends_on,
        )

    def grant_access(self, identity: WorkloadIdentity) -> None:
        """Let ``identity`` read the secret's versions."""
        self._iam.SecretManagerSecretIamMember(
            self, f"accessor-{identity.node.id}", project=self.secret.project, secret_id=self.secret.secret_id,
            role="roles/secretmanager.secretAccessor", member=identity.member,
        )
