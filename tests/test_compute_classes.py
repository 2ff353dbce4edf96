"""ComputeClasses that workloads use: a capacity ladder per class, services and jobs that select a class by
name (validated against the environment), and the pods they get."""

from __future__ import annotations

import pytest
from config_errors import error_for
from conftest import ENVIRONMENTS
from hostile import line_of

from gkeml import platform
from gkeml.config import ConfigError
from gkeml.environments import parse_environment
from gkeml.jobs import parse_job_spec, render
from gkeml.manifests.workloads import in_cluster_objects
from gkeml.rules import check

LAB = (ENVIRONMENTS / "lab.yaml").read_text()
CLASS = (
    "  - name: l4-spot-first\n    gpu: nvidia-l4\n    gpu_count: 1\n    capacity: [spot, on-demand, flex-start]\n"
    "    migrate_to_preferred: true\n"
)


def test_the_replaced_spot_first_keys_say_what_replaces_them(tmp_path):
    msg = error_for(tmp_path, "    capacity: [spot, on-demand, flex-start]\n", "    spot_first: false\n")
    assert f"lab.yaml:{line_of(LAB, 'capacity: [spot')}: compute_classes[0].spot_first: replaced by capacity" in msg


@pytest.mark.parametrize(
    "capacity, message",
    [
        ("[spot, spot]", "'spot' is listed twice (also at compute_classes[0].capacity[0])"),
        ("[]", "at least 1"),
        ("[spot, reserved]", "spot', 'on-demand', 'flex-start' or 'reservation'"),
    ],
)
def test_a_capacity_ladder_names_each_capacity_once(tmp_path, capacity, message):
    msg = error_for(tmp_path, "capacity: [spot, on-demand, flex-start]", f"capacity: {capacity}")
    assert "compute_classes[0].capacity" in msg and message in msg, msg


def test_flex_start_only_for_gpus_whose_machines_offer_it(tmp_path):
    msg = error_for(
        tmp_path,
        "    gpu: nvidia-l4\n    gpu_count: 1\n    capacity:",
        "    gpu: nvidia-tesla-t4\n    gpu_count: 1\n    capacity:",
    )
    assert "compute_classes[0].capacity: flex-start is not available for nvidia-tesla-t4" in msg


def test_a_service_on_a_class_takes_its_gpu_and_may_not_contradict_it(tmp_path):
    env = parse_environment(LAB, "lab.yaml")
    chat = next(s for s in env.inference if s.compute_class == "l4-spot-first")
    assert (chat.gpu, chat.gpu_count, chat.rollout) == ("nvidia-l4", 1, "replace")
    msg = error_for(tmp_path, "    compute_class: l4-spot-first", "    compute_class: l4-spot-first\n    spot: true\n#")
    assert "inference[0].spot: compute class l4-spot-first decides Spot (capacity: spot, on-demand, flex-start)" in msg
    msg = error_for(
        tmp_path, "    compute_class: l4-spot-first", "    compute_class: l4-spot-first\n    gpu: nvidia-tesla-t4\n#"
    )
    assert (
        "inference[0].gpu: compute class l4-spot-first has 1 x nvidia-l4, the workload asks for 1 x nvidia-tesla-t4"
        in msg
    )


def test_an_unknown_class_lists_the_allowed_ones(tmp_path):
    msg = error_for(tmp_path, "    compute_class: l4-spot-first", "    compute_class: l4-cheap")
    assert "l4-cheap" in msg and "l4-spot-first" in msg and "Balanced" in msg


# --- jobs -------------------------------------------------------------------------------------------


JOB = (
    "name: tune\nteam: research\nimage: us-central1-docker.pkg.dev/fx-lab-ml/training/t:1\nidentity: trainer\n"
    "gpu: nvidia-l4\ncpu: '8'\nmemory: 32Gi\ncompute_class: {cls}\n"
)


def lab_with(capacity: str = "[on-demand, flex-start]", migrate: bool = False):
    text = LAB.replace(
        CLASS,
        CLASS + f"  - name: l4-job\n    gpu: nvidia-l4\n    capacity: {capacity}\n"
        f"    migrate_to_preferred: {str(migrate).lower()}\n",
    )
    return parse_environment(text, "lab.yaml")


def test_a_gpu_job_on_a_class_is_placed_by_the_class_selector_alone():
    env = lab_with()
    spec = parse_job_spec(JOB.format(cls="l4-job"), "job.yaml", env)
    (job,) = [o for o in render(spec, env) if o["kind"] == "Job"]
    pod = job["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {platform.COMPUTE_CLASS_LABEL: "l4-job"}
    assert pod["containers"][0]["resources"]["limits"][platform.GPU_RESOURCE] == "1"
    assert "tolerations" not in pod  # no Spot rung: Kueue charges it to the on-demand GPUs
    objects = [*in_cluster_objects(env), job]
    assert not [f for f in check(objects) if f.object.startswith("Job/")]


@pytest.mark.parametrize(
    "capacity, migrate, extra, field, message",
    [
        ("[on-demand]", True, "", "compute_class", "moves running pods back to a preferred capacity"),
        ("[spot, on-demand]", False, "", "compute_class", "may run the job on Spot nodes: add checkpoints"),
        ("[on-demand]", False, "spot: true\ncheckpoints: {bucket: checkpoints}\n", "spot", "decides Spot"),
        ("[on-demand]", False, "flex_start: true\n", "flex_start", "decides the capacity"),
    ],
)
def test_a_job_may_not_contradict_its_class(capacity, migrate, extra, field, message):
    env = lab_with(capacity, migrate)
    with pytest.raises(ConfigError) as info:
        parse_job_spec(JOB.format(cls="l4-job") + extra, "job.yaml", env)
    assert f": {field}: " in str(info.value) and message in str(info.value), str(info.value)


def test_a_job_on_a_class_with_a_spot_rung_tolerates_spot_and_checkpoints():
    env = lab_with("[spot, on-demand]")
    text = JOB.format(cls="l4-job") + "checkpoints: {bucket: checkpoints}\n"
    (job,) = [o for o in render(parse_job_spec(text, "job.yaml", env), env) if o["kind"] == "Job"]
    pod = job["spec"]["template"]["spec"]
    assert pod["tolerations"] == [platform.SPOT_TOLERATION]
    assert pod["terminationGracePeriodSeconds"] <= platform.SPOT_TERMINATION_GRACE_SECONDS


def test_a_job_whose_gpu_is_not_the_class_gpu_is_told_the_class_gpu():
    env = lab_with()
    with pytest.raises(ConfigError) as info:
        parse_job_spec(JOB.format(cls="l4-job").replace("gpu: nvidia-l4\n", "gpu: nvidia-tesla-t4\n"), "job.yaml", env)
    assert "job.yaml:5: gpu: compute class l4-job has 1 x nvidia-l4" in str(info.value)
    assert "set gpu: nvidia-l4 and gpu_count: 1" in str(info.value)
