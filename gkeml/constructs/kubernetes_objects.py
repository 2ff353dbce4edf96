"""Apply plain Kubernetes objects (dicts from :mod:`gkeml.manifests`) with Terraform."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from gkeml.framework import Construct, kubernetes
from gkeml.manifests import Obj


def object_id(obj: Obj) -> str:
    """A stable construct id from kind, namespace and name."""
    meta = obj["metadata"]
    parts = [obj["kind"], meta.get("namespace", ""), meta["name"]]
    return re.sub(r"[^a-zA-Z0-9-]", "-", "-".join(p for p in parts if p)).lower()


# Kinds ``kubernetes_manifest`` can wait for until their rollout completed (its ``wait.rollout``: the kinds
# with a ``kubectl rollout status`` viewer; terraform-provider-kubernetes docs/resources/manifest.md).
ROLLOUT_KINDS = ("Deployment", "StatefulSet", "DaemonSet")
# How long such a rollout may take (the provider's default is 10 min, manifest/provider/apply.go): on a
# fresh Autopilot cluster the pod's node is provisioned first, and a pod whose new Workload Identity
# grant is still propagating restarts with a growing back-off.
ROLLOUT_TIMEOUT = "20m"


class KubernetesObjects(Construct):
    """One ``kubernetes_manifest`` per object, each depending on ``depends_on``; with
    ``wait_for_rollout``, Terraform counts a Deployment (StatefulSet, DaemonSet) as created only once
    its rollout completed, so what depends on it finds its pods Ready.

    The manifest map is passed verbatim (camelCase keys preserved), so what
    ``gkeml check`` validated is exactly what Terraform applies."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        objects: list[Obj],
        *,
        depends_on: Sequence[Any] = (),
        wait_for_rollout: bool = False,
    ):
        # a CustomResourceDefinition counts as created once its kind is served (Established): what depends on it
        # may create objects of that kind (first-apply fact TF009)
        super().__init__(scope, id)
        manifest = kubernetes("manifest")
        self.objects = objects
        self.resources = []
        for obj in objects:
            rollout = wait_for_rollout and obj["kind"] in ROLLOUT_KINDS
            wait: dict | None = {"rollout": True} if rollout else None
            if obj["kind"] == "CustomResourceDefinition":
                wait = {"condition": [{"type": "Established", "status": "True"}]}
            self.resources.append(
                manifest.Manifest(
                    self,
                    object_id(obj),
                    manifest=obj,
                    depends_on=list(depends_on) or None,
                    wait=wait,
                    timeouts={"create": ROLLOUT_TIMEOUT, "update": ROLLOUT_TIMEOUT} if rollout else None,
                )
            )
