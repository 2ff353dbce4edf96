"""The one hardened GCS bucket construct: data, access-log and Terraform state buckets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gkeml.constructs.grants import Grantee
from gkeml.framework import Construct, TerraformResourceLifecycle, google, retention_period, write_retention_period

DAY = 86400


@dataclass(frozen=True)
class PurposePreset:
    """Protection and lifecycle that fit what a bucket holds."""

    versioning: bool
    soft_delete_days: int  # 0 disables soft delete (churny data pays for every overwrite)
    delete_noncurrent_after_days: int | None = None
    delete_after_days: int | None = None
    nearline_after_days: int | None = None
    keep_newer_versions: int | None = None  # delete noncurrent versions beyond this many


PRESETS: dict[str, PurposePreset] = {
    # Source data: recover from overwrites and deletes; old versions expire after 30 days.
    "datasets": PurposePreset(versioning=True, soft_delete_days=7, delete_noncurrent_after_days=30),
    # Rewritten every few minutes by training: no versions, no soft delete, expire after 30 days.
    "checkpoints": PurposePreset(versioning=False, soft_delete_days=0, delete_after_days=30),
    # Models and reports: versioned, soft delete 30 days, move to Nearline after 90 days.
    "artifacts": PurposePreset(
        versioning=True, soft_delete_days=30, delete_noncurrent_after_days=90, nearline_after_days=90
    ),
    # Usage logs of the other buckets: written once by Google, kept 90 days.
    "access-logs": PurposePreset(versioning=False, soft_delete_days=0, delete_after_days=90),
    # Terraform state: every version kept until it is one of more than 20 newer ones.
    "terraform-state": PurposePreset(versioning=True, soft_delete_days=7, keep_newer_versions=20),
}


@dataclass(frozen=True)
class BucketProps:
    """A bucket: its name and place, what it holds (``preset``), and how hard it is to lose."""

    name: str
    project: str
    location: str
    preset: PurposePreset
    data_locations: tuple[str, ...] = ()  # the two regions of a configurable dual-region (location: its code)
    storage_class: str = "STANDARD"
    force_destroy: bool = False
    prevent_destroy: bool = False
    retention_days: int | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    log_bucket: Bucket | None = None  # receives this bucket's usage logs (an object reference)


class Bucket(Construct):
    """A private GCS bucket: uniform bucket-level access, public access prevention
    enforced, versioning/lifecycle/soft delete from its preset. Access is granted per
    bucket with :meth:`grant_read` / :meth:`grant_write` / :meth:`grant`, never project-wide."""

    def __init__(self, scope: Construct, id: str, props: BucketProps, *, depends_on: Sequence[Any] = ()):
        super().__init__(scope, id)
        sb = google("storage_bucket")
        self._iam = google("storage_bucket_iam_member")
        self.props = props
        preset = props.preset
        # GCS refuses Object Versioning on a bucket with a retention policy; the policy
        # already keeps every object (and each overwrite is refused) for its period.
        versioning = preset.versioning and not props.retention_days
        rules = []
        if preset.delete_after_days:
            rules.append(
                sb.StorageBucketLifecycleRule(
                    action=sb.StorageBucketLifecycleRuleAction(type="Delete"),
                    condition=sb.StorageBucketLifecycleRuleCondition(age=preset.delete_after_days),
                )
            )
        if versioning and preset.delete_noncurrent_after_days:
            rules.append(
                sb.StorageBucketLifecycleRule(
                    action=sb.StorageBucketLifecycleRuleAction(type="Delete"),
                    condition=sb.StorageBucketLifecycleRuleCondition(
                        days_since_noncurrent_time=preset.delete_noncurrent_after_days, with_state="ARCHIVED"
                    ),
                )
            )
        if versioning and preset.keep_newer_versions:
            rules.append(
                sb.StorageBucketLifecycleRule(
                    action=sb.StorageBucketLifecycleRuleAction(type="Delete"),
                    condition=sb.StorageBucketLifecycleRuleCondition(
                        num_newer_versions=preset.keep_newer_versions, with_state="ARCHIVED"
                    ),
                )
            )
        if preset.nearline_after_days and props.storage_class == "STANDARD":
            rules.append(
                sb.StorageBucketLifecycleRule(
                    action=sb.StorageBucketLifecycleRuleAction(type="SetStorageClass", storage_class="NEARLINE"),
                    condition=sb.StorageBucketLifecycleRuleCondition(
                        age=preset.nearline_after_days, matches_storage_class=["STANDARD"]
                    ),
                )
            )
        self.bucket: Any = sb.StorageBucket(
            self,
            "bucket",
            name=props.name,
            project=props.project,
            location=props.location,
            custom_placement_config=sb.StorageBucketCustomPlacementConfig(data_locations=list(props.data_locations))
            if props.data_locations
            else None,
            storage_class=props.storage_class,
            uniform_bucket_level_access=True,
            public_access_prevention="enforced",
            force_destroy=props.force_destroy,
            versioning=sb.StorageBucketVersioning(enabled=versioning),
            soft_delete_policy=sb.StorageBucketSoftDeletePolicy(
                retention_duration_seconds=preset.soft_delete_days * DAY
            ),
            lifecycle_rule=rules or None,
            retention_policy=sb.StorageBucketRetentionPolicy(
                retention_period=retention_period(props.retention_days * DAY)
            )
            if props.retention_days
            else None,
            labels=dict(props.labels) or None,
            logging=sb.StorageBucketLogging(log_bucket=props.log_bucket.bucket.name, log_object_prefix=props.name)
            if props.log_bucket
            else None,
            lifecycle=TerraformResourceLifecycle(prevent_destroy=True) if props.prevent_destroy else None,
            depends_on=list(depends_on) or None,
        )
        if props.retention_days:
            write_retention_period(self.bucket, props.retention_days * DAY)

    @property
    def name(self) -> str:
        return self.props.name

    def grant(self, grantee: Grantee, role: str, *, condition: Any = None, id: str | None = None) -> Any:
        """Give ``grantee`` ``role`` on this bucket only; returns the binding."""
        return self._iam.StorageBucketIamMember(
            self,
            id or f"{role.split('.')[-1]}-{grantee.grant_id}",
            bucket=self.bucket.name,
            role=role,
            member=grantee.member,
            condition=condition,
            depends_on=list(grantee.grant_dependencies) or None,
        )

    def grant_read(self, grantee: Grantee) -> Any:
        """Let ``grantee`` list and read objects (read-only GCS FUSE mounts need no more)."""
        return self.grant(grantee, "roles/storage.objectViewer")

    def grant_write(self, grantee: Grantee) -> Any:
        """Let ``grantee`` read, create, overwrite and delete objects (no IAM changes)."""
        return self.grant(grantee, "roles/storage.objectUser")
