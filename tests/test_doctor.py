"""``gkeml doctor`` against a real HTTP server on 127.0.0.1 that speaks the GKE REST API.

The real ``google-cloud-container`` client (REST transport) talks to the server (tests/google_apis.py);
nothing in the client is mocked. The server answers the two paths the doctor
reads, ``GET /v1/projects/{p}/locations/{l}/clusters/{c}`` and
``GET /v1/projects/{p}/locations/{l}/serverConfig``, in the JSON shapes of the
GKE API (enums as integers when the client asks for ``enum-encoding=int``, as
Google does), and errors in the ``google.rpc.Status`` shape Google returns.
"""

from __future__ import annotations

import copy
import json
import re
import socket
import stat
from pathlib import Path

import pytest
from conftest import ENVIRONMENTS, ROOT
from google_apis import (
    DEV_CLUSTER,
    DEV_SERVER_CONFIG,
    OLD_VERSION,
    PROD_CLUSTER,
    PROD_SERVER_CONFIG,
    REGULAR_VERSION,
    SERVER_CONFIG,
    by_name,
    error,
    gkeml,
    healthy_cluster,
    run_doctor,
    serve_dev,
)

from gkeml import doctor
from gkeml.doctor.toolchain import check_toolchain


def test_healthy_dev_cluster_has_no_drift_and_sends_no_credentials_over_http(gke):
    serve_dev(gke)
    code, report, err = run_doctor("lab", gke)
    assert code == 0, report
    checks = by_name(report)
    assert {c["status"] for c in checks.values()} == {"ok"}
    assert {
        "cluster status",
        "autopilot",
        "release channel",
        "private nodes",
        "DNS endpoint external traffic",
        "IP endpoint enabled",
        "authorized networks",
        "node zones",
        "workload identity pool",
        "master version",
    } <= set(checks)
    assert checks["master version"]["live"] == REGULAR_VERSION
    assert checks["IP endpoint enabled"]["expected"] == "True"
    assert report["cluster"] == "projects/fx-lab-ml/locations/us-central1/clusters/fx-lab-ml"
    assert gke.paths() == [DEV_CLUSTER, DEV_SERVER_CONFIG]
    assert all("Authorization" not in headers for _, headers in gke.requests)
    assert err == ""


def test_healthy_prod_expects_no_ip_endpoint_and_the_stable_channel(gke):
    gke.routes[PROD_CLUSTER] = (200, healthy_cluster("fx-live-ml", public=False, channel="STABLE"))
    gke.routes[PROD_SERVER_CONFIG] = (200, SERVER_CONFIG)
    code, report, _ = run_doctor("live", gke)
    assert code == 0, report
    checks = by_name(report)
    assert checks["IP endpoint enabled"]["live"] == "False"
    assert checks["release channel"]["live"] == "STABLE"
    assert "authorized networks" not in checks


def test_drifted_cluster_exits_1_and_names_every_difference(gke):
    cluster = healthy_cluster()
    cluster["releaseChannel"] = {"channel": "RAPID"}
    cluster["currentMasterVersion"] = "1.34.1-gke.1829001"
    cluster["privateClusterConfig"] = {"enablePrivateNodes": False}
    cluster["controlPlaneEndpointsConfig"]["dnsEndpointConfig"]["allowExternalTraffic"] = False
    cluster["masterAuthorizedNetworksConfig"]["cidrBlocks"].append({"cidrBlock": "0.0.0.0/0"})
    cluster["locations"] = ["us-central1-a", "us-central1-f"]
    serve_dev(gke, cluster)
    code, report, _ = run_doctor("lab", gke)
    assert code == 1
    drifted = {c["name"]: c for c in report["checks"] if c["status"] == "drift"}
    assert set(drifted) == {
        "release channel",
        "private nodes",
        "DNS endpoint external traffic",
        "authorized networks",
        "node zones",
    }
    assert (drifted["release channel"]["expected"], drifted["release channel"]["live"]) == ("REGULAR", "RAPID")
    assert "cdktf deploy lab" in drifted["release channel"]["advice"]
    assert drifted["authorized networks"]["live"] == "0.0.0.0/0, 203.0.113.0/24"
    assert by_name(report)["master version"]["status"] == "warn"  # valid in the region, but not a REGULAR version
    assert all(c["advice"] == "" for c in report["checks"] if c["status"] == "ok")


