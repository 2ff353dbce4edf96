"""The W&B Launch agent, installed from its real Helm chart."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gkeml import platform
from gkeml.constructs.kubernetes_objects import KubernetesObjects
from gkeml.constructs.team_namespace import TeamNamespace
from gkeml.framework import Construct, helm
from gkeml.manifests import Obj, to_yaml


@dataclass(frozen=True)
class LaunchAgentProps:
    """The chart release: its name, chart version and values (never the API key)."""

    release: str
    chart_version: str
    values: dict[str, Any]


class LaunchAgent(Construct):
    """Helm release of ``launch-agent`` (W&B's chart repo, pinned version) in the agent's
    namespace, launching into ``targets``.

    The API key reaches each target namespace as the Secret the chart reads
    (``wandb-api-key-<release>``, key ``password``) through GKE's secret sync (``key_objects``,
    from :func:`gkeml.manifests.launch.secret_sync_objects`): Terraform never reads it, so it is in
    no synthesized JSON, plan or Terraform state, and no CI identity needs to read it. The release
    does not wait for the agent to become ready: until a key version exists in Secret Manager the
    agent cannot start, and a deploy must not fail (or roll back) for that (README, "Deploying").
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        props: LaunchAgentProps,
        *,
        namespace: TeamNamespace,
        targets: list[TeamNamespace],
        key_objects: dict[str, list[Obj]],
    ):
        super().__init__(scope, id)
        keys = [
            KubernetesObjects(self, f"api-key-{t.name}", key_objects[t.name], depends_on=[t.namespace]) for t in targets
        ]
        self.values = props.values
        self.release = helm("release").Release(
            self,
            "release",
            name=props.release,
            namespace=namespace.name,
            repository=platform.WANDB_CHART_REPOSITORY,
            chart=platform.WANDB_LAUNCH_AGENT_CHART,
            version=props.chart_version,
            create_namespace=False,
            atomic=False,
            wait=False,
            values=[to_yaml([props.values])],
            depends_on=[namespace.namespace, *(t.namespace for t in targets), *(r for k in keys for r in k.resources)],
        )
