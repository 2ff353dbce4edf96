"""``gkeml job submit`` and the kubeconfig context checks, against a Kubernetes API on 127.0.0.1.

The API is tests/kube_api.py's ``KubeApi``, a small in-memory Kubernetes API server (a real HTTP server on
loopback) that answers the paths gkeml uses in the JSON shapes of the Kubernetes API. The CLI runs as a real
process with the real ``kubernetes`` client pointed at it through a kubeconfig; nothing in the client is mocked.
``tests/test_job_lifecycle.py`` uses the same server for list/status/logs/wait/delete.
"""

from __future__ import annotations

import json
import re

import jobset_crd
import pytest
from job_env import GOOD, LAB, lab_environment, write_environments
from kube_api import GKE_VERSION, LAB_ENTRY, VAULT, VAULT_ENTRY, closed_port, gkeml, write_kubeconfig

from gkeml import platform
from gkeml.jobs import load_job_spec, render
from gkeml.jobs.cluster import Context, ExpectedCluster, context_problem

# -- which cluster (pure) --------------------------------------------------------------------------


def test_the_environment_names_its_cluster_and_get_credentials_command():
    lab, vault = ExpectedCluster.of(lab_environment()), ExpectedCluster.of(lab_environment(VAULT, "vault.yaml"))
    assert lab.kubeconfig_entry == LAB_ENTRY
    assert (
        lab.get_credentials == "gcloud container clusters get-credentials lab-ml --region us-central1 --project "
        "lab-ml-project"
    )
    assert (
        vault.get_credentials == "gcloud container clusters get-credentials vault-ml --region us-central1 "
        "--project vault-ml-project --dns-endpoint"
    )


@pytest.mark.parametrize(
    "entry, server, problem",
    [
        (LAB_ENTRY, "https://34.118.0.10", None),
        (LAB_ENTRY, "https://gke-0a1b2c-200000000001.us-central1.gke.goog", None),
        (VAULT_ENTRY, "https://34.118.0.10", "uses cluster 'gke_vault-ml-project_us-central1_vault-ml', not lab's"),
        ("kind-kind", "https://127.0.0.1:6443", "uses cluster 'kind-kind', not lab's"),
        (LAB_ENTRY, "https://gke-0a1b2c-300000000003.us-central1.gke.goog", "which is not a cluster of project number"),
        (
            LAB_ENTRY,
            "https://gke-0a1b2c-200000000001.europe-west4.gke.goog",
            "which is not a cluster of project number",
        ),
        (LAB_ENTRY, "http://[::1", "has a server that is not a URL: 'http://[::1'"),  # urlsplit raises
    ],
)
def test_a_context_is_the_environments_cluster_only_when_entry_and_dns_endpoint_agree(entry, server, problem):
    found = context_problem(Context("ctx", entry, server), ExpectedCluster.of(lab_environment()), "lab")
    assert (found is None) if problem is None else (problem in found), found


def test_a_dns_only_environment_refuses_an_ip_endpoint():
    vault = ExpectedCluster.of(lab_environment(VAULT, "vault.yaml"))
    assert "has only the DNS endpoint" in context_problem(
        Context("c", VAULT_ENTRY, "https://34.118.0.10"), vault, "vault"
    )
    assert (
        context_problem(Context("c", VAULT_ENTRY, "https://gke-9f-300000000003.us-central1.gke.goog"), vault, "vault")
        is None
    )


# -- refusing the wrong cluster (CLI) -----------------------------------------------------------------


def test_submit_with_env_refuses_another_clusters_context_and_prints_the_exact_command(kube, envs, tmp_path):
    kubeconfig = write_kubeconfig(tmp_path / "config", kube.url, LAB_ENTRY)
    done = gkeml(
        "job",
        "submit",
        "examples/jobs/single-gpu.yaml",
        "--env",
        "vault",
        "--environments",
        str(envs),
        kubeconfig=kubeconfig,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip() == (
        f"gkeml job submit: error: context '{LAB_ENTRY}' uses cluster '{LAB_ENTRY}', not vault's '{VAULT_ENTRY}'; run "
        "'gcloud container clusters get-credentials vault-ml --region us-central1 --project vault-ml-project "
        "--dns-endpoint' (nothing was sent to the cluster)"
    )
    assert kube.requests == []


def test_submit_with_env_refuses_the_ip_endpoint_of_a_dns_only_environment(kube, envs, tmp_path):
    kubeconfig = write_kubeconfig(tmp_path / "config", kube.url, VAULT_ENTRY)
    done = gkeml(
        "job",
        "submit",
        "examples/jobs/single-gpu.yaml",
        "--env",
        "vault",
        "--environments",
        str(envs),
        kubeconfig=kubeconfig,
    )
    assert done.returncode == 2 and "but vault has only the DNS endpoint" in done.stderr
    assert "--dns-endpoint' (nothing was sent to the cluster)" in done.stderr and kube.requests == []


def test_without_a_context_nothing_is_sent_and_the_command_is_named(envs, tmp_path):
    done = gkeml("job", "submit", "examples/jobs/single-gpu.yaml", "--env", "lab", "--environments", str(envs))
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "gkeml job submit: error: no current kubectl context; run 'gcloud container clusters "
        "get-credentials lab-ml --region us-central1 --project lab-ml-project' or pass "
        "--context (nothing was sent to the cluster)"
    )
    kubeconfig = write_kubeconfig(tmp_path / "config", "http://127.0.0.1:1", LAB_ENTRY)
    done = gkeml(
        "job",
        "submit",
        "examples/jobs/single-gpu.yaml",
        "--env",
        "lab",
        "--environments",
        str(envs),
        "--context",
        "other",
        kubeconfig=kubeconfig,
    )
    assert done.returncode == 2
    assert f"context 'other' does not exist; defined: {LAB_ENTRY}" in done.stderr


