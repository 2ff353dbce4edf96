"""Kueue in the in-cluster layer (pure Python): its namespace, the values of its official chart, and
the queue objects, which reach the cluster through a small local chart.

Why a local chart: ``kubernetes_manifest`` needs an object's CRD when Terraform PLANS, and Kueue's CRDs
come from the Kueue chart of the same apply. A ``helm_release`` is planned without the cluster knowing
its kinds, so the ResourceFlavors, the Cohort, the ClusterQueues and the LocalQueues are the values of
``gkeml/charts/kueue-queues`` (one template that renders ``.Values.objects``), released after Kueue.
Their create calls go through Kueue's admission webhooks, which answer some seconds after the manager
is Ready (see the Kueue facts in :mod:`gkeml.platform`): the chart's pre-install/pre-upgrade hook Job retries a
server-side dry-run create of a ResourceFlavor (Job backoff) until the webhook answers, and only then
does Helm apply the queue objects.

Quota: the ClusterQueue of a team has the team's ``quota`` as nominal quota and may borrow
``kueue.borrowing_limit_percent`` of it from the other teams of the cohort; the team namespace's
ResourceQuota is raised by the same amount (:func:`gkeml.config.kueue.namespace_quota`) so that pods of a
job admitted on borrowed quota are not refused. The arithmetic is in :mod:`gkeml.config.kueue`, where the
checks of the environment file use it too. GPUs are split between the ResourceFlavors ``gpu-spot`` (tainted
like Spot nodes: only pods that tolerate Spot may use it) and ``gpu-on-demand`` (``kueue.spot_gpu_percent``).
The GPUs of each reservation a ComputeClass consumes are a flavor ``reserved-<reservation>`` of their own,
tried first: the cohort holds them (nominal quota = the reserved GPUs), every team's ClusterQueue may borrow
them, and only the pods of such a class (which tolerate the flavor's taint, ``gkeml.io/reservation``) may be
admitted on them. They add to the teams' quota rather than use it: the VMs are paid for anyway.

Priorities and preemption (docs/jobs.md, "Priorities"): each of ``kueue.priorities`` is a
WorkloadPriorityClass, and every queued job names one (``priority:``, else ``kueue.default_priority``).
Within a team's ClusterQueue a pending job preempts running jobs of a LOWER tier when the queue's quota (with
what it may borrow) is full (``withinClusterQueue: LowerPriority``); jobs of the same tier never preempt each
other. Across the cohort fair sharing decides (Kueue's configuration ``fairSharing``): a team whose share of the
borrowed quota is below another's reclaims quota from that team's borrowing jobs whatever their tier
(``reclaimWithinCohort: Any``), taking the lowest tier and the newest first (strategies
``LessThanOrEqualToFinalShare``, then ``LessThanInitialShare``). ``borrowWithinCohort`` is not set: Kueue's fair
sharing ignores it (site/content/en/docs/concepts/preemption.md, "Fair Sharing"; v0.19.2
pkg/scheduler/preemption/preemption.go getTargets). Priorities order the queue too: a higher tier is admitted
first.

Kueue meets other controllers here (the table is :data:`gkeml.rules.interactions.INTERACTIONS`): the
manager runs two replicas with a PodDisruptionBudget because its Job webhook fails closed; no flavor has
node labels, because Kueue would add them to the pods of a job on a ComputeClass, which must select the
class alone; and nothing is written into ``kube-system``, which Autopilot manages (the chart's visibility
RoleBinding there is off, :func:`rbac_objects` grants the same read cluster-wide by name).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml

from gkeml import platform
from gkeml.config.kueue import (
    FLAVOR_DEFAULT,
    FLAVOR_GPU_ON_DEMAND,
    FLAVOR_GPU_SPOT,
    FLAVOR_RESERVED_PREFIX,
    QuotaAmounts,
    borrowing,
    gpu_split,
    reserved_gpus,
)
from gkeml.config.model import Environment, Team
from gkeml.manifests import Obj, metadata, resources
from gkeml.manifests.probe import WebhookProbe, controller_namespace

COHORT = "teams"
CPU_MEMORY = ("cpu", "memory")
LABELS = {"gkeml.io/component": "kueue"}  # Helm adds app.kubernetes.io/managed-by: Helm to what it releases
MANAGER_RESOURCES = {"cpu": "500m", "memory": "512Mi"}  # the chart's requests; limits made equal
# Ports of the Kueue manager (templates/manager/manager.yaml): webhook, visibility API, metrics, probes.
MANAGER_PORTS = (9443, 8082, 8443, 8081)
# Resources Kueue must not count: the pods' ephemeral-storage requests (Kueue blocks a workload that
# requests a resource its ClusterQueue does not cover; apis/config/v1beta2 Resources).
EXCLUDED_RESOURCES = ("ephemeral-storage",)
# Fair sharing between the ClusterQueues of the cohort (apis/config/v1beta2 FairSharing; the chart's example).
FAIR_SHARING_STRATEGIES = ("LessThanOrEqualToFinalShare", "LessThanInitialShare")
REQUEUE_BACKOFF_BASE_SECONDS = 60  # Kueue's defaults, written out (apis/config/v1beta2/defaults.go)
REQUEUE_BACKOFF_MAX_SECONDS = 3600

QUEUES_CHART = "kueue-queues"  # gkeml/charts/kueue-queues, released as kueue-queues in the Kueue namespace
PROBE = "kueue-webhook-probe"
PROBE_MANIFEST = "resourceflavor.yaml"


def local_queue(team: str) -> str:
    """The LocalQueue of a team, in its namespace: what a job's ``queue:`` names."""
    return team


