"""The bootstrap stack of one environment: ``bootstrap-<env>``, applied once by a person.

It creates what the environment's own stacks need before their first deploy:
the Terraform state bucket, every project API its stacks use (and a wait while they propagate), two CI identities, service
accounts GitHub Actions impersonates through Workload Identity Federation (no
key exists): a read-only PLAN identity any workflow run of the repository may
use (pull-request diffs), and the DEPLOY identity only jobs of the default
branch running in the environment's GitHub environment may use; and the environment's own
service accounts (the nodes', each classic identity's), on which alone the deploy identity gets
the roles its stacks need (it holds no service-account role on the project). Its own state
is LOCAL on the first run (the bucket does not exist yet) and can be migrated
into the bucket afterwards (``state.bootstrap_backend: gcs``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from gkeml import platform
from gkeml.config.bootstrap import Bootstrap, state_objects
from gkeml.constructs import PRESETS, Bucket, BucketProps, ProjectServices
from gkeml.framework import (
    Construct,
    GcsBackend,
    TerraformOutput,
    TerraformResourceLifecycle,
    TerraformStack,
    core,
    declare_terraform_version,
    google,
    google_provider,
    pin_google_provider,
    record_release,
    time_sleep,
)
from gkeml.iam.identities import (
    DEPLOY_ACCOUNT_ROLES,
    DEPLOY_BILLING_ROLES,
    DEPLOY_CUSTOM_ROLES,
    DEPLOY_EXTENSIONS_ROLE_ID,
    DEPLOY_ROLES,
    DEPLOY_STATE_ROLES,
    PLAN_BILLING_ROLES,
    PLAN_EXTENSIONS_ROLE_ID,
    PLAN_READER_PERMISSIONS,
    PLAN_READER_ROLE_ID,
    PLAN_ROLES,
    PLAN_STATE_LOCK_ROLE,
    PLAN_STATE_READ_ROLE,
    STATE_BUCKET_EXCLUDED,
)
from gkeml.naming import BOOTSTRAP_STATE_PREFIX, gkeml_labels

# Relative to the stack's working directory <app>/cdktf.out/stacks/<stack>: the state file
# sits next to the app's cdktf.json, outside cdktf.out, so no re-synthesis can remove it.
LOCAL_STATE_PATH = "../../../terraform.{stack}.tfstate"


class BootstrapStack(TerraformStack):
    """State bucket, APIs and the GitHub Actions plan and deploy identities of one environment."""

    def __init__(self, scope: Construct, boot: Bootstrap):
        super().__init__(scope, stack_name(boot.name))
        self.boot = boot
        project = boot.project.id
        if boot.state.bootstrap_backend == "gcs":
            GcsBackend(self, bucket=boot.state.bucket, prefix=f"{BOOTSTRAP_STATE_PREFIX}/{boot.name}")
        else:
            core.LocalBackend(self, path=LOCAL_STATE_PATH.format(stack=stack_name(boot.name)))
        google_provider(
            self,
            project=project,
            region=boot.project.region,
            default_labels={**boot.project.labels, **gkeml_labels(boot.name, layer="bootstrap")},
        )
        pin_google_provider(self)
        declare_terraform_version(self)
        record_release(self)
        # every API the environment's stacks use, then a wait: an API enabled seconds ago may still answer
        # SERVICE_DISABLED (fact TF006), here and in the first cloud deploy if it came right after
        enabled = ProjectServices(self, "apis", project=project, services=boot.apis).services
        apis = [
            time_sleep(
                self,
                "apis-propagated",
                seconds=platform.API_PROPAGATION_SECONDS,
                depends_on=enabled,
                triggers={"apis": ",".join(boot.apis)},
            )
        ]
        self.state_bucket = self._state_bucket(apis) if boot.state.create else None
        self.deploy_service_account = self._deploy_service_account(apis)
        self.plan_service_account = self._plan_service_account(apis)
        self.push_service_account = self._push_service_account(apis) if boot.ci.push_service_account else None
        self.environment_accounts = self._environment_accounts(apis)
        self._billing_grants()
        self.provider = self._github_federation(apis)
        self._outputs()

    def _state_bucket(self, apis: list) -> Bucket:
        state = self.boot.state
        bucket = Bucket(
            self,
            "state-bucket",
            BucketProps(
                name=state.bucket,
                project=self.boot.state_project,
                location=(state.location or self.boot.project.region).upper(),
                preset=dataclasses.replace(PRESETS["terraform-state"], keep_newer_versions=state.noncurrent_versions),
                prevent_destroy=True,
            ),
            depends_on=apis,
        )  # the storage API may not be usable yet in a new project
        bucket.bucket.override_logical_id("state")  # the address it has always had: never re-created
        return bucket

    def _state_condition(self, title: str, description: str, extra: str = ""):
        """An IAM condition limiting a state-bucket grant to this environment's objects, when the
        bucket is shared (state.project is a project of its own); None for a bucket of its own."""
        boot = self.boot
        if boot.state_project == boot.project.id:
            if not extra:
                return None
            expression = extra
        else:
            expression = platform.state_objects_condition(boot.state.bucket, state_objects(boot))
            if extra:
                expression = f"({expression}) && {extra}"
        sbim = google("storage_bucket_iam_member")
        return sbim.StorageBucketIamMemberCondition(title=title, description=description, expression=expression)

    def _state_grant(self, id: str, role: str, member: str, condition) -> None:
        """A grant on the state bucket (created here, or by another bootstrap file), at the stack's top
        level so its address never moves."""
        google("storage_bucket_iam_member").StorageBucketIamMember(
            self,
            id,
            bucket=self.boot.state.bucket,
            role=role,
            member=member,
            condition=condition,
            depends_on=[self.state_bucket.bucket] if self.state_bucket else None,
        )

    def _deploy_service_account(self, apis: list):
        boot = self.boot
        sa = google("service_account").ServiceAccount(
            self,
            "ci",
            project=boot.project.id,
            account_id=boot.ci.service_account,
            display_name=f"gkeml CI deploy ({boot.github.repository}, {boot.name})",
            description=f"GitHub Actions runs of {boot.github.deploy_ref} via Workload Identity Federation; no keys.",
            depends_on=apis,
        )
        member = f"serviceAccount:{sa.email}"
        pim = google("project_iam_member")
        for role in DEPLOY_ROLES:
            condition = None
            if role == platform.PROJECT_IAM_ADMIN_ROLE:
                condition = pim.ProjectIamMemberCondition(
                    title="gkeml-grantable-roles",
                    description="CI may grant only the roles listed in ci.grantable_roles",
                    expression=platform.grant_only_roles_condition(boot.ci.grantable_roles),
                )
            pim.ProjectIamMember(
                self,
                f"ci-{role.split('/')[-1].replace('.', '-')}",
                project=boot.project.id,
                role=role,
                member=member,
                condition=condition,
            )
        for custom in DEPLOY_CUSTOM_ROLES:  # instead of admin roles that also read the data they administer
            created = google("project_iam_custom_role").ProjectIamCustomRole(
                self,
                f"deploy-{custom.role_id}",
                project=boot.project.id,
                role_id=custom.role_id,
                title=custom.title,
                description=f"Instead of {custom.instead_of}: only what gkeml's stacks need (docs/permissions.md)",
                permissions=list(custom.permissions),
                depends_on=apis,
            )
            condition = None
            if custom.condition == STATE_BUCKET_EXCLUDED and boot.state_project == boot.project.id:
                condition = pim.ProjectIamMemberCondition(
                    title="gkeml-not-the-state-bucket",
                    description=f"every bucket of the project but the Terraform state bucket {boot.state.bucket}",
                    expression=platform.all_buckets_but_condition(boot.state.bucket),
                )
            pim.ProjectIamMember(
                self,
                f"ci-{custom.role_id}",
                project=boot.project.id,
                role=created.name,
                member=member,
                condition=condition,
            )
        if boot.extension_permissions.deploy:
            self._extension_role(DEPLOY_EXTENSIONS_ROLE_ID, boot.extension_permissions.deploy, member, apis)
        (state_role,) = DEPLOY_STATE_ROLES
        self._state_grant(
            "ci-state",
            state_role,
            member,
            self._state_condition("gkeml-own-state", f"only the state objects of {boot.name}"),
        )
        return sa

    def _extension_role(self, role_id: str, permissions: tuple[str, ...], member: str, apis: list) -> None:
        """A custom role with exactly ``permissions`` (those of the permission-model entries the environment's
        extensions bring, gkeml.config.extensions.extension_permissions), granted to ``member``."""
        boot = self.boot
        role = google("project_iam_custom_role").ProjectIamCustomRole(
            self,
            role_id,
            project=boot.project.id,
            role_id=role_id,
            title=f"gkeml CI: the resource types of {boot.name}'s extensions",
            description="Exactly the permissions of the permission-model entries the extensions bring "
            "(docs/extensions.md)",
            permissions=list(permissions),
            depends_on=apis,
        )
        google("project_iam_member").ProjectIamMember(
            self, f"ci-{role_id}", project=boot.project.id, role=role.name, member=member
        )

    def _plan_service_account(self, apis: list):
        boot = self.boot
        sa = google("service_account").ServiceAccount(
            self,
            "ci-plan",
            project=boot.project.id,
            account_id=boot.ci.plan_service_account,
            display_name=f"gkeml CI plan, read-only ({boot.github.repository}, {boot.name})",
            description="GitHub Actions runs of any ref (pull-request diffs) via Workload Identity Federation; "
            "read-only; no keys.",
            depends_on=apis,
        )
        member = f"serviceAccount:{sa.email}"
        pim = google("project_iam_member")
        for role in PLAN_ROLES:
            pim.ProjectIamMember(
                self,
                f"ci-plan-{role.split('/')[-1].replace('.', '-')}",
                project=boot.project.id,
                role=role,
                member=member,
            )
        reader = google("project_iam_custom_role").ProjectIamCustomRole(
            self,
            "plan-reader",
            project=boot.project.id,
            role_id=PLAN_READER_ROLE_ID,
            title="gkeml CI plan: registry and log-metric reads",
            description="Reads no predefined read-only role gives without more (docs/permissions.md)",
            permissions=list(PLAN_READER_PERMISSIONS),
            depends_on=apis,
        )
        pim.ProjectIamMember(self, "ci-plan-reader", project=boot.project.id, role=reader.name, member=member)
        if boot.extension_permissions.plan:
            self._extension_role(PLAN_EXTENSIONS_ROLE_ID, boot.extension_permissions.plan, member, apis)
        self._state_grant(
            "ci-plan-state-read",
            PLAN_STATE_READ_ROLE,
            member,
            self._state_condition("gkeml-own-state", f"only the state objects of {boot.name}"),
        )
        self._state_grant(
            "ci-plan-state-lock",
            PLAN_STATE_LOCK_ROLE,
            member,
            self._state_condition(
                "gkeml-state-lock-only",
                "create and delete Terraform lock objects; never write a state file",
                platform.object_name_suffix_condition(platform.TERRAFORM_GCS_LOCK_SUFFIX),
            ),
        )
        return sa

    def _push_service_account(self, apis: list):
        """The CI image-push identity: no project role at all; the cloud stack grants it
        roles/artifactregistry.writer on the environment's repositories (registry.pusher)."""
        boot = self.boot
        return google("service_account").ServiceAccount(
            self,
            "ci-push",
            project=boot.project.id,
            account_id=boot.ci.push_service_account,
            display_name=f"gkeml CI image push ({boot.github.repository}, {boot.name})",
            description=f"GitHub Actions runs of {boot.github.deploy_ref} push images to the environment's "
            "Artifact Registry repositories; no keys.",
            depends_on=apis,
        )

    def _environment_accounts(self, apis: list) -> dict[str, Any]:
        """The environment's own service accounts (:attr:`Bootstrap.service_accounts`), each with the deploy
        identity's one role on it (:data:`DEPLOY_ACCOUNT_ROLES`): act as the nodes' account (the cluster runs
        its nodes as it), set the IAM policy of a classic identity's account (the cloud stack binds the
        Kubernetes service account to it once the cluster has made the Workload Identity pool, fact TF001).

        ``create_ignore_already_exists``: an account that exists already is taken over instead of refused
        (provider v7.33 resource_google_service_account.go: on 409 it reads the account into the state), so
        one configuration serves a new project and an environment whose cloud stack created the account
        before 2026-12 (its cloud stack forgets it with a ``removed`` block; docs/upgrading.md). The
        provider's Create polls until IAM knows a new account and sleeps 10 s more (fact TF007), so the
        grants below need no wait."""
        boot = self.boot
        sam = google("service_account_iam_member")
        deploy = f"serviceAccount:{self.deploy_service_account.email}"
        created: dict[str, Any] = {}
        for account in boot.service_accounts:
            key = account.account_id.removeprefix(f"{boot.name}-")
            sa = google("service_account").ServiceAccount(
                self,
                f"env-{key}",
                project=boot.project.id,
                account_id=account.account_id,
                display_name=account.display_name,
                create_ignore_already_exists=True,
                depends_on=apis,
                lifecycle=TerraformResourceLifecycle(prevent_destroy=True) if boot.protected else None,
            )
            role, _ = DEPLOY_ACCOUNT_ROLES[account.kind]
            sam.ServiceAccountIamMember(
                self,
                f"ci-on-{key}",
                service_account_id=sa.name,
                role=role,
                member=deploy,
            )
            created[account.account_id] = sa
        return created

    def _billing_grants(self) -> None:
        """The CI identities' roles on the billing account of the environment's budget (a billing
        administrator applies this part; nothing when the file names no billing account)."""
        account = self.boot.billing_account
        if account is None:
            return
        baim = google("billing_account_iam_member")
        grants = [("ci", self.deploy_service_account, role) for role in DEPLOY_BILLING_ROLES]
        grants += [("ci-plan", self.plan_service_account, role) for role in PLAN_BILLING_ROLES]
        for prefix, sa, role in grants:
            baim.BillingAccountIamMember(
                self,
                f"{prefix}-billing-{role.split('/')[-1].replace('.', '-')}",
                billing_account_id=account,
                role=role,
                member=f"serviceAccount:{sa.email}",
            )

    def _github_federation(self, apis: list):
        boot = self.boot
        pool = google("iam_workload_identity_pool").IamWorkloadIdentityPool(
            self,
            "github-pool",
            project=boot.project.id,
            workload_identity_pool_id=boot.ci.pool,
            display_name="GitHub Actions",
            description=f"Workflows of {boot.github.repository}",
            depends_on=apis,
        )
        wpp = google("iam_workload_identity_pool_provider")
        provider = wpp.IamWorkloadIdentityPoolProvider(
            self,
            "github-provider",
            project=boot.project.id,
            workload_identity_pool_id=pool.workload_identity_pool_id,
            workload_identity_pool_provider_id=boot.ci.provider,
            display_name="GitHub Actions OIDC",
            oidc=wpp.IamWorkloadIdentityPoolProviderOidc(issuer_uri=platform.GITHUB_OIDC_ISSUER),
            attribute_mapping={
                "google.subject": "assertion.sub",
                "attribute.repository": "assertion.repository",
                "attribute.repository_id": "assertion.repository_id",
                "attribute.repository_owner_id": "assertion.repository_owner_id",
                "attribute.ref": "assertion.ref",
                # pull_request runs carry no environment claim
                "attribute.environment": f"has(assertion.environment) ? assertion.environment : "
                f"'{platform.GITHUB_NO_ENVIRONMENT}'",
                platform.GITHUB_REF_ENV_ATTRIBUTE: platform.GITHUB_REF_ENV_MAPPING,
            },
            attribute_condition=attribute_condition(boot),
        )
        sam = google("service_account_iam_member")
        sam.ServiceAccountIamMember(
            self,
            "ci-plan-github",
            service_account_id=self.plan_service_account.name,
            role=platform.WORKLOAD_IDENTITY_USER_ROLE,
            member=platform.github_repository_principal_set(boot.project.number, boot.ci.pool, boot.github.repository),
            depends_on=[pool],
        )
        sam.ServiceAccountIamMember(
            self,
            "ci-deploy-github",
            service_account_id=self.deploy_service_account.name,
            role=platform.WORKLOAD_IDENTITY_USER_ROLE,
            member=deploy_principal_set(boot),
            depends_on=[pool],
        )
        if self.push_service_account is not None:
            sam.ServiceAccountIamMember(
                self,
                "ci-push-github",
                service_account_id=self.push_service_account.name,
                role=platform.WORKLOAD_IDENTITY_USER_ROLE,
                member=push_principal_set(boot),
                depends_on=[pool],
            )
        return provider

    def _outputs(self) -> None:
        TerraformOutput(
            self,
            "workload_identity_provider",
            value=self.provider.name,
            description="GitHub variable GKEML_<ENV>_WORKLOAD_IDENTITY_PROVIDER",
        )
        TerraformOutput(
            self,
            "plan_service_account",
            value=self.plan_service_account.email,
            description="read-only identity of pull-request diffs (any workflow run of the repository)",
        )
        TerraformOutput(
            self,
            "deploy_service_account",
            value=self.deploy_service_account.email,
            description="deploy identity (jobs of github.deploy_ref in github.deploy_environment only)",
        )
        if self.push_service_account is not None:
            TerraformOutput(
                self,
                "push_service_account",
                value=self.push_service_account.email,
                description="image-push identity (jobs of github.deploy_ref only)",
            )
        TerraformOutput(self, "state_bucket", value=self.boot.state.bucket)
        TerraformOutput(
            self,
            "environment_service_accounts",
            value=[sa.email for sa in self.environment_accounts.values()],
            description="the nodes' and the classic identities' service accounts the cloud stack names",
        )