def test_standard_cluster_and_public_ip_endpoint_in_prod_are_drift(gke):
    cluster = healthy_cluster("fx-live-ml", public=True, channel="STABLE")
    cluster["autopilot"] = {}
    gke.routes[PROD_CLUSTER] = (200, cluster)
    gke.routes[PROD_SERVER_CONFIG] = (200, SERVER_CONFIG)
    code, report, _ = run_doctor("live", gke)
    assert code == 1
    checks = by_name(report)
    assert checks["autopilot"]["status"] == "drift"
    assert (checks["IP endpoint enabled"]["expected"], checks["IP endpoint enabled"]["live"]) == ("False", "True")


def test_master_version_gke_no_longer_offers_on_the_channel_is_a_warning(gke):
    serve_dev(gke, {**healthy_cluster(), "currentMasterVersion": OLD_VERSION})
    code, report, _ = run_doctor("lab", gke)
    assert code == 0
    row = by_name(report)["master version"]
    assert row["status"] == "warn"
    assert "not a REGULAR version (offered: 1.33.5-gke.1162000, 1.33.4-gke.1245000)" in row["advice"]


def test_master_version_not_valid_in_the_region_is_drift(gke):
    serve_dev(gke, {**healthy_cluster(), "currentMasterVersion": "1.29.1-gke.1000"})
    code, report, _ = run_doctor("lab", gke)
    assert code == 1
    row = by_name(report)["master version"]
    assert row["status"] == "drift"
    assert "not a valid master version in us-central1" in row["advice"]


@pytest.mark.parametrize("state, status, code", [("RECONCILING", "warn", 0), ("ERROR", "drift", 1)])
def test_cluster_state_other_than_running(gke, state, status, code):
    serve_dev(gke, {**healthy_cluster(), "status": state, "statusMessage": "upgrading control plane"})
    exit_code, report, _ = run_doctor("lab", gke)
    row = by_name(report)["cluster status"]
    assert (exit_code, row["status"], row["live"]) == (code, status, state)
    assert "upgrading control plane" in row["advice"]


def test_missing_cluster_is_drift_with_deploy_advice(gke):
    gke.routes[DEV_CLUSTER] = (404, error(404, "NOT_FOUND", "Not found: projects/fx-lab-ml/.../fx-lab-ml."))
    code, report, _ = run_doctor("lab", gke)
    assert code == 1
    [row] = report["checks"]
    assert (row["name"], row["status"], row["live"]) == ("cluster exists", "drift", "not found")
    assert "cdktf deploy lab" in row["advice"]
    assert gke.paths() == [DEV_CLUSTER]


def test_permission_denied_exits_2_with_one_line_of_advice(gke):
    gke.routes[DEV_CLUSTER] = (
        403,
        error(403, "PERMISSION_DENIED", "Required 'container.clusters.get' permission", reason="IAM_PERMISSION_DENIED"),
    )
    code, report, err = run_doctor("lab", gke)
    assert code == 2
    assert report["checks"] == []
    assert "roles/container.clusterViewer on project fx-lab-ml" in report["error"]
    assert err.count("\n") == 1 and err.startswith("gkeml doctor: error: permission denied")


def test_disabled_api_exits_2_and_says_how_to_enable_it(gke):
    gke.routes[DEV_CLUSTER] = (
        403,
        error(
            403,
            "PERMISSION_DENIED",
            "Kubernetes Engine API has not been used in project 200000000101 before or it is disabled.",
            reason="SERVICE_DISABLED",
        ),
    )
    code, report, err = run_doctor("lab", gke)
    assert code == 2
    assert "gcloud services enable container.googleapis.com --project fx-lab-ml" in report["error"]
    assert err.count("\n") == 1


def test_server_config_failure_is_reported_not_raised(gke):
    gke.routes[DEV_CLUSTER] = (200, healthy_cluster())
    gke.routes[DEV_SERVER_CONFIG] = (401, error(401, "UNAUTHENTICATED", "Request had invalid credentials."))
    code, report, _ = run_doctor("lab", gke)
    assert code == 2
    assert "gcloud auth application-default login" in report["error"]


