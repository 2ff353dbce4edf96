"""The in-cluster layer as plain Kubernetes objects: team namespaces, inference
services with their exposure (Ingress, Gateway or Inference Gateway), ComputeClasses, and the metrics adapter
their autoscalers need.

The in-cluster stack wraps each object in a ``kubernetes_manifest``; ``gkeml
check`` and the tests read the same dicts, so what is checked is what is applied.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from gkeml import platform
from gkeml import platform_serving as serving
from gkeml.config.exposure import (
    INFERENCE_GATEWAY,
    INGRESS,
    REGIONAL_EXPOSURES,
    inference_gateway_of,
    served_exposures,
)
from gkeml.config.extensions import loaded as loaded_extensions
from gkeml.config.extensions import running as running_extension
from gkeml.config.kueue import namespace_quota
from gkeml.config.model import ComputeClassPolicy, Endpoint, Environment, Inference, Team
from gkeml.config.reservations import RESERVATION, reservation
from gkeml.manifests import (
    MANAGED_BY,
    POD_SECURITY_LABELS,
    Obj,
    container_security_context,
    ksa_annotations,
    metadata,
    model_serving,
    node_selector,
    pod_security_context,
    resources,
)
from gkeml.manifests.gateway import (
    gateway_objects,
    inference_objective_crd,
    inference_pool,
    objective_objects,
    picker_name,
    picker_objects,
)
from gkeml.manifests.jobset import JobSetPlan, jobset_plan
from gkeml.manifests.kueue import KueuePlan, kueue_plan
from gkeml.manifests.launch import secret_sync_objects
from gkeml.manifests.lws import LEADER, LwsPlan, group_policy, leader_worker_set, lws_plan
from gkeml.manifests.metrics_adapter import metrics_adapter_objects, uses_metrics_adapter
from gkeml.manifests.volumes import VolumePlan, storage_objects, volume_plans
from gkeml.naming import Names

# Container defaults for pods that set no requests: Autopilot's general-purpose
# defaults, so what the LimitRange injects is what Autopilot would bill anyway.
DEFAULT_CONTAINER = {
    "cpu": f"{int(platform.DEFAULT_CPU * 1000)}m",
    "memory": f"{int(platform.DEFAULT_MEMORY_GIB)}Gi",
    "ephemeral-storage": f"{int(platform.DEFAULT_EPHEMERAL_GIB)}Gi",
}


# Rolling updates: one new pod before an old one stops, or one old pod stopped first (no extra pod).
ROLLOUTS = {"surge": {"maxSurge": 1, "maxUnavailable": 0}, "replace": {"maxSurge": 0, "maxUnavailable": 1}}


# --- team namespaces ---------------------------------------------------------------


def team_objects(env: Environment, team: Team, exposures: Sequence[Exposure] = ()) -> list[Obj]:
    """Namespace, quota, limits, default-deny network policies, the RoleBindings of its people and the service
    accounts of a team; ``exposures`` of the team's services add the load-balancer allow rule."""
    ns = team.name
    labels = {**MANAGED_BY, "gkeml.io/team": ns}
    kueue = {platform.KUEUE_MANAGED_NAMESPACE_LABEL: "true"} if env.kueue.enabled else {}
    cpu, memory, gpus = namespace_quota(env, team)  # with Kueue: plus what the team may borrow
    objects: list[Obj] = [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": metadata(ns, labels={**labels, **POD_SECURITY_LABELS, **kueue}),
        },
        {
            "apiVersion": "v1",
            "kind": "ResourceQuota",
            "metadata": metadata("team-quota", ns, labels),
            "spec": {
                "hard": {
                    "requests.cpu": cpu,
                    "limits.cpu": cpu,
                    "requests.memory": memory,
                    "limits.memory": memory,
                    platform.GPU_QUOTA_RESOURCE: str(gpus),
                }
            },
        },
        {
            "apiVersion": "v1",
            "kind": "LimitRange",
            "metadata": metadata("container-defaults", ns, labels),
            "spec": {
                "limits": [
                    {"type": "Container", "default": dict(DEFAULT_CONTAINER), "defaultRequest": dict(DEFAULT_CONTAINER)}
                ]
            },
        },
        _network_policy("default-deny-ingress", ns, labels, {"podSelector": {}, "policyTypes": ["Ingress"]}),
        _network_policy(
            "allow-same-namespace",
            ns,
            labels,
            {
                "podSelector": {},
                "policyTypes": ["Ingress"],
                "ingress": [{"from": [{"podSelector": {}}]}],
            },
        ),
    ]
    for policy, sources in LOAD_BALANCER_POLICIES.items():  # what Google's load balancers may reach, and from where
        exposed = [e for e in exposures if e.namespace == ns and e.policy == policy]
        if not exposed:
            continue
        cidrs = list(dict.fromkeys(c for e in exposed for c in (*sources, *e.proxy_ranges)))
        objects.append(
            _network_policy(
                policy,
                ns,
                labels,
                {
                    "podSelector": {
                        "matchExpressions": [
                            {
                                "key": "app.kubernetes.io/name",
                                "operator": "In",
                                "values": list(dict.fromkeys(p for e in exposed for p in e.pods)),
                            }
                        ]
                    },
                    "policyTypes": ["Ingress"],
                    "ingress": [
                        {
                            "from": [{"ipBlock": {"cidr": c}} for c in cidrs],
                            "ports": [
                                {"protocol": "TCP", "port": p} for p in sorted({p for e in exposed for p in e.ports})
                            ],
                        }
                    ],
                },
            )
        )
    objects += team_role_bindings(team, labels)
    names = Names.of(env)
    chart_owned = {env.launch.identity} if env.launch else set()
    for ident in env.identities_in(ns):
        if ident.name in chart_owned:
            continue  # the launch-agent chart creates its own service account
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": metadata(
                    ident.ksa, ns, {**labels, "gkeml.io/identity": ident.name}, ksa_annotations(names, ident) or None
                ),
            }
        )
    return objects


