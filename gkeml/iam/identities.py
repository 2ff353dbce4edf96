"""Who holds which roles, where, and why: the two CI identities the bootstrap stack creates and
the person who applies that stack.

``DEPLOY_ROLES`` and ``PLAN_ROLES`` are granted by ``gkeml/stacks/bootstrap.py`` on the project, and so
are the custom roles it creates (``DEPLOY_CUSTOM_ROLES``, the plan identity's reader); the
state-bucket roles are granted there too, and the deploy identity's roles on the environment's own
service accounts (``DEPLOY_ACCOUNT_ROLES``), which that stack creates
(the test ``tests/test_permissions.py`` checks that the synthesized bootstrap stacks grant exactly
what :func:`deploy_identity` and :func:`plan_identity` say). Whether these roles are ENOUGH, and for
the plan identity whether they write nothing, is proved against the permission model in
``resources.json`` and the role snapshot in ``roles.json`` (see docs/permissions.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from gkeml import platform
from gkeml.iam.model import BILLING_ACCOUNT, PROJECT, SERVICE_ACCOUNT, STATE_BUCKET, Grant, Identity

if TYPE_CHECKING:
    from gkeml.config.bootstrap import Bootstrap
    from gkeml.config.model import Environment


@dataclass(frozen=True)
class CustomRole:
    """A project custom role the bootstrap stack creates: the permissions of ``instead_of`` (a predefined
    role of the snapshot) that the stacks need, where no predefined role has them without reading the
    data of the resources (secret values, objects, images, messages)."""

    role_id: str
    title: str
    instead_of: str
    permissions: tuple[str, ...]
    why: str
    condition: str = ""  # what an IAM condition on its grant leaves out (the bootstrap stack writes it)


# What the DEPLOY identity needs to plan and apply the environment's stacks, and why.
# No primitive role; project IAM admin is limited by condition to ci.grantable_roles. No service-account
# role on the project: the bootstrap stack creates the environment's service accounts and grants the
# deploy identity a role on each of them alone (DEPLOY_ACCOUNT_ROLES), because no IAM condition can limit
# a project-wide roles/iam.serviceAccountAdmin or serviceAccountUser to some accounts
# (cloud.google.com/iam/docs/conditions-resource-attributes lists no resource attribute of
# iam.googleapis.com service accounts, checked 2026-12).
DEPLOY_ROLES: dict[str, str] = {
    "roles/container.admin": "create and update the Autopilot cluster; manage namespaces, RBAC, quotas, "
    "network policies and Helm releases of the in-cluster stack",
    "roles/compute.networkAdmin": "VPC, subnet, Cloud Router, Cloud NAT and the global static IPs of endpoints",
    "roles/compute.securityAdmin": "the VPC firewall rules and the Google-managed SSL certificates of endpoints: "
    "networkAdmin can only read both (no compute.firewalls.create, no "
    "compute.sslCertificates.create); the least predefined role with both "
    "(replaces compute.loadBalancerAdmin, which had the certificates only)",
    "roles/serviceusage.serviceUsageAdmin": "enable the project APIs the cloud stack declares",
    "roles/binaryauthorization.policyEditor": "write the project's Binary Authorization policy (the images the "
    "cluster admits)",
    platform.PROJECT_IAM_ADMIN_ROLE: "grant the node role and the workload identities' roles; an IAM condition "
    "limits it to ci.grantable_roles",
    "roles/dns.admin": "create the public DNS zone and the A records of the endpoint hosts",
    "roles/certificatemanager.owner": "the Certificate Manager certificates, DNS authorizations and certificate "
    "maps of endpoints served by a Gateway (the least predefined role that deletes them: certificatemanager.editor "
    "has no delete)",
    "roles/monitoring.alertPolicyEditor": "create the alert policies",
    "roles/monitoring.notificationChannelEditor": "create the notification channels of alerts and budgets",
    "roles/monitoring.dashboardEditor": "create the environment's dashboard",
    "roles/logging.configWriter": "create the log-based metrics the Job-failure and Spot-preemption alerts count "
    "(the least predefined role with logging.logMetrics.create)",
}
# The condition on the bucket role when the state bucket is in the environment's project (the shipped
# layout): the state bucket keeps its own grants only (the deploy identity's objectAdmin on it), so
# merged code can neither delete that bucket nor change who may read the state.
STATE_BUCKET_EXCLUDED = "every bucket but the state bucket, when that is in the project"
# Where a predefined role would also read the data of what it administers, the deploy identity gets a custom
# role instead: exactly the permissions of that role the stacks need (tests/test_permissions.py proves both:
# a subset of the snapshotted role, and enough). No predefined role of the snapshot (all 2,387 roles of
# darkbitio/gcp-iam-role-permissions @8ab2a6ff, 2026-08-22) holds the create and setIamPolicy permissions
# below without the data read named in each `why`.
DEPLOY_CUSTOM_ROLES: tuple[CustomRole, ...] = (
    CustomRole(
        "gkemlDeploySecrets",
        "gkeml CI deploy: secrets, never their values",
        "roles/secretmanager.admin",
        (
            "secretmanager.secrets.create",
            "secretmanager.secrets.delete",
            "secretmanager.secrets.get",
            "secretmanager.secrets.getIamPolicy",
            "secretmanager.secrets.setIamPolicy",
            "secretmanager.secrets.update",
        ),
        "create the environment's secrets and grant per-secret access to the identities that read them (GKE's "
        "secret sync); instead of roles/secretmanager.admin, which also reads every secret value "
        "(secretmanager.versions.access) and adds versions",
    ),
    CustomRole(
        "gkemlDeployBuckets",
        "gkeml CI deploy: buckets, never their objects' content",
        "roles/storage.admin",
        (
            "storage.buckets.create",
            "storage.buckets.delete",
            "storage.buckets.get",
            "storage.buckets.getIamPolicy",
            "storage.buckets.setIamPolicy",
            "storage.buckets.update",
            "storage.objects.delete",
            "storage.objects.list",
        ),
        "create the dataset/checkpoint/artifact buckets and grant per-bucket access; list and delete objects only "
        "to empty a force_destroy bucket (dev) on destroy; instead of roles/storage.admin, which also reads and "
        "writes every object (storage.objects.get/create), datasets included",
        condition=STATE_BUCKET_EXCLUDED,
    ),
    CustomRole(
        "gkemlDeployRepositories",
        "gkeml CI deploy: Docker repositories, never their images",
        "roles/artifactregistry.admin",
        (
            "artifactregistry.repositories.create",
            "artifactregistry.repositories.delete",
            "artifactregistry.repositories.get",
            "artifactregistry.repositories.getIamPolicy",
            "artifactregistry.repositories.setIamPolicy",
            "artifactregistry.repositories.update",
        ),
        "create the Docker repositories and grant per-repository read (nodes, reader environments) and write (CI "
        "image push); instead of roles/artifactregistry.admin, which also pulls, pushes and deletes images "
        "(repositories.downloadArtifacts/uploadArtifacts/deleteArtifacts)",
    ),
    CustomRole(
        "gkemlDeployTopics",
        "gkeml CI deploy: Pub/Sub topics, never their messages",
        "roles/pubsub.admin",
        (
            "pubsub.topics.create",
            "pubsub.topics.delete",
            "pubsub.topics.get",
            "pubsub.topics.getIamPolicy",
            "pubsub.topics.setIamPolicy",
            "pubsub.topics.update",
        ),
        "create the topics of upgrade notices, budgets and Pub/Sub channels, and grant publish on them; instead "
        "of roles/pubsub.admin, which also publishes, subscribes and consumes every message "
        "(pubsub.topics.publish, pubsub.subscriptions.create/consume)",
    ),
)
# The deploy identity's role on each of the environment's service accounts, by the account's kind
# (gkeml.config.bootstrap.EnvironmentAccount): granted on that account by the bootstrap stack, which creates
# it (cloud.google.com/iam/docs/manage-access-service-accounts: both roles may be granted on one account;
# CIS Google Cloud Foundations Benchmark 1.6: serviceAccountUser on the account, never on the project).
DEPLOY_ACCOUNT_ROLES: dict[str, tuple[str, str]] = {
    "nodes": (
        "roles/iam.serviceAccountUser",
        "let the cluster run its nodes as this account (iam.serviceAccounts.actAs on it, checked by "
        "clusters.create and update); on this account only: the deploy identity can act as no other",
    ),
    "workload": (
        "roles/iam.serviceAccountAdmin",
        "bind the identity's Kubernetes service account to this account (roles/iam.workloadIdentityUser, "
        "iam.serviceAccounts.setIamPolicy on it) once the cluster has made the Workload Identity pool (fact "
        "TF001: the bootstrap runs before any cluster exists); on this account only: it may set no other "
        "account's policy, its own included",
    ),
}
# What the grant of each kind names in docs/permissions.md (the environment's actual accounts differ).
ACCOUNT_PLACEHOLDERS = {
    "nodes": "<env>-gke-nodes@<project>.iam.gserviceaccount.com",
    "workload": "<env>-<identity>@<project>.iam.gserviceaccount.com",
}
# The deploy identity's roles on the billing account (granted there by the bootstrap stack when
# bootstrap/<env>.yaml names billing_account; no project role gives them).
DEPLOY_BILLING_ROLES: dict[str, str] = {
    platform.BUDGET_COSTS_MANAGER_ROLE: "create and update the environment's budget (billing.budgets.*)",
}
# The deploy identity's role on the Terraform state bucket (granted per bucket: it may live in another project).
DEPLOY_STATE_ROLES: dict[str, str] = {
    "roles/storage.objectAdmin": "read and write the state files and their lock objects",
}

# What the PLAN identity needs for `terraform plan` (refresh) of the cloud and in-cluster
# stacks, and why. Read-only predefined roles only; none of them creates, changes or deletes
# anything, and none reads a secret value: no Secret Manager payload (no secretAccessor) and no
# Kubernetes Secret (container.viewer has no container.secrets.get; Helm keeps its release records
# in ConfigMaps, platform.HELM_DRIVER, and Terraform manages no Kubernetes Secret). The state bucket
# is granted apart (see below).
PLAN_ROLES: dict[str, str] = {
    "roles/container.viewer": "read the cluster and every Kubernetes object of the in-cluster stack except "
    "Secrets (namespaces, RBAC, quotas, network policies, custom resources)",
    "roles/compute.networkViewer": "read the VPC, subnet, Cloud Router, Cloud NAT, firewall rules, global static "
    "IPs and Google-managed SSL certificates",
    "roles/iam.securityReviewer": "read service accounts and the IAM policies of the project, service accounts, "
    "buckets and secrets (the *_iam_member resources)",
    "roles/serviceusage.serviceUsageConsumer": "read which project APIs are enabled, and name the project as quota "
    "project: the budget's provider (user_project_override) sends X-Goog-User-Project with every call, its refresh "
    "included, which needs serviceusage.services.use (serviceUsageViewer plus exactly that permission, which "
    "changes nothing)",
    "roles/storage.bucketViewer": "read bucket metadata (not objects) of the dataset/checkpoint/artifact buckets",
    "roles/secretmanager.viewer": "read secret metadata (not payloads) of the environment's secrets",
    "roles/binaryauthorization.policyViewer": "read the project's Binary Authorization policy",
    "roles/dns.reader": "read the DNS zone and its records",
    "roles/certificatemanager.viewer": "read the Certificate Manager certificates, DNS authorizations and "
    "certificate maps of Gateways",
    "roles/monitoring.viewer": "read alert policies, notification channels and the dashboard",
    "roles/pubsub.viewer": "read the topics (their IAM policies come with iam.securityReviewer)",
}
# No read-only predefined role reads Artifact Registry repositories (roles/artifactregistry.viewer and
# .reader also hold repositories.exportArtifacts, a write) or log-based metrics without also reading every
# log entry (roles/logging.viewer): the plan identity gets exactly these two reads through a custom role.
PLAN_READER_ROLE_ID = "gkemlPlanReader"
PLAN_READER_PERMISSIONS = ("artifactregistry.repositories.get", "logging.logMetrics.get")
PLAN_BILLING_ROLES: dict[str, str] = {
    platform.BUDGET_VIEWER_ROLE: "read the environment's budget (billing.budgets.get)",
}
# The plan identity's roles on the Terraform state bucket.
PLAN_STATE_READ_ROLE = "roles/storage.objectViewer"
PLAN_STATE_LOCK_ROLE = "roles/storage.objectUser"
PLAN_STATE_LOCK_WRITES = (
    "IAM condition resource.name.endsWith('.tflock'): terraform plan creates and deletes its lock object "
    "<prefix>/default.tflock; the condition keeps every write of this role off the state files"
)

# What the PERSON who applies bootstrap-<env> needs (docs/bootstrap.md), short of Owner.
BOOTSTRAP_ROLES: dict[str, str] = {
    "roles/serviceusage.serviceUsageAdmin": "enable the project APIs",
    "roles/storage.admin": "create the state bucket and grant the CI identities access to it",
    "roles/iam.serviceAccountAdmin": "create the CI service accounts and the environment's (nodes', classic "
    "identities'), and bind who may impersonate or act as each",
    "roles/iam.workloadIdentityPoolAdmin": "create the GitHub Workload Identity Federation pool and provider",
    platform.PROJECT_IAM_ADMIN_ROLE: "grant the CI identities their project roles",
    "roles/iam.roleAdmin": f"create the custom roles of the CI identities ({PLAN_READER_ROLE_ID}, "
    + ", ".join(r.role_id for r in DEPLOY_CUSTOM_ROLES)
    + ", and for extensions gkemlDeployExtensions, gkemlPlanExtensions)",
}
# On the billing account, when the bootstrap file names one: grant the CI identities their budget roles.
BOOTSTRAP_BILLING_ROLES: dict[str, str] = {
    "roles/billing.admin": "grant the CI identities their roles on the billing account (billing.accounts.setIamPolicy)",
}


def team_member() -> Identity:
    """A person or group of a team (``teams[].members``, ``groups``) as the cloud stack grants it in IAM,
    whichever access level: reaching the cluster is all; what they may do in the cluster is the RoleBinding of
    their team's namespace (:data:`gkeml.config.roles.TEAM_ACCESS`)."""
    from gkeml.config.roles import PEOPLE_PROJECT_ROLES

    return Identity("team member", tuple(Grant(role, PROJECT, why=why) for role, why in PEOPLE_PROJECT_ROLES.items()))


