"""Changes between deploys: a host change in steps, never a deploy that fails on a certificate or IP
the deployed Ingress still uses, and no rename that silently deletes data."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass, field

import pytest
from conftest import DEV, ENVIRONMENTS, ROOT

from gkeml import platform
from gkeml.environments import parse_environment
from gkeml.lifecycle.transitions import transition_problems

OLD, NEW = "chat.lab.fx.example", "chat-v2.lab.fx.example"
BASE = (ENVIRONMENTS / f"{DEV}.yaml").read_text()


def with_endpoint(**fields: object) -> str:
    """The fixture environment with its chat endpoint as given (YAML flow values)."""
    extra = "".join(f"    {k}: {json.dumps(v)}\n" for k, v in fields.items() if k != "host")
    return BASE.replace(
        f"  - name: chat\n    host: {OLD}\n", f"  - name: chat\n    host: {fields.get('host', OLD)}\n{extra}"
    )


def env(text: str):
    return parse_environment(text, f"{DEV}.yaml")


@dataclass
class Gcp:
    """What a deploy meets: the certificates that exist and those the live load balancer uses. The
    cloud stack is applied first; GCP refuses to delete a certificate a target proxy uses
    (resourceInUseByAnotherResource); the Ingress controller moves the proxy after the in-cluster apply."""

    certificates: set[str] = field(default_factory=set)
    in_use: set[str] = field(default_factory=set)
    records: dict[str, str] = field(default_factory=dict)  # Terraform address -> record name

    def deploy(self, stacks: dict[str, dict]) -> None:
        cloud = stacks[DEV]["resource"].get("google_compute_managed_ssl_certificate", {})
        wanted = {c["name"] for c in cloud.values()}
        refused = (self.certificates - wanted) & self.in_use
        if refused:
            raise RuntimeError(f"Error 400: {sorted(refused)} is already being used, resourceInUseByAnotherResource")
        self.certificates = wanted
        ingresses = [
            m["manifest"]
            for m in stacks[f"{DEV}-k8s"]["resource"]["kubernetes_manifest"].values()
            if m["manifest"]["kind"] == "Ingress"
        ]
        for ingress in ingresses:
            names = ingress["metadata"]["annotations"][platform.INGRESS_PRE_SHARED_CERT_ANNOTATION].split(",")
            assert set(names) <= self.certificates, "the Ingress names a certificate that does not exist"
        self.in_use = {
            n
            for i in ingresses
            for n in i["metadata"]["annotations"][platform.INGRESS_PRE_SHARED_CERT_ANNOTATION].split(",")
        }
        # DNS: a record Terraform moves to another address is destroyed and created again (its name is
        # ForceNew); every host the Ingress serves needs its record (all of them are in lab's zone)
        records = {k: r["name"] for k, r in stacks[DEV]["resource"].get("google_dns_record_set", {}).items()}
        recreated = {n for k, n in self.records.items() if n in records.values() and records.get(k) != n}
        if recreated:
            raise RuntimeError(f"DNS records destroyed and created again: {sorted(recreated)}")
        self.records = records
        served = {rule["host"] for i in ingresses for rule in i["spec"]["rules"]}
        unpublished = sorted(h for h in served if f"{h}." not in records.values())
        if unpublished:
            raise RuntimeError(f"served without an A record: {unpublished}")


def synthesized(text: str, tmp_path, step: int) -> dict[str, dict]:
    from gkeml.synth import synth

    out = synth([env(text)], tmp_path / f"out{step}")
    return {p.parent.name: json.loads(p.read_text()) for p in (out / "stacks").glob("*/cdk.tf.json")}


def run_deploys(texts: list[str], tmp_path) -> list[str]:
    """Deploy each config in turn; what the check said before each deploy, and the GCP errors."""
    gcp, said = Gcp(), []
    for step, text in enumerate(texts):
        if step:
            said += [f"{p.transition.id} {p.severity}" for p in transition_problems(env(texts[step - 1]), env(text))]
        try:
            gcp.deploy(synthesized(text, tmp_path, step))
        except RuntimeError as exc:
            said.append(str(exc))
    return said


def test_changing_the_host_at_once_fails_the_deploy_and_is_refused_first(tmp_path):
    said = run_deploys([with_endpoint(), with_endpoint(host=NEW)], tmp_path)
    assert "CHG001 error" in said  # gkeml check --against refuses the change ...
    assert any("resourceInUseByAnotherResource" in s for s in said)  # ... because GCP would refuse the deploy


def test_a_host_change_in_steps_never_fails_and_never_stops_serving(tmp_path):
    steps = [
        with_endpoint(),  # served: old
        with_endpoint(host=NEW, previous_hosts=[OLD]),  # both served while the new certificate provisions
        with_endpoint(host=NEW, retired_hosts=[OLD]),  # the Ingress moves to the new one only
        with_endpoint(host=NEW),  # the old certificate goes
    ]
    assert run_deploys(steps, tmp_path) == []


def test_dropping_the_old_host_with_the_new_one_not_yet_served_is_a_gap(tmp_path):
    problems = transition_problems(env(with_endpoint()), env(with_endpoint(host=NEW, retired_hosts=[OLD])))
    assert [(p.transition.id, p.severity) for p in problems] == [("CHG003", "warning")]
    assert "previous_hosts" in problems[0].fix


def test_removing_a_served_endpoint_takes_a_retired_step():
    served = BASE
    gone = BASE.replace("    endpoint: chat\n", "")
    removed = gone.replace(f"  - name: chat\n    host: {OLD}\n", "")
    removed = removed.replace("endpoints:\n", "endpoints: []\n", 1) if "endpoints:\n  - " not in removed else removed
    removed = re.sub(r"\ndns:\n(  .*\n)+", "\n", removed)  # no host left to publish
    ids = {p.transition.id for p in transition_problems(env(served), env(removed))}
    assert {"CHG002", "CHG004"} <= ids
    retired = gone.replace(
        f"  - name: chat\n    host: {OLD}\n", f"  - name: chat\n    host: {OLD}\n    retired: true\n"
    )
    assert not transition_problems(env(served), env(retired))  # the Ingress goes, the IP stays
    finally_removed = removed.replace("name: lab\n", "name: lab\nintended_deletions: [endpoint/chat]\n", 1)
    assert not transition_problems(env(retired), env(finally_removed))


@pytest.mark.parametrize(
    ("changes", "intent"),
    [
        (
            (
                ("  - name: datasets\n", "  - name: corpora\n"),
                ("[datasets]", "[corpora]"),
                ("bucket: datasets,", "bucket: corpora,"),
            ),
            "bucket/datasets",
        ),
        (
            (("  - name: wandb-api-key\n", "  - name: wandb-key\n"), ("launch:\n", "launch:\n  secret: wandb-key\n")),
            "secret/wandb-api-key",
        ),
    ],
)
def test_a_rename_that_deletes_data_is_refused_unless_intended(changes, intent):
    before = after = BASE
    for old, new in changes:  # every reference to the renamed thing
        after = after.replace(old, new)
    (problem,) = [p for p in transition_problems(env(before), env(after)) if p.transition.id == "CHG004"]
    assert intent in problem.fix and "would delete" in problem.message
    intended = after.replace("name: lab\n", f"name: lab\nintended_deletions: [{intent}]\n", 1)
    assert not [p for p in transition_problems(env(before), env(intended)) if p.transition.id == "CHG004"]


def test_a_new_prefix_recreates_everything_and_is_refused_unless_intended():
    after = BASE.replace("name: lab\n", "name: lab\nprefix: fx-lab-two\n", 1)
    (problem,) = [p for p in transition_problems(env(BASE), env(after)) if p.transition.id == "CHG004"]
    assert problem.path == ("prefix",) and "`prefix` to intended_deletions" in problem.fix


def test_gkeml_check_against_a_git_ref_names_the_file_line_and_fix(tmp_path):
    repo = tmp_path / "repo"
    (repo / "environments").mkdir(parents=True)
    path = repo / "environments" / f"{DEV}.yaml"
    path.write_text(with_endpoint())
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    for command in (["init", "-q"], ["add", "."], ["commit", "-qm", "deployed"]):
        subprocess.run(git + command, cwd=repo, check=True)
    path.write_text(with_endpoint(host=NEW))
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "gkeml.cli",
            "check",
            "--environments",
            str(repo / "environments"),
            "--jobs",
            str(tmp_path / "none"),
            "--synth-dir",
            str(tmp_path / "none"),
            "--no-checkov",
            "--against",
            "HEAD",
            "--format",
            "json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 1, run.stderr
    (finding,) = [f for f in json.loads(run.stdout)["findings"] if f["rule"] == "CHG001"]
    lines = path.read_text().splitlines()
    line = lines.index("  - name: chat", lines.index("endpoints:")) + 1
    assert finding["source"] == f"{path}:{line}" and f"keep {OLD} in endpoints.chat.retired_hosts" in finding["fix"]


def test_certificates_keyed_by_host_keep_the_state_of_the_old_single_certificate(stacks, environments):
    """Until 2026-11 an endpoint's one certificate lived at <endpoint>/cert; a moved block carries its
    state to the current host's certificate, so upgrading gkeml re-creates no certificate."""
    from gkeml.framework import App, TerraformStack, google, legacy_logical_id

    app = App(outdir=str(ROOT / ".pytest-unused"))  # never synthesized
    stack = TerraformStack(app, "probe")
    google("provider").GoogleProvider(stack, "google")
    from constructs import Construct

    cert = google("compute_managed_ssl_certificate")
    resource = cert.ComputeManagedSslCertificate(
        Construct(stack, "endpoint-chat"),
        "cert",
        name="x",
        managed=cert.ComputeManagedSslCertificateManaged(domains=["a.b"]),
    )
    assert stack.get_logical_id(resource) == legacy_logical_id("endpoint-chat/cert")
    moved = [m for m in stacks[DEV]["moved"] if m["from"].startswith("google_compute_managed_ssl_certificate.")]
    assert moved == [
        {
            "from": f"google_compute_managed_ssl_certificate.{legacy_logical_id('endpoint-chat/cert')}",
            "to": next(
                f"google_compute_managed_ssl_certificate.{k}"
                for k, c in stacks[DEV]["resource"]["google_compute_managed_ssl_certificate"].items()
                if c["managed"]["domains"] == [environments[DEV].endpoint("chat").host]
            ),
        }
    ]