def cluster_queue(team: str) -> str:
    """The ClusterQueue of a team."""
    return team


# --- the queue objects ------------------------------------------------------------------------


def resource_flavors(env: Environment) -> list[Obj]:
    """cpu/memory on any node; GPUs of the Spot share or of the on-demand share; GPUs of each consumed reservation.

    ``gpu-spot`` carries the Spot nodes' taint and no node labels: only pods that tolerate Spot are
    charged to it, and Kueue adds nothing to their nodeSelector. A Spot job selects Spot itself; a job on
    a ComputeClass with a Spot priority tolerates Spot too and keeps selecting its class alone, so the
    class still falls back to its other capacity (with a ``gke-spot`` node label here, Kueue would pin
    such a pod to Spot: rule GKE042).

    A reservation's flavor carries a taint no node has (:func:`reservation_toleration`): only the pods of a
    ComputeClass that consumes that reservation tolerate it, so only they are charged to it, and Kueue adds no
    node label to them either."""
    spot = {"nodeTaints": [{k: platform.SPOT_TOLERATION[k] for k in ("key", "value", "effect")}]}
    flavors: list[tuple[str, Obj]] = [(FLAVOR_DEFAULT, {}), (FLAVOR_GPU_SPOT, spot), (FLAVOR_GPU_ON_DEMAND, {})]
    for flavor in reserved_gpus(env):
        taint = {k: v for k, v in reservation_toleration(flavor).items() if k in ("key", "value", "effect")}
        flavors.append((flavor, {"nodeTaints": [taint]}))
    return [
        {
            "apiVersion": platform.KUEUE_API,
            "kind": "ResourceFlavor",
            "metadata": metadata(name, labels=LABELS),
            "spec": spec,
        }
        for name, spec in flavors
    ]


def reservation_toleration(flavor: str) -> Obj:
    """The toleration that lets Kueue admit a pod on a reservation's flavor (its value: the reservation)."""
    return {
        "key": platform.RESERVATION_TAINT_KEY,
        "operator": "Equal",
        "value": flavor.removeprefix(FLAVOR_RESERVED_PREFIX),
        "effect": "NoSchedule",
    }


def cohort(env: Environment) -> Obj:
    """The cohort every team's ClusterQueue lends to and borrows from; it holds the reserved GPUs."""
    spec: Obj = {}
    reserved = reserved_gpus(env)
    if reserved:
        gpu = platform.GPU_RESOURCE
        spec["resourceGroups"] = [
            {
                "coveredResources": [gpu],
                "flavors": [
                    {"name": flavor, "resources": [{"name": gpu, "nominalQuota": str(n)}]}
                    for flavor, n in reserved.items()
                ],
            }
        ]
    return {
        "apiVersion": platform.KUEUE_API,
        "kind": "Cohort",
        "metadata": metadata(COHORT, labels=LABELS),
        "spec": spec,
    }


def _resource(name: str, nominal: str | int, limit: str | int) -> Obj:
    return {"name": name, "nominalQuota": str(nominal), "borrowingLimit": str(limit)}


