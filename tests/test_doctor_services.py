"""``gkeml doctor``'s DNS, certificate and capacity checks, against real local servers: the GKE/Compute
REST server of tests/test_doctor.py (Compute Engine paths added) and a DNS server on 127.0.0.1 that
answers A questions with dnspython's own wire format. Nothing in the clients is mocked."""

from __future__ import annotations

import socket
import threading

import dns.message
import dns.rcode
import dns.rrset
import pytest
from conftest import ENVIRONMENTS
from google_apis import SERVER_CONFIG, GkeApi, by_name, error, gkeml, healthy_cluster, run_doctor
from servers import serving

from gkeml.doctor import preflight
from gkeml.naming import Names

LAB_IP = "34.117.0.10"
LAB_HOST = "chat.lab.fx.example"


class DnsServer:
    """A UDP DNS server on 127.0.0.1: ``records`` maps a name to its A records; other names are NXDOMAIN."""

    def __init__(self, records: dict[str, list[str]]):
        self.records = records
        self.questions: list[str] = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)  # lets the loop notice stop(); no test waits on it
        self.address = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                data, peer = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            query = dns.message.from_wire(data)
            response = dns.message.make_response(query)
            question = query.question[0]
            name = question.name.to_text().rstrip(".")
            self.questions.append(name)
            if name in self.records:
                response.answer.append(dns.rrset.from_text(question.name, 300, "IN", "A", *self.records[name]))
            else:
                response.set_rcode(dns.rcode.NXDOMAIN)
            self.sock.sendto(response.to_wire(), peer)

    def start(self) -> DnsServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=10)
        self.sock.close()


@pytest.fixture
def dns_server():
    with serving(DnsServer({LAB_HOST: [LAB_IP]})) as server:
        yield server


def quotas(**limits: float) -> dict:
    """regions.get of us-central1 with these quota limits (usage 0)."""
    return {"name": "us-central1", "quotas": [{"metric": m, "limit": v, "usage": 0} for m, v in limits.items()]}


ENOUGH = {"CPUS": 500, "G2_CPUS": 96, "NVIDIA_L4_GPUS": 16, "PREEMPTIBLE_NVIDIA_L4_GPUS": 0}


LAB_PROJECT = "/v3/projects/fx-lab-ml"
LAB_NUMBER = "200000000101"  # project.number of tests/fixtures/environments/lab.yaml


def project(project_id: str, number: str) -> dict:
    """A Project as Cloud Resource Manager v3 answers projects.get."""
    return {
        "name": f"projects/{number}",
        "parent": "folders/1234",
        "projectId": project_id,
        "state": "ACTIVE",
        "displayName": project_id,
    }


def serve_lab(gke: GkeApi, *, cert_status: str = "ACTIVE", region: dict | None = None) -> None:
    """A deployed lab: its project, healthy cluster, static IP, certificate, regional quotas."""
    names = Names("fx-lab-ml", "lab", "fx-lab-ml", "us-central1")
    base = "/compute/v1/projects/fx-lab-ml"
    gke.routes[LAB_PROJECT] = (200, project("fx-lab-ml", LAB_NUMBER))
    gke.routes["/v1/projects/fx-lab-ml/locations/us-central1/clusters/fx-lab-ml"] = (200, healthy_cluster())
    gke.routes["/v1/projects/fx-lab-ml/locations/us-central1/serverConfig"] = (200, SERVER_CONFIG)
    gke.routes[f"{base}/global/addresses/{names.address('chat')}"] = (
        200,
        {"name": names.address("chat"), "address": LAB_IP},
    )
    gke.routes[f"{base}/global/sslCertificates/{names.certificate('chat', LAB_HOST)}"] = (
        200,
        {
            "name": names.certificate("chat", LAB_HOST),
            "type": "MANAGED",
            "managed": {"status": cert_status, "domains": [LAB_HOST], "domainStatus": {LAB_HOST: cert_status}},
        },
    )
    gke.routes[f"{base}/regions/us-central1"] = (200, region or quotas(**ENOUGH))


def run(gke: GkeApi, dns_address: str, *extra: str, env: str = "lab") -> tuple[int, dict, str]:
    """``gkeml doctor`` with every part but the toolchain, against the local servers."""
    return run_doctor(env, gke, *extra, dns_server=dns_address)


