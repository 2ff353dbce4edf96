"""Platform facts that are rules, not just data: the one function that says what Autopilot bills."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gkeml import platform

CLASSES = [platform.GENERAL_PURPOSE, platform.GENERAL_PURPOSE_NO_BURSTING, *platform.COMPUTE_CLASSES.values()]
requests = st.floats(min_value=0.0, max_value=300.0, allow_nan=False, allow_infinity=False)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: f"{c.name}-step{c.cpu_step}")
@settings(max_examples=200, deadline=None)
@given(cpu=requests, memory=requests)
def test_billed_requests_are_never_lower_and_satisfy_every_class_rule(cls, cpu, memory):
    billed_cpu, billed_memory = cls.billed_requests(cpu, memory)
    assert billed_cpu >= cpu - 1e-9 and billed_memory >= memory - 1e-9  # Autopilot only raises
    assert billed_cpu >= cls.min_cpu - 1e-9 and billed_memory >= cls.min_memory_gib - 1e-9
    if cls.cpu_step:
        assert abs(round(billed_cpu / cls.cpu_step) * cls.cpu_step - billed_cpu) < 1e-6
    if cls.min_ratio is not None:
        assert billed_memory >= billed_cpu * cls.min_ratio - 1e-6
    if cls.max_ratio is not None:
        assert billed_memory <= billed_cpu * cls.max_ratio + 1e-6
    # what is billed is already valid: applying the rules again changes nothing
    again = cls.billed_requests(billed_cpu, billed_memory)
    assert again == pytest.approx((billed_cpu, billed_memory))


def test_every_release_channel_a_file_may_name_has_its_versions():
    """The channel versions (what the config checks a feature's minimum GKE version against) cover every
    channel the model accepts, and no other."""
    from typing import get_args

    from gkeml.config.model import ReleaseChannel

    assert sorted(get_args(ReleaseChannel)) == sorted(platform.CHANNEL_VERSIONS)


# --- GPU maxima against the node that runs the Pod -------------------------------------------


def test_no_gpu_maximum_is_above_what_its_node_can_allocate():
    """Review F6: a request between the node's allocatable and a copied maximum passes admission and
    stays Pending with its GPUs billed. Every enforced maximum is at most the allocatable."""
    for label, gpu in platform.GPUS.items():
        for r in gpu.ranges:
            cpu, memory = r.machine.allocatable
            assert r.max_cpu <= cpu and r.max_memory_gib <= memory, (label, r.count, r.machine.name)
            assert r.max_cpu <= r.machine.vcpu and r.max_memory_gib <= r.machine.memory_gib


def test_node_allocatable_follows_gkes_reservation_tiers():
    # a3-highgpu-1g: 234 GiB - (1 + 0.8 + 0.8 + 6.72 + 2.12) - 100 MiB, 26 vCPU - (0.06 + 0.01 + 0.01 + 0.055)
    cpu, memory = platform.node_allocatable(26, 234)
    assert round(memory, 2) == 222.46 and round(cpu, 3) == 25.865
    assert platform.node_allocatable(1, 1) == pytest.approx((0.94, 0.75 - 100 / 1024))


def test_the_rows_known_to_be_wrong_are_capped_and_every_unconfirmed_row_is_listed():
    h100 = platform.GPUS["nvidia-h100-80gb"]
    assert (h100.range_for(1).max_memory_gib, h100.range_for(4).max_memory_gib) == (222, 910)
    h200 = platform.GPUS["nvidia-h200-141gb"].range_for(8)
    assert h200.machine.vcpu == 224 and h200.max_cpu == 223 and h200.max_memory_gib == 2886 and h200.capped
    a100 = platform.GPUS["nvidia-tesla-a100"].range_for(1)
    assert (a100.max_cpu, a100.max_memory_gib, a100.confirmed) == (11, 74, platform.CONFIRMED_A100_40GB_X1)
    unconfirmed = platform.unconfirmed_gpu_maxima()
    assert ("nvidia-tesla-a100", a100) not in unconfirmed
    assert len(unconfirmed) == sum(len(g.ranges) for g in platform.GPUS.values()) - 1


def test_a_gpu_job_is_warned_that_its_gcs_fuse_sidecar_gets_no_more_than_the_gpu_node_cap():
    """Rule GKE027 (a warning: the sidecar runs, with less than it asks for) decides for a job spec too."""
    from gkeml.jobs import parse_job_spec

    spec = (
        "name: t\nteam: research\nimage: registry.example/t:1\ngpu: nvidia-l4\ncpu: '8'\nmemory: 32Gi\n"
        "dataset: {bucket: gs://corpus}\ngcsfuse: {cpu: '3', memory: 16Gi}\n"
    )
    warnings = [str(w) for w in parse_job_spec(spec, "job.yaml").warnings]
    assert warnings == [
        "job.yaml:8: gcsfuse.cpu: the sidecar asks for 3 cpu on a GPU node; it gets at most 2; set "
        f"{platform.GCSFUSE_SIDECAR_ANNOTATIONS['cpu']} to at most 2",
        "job.yaml:8: gcsfuse.memory: the sidecar asks for 16Gi memory on a GPU node; it gets at most 14Gi; set "
        f"{platform.GCSFUSE_SIDECAR_ANNOTATIONS['memory']} to at most 14Gi",
    ]
    assert parse_job_spec(spec.replace("gpu: nvidia-l4\n", ""), "job.yaml").warnings == []  # CPU nodes: no cap


def test_every_region_a_bucket_location_names_is_a_known_region():
    """The Cloud Storage lists name regions of the dated region list (a typo would refuse a valid bucket)."""
    named = [
        r
        for regions in (
            *platform.GCS_MULTI_REGIONS.values(),
            *platform.GCS_DUAL_REGIONS.values(),
            *platform.GCS_CONFIGURABLE_DUAL_REGIONS.values(),
            *platform.GCS_PREDEFINED_ONLY_PAIRS,
        )
        for r in regions
    ]
    assert [r for r in named if r not in platform.COMPUTE_ZONES] == []
    assert all(platform.bucket_location_regions(r.upper()) == (r,) for r in platform.COMPUTE_ZONES)
    assert platform.bucket_location_regions("nam4") == ("us-central1", "us-east1")
    assert platform.bucket_location_regions("CA") is None  # only a configurable dual-region's code
