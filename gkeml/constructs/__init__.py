"""Reusable constructs, one concern per module.

Cloud layer: :class:`ProjectServices`, :class:`Network`, :class:`AutopilotCluster`,
:class:`WorkloadIdentity`, :class:`Bucket`, :class:`AccessLogBucket`, :class:`PublicEndpoint`, :class:`Secret`.
In-cluster layer: :class:`TeamNamespace`, :class:`InferenceService`,
:class:`LaunchAgent`, :class:`KubernetesObjects`.
"""

from gkeml.constructs.bucket import AccessLogBucket, Bucket
from gkeml.constructs.cluster import AutopilotCluster
from gkeml.constructs.endpoint import PublicEndpoint
from gkeml.constructs.network import Network
from gkeml.constructs.project_services import ProjectServices
from gkeml.constructs.secret import Secret
from gkeml.constructs.workload_identity import WorkloadIdentity
from gkeml.constructs.inference_service import InferenceService
from gkeml.constructs.kubernetes_objects import KubernetesObjects
from gkeml.constructs.launch_agent import LaunchAgent
from gkeml.constructs.team_namespace import TeamNamespace

__all__ = [
    "AccessLogBucket", "AutopilotCluster", "Bucket", "InferenceService", "KubernetesObjects", "LaunchAgent", "Network",
    "ProjectServices", "PublicEndpoint", "Secret", "TeamNamespace", "WorkloadIdentity",
]
