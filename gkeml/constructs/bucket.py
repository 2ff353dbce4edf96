"""GCS buckets for datasets, checkpoints and artifacts."""

from __future__ import annotations

from dataclasses import dataclass

from constructs import Construct

from gkeml.config.model import Bucket as BucketSpec
from gkeml.config.model import Environment
from gkeml.constructs.workload_identity import WorkloadIdentity
from gkeml.framework import google, retention_period
from gkeml.naming import Names

DAY = 86400


@dataclass(frozen=True)
class PurposePreset:
    """Protection and lifecycle that fit what a bucket holds."""

    versioning: bool
    soft_delete_days: int  # 0 disables soft delete (churny data pays for every overwrite)
    delete_noncurrent_after_days: int | None = None
    delete_after_days: int | None = None
    nearline_after_days: int | None = None


PRESETS = {
    # Source data: recover from overwrites and deletes; old versions expire after 30 days.
    "datasets": PurposePreset(versioning=True, soft_delete_days=7, delete_noncurrent_after_days=30),
    # Rewritten every few minutes by training: no versions, no soft delete, expire after 30 days.
    "checkpoints": PurposePreset(versioning=False, soft_delete_days=0, delete_after_days=30),
    # Models and reports: versioned, soft delete 30 days, move to Nearline after 90 days.
    "artifacts": PurposePreset(versioning=True, soft_delete_days=30, delete_noncurrent_after_days=90,
                               nearline_after_days=90),
}


class Bucket(Construct):
    """A private GCS bucket: uniform bucket-level access, public access prevention
    enforced, versioning/lifecycle/soft delete from its purpose. Access is granted
    per bucket with :meth:`grant_read` / :meth:`grant_write`, never project-wide."""

    def __init__(self, scope: Construct, id: str, env: Environment, spec: BucketSpec,
                 *, access_logs: "AccessLogBucket", depends_on: list | None = None):
        super().__init__(scope, id)
        sb = google("storage_bucket")
        self._iam = google("storage_bucket_iam_member")
        self.spec = spec
        preset = PRESETS[spec.purpose]
        self.name = Names(env).bucket(spec.name)
        # GCS refuses Object Versioning on a bucket with a retention policy; the policy
        # already keeps every object (and each overwrite is refused) for its period.
        versioning = preset.versioning and not spec.retention_days
        rules = []
        if preset.delete_after_days:
            rules.append(sb.StorageBucketLifecycleRule(
                action=sb.StorageBucketLifecycleRuleAction(type="Delete"),
                condition=sb.StorageBucketLifecycleRuleCondition(age=preset.delete_after_days),
            ))
        if versioning and preset.delete_noncurrent_after_days:
            rules.append(sb.StorageBucketLifecycleRule(
                action=sb.StorageBucketLifecycleRuleAction(type="Delete"),
                condition=sb.StorageBucketLifecycleRuleCondition(
                    days_since_noncurrent_time=preset.delete_noncurrent_after_days, with_state="ARCHIVED"
                ),
            ))
        if preset.nearline_after_days and spec.storage_class == "STANDARD":
            rules.append(sb.StorageBucketLifecycleRule(
                action=sb.StorageBucketLifecycleRuleAction(type="SetStorageClass", storage_class="NEARLINE"),
                condition=sb.StorageBucketLifecycleRuleCondition(
                    age=preset.nearline_after_days, matches_storage_class=["STANDARD"]
                ),
            ))
        self.bucket = sb.StorageBucket(
            self, "bucket", name=self.name, project=env.project.id, location=spec.location,
            storage_class=spec.storage_class,
            uniform_bucket_level_access=True,
            public_access_prevention="enforced",
            force_destroy=bool(spec.force_destroy),
            versioning=sb.StorageBucketVersioning(enabled=versioning),
            soft_delete_policy=sb.StorageBucketSoftDeletePolicy(
                retention_duration_seconds=preset.soft_delete_days * DAY
            ),
            lifecycle_rule=rules or None,
            retention_policy=sb.StorageBucketRetentionPolicy(
                retention_period=retention_period(spec.retention_days * DAY)
            ) if spec.retention_days else None,
            labels={"purpose": spec.purpose},
            logging=sb.StorageBucketLogging(log_bucket=access_logs.bucket.name, log_object_prefix=self.name),
            depends_on=depends_on,
        )

    def _grant(self, role: str, identity: WorkloadIdentity) -> None:
        self._iam.StorageBucketIamMember(
            self, f"{role.split('.')[-1]}-{identity.node.id}", bucket=self.bucket.name, role=role,
            member=identity.member,
        )

    def grant_read(self, identity: WorkloadIdentity) -> None:
        """Let ``identity`` list and read objects (read-only GCS FUSE mounts need no more)."""
        self._grant("roles/storage.objectViewer", identity)

    def grant_write(self, identity: WorkloadIdentity) -> None:
        """Let ``identity`` read, create, overwrite and delete objects (no IAM changes)."""
        self._grant("roles/storage.objectUser", identity)


class AccessLogBucket(Construct):
    """Receives the usage logs of the environment's buckets (who read or wrote what).

    Private like the others; objects expire after ``ACCESS_LOG_DAYS``. Google's
    storage analytics group may only create objects in it."""

    ACCESS_LOG_DAYS = 90
    ANALYTICS_WRITER = "group:cloud-storage-analytics@google.com"

    def __init__(self, scope: Construct, id: str, env: Environment, *, depends_on: list | None = None):
        super().__init__(scope, id)
        sb, iam = google("storage_bucket"), google("storage_bucket_iam_member")
        self.bucket = sb.StorageBucket(
            self, "bucket", name=Names(env).access_log_bucket, project=env.project.id,
            location=env.project.region.upper(), storage_class="STANDARD",
            uniform_bucket_level_access=True, public_access_prevention="enforced",
            force_destroy=env.tier == "dev",
            versioning=sb.StorageBucketVersioning(enabled=False),
            soft_delete_policy=sb.StorageBucketSoftDeletePolicy(retention_duration_seconds=0),
            lifecycle_rule=[sb.StorageBucketLifecycleRule(
                action=sb.StorageBucketLifecycleRuleAction(type="Delete"),
                condition=sb.StorageBucketLifecycleRuleCondition(age=self.ACCESS_LOG_DAYS),
            )],
            labels={"purpose": "access-logs"},
            depends_on=depends_on,
        )
        iam.StorageBucketIamMember(self, "analytics-writer", bucket=self.bucket.name,
                                   role="roles/storage.objectCreator", member=self.ANALYTICS_WRITER)
