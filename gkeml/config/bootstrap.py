"""Typed model of one bootstrap file (``bootstrap/<env>.yaml``).

Bootstrap is what must exist before ``cdktf deploy <env>`` can run at all: the
Terraform state bucket, the project APIs, the two CI identities GitHub Actions
uses through Workload Identity Federation (a read-only plan identity for pull
requests, a deploy identity for the default branch) and the environment's own service
accounts (the nodes', each classic-mode identity's), so that the deploy identity needs no
right to create or administer service accounts in the project. It is applied by a
person (with local state), so its config is kept apart from the environment
files; :func:`check_against_environment` catches the two drifting apart.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field, PrivateAttr, model_validator

from gkeml import platform
from gkeml.config.accounts import node_service_account_id, service_account_email, workload_service_account_id
from gkeml.config.apis import project_apis
from gkeml.config.base import GcsBucketName, Problem, at_each
from gkeml.config.checks import duplicate_problems
from gkeml.config.extensions import ExtensionPermissions, extension_permissions, extension_roles
from gkeml.config.loader import (
    ConfigError,
    ConfigProblem,
    did_you_mean,
    file_line,
    load_config_file,
    named_file,
    read_budget,
)
from gkeml.config.model import (
    BUCKET_NAME,
    DNS_LABEL,
    PATTERN_HELP,
    PROJECT_ID,
    ROLE,
    Environment,
    Project,
    ShortName,
    Strict,
    at,
)
from gkeml.config.roles import (
    CI_GRANTABLE_ROLES,
    CUSTOM_ROLE,
    ESCALATION,
    METRICS_ADAPTER_ROLE,
    NODE_SERVICE_ACCOUNT_ROLES,
    PEOPLE_PROJECT_ROLES,
)
from gkeml.config.services import DEFAULT_PUSHER, SERVICE_ACCOUNT_ID
from gkeml.config.state import StateLocation, nested_state_problems

GITHUB_REPOSITORY = r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$"
POOL_ID = r"^[a-z0-9][-a-z0-9]{2,30}[a-z0-9]$"  # and not starting with gcp- (checked on CI)
GIT_REF = r"^refs/(heads|tags)/[A-Za-z0-9._/-]{1,200}$"  # no ':' (it separates ref and environment)
GITHUB_ENVIRONMENT = r"^[A-Za-z0-9._-]{1,255}$"
GITHUB_NUMERIC_ID = r"^[1-9][0-9]{0,19}$"
PATTERN_HELP.update(
    {
        GIT_REF: "a full git ref such as refs/heads/main (letters, digits, '.', '_', '-', '/')",
        GITHUB_ENVIRONMENT: "a GitHub environment name such as prod (letters, digits, '.', '_', '-')",
        GITHUB_NUMERIC_ID: "the numeric ID (gh api repos/OWNER/REPO --jq .id,.owner.id)",
        GITHUB_REPOSITORY: "a GitHub repository as owner/name, e.g. acme/ml-platform",
        POOL_ID: "4-32 lowercase letters, digits and '-', not starting with 'gcp-'",
    }
)

# What a person runs after changing a bootstrap file (Makefile target bootstrap-deploy; docs/bootstrap.md).
BOOTSTRAP_DEPLOY = "make bootstrap-deploy ENV={env}"

# Roles the CI identity may hand out with its (conditioned) project IAM admin role by default:
# the node service account role of the cluster and the telemetry roles workloads usually need.
DEFAULT_GRANTABLE_ROLES = (
    platform.NODE_SERVICE_ACCOUNT_ROLE,
    "roles/logging.logWriter",
    "roles/monitoring.metricWriter",
)


# The roles the extensions of the environment a bootstrap file is loaded with grant (gkeml.config.extensions):
# grantable for that file besides the allowlist; set by load_bootstrap while it validates the file.
_EXTENSION_ROLES: ContextVar[frozenset[str]] = ContextVar("extension_roles", default=frozenset())


def _grantable(role: str) -> str:
    """A role CI may grant: one of :data:`gkeml.config.roles.CI_GRANTABLE_ROLES` (an allowlist), one the
    environment's extensions grant (never an escalating one: the extension's load refuses those), or a custom
    role of a project (the bootstrap's own: :meth:`Bootstrap._own_custom_roles`), which a workload identity
    may hold (:func:`gkeml.config.roles.workload_role_problem`) and which a person created on purpose."""
    if role not in CI_GRANTABLE_ROLES and role not in _EXTENSION_ROLES.get() and not CUSTOM_ROLE.fullmatch(role):
        reason = ESCALATION.get(role, "is not in the allowlist of roles CI may grant")
        extra = sorted(_EXTENSION_ROLES.get())
        allowed = ", ".join([*CI_GRANTABLE_ROLES, *extra])
        raise ValueError(f"{role} {reason}; CI may grant only: {allowed}")
    return role


def _bucket_location(location: str) -> str:
    """A location Cloud Storage offers (:func:`gkeml.platform.bucket_location_regions`)."""
    if platform.bucket_location_regions(location) is None:
        known = [*(r.upper() for r in platform.COMPUTE_ZONES), *platform.GCS_DUAL_REGIONS, *platform.GCS_MULTI_REGIONS]
        raise ValueError(
            f"unknown location {location!r}{did_you_mean(location.upper(), known)}; use a region such as "
            f"the project's, a dual-region ({', '.join(platform.GCS_DUAL_REGIONS)}) or a multi-region "
            f"({', '.join(platform.GCS_MULTI_REGIONS)}) (Cloud Storage locations as of "
            f"{platform.ZONES_CHECKED_ON})"
        )
    return location


GrantableRole = Annotated[str, Field(pattern=ROLE), AfterValidator(_grantable)]
# GitHub puts the IDs into the OIDC token as strings; YAML may give a number
GitHubId = Annotated[str, BeforeValidator(lambda v: str(v) if type(v) is int else v), Field(pattern=GITHUB_NUMERIC_ID)]


class StateBucket(Strict):
    """The GCS bucket every stack of the environment keeps its Terraform state in."""

    bucket: GcsBucketName = Field(
        pattern=BUCKET_NAME,
        description="Bucket name (globally unique); one per environment, or one shared bucket in a project of its own.",
    )
    prefix: str = Field(
        "gkeml",
        pattern=r"^[-_a-zA-Z0-9]+(/[-_a-zA-Z0-9]+)*$",
        description="Object prefix of the environment's state (state.prefix of the environment).",
    )
    project: str | None = Field(
        None,
        pattern=PROJECT_ID,
        description="Project that holds the bucket; default: this project. A bucket several environments share "
        "must live in a project none of them deploys to (each deploy identity administers every bucket of its "
        "own project: their IAM policies and objects); each environment's grants on it are then limited by IAM "
        "conditions to its own objects.",
    )
    location: Annotated[str, AfterValidator(_bucket_location)] | None = Field(
        None,
        min_length=2,
        description="Bucket location (a region, dual-region or multi-region); default: the project region.",
    )
    create: bool = Field(True, description="false when another bootstrap file already creates the bucket.")
    noncurrent_versions: int = Field(
        20, ge=1, le=1000, description="State versions kept per object besides the live one (older ones are deleted)."
    )
    bootstrap_backend: Literal["local", "gcs"] = Field(
        "local",
        description="Where the bootstrap stack keeps its OWN state: local (first run) or gcs (after migrating).",
    )


class GitHub(Strict):
    """The platform repository whose workflows may act as the CI identities, and which of
    its runs may deploy. The numeric IDs are pinned because names can be re-registered: a
    deleted repository (or a renamed owner) frees its name for anyone, never its IDs."""

    repository: str = Field(pattern=GITHUB_REPOSITORY, description="owner/name of the platform repository.")
    repository_id: GitHubId = Field(
        description="Numeric ID of the repository (`gh api repos/OWNER/REPO --jq .id`); the provider accepts "
        "only tokens carrying it, so a re-created repository of the same name gets nothing.",
    )
    repository_owner_id: GitHubId = Field(
        description="Numeric ID of the owning user or organization (`gh api repos/OWNER/REPO --jq .owner.id`).",
    )
    deploy_ref: str = Field(
        platform.GITHUB_DEFAULT_DEPLOY_REF,
        pattern=GIT_REF,
        description="The only git ref whose workflow runs may impersonate the deploy identity (the default branch).",
    )
    deploy_environment: str | None = Field(
        None,
        pattern=GITHUB_ENVIRONMENT,
        description="GitHub environment a job must run in to impersonate the deploy identity (so its protection "
        "rules, e.g. required reviewers, approve every deploy); default: the environment name. "
        "The deploy workflow runs the environment's job in it (gkeml env list).",
    )


class CI(Strict):
    """Names and permissions of the CI identities: ``service_account`` deploys (default branch, in
    the environment's GitHub environment only), ``plan_service_account`` only reads (any workflow run
    of the repository)."""

    service_account: str = Field(
        "gkeml-ci",
        pattern=SERVICE_ACCOUNT_ID,
        description="Account ID of the DEPLOY service account (github.deploy_ref runs only).",
    )
    plan_service_account: str = Field(
        "gkeml-ci-plan",
        pattern=SERVICE_ACCOUNT_ID,
        description="Account ID of the read-only PLAN service account (any workflow run, e.g. pull-request diffs).",
    )
    push_service_account: str | None = Field(
        DEFAULT_PUSHER,
        pattern=SERVICE_ACCOUNT_ID,
        description="Account ID of the image-push service account (github.deploy_ref runs only); the cloud stack "
        "lets it write the environment's Artifact Registry repositories (registry.pusher). null: none.",
    )
    pool: str = Field("github", pattern=POOL_ID, description="Workload Identity Federation pool ID.")
    provider: str = Field("github-actions", pattern=POOL_ID, description="OIDC provider ID inside the pool.")
    grantable_roles: list[GrantableRole] = Field(
        default_factory=lambda: list(DEFAULT_GRANTABLE_ROLES),
        min_length=1,
        description="The only project roles CI may grant (to the node and workload identities of the environment).",
    )

    @model_validator(mode="after")
    def _reserved_prefix(self) -> CI:
        for field in ("pool", "provider"):
            if getattr(self, field).startswith("gcp-"):
                raise at(
                    field, f"{getattr(self, field)!r} starts with 'gcp-', which Google reserves; choose another ID"
                )
        if self.plan_service_account == self.service_account:
            raise at(
                "plan_service_account",
                f"{self.plan_service_account!r} is also the deploy service_account; "
                "the read-only plan identity needs its own account ID",
            )
        if self.push_service_account in (self.service_account, self.plan_service_account):
            raise at(
                "push_service_account",
                f"{self.push_service_account!r} is also a CI identity; the image-push "
                "identity needs its own account ID",
            )
        return self


@dataclass(frozen=True)
class EnvironmentAccount:
    """A Google service account of the environment that its bootstrap stack creates, so that the deploy
    identity needs no right to create one: the account the cluster's nodes run as, or the account a
    classic-mode identity's Kubernetes service account impersonates (``identity``)."""

    kind: Literal["nodes", "workload"]
    account_id: str
    display_name: str
    identity: str = ""

    def email(self, project: str) -> str:
        return service_account_email(self.account_id, project)


def environment_accounts(env: Environment) -> tuple[EnvironmentAccount, ...]:
    """The service accounts a bootstrap of ``env`` creates when it lists every classic identity of ``env``
    (what :attr:`Bootstrap.service_accounts` is once the bootstrap gate passes): the nodes' and each classic
    identity's. For an environment checked without its bootstrap file."""
    nodes = EnvironmentAccount("nodes", node_service_account_id(env.name), f"GKE Autopilot nodes ({env.name})")
    return (nodes,) + tuple(
        EnvironmentAccount("workload", workload_service_account_id(env.name, i.name), i.name, identity=i.name)
        for i in env.identities
        if i.mode == "classic"
    )


class Bootstrap(Strict):
    """One environment's bootstrap: project, state bucket, GitHub repository, CI identities and the
    environment's own service accounts."""

    name: str = Field(
        pattern=DNS_LABEL, description="Environment name; equals the file name and environments/<name>.yaml."
    )
    project: Project
    state: StateBucket
    github: GitHub
    ci: CI = Field(default_factory=CI)
    billing_account: str | None = Field(
        None,
        pattern=platform.BILLING_ACCOUNT_ID,
        description="Billing account of the environment's budget (budget.billing_account): the CI identities get "
        "roles/billing.costsManager (deploy) and roles/billing.viewer (plan) on it; applying that part "
        "needs roles/billing.admin there.",
    )

    classic_identities: list[ShortName] = Field(
        default_factory=list,
        description="The classic-mode identities of environments/<name>.yaml (identities[].name with mode: "
        "classic): this stack creates their Google service accounts <name>-<identity>, as it creates the nodes' "
        "<name>-gke-nodes, and lets the deploy identity set the IAM policy of those accounts only (it can create "
        "no service account). `make synth` and `gkeml check` fail while the environment has one not listed here.",
    )

    # the APIs its stacks use, derived from the environment when loaded with it (load_bootstrap)
    _apis: tuple[str, ...] = PrivateAttr(default=platform.PROJECT_APIS)
    # from the environment when loaded with it: the Kubernetes service account ("namespace/ksa") of each
    # classic identity (the display name its account has always had) and whether its identities are protected
    _subjects: dict[str, str] = PrivateAttr(default_factory=dict)
    _protected: bool = PrivateAttr(default=False)
    # what the CI identities need for the resource types of the environment's extensions (load_bootstrap)
    _extension_permissions: ExtensionPermissions = PrivateAttr(default=ExtensionPermissions())

    @property
    def extension_permissions(self) -> ExtensionPermissions:
        """The permissions of the custom roles the CI identities get for the environment's extensions'
        resource types (:func:`gkeml.config.extensions.extension_permissions`); none without an environment."""
        return self._extension_permissions

    @property
    def apis(self) -> tuple[str, ...]:
        """The project APIs this bootstrap enables: the platform's, and those of the environment's services
        when it was loaded with ``environments/<name>.yaml`` (:func:`gkeml.config.apis.project_apis`)."""
        return self._apis

    @property
    def service_accounts(self) -> tuple[EnvironmentAccount, ...]:
        """The environment's service accounts this bootstrap creates: the nodes' and each listed classic
        identity's, with the display names the cloud stack gave them when it created them (until 2026-12)."""
        nodes = EnvironmentAccount("nodes", node_service_account_id(self.name), f"GKE Autopilot nodes ({self.name})")
        return (nodes,) + tuple(
            EnvironmentAccount(
                "workload",
                workload_service_account_id(self.name, name),
                f"Workload Identity {self._subjects.get(name, name)}",
                identity=name,
            )
            for name in self.classic_identities
        )

    @property
    def protected(self) -> bool:
        """Whether Terraform must refuse to delete the environment's service accounts (a re-created one is a
        new identity): what the environment says (:attr:`gkeml.config.model.Environment.protected`) when
        loaded with it."""
        return self._protected

    @model_validator(mode="after")
    def _own_custom_roles(self) -> Bootstrap:
        for i, role in enumerate(self.ci.grantable_roles):
            custom = CUSTOM_ROLE.fullmatch(role)
            if custom is not None and custom["project"] != self.project.id:
                raise at(
                    f"ci.grantable_roles.{i}",
                    f"{role} is a custom role of another project ({custom['project']}); CI may grant custom roles "
                    f"of {self.project.id} only",
                )
        return self

    @model_validator(mode="after")
    def _deploy_environment(self) -> Bootstrap:
        if self.github.deploy_environment is None:
            self.github.deploy_environment = self.name
        return self

    @model_validator(mode="after")
    def _account_ids(self) -> Bootstrap:
        problems = []
        nodes = node_service_account_id(self.name)
        for i, account in enumerate(self.service_accounts):
            field = "name" if account.kind == "nodes" else f"classic_identities.{i - 1}"
            if account.kind == "workload" and account.account_id == nodes:
                problems.append((field, f"service account {nodes!r} is the nodes' account; rename the identity"))
            elif not re.fullmatch(platform.SERVICE_ACCOUNT_ID, account.account_id):
                problems.append(
                    (
                        field,
                        f"service account id {account.account_id!r} must be 6-30 chars of a-z 0-9 -; "
                        + ("use an environment name of at most 20" if account.kind == "nodes" else "shorten the name"),
                    )
                )
        if problems:
            raise at_each(problems)
        return self

    @property
    def state_project(self) -> str:
        """Project that holds the state bucket."""
        return self.state.project or self.project.id


def extension_roles_of(env_file: Path) -> frozenset[str]:
    """The project roles the extensions of the environment file ``env_file`` grant, for a bootstrap file read
    without its environment (the CI identity lookup): none when the file is missing or does not load (synth and
    ``gkeml check`` report its problems)."""
    if not env_file.is_file():
        return frozenset()
    try:
        env = load_config_file(env_file, Environment)
    except ConfigError:
        return frozenset()
    env._source = str(env_file)
    try:
        return frozenset(extension_roles(env))
    except ConfigError:
        return frozenset()


def load_bootstrap(
    path: str | Path,
    env: Environment | None = None,
    own_accounts: Mapping[str, str] | None = None,
    grantable: Iterable[str] = (),
) -> Bootstrap:
    """Load and check one bootstrap file; its ``name`` must match the file name and,
    given the environment of that name, project, state and roles must agree with it. ``own_accounts``
    are the service account ids the environment derives, and whose they are
    (:func:`gkeml.environments.load_bootstrap_of` passes them): a CI account may not take one.
    ``grantable``: roles grantable besides the allowlist: those the environment's extensions grant, read from
    ``env`` when given, else from ``environments/<name>.yaml`` beside the bootstrap directory when it is there."""
    derived = own_accounts or {}

    def checks(boot: Bootstrap) -> list[Problem]:
        return account_problems(boot, derived) + (check_against_environment(boot, env, derived) if env else [])

    if env is None and not grantable:  # the environment file where gkeml expects it: bootstrap/../environments
        path = Path(path)
        grantable = extension_roles_of(path.resolve().parent.parent / "environments" / f"{path.stem}.yaml")
    token = _EXTENSION_ROLES.set(frozenset(grantable) | (frozenset(extension_roles(env)) if env else frozenset()))
    try:
        boot = load_config_file(
            path, Bootstrap, checks, lambda data: list(duplicate_problems(data)), name_matches_file=True
        )
    finally:
        _EXTENSION_ROLES.reset(token)
    boot._apis = project_apis(env)
    if env is not None:
        boot._subjects = {i.name: f"{i.namespace}/{i.ksa}" for i in env.identities if i.mode == "classic"}
        boot._protected = env.protected
        boot._extension_permissions = extension_permissions(env)
    return boot


def account_problems(boot: Bootstrap, derived: Mapping[str, str]) -> list[Problem]:
    """A CI identity whose account id is one of the environment's accounts this bootstrap creates (the nodes',
    a listed classic identity's): one account would be two identities. Those the environment itself derives
    are reported against it (:func:`check_against_environment`)."""
    ours = {
        a.account_id: "the nodes" if a.kind == "nodes" else f"identity {a.identity!r}" for a in boot.service_accounts
    }
    problems: list[Problem] = []
    for field in ("service_account", "plan_service_account", "push_service_account"):
        account = getattr(boot.ci, field)
        if account in ours and account not in derived:
            problems.append(
                (
                    ("ci", field),
                    f"service account {account!r} is also the account this file creates for {ours[account]}; "
                    "give the CI identity its own account ID",
                )
            )
    return problems


def granted_project_roles(env: Environment) -> set[str]:
    """Every project role the stacks of ``env`` grant (CI must be allowed to grant each): the node
    service account's, the workload identities', those of the identities gkeml adds itself, and the
    extensions'."""
    roles = set(NODE_SERVICE_ACCOUNT_ROLES) | {r for ident in env.identities for r in ident.roles}
    if env.needs_metrics_adapter:
        roles.add(METRICS_ADAPTER_ROLE)
    if any(team.principals for team in env.teams):
        roles |= set(PEOPLE_PROJECT_ROLES)
    return roles | set(extension_roles(env))


def check_against_environment(
    boot: Bootstrap, env: Environment, own_accounts: Mapping[str, str] | None = None
) -> list[Problem]:
    """(field path, message) for each place the bootstrap file disagrees with ``environments/<name>.yaml``."""
    problems: list[Problem] = []
    where = f"environments/{env.name}.yaml"
    pairs = {
        ("project", "id"): (boot.project.id, env.project.id),
        ("project", "number"): (boot.project.number, env.project.number),
        ("state", "bucket"): (boot.state.bucket, env.state.bucket),
        ("state", "prefix"): (boot.state.prefix, env.state.prefix),
    }
    for field, (mine, theirs) in pairs.items():
        if mine != theirs:
            problems.append((field, f"{mine!r} differs from {theirs!r} in {where}; make them equal"))
    redeploy = f"run `{BOOTSTRAP_DEPLOY.format(env=boot.name)}` before the deploy that needs it"
    roles = granted_project_roles(env) - set(boot.ci.grantable_roles)
    if roles:
        problems.append(
            (
                ("ci", "grantable_roles"),
                f"missing {', '.join(sorted(roles))} (granted by the stacks of {where}; the deploy identity may "
                f"grant only the roles listed here); add them and {redeploy}",
            )
        )
    classic = [i.name for i in env.identities if i.mode == "classic"]
    absent = [name for name in classic if name not in boot.classic_identities]
    if absent:
        ids = ", ".join(workload_service_account_id(boot.name, name) for name in absent)
        problems.append(
            (
                ("classic_identities",),
                f"missing {', '.join(absent)} (classic-mode identities of {where}: their Google service accounts "
                f"{ids} are created here, the deploy identity cannot create one); add them and {redeploy}",
            )
        )
    wanted_account = env.budget.billing_account if env.budget is not None else None
    if wanted_account is not None and wanted_account != boot.billing_account:
        problems.append(
            (
                ("billing_account",),
                f"{boot.billing_account!r} differs from budget.billing_account "
                f"{wanted_account!r} in {where}; the deploy identity needs "
                f"roles/billing.costsManager on the budget's account: make them equal and {redeploy}",
            )
        )
    accounts = own_accounts or {}
    for account_field in ("service_account", "plan_service_account", "push_service_account"):
        account = getattr(boot.ci, account_field)
        if account in accounts:
            problems.append(
                (
                    ("ci", account_field),
                    f"service account {account!r} already belongs to {accounts[account]} in {where}, in the "
                    "same project; give the CI identity its own account ID",
                )
            )
    pusher = env.registry.pusher if env.registry is not None else None
    if pusher is not None and pusher != boot.ci.push_service_account:
        problems.append(
            (
                ("ci", "push_service_account"),
                f"{boot.ci.push_service_account!r} differs from registry.pusher {pusher!r} in {where} (the cloud "
                f"stack grants that account write access to the repositories); make them equal and {redeploy}",
            )
        )
    return problems


def state_objects(boot: Bootstrap) -> tuple[str, ...]:
    """Object-name prefixes of the environment's Terraform state (its cloud and in-cluster stacks)."""
    base = boot.state.prefix.rstrip("/")
    return f"{base}/{boot.name}/", f"{base}/{boot.name}-k8s/"


def state_layout_problems(boots: list[tuple[Path, Bootstrap]]) -> list[ConfigProblem]:
    """Why the state layout of these bootstrap files lets one environment's CI reach another's state.

    Each deploy identity administers every bucket project-wide in its own project (custom role
    gkemlDeployBuckets: it sets bucket IAM policies and deletes objects; it creates the
    environment's buckets), so a state bucket in an environment's project is readable, writable and
    deletable by that environment's CI whatever the bucket's own IAM says. Safe layouts: a bucket per
    environment in its own project, or one shared bucket in a project no environment deploys to
    (grants then carry an IAM condition per environment's objects, by object-name prefix: no
    environment's state prefix may lie inside another's)."""
    problems: list[ConfigProblem] = []
    deploys_to = {b.project.id: b.name for _, b in boots}
    sharing: dict[str, list[str]] = {}
    for _, boot in boots:
        sharing.setdefault(boot.state.bucket, []).append(boot.name)
    creators: dict[str, list[str]] = {}
    for path, boot in boots:
        owner = deploys_to.get(boot.state_project)
        others = [n for n in sharing[boot.state.bucket] if n != boot.name]
        if others and owner is not None:
            problems.append(
                ConfigProblem(
                    str(path),
                    file_line(path, ("state", "bucket")),
                    "state.bucket",
                    f"state bucket {boot.state.bucket!r} holds the state of {', '.join(sorted(others))} too and lives in "
                    f"project {boot.state_project}, where the deploy identity of {owner} administers every bucket: it "
                    "could read, overwrite or delete the others' state. Give each environment its own bucket, or set "
                    "state.project to a project no environment deploys to",
                )
            )
        elif owner is not None and owner != boot.name:
            problems.append(
                ConfigProblem(
                    str(path),
                    file_line(path, ("state", "project")),
                    "state.project",
                    f"project {boot.state_project} is where {owner} deploys: its deploy identity administers "
                    f"every bucket there and could read, overwrite or delete {boot.name}'s state; keep the "
                    "bucket in this environment's project or in a project no environment deploys to",
                )
            )
        if boot.state.create:
            creators.setdefault(boot.state.bucket, []).append(boot.name)
    states = [StateLocation(boot.name, boot.state.bucket, state_objects(boot)) for _, boot in boots]
    for i, message in nested_state_problems(states):
        path = boots[i][0]
        problems.append(ConfigProblem(str(path), file_line(path, ("state", "prefix")), "state.prefix", message))
    for bucket, names in sharing.items():
        made = creators.get(bucket, [])
        if len(made) != 1:
            path = next(p for p, b in boots if b.state.bucket == bucket)
            problems.append(
                ConfigProblem(
                    str(path),
                    file_line(path, ("state", "create")),
                    "state.create",
                    f"state bucket {bucket!r} is created by {len(made)} bootstrap files ({', '.join(made) or 'none'}); "
                    f"exactly one of {', '.join(names)} must set create: true",
                )
            )
    return problems


def deploy_environment_problems(boots: list[tuple[Path, Bootstrap]]) -> list[ConfigProblem]:
    """A GitHub environment that gates the deploys of two environments of one repository: its
    protection rules (required reviewers, wait timers) approve both as one, and a job running in it
    may impersonate both deploy identities. GitHub environment names are not case sensitive
    (docs.github.com, "Managing environments for deployment", checked 2026-12)."""
    problems: list[ConfigProblem] = []
    seen: dict[tuple[str, str], tuple[Path, Bootstrap]] = {}
    for path, boot in boots:
        name = boot.github.deploy_environment or boot.name
        first = seen.setdefault((boot.github.repository_id, name.casefold()), (path, boot))
        if first[0] != path:
            problems.append(
                ConfigProblem(
                    str(path),
                    file_line(path, ("github", "deploy_environment")),
                    "github.deploy_environment",
                    f"GitHub environment {name!r} of {boot.github.repository} already gates the deploys of "
                    f"{first[1].name} ({first[0]}): its protection rules would approve both as one and a job in it "
                    f"could act as both deploy identities; give {boot.name} its own (default: its name)",
                )
            )
    return problems


def isolation_problems(boots: list[tuple[Path, Bootstrap]]) -> list[ConfigProblem]:
    """Everything in these bootstrap files that lets one environment's CI reach another's: the state
    layout (:func:`state_layout_problems`) and shared deploy gates (:func:`deploy_environment_problems`)."""
    return state_layout_problems(boots) + deploy_environment_problems(boots)


def ci_identity(boot: Bootstrap) -> dict[str, str]:
    """What ``google-github-actions/auth`` needs, derived from the bootstrap file alone:
    the full provider name (project NUMBER) and the emails of the plan, deploy and (when there is
    one) image-push service accounts."""
    pool = platform.federation_pool_name(boot.project.number, boot.ci.pool)
    identity = {
        "workload_identity_provider": f"{pool}/providers/{boot.ci.provider}",
        "plan_service_account": service_account_email(boot.ci.plan_service_account, boot.project.id),
        "deploy_service_account": service_account_email(boot.ci.service_account, boot.project.id),
    }
    if boot.ci.push_service_account:
        identity["push_service_account"] = service_account_email(boot.ci.push_service_account, boot.project.id)
    return identity


def main(argv: list[str] | None = None) -> int:
    """``python -m gkeml.config.bootstrap ENV``: print ``key=value`` lines of :func:`ci_identity`
    (the format of ``$GITHUB_OUTPUT``); exit 2 on a missing or invalid ``bootstrap/ENV.yaml``."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(
        prog="python -m gkeml.config.bootstrap",
        description="Print the Workload Identity provider and the plan and deploy service accounts of ENV as "
        "key=value lines (append them to $GITHUB_OUTPUT in a workflow). Pull-request jobs use "
        "plan_service_account (read-only); deploy jobs use deploy_service_account, which only jobs "
        "of github.deploy_ref running in the GitHub environment github.deploy_environment can impersonate.",
    )
    parser.add_argument("env", help="environment name: reads DIR/ENV.yaml")
    parser.add_argument("--dir", default="bootstrap", help="directory of the bootstrap files (default: bootstrap)")
    parser.add_argument(
        "--environments",
        metavar="DIR",
        help="directory of the environment files: the roles ENV's extensions grant are grantable there too "
        "(default: environments beside --dir)",
    )
    args = parser.parse_args(argv)
    try:
        with read_budget():
            path = named_file(args.dir, args.env, "ENV")
            grantable = extension_roles_of(named_file(args.environments, args.env, "ENV")) if args.environments else ()
            boot = load_bootstrap(path, grantable=grantable)
    except ConfigError as exc:
        print("\n".join(exc.lines(parser.prog)), file=sys.stderr)
        return 2
    for key, value in ci_identity(boot).items():
        print(f"{key}={value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