def cluster_queue_object(env: Environment, team: Team) -> Obj:
    """The team's ClusterQueue: its quota as nominal quota, in the cohort, only for its own namespace; the
    reserved GPUs first (none of its own: it borrows the cohort's, no limit); it reclaims lent quota by
    preempting borrowers (fair sharing picks whom) and preempts its own lower tiers (module docstring)."""
    borrow = QuotaAmounts.of(team).percent(env.kueue.borrowing_limit_percent)
    gpu = platform.GPU_RESOURCE
    return {
        "apiVersion": platform.KUEUE_API,
        "kind": "ClusterQueue",
        "metadata": metadata(cluster_queue(team.name), labels={**LABELS, "gkeml.io/team": team.name}),
        "spec": {
            "cohortName": COHORT,
            "namespaceSelector": {"matchLabels": {platform.NAMESPACE_NAME_LABEL: team.name}},
            "queueingStrategy": "BestEffortFIFO",
            "resourceGroups": [
                {
                    "coveredResources": list(CPU_MEMORY),
                    "flavors": [
                        {
                            "name": FLAVOR_DEFAULT,
                            "resources": [
                                _resource("cpu", team.quota.cpu, borrow.cpu),
                                _resource("memory", team.quota.memory, borrow.mem),
                            ],
                        }
                    ],
                },
                {
                    "coveredResources": [gpu],
                    "flavors": [
                        {"name": flavor, "resources": [{"name": gpu, "nominalQuota": "0"}]}
                        for flavor in reserved_gpus(env)
                    ]
                    + [
                        {"name": flavor, "resources": [_resource(gpu, n, borrowing(env, n))]}
                        for flavor, n in gpu_split(env, team).items()
                    ],
                },
            ],
            "preemption": {"reclaimWithinCohort": "Any", "withinClusterQueue": "LowerPriority"},
        },
    }


def local_queue_object(team: Team) -> Obj:
    """The LocalQueue jobs of the team name (label ``kueue.x-k8s.io/queue-name``)."""
    return {
        "apiVersion": platform.KUEUE_API,
        "kind": "LocalQueue",
        "metadata": metadata(local_queue(team.name), team.name, {**LABELS, "gkeml.io/team": team.name}),
        "spec": {"clusterQueue": cluster_queue(team.name)},
    }


def priority_class_objects(env: Environment) -> list[Obj]:
    """A WorkloadPriorityClass per tier of ``kueue.priorities``, highest first."""
    priorities = env.kueue.priorities
    return [
        {
            "apiVersion": platform.KUEUE_API,
            "kind": "WorkloadPriorityClass",
            "metadata": metadata(name, labels=LABELS),
            "value": priorities[name],
            "description": f"gkeml tier {name} of {env.name}"
            + (" (the default of a job that names none)" if name == env.kueue.default_priority else ""),
        }
        for name in env.kueue.priority_names()
    ]


def queue_objects(env: Environment) -> list[Obj]:
    """WorkloadPriorityClasses, ResourceFlavors, the Cohort, then a ClusterQueue and a LocalQueue per team."""
    return (
        [*priority_class_objects(env), *resource_flavors(env), cohort(env)]
        + [cluster_queue_object(env, t) for t in env.teams]
        + [local_queue_object(t) for t in env.teams]
    )


# --- the webhook probe (a Helm hook of the queue chart) ---------------------------------------


def webhook_probe() -> WebhookProbe:
    """A pre-install/pre-upgrade hook Job that succeeds once Kueue's webhook admits a server-side dry-run create
    of a ResourceFlavor (:mod:`gkeml.manifests.probe`). It runs in the Kueue namespace, which Kueue's own Job
    webhook never intercepts, as a service account that may only create ResourceFlavors."""
    probe_flavor = {"apiVersion": platform.KUEUE_API, "kind": "ResourceFlavor", "metadata": {"name": f"gkeml-{PROBE}"}}
    return WebhookProbe(
        PROBE,
        platform.KUEUE_NAMESPACE,
        LABELS,
        probe_flavor,
        PROBE_MANIFEST,
        {"apiGroups": [platform.KUEUE_GROUP], "resources": ["resourceflavors"], "verbs": ["create"]},
        cluster_scoped=True,
    )


def webhook_probe_objects() -> list[Obj]:
    """The objects of :func:`webhook_probe`: Helm deletes all of them once the Job succeeded."""
    return webhook_probe().objects()


# --- Kueue itself -----------------------------------------------------------------------------


def frameworks(env: Environment) -> list[str]:
    """The job kinds Kueue manages: batch/v1 Jobs, and JobSets where the JobSet controller is installed."""
    return [platform.BATCH_JOB_KUEUE_FRAMEWORK] + ([platform.JOBSET_KUEUE_FRAMEWORK] if env.jobset.enabled else [])


