"""Which container images an environment admits (its Binary Authorization allowlist), derived from
its config: the environment's own Artifact Registry, the images gkeml itself deploys there, and
``cluster.binary_authorization.allowed_images``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gkeml import platform
from gkeml import platform_serving as serving
from gkeml.config.exposure import inference_gateway_of
from gkeml.config.registries import registries_of
from gkeml.config.services import registry_image_problem

if TYPE_CHECKING:
    from gkeml.config.model import Environment


def image_allowlist(env: Environment) -> list[str]:
    """Admission allowlist patterns of ``env`` (platform.image_matches syntax), in a stable order."""

    patterns = [f"{host}/{env.project.id}/**" for host in platform.artifact_registry_hosts(env.project.region)]
    if env.launch is not None:
        patterns.append(f"{platform.WANDB_LAUNCH_AGENT_IMAGE}*")
    if env.needs_metrics_adapter:
        patterns.append(f"{platform.METRICS_ADAPTER_IMAGE}*")
    if env.kueue.enabled:  # the controller, and the kubectl image of the hook that waits for its webhook
        patterns += [f"{platform.KUEUE_IMAGE}*", f"{platform.KUBECTL_IMAGE.rsplit(':', 1)[0]}*"]
    if env.jobset.enabled:  # the controller, and the kubectl image of the hook that waits for its webhook
        patterns += [f"{platform.JOBSET_IMAGE}*", f"{platform.KUBECTL_IMAGE.rsplit(':', 1)[0]}*"]
    if any(svc.model is not None and svc.model.multi_host for svc in env.inference):  # LeaderWorkerSet's
        patterns += [f"{platform.LWS_IMAGE}*", f"{platform.KUBECTL_IMAGE.rsplit(':', 1)[0]}*"]
    if any(inference_gateway_of(env, svc) for svc in env.inference):  # the InferencePools' endpoint pickers
        patterns.append(f"{serving.EPP_IMAGE}*")
    patterns += env.cluster.binary_authorization.allowed_images
    return list(dict.fromkeys(patterns))


def image_admission_problem(env: Environment, image: str) -> str | None:
    """Why ``env`` cannot run ``image``, or None: it names a repository of the environment's own Artifact
    Registry that the config does not create, a repository of another environment's registry its nodes
    may not pull from (when ``env`` was loaded with its siblings), or the cluster's policy enforces and no
    pattern admits it."""
    registry = registry_image_problem(image, env)
    if registry:
        return f"{registry} in {env.name}"
    siblings = registries_of(env)
    pull = siblings and siblings.image_problem(env, image)
    if pull:
        return pull
    if env.cluster.binary_authorization.mode != "enforce":
        return None
    if any(platform.image_matches(image, p) for p in image_allowlist(env)):
        return None
    return (
        f"{image!r} is not admitted by {env.name}'s Binary Authorization policy (enforced); push it to the "
        f"environment's Artifact Registry or add a pattern to cluster.binary_authorization.allowed_images"
    )
