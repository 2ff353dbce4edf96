"""The Autopilot request ranges, checked on an environment's own workloads when it is loaded.

Autopilot refuses a Pod whose requests are above the maximum of its compute class or GPU (rule GKE005)
or whose ephemeral storage is outside its range (GKE007). ``gkeml check`` runs those rules on every
object the toolkit renders; :func:`request_problems` runs the same rules on the pods of the
environment's inference services (the Deployment the in-cluster layer applies) and training budgets
(a pod with the budget's requests and GPU), so that every command that loads the file refuses such a
request at its key, whatever else is configured (a budget amount, or none).
"""

from __future__ import annotations

from collections.abc import Iterator

from gkeml.config.base import Problem
from gkeml.config.model import Environment, TrainingBudget
from gkeml.manifests import Obj, node_selector, resources
from gkeml.manifests.workloads import InferenceManifests
from gkeml.rules.engine import ERROR, check
from gkeml.rules.scheduling import REQUEST_RANGE_RULES

# A rule's field (a container's resource) -> the key of an inference service or training budget that sets it.
_KEYS = {"cpu": "cpu", "memory": "memory"}


def request_problems(env: Environment) -> list[Problem]:
    """Every request of ``env``'s inference services and training budgets that Autopilot would refuse,
    at the key to change (``inference[i].cpu``), with the rule's reason and fix."""
    return list(_inference(env)) + list(_training(env))


def _problems(pod_owner: Obj, where: tuple, fix: bool) -> Iterator[Problem]:
    for finding in check([pod_owner], rules=REQUEST_RANGE_RULES):
        if finding.severity != ERROR:
            continue  # raised by Autopilot, not refused: `gkeml check` reports it
        key = _KEYS.get(finding.field.rsplit(".", 1)[-1])
        path = (*where, key) if key else where
        yield path, f"{finding.message}; {finding.fix if fix else 'lower ' + (key or 'the requests')}"


def _inference(env: Environment) -> Iterator[Problem]:
    identities = {i.name for i in env.identities}
    for i, svc in enumerate(env.inference):
        if svc.identity is not None and svc.identity not in identities:
            continue  # a dangling reference is reported on its own; the Deployment needs the identity
        yield from _problems(InferenceManifests(env, svc).deployment(), ("inference", i), fix=True)


def _training(env: Environment) -> Iterator[Problem]:
    for i, job in enumerate(env.training):
        yield from _problems(_training_pod(job), ("training", i), fix=False)  # a budget names no compute class


def _training_pod(job: TrainingBudget) -> Obj:
    """One pod of a training budget as a job renders it: its requests and GPU selector."""
    selector = node_selector(gpu=job.gpu, gpu_count=job.gpu_count, spot=job.spot)
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": job.name, "namespace": job.team},
        "spec": {
            "nodeSelector": selector,
            "containers": [
                {"name": "trainer", "resources": resources(job.cpu, job.memory, job.gpu_count if job.gpu else 0)}
            ],
        },
    }