def manager_config(env: Environment) -> Obj:
    """Kueue's Configuration (``config.kueue.x-k8s.io/v1beta2``): only jobs in team namespaces (opt-in
    label), only batch/v1 Jobs and JobSets (:func:`frameworks`), all-or-nothing admission (waitForPodsReady), fair
    sharing."""
    return {
        "apiVersion": platform.KUEUE_CONFIG_API,
        "kind": "Configuration",
        "manageJobsWithoutQueueName": False,
        "managedJobsNamespaceSelector": {"matchLabels": {platform.KUEUE_MANAGED_NAMESPACE_LABEL: "true"}},
        "waitForPodsReady": {
            "timeout": f"{env.kueue.pods_ready_timeout_minutes}m",
            "blockAdmission": False,
            "requeuingStrategy": {
                "timestamp": "Eviction",
                "backoffBaseSeconds": REQUEUE_BACKOFF_BASE_SECONDS,
                "backoffMaxSeconds": REQUEUE_BACKOFF_MAX_SECONDS,
            },
        },
        "integrations": {"frameworks": frameworks(env)},
        "fairSharing": {"preemptionStrategies": list(FAIR_SHARING_STRATEGIES)},
        "resources": {"excludeResourcePrefixes": list(EXCLUDED_RESOURCES)},
    }


def chart_values(env: Environment) -> Obj:
    """Values of the official Kueue chart: the released image pinned, requests equal to limits, no
    visibility API priority and fairness objects (GKE denies them), no RoleBinding in ``kube-system``
    (Autopilot manages it; :func:`rbac_objects` grants the same read), two manager replicas with a
    PodDisruptionBudget (the Job webhook fails closed: one restarting replica would refuse every Job),
    and :func:`manager_config`."""
    return {
        "enableVisibilityAPF": platform.KUEUE_VISIBILITY_APF,
        platform.KUEUE_VISIBILITY_AUTH_READER_VALUE[0]: False,
        "controllerManager": {
            "replicas": platform.KUEUE_MANAGER_REPLICAS,
            "podDisruptionBudget": {"enabled": True, "minAvailable": platform.KUEUE_MANAGER_MIN_AVAILABLE},
            "manager": {
                "image": {
                    "repository": platform.KUEUE_IMAGE,
                    "tag": f"v{platform.KUEUE_VERSION}",
                    "pullPolicy": "IfNotPresent",
                },
                "resources": resources(MANAGER_RESOURCES["cpu"], MANAGER_RESOURCES["memory"]),
            },
        },
        "managerConfig": {"controllerManagerConfigYaml": yaml.safe_dump(manager_config(env), sort_keys=False)},
    }


def namespace_objects() -> list[Obj]:
    """The Kueue namespace (restricted Pod Security: the manager and the probe meet it), denying ingress
    except to the manager's ports, which the API server calls (webhooks, visibility API)."""
    return [
        *controller_namespace(platform.KUEUE_NAMESPACE, LABELS, "allow-kueue-manager-ports", MANAGER_PORTS),
    ]


VISIBILITY_AUTH_READER = "gkeml-kueue-visibility-auth-reader"


def rbac_objects() -> list[Obj]:
    """What the manager's visibility API server needs instead of the chart's RoleBinding in
    ``kube-system``: read the ``extension-apiserver-authentication`` ConfigMap, through a ClusterRole
    limited to that name (the bootstrap Role's rule) and a ClusterRoleBinding to the manager's account."""
    rbac = "rbac.authorization.k8s.io"
    return [
        {
            "apiVersion": f"{rbac}/v1",
            "kind": "ClusterRole",
            "metadata": metadata(VISIBILITY_AUTH_READER, labels=LABELS),
            "rules": [dict(platform.EXTENSION_APISERVER_AUTHENTICATION_RULE)],
        },
        {
            "apiVersion": f"{rbac}/v1",
            "kind": "ClusterRoleBinding",
            "metadata": metadata(VISIBILITY_AUTH_READER, labels=LABELS),
            "roleRef": {"apiGroup": rbac, "kind": "ClusterRole", "name": VISIBILITY_AUTH_READER},
            "subjects": [
                {
                    "kind": "ServiceAccount",
                    "name": platform.KUEUE_MANAGER_SERVICE_ACCOUNT,
                    "namespace": platform.KUEUE_NAMESPACE,
                }
            ],
        },
    ]


@dataclass
class KueuePlan:
    """Kueue in one environment: the namespace objects and the manager's RBAC (``kubernetes_manifest``),
    the chart values, and the objects of the local queue chart (the queue objects and the webhook probe
    hook)."""

    namespace: list[Obj]
    chart_values: Obj
    queues: list[Obj]
    webhook_probe: list[Obj] = field(default_factory=list)
    rbac: list[Obj] = field(default_factory=list)

    def chart_objects(self) -> list[Obj]:
        """What the queue chart renders: the probe hook, then the queue objects."""
        return self.webhook_probe + self.queues


def kueue_plan(env: Environment) -> KueuePlan | None:
    """Kueue's part of ``env``'s in-cluster layer, or None when ``kueue.enabled`` is false."""
    if not env.kueue.enabled:
        return None
    return KueuePlan(
        namespace_objects(), chart_values(env), queue_objects(env), webhook_probe_objects(), rbac_objects()
    )