def test_table_output_lists_checks_and_advice(gke):
    cluster = copy.deepcopy(healthy_cluster())
    cluster["releaseChannel"] = {"channel": "STABLE"}
    serve_dev(gke, cluster)
    done = gkeml(
        "doctor", "lab", "--environments", str(ENVIRONMENTS), "--endpoint", gke.url, "--no-toolchain", "--no-services"
    )
    out = done.stdout
    assert done.returncode == 1
    line = next(line for line in out.splitlines() if "release channel" in line)
    assert re.split(r"\s{2,}", line) == ["cluster", "release channel", "DRIFT", "REGULAR", "STABLE"]
    assert "- release channel: changed outside Terraform" in out
    assert out.rstrip().endswith("1 drift, 0 warning(s), 10 ok")


def test_unreachable_endpoint_exits_2():
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    done = gkeml(
        "doctor",
        "lab",
        "--environments",
        str(ENVIRONMENTS),
        "--endpoint",
        f"http://127.0.0.1:{port}",
        "--no-toolchain",
        "--no-services",
    )
    assert done.returncode == 2
    assert "cannot reach the GKE API" in done.stderr


@pytest.mark.parametrize(
    "endpoint, message",
    [
        ("http://gke.example.com", "plain http is allowed only to"),
        ("ftp://127.0.0.1:1", "is not a base URL"),
        ("http://127.0.0.1:1/v1/projects", "is not a base URL"),
        ("http://[::1", "is not a base URL"),  # an unclosed IPv6 bracket: urlparse raises
        ("http://127.0.0.1:99999", "is not a base URL"),  # a port out of range
    ],
)
def test_bad_endpoint_is_refused_before_any_request(endpoint, message):
    done = gkeml(
        "doctor", "lab", "--environments", str(ENVIRONMENTS), "--endpoint", endpoint, "--no-toolchain", "--no-services"
    )
    assert done.returncode == 2
    assert message in done.stderr


def test_unknown_environment_lists_the_defined_ones():
    done = gkeml("doctor", "qa", "--environments", str(ENVIRONMENTS))
    assert done.returncode == 2
    assert "no environment 'qa'; defined: lab, live, mini, stage" in done.stderr


# --- toolchain ------------------------------------------------------------------------


def test_toolchain_of_this_checkout_is_usable():
    """terraform, node and the pinned cdktf CLI that `make install` provides."""
    rows = {c.name: c for c in check_toolchain(ROOT)}
    assert set(rows) == {"terraform", "node", "cdktf CLI"}
    pinned = json.loads((ROOT / "package.json").read_text())["devDependencies"]["cdktf-cli"]
    assert rows["cdktf CLI"].expected == f"== {pinned}"
    assert {r.name: r.status for r in rows.values()} == {"terraform": "ok", "node": "ok", "cdktf CLI": "ok"}, rows


def _tool(directory: Path, name: str, output: str) -> None:
    script = directory / name
    script.write_text(f"#!/bin/sh\nprintf '%s\\n' '{output}'\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)


def test_missing_and_outdated_tools_are_drift(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _tool(bin_dir, "terraform", json.dumps({"terraform_version": "1.10.5"}))
    monkeypatch.setenv("PATH", str(bin_dir))  # no node on PATH
    (tmp_path / "package.json").write_text(json.dumps({"devDependencies": {"cdktf-cli": "0.21.0"}}))
    cli = tmp_path / "node_modules" / ".bin"
    cli.mkdir(parents=True)
    _tool(cli, "cdktf", "0.20.11")
    rows = {c.name: c for c in check_toolchain(tmp_path)}
    assert (rows["terraform"].status, rows["terraform"].live, rows["terraform"].expected) == (
        "drift",
        "1.10.5",
        ">= 1.11.0",
    )
    assert (rows["node"].status, rows["node"].live) == ("drift", "not found")
    assert (rows["cdktf CLI"].status, rows["cdktf CLI"].live, rows["cdktf CLI"].expected) == (
        "drift",
        "0.20.11",
        "== 0.21.0",
    )
    assert "make install" in rows["cdktf CLI"].advice


def test_toolchain_drift_alone_makes_doctor_exit_1(gke, tmp_path, monkeypatch):
    serve_dev(gke)
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing installed
    from gkeml.environments import load_environment

    report = doctor.diagnose(
        load_environment(ENVIRONMENTS / "lab.yaml"), endpoint=gke.url, root=tmp_path, services=False
    )
    assert report.exit_code == 1
    assert {c.name for c in report.checks if c.status == "drift"} == {"terraform", "node", "cdktf CLI"}
