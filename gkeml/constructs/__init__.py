"""Reusable constructs, one concern per module.

Cloud layer: :class:`ProjectServices`, :class:`Network`, :class:`AutopilotCluster`,
:class:`WorkloadIdentity`, :class:`Bucket`, :class:`PublicEndpoint`, :class:`Secret`.
"""

from gkeml.constructs.bucket import Bucket
from gkeml.constructs.cluster import AutopilotCluster
from gkeml.constructs.endpoint import PublicEndpoint
from gkeml.constructs.network import Network
from gkeml.constructs.project_services import ProjectServices
from gkeml.constructs.secret import Secret
from gkeml.constructs.workload_identity import WorkloadIdentity

__all__ = [
    "AutopilotCluster", "Bucket", "Network", "ProjectServices", "PublicEndpoint", "Secret", "WorkloadIdentity",
]