def test_host_pointing_at_its_ip_with_an_active_certificate_and_enough_quota_is_clean(gke, dns_server):
    serve_lab(gke)
    code, report, err = run(gke, dns_server.address)
    assert code == 0, report
    rows = by_name(report)
    assert (rows[LAB_HOST]["area"], rows[LAB_HOST]["status"], rows[LAB_HOST]["live"]) == ("dns", "ok", LAB_IP)
    assert rows[f"certificate {LAB_HOST}"]["status"] == "ok"
    # lab at peak: chat 2 x 1 L4 on Spot + nightly-finetune 1 x 1 L4 on Spot, each on a g2-standard-8
    assert (rows["NVIDIA_L4_GPUS"]["expected"], rows["NVIDIA_L4_GPUS"]["status"]) == (">= 3", "ok")
    assert rows["G2_CPUS"]["expected"] == ">= 24"
    assert dns_server.questions == [LAB_HOST]
    assert (rows["project number"]["area"], rows["project number"]["status"]) == ("project", "ok")
    assert rows["project number"]["expected"] == rows["project number"]["live"] == LAB_NUMBER
    assert gke.paths()[0] == LAB_PROJECT
    assert all("Authorization" not in headers for _, headers in gke.requests)
    assert err == ""


def test_wrong_or_missing_a_record_is_drift_and_the_certificate_waits_for_it(gke):
    for records, live in (({LAB_HOST: ["203.0.113.7"]}, "203.0.113.7"), ({}, "no A record")):
        with serving(DnsServer(records)) as server:
            serve_lab(gke, cert_status="PROVISIONING")
            code, report, _ = run(gke, server.address)
        assert code == 1
        rows = by_name(report)
        assert (rows[LAB_HOST]["status"], rows[LAB_HOST]["expected"], rows[LAB_HOST]["live"]) == (
            "drift",
            f"A {LAB_IP}",
            live,
        )
        assert "the dns section creates this record: `cdktf deploy lab`" in rows[LAB_HOST]["advice"]
        cert = rows[f"certificate {LAB_HOST}"]
        assert (cert["status"], cert["live"]) == ("drift", "PROVISIONING")
        assert f"until {LAB_HOST} resolves to its static IP" in cert["advice"]


def test_a_provisioning_certificate_behind_correct_dns_is_only_a_warning(gke, dns_server):
    serve_lab(gke, cert_status="PROVISIONING")
    code, report, _ = run(gke, dns_server.address)
    assert code == 0
    assert by_name(report)[f"certificate {LAB_HOST}"]["status"] == "warn"


def test_quota_below_the_peak_names_the_quota_to_raise_and_who_needs_it(gke, dns_server):
    serve_lab(gke, region=quotas(**{**ENOUGH, "NVIDIA_L4_GPUS": 2}))
    code, report, _ = run(gke, dns_server.address)
    assert code == 1
    row = by_name(report)["NVIDIA_L4_GPUS"]
    assert (row["status"], row["expected"], row["live"]) == ("drift", ">= 3", "limit 2, in use 0")
    assert "raise NVIDIA_L4_GPUS in us-central1 of fx-lab-ml to at least 3 before deploying" in row["advice"]
    assert (
        "inference/chat: 2 x 1 L4 (Spot, on-demand fallback)" in row["advice"]
        and "training/nightly-finetune" in row["advice"]
    )


def test_spot_needs_go_to_the_preemptible_quota_when_the_project_has_one(gke, dns_server):
    serve_lab(
        gke, region=quotas(**{**ENOUGH, "PREEMPTIBLE_NVIDIA_L4_GPUS": 4, "NVIDIA_L4_GPUS": 2, "PREEMPTIBLE_CPUS": 64})
    )
    code, report, _ = run(gke, dns_server.address)
    rows = by_name(report)
    assert code == 0, rows
    assert rows["PREEMPTIBLE_NVIDIA_L4_GPUS"]["expected"] == ">= 3"
    assert rows["PREEMPTIBLE_CPUS"]["expected"] == ">= 24"
    # only chat's ComputeClass falls back to on-demand L4s (its 2 replicas); the Spot training job never does
    assert rows["NVIDIA_L4_GPUS"]["expected"] == ">= 2" and "training" not in rows["NVIDIA_L4_GPUS"]["advice"]