def team_role_bindings(team: Team, labels: dict) -> list[Obj]:
    """One RoleBinding per access level the team's people have (``team-view``, ``team-edit``): its members
    (User) and groups (Group, through Google Groups for RBAC) bound to Kubernetes' ClusterRole of that name
    in the team's namespace only (:data:`gkeml.config.roles.TEAM_ACCESS` says what each allows)."""
    bindings = []
    for role, cluster_role in platform.TEAM_ACCESS_CLUSTER_ROLES.items():
        subjects = team.subjects(role)
        if not subjects:
            continue
        bindings.append(
            {
                "apiVersion": f"{platform.RBAC_API_GROUP}/v1",
                "kind": "RoleBinding",
                "metadata": metadata(f"team-{role}", team.name, labels),
                "roleRef": {"apiGroup": platform.RBAC_API_GROUP, "kind": "ClusterRole", "name": cluster_role},
                "subjects": [
                    {"kind": kind, "name": email, "apiGroup": platform.RBAC_API_GROUP} for kind, email in subjects
                ],
            }
        )
    return bindings


def _network_policy(name: str, ns: str, labels: dict, spec: Obj) -> Obj:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": metadata(name, ns, labels),
        "spec": spec,
    }


# --- ComputeClasses ----------------------------------------------------------------


def compute_class_object(policy: ComputeClassPolicy, env: Environment) -> Obj:
    """A custom ComputeClass: one priority per capacity of its ladder, in order (Spot, on-demand,
    flex-start, a specific reservation: platform.COMPUTE_CLASS_CAPACITY), on the class's GPU or machine
    family; pods select it with the ``cloud.google.com/compute-class`` nodeSelector alone.
    ``migrate_to_preferred`` turns on active migration back to an earlier capacity."""
    base: Obj = {}
    if policy.gpu:
        base["gpu"] = {"type": policy.gpu, "count": policy.gpu_count}
    if policy.machine_family:
        base["machineFamily"] = policy.machine_family

    def rung(capacity: str) -> Obj:
        priority = {**base, **platform.COMPUTE_CLASS_CAPACITY[capacity]}
        if capacity == RESERVATION:
            priority.update(reservation_priority(env, policy))
        return priority

    return {
        "apiVersion": platform.COMPUTE_CLASS_API,
        "kind": "ComputeClass",
        "metadata": metadata(policy.name, labels=MANAGED_BY),
        "spec": {
            "priorities": [rung(c) for c in policy.capacity],
            "activeMigration": {"optimizeRulePriority": policy.migrate_to_preferred},
            "nodePoolAutoCreation": {"enabled": True},
            "whenUnsatisfiable": "DoNotScaleUp",
        },
    }