# -- submit through the kubernetes client ----------------------------------------------------------------


def test_submit_creates_the_rendered_objects_under_a_new_run_name(kube, envs, tmp_path):
    """A multi-node run is one JobSet (its Job, pods and headless Service are the JobSet controller's)."""
    kubeconfig = write_kubeconfig(tmp_path / "config", kube.url, LAB_ENTRY)
    lab = lab_environment()
    names = []
    for _ in range(2):
        done = gkeml(
            "job",
            "submit",
            "examples/jobs/multi-node-ddp.yaml",
            "--env",
            "lab",
            "--environments",
            str(envs),
            kubeconfig=kubeconfig,
        )
        assert done.returncode == 0, done.stderr
        (post,) = kube.sent("POST")[-1:]
        assert post[1] == "/apis/jobset.x-k8s.io/v1alpha2/namespaces/research/jobsets"
        name = post[3]["metadata"]["name"]
        assert re.fullmatch(r"pretrain-2x4-[a-z0-9]{5}", name)
        (jobset,) = render(load_job_spec("examples/jobs/multi-node-ddp.yaml", lab), lab, name)
        assert post[3] == jobset and jobset_crd.problems(post[3]) == []
        assert "dryRun" not in post[2]
        assert done.stdout.splitlines() == [
            f"created: JobSet research/{name}",
            f"follow it: gkeml job wait research/{name} --env lab  (status, logs, delete alike)",
        ]
        names.append(name)
    assert names[0] != names[1] and len(kube.sent("POST")) == 2
    assert ("jobsets", "research", names[0]) in kube.store and ("jobsets", "research", names[1]) in kube.store


def test_a_cluster_without_the_jobset_api_is_named_and_nothing_is_created(kube, envs, tmp_path):
    """A multi-node job on a cluster where the JobSet controller is not installed: exit 1, with the setting."""
    kubeconfig = write_kubeconfig(tmp_path / "config", kube.url, LAB_ENTRY)
    kube.jobset_api = False
    done = gkeml(
        "job",
        "submit",
        "examples/jobs/multi-node-ddp.yaml",
        "--env",
        "lab",
        "--environments",
        str(envs),
        "--name",
        "ddp-run",
        kubeconfig=kubeconfig,
    )
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "gkeml job submit: error: create JobSet research/ddp-run: the cluster serves no jobset.x-k8s.io/v1alpha2 API "
        f"(context '{LAB_ENTRY}'): the JobSet controller is not installed (jobset.enabled in the environment "
        "file); nothing was created"
    )
    assert [(m, p) for m, p, _, _ in kube.requests if m != "GET"] == [
        ("POST", "/apis/jobset.x-k8s.io/v1alpha2/namespaces/research/jobsets")
    ]
    assert kube.store == {}
    done = gkeml(
        "job",
        "submit",
        "examples/jobs/multi-node-ddp.yaml",
        "--env",
        "lab",
        "--environments",
        str(envs),
        "--name",
        "d" * 49,
        kubeconfig=kubeconfig,
    )
    assert done.returncode == 2 and "is not a JobSet name for 2 nodes" in done.stderr and "at most 48" in done.stderr


def test_submit_dry_run_is_a_server_side_dry_run(kube, envs, tmp_path):
    kubeconfig = write_kubeconfig(tmp_path / "config", kube.url, LAB_ENTRY)
    done = gkeml(
        "job",
        "submit",
        "examples/jobs/single-gpu.yaml",
        "--env",
        "lab",
        "--environments",
        str(envs),
        "--dry-run",
        "--name",
        "finetune-check",
        "--format",
        "json",
        kubeconfig=kubeconfig,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "context": LAB_ENTRY,
        "namespace": "research",
        "name": "finetune-check",
        "kind": "Job",
        "dry_run": True,
        "objects": ["Job research/finetune-check"],
    }
    (post,) = kube.sent("POST")
    assert post[2] == {"dryRun": "All"} and post[3]["metadata"]["name"] == "finetune-check"
    assert not [k for k in kube.store if k[0] == "jobs"], "a dry run creates nothing"


