"""Reusable constructs, one concern per module, each taking ``(scope, id, props)``.

Cloud layer: :class:`ProjectServices`, :class:`Network`, :class:`AutopilotCluster`,
:class:`WorkloadIdentity`, :class:`ClusterAccess`, :class:`Bucket`, :class:`PublicEndpoint`, :class:`Secret`; platform
services (modules of their own, wired by ``gkeml/stacks/services.py``): ``DockerRepository``,
``DnsZone``, ``ProjectBudget``, ``Monitoring``, ``Topic``, ``UpgradeNotices``.
In-cluster layer: :class:`TeamNamespace`, :class:`InferenceService`,
:class:`LaunchAgent`, :class:`JobSet`, :class:`LeaderWorkerSetController`, :class:`Kueue`, :class:`MetricsAdapter`,
:class:`KubernetesObjects`.
"""

from gkeml.constructs.binary_authorization import ImagePolicy, ImagePolicyProps
from gkeml.constructs.bucket import PRESETS, Bucket, BucketProps, PurposePreset
from gkeml.constructs.cluster import AutopilotCluster, ClusterProps, MaintenanceExclusion
from gkeml.constructs.endpoint import EndpointProps, PublicEndpoint
from gkeml.constructs.grants import Grantee, Member
from gkeml.constructs.inference_service import InferenceService
from gkeml.constructs.jobset import JobSet
from gkeml.constructs.kubernetes_objects import KubernetesObjects
from gkeml.constructs.kueue import Kueue
from gkeml.constructs.launch_agent import LaunchAgent, LaunchAgentProps
from gkeml.constructs.lws import LeaderWorkerSetController
from gkeml.constructs.metrics_adapter import MetricsAdapter
from gkeml.constructs.network import Network, NetworkProps
from gkeml.constructs.people import ClusterAccess
from gkeml.constructs.project_services import ProjectServices
from gkeml.constructs.secret import Secret, SecretProps
from gkeml.constructs.team_namespace import TeamNamespace
from gkeml.constructs.workload_identity import WorkloadIdentity, WorkloadIdentityProps

__all__ = [
    "PRESETS",
    "AutopilotCluster",
    "Bucket",
    "BucketProps",
    "ClusterAccess",
    "ClusterProps",
    "EndpointProps",
    "Grantee",
    "ImagePolicy",
    "ImagePolicyProps",
    "InferenceService",
    "JobSet",
    "KubernetesObjects",
    "Kueue",
    "LaunchAgent",
    "LeaderWorkerSetController",
    "LaunchAgentProps",
    "MaintenanceExclusion",
    "Member",
    "MetricsAdapter",
    "Network",
    "NetworkProps",
    "ProjectServices",
    "PublicEndpoint",
    "PurposePreset",
    "Secret",
    "SecretProps",
    "TeamNamespace",
    "WorkloadIdentity",
    "WorkloadIdentityProps",
]
