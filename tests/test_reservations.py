"""Specific reservations as a capacity rung: the config and its checks, the ComputeClass priority, the Kueue
flavor the cohort holds, the jobs that may be admitted on it, the price, and the GKE version it needs."""

from __future__ import annotations

import kueue_crd
import pytest
from conftest import ENVIRONMENTS

from gkeml import platform
from gkeml.config import ConfigError
from gkeml.config.kueue import namespace_quota, reserved_flavor
from gkeml.cost.estimate import estimate
from gkeml.cost.prices import load_prices
from gkeml.environments import load_environment, parse_environment
from gkeml.jobs import parse_job_spec, render
from gkeml.manifests.workloads import in_cluster_plan
from gkeml.rules import check

LIVE = (ENVIRONMENTS / "live.yaml").read_text()
LAB = (ENVIRONMENTS / "lab.yaml").read_text()
# A job of 2 x 8 H100 on the class whose first rung is the shared reservation (16 GPUs).
JOB = (
    "name: pretrain\nteam: research\nimage: us-central1-docker.pkg.dev/acme-ml-dev/training/trainer:1.0.0\n"
    "gpu: nvidia-h100-80gb\ngpu_count: 8\nnodes: 2\ncpu: '100'\nmemory: 800Gi\n"
)


def live(text: str = LIVE):
    return parse_environment(text, "live.yaml")


# --- the config -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "old, new, field, message",
    [
        (
            "    gpu_count: 8\n    count: 2\n",
            "    gpu_count: 3\n    count: 2\n",
            "reservations[0].gpu_count",
            "3 is not",
        ),
        (
            "    gpu: nvidia-h100-80gb\n    gpu_count: 8\n    count: 2\n",
            "    gpu: nvidia-tesla-t4\n    gpu_count: 4\n    count: 2\n",
            "reservations[0].machine_type",
            "required for nvidia-tesla-t4: its n1 machines are sized to the pod",
        ),
        (
            "    gpu_count: 8\n    count: 2\n",
            "    gpu_count: 8\n    machine_type: g2-standard-96\n    count: 2\n",
            "reservations[0].machine_type",
            "g2-standard-96 does not carry nvidia-h100-80gb (H100 80GB runs on a3-highgpu machines",
        ),
        (
            "    zone: us-central1-a\n",
            "    zone: us-central1-f\n",
            "reservations[0].zone",
            "us-central1-f is not a zone of the cluster, whose nodes run in us-central1-a, us-central1-b, "
            "us-central1-c: GKE could never consume it",
        ),
        (
            "    reservation: h100-pretrain\n",
            "    reservation: h100-pretrian\n",
            "compute_classes[2].reservation",
            "unknown reservation 'h100-pretrian' (did you mean 'h100-pretrain'?); defined: h100-pretrain",
        ),
        (
            "    capacity: [reservation, on-demand]\n    reservation: h100-pretrain\n",
            "    capacity: [on-demand]\n    reservation: h100-pretrain\n",
            "compute_classes[2].reservation",
            "a class consumes a reservation with both capacity: [reservation, ...] and reservation: NAME",
        ),
        (
            "    capacity: [reservation, on-demand]\n    reservation: h100-pretrain\n",
            "    capacity: [reservation, on-demand]\n",
            "compute_classes[2].capacity",
            "a class consumes a reservation with both capacity: [reservation, ...] and reservation: NAME",
        ),
        (
            "  - name: h100-8-reserved\n    gpu: nvidia-h100-80gb\n    gpu_count: 8\n",
            "  - name: h100-8-reserved\n    gpu: nvidia-h100-80gb\n    gpu_count: 4\n",
            "compute_classes[2].reservation",
            "reservation h100-pretrain holds VMs with 8 x nvidia-h100-80gb; class h100-8-reserved asks for 4 x "
            "nvidia-h100-80gb: its reservation rung would never match a reserved VM",
        ),
    ],
)
def test_a_reservation_and_the_class_that_consumes_it_are_checked_at_load(tmp_path, old, new, field, message):
    assert old in LIVE
    path = tmp_path / "live.yaml"
    path.write_text(LIVE.replace(old, new, 1))
    with pytest.raises(ConfigError) as info:
        load_environment(path)
    text = str(info.value)
    assert f": {field}: " in text and message in text, text


def test_the_machine_type_defaults_to_the_gpus_machine():
    (r,) = live().reservations
    assert (r.machine, r.gpus, r.owner(live())) == ("a3-highgpu-8g", 16, "fx-capacity-ml")


