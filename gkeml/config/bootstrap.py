"""Typed model of one bootstrap file (``bootstrap/<env>.yaml``).

Bootstrap is what must exist before ``cdktf deploy <env>`` can run at all: the
Terraform state bucket, the project APIs and the two CI identities GitHub Actions
uses through Workload Identity Federation (a read-only plan identity for pull
requests, a deploy identity for the default branch). It is applied once per project by a
person (with local state), so its config is kept apart from the environment
files; :func:`check_against_environment` catches the two drifting apart.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, Optional

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from gkeml import platform
from gkeml.config.loader import ConfigError, load_config_file
from gkeml.config.model import (
    BUCKET_NAME, DNS_LABEL, PATTERN_HELP, PROJECT_ID, ROLE, Environment, Project, Strict, at,
)
from gkeml.naming import Names

GITHUB_REPOSITORY = r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$"
SERVICE_ACCOUNT_ID = r"^[a-z][-a-z0-9]{4,28}[a-z0-9]$"
POOL_ID = r"^[a-z0-9][-a-z0-9]{2,30}[a-z0-9]$"  # and not starting with gcp- (checked on CI)
GIT_REF = r"^refs/(heads|tags)/[A-Za-z0-9._/-]{1,200}$"  # no ':' (it separates ref and environment)
GITHUB_ENVIRONMENT = r"^[A-Za-z0-9._-]{1,255}$"
SECRET_ID = r"^[A-Za-z0-9_-]{1,255}$"
GITHUB_NUMERIC_ID = r"^[1-9][0-9]{0,19}$"
PATTERN_HELP.update({
    GIT_REF: "a full git ref such as refs/heads/main (letters, digits, '.', '_', '-', '/')",
    GITHUB_ENVIRONMENT: "a GitHub environment name such as prod (letters, digits, '.', '_', '-')",
    SECRET_ID: "a Secret Manager secret ID such as dev-wandb-api-key",
    GITHUB_NUMERIC_ID: "the numeric ID (gh api repos/OWNER/REPO --jq .id,.owner.id)",
    GITHUB_REPOSITORY: "a GitHub repository as owner/name, e.g. acme/ml-platform",
    SERVICE_ACCOUNT_ID: "6-30 lowercase letters, digits and '-', starting with a letter",
    POOL_ID: "4-32 lowercase letters, digits and '-', not starting with 'gcp-'",
})

# Roles the CI identity may hand out with its (conditioned) project IAM admin role:
# the node service account role of the cluster and the roles the default
# environments give their workload identities. Add the roles of your identities.
DEFAULT_GRANTABLE_ROLES = (
    platform.NODE_SERVICE_ACCOUNT_ROLE,
    "roles/logging.logWriter",
    "roles/monitoring.metricWriter",
)


def _not_a_takeover(role: str) -> str:
    if role in platform.PRIMITIVE_ROLES or role == platform.PROJECT_IAM_ADMIN_ROLE:
        raise ValueError(f"{role} would let CI take over the project; list specific roles")
    return role


GrantableRole = Annotated[str, Field(pattern=ROLE), AfterValidator(_not_a_takeover)]
# GitHub puts the IDs into the OIDC token as strings; YAML may give a number
GitHubId = Annotated[str, BeforeValidator(lambda v: str(v) if type(v) is int else v), Field(pattern=GITHUB_NUMERIC_ID)]


class StateBucket(Strict):
    """The GCS bucket every stack of the environment keeps its Terraform state in."""

    bucket: str = Field(pattern=BUCKET_NAME, description="Bucket name (globally unique).")
    project: Optional[str] = Field(
        None, pattern=PROJECT_ID,
        description="Project that holds the bucket; default: this project. Use a separate project when several "
                    "environments share one bucket, so that no environment's CI can delete it.",
    )
    location: Optional[str] = Field(None, min_length=2, description="Bucket location; default: the project region.")
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
        platform.GITHUB_DEFAULT_DEPLOY_REF, pattern=GIT_REF,
        description="The only git ref whose workflow runs may impersonate the deploy identity (the default branch).",
    )
    deploy_environment: Optional[str] = Field(
        None, pattern=GITHUB_ENVIRONMENT,
        description="GitHub environment a job must run in to impersonate the deploy identity (so its protection "
                    "rules, e.g. required reviewers, approve every deploy); default: the environment name. "
                    "The deploy workflow runs the environment's job in it (gkeml env list).",
    )


class CI(Strict):
    """Names and permissions of the CI identities: ``service_account`` deploys (default branch, in
    the environment's GitHub environment only), ``plan_service_account`` only reads (any workflow run
    of the repository)."""

    service_account: str = Field(
        "gkeml-ci", pattern=SERVICE_ACCOUNT_ID,
        description="Account ID of the DEPLOY service account (github.deploy_ref runs only).",
    )
    plan_service_account: str = Field(
        "gkeml-ci-plan", pattern=SERVICE_ACCOUNT_ID,
        description="Account ID of the read-only PLAN service account (any workflow run, e.g. pull-request diffs).",
    )
    pool: str = Field("github", pattern=POOL_ID, description="Workload Identity Federation pool ID.")
    provider: str = Field("github-actions", pattern=POOL_ID, description="OIDC provider ID inside the pool.")
    grantable_roles: list[GrantableRole] = Field(
        default_factory=lambda: list(DEFAULT_GRANTABLE_ROLES), min_length=1,
        description="The only project roles CI may grant (to the node and workload identities of the environment).",
    )
    plan_secrets: list[Annotated[str, Field(pattern=SECRET_ID)]] = Field(
        default_factory=list,
        description="Secret Manager secret IDs the plan identity may read: the ones the in-cluster stack reads "
                    "during plan (the W&B Launch key, <env>-<launch.secret>). Nothing else.",
    )

    @model_validator(mode="after")
    def _reserved_prefix(self) -> "CI":
        for field in ("pool", "provider"):
            if getattr(self, field).startswith("gcp-"):
                raise at(field, f"{getattr(self, field)!r} starts with 'gcp-', which Google reserves; choose another ID")
        if self.plan_service_account == self.service_account:
            raise at("plan_service_account", f"{self.plan_service_account!r} is also the deploy service_account; "
                                             "the read-only plan identity needs its own account ID")
        return self


class Bootstrap(Strict):
    """One environment's bootstrap: project, state bucket, GitHub repository, CI identity."""

    name: str = Field(pattern=DNS_LABEL, description="Environment name; equals the file name and environments/<name>.yaml.")
    project: Project
    state: StateBucket
    github: GitHub
    ci: CI = Field(default_factory=CI)

    @model_validator(mode="after")
    def _deploy_environment(self) -> "Bootstrap":
        if self.github.deploy_environment is None:
            self.github.deploy_environment = self.name
        return self

    @property
    def state_project(self) -> str:
        """Project that holds the state bucket."""
        return self.state.project or self.project.id