def test_a_gpu_the_region_does_not_list_is_a_warning(gke, dns_server):
    serve_lab(gke, region=quotas(CPUS=500))
    code, report, _ = run(gke, dns_server.address)
    row = by_name(report)["NVIDIA_L4_GPUS"]
    assert (code, row["status"], row["live"]) == (0, "warn", "not listed in us-central1")
    assert by_name(report)["CPUS"]["expected"] == ">= 24"  # no G2_CPUS in the region: g2 vCPUs count as CPUS


def test_compute_permission_denied_exits_2_with_the_role_to_grant(gke, dns_server):
    serve_lab(gke)
    gke.routes["/compute/v1/projects/fx-lab-ml/regions/us-central1"] = (
        403,
        error(403, "PERMISSION_DENIED", "Required 'compute.regions.get' permission"),
    )
    code, report, err = run(gke, dns_server.address)
    assert code == 2
    assert "roles/compute.viewer on project fx-lab-ml" in report["error"]
    assert {c["area"] for c in report["checks"]} == {"project", "cluster"}  # the other parts still ran
    assert err.startswith(
        "gkeml doctor: error: permission denied reading compute/v1/projects/fx-lab-ml/regions/us-central1"
    )


def test_environment_without_hosts_checks_quotas_only(gke, dns_server):
    gke.routes["/v1/projects/fx-mini-ml/locations/europe-west4/clusters/fx-mini-ml"] = (
        200,
        {
            **healthy_cluster("fx-mini-ml", public=False),
            "location": "europe-west4",
            "locations": ["europe-west4-a", "europe-west4-b", "europe-west4-c"],
        },
    )
    gke.routes["/v1/projects/fx-mini-ml/locations/europe-west4/serverConfig"] = (200, SERVER_CONFIG)
    gke.routes["/compute/v1/projects/fx-mini-ml/regions/europe-west4"] = (200, quotas(CPUS=24))
    gke.routes["/v3/projects/fx-mini-ml"] = (200, project("fx-mini-ml", "200000000404"))
    code, report, _ = run(gke, dns_server.address, env="mini")
    assert code == 0, report
    assert {c["area"] for c in report["checks"]} == {"project", "cluster"}  # mini has no hosts and no workloads
    assert dns_server.questions == []
    assert "/compute/v1/projects/fx-mini-ml/regions/europe-west4" in gke.paths()


def test_compute_class_fallback_needs_both_quotas_for_the_same_pods(environments):
    """A service on a Spot-first ComputeClass that falls back to on-demand takes the preemptible quota
    AND the regular one at its peak; a plain Spot service only the preemptible one."""
    import yaml

    from gkeml.cost import load_prices
    from gkeml.environments import parse_environment

    data = yaml.safe_load((ENVIRONMENTS / "live.yaml").read_text())
    env = parse_environment(yaml.safe_dump(data), "live.yaml")
    data["inference"][0]["compute_class"] = "l4-spot-first"
    with_class = parse_environment(yaml.safe_dump(data), "live.yaml")
    limits = {"PREEMPTIBLE_NVIDIA_L4_GPUS": 100, "NVIDIA_L4_GPUS": 100, "PREEMPTIBLE_CPUS": 1000}

    def amounts(e) -> dict[str, float]:
        found: dict[str, float] = {}
        for need in preflight.peak_needs(e, load_prices(), lambda family: "CPUS"):
            for metric, amount in preflight._quota_amounts(need, {k: (v, 0) for k, v in limits.items()}).items():
                found[metric] = found.get(metric, 0) + amount
        return found

    # live: chat 8 x 1 L4 on-demand, finetune-l4-spot 1 x 4 L4 on Spot
    assert (amounts(env)["NVIDIA_L4_GPUS"], amounts(env)["PREEMPTIBLE_NVIDIA_L4_GPUS"]) == (8, 4)
    # chat on l4-spot-first (Spot first, on-demand fallback): its 8 GPUs count on both
    assert (amounts(with_class)["NVIDIA_L4_GPUS"], amounts(with_class)["PREEMPTIBLE_NVIDIA_L4_GPUS"]) == (8, 12)
    # pretrain-h100: 2 nodes x 8 H100 on-demand
    assert amounts(env)["NVIDIA_H100_GPUS"] == 16