# The custom roles the bootstrap stack creates for the resource types an environment's extensions bring
# (gkeml.config.extensions.extension_permissions): exactly the permissions of their permission-model entries.
DEPLOY_EXTENSIONS_ROLE_ID = "gkemlDeployExtensions"
PLAN_EXTENSIONS_ROLE_ID = "gkemlPlanExtensions"
EXTENSIONS_WHY = "the resource types the environment's extensions bring: exactly the permissions of their entries"


def deploy_identity(
    boot: Bootstrap | None = None, extensions: tuple[str, ...] = (), env: Environment | None = None
) -> Identity:
    """The DEPLOY identity as the bootstrap stack of ``boot`` grants it: its roles on the environment's
    service accounts name those accounts (each grant satisfies only the needs on its own account); without
    ``boot``, on the accounts a bootstrap of ``env`` would create (:func:`gkeml.config.bootstrap.environment_accounts`),
    else one grant per kind of account, on a placeholder (docs/permissions.md). ``extensions``: the
    permissions of the custom role it gets for the environment's extensions (none by default)."""
    grants = [Grant(role, PROJECT, why=why) for role, why in DEPLOY_ROLES.items()]
    if extensions:
        grants.append(Grant(DEPLOY_EXTENSIONS_ROLE_ID, PROJECT, permissions=tuple(extensions), why=EXTENSIONS_WHY))
    grants += [
        Grant(r.role_id, PROJECT, permissions=r.permissions, condition=r.condition, why=r.why)
        for r in DEPLOY_CUSTOM_ROLES
    ]
    accounts: list[tuple[str, str]]
    if boot is not None:
        accounts = [(a.kind, a.email(boot.project.id)) for a in boot.service_accounts]
    elif env is not None:
        from gkeml.config.bootstrap import environment_accounts

        accounts = [(a.kind, a.email(env.project.id)) for a in environment_accounts(env)]
    else:
        accounts = list(ACCOUNT_PLACEHOLDERS.items())
    for kind, email in accounts:
        role, why = DEPLOY_ACCOUNT_ROLES[kind]
        grants.append(Grant(role, SERVICE_ACCOUNT, why=why, limited_to=email))
    grants += [Grant(role, STATE_BUCKET, why=why) for role, why in DEPLOY_STATE_ROLES.items()]
    grants += [Grant(role, BILLING_ACCOUNT, why=why) for role, why in DEPLOY_BILLING_ROLES.items()]
    return Identity("deploy", tuple(grants))