def reservation_priority(env: Environment, policy: ComputeClassPolicy) -> Obj:
    """What a reservation rung adds to its priority: the reserved VMs' machine type (a non-TPU reservation is
    consumed only by a priority that names one) and the reservation, Specific, with its owner project when it is
    shared from another one, and its block."""
    found = reservation(env, policy.reservation)
    if found is None:  # refused at load (gkeml.config.checks.REFERENCES)
        raise ValueError(f"compute class {policy.name}: unknown reservation {policy.reservation!r}")
    specific: Obj = {"name": found.name}
    if found.owner(env) != env.project.id:
        specific["project"] = found.owner(env)
    if found.block:
        specific["reservationBlock"] = {"name": found.block}
    return {
        "machineType": found.machine,
        "reservations": {"affinity": platform.RESERVATION_AFFINITY, "specific": [specific]},
    }


# --- inference services ------------------------------------------------------------


# The NetworkPolicies that open a team's exposed pods to Google's load balancers, and the ranges each admits:
# Google Front Ends and health checkers for the global load balancers (Ingress, GKE's Gateway); for the regional
# ones (GKE Inference Gateway) also the region's proxy-only subnet, where their Envoy proxies connect from
# (load-balancing/docs/proxy-only-subnets), added by each exposure (Exposure.proxy_ranges).
GLOBAL_LB_POLICY, REGIONAL_LB_POLICY = "allow-google-load-balancers", "allow-regional-load-balancers"
LOAD_BALANCER_POLICIES: dict[str, tuple[str, ...]] = {
    GLOBAL_LB_POLICY: platform.LOAD_BALANCER_HEALTH_CHECK_RANGES,
    REGIONAL_LB_POLICY: platform.LOAD_BALANCER_HEALTH_CHECK_RANGES,
}


@dataclass(frozen=True)
class Exposure:
    """What serving one inference service on a public host through one way (``way``: ingress, gateway or
    inference-gateway) adds: its objects (the Ingress with its BackendConfig and FrontendConfig; or the Gateway,
    its routes and policies, with the InferencePool and its endpoint picker), the Service annotations it needs,
    the pods and ports the namespace must open to Google's load balancers (``policy``, from ``proxy_ranges`` too),
    and the InferenceObjectives applied through a local chart."""

    endpoint: str
    namespace: str
    service: str
    port: int
    service_annotations: dict[str, str]
    objects: list[Obj]
    way: str = INGRESS
    pods: tuple[str, ...] = ()
    ports: tuple[int, ...] = ()
    policy: str = GLOBAL_LB_POLICY
    proxy_ranges: tuple[str, ...] = ()
    chart_objects: list[Obj] = field(default_factory=list)