def test_the_service_accounts_the_cloud_stack_created_are_forgotten_not_destroyed(stacks, environments):
    """Until 2026-12 the cloud stack created the nodes' account (cluster/nodes) and each classic identity's
    (wi-<identity>/gsa); the bootstrap stack creates them now. A removed block with destroy = false names
    each previous address, as the framework allocated it: the upgrade deletes no identity the cluster and
    the workloads run as (the bootstrap takes the accounts over, docs/upgrading.md)."""
    from constructs import Construct

    from gkeml.framework import App, TerraformStack, google

    sa = google("service_account")
    probes = iter(range(100))

    def previous(path: str) -> str:
        """The address the framework gives a service account at construct ``path`` of a stack."""
        probe = TerraformStack(App(outdir=str(ROOT / ".pytest-unused")), f"probe{next(probes)}")  # never synthesized
        google("provider").GoogleProvider(probe, "google")
        parent, child = path.split("/")
        account = sa.ServiceAccount(Construct(probe, parent), child, account_id="x" * 6)
        return f"google_service_account.{probe.get_logical_id(account)}"

    for name, env in environments.items():
        classic = [i.name for i in env.identities if i.mode == "classic"]
        forgotten = {r["from"]: r["lifecycle"] for r in stacks[name].get("removed", [])}
        expected = {previous("cluster/nodes"), *(previous(f"wi-{i}/gsa") for i in classic)}
        assert {a for a in forgotten if a.startswith("google_service_account.")} == expected, name
        assert all(forgotten[a] == {"destroy": False} for a in expected), name
        assert not stacks[name]["resource"].get("google_service_account"), name
