"""Deterministic resource names, derived from the environment's prefix.

Both stacks (and the CLI) compute names here instead of passing Terraform
references across stacks: the in-cluster stack names the static IP and the
certificate of the cloud layer without a ``terraform_remote_state`` lookup.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from gkeml import platform

if TYPE_CHECKING:
    from gkeml.config.model import Environment


class Names:
    """Names of everything an environment creates."""

    def __init__(self, env: "Environment") -> None:
        self.env = env
        self.prefix = env.prefix or env.project.id

    @property
    def cloud_stack(self) -> str:
        return self.env.name

    @property
    def k8s_stack(self) -> str:
        return f"{self.env.name}-k8s"

    @property
    def network(self) -> str:
        return f"{self.prefix}-vpc"

    @property
    def subnet(self) -> str:
        return f"{self.prefix}-{self.env.project.region}"

    @property
    def pods_range(self) -> str:
        return "pods"

    @property
    def services_range(self) -> str:
        return "services"

    @property
    def router(self) -> str:
        return f"{self.prefix}-router"

    @property
    def nat(self) -> str:
        return f"{self.prefix}-nat"

    @property
    def cluster(self) -> str:
        return self.prefix

    @property
    def node_service_account(self) -> str:
        return f"{self.env.name}-gke-nodes"

    def service_account(self, identity: str) -> str:
        """Account id of the Google service account of a classic-mode identity."""
        return f"{self.env.name}-{identity}"

    def service_account_email(self, identity: str) -> str:
        return f"{self.service_account(identity)}@{self.env.project.id}.iam.gserviceaccount.com"

    def ksa_annotations(self, identity: str) -> dict[str, str]:
        """Annotations the Kubernetes service account of ``identity`` needs (classic mode only)."""
        if self.env.identity(identity).mode != "classic":
            return {}
        return {platform.WORKLOAD_IDENTITY_ANNOTATION: self.service_account_email(identity)}

    def bucket(self, name: str) -> str:
        return f"{self.prefix}-{name}"

    @property
    def access_log_bucket(self) -> str:
        return f"{self.prefix}-access-logs"

    def address(self, endpoint: str) -> str:
        return f"{self.prefix}-{endpoint}-ip"

    def certificate(self, endpoint: str) -> str:
        """Managed certificates are immutable: the name carries a hash of the host, so a
        host change creates the new certificate before the old one is released."""
        host = self.env.endpoint(endpoint).host
        return f"{self.prefix}-{endpoint}-{hashlib.sha256(host.encode()).hexdigest()[:6]}"

    def secret(self, name: str) -> str:
        return f"{self.env.name}-{name}"

    def state_prefix(self, stack: str) -> str:
        return f"{self.env.state.prefix.rstrip('/')}/{stack}"
