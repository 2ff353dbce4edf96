"""Which project-wide IAM roles the config may hand out: ALLOWLISTS, not denylists.

A workload identity (``identities[].roles``) may hold only the roles in
:data:`WORKLOAD_PROJECT_ROLES`: telemetry writers and readers that reach no data and no
identity. Data access is granted per resource (``reads``, ``writes``, ``secrets``), never
project-wide. Every other role is refused with the reason it is dangerous when one is known
(:data:`ESCALATION`). CI may grant only :data:`CI_GRANTABLE_ROLES` (the node service account's
roles, the workload allowlist and :data:`PEOPLE_PROJECT_ROLES`, the one role of a team's people).
Custom roles are allowed only from the environment's own project (their permissions are the project
owner's to review). What people get in a team's namespace is :data:`TEAM_ACCESS`.

Sources (checked 2026-11-30): cloud.google.com/iam/docs/roles-permissions (predefined roles),
cloud.google.com/iam/docs/service-account-permissions (roles that let a principal act as,
mint tokens for or administer service accounts: "privilege escalation"),
cloud.google.com/kubernetes-engine/docs/how-to/workload-identity, CIS GKE Benchmark v1.6 5.2.1.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gkeml import platform

WORKLOAD_PROJECT_ROLES: dict[str, str] = {
    "roles/logging.logWriter": "write log entries",
    "roles/monitoring.metricWriter": "write metrics",
    "roles/monitoring.viewer": "read metrics (e.g. the custom metrics adapter behind HPA External metrics)",
    "roles/cloudtrace.agent": "write traces",
    "roles/cloudprofiler.agent": "write profiles",
    "roles/errorreporting.writer": "report errors",
}

# The Custom Metrics Stackdriver Adapter reads metrics for HPA External metrics
# (GoogleCloudPlatform/k8s-stackdriver custom-metrics-stackdriver-adapter README: monitoring.viewer;
# granted to its KSA's principal:// member by the cloud stack, see gkeml.manifests.metrics_adapter).
METRICS_ADAPTER_ROLE = "roles/monitoring.viewer"
# The node service account's own roles (cluster construct) are granted by CI too.
NODE_SERVICE_ACCOUNT_ROLES: tuple[str, ...] = (platform.NODE_SERVICE_ACCOUNT_ROLE,)
# The only project role a team's people (teams[].members and groups) get: reaching the cluster, nothing in it.
PEOPLE_PROJECT_ROLES: dict[str, str] = {
    platform.CLUSTER_VIEWER_ROLE: "get the cluster's credentials and reach its DNS endpoint (container.clusters.get, "
    "list, connect); no permission on any Kubernetes object, so the namespace RoleBinding alone says what they "
    "may do in the cluster",
}
CI_GRANTABLE_ROLES: tuple[str, ...] = (*NODE_SERVICE_ACCOUNT_ROLES, *WORKLOAD_PROJECT_ROLES, *PEOPLE_PROJECT_ROLES)


@dataclass(frozen=True)
class TeamAccess:
    """What a team member or group with this ``role`` gets in the team's namespace: a RoleBinding to the
    Kubernetes ClusterRole ``cluster_role``; what it allows and what it does not."""

    role: str
    cluster_role: str
    can: str
    cannot: str


# The allowlist of what people may be given in a namespace. gkeml binds Kubernetes' own user-facing roles rather
# than narrower roles of its own: a role without Secrets that still let a person create pods would not keep the
# Secrets from them (a pod may mount any Secret of its namespace and run as any of its service accounts, whatever
# RBAC says about `get secrets`), while it would drift from what Kubernetes and the charts aggregate into view and
# edit (Kueue's Workload and LocalQueue reads). What edit gives is therefore said plainly, from Kubernetes'
# bootstrap policy (kubernetes/kubernetes plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go,
# system:aggregate-to-edit: read and write secrets, impersonate serviceaccounts, create serviceaccounts/token,
# write pods/exec; checked 2026-12-05).
TEAM_ACCESS: dict[str, TeamAccess] = {
    "view": TeamAccess(
        "view",
        platform.TEAM_ACCESS_CLUSTER_ROLES["view"],
        "read the namespace's objects, pod logs, Jobs, Kueue Workloads and queue positions (gkeml job list, status, "
        "logs)",
        "read Secrets (the W&B key in a Launch namespace among them), exec into pods, or create, change or delete "
        "anything",
    ),
    "edit": TeamAccess(
        "edit",
        platform.TEAM_ACCESS_CLUSTER_ROLES["edit"],
        "what view can, and create, change and delete the namespace's workloads (gkeml job submit and delete, "
        "Deployments, Services, ConfigMaps), exec into pods; read the namespace's Secrets (in a Launch namespace "
        "the W&B key) and run pods as, or get tokens for, any of its Kubernetes service accounts, so act with the "
        "IAM grants of its identities (their buckets, secrets and roles); change or delete gkeml's own objects "
        "there (the next deploy puts them back)",
        "change the namespace's ResourceQuota, LimitRange or RoleBindings, reach another namespace, or do anything "
        "in Google Cloud beyond what the namespace's identities may",
    ),
}

ESCALATION: dict[str, str] = {
    "roles/owner": "is a primitive role that can do anything in the project",
    "roles/editor": "is a primitive role that can change almost anything in the project",
    "roles/viewer": "is a primitive role that reads every resource in the project",
    "roles/resourcemanager.projectIamAdmin": "can grant any role in the project, to anyone (including itself)",
    "roles/iam.securityAdmin": "can change any IAM policy in the project",
    "roles/iam.roleAdmin": "can create custom roles holding any permission",
    "roles/iam.serviceAccountAdmin": "can change who may act as any service account",
    "roles/iam.serviceAccountUser": "can act as any service account of the project (iam.serviceAccounts.actAs)",
    "roles/iam.serviceAccountTokenCreator": "can mint access tokens for any service account of the project",
    "roles/iam.serviceAccountKeyAdmin": "can create service account keys",
    "roles/iam.workloadIdentityUser": "project-wide, lets any Kubernetes service account impersonate every "
    "service account of the project",
    "roles/iam.workloadIdentityPoolAdmin": "can let outside identities into the project",
    "roles/secretmanager.secretAccessor": "project-wide, reads every secret of the project; list the secret under "
    "secrets instead",
    "roles/secretmanager.admin": "reads and changes every secret of the project",
    "roles/container.admin": "administers the cluster and every Kubernetes object in it",
    "roles/cloudbuild.builds.editor": "runs builds as the Cloud Build service account",
}
_DATA_SERVICES = (
    "storage",
    "bigquery",
    "spanner",
    "cloudsql",
    "datastore",
    "firestore",
    "bigtable",
    "pubsub",
    "artifactregistry",
)
CUSTOM_ROLE = re.compile(r"^projects/(?P<project>[-a-z0-9]+)/roles/[a-zA-Z0-9_.]+$")


def workload_role_problem(role: str, project_id: str) -> str | None:
    """Why a workload identity of project ``project_id`` may not hold ``role`` project-wide, or None."""
    custom = CUSTOM_ROLE.match(role)
    if custom:
        if custom["project"] != project_id:
            return (
                f"{role} is a custom role of another project ({custom['project']}); only custom roles of "
                f"{project_id} may be granted here"
            )
        return None
    if role in WORKLOAD_PROJECT_ROLES:
        return None
    allowed = ", ".join(WORKLOAD_PROJECT_ROLES)
    reason = ESCALATION.get(role)
    service = role.removeprefix("roles/").split(".")[0]
    if reason is None and service in _DATA_SERVICES:
        reason = "would apply to every resource of that kind in the project; use reads/writes/secrets per resource"
    reason = reason or "is not in the allowlist of project roles a workload may hold"
    return f"{role} {reason}; allowed project roles: {allowed} (or a custom role of {project_id})"


def extension_role_problem(role: str) -> str | None:
    """Why an extension may not grant ``role`` (a role that escalates, or not a role), or None. What an
    extension grants is its author's to review (in the platform repository); the environment's bootstrap must
    still list it in ``ci.grantable_roles``."""
    if not re.fullmatch(r"roles/[a-zA-Z0-9_.]+|projects/[-a-z0-9]+/roles/[a-zA-Z0-9_.]+", role):
        return f"{role!r} is not a role such as roles/cloudsql.client"
    reason = ESCALATION.get(role)
    return f"{role} {reason}; an extension may not grant it" if reason else None