def test_submit_with_a_taken_name_fails_with_the_api_message(kube, envs, tmp_path):
    kubeconfig = write_kubeconfig(tmp_path / "config", kube.url, LAB_ENTRY)
    args = (
        "job",
        "submit",
        "examples/jobs/single-gpu.yaml",
        "--env",
        "lab",
        "--environments",
        str(envs),
        "--name",
        "finetune-fixed",
    )
    assert gkeml(*args, kubeconfig=kubeconfig).returncode == 0
    done = gkeml(*args, kubeconfig=kubeconfig)
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"gkeml job submit: error: create Job research/finetune-fixed: 409 jobs "
        f"\"finetune-fixed\" already exists (context '{LAB_ENTRY}')"
    )
    done = gkeml(*args[:-1], "Bad_Name", kubeconfig=kubeconfig)
    assert done.returncode == 2 and "--name: 'Bad_Name' is not a Job name" in done.stderr


def test_submit_to_an_unreachable_cluster_exits_1(envs, tmp_path):
    server = f"http://127.0.0.1:{closed_port()}"
    kubeconfig = write_kubeconfig(tmp_path / "config", server, LAB_ENTRY)
    done = gkeml(
        "job",
        "submit",
        "examples/jobs/single-gpu.yaml",
        "--env",
        "lab",
        "--environments",
        str(envs),
        kubeconfig=kubeconfig,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("gkeml job submit: error: create Job research/finetune-l4-")
    assert f"cannot reach {server} (context '{LAB_ENTRY}')" in done.stderr and "refused" in done.stderr


def test_submit_without_env_names_the_context_it_uses(kube, tmp_path):
    spec = tmp_path / "standalone.yaml"
    spec.write_text(GOOD + "identity: trainer\ncheckpoints: {bucket: gs://team-ckpt, prefix: t}\n")
    kubeconfig = write_kubeconfig(tmp_path / "config", kube.url, "my-cluster", context="mine")
    done = gkeml("job", "submit", str(spec), "--name", "t-run", kubeconfig=kubeconfig)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == (
        f"gkeml job submit: using kubectl context 'mine' (cluster 'my-cluster', {kube.url}); "
        "pass --env ENV to check it is that environment's cluster"
    )
    (post,) = kube.sent("POST")
    volumes = post[3]["spec"]["template"]["spec"]["volumes"]
    assert [v["csi"]["volumeAttributes"]["bucketName"] for v in volumes if "csi" in v] == ["team-ckpt"]


def test_flex_start_needs_a_gke_version_that_has_it(kube, tmp_path):
    envs = write_environments(tmp_path / "unqueued", lab=LAB + "kueue: {enabled: false}\n")  # queued: GKE041
    kubeconfig = write_kubeconfig(tmp_path / "config", kube.url, LAB_ENTRY)
    spec = tmp_path / "flex.yaml"
    spec.write_text(GOOD + "flex_start: true\n")
    kube.version = "v1.33.0-gke.1500000"
    done = gkeml("job", "submit", str(spec), "--env", "lab", "--environments", str(envs), kubeconfig=kubeconfig)
    assert done.returncode == 2 and kube.sent("POST") == []
    assert (
        f"flex_start needs GKE {platform.FLEX_START_MIN_GKE_VERSION} or later; the cluster runs "
        "v1.33.0-gke.1500000 (nothing was created)"
    ) in done.stderr
    kube.version = GKE_VERSION
    done = gkeml("job", "submit", str(spec), "--env", "lab", "--environments", str(envs), kubeconfig=kubeconfig)
    assert done.returncode == 0, done.stderr
    (post,) = kube.sent("POST")
    assert post[3]["spec"]["template"]["spec"]["nodeSelector"][platform.FLEX_START_LABEL] == "true"


def test_a_context_whose_server_is_not_a_url_is_a_setup_error(tmp_path):
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
        'clusters: [{name: k, cluster: {server: "http://[::1"}}]\n'
        "users: [{name: u, user: {token: t}}]\n"
    )
    done = gkeml("job", "list", kubeconfig=kubeconfig)
    assert done.returncode == 2 and done.stdout == "", done.stderr
    assert done.stderr.strip().endswith(
        "gkeml job list: error: context 'c': Invalid IPv6 URL (nothing was sent to the cluster)"
    )


def test_an_unreadable_kubeconfig_is_a_setup_error(tmp_path):
    broken = tmp_path / "config"
    broken.write_text("clusters: [\n")
    done = gkeml("job", "list", kubeconfig=broken)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith(f"gkeml job list: error: unreadable kubeconfig {broken}: ")
    assert done.stderr.strip().endswith("(nothing was sent to the cluster)")