# --- the ComputeClass ---------------------------------------------------------------------------------------


def test_the_reservation_rung_names_the_reserved_vms_and_the_reservation():
    env = live()
    (cc,) = [c for c in in_cluster_plan(env).compute_classes if c["metadata"]["name"] == "h100-8-reserved"]
    first, second = cc["spec"]["priorities"]
    assert first == {
        "gpu": {"type": "nvidia-h100-80gb", "count": 8},
        "spot": False,
        "machineType": "a3-highgpu-8g",  # a non-TPU reservation needs a machine type or family in its priority
        "reservations": {
            "affinity": "Specific",
            "specific": [
                {
                    "name": "h100-pretrain",
                    "project": "fx-capacity-ml",
                    "reservationBlock": {"name": "h100-pretrain-block-1"},
                }
            ],
        },
    }
    assert second == {"gpu": {"type": "nvidia-h100-80gb", "count": 8}, "spot": False}  # then on-demand
    assert cc["spec"]["nodePoolAutoCreation"] == {"enabled": True}  # GKE consumes reservations with it only
    # a reservation of the environment's own project names no project
    own = live(
        LIVE.replace(
            "    project: fx-capacity-ml   # the organization's capacity project shares it with this one\n", ""
        )
    )
    (cc,) = [c for c in in_cluster_plan(own).compute_classes if c["metadata"]["name"] == "h100-8-reserved"]
    assert cc["spec"]["priorities"][0]["reservations"]["specific"][0] == {
        "name": "h100-pretrain",
        "reservationBlock": {"name": "h100-pretrain-block-1"},
    }


# --- Kueue ---------------------------------------------------------------------------------------------------


def test_the_cohort_holds_the_reserved_gpus_that_only_the_class_s_pods_may_use():
    env = live()
    queues = in_cluster_plan(env).kueue.queues
    for obj in queues:
        assert kueue_crd.problems(obj) == [], obj["metadata"]
    flavor = reserved_flavor("h100-pretrain")
    (cohort,) = [o for o in queues if o["kind"] == "Cohort"]
    assert cohort["spec"]["resourceGroups"] == [
        {
            "coveredResources": [platform.GPU_RESOURCE],
            "flavors": [{"name": flavor, "resources": [{"name": platform.GPU_RESOURCE, "nominalQuota": "16"}]}],
        }
    ]
    (reserved,) = [o for o in queues if o["kind"] == "ResourceFlavor" and o["metadata"]["name"] == flavor]
    assert reserved["spec"] == {
        "nodeTaints": [{"key": "gkeml.io/reservation", "value": "h100-pretrain", "effect": "NoSchedule"}]
    }
    for cq in (o for o in queues if o["kind"] == "ClusterQueue"):
        (gpus,) = [g for g in cq["spec"]["resourceGroups"] if g["coveredResources"] == [platform.GPU_RESOURCE]]
        first = gpus["flavors"][0]  # tried first: already paid for
        assert first == {"name": flavor, "resources": [{"name": platform.GPU_RESOURCE, "nominalQuota": "0"}]}
    # the namespaces' quota lets the pods of a job admitted on the reserved GPUs in
    for team in env.teams:
        assert namespace_quota(env, team)[2] == team.quota.gpus + 16
    # a cohort's quota may have no borrowing or lending limit without a parent (the check can fail)
    bad = {**cohort, "spec": {"resourceGroups": [{**cohort["spec"]["resourceGroups"][0]}]}}
    bad["spec"]["resourceGroups"][0]["flavors"] = [
        {"name": flavor, "resources": [{"name": platform.GPU_RESOURCE, "nominalQuota": "16", "borrowingLimit": "0"}]}
    ]
    assert kueue_crd.problems(bad) == [
        "resourceGroups[0].flavors[0].resources[0].borrowingLimit: must be nil when the cohort has no parent"
    ]


def test_a_reservation_no_class_consumes_adds_no_flavor():
    env = live(LIVE.replace("    capacity: [reservation, on-demand]\n    reservation: h100-pretrain\n", ""))
    assert env.reservations and not [
        o for o in in_cluster_plan(env).kueue.queues if o["metadata"]["name"] == reserved_flavor("h100-pretrain")
    ]


