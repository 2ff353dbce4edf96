"""The project's Binary Authorization policy: which images the environment's cluster admits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from gkeml import platform
from gkeml.framework import Construct, google


@dataclass(frozen=True)
class ImagePolicyProps:
    """Deny by default; admit Google's system images and ``allowed_images``; block or only log."""

    project: str
    mode: Literal["enforce", "dryrun"]
    allowed_images: tuple[str, ...]


class ImagePolicy(Construct):
    """The project singleton Binary Authorization policy the cluster enforces
    (``PROJECT_SINGLETON_POLICY_ENFORCE``). A project that never set one allows every image, so the
    policy is written here rather than assumed: ``ALWAYS_DENY`` by default, Google's global policy for
    system images, and an allowlist. In ``dryrun`` a denied image runs and is logged (audit log
    ``binaryauthorization.googleapis.com/policy_violations``); in ``enforce`` it is refused at admission.
    It is a project singleton: a project hosting other clusters shares it."""

    def __init__(self, scope: Construct, id: str, props: ImagePolicyProps, *, depends_on: Sequence[Any] = ()):
        super().__init__(scope, id)
        bp = google("binary_authorization_policy")
        self.props = props
        self.policy = bp.BinaryAuthorizationPolicy(
            self,
            "policy",
            project=props.project,
            description="gkeml: the images this environment deploys; everything else is denied",
            global_policy_evaluation_mode="ENABLE",
            default_admission_rule=bp.BinaryAuthorizationPolicyDefaultAdmissionRule(
                evaluation_mode="ALWAYS_DENY", enforcement_mode=platform.BINAUTHZ_ENFORCEMENT[props.mode]
            ),
            admission_whitelist_patterns=[
                bp.BinaryAuthorizationPolicyAdmissionWhitelistPatterns(name_pattern=p) for p in props.allowed_images
            ],
            depends_on=list(depends_on) or None,
        )