class InferenceManifests:
    """The objects of one inference service, built from its config entry.

    :meth:`expose` is the single source of everything exposure adds (including the Service
    annotation), so call it before :meth:`workload` when the service is public."""

    def __init__(self, env: Environment, svc: Inference):
        self.env, self.svc = env, svc
        self.ns = svc.team
        self.labels = {**MANAGED_BY, "app.kubernetes.io/name": svc.name, "gkeml.io/team": svc.team}
        self.multi_host = svc.model is not None and svc.model.multi_host
        # every Pod of the service; a multi-host service's Service, metrics and pools select its groups' leaders
        self.group_selector = {"app.kubernetes.io/name": svc.name}
        self.selector = {**self.group_selector, **(LEADER if self.multi_host else {})}
        self.exposures: list[Exposure] = []

    @property
    def service_account(self) -> str:
        if self.svc.identity:
            return self.env.identity(self.svc.identity).ksa
        return platform.DEFAULT_SERVICE_ACCOUNT

    @property
    def workload_kind(self) -> tuple[str, str]:
        """The API version and kind that runs the Pods (what the autoscaler scales)."""
        return (platform.LWS_API, "LeaderWorkerSet") if self.multi_host else ("apps/v1", "Deployment")

    def deployment(self) -> Obj:
        """The Deployment of the service's Pods, or for a multi-host model its LeaderWorkerSet
        (:func:`gkeml.manifests.lws.leader_worker_set`)."""
        svc = self.svc
        probe = {"httpGet": {"path": svc.probe.path, "port": svc.probe.port}}
        container = {
            "name": "server",
            "image": svc.image,
            "ports": [{"name": "http", "containerPort": svc.port, "protocol": "TCP"}],
            "resources": resources(svc.cpu, svc.memory, gpus=svc.gpu_count if svc.gpu else 0),
            "securityContext": container_security_context(read_only_root=True),
            "startupProbe": {**probe, "periodSeconds": 10, "failureThreshold": 60},
            "readinessProbe": {**probe, "periodSeconds": 5, "failureThreshold": 3},
            "livenessProbe": {**probe, "periodSeconds": 10, "failureThreshold": 3},
            "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
        }
        selector = node_selector(gpu=svc.gpu, gpu_count=svc.gpu_count, spot=svc.spot, compute_class=svc.compute_class)
        pod_labels = {**self.labels, **model_serving.labels(svc)}
        pod_spec: Obj = {
            "serviceAccountName": self.service_account,
            "automountServiceAccountToken": False,
            "securityContext": pod_security_context(),
            "containers": [container],
            "volumes": [{"name": "tmp", "emptyDir": {}}],
            "topologySpreadConstraints": [
                {
                    "maxSkew": 1,
                    "topologyKey": platform.ZONE_LABEL,
                    "whenUnsatisfiable": "ScheduleAnyway",
                    "labelSelector": {"matchLabels": self.selector},
                }
            ],
        }
        if selector:
            pod_spec["nodeSelector"] = selector
        cls = self.env.custom_compute_class(svc.compute_class)
        if svc.spot or (cls is not None and cls.uses_spot):
            pod_spec["terminationGracePeriodSeconds"] = platform.SPOT_TERMINATION_GRACE_SECONDS
        if cls is not None and cls.uses_spot:  # GKE taints Spot nodes; a class's Spot priority needs the toleration
            pod_spec["tolerations"] = [dict(platform.SPOT_TOLERATION)]
        bucket = Names.of(self.env).bucket(svc.model.bucket) if svc.model else None
        pod_meta: Obj = {"labels": pod_labels}
        annotations = model_serving.apply(svc, bucket, pod_spec, container)
        if annotations:
            pod_meta["annotations"] = annotations
        if self.multi_host:
            meta = metadata(svc.name, self.ns, self.labels)
            return leader_worker_set(svc, meta, pod_meta, pod_spec, self.group_selector)
        return {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": metadata(svc.name, self.ns, self.labels),
            "spec": {  # no replicas: the HorizontalPodAutoscaler owns the count (rule GKE024)
                "selector": {"matchLabels": self.selector},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": ROLLOUTS[svc.rollout]},
                "template": {"metadata": pod_meta, "spec": pod_spec},
            },
        }

    def service(self) -> Obj:
        annotations = {platform.SERVICE_NEG_ANNOTATION: json.dumps({"ingress": True})}
        for exposure in self.exposures:
            annotations.update(exposure.service_annotations)
        return {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": metadata(self.svc.name, self.ns, self.labels, annotations),
            "spec": {
                "type": "ClusterIP",
                "selector": self.selector,
                "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
            },
        }

    def autoscaler(self) -> Obj:
        a = self.svc.autoscaling
        metrics = []
        for name, target in (("cpu", a.cpu_utilization), ("memory", a.memory_utilization)):
            if target:
                metrics.append(
                    {
                        "type": "Resource",
                        "resource": {"name": name, "target": {"type": "Utilization", "averageUtilization": target}},
                    }
                )
        engine = model_serving.engine_metric(self.svc)
        if engine:
            metrics.append(engine)
        if a.external_metric:
            metric: Obj = {"name": a.external_metric}
            if a.external_selector:
                metric["selector"] = {"matchLabels": dict(a.external_selector)}
            metrics.append(
                {
                    "type": "External",
                    "external": {
                        "metric": metric,
                        "target": {"type": "AverageValue", "averageValue": str(a.external_target)},
                    },
                }
            )
        return {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": metadata(self.svc.name, self.ns, self.labels),
            "spec": {
                "scaleTargetRef": {
                    "apiVersion": self.workload_kind[0],
                    "kind": self.workload_kind[1],
                    "name": self.svc.name,
                },
                "minReplicas": a.min_replicas,
                "maxReplicas": a.max_replicas,
                "metrics": metrics,
            },
        }

    def disruption_budget(self) -> Obj:
        """At most one pod down for voluntary disruptions (upgrades can always proceed)."""
        return {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": metadata(self.svc.name, self.ns, self.labels),
            "spec": {"selector": {"matchLabels": self.group_selector}, "maxUnavailable": 1},
        }

    def workload(self) -> list[Obj]:
        """Deployment, Service, HorizontalPodAutoscaler and PodDisruptionBudget; with a model, the PodMonitoring
        that scrapes the engine's metrics and the NetworkPolicy that lets it. A multi-host service's
        LeaderWorkerSet is not here but in :meth:`chart_workload`; the NetworkPolicy between its groups' Pods is."""
        objects = [] if self.multi_host else [self.deployment()]
        objects += [self.service(), self.autoscaler(), self.disruption_budget()]
        if self.svc.model:
            objects += [
                model_serving.pod_monitoring(self.svc, self.selector, self.labels),
                model_serving.scrape_policy(self.svc, self.selector, self.labels),
            ]
        if self.multi_host:
            objects.append(group_policy(self.svc, self.group_selector, self.labels))
        return objects

    def chart_workload(self) -> list[Obj]:
        """What goes through the local ``leaderworkerset`` chart (a kind whose CRD the same apply installs,
        first-apply fact TF009): a multi-host service's LeaderWorkerSet."""
        return [self.deployment()] if self.multi_host else []

    def expose(self, endpoint_name: str) -> list[Exposure]:
        """Serve on the endpoint's hosts (its host and any it is moving from), through every way it serves (two
        during a migration: gkeml.config.exposure)."""
        endpoint = self.env.endpoint(endpoint_name)
        return [
            self._ingress(endpoint) if way == INGRESS else self._gateway(endpoint, way)
            for way in served_exposures(endpoint)
        ]

    def _gateway(self, endpoint: Endpoint, way: str) -> Exposure:
        """GKE's Gateway or GKE Inference Gateway (gkeml.manifests.gateway) on the cloud layer's static IP and
        Certificate Manager certificates, by NAME."""
        svc = self.svc
        objects = gateway_objects(self.env, svc, endpoint, way, self.labels)
        pods, ports = [svc.name], [svc.port, svc.probe.port]
        chart_objects: list[Obj] = []
        proxy_ranges: tuple[str, ...] = ()
        config = inference_gateway_of(self.env, svc) if way == INFERENCE_GATEWAY else None
        if config is not None:
            team_labels = {**MANAGED_BY, "gkeml.io/team": svc.team}
            objects += [inference_pool(svc, self.selector, self.labels), *picker_objects(svc, config, team_labels)]
            chart_objects = objective_objects(svc, config, self.labels)
            pods.append(picker_name(svc.name))
            ports += [serving.EPP_EXT_PROC_PORT, serving.EPP_HEALTH_PORT]
            proxy_ranges = (str(self.env.network.proxy_only_cidr),) if self.env.network.proxy_only_cidr else ()
        exposure = Exposure(
            endpoint=endpoint.name,
            namespace=self.ns,
            service=svc.name,
            port=svc.port,
            service_annotations={},
            objects=objects,
            way=way,
            pods=tuple(pods),
            ports=tuple(dict.fromkeys(ports)),
            policy=REGIONAL_LB_POLICY if way in REGIONAL_EXPOSURES else GLOBAL_LB_POLICY,
            proxy_ranges=proxy_ranges,
            chart_objects=chart_objects,
        )
        self.exposures.append(exposure)
        return exposure

    def _ingress(self, endpoint: Endpoint) -> Exposure:
        """GKE Ingress with the cloud layer's global static IP and managed certificates by NAME (several are
        comma-separated; the load balancer picks one by SNI), HTTP->HTTPS redirect, health check on the probe
        path."""
        names = Names.of(self.env)
        endpoint_name = endpoint.name
        frontend = f"{self.svc.name}-https-redirect"
        path = {
            "path": "/",
            "pathType": "Prefix",
            "backend": {"service": {"name": self.svc.name, "port": {"name": "http"}}},
        }
        objects = [
            {
                "apiVersion": platform.BACKEND_CONFIG_API,
                "kind": "BackendConfig",
                "metadata": metadata(self.svc.name, self.ns, self.labels),
                "spec": {
                    "healthCheck": {
                        "type": "HTTP",
                        "requestPath": self.svc.probe.path,
                        "port": self.svc.probe.port,
                        "checkIntervalSec": 15,
                    },
                    **({"timeoutSec": endpoint.timeout_seconds} if endpoint.timeout_seconds else {}),
                },
            },
            {
                "apiVersion": platform.FRONTEND_CONFIG_API,
                "kind": "FrontendConfig",
                "metadata": metadata(frontend, self.ns, self.labels),
                "spec": {"redirectToHttps": {"enabled": True, "responseCodeName": "MOVED_PERMANENTLY_DEFAULT"}},
            },
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "Ingress",
                "metadata": metadata(
                    self.svc.name,
                    self.ns,
                    self.labels,
                    {
                        platform.INGRESS_CLASS_ANNOTATION: platform.INGRESS_CLASS_EXTERNAL,
                        platform.INGRESS_STATIC_IP_ANNOTATION: names.address(endpoint_name),
                        platform.INGRESS_PRE_SHARED_CERT_ANNOTATION: ",".join(
                            names.certificate(endpoint_name, host) for host in endpoint.served_hosts
                        ),
                        platform.INGRESS_FRONTEND_CONFIG_ANNOTATION: frontend,
                    },
                ),
                "spec": {"rules": [{"host": host, "http": {"paths": [path]}} for host in endpoint.served_hosts]},
            },
        ]
        exposure = Exposure(
            endpoint=endpoint_name,
            namespace=self.ns,
            service=self.svc.name,
            port=self.svc.port,
            service_annotations={platform.SERVICE_BACKEND_CONFIG_ANNOTATION: json.dumps({"default": self.svc.name})},
            objects=objects,
            pods=(self.svc.name,),
            ports=tuple(dict.fromkeys([self.svc.port, self.svc.probe.port])),
        )
        self.exposures.append(exposure)
        return exposure


