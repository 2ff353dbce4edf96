"""First-apply order: the check over every synthesized stack, and the bugs it exists to catch."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import ROOT

from gkeml.lifecycle.order import describe, order_problems

CLUSTER = "google_container_cluster.cluster"
MEMBER = (
    "principal://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p.svc.id.goog/subject/ns/a/sa/b"
)


def test_every_synthesized_stack_is_in_first_apply_order(stacks, bootstrap_stacks):
    problems = order_problems({**stacks, **bootstrap_stacks})
    assert not problems, describe(problems)


def test_a_workload_identity_binding_that_races_the_cluster_is_caught():
    """What the cloud stacks did before: bucket and project bindings of principal:// members (and the
    classic serviceAccount:PROJECT.svc.id.goog[NS/KSA]) with no dependency on the cluster."""
    stack = {
        "resource": {
            "google_container_cluster": {"cluster": {"name": "c"}},
            "google_storage_bucket_iam_member": {"read": {"bucket": "b", "member": MEMBER}},
            "google_service_account_iam_member": {
                "wi": {"member": "serviceAccount:p.svc.id.goog[a/b]", "depends_on": ["google_service_account.gsa"]}
            },
            "google_service_account": {"gsa": {"account_id": "x"}},
        }
    }
    problems = order_problems({"dev": stack})
    assert {(p.fact.id, p.address) for p in problems} == {
        ("TF001", "google_storage_bucket_iam_member.read"),
        ("TF001", "google_service_account_iam_member.wi"),
    }
    assert all(p.fix == f"add depends_on: {CLUSTER} (the cluster creates the identity pool)" for p in problems)
    # waiting for the cluster, directly or through another resource, is enough
    stack["resource"]["google_storage_bucket_iam_member"]["read"]["depends_on"] = [CLUSTER]
    stack["resource"]["google_service_account"]["gsa"]["depends_on"] = [CLUSTER]
    assert not order_problems({"dev": stack})


def test_a_resource_created_before_its_api_is_enabled_is_caught():
    """What the bootstrap stack did: the state bucket did not wait for storage.googleapis.com."""
    stack = {
        "resource": {
            "google_project_service": {"storage": {"service": "storage.googleapis.com"}},
            "google_storage_bucket": {"state": {"name": "tf"}},
        }
    }
    (problem,) = order_problems({"bootstrap-dev": stack})
    assert (problem.fact.id, problem.address) == ("TF002", "google_storage_bucket.state")
    assert problem.fix == "add depends_on: google_project_service.storage"


def test_an_object_in_a_namespace_nobody_creates_first_is_caught():
    ns = {"manifest": {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}}}
    quota = {"manifest": {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "q", "namespace": "team"}}}
    orphan = {"manifest": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "other"}}}
    problems = order_problems({"dev-k8s": {"resource": {"kubernetes_manifest": {"ns": ns, "q": quota, "o": orphan}}}})
    assert {(p.fact.id, p.address) for p in problems} == {
        ("TF003", "kubernetes_manifest.q"),
        ("TF003", "kubernetes_manifest.o"),
    }


def test_gkeml_check_reports_order_problems_with_the_fix(tmp_path):
    stack = tmp_path / "stacks" / "dev"
    stack.mkdir(parents=True)
    stack.joinpath("cdk.tf.json").write_text(
        json.dumps(
            {
                "resource": {
                    "google_container_cluster": {"cluster": {"name": "c"}},
                    "google_project_iam_member": {"logs": {"role": "roles/logging.logWriter", "member": MEMBER}},
                }
            }
        )
    )
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "gkeml.cli",
            "check",
            "--synth-dir",
            str(tmp_path),
            "--no-checkov",
            "--environments",
            str(ROOT / "tests" / "fixtures" / "environments"),
            "--env",
            "mini",
            "--format",
            "json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 1, run.stderr
    (finding,) = [f for f in json.loads(run.stdout)["findings"] if f["rule"].startswith("TF")]
    assert finding["rule"] == "TF001" and finding["object"] == "dev/google_project_iam_member.logs"
    assert finding["fix"].startswith("add depends_on: google_container_cluster.cluster")


@pytest.mark.parametrize("fact", ["TF001", "TF002", "TF003", "TF004"])
def test_every_fact_names_its_source(fact):
    from gkeml.lifecycle.order import FACTS

    assert len(FACTS[fact].source) > 40 and FACTS[fact].title
