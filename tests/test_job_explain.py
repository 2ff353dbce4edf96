"""``gkeml job explain``: each blocking reason on the fixture environment (tests/fixtures/explain), in the
table and in JSON, offline; and ``--live`` against the loopback Kubernetes API of the job lifecycle tests.

Each spec in tests/fixtures/explain/jobs is named after the reason that blocks the rung it chooses; the
region's GPU quota comes from the recorded ``regions.get`` answer beside them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from kube_api import LAB_ENTRY, KubeApi, admitted, child_job, pod, submitted, with_status, workload, write_kubeconfig
from servers import serving

from gkeml import platform
from gkeml.cli import main
from gkeml.doctor.explain import explain, load_for_explain, load_quota_snapshot
from gkeml.environments import load_environment

FIXTURES = Path(__file__).parent / "fixtures" / "explain"
ENVIRONMENTS = FIXTURES / "environments"
SNAPSHOT = FIXTURES / "quota-snapshot.json"


def spec_file(name: str) -> str:
    return str(FIXTURES / "jobs" / f"{name}.yaml")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["job", "explain", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def explain_json(capsys, name: str, *more: str) -> tuple[int, dict]:
    code, out, err = run(
        capsys, spec_file(name), "--env", "ex", "--environments", str(ENVIRONMENTS), "--format", "json", *more
    )
    assert out, err
    return code, json.loads(out)


def rung(data: dict, name: str) -> dict:
    return next(r for r in data["rungs"] if r["rung"] == name)


# (spec, the rung it is explained on, the reason that blocks it, what the message must say)
BLOCKED = [
    ("autopilot-maximum", "on-demand", "autopilot-maximum", "maximum 31 vCPU"),
    ("gpu-shape", "on-demand", "gpu-shape", "3 is not allowed for nvidia-l4; allowed: 1, 2, 4, 8"),
    ("team-quota", "on-demand", "team-quota", "needs 16 of requests.nvidia.com/gpu"),
    ("cluster-queue", "spot", "cluster-queue", "the queue can get at most 6 on gpu-spot, 6 on gpu-on-demand"),
    ("region-quota", "on-demand", "region-quota", "NVIDIA_L4_GPUS is 2 in the region, the job needs 4 GPUs"),
    ("spot-grace", "spot", "spot-grace", "120 s is more than Spot honours; allowed: 1-25"),
    ("flex-start-max-run", "flex-start", "flex-start-max-run", "864000 s is longer than flex-start nodes run"),
    ("fits", "flex-start", "flex-start", "queues every job through Kueue"),
    ("spot-checkpoints", "spot", "spot-checkpoints", "true needs a checkpoint bucket so a preempted run resumes"),
    ("compute-class", "spot", "compute-class", "class a100-ladder may run the job on Spot nodes"),
    ("reservation", "reservation/a100-pool", "reservation", "reservation a100-pool holds 2 VMs x 1 = 2"),
]


@pytest.mark.parametrize(("spec", "where", "reason", "said"), BLOCKED, ids=[b[0] for b in BLOCKED])
def test_each_blocking_reason_in_json_and_in_the_table(capsys, spec, where, reason, said):
    code, data = explain_json(capsys, spec, "--quota-snapshot", str(SNAPSHOT))
    found = rung(data, where)
    assert not found["fits"]
    blockers = {b["reason"]: b["message"] for b in found["blockers"]}
    assert reason in blockers, found
    assert said in blockers[reason]
    assert code == (0 if any(r["fits"] for r in data["rungs"] if r["chosen"]) else 1)
    assert data["fits"] is (code == 0)

    code_text, out, _ = run(
        capsys, spec_file(spec), "--env", "ex", "--environments", str(ENVIRONMENTS), "--quota-snapshot", str(SNAPSHOT)
    )
    assert code_text == code
    row = next(line for line in out.splitlines() if line.startswith(where + " ") or line.startswith(where + "  "))
    assert re.search(rf"\bno\b.*\b{re.escape(reason)}\b", row), row
    assert f"blocked: {reason}" in out and said in " ".join(out.split())


def test_a_job_that_fits_exits_0_with_its_cost_per_hour_on_each_rung(capsys):
    code, data = explain_json(capsys, "fits")
    assert code == 0 and data["fits"]
    chosen = [r["rung"] for r in data["rungs"] if r["chosen"]]
    assert chosen == ["on-demand"]
    spot, on_demand = rung(data, "spot"), rung(data, "on-demand")
    assert spot["fits"] and on_demand["fits"]
    assert 0 < spot["cost_per_hour"] < on_demand["cost_per_hour"]  # Spot is the cheaper rung
    assert "g2-standard-12" in on_demand["cost_basis"]
    assert data["region_quota"].startswith("unknown offline")
    assert "Spot: preempted at any time with at most 25 s" in " ".join(spot["notes"])


def test_the_chosen_rung_decides_the_exit_code(capsys):
    """spot-grace chooses Spot, which its grace blocks; on-demand would fit but is only an alternative."""
    code, data = explain_json(capsys, "spot-grace")
    assert code == 1
    assert rung(data, "on-demand")["fits"] and not rung(data, "on-demand")["chosen"]


def test_a_class_explains_each_of_its_rungs_in_order(capsys):
    code, data = explain_json(capsys, "flex-start-max-run")
    assert [r["rung"] for r in data["rungs"]] == ["spot", "on-demand", "flex-start"]
    assert all(r["chosen"] for r in data["rungs"])
    assert code == 0  # Spot and on-demand still run it
    flex = rung(data, "flex-start")
    assert "discount" in flex["cost_basis"] and flex["cost_per_hour"] < rung(data, "on-demand")["cost_per_hour"]


def test_every_reason_explain_knows_has_a_spec_that_it_blocks():
    from gkeml.doctor.explain import REASONS

    assert set(REASONS) == {reason for _, _, reason, _ in BLOCKED}


def test_a_spot_note_claims_no_checkpoints_a_job_does_not_write(capsys):
    _, data = explain_json(capsys, "spot-checkpoints")
    assert rung(data, "spot")["notes"] == ["Spot: preempted at any time with at most 25 s to stop (this job asks 25 s)"]


def test_a_reservation_that_holds_the_job_fits_at_the_autopilot_premium_alone(capsys):
    """2 x 1 A100 on the class whose first rung is this project's reservation of 2 A100 VMs: the reserved
    VMs are billed on the reservation's own line, so the rung costs the premium only."""
    code, data = explain_json(capsys, "reservation-fits", "--quota-snapshot", str(SNAPSHOT))
    assert code == 0 and [r["rung"] for r in data["rungs"]] == ["reservation/a100-pool", "on-demand"]
    reserved, on_demand = rung(data, "reservation/a100-pool"), rung(data, "on-demand")
    assert reserved["chosen"] and reserved["fits"] and not reserved["blockers"]
    assert "reservation: its VMs hold their own quota and are billed whether used or not" in reserved["notes"]
    assert not any("snapshot" in n for n in reserved["notes"])  # its VMs are not on the region's GPU quota
    vm, premium = map(float, re.search(r"VM ([0-9.]+)/h \+ premium ([0-9.]+)/h", on_demand["cost_basis"]).groups())
    assert reserved["cost_basis"].startswith("2 x a2-ultragpu-1g from the reservation: premium")
    assert reserved["cost_per_hour"] == pytest.approx(2 * premium, abs=1e-3)
    assert on_demand["cost_per_hour"] == pytest.approx(2 * (vm + premium), abs=1e-3)


