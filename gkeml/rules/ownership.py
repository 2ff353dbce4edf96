"""Fields a controller owns once the object runs: set in a manifest, they fight the controller.

The table of such fields is :data:`gkeml.platform.CONTROLLER_OWNED_FIELDS`; this rule applies it
to every object whose controller is present in the group (an autoscaler targeting it)."""

from __future__ import annotations

from collections.abc import Iterator

from gkeml import platform
from gkeml.manifests import Obj
from gkeml.registry import CONTROLLER, ERROR
from gkeml.rules.engine import Group, Issue, get, kind_of, name_of, namespace_of, rule

# The kinds whose fields a controller may own (what GKE024 inspects).
OWNED_KINDS = tuple(kind for owned in platform.CONTROLLER_OWNED_FIELDS for kind in owned.kinds)


def autoscalers_of(obj: Obj, group: Group, kinds: tuple[str, ...]) -> list[Obj]:
    """Autoscalers (of ``kinds``) in the group whose ``spec.scaleTargetRef`` names ``obj``."""
    found = []
    for kind in kinds:
        default_kind = platform.AUTOSCALER_TARGET_DEFAULT_KIND[kind]
        for scaler in group.of_kind(kind, namespace_of(obj)):
            target = get(scaler, "spec", "scaleTargetRef")
            if get(target, "name") == name_of(obj) and (get(target, "kind") or default_kind) == kind_of(obj):
                found.append(scaler)
    return found


def autoscaled_replicas(obj: Obj, group: Group) -> tuple[int, int] | None:
    """(min, max) replicas of the first autoscaler that scales ``obj``, or None when none does.
    A missing minimum is Kubernetes' default of 1; a ScaledObject's defaults are KEDA's (0, 100)."""
    for scaler in autoscalers_of(obj, group, tuple(platform.AUTOSCALER_TARGET_DEFAULT_KIND)):
        if kind_of(scaler) == "ScaledObject":
            low, high = get(scaler, "spec", "minReplicaCount"), get(scaler, "spec", "maxReplicaCount")
            low, high = (0 if low is None else low), (platform.KEDA_DEFAULT_MAX_REPLICAS if high is None else high)
        else:
            low, high = get(scaler, "spec", "minReplicas"), get(scaler, "spec", "maxReplicas")
            low = 1 if low is None else low
        if isinstance(low, int) and isinstance(high, int) and not isinstance(high, bool):
            return low, high
    return None


@rule(
    "GKE024",
    "A field a controller owns is set in the manifest",
    ERROR,
    kind=CONTROLLER,
    inspects=OWNED_KINDS,
)
def controller_owned_field(obj: Obj, group: Group) -> Iterator[Issue]:
    """Once a controller writes a field (an autoscaler sets spec.replicas through the scale
    subresource), applying a manifest that also sets it makes two owners: with server-side apply
    (Terraform's kubernetes_manifest, kubectl apply --server-side) every later apply fails with a
    conflict, and with a client-side apply each deploy resets the count. Leave the field out.

    Source: kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale ('Migrating Deployments and
    StatefulSets to horizontal autoscaling'); hashicorp/terraform-provider-kubernetes-alpha#134;
    keda.sh/docs/latest/reference/scaledobject-spec (checked 2026-11-30)."""
    for owned in platform.CONTROLLER_OWNED_FIELDS:
        if kind_of(obj) not in owned.kinds or get(obj, *owned.path) is None:
            continue
        scalers = autoscalers_of(obj, group, owned.autoscalers)
        if scalers:
            field = ".".join(owned.path)
            yield Issue(
                field,
                f"{field} is set, but {kind_of(scalers[0])} {name_of(scalers[0])} scales this "
                f"{kind_of(obj)}: {owned.owner} owns it after the first scale-up and the next "
                f"apply conflicts with it",
                f"remove {field} (the autoscaler's minimum applies); on a running object first run "
                f"`kubectl scale` to its current count so the field keeps an owner",
            )
