"""Apply plain Kubernetes objects (dicts from :mod:`gkeml.manifests`) with Terraform."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from constructs import Construct

from gkeml.framework import kubernetes
from gkeml.manifests import Obj


def object_id(obj: Obj) -> str:
    """A stable construct id from kind, namespace and name."""
    meta = obj["metadata"]
    parts = [obj["kind"], meta.get("namespace", ""), meta["name"]]
    return re.sub(r"[^a-zA-Z0-9-]", "-", "-".join(p for p in parts if p)).lower()


class KubernetesObjects(Construct):
    """One ``kubernetes_manifest`` per object, each depending on ``depends_on``.

    The manifest map is passed verbatim (camelCase keys preserved), so what
    ``gkeml check`` validated is exactly what Terraform applies."""

    def __init__(self, scope: Construct, id: str, objects: list[Obj], *, depends_on: Sequence[Any] = ()):
        super().__init__(scope, id)
        manifest = kubernetes("manifest")
        self.objects = objects
        self.resources = [
            manifest.Manifest(self, object_id(obj), manifest=obj, depends_on=list(depends_on) or None)
            for obj in objects
        ]
