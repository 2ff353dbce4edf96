"""Artifact Registry: the environment's Docker repositories, their cleanup policies and who may use them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gkeml import platform
from gkeml.constructs.grants import Grantee
from gkeml.framework import Construct, google


@dataclass(frozen=True)
class RepositoryProps:
    """One Docker repository: where it is, how it is cleaned up, whether its tags may move."""

    project: str
    location: str
    repository_id: str
    description: str = ""
    keep_versions: int = 10
    delete_untagged_after_days: int = 7
    delete_tagged_after_days: int | None = None
    immutable_tags: bool = False
    vulnerability_scanning: bool = True
    labels: Mapping[str, str] = field(default_factory=dict)


def _duration(days: int) -> str:
    """A cleanup-policy age; the provider turns ``7d`` into the API's seconds and compares them
    (resource_artifact_registry_repository.go, parseDurationAsSeconds, durationDiffSuppress)."""
    return f"{days}d"


class DockerRepository(Construct):
    """A private Docker repository (standard mode), secure by default: never public (access is
    granted per repository with :meth:`grant_read` / :meth:`grant_write`, never project-wide),
    vulnerability scanning inherited from the project's Container Scanning API, tags immutable when
    asked (prod), and a cleanup policy that keeps the most recent versions of every image and
    deletes untagged versions after a number of days (KEEP wins over DELETE)."""

    def __init__(self, scope: Construct, id: str, props: RepositoryProps, *, depends_on: Sequence[Any] = ()):
        super().__init__(scope, id)
        ar = google("artifact_registry_repository")
        self._iam = google("artifact_registry_repository_iam_member")
        self.props = props
        policies = [
            ar.ArtifactRegistryRepositoryCleanupPolicies(
                id="keep-most-recent",
                action="KEEP",
                most_recent_versions=ar.ArtifactRegistryRepositoryCleanupPoliciesMostRecentVersions(
                    keep_count=props.keep_versions
                ),
            ),
            ar.ArtifactRegistryRepositoryCleanupPolicies(
                id="delete-untagged",
                action="DELETE",
                condition=ar.ArtifactRegistryRepositoryCleanupPoliciesCondition(
                    tag_state="UNTAGGED", older_than=_duration(props.delete_untagged_after_days)
                ),
            ),
        ]
        if props.delete_tagged_after_days:
            policies.append(
                ar.ArtifactRegistryRepositoryCleanupPolicies(
                    id="delete-old-tagged",
                    action="DELETE",
                    condition=ar.ArtifactRegistryRepositoryCleanupPoliciesCondition(
                        tag_state="TAGGED", older_than=_duration(props.delete_tagged_after_days)
                    ),
                )
            )
        self.repository = ar.ArtifactRegistryRepository(
            self,
            "repository",
            project=props.project,
            location=props.location,
            repository_id=props.repository_id,
            format="DOCKER",
            mode="STANDARD_REPOSITORY",
            description=props.description or None,
            docker_config=ar.ArtifactRegistryRepositoryDockerConfig(immutable_tags=props.immutable_tags),
            cleanup_policy_dry_run=False,
            cleanup_policies=policies,
            vulnerability_scanning_config=ar.ArtifactRegistryRepositoryVulnerabilityScanningConfig(
                enablement_config="INHERITED" if props.vulnerability_scanning else "DISABLED"
            ),
            labels=dict(props.labels) or None,
            depends_on=list(depends_on) or None,
        )

    @property
    def image_prefix(self) -> str:
        """``LOCATION-docker.pkg.dev/PROJECT/REPOSITORY`` (images go below it)."""
        p = self.props
        return f"{platform.docker_registry_host(p.location)}/{p.project}/{p.repository_id}"

    def grant(self, grantee: Grantee, role: str, *, id: str | None = None) -> Any:
        """Give ``grantee`` ``role`` on this repository only; returns the binding."""
        return self._iam.ArtifactRegistryRepositoryIamMember(
            self,
            id or f"{role.split('.')[-1]}-{grantee.grant_id}",
            project=self.props.project,
            location=self.props.location,
            repository=self.repository.name,
            role=role,
            member=grantee.member,
            depends_on=list(grantee.grant_dependencies) or None,
        )

    def grant_read(self, grantee: Grantee) -> Any:
        """Let ``grantee`` pull images (the nodes of the cluster)."""
        return self.grant(grantee, platform.ARTIFACT_REGISTRY_READER_ROLE)

    def grant_write(self, grantee: Grantee) -> Any:
        """Let ``grantee`` push images and tags (the CI image-push identity); no delete of the repository."""
        return self.grant(grantee, platform.ARTIFACT_REGISTRY_WRITER_ROLE)
