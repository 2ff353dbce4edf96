"""The people of an environment's teams in IAM: who may reach the cluster."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from gkeml import platform
from gkeml.framework import Construct, google


class ClusterAccess(Construct):
    """``roles/container.clusterViewer`` on the project for each person and group of the teams
    (``user:EMAIL``, ``group:EMAIL``), once each however many teams list them: enough for
    ``gcloud container clusters get-credentials`` and the cluster's DNS endpoint, and no permission on any
    Kubernetes object, so what they may do inside is what the RoleBindings of their team namespaces say
    (in-cluster stack). One binding per principal, keyed by it, so adding or removing one person touches
    only that person's binding."""

    def __init__(
        self, scope: Construct, id: str, *, project: str, principals: Iterable[str], depends_on: Sequence[Any] = ()
    ):
        super().__init__(scope, id)
        pim = google("project_iam_member")
        self.bindings = {
            principal: pim.ProjectIamMember(
                self,
                principal,
                project=project,
                role=platform.CLUSTER_VIEWER_ROLE,
                member=principal,
                depends_on=list(depends_on) or None,
            )
            for principal in dict.fromkeys(principals)
        }
