"""The W&B Launch agent, installed from its real Helm chart."""

from __future__ import annotations

from constructs import Construct

from gkeml import platform
from gkeml.config.model import Environment, Launch
from gkeml.constructs.team_namespace import TeamNamespace
from gkeml.framework import ephemeral_secret_value, helm, kubernetes
from gkeml.manifests import to_yaml
from gkeml.manifests.launch import chart_values
from gkeml.naming import Names


class LaunchAgent(Construct):
    """Helm release of ``launch-agent`` (W&B's chart repo, pinned version) in the agent
    identity's namespace, launching into the team namespaces.

    The API key goes from Secret Manager to the Kubernetes Secret the chart reads
    (``wandb-api-key-<release>``, key ``password``) through an ephemeral read and a
    write-only argument: it appears in no synthesized JSON, plan or Terraform state.
    """

    def __init__(self, scope: Construct, id: str, env: Environment, launch: Launch, *, stack,
                 targets: list[TeamNamespace]):
        super().__init__(scope, id)
        agent = env.identity(launch.identity)
        namespaces = [t.namespace for t in targets]
        target_names = [t.name for t in targets]
        api_key = ephemeral_secret_value(stack, "wandb_api_key", secret=Names(env).secret(launch.secret),
                                         project=env.project.id)
        secret_v1 = kubernetes("secret_v1")
        secrets = [
            secret_v1.SecretV1(
                self, f"api-key-{ns}",
                metadata=secret_v1.SecretV1Metadata(
                    name=platform.wandb_api_key_secret(launch.release), namespace=ns,
                    labels={"app.kubernetes.io/managed-by": "gkeml"},
                ),
                type="kubernetes.io/basic-auth",
                data_wo={"password": api_key},
                data_wo_revision=launch.api_key_revision,
                depends_on=namespaces,
            )
            for ns in sorted({agent.namespace, *target_names})
        ]
        self.values = chart_values(env, launch, target_names)
        self.release = helm("release").Release(
            self, "release", name=launch.release, namespace=agent.namespace,
            repository=platform.WANDB_CHART_REPOSITORY, chart=platform.WANDB_LAUNCH_AGENT_CHART,
            version=launch.chart_version, create_namespace=False, atomic=True, wait=True,
            values=[to_yaml([self.values])],
            depends_on=[*namespaces, *secrets],
        )