def test_the_project_gpu_quota_is_compared_with_what_the_team_quotas_allow_at_once(environments):
    """The teams' GPU quotas (lab: research 8, serving 2) are what they may run at once: a project quota of
    the GPU they use below their sum is a warning (regular and preemptible limits together)."""
    lab = environments["lab"]
    (row,) = preflight.team_quota_rows(lab, {"NVIDIA_L4_GPUS": (8, 0), "CPUS": (500, 0)})
    assert (row.area, row.name, row.status, row.expected, row.live) == (
        "quota",
        "NVIDIA_L4_GPUS for the team quotas",
        "warn",
        ">= 10",
        "NVIDIA_L4_GPUS 8",
    )
    assert row.advice.startswith("the teams' GPU quotas (research 8, serving 2) allow 10 GPUs at once")
    assert row.advice.endswith("raise NVIDIA_L4_GPUS to 10, or lower teams[].quota.gpus")
    (row,) = preflight.team_quota_rows(lab, {"NVIDIA_L4_GPUS": (8, 0), "PREEMPTIBLE_NVIDIA_L4_GPUS": (2, 0)})
    assert (row.status, row.live) == ("ok", "NVIDIA_L4_GPUS 8 + PREEMPTIBLE_NVIDIA_L4_GPUS 2")
    live = preflight.team_quota_rows(environments["live"], {"NVIDIA_L4_GPUS": (64, 0)})
    assert [(r.name, r.status, r.live) for r in live] == [
        ("NVIDIA_H100_GPUS for the team quotas", "warn", "no NVIDIA_H100_GPUS quota"),
        ("NVIDIA_L4_GPUS for the team quotas", "ok", "NVIDIA_L4_GPUS 64"),
    ]
    assert preflight.team_quota_rows(environments["mini"], {}) == []  # no GPU quota, nothing to compare


def test_bad_compute_endpoint_or_dns_server_is_refused(gke):
    serve_lab(gke)
    local = ("doctor", "lab", "--environments", str(ENVIRONMENTS), "--endpoint", gke.url, "--no-toolchain")
    done = gkeml(*local, "--resource-manager-endpoint", gke.url, "--compute-endpoint", "http://compute.example.com")
    assert done.returncode == 2 and "--compute-endpoint 'http://compute.example.com': plain http" in done.stderr
    done = gkeml(
        *local, "--resource-manager-endpoint", gke.url, "--compute-endpoint", gke.url, "--dns-server", "not-an-ip:x"
    )
    assert done.returncode == 2 and "--dns-server 'not-an-ip:x' is not IP or IP:PORT" in done.stderr
    done = gkeml(*local, "--compute-endpoint", gke.url, "--resource-manager-endpoint", "http://crm.example.com")
    assert done.returncode == 2 and "--resource-manager-endpoint 'http://crm.example.com': plain http" in done.stderr


# --- the project number (Cloud Resource Manager v3 projects.get) ------------------------------


def test_a_project_number_that_is_not_the_projects_is_drift_naming_both_and_the_line_to_fix(gke, dns_server):
    serve_lab(gke)
    gke.routes[LAB_PROJECT] = (200, project("fx-lab-ml", "987654321098"))
    code, report, _ = run(gke, dns_server.address)
    assert code == 1
    row = by_name(report)["project number"]
    assert (row["status"], row["expected"], row["live"]) == ("drift", LAB_NUMBER, "987654321098")
    line = next(
        i
        for i, text in enumerate((ENVIRONMENTS / "lab.yaml").read_text().splitlines(), 1)
        if text.strip().startswith("number:")
    )
    assert row["advice"].startswith(
        f"the config says {LAB_NUMBER}, the project is 987654321098: Workload Identity "
        "principal:// members name the project by number"
    )
    assert row["advice"].endswith(f"set project.number in {ENVIRONMENTS / 'lab.yaml'}:{line} to 987654321098")


