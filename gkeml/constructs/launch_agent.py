"""The W&B Launch agent, installed from its real Helm chart."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from constructs import Construct

from gkeml import platform
from gkeml.constructs.team_namespace import TeamNamespace
from gkeml.framework import TerraformStack, ephemeral_secret_value, helm, kubernetes
from gkeml.manifests import to_yaml


@dataclass(frozen=True)
class LaunchAgentProps:
    """The chart release and where the API key comes from."""

    release: str
    chart_version: str
    values: dict[str, Any]
    project: str
    api_key_secret_id: str  # Secret Manager secret id
    api_key_revision: int


class LaunchAgent(Construct):
    """Helm release of ``launch-agent`` (W&B's chart repo, pinned version) in the agent's
    namespace, launching into ``targets``.

    The API key goes from Secret Manager to the Kubernetes Secret the chart reads
    (``wandb-api-key-<release>``, key ``password``) through an ephemeral read and a
    write-only argument: it appears in no synthesized JSON, plan or Terraform state.
    """

    def __init__(self, scope: Construct, id: str, props: LaunchAgentProps, *, namespace: TeamNamespace,
                 targets: list[TeamNamespace]):
        super().__init__(scope, id)
        stack = TerraformStack.of(self)
        namespaces = {t.name: t.namespace for t in [namespace, *targets]}
        api_key = ephemeral_secret_value(stack, "wandb_api_key", secret=props.api_key_secret_id, project=props.project)
        secret_v1 = kubernetes("secret_v1")
        secrets = [
            secret_v1.SecretV1(
                self, f"api-key-{ns}",
                metadata=secret_v1.SecretV1Metadata(
                    name=platform.wandb_api_key_secret(props.release), namespace=ns,
                    labels={"app.kubernetes.io/managed-by": "gkeml"},
                ),
                type="kubernetes.io/basic-auth",
                data_wo={"password": api_key},
                data_wo_revision=props.api_key_revision,
                depends_on=list(namespaces.values()),
            )
            for ns in sorted(namespaces)
        ]
        self.values = props.values
        self.release = helm("release").Release(
            self, "release", name=props.release, namespace=namespace.name,
            repository=platform.WANDB_CHART_REPOSITORY, chart=platform.WANDB_LAUNCH_AGENT_CHART,
            version=props.chart_version, create_namespace=False, atomic=True, wait=True,
            values=[to_yaml([props.values])],
            depends_on=[*namespaces.values(), *secrets],
        )