def plan_identity(extensions: tuple[str, ...] = ()) -> Identity:
    """The read-only PLAN identity as the bootstrap stack grants it; ``extensions``: the reads of the custom role
    it gets for the environment's extensions (none by default)."""
    grants = [Grant(role, PROJECT, why=why) for role, why in PLAN_ROLES.items()]
    if extensions:
        grants.append(
            Grant(PLAN_EXTENSIONS_ROLE_ID, PROJECT, permissions=tuple(extensions), why="reads of " + EXTENSIONS_WHY)
        )
    grants.append(
        Grant(
            PLAN_READER_ROLE_ID,
            PROJECT,
            permissions=PLAN_READER_PERMISSIONS,
            why="custom role: read Artifact Registry repositories and log-based metrics",
        )
    )
    grants += [Grant(role, BILLING_ACCOUNT, why=why) for role, why in PLAN_BILLING_ROLES.items()]
    grants += [
        Grant(PLAN_STATE_READ_ROLE, STATE_BUCKET, why="read the state files"),
        Grant(
            PLAN_STATE_LOCK_ROLE,
            STATE_BUCKET,
            condition="objects named *.tflock",
            limited_to="lock",
            why="create and delete the Terraform lock object",
            writes_allowed=PLAN_STATE_LOCK_WRITES,
        ),
    ]
    return Identity("plan", tuple(grants))


def bootstrap_person() -> Identity:
    """The least roles a person (not Owner) needs to apply a bootstrap stack."""
    grants = [Grant(role, PROJECT, why=why) for role, why in BOOTSTRAP_ROLES.items()]
    # once its state is migrated (state.bootstrap_backend: gcs), the state bucket of the project
    grants.append(Grant("roles/storage.admin", STATE_BUCKET, why=BOOTSTRAP_ROLES["roles/storage.admin"]))
    grants += [Grant(role, BILLING_ACCOUNT, why=why) for role, why in BOOTSTRAP_BILLING_ROLES.items()]
    return Identity("bootstrap person", tuple(grants))