def load_bootstrap(path: str | Path, env: Environment | None = None) -> Bootstrap:
    """Load and check one bootstrap file; its ``name`` must match the file name and,
    given the environment of that name, project, state bucket and roles must agree with it."""
    checks = (lambda b: check_against_environment(b, env)) if env else None
    return load_config_file(path, Bootstrap, checks, name_matches_file=True)


def check_against_environment(boot: Bootstrap, env: Environment) -> list[tuple[tuple, str]]:
    """(field path, message) for each place the bootstrap file disagrees with ``environments/<name>.yaml``."""
    problems: list[tuple[tuple, str]] = []
    where = f"environments/{env.name}.yaml"
    pairs = {
        ("project", "id"): (boot.project.id, env.project.id),
        ("project", "number"): (boot.project.number, env.project.number),
        ("state", "bucket"): (boot.state.bucket, env.state.bucket),
    }
    for field, (mine, theirs) in pairs.items():
        if mine != theirs:
            problems.append((field, f"{mine!r} differs from {theirs!r} in {where}; make them equal"))
    roles = {role for ident in env.identities for role in ident.roles} - set(boot.ci.grantable_roles)
    if roles:
        problems.append((("ci", "grantable_roles"),
                         f"missing {', '.join(sorted(roles))} (given to identities in {where}); add them"))
    read_at_plan = {Names.of(env).secret(env.launch.secret)} if env.launch is not None else set()
    if read_at_plan - set(boot.ci.plan_secrets):
        problems.append((("ci", "plan_secrets"),
                         f"missing {', '.join(sorted(read_at_plan - set(boot.ci.plan_secrets)))} (the in-cluster stack "
                         f"of {where} reads it during plan); add it"))
    return problems


def ci_identity(boot: Bootstrap) -> dict[str, str]:
    """What ``google-github-actions/auth`` needs, derived from the bootstrap file alone:
    the full provider name (project NUMBER) and the emails of the plan and deploy service accounts."""
    pool = platform.federation_pool_name(boot.project.number, boot.ci.pool)
    return {
        "workload_identity_provider": f"{pool}/providers/{boot.ci.provider}",
        "plan_service_account": service_account_email(boot.ci.plan_service_account, boot.project.id),
        "deploy_service_account": service_account_email(boot.ci.service_account, boot.project.id),
    }


def service_account_email(account_id: str, project: str) -> str:
    """Email of a user-managed service account."""
    return f"{account_id}@{project}.iam.gserviceaccount.com"


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
    args = parser.parse_args(argv)
    try:
        boot = load_bootstrap(Path(args.dir) / f"{args.env}.yaml")
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    for key, value in ci_identity(boot).items():
        print(f"{key}={value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
