"""The JobSet controller in the in-cluster layer (pure Python): its namespace, the values of its official chart,
and the hook that waits for its webhook.

Multi-node jobs render as JobSets (:mod:`gkeml.jobs.build`); the controller that runs them comes from the chart
at the version in :mod:`gkeml.platform` (``JOBSET_*``, with the sources). Its webhooks on JobSets and on every
JobSet pod fail closed, in every namespace: the controller runs two replicas with a PodDisruptionBudget (rule
GKE044), and the ``jobset-ready`` release after it holds a pre-install/pre-upgrade hook Job that retries a
server-side dry-run create of a JobSet until the webhook admits it (:mod:`gkeml.manifests.probe`), so the
deploy ends only once a JobSet can be submitted, and Kueue, released after it, finds the JobSet API served.
Nothing is written outside its own namespace (Autopilot manages ``kube-system``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gkeml import platform
from gkeml.config.model import Environment
from gkeml.manifests import Obj, resources
from gkeml.manifests.probe import WebhookProbe, controller_namespace

LABELS = {"gkeml.io/component": "jobset"}
CONTROLLER_RESOURCES = {"cpu": "500m", "memory": "512Mi"}  # the chart's CPU request; memory at Autopilot's 1:1 floor
READY_CHART = "jobset-ready"  # gkeml/charts/jobset-ready, released in the JobSet namespace after the chart
PROBE = "jobset-webhook-probe"
PROBE_MANIFEST = "jobset.yaml"


def chart_values() -> Obj:
    """Values of the official JobSet chart: the released image pinned (the chart's values.yaml names a staging
    image, replaced when it is packaged), requests equal to limits (CPU at the chart's request, memory raised to
    the 1:1 ratio Autopilot would bill anyway), and two controller replicas with a PodDisruptionBudget (its
    webhooks fail closed). The chart's security contexts (non-root, no privilege escalation, every capability
    dropped, read-only root, RuntimeDefault seccomp) meet the restricted Pod Security Standard as they are."""
    return {
        "image": {
            "repository": platform.JOBSET_IMAGE,
            "tag": f"v{platform.JOBSET_VERSION}",
            "pullPolicy": "IfNotPresent",
        },
        "controller": {
            "replicas": platform.JOBSET_CONTROLLER_REPLICAS,
            "podDisruptionBudget": {"enabled": True, "minAvailable": platform.JOBSET_CONTROLLER_MIN_AVAILABLE},
            "resources": resources(CONTROLLER_RESOURCES["cpu"], CONTROLLER_RESOURCES["memory"]),
        },
    }


def namespace_objects() -> list[Obj]:
    """The JobSet namespace (restricted Pod Security: the controller and the probe meet it), denying ingress
    except to the controller's ports: the webhook, which the API server calls, its metrics and its probes."""
    return [
        *controller_namespace(
            platform.JOBSET_NAMESPACE, LABELS, "allow-jobset-controller-ports", tuple(platform.JOBSET_CONTROLLER_PORTS)
        ),
    ]


def webhook_probe() -> WebhookProbe:
    """A hook Job that succeeds once the JobSet webhooks admit a server-side dry-run create of a small JobSet in
    the JobSet namespace (which Kueue does not manage), as a service account that may only create JobSets there.
    The JobSet version is a label of the hook, so that upgrading the chart changes this release and runs it again."""
    probe_jobset = {
        "apiVersion": platform.JOBSET_API,
        "kind": "JobSet",
        "metadata": {"name": f"gkeml-{PROBE}", "namespace": platform.JOBSET_NAMESPACE},
        "spec": {
            "replicatedJobs": [
                {
                    "name": "probe",
                    "template": {
                        "spec": {
                            "template": {
                                "spec": {
                                    "restartPolicy": "Never",
                                    "containers": [{"name": "probe", "image": platform.KUBECTL_IMAGE}],
                                }
                            }
                        }
                    },
                }
            ]
        },
    }
    return WebhookProbe(
        PROBE,
        platform.JOBSET_NAMESPACE,
        {**LABELS, "gkeml.io/jobset-version": platform.JOBSET_VERSION},
        probe_jobset,
        PROBE_MANIFEST,
        {"apiGroups": [platform.JOBSET_GROUP], "resources": ["jobsets"], "verbs": ["create"]},
        cluster_scoped=False,
    )


@dataclass
class JobSetPlan:
    """JobSet in one environment: the namespace objects (``kubernetes_manifest``), the chart values and the
    objects of the ``jobset-ready`` chart (the webhook probe hook)."""

    namespace: list[Obj]
    chart_values: Obj
    webhook_probe: list[Obj] = field(default_factory=list)


def jobset_plan(env: Environment) -> JobSetPlan | None:
    """JobSet's part of ``env``'s in-cluster layer, or None when ``jobset.enabled`` is false."""
    if not env.jobset.enabled:
        return None
    return JobSetPlan(namespace_objects(), chart_values(), webhook_probe().objects())
