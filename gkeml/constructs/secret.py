"""A Secret Manager secret whose value never passes through Terraform."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gkeml.constructs.grants import Grantee
from gkeml.framework import Construct, TerraformResourceLifecycle, google


@dataclass(frozen=True)
class SecretProps:
    """A secret's id, project and labels."""

    project: str
    secret_id: str
    labels: Mapping[str, str] = field(default_factory=dict)
    deletion_protection: bool = False  # the provider then refuses to delete it (and every version)


class Secret(Construct):
    """The secret container only: no ``google_secret_manager_secret_version`` is ever
    synthesized, so the value stays out of the Terraform JSON and state. Add it with
    ``gcloud secrets versions add`` (README). Access is per secret via :meth:`grant_access`."""

    def __init__(self, scope: Construct, id: str, props: SecretProps, *, depends_on: Sequence[Any] = ()):
        super().__init__(scope, id)
        sm = google("secret_manager_secret")
        self._iam = google("secret_manager_secret_iam_member")
        self.props = props
        self.secret_id = props.secret_id
        self.secret = sm.SecretManagerSecret(
            self,
            "secret",
            secret_id=props.secret_id,
            project=props.project,
            replication=sm.SecretManagerSecretReplication(auto=sm.SecretManagerSecretReplicationAuto()),
            labels=dict(props.labels) or None,
            deletion_protection=props.deletion_protection or None,
            lifecycle=TerraformResourceLifecycle(prevent_destroy=True) if props.deletion_protection else None,
            depends_on=list(depends_on) or None,
        )

    def grant_access(self, grantee: Grantee) -> Any:
        """Let ``grantee`` read the secret's versions; returns the binding."""
        return self._iam.SecretManagerSecretIamMember(
            self,
            f"accessor-{grantee.grant_id}",
            project=self.secret.project,
            secret_id=self.secret.secret_id,
            role="roles/secretmanager.secretAccessor",
            member=grantee.member,
            depends_on=list(grantee.grant_dependencies) or None,
        )