def test_the_region_quota_counts_spot_on_the_preemptible_quota(capsys):
    _, data = explain_json(capsys, "region-quota", "--quota-snapshot", str(SNAPSHOT))
    spot = rung(data, "spot")
    assert spot["fits"]
    assert "PREEMPTIBLE_NVIDIA_L4_GPUS: 4 of 16 free at the snapshot" in spot["notes"]


def test_the_spec_s_own_mistakes_and_a_snapshot_of_another_region_exit_2(capsys, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(Path(spec_file("fits")).read_text().replace("team: research", "team: nobody"))
    code, _, err = run(capsys, str(bad), "--env", "ex", "--environments", str(ENVIRONMENTS))
    assert code == 2 and "bad.yaml:3: team: unknown team 'nobody' in ex" in err

    other = tmp_path / "europe.json"
    other.write_text(json.dumps({"name": "europe-west4", "quotas": []}))
    code, _, err = run(
        capsys, spec_file("fits"), "--env", "ex", "--environments", str(ENVIRONMENTS), "--quota-snapshot", str(other)
    )
    assert code == 2 and "the snapshot is of europe-west4; ex runs in us-central1" in err

    code, _, err = run(capsys, spec_file("fits"))
    assert code == 2 and "--env ENV is required" in err


def test_explain_agrees_with_the_gate_on_a_rung_that_fits():
    """A rung explained as fitting is a submission the job gate renders (the same checks, not a copy)."""
    from gkeml.jobs import parse_job_spec, render

    env = load_environment(ENVIRONMENTS / "ex.yaml")
    for name in ("fits", "region-quota", "spot-grace", "team-quota"):
        spec = load_for_explain(spec_file(name))
        result = explain(spec, env, quotas=None)
        for verdict in result.rungs:
            variant = spec.model_copy(
                update={"spot": verdict.rung == "spot", "flex_start": verdict.rung == "flex-start"}
            )
            text = variant.model_dump_json(exclude_unset=False)
            try:
                render(parse_job_spec(json.dumps(json.loads(text)), spec._file, env), env)
                rendered = True
            except Exception:
                rendered = False
            assert rendered == verdict.fits, (name, verdict.rung, verdict.blockers)


def test_a_snapshot_with_a_quota_that_is_no_number_is_refused(tmp_path):
    env = load_environment(ENVIRONMENTS / "ex.yaml")
    broken = tmp_path / "q.json"
    broken.write_text(json.dumps({"quotas": [{"metric": "NVIDIA_L4_GPUS", "limit": "lots"}]}))
    with pytest.raises(Exception, match="no number"):
        load_quota_snapshot(broken, env)


def test_read_quota_reads_the_region_as_doctor_does_and_records_a_snapshot(capsys, tmp_path):
    from google_apis import GkeApi

    with serving(GkeApi()) as compute:
        compute.routes["/compute/v1/projects/ex-ml-project/regions/us-central1"] = (
            200,
            json.loads(SNAPSHOT.read_text()),
        )
        recorded = tmp_path / "quota.json"
        code, data = explain_json(
            capsys, "region-quota", "--read-quota", "--record-quota", str(recorded), "--compute-endpoint", compute.url
        )
        assert code == 1 and "region-quota" in {b["reason"] for b in rung(data, "on-demand")["blockers"]}
        assert data["region_quota"] == f"read from Compute Engine (us-central1), recorded in {recorded}"
        code_again, again = explain_json(capsys, "region-quota", "--quota-snapshot", str(recorded))
        assert code_again == 1 and again["rungs"] == data["rungs"]

        compute.routes["/compute/v1/projects/ex-ml-project/regions/us-central1"] = (
            403,
            {
                "error": {
                    "code": 403,
                    "message": "Required 'compute.regions.get' permission",
                    "status": "PERMISSION_DENIED",
                }
            },
        )
        code, out, err = run(
            capsys,
            spec_file("fits"),
            *("--env", "ex", "--environments", str(ENVIRONMENTS)),
            *("--read-quota", "--compute-endpoint", compute.url),
        )
        assert code == 1 and not out and err.startswith("gkeml job explain: error: permission denied")


# -- live ----------------------------------------------------------------------------------------------


class EventsApi(KubeApi):
    """The loopback API of the job lifecycle tests, with the namespace's events."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[dict] = []

    def answer(self, method, path, query, body):
        found = re.fullmatch(r"/api/v1/namespaces/([^/]+)/events", path)
        if found and method == "GET":
            items = [e for e in self.events if e["metadata"]["namespace"] == found.group(1)]
            return 200, {"kind": "EventList", "apiVersion": "v1", "metadata": {}, "items": items}
        return super().answer(method, path, query, body)


def event(namespace: str, kind: str, name: str, reason: str, message: str, when: str, type_: str = "Warning") -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{name}.{reason.lower()}", "namespace": namespace},
        "involvedObject": {"kind": kind, "name": name, "namespace": namespace},
        "reason": reason,
        "message": message,
        "type": type_,
        "count": 3,
        "lastTimestamp": when,
    }


@pytest.fixture
def events_kube():
    with serving(EventsApi()) as api:
        yield api


def test_live_adds_the_workload_s_conditions_and_the_run_s_events(events_kube, envs, tmp_path, monkeypatch, capsys):
    kube = events_kube
    job = submitted(kube, "single-gpu", "finetune-l4-q7w2e")
    kube.put(with_status(job))
    kube.kueue_version = "v1beta2"
    pending = workload(
        kube.store[("jobs", "research", "finetune-l4-q7w2e")],
        "v1beta2",
        admitted=False,
        reason="Pending",
        message="couldn't assign flavors to pod set main: insufficient unused quota for nvidia.com/gpu in flavor "
        "gpu-on-demand, 1 more needed",
    )
    kube.workloads.append(pending)
    wl = pending["metadata"]["name"]
    kube.events += [
        event("research", "Workload", wl, "Pending", "insufficient unused quota", "2026-11-20T10:01:00Z"),
        event(
            "research",
            "Pod",
            "finetune-l4-q7w2e-0-abcde",
            "NotTriggerScaleUp",
            "pod didn't trigger scale-up: 1 max node group size reached\x1b[2J",
            "2026-11-20T10:02:00Z",
        ),
        event("research", "Pod", "someone-else", "FailedScheduling", "not ours", "2026-11-20T10:03:00Z"),
        event("interns", "Workload", wl, "Preempted", "other namespace", "2026-11-20T10:04:00Z"),
    ]
    kube.put(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": "finetune-l4-q7w2e-0-abcde",
                "namespace": "research",
                "labels": {platform.JOB_NAME_LABEL: "finetune-l4-q7w2e", "app.kubernetes.io/managed-by": "gkeml"},
            },
            "spec": {"containers": [{"name": "trainer"}]},
            "status": {"phase": "Pending"},
        }
    )
    monkeypatch.setenv("KUBECONFIG", str(write_kubeconfig(tmp_path / "config", kube.url, LAB_ENTRY)))
    argv = ["examples/jobs/single-gpu.yaml", "--env", "lab", "--environments", str(envs), "--live"]
    code, out, err = run(capsys, *argv, "--format", "json")
    assert code == 0, err
    live = json.loads(out)["live"]
    assert live["run"] == "research/finetune-l4-q7w2e" and live["workload"] == wl
    assert {"type": "QuotaReserved", "status": "False", "reason": "Pending"}.items() <= live["conditions"][0].items()
    assert [(e["object"], e["reason"], e["key"]) for e in live["events"]] == [
        (f"Workload/{wl}", "Pending", True),
        ("Pod/finetune-l4-q7w2e-0-abcde", "NotTriggerScaleUp", True),
    ]
    code, out, _ = run(capsys, *argv)
    assert "QuotaReserved=False Pending: couldn't assign flavors" in out
    assert "NotTriggerScaleUp (x3): pod didn't trigger scale-up" in out
    assert "\x1b" not in out and "\\x1b[2J" in out  # what the cluster says cannot drive the terminal
    assert ("GET", "/api/v1/namespaces/research/events", {"limit": "500"}, None) in kube.requests

    code, _, err = run(capsys, *argv, "--run", "no-such-run")
    assert code == 1 and "no-such-run" in err
    other = ["examples/jobs/multi-node-ddp.yaml", *argv[1:]]
    code, _, err = run(capsys, *other)
    assert code == 1 and "no run of spec pretrain-2x4 in research" in err


def test_live_reads_a_jobset_s_child_jobs_its_workload_and_their_events(
    events_kube, envs, tmp_path, monkeypatch, capsys
):
    """A multi-node run is a JobSet: the events that say why it does not run are on its child Job (the team's
    ResourceQuota refusing a pod), on its pods (one preempted and deleted since) and on the Workload Kueue owns
    by the JobSet."""
    kube = events_kube
    jobset = submitted(kube, "multi-node-ddp", "pretrain-2x4-k7q2m")
    kube.put(with_status(admitted(jobset)))
    child = kube.put(child_job(jobset, active=1))
    kube.put(pod(jobset, 0, "z9y8x", "Running"))
    kube.kueue_version = "v1beta2"
    stored = kube.store[("jobsets", "research", "pretrain-2x4-k7q2m")]
    owned = workload(stored, "v1beta2", admitted=True)
    owned["metadata"]["name"] = wl = "jobset-pretrain-2x4-k7q2m-5d1e0"  # Kueue's name for a JobSet's Workload
    kube.workloads.append(owned)
    job = child["metadata"]["name"]
    assert job == "pretrain-2x4-k7q2m-node-0"
    kube.events += [
        event("research", "Workload", wl, "Admitted", "Admitted by ClusterQueue research-cq", "2026-11-20T10:00:01Z"),
        event(
            "research",
            "Job",
            job,
            "FailedCreate",
            f'Error creating: pods "{job}-1-k2x9q" is forbidden: exceeded quota: research, requested: '
            "requests.nvidia.com/gpu=4, used: requests.nvidia.com/gpu=8, limited: requests.nvidia.com/gpu=8",
            "2026-11-20T10:00:02Z",
        ),
        event("research", "Pod", f"{job}-1-b7c4d", "Preempted", "deleted since", "2026-11-20T10:00:03Z"),
        event("research", "JobSet", "pretrain-2x4-k7q2m", "Suspended", "jobset suspended", "2026-11-20T10:00:04Z"),
        event("research", "Job", "pretrain-2x4-k7q2m-node-0x", "FailedCreate", "not ours", "2026-11-20T10:00:05Z"),
        event("research", "Pod", "pretrain-2x4-k7q2m-node-0x-1-b7c4d", "Preempted", "not ours", "2026-11-20T10:00:06Z"),
        event("research", "Pod", job, "Preempted", "a Job's name on a pod", "2026-11-20T10:00:07Z"),
    ]
    monkeypatch.setenv("KUBECONFIG", str(write_kubeconfig(tmp_path / "config", kube.url, LAB_ENTRY)))
    argv = ["examples/jobs/multi-node-ddp.yaml", "--env", "lab", "--environments", str(envs), "--live"]
    code, out, err = run(capsys, *argv, "--format", "json")
    assert code == 0, err
    live = json.loads(out)["live"]
    assert live["run"] == "research/pretrain-2x4-k7q2m" and live["kind"] == "JobSet" and live["jobs"] == [job]
    assert live["workload"] == wl and live["admission"].startswith("admitted in cluster queue research-cq")
    assert {"type": "Admitted", "status": "True"}.items() <= live["conditions"][1].items()
    assert [(e["object"], e["reason"]) for e in live["events"]] == [
        (f"Workload/{wl}", "Admitted"),
        (f"Job/{job}", "FailedCreate"),
        (f"Pod/{job}-1-b7c4d", "Preempted"),
        ("JobSet/pretrain-2x4-k7q2m", "Suspended"),
    ]
    selector = {"labelSelector": f"{platform.JOBSET_NAME_LABEL}=pretrain-2x4-k7q2m"}
    assert ("GET", "/apis/batch/v1/namespaces/research/jobs", selector, None) in kube.requests
    code, out, _ = run(capsys, *argv)
    assert "live: JobSet research/pretrain-2x4-k7q2m: Running; admitted in cluster queue research-cq" in out
    assert f"child jobs: {job}" in out
    assert "FailedCreate (x3): Error creating: pods" in out and "exceeded quota: research" in out