def stack_name(env: str) -> str:
    """Name of the bootstrap stack of ``env`` (kept apart from the ``<env>`` cloud stack)."""
    return f"bootstrap-{env}"


def attribute_condition(boot: Bootstrap) -> str:
    """CEL condition of the OIDC provider: only tokens of the platform repository are accepted,
    identified by its numeric repository and owner IDs (a name can be re-registered by anyone
    once freed; the IDs cannot). The name check is kept for readability and renames."""
    github = boot.github
    return (
        f"assertion.repository == '{github.repository}'"
        f" && assertion.repository_id == '{github.repository_id}'"
        f" && assertion.repository_owner_id == '{github.repository_owner_id}'"
    )


def deploy_principal_set(boot: Bootstrap) -> str:
    """Who may impersonate the deploy identity: jobs of ``github.deploy_ref`` that run in the GitHub
    environment ``github.deploy_environment`` (so they passed its protection rules). The provider's
    attribute condition already limits the pool to the platform repository."""
    github = boot.github
    return platform.github_ref_environment_principal_set(
        boot.project.number, boot.ci.pool, github.deploy_ref, github.deploy_environment or boot.name
    )


def push_principal_set(boot: Bootstrap) -> str:
    """Who may impersonate the image-push identity: any job of ``github.deploy_ref`` (images are built
    from what was merged; no GitHub environment gate, so a merge publishes its images at once)."""
    return platform.github_ref_principal_set(boot.project.number, boot.ci.pool, boot.github.deploy_ref)