@dataclass
class ServicePlan:
    """One inference service: its workload objects and, when public, its exposures (one per way its endpoint
    serves: two during a migration)."""

    name: str
    team: str
    workload: list[Obj]
    exposures: list[Exposure] = field(default_factory=list)
    chart_workload: list[Obj] = field(default_factory=list)  # a multi-host model's LeaderWorkerSet (local chart)


@dataclass
class InClusterPlan:
    """Every Kubernetes object of the in-cluster layer, grouped the way the stack applies them.

    The stack instantiates exactly this plan and the CLI, the checks and the tests read
    :meth:`objects`, so what is checked is what is applied, by construction."""

    compute_classes: list[Obj] = field(default_factory=list)
    crds: list[Obj] = field(default_factory=list)  # the CRDs gkeml installs (InferenceObjective's, when used)
    metrics_adapter: list[Obj] = field(default_factory=list)  # [Namespace, ..., APIServices] when an HPA needs it
    teams: dict[str, list[Obj]] = field(default_factory=dict)  # team -> [Namespace, ...]
    services: list[ServicePlan] = field(default_factory=list)
    launch_keys: dict[str, list[Obj]] = field(default_factory=dict)  # team -> W&B key sync objects
    kueue: KueuePlan | None = None  # its namespace is applied here; its queue objects through Helm
    jobset: JobSetPlan | None = None  # its namespace is applied here; the controller and its probe through Helm
    lws: LwsPlan | None = None  # the same for LeaderWorkerSet, when a service spans several nodes
    extensions: dict[str, list[Obj]] = field(default_factory=dict)  # extension name -> its objects (team namespaces)
    storage: list[Obj] = field(default_factory=list)  # the volumes' StorageClasses and what they share
    volumes: list[VolumePlan] = field(default_factory=list)  # each volume's source objects and claim

    def objectives(self) -> dict[str, list[Obj]]:
        """The objects applied through gkeml's local ``inference-objectives`` chart, one release per team (their
        kind's CRD is applied in the same apply): the InferenceObjectives of the team's services."""
        by_team: dict[str, list[Obj]] = {}
        for svc in self.services:
            for exposure in svc.exposures:
                if exposure.chart_objects:
                    by_team.setdefault(svc.team, []).extend(exposure.chart_objects)
        return by_team

    def objects(self) -> list[Obj]:
        """Every object applied as a ``kubernetes_manifest``, in apply order: cluster-scoped first, the
        metrics adapter, the JobSet and Kueue namespaces, per team, services, the W&B key's sync objects, the
        extensions' objects, then each volume's source and claim."""
        out = list(self.compute_classes) + self.crds + self.storage + self.metrics_adapter
        if self.jobset:
            out += self.jobset.namespace
        if self.lws:
            out += self.lws.namespace
        if self.kueue:
            out += self.kueue.namespace + self.kueue.rbac
        for objects in self.teams.values():
            out += objects
        for svc in self.services:
            out += svc.workload
            for exposure in svc.exposures:
                out += exposure.objects
        for objects in self.launch_keys.values():
            out += objects
        for objects in self.extensions.values():
            out += objects
        for volume in self.volumes:
            out += [*volume.sources, volume.claim]
        return out


