"""Everything the toolkit itself emits for an environment, grouped the way it is applied.

``gkeml check`` and the tests check these same objects."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from gkeml.config.loader import load_yaml, read_config_text
from gkeml.config.model import Environment
from gkeml.manifests.gateway import OBJECTIVES_CHART
from gkeml.manifests.jobset import READY_CHART
from gkeml.manifests.kueue import QUEUES_CHART
from gkeml.manifests.lws import READY_CHART as LWS_READY_CHART
from gkeml.manifests.lws import SERVICE_CHART
from gkeml.manifests.workloads import in_cluster_plan
from gkeml.naming import Names
from gkeml.rules.engine import Manifest
from gkeml.rules.sources import helm_release_objects


def toolkit_group(env: Environment, source: str, job_files: Iterable[Path], synth_dir: Path | None) -> list[Manifest]:
    """The in-cluster objects of ``env`` (with the objects of gkeml's own charts), the Helm releases of its synthesized stacks (when
    ``synth_dir`` has them) and every canonical job rendered for it. A job whose team the
    environment does not have is not rendered there (it cannot run there)."""
    from gkeml.jobs import load_job_spec
    from gkeml.jobs.build import Target, objects

    plan = in_cluster_plan(env)
    group = [Manifest(o, source) for o in plan.objects()]
    if plan.kueue:  # the objects of the local queue chart (the webhook probe Job among them)
        group += [Manifest(o, f"{source} (chart {QUEUES_CHART})") for o in plan.kueue.chart_objects()]
    if plan.jobset:  # the objects of the local chart that waits for the JobSet webhook
        group += [Manifest(o, f"{source} (chart {READY_CHART})") for o in plan.jobset.webhook_probe]
    if plan.lws:  # the objects of the local chart that waits for the LeaderWorkerSet webhook
        group += [Manifest(o, f"{source} (chart {LWS_READY_CHART})") for o in plan.lws.webhook_probe]
    for svc in plan.services:  # a multi-host model's LeaderWorkerSet, through its local chart
        group += [Manifest(o, f"{source} (chart {SERVICE_CHART})") for o in svc.chart_workload]
    for objectives in plan.objectives().values():  # the InferenceObjectives of the local chart
        group += [Manifest(o, f"{source} (chart {OBJECTIVES_CHART})") for o in objectives]
    names = Names.of(env)
    if synth_dir is not None:
        for stack in (names.cloud_stack, names.k8s_stack):
            stack_file = Path(synth_dir) / "stacks" / stack / "cdk.tf.json"
            if stack_file.exists():
                group += helm_release_objects(stack_file)
    teams = {t.name for t in env.teams}
    for path in job_files:
        data, _ = load_yaml(read_config_text(path), str(path))
        if isinstance(data, dict) and data.get("team") in teams:
            spec = load_job_spec(path, env)  # rendered without the fit gate: rules GKE025/GKE026 report it
            group += [Manifest(o, str(path)) for o in objects(spec, Target.of(spec, env))]
    return group