def test_a_project_that_cannot_be_read_is_a_warning_naming_the_permission(gke, dns_server):
    serve_lab(gke)
    gke.routes[LAB_PROJECT] = (
        403,
        error(
            403,
            "PERMISSION_DENIED",
            "Permission 'resourcemanager.projects.get' denied on resource (or it may not exist).",
        ),
    )
    code, report, err = run(gke, dns_server.address)
    assert code == 0, report  # everything else is clean: a warning does not fail the run
    row = by_name(report)["project number"]
    assert (row["status"], row["live"]) == ("warn", "not read")
    assert (
        "permission denied reading v3/projects/fx-lab-ml: the caller needs resourcemanager.projects.get "
        "(roles/container.clusterViewer has it; so has roles/browser) on project fx-lab-ml"
    ) in row["advice"]
    assert row["advice"].endswith("; the number is not checked")
    assert err == ""


def test_a_project_resource_manager_does_not_know_is_drift(gke, dns_server):
    serve_lab(gke)
    gke.routes[LAB_PROJECT] = (404, error(404, "NOT_FOUND", "Project 'fx-lab-ml' not found."))
    code, report, _ = run(gke, dns_server.address)
    assert code == 1
    row = by_name(report)["project number"]
    assert (row["status"], row["live"]) == ("drift", "not found")
    assert (
        row["advice"] == f"Resource Manager knows no project fx-lab-ml: check project.id in {ENVIRONMENTS / 'lab.yaml'}"
    )


@pytest.mark.parametrize(
    ("answer", "fragment"),
    [
        (
            (403, error(403, "PERMISSION_DENIED", "API disabled", reason="SERVICE_DISABLED")),
            "the Cloud Resource Manager API is disabled in project fx-lab-ml: run `gcloud services enable "
            "cloudresourcemanager.googleapis.com --project fx-lab-ml`",
        ),
        (
            (200, {"projectId": "fx-lab-ml"}),
            "answered v3/projects/fx-lab-ml without a name like projects/NUMBER (None)",
        ),
        ((502, {}), "Cloud Resource Manager API error 502 reading v3/projects/fx-lab-ml"),
    ],
)
def test_other_answers_leave_the_number_unchecked_with_a_warning(gke, dns_server, answer, fragment):
    serve_lab(gke)
    gke.routes[LAB_PROJECT] = answer
    code, report, _ = run(gke, dns_server.address)
    row = by_name(report)["project number"]
    assert (code, row["status"]) == (0, "warn")
    assert fragment in row["advice"]


def test_every_served_host_is_checked_and_a_host_outside_the_zone_is_left_to_its_dns_provider(gke, environments):
    """live's chat endpoint is moving in: its host and both previous hosts are served, so each needs its A
    record and an ACTIVE certificate; embed's retired host is not served and not checked. The hosts are
    read from the fixture file, not through gkeml."""
    import yaml

    data = yaml.safe_load((ENVIRONMENTS / "live.yaml").read_text())
    env = environments["live"]
    names = Names.of(env)
    ip = {"chat": "34.117.0.20", "embed": "34.117.0.21"}
    served = {host: e["name"] for e in data["endpoints"] for host in [e["host"], *e.get("previous_hosts", [])]}
    base = f"/compute/v1/projects/{env.project.id}/global"
    for name, address in ip.items():
        gke.routes[f"{base}/addresses/{names.address(name)}"] = (200, {"name": names.address(name), "address": address})
    for host, name in served.items():
        cert = names.certificate(name, host)
        gke.routes[f"{base}/sslCertificates/{cert}"] = (
            200,
            {"name": cert, "managed": {"status": "ACTIVE", "domains": [host], "domainStatus": {host: "ACTIVE"}}},
        )
    outside = [h for h in served if not h.endswith("." + data["dns"]["domain"])]
    assert outside == ["chat.fx-legacy.example"]  # the fixture has one
    with serving(DnsServer({h: [ip[n]] for h, n in served.items() if h not in outside})) as server:
        rows = preflight.check_endpoints(env, preflight.ComputeApi(gke.url), preflight.dns_resolver(server.address))
    dns_rows = {r.name: r for r in rows if r.area == "dns"}
    assert set(dns_rows) == set(served)  # embed-v0.fx.example (retired) is not checked
    assert {r.name for r in rows if r.area == "certificate"} == {f"certificate {h}" for h in served}
    for host in served:
        if host in outside:
            assert dns_rows[host].status == "drift"
            assert f"add an A record {host} -> {ip['chat']} at your DNS provider" in dns_rows[host].advice
        else:
            assert (dns_rows[host].status, dns_rows[host].live) == ("ok", ip[served[host]])