def test_a_job_on_the_class_is_admitted_on_the_reserved_gpus_beyond_its_team_s_quota():
    """research may have 8 GPUs of its own (no borrowing): 16 fit only on the reserved flavor, which only the
    pods of the reservation's class tolerate (GKE026 on the real objects)."""
    small = LIVE.replace('quota: {cpu: "512", memory: 4Ti, gpus: 32}', 'quota: {cpu: "512", memory: 4Ti, gpus: 8}')
    env = live(small.replace("    gpu_count: 8\n    nodes: 2\n", "    gpu_count: 8\n    nodes: 1\n"))  # its budget
    spec = parse_job_spec(JOB + "compute_class: h100-8-reserved\n", "pretrain.yaml", env)
    (jobset,) = render(spec, env)
    pod = jobset["spec"]["replicatedJobs"][0]["template"]["spec"]["template"]["spec"]
    assert pod["tolerations"] == [
        {"key": "gkeml.io/reservation", "operator": "Equal", "value": "h100-pretrain", "effect": "NoSchedule"}
    ]
    assert pod["nodeSelector"] == {platform.COMPUTE_CLASS_LABEL: "h100-8-reserved"}  # the class alone
    assert check([jobset, *in_cluster_plan(env).compute_classes]) == []  # with its class (else GKE075 says so)
    # the same job on on-demand capacity: beyond what research's queue can ever get
    with pytest.raises(ConfigError, match="never admits it: its pods need 16 of nvidia.com/gpu together"):
        render(parse_job_spec(JOB + "compute_class: h100-8-on-demand\n", "pretrain.yaml", env), env)


# --- the price ------------------------------------------------------------------------------------------------


def test_a_reservation_is_priced_whether_used_or_not():
    prices = load_prices()
    shared = estimate(live(), prices).item("reservation/h100-pretrain")
    vm = prices.machines["a3-highgpu-8g"].on_demand_hour
    assert shared.autopilot.low == shared.standard.high == 0  # billed to the owner project
    assert f"shared by fx-capacity-ml: billed there whether used or not ({2 * vm * 730:,.2f}/month" in shared.basis
    own_text = LIVE.replace(
        "    project: fx-capacity-ml   # the organization's capacity project shares it with this one\n", ""
    )
    own = estimate(live(own_text), prices)
    line = own.item("reservation/h100-pretrain")
    assert line.kind == "reservation" and line.autopilot.low == line.autopilot.high == pytest.approx(2 * vm * 730)
    assert line.standard == line.autopilot and "billed whether used or not" in line.basis
    assert own.autopilot.low == pytest.approx(estimate(live(), prices).autopilot.low + 2 * vm * 730)


def test_a_service_on_a_reserved_class_of_this_project_pays_the_premium_only():
    """The lab fixture with its own L4 reservation, consumed first by the chat service's class."""
    prices = load_prices()
    reserved = (
        LAB.replace(
            "    capacity: [spot, on-demand, flex-start]\n",
            "    capacity: [reservation, spot, on-demand, flex-start]\n    reservation: l4-serving\n",
        )
        + "reservations:\n  - {name: l4-serving, zone: us-central1-a, gpu: nvidia-l4, gpu_count: 1, count: 2}\n"
    )
    env = parse_environment(reserved, "lab.yaml")
    before = estimate(parse_environment(LAB, "lab.yaml"), prices)
    after = estimate(env, prices)
    chat = next(s for s in env.inference if s.compute_class == "l4-spot-first")
    item = after.item(f"inference/{chat.name}")
    assert "VM in reservation/l4-serving + premium" in item.basis
    assert item.autopilot.high < before.item(f"inference/{chat.name}").autopilot.high
    vm = prices.machines["g2-standard-32"].on_demand_hour  # the L4 x1 machine Autopilot sizes it to
    assert after.item("reservation/l4-serving").autopilot.low == pytest.approx(2 * vm * 730)


# --- the GKE version ---------------------------------------------------------------------------------------


def test_a_channel_below_the_reservation_rung_s_minimum_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "live.yaml"
    path.write_text(LIVE)
    older = platform.ChannelVersions("1.30", "1.31", "1.31.0-gke.1000000")
    for channel in list(platform.CHANNEL_VERSIONS):
        monkeypatch.setitem(platform.CHANNEL_VERSIONS, channel, older)
    with pytest.raises(ConfigError) as info:
        load_environment(path)
    assert "compute_classes[2].capacity: reservation rung needs GKE 1.31.1-gke.2105000 or later" in str(info.value)
