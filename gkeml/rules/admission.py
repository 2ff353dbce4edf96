"""The rules on a Pod's requests, run on the pods built from a file's keys, with each finding at its key.

Autopilot refuses a Pod whose requests are above the maximum of its compute class or GPU (rule GKE005)
or whose ephemeral storage is above its range (GKE007), and changes (and bills) requests below a minimum
or off the class's ratio (GKE006); the GCS FUSE sidecar of a GPU pod gets less than it asks for above a
cap (GKE027). ``gkeml check`` runs those rules on every object the toolkit renders. The same rules, and
only they, decide for the files the pods are built from, with their own severity: an error refuses the
file at the key to change, a warning is reported beside it (:func:`at_keys`). :func:`request_problems`
runs them on the pods of an environment's inference services (the Deployment the in-cluster layer
applies) and training budgets (a pod with the budget's requests and GPU), so that every command that loads
the file refuses such a request, whatever else is configured (a budget amount, or none);
:mod:`gkeml.jobs.fit` runs them on the pod a job spec renders.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from gkeml.config.base import Problem
from gkeml.config.model import Environment, TrainingBudget
from gkeml.manifests import Obj, node_selector, resources
from gkeml.manifests.workloads import InferenceManifests
from gkeml.registry import ERROR, Finding
from gkeml.rules.engine import check

# The rules on a Pod's requests (the GCS FUSE sidecar its driver injects included).
REQUEST_RULES = ("GKE005", "GKE006", "GKE007", "GKE027")
# A rule's field (a container's resource) -> the key of an inference service or training budget that sets it.
_KEYS = {"cpu": ("cpu",), "memory": ("memory",)}


def request_findings(pod_owner: Obj) -> list[Finding]:
    """:data:`REQUEST_RULES` on one object with pods (they read no neighbour)."""
    return check([pod_owner], rules=REQUEST_RULES)


def at_keys(
    findings: Iterable[Finding], where: tuple, keys: Mapping[str, tuple], fix: bool = True, default: tuple = ()
) -> tuple[list[Problem], list[Problem]]:
    """(errors, warnings) of ``findings`` at the key of the file that sets what each names: ``keys`` maps the
    last part of a finding's field (a container's resource, a sidecar annotation) to the key under ``where``;
    a finding naming none is at ``default`` under ``where``. Each says the rule's reason and its fix (with
    ``fix`` False: "lower" the key, where the rule's fix names what the file cannot set)."""
    errors: list[Problem] = []
    warnings: list[Problem] = []
    for finding in findings:
        key = keys.get(finding.field.rsplit(".", 1)[-1])
        path = (*where, *(key or default))
        said = finding.fix if fix else "lower " + (".".join(key) if key else "the requests")
        (errors if finding.severity == ERROR else warnings).append((path, f"{finding.message}; {said}"))
    return errors, warnings


def request_problems(env: Environment) -> list[Problem]:
    """Every request of ``env``'s inference services and training budgets that Autopilot would refuse,
    at the key to change (``inference[i].cpu``), with the rule's reason and fix."""
    return list(_inference(env)) + list(_training(env))


def _problems(pod_owner: Obj, where: tuple, fix: bool) -> list[Problem]:
    """The errors (what Autopilot changes rather than refuses, a warning, `gkeml check` reports on the
    Deployment the environment renders)."""
    return at_keys(request_findings(pod_owner), where, _KEYS, fix)[0]


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
