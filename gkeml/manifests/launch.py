"""The W&B Launch agent's side of the in-cluster layer (pure Python): the values of its Helm chart
``launch-agent``, and the objects that put its API key into each namespace it launches into.

The agent meets two other controllers (:data:`gkeml.rules.interactions.INTERACTIONS`): Kueue, which may
keep the Job of a run suspended in its queue for longer than the agent waits for a run to start (so the
agent never gives up on a starting run when it launches into a queue), and GKE's secret sync, which would
change the key under an agent that reads it only when it starts (so the synced version is pinned and the
agent's pod template carries it: a new version restarts the agent)."""

from __future__ import annotations

import yaml

from gkeml import platform
from gkeml.config.model import Environment, Launch
from gkeml.manifests import MANAGED_BY, Obj, ksa_annotations, metadata
from gkeml.naming import Names

AGENT_RESOURCES = {"cpu": "1", "memory": "2Gi"}


def launch_config(launch: Launch) -> str:
    """The chart's ``launchConfig``: a multi-line YAML STRING, not a map."""
    return yaml.safe_dump(
        {
            "entity": launch.entity,
            "queues": [q.name for q in launch.queues],
            "max_jobs": launch.max_jobs,
            "max_schedulers": 1,
            "builder": {"type": launch.builder},
        },
        sort_keys=False,
    )


def start_timeout(env: Environment) -> int:
    """``agent.startTimeout``: how long the agent waits for a run's pod to run before it cancels the run.
    With Kueue a run's Job may wait suspended in its team's queue without bound, so never (0); without,
    the chart's default (the Job's activeDeadlineSeconds applies from its creation)."""
    return 0 if env.kueue.enabled else platform.WANDB_LAUNCH_START_TIMEOUT_DEFAULT


def chart_values(env: Environment, launch: Launch, targets: list[str]) -> dict:
    """Values for the ``launch-agent`` chart; they never contain the API key."""
    agent = env.identity(launch.identity)
    secret = platform.wandb_api_key_secret(launch.release)
    return {
        "namespace": agent.namespace,
        "baseUrl": launch.base_url,
        "additionalTargetNamespaces": targets,
        "agent": {
            # fully qualified, as the Binary Authorization allowlist names it (the chart's default is a short name)
            "image": f"{platform.WANDB_LAUNCH_AGENT_IMAGE}:{platform.WANDB_LAUNCH_AGENT_TAG}",
            # the key comes from the Secret GKE's secret sync keeps (secret_sync_objects), never from values
            "useExternalWandbSecret": True,
            # the agent reads the key when it starts: a new synced version must restart it
            "podAnnotations": {platform.secret_version_annotation(secret): str(launch.api_key_version)},
            "startTimeout": start_timeout(env),
            "resources": {"requests": dict(AGENT_RESOURCES), "limits": dict(AGENT_RESOURCES)},
            # the chart's PodDisruptionBudget defaults to minAvailable 1 for its single replica, which
            # blocks every voluntary eviction (node drains, upgrades); values.yaml: "Set to 0 to enable"
            "minAvailable": 0,
        },
        "serviceAccount": {"annotations": ksa_annotations(Names.of(env), agent) or None},
        "launchConfig": launch_config(launch),
    }


def secret_sync_objects(env: Environment, namespace: str) -> list[Obj]:
    """The W&B API key of ``env`` as the Kubernetes Secret the chart and launched jobs read
    (``wandb-api-key-<release>``, key ``password``), in ``namespace``: GKE's secret sync copies version
    ``launch.api_key_version`` from Secret Manager (pinned, so a rotation never changes the key under the
    agent: a new version is a deploy, which restarts the agent too). ``forceSynchronization`` and the
    Secret's annotation carry the version, so a changed version is synced at once and shows on the
    Secret. Terraform never reads the value: it manages only these three objects (the service account
    the sync acts as, which the cloud stack lets read the secret through Workload Identity)."""
    assert env.launch is not None
    names = Names.of(env)
    name = platform.wandb_api_key_secret(env.launch.release)
    labels = {**MANAGED_BY, "gkeml.io/team": namespace}
    pinned = str(env.launch.api_key_version)
    version = f"projects/{env.project.id}/secrets/{names.secret(env.launch.secret)}/versions/{pinned}"
    secrets = yaml.safe_dump([{"resourceName": version, "path": platform.SECRET_SYNC_SOURCE_PATH}], sort_keys=False)
    return [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": metadata(platform.SECRET_SYNC_SERVICE_ACCOUNT, namespace, labels),
            "automountServiceAccountToken": False,
        },
        {
            "apiVersion": platform.SECRET_PROVIDER_CLASS_API,
            "kind": "SecretProviderClass",
            "metadata": metadata(name, namespace, labels),
            "spec": {"provider": platform.SECRET_SYNC_PROVIDER, "parameters": {"secrets": secrets}},
        },
        {
            "apiVersion": platform.SECRET_SYNC_API,
            "kind": "SecretSync",
            "metadata": metadata(name, namespace, labels),
            "spec": {
                "serviceAccountName": platform.SECRET_SYNC_SERVICE_ACCOUNT,
                "secretProviderClassName": name,
                "forceSynchronization": pinned,
                "secretObject": {
                    "type": "Opaque",
                    "annotations": {platform.secret_version_annotation(name): pinned},
                    "data": [
                        {"sourcePath": platform.SECRET_SYNC_SOURCE_PATH, "targetKey": platform.WANDB_API_KEY_SECRET_KEY}
                    ],
                },
            },
        },
    ]
