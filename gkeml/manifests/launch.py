"""Values of the W&B ``launch-agent`` Helm chart (pure Python)."""

from __future__ import annotations

import yaml

from gkeml.config.model import Environment, Launch
from gkeml.manifests import ksa_annotations
from gkeml.naming import Names

AGENT_RESOURCES = {"cpu": "1", "memory": "2Gi"}


def launch_config(launch: Launch) -> str:
    """The chart's ``launchConfig``: a multi-line YAML STRING, not a map."""
    return yaml.safe_dump({
        "entity": launch.entity,
        "queues": [q.name for q in launch.queues],
        "max_jobs": launch.max_jobs,
        "max_schedulers": 1,
        "builder": {"type": launch.builder},
    }, sort_keys=False)


def chart_values(env: Environment, launch: Launch, targets: list[str]) -> dict:
    """Values for the ``launch-agent`` chart; they never contain the API key."""
    agent = env.identity(launch.identity)
    return {
        "namespace": agent.namespace,
        "baseUrl": launch.base_url,
        "additionalTargetNamespaces": targets,
        "agent": {
            "useExternalWandbSecret": True,
            "resources": {"requests": dict(AGENT_RESOURCES), "limits": dict(AGENT_RESOURCES)},
        },
        "serviceAccount": {"annotations": ksa_annotations(Names.of(env), agent) or None},
        "launchConfig": launch_config(launch),
    }