def in_cluster_plan(env: Environment) -> InClusterPlan:
    """The plan of ``env``'s in-cluster layer."""
    plan = InClusterPlan(
        compute_classes=[compute_class_object(p, env) for p in env.compute_classes],
        kueue=kueue_plan(env),
        jobset=jobset_plan(env),
        lws=lws_plan(env),
        storage=storage_objects(env),
        volumes=volume_plans(env),
    )
    exposures = []
    for svc in env.inference:
        manifests = InferenceManifests(env, svc)
        served = manifests.expose(svc.endpoint) if svc.endpoint else []
        exposures += served
        plan.services.append(ServicePlan(svc.name, svc.team, manifests.workload(), served, manifests.chart_workload()))
    if any(e.chart_objects for e in exposures):  # GKE does not install InferenceObjective's CRD
        plan.crds.append(inference_objective_crd())
    if uses_metrics_adapter(obj for svc in plan.services for obj in svc.workload):
        plan.metrics_adapter = metrics_adapter_objects()
    for team in env.teams:
        plan.teams[team.name] = team_objects(env, team, exposures)
    for team_name in env.launch_teams():
        plan.launch_keys[team_name] = secret_sync_objects(env, team_name)
    for index, extension in loaded_extensions(env):
        with running_extension(env, index, "building its Kubernetes objects"):
            plan.extensions[extension.name] = [dict(obj) for obj in extension.kubernetes_objects()]
    return plan


def in_cluster_objects(env: Environment) -> list[Obj]:
    """Every Kubernetes object the in-cluster layer of ``env`` applies (Helm chart
    contents excluded), in apply order."""
    return in_cluster_plan(env).objects()
