"""Construct-level tests: a construct (or two that meet) built from a fixture environment's config through
:mod:`gkeml.stacks.props`, alone in a stack of its own, synthesized with the framework seam's ``Testing``
app (cdktf or CDK Terrain, whichever runs the suite). Cheap next to a whole environment's synth, and each
says what a user relies on: addresses that stay put while a host moves, the protection a bucket's purpose
and tier give it, who a workload's identity is in IAM and what its bindings wait for."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from typing import Any

import pytest
from conftest import DEV, PROD

DAY = 86400


@pytest.fixture(scope="module")
def synth() -> Callable[[Callable[[Any], None]], dict]:
    """``synth(build)``: the Terraform JSON of what ``build(stack)`` adds to a new stack (with its google
    provider), parsed. One Testing app for the module: the provider bindings are imported once."""
    from gkeml.framework import TerraformStack, Testing, google_provider

    app = Testing.app()
    ids = itertools.count()

    def run(build: Callable[[Any], None]) -> dict:
        stack = TerraformStack(app, f"construct-{next(ids)}")
        google_provider(stack, project="construct-test", region="us-central1")
        build(stack)
        return json.loads(Testing.synth(stack))

    return run


def of_type(stack: dict, rtype: str) -> dict[str, dict]:
    """{logical id: block} of the resources of ``rtype``."""
    return stack.get("resource", {}).get(rtype, {})


def ref(rtype: str, logical_id: str, attribute: str) -> str:
    return f"${{{rtype}.{logical_id}.{attribute}}}"


# --- a public endpoint and its DNS zone while its host moves ---------------------------------------------


def endpoint_with_zone(env, endpoint) -> Callable[[Any], None]:
    """The endpoint's IP and certificates, and the zone's A records of the hosts it serves (as the cloud
    stack wires them)."""
    from gkeml.constructs import PublicEndpoint
    from gkeml.constructs.dns import DnsZone
    from gkeml.naming import Names
    from gkeml.stacks.props import dns_props, dns_records, endpoint_props

    def build(stack: Any) -> None:
        moving = env.model_copy(update={"endpoints": [endpoint]})
        public = PublicEndpoint(stack, f"endpoint-{endpoint.name}", endpoint_props(moving, Names.of(moving), endpoint))
        zone = DnsZone(stack, "dns", dns_props(moving, moving.dns))
        for host in dns_records(moving.dns, endpoint):
            zone.a_record(host, public.address.address)

    return build


def test_a_moving_host_keeps_its_certificate_and_record_at_their_addresses_until_it_is_retired(synth, environments):
    """chat.fx.example moves to chat2.fx.example in three deploys: before, while both are served, once the
    old host is retired. Nothing is re-created on the way: the IP, the old host's certificate and both hosts'
    A records keep their Terraform addresses (and names) from one step to the next; only retiring the old
    host drops its record (it is no longer served), while its certificate stays until the host is removed."""
    from gkeml.config.model import Endpoint

    env = environments[PROD]
    steps = [
        Endpoint(name="chat", host="chat.fx.example"),
        Endpoint(name="chat", host="chat2.fx.example", previous_hosts=["chat.fx.example"]),
        Endpoint(name="chat", host="chat2.fx.example", retired_hosts=["chat.fx.example"]),
    ]
    stacks = [synth(endpoint_with_zone(env, step)) for step in steps]
    ips = [of_type(s, "google_compute_global_address") for s in stacks]
    ((ip_id, ip),) = ips[0].items()
    assert ip["lifecycle"]["prevent_destroy"] is True  # prod: the IP DNS points at is never destroyed
    for other in ips[1:]:
        assert set(other) == {ip_id}
        changed = {k for k in ip.keys() | other[ip_id].keys() if ip.get(k) != other[ip_id].get(k)}
        # every argument of a global address is ForceNew (terraform-provider-google
        # google/services/compute/resource_compute_global_address.go: no Update), so any change the
        # lifecycle does not ignore replaces the IP, which GCP refuses while the Ingress uses it
        assert changed <= set(other[ip_id]["lifecycle"].get("ignore_changes", [])), changed
    certificates = [
        {
            c["managed"]["domains"][0]: (cid, c["name"])
            for cid, c in of_type(s, "google_compute_managed_ssl_certificate").items()
        }
        for s in stacks
    ]
    assert set(certificates[0]) == {"chat.fx.example"}
    assert set(certificates[1]) == set(certificates[2]) == {"chat.fx.example", "chat2.fx.example"}
    assert (
        certificates[0]["chat.fx.example"] == certificates[1]["chat.fx.example"] == certificates[2]["chat.fx.example"]
    )
    assert certificates[1]["chat2.fx.example"] == certificates[2]["chat2.fx.example"]
    records = [{r["name"]: rid for rid, r in of_type(s, "google_dns_record_set").items()} for s in stacks]
    assert records[0] == {"chat.fx.example.": records[1]["chat.fx.example."]}
    assert set(records[1]) == {"chat.fx.example.", "chat2.fx.example."}
    assert records[2] == {"chat2.fx.example.": records[1]["chat2.fx.example."]}
    for stack in stacks:
        for record in of_type(stack, "google_dns_record_set").values():
            assert record["type"] == "A"
            assert record["rrdatas"] == [ref("google_compute_global_address", ip_id, "address")]


def test_a_host_of_another_domain_gets_a_certificate_but_no_record_in_the_zone(synth, environments):
    from gkeml.config.model import Endpoint

    stack = synth(
        endpoint_with_zone(
            environments[PROD], Endpoint(name="chat", host="chat.fx.example", previous_hosts=["chat.fx-legacy.example"])
        )
    )
    domains = {c["managed"]["domains"][0] for c in of_type(stack, "google_compute_managed_ssl_certificate").values()}
    assert domains == {"chat.fx.example", "chat.fx-legacy.example"}
    assert [r["name"] for r in of_type(stack, "google_dns_record_set").values()] == ["chat.fx.example."]


# --- a bucket's preset: what its purpose and the tier give it --------------------------------------------


def buckets_of(env, purpose: str) -> Callable[[Any], None]:
    """The access-log bucket and the environment's bucket of ``purpose``, logging to it."""
    from gkeml.constructs import Bucket
    from gkeml.naming import Names
    from gkeml.stacks.props import access_log_bucket_props, bucket_props

    def build(stack: Any) -> None:
        names = Names.of(env)
        logs = Bucket(stack, "access-logs", access_log_bucket_props(env, names))
        config = next(b for b in env.buckets if b.purpose == purpose)
        Bucket(stack, "bucket", bucket_props(env, names, config, logs))

    return build


def the_bucket(stack: dict) -> tuple[dict, str]:
    """(the bucket of the purpose, the access-log bucket's logical id)."""
    buckets = of_type(stack, "google_storage_bucket")
    logs = next(k for k in buckets if k.startswith("access-logs"))
    return next(b for k, b in buckets.items() if k != logs), logs


@pytest.mark.parametrize(("env_name", "soft_delete_days"), [(DEV, 0), (PROD, 7)])
def test_checkpoints_keep_no_versions_and_soft_delete_only_in_prod(synth, environments, env_name, soft_delete_days):
    """Checkpoints are rewritten every few minutes: no versions, and soft delete (each overwrite billed again)
    only in prod, where a run's last checkpoints are worth a week of recovery; they expire after 30 days."""
    env = environments[env_name]
    bucket, logs = the_bucket(synth(buckets_of(env, "checkpoints")))
    assert bucket["versioning"] == {"enabled": False}
    assert bucket["soft_delete_policy"] == {"retention_duration_seconds": soft_delete_days * DAY}
    assert bucket["lifecycle_rule"] == [{"action": {"type": "Delete"}, "condition": {"age": 30}}]
    assert bucket["uniform_bucket_level_access"] is True
    assert bucket["public_access_prevention"] == "enforced"
    assert bucket["logging"] == {
        "log_bucket": ref("google_storage_bucket", logs, "name"),
        "log_object_prefix": bucket["name"],
    }
    assert bucket.get("lifecycle", {}).get("prevent_destroy", False) is (env.tier == "prod")


def test_datasets_keep_versions_for_30_days_and_a_retention_policy_replaces_versioning(synth, environments):
    """A datasets bucket recovers from overwrites and deletes (versions expire after 30 days, soft delete a
    week); an artifacts bucket with a retention policy keeps no versions, which GCS refuses beside it."""
    env = environments[PROD]
    datasets, _ = the_bucket(synth(buckets_of(env, "datasets")))
    assert datasets["versioning"] == {"enabled": True}
    assert datasets["soft_delete_policy"] == {"retention_duration_seconds": 7 * DAY}
    assert datasets["lifecycle_rule"] == [
        {"action": {"type": "Delete"}, "condition": {"days_since_noncurrent_time": 30, "with_state": "ARCHIVED"}}
    ]
    artifacts, _ = the_bucket(synth(buckets_of(env, "artifacts")))
    days = next(b.retention_days for b in env.buckets if b.purpose == "artifacts")
    assert days
    assert artifacts["versioning"] == {"enabled": False}
    assert artifacts["retention_policy"]["retention_period"] == str(days * DAY)  # google >= 7 reads a string
    assert [r["action"]["type"] for r in artifacts["lifecycle_rule"]] == ["SetStorageClass"]


# --- a workload's identity: its member in IAM, and what its bindings wait for ---------------------------


def identity_with_cluster(env, identity) -> Callable[[Any], None]:
    """The environment's network and cluster, a workload identity of ``identity`` and a read grant on a
    bucket to it (as the cloud stack wires them)."""
    from gkeml.constructs import AutopilotCluster, Bucket, Network, WorkloadIdentity
    from gkeml.naming import Names
    from gkeml.stacks.props import access_log_bucket_props, cluster_props, identity_props, network_props

    def build(stack: Any) -> None:
        names = Names.of(env)
        network = Network(stack, "network", network_props(env, names))
        cluster = AutopilotCluster(stack, "cluster", cluster_props(env, names), network=network)
        wi = WorkloadIdentity(
            stack, f"wi-{identity.name}", identity_props(env, names, identity), pool_created_by=cluster.cluster
        )
        Bucket(stack, "data", access_log_bucket_props(env, names)).grant_read(wi)

    return build


def identity_bindings(stack: dict, identity: str) -> list[dict]:
    """The project role bindings of the identity (the cluster's node service account has its own)."""
    return [b for k, b in of_type(stack, "google_project_iam_member").items() if k.startswith(f"wi-{identity}_")]


def cluster_id(stack: dict) -> str:
    (found,) = of_type(stack, "google_container_cluster")
    return f"google_container_cluster.{found}"


def test_a_principal_identity_is_its_ksa_in_iam_and_every_binding_waits_for_the_cluster(synth, environments):
    """In principal mode the KSA itself is the IAM member (principal://, the project NUMBER in the path and
    the project ID in the pool); a binding to it fails until the cluster has created the pool, so each
    waits for the cluster. A predefined role and a custom role of the same last segment both get a binding."""
    from gkeml.config.model import IdentityConfig

    env = environments[PROD]
    custom = f"projects/{env.project.id}/roles/logging.logWriter"
    stack = synth(
        identity_with_cluster(
            env, IdentityConfig(name="reader", namespace="research", roles=["roles/logging.logWriter", custom])
        )
    )
    member = (
        f"principal://iam.googleapis.com/projects/{env.project.number}/locations/global/workloadIdentityPools/"
        f"{env.project.id}.svc.id.goog/subject/ns/research/sa/reader"
    )
    bindings = identity_bindings(stack, "reader")
    assert sorted(b["role"] for b in bindings) == sorted(["roles/logging.logWriter", custom])
    assert {b["member"] for b in bindings} == {member}
    assert all(cluster_id(stack) in b["depends_on"] for b in bindings)
    (grant,) = of_type(stack, "google_storage_bucket_iam_member").values()
    assert (grant["member"], grant["role"]) == (member, "roles/storage.objectViewer")
    assert cluster_id(stack) in grant["depends_on"]
    assert not of_type(stack, "google_service_account_iam_member")


def test_a_classic_identity_impersonates_its_service_account_and_its_grants_need_no_cluster(synth, environments):
    """In classic mode the KSA may act as a Google service account the bootstrap created (workloadIdentityUser
    on that account alone, a binding that waits for the pool); roles and grants go to the account, which
    exists before the cluster, so they wait for nothing."""
    from gkeml.config.model import IdentityConfig
    from gkeml.naming import Names

    env = environments[PROD]
    stack = synth(
        identity_with_cluster(
            env,
            IdentityConfig(name="trainer", namespace="research", mode="classic", roles=["roles/logging.logWriter"]),
        )
    )
    email = Names.of(env).gsa_email("trainer")
    assert email.endswith(f"@{env.project.id}.iam.gserviceaccount.com")
    (user,) = of_type(stack, "google_service_account_iam_member").values()
    assert user["service_account_id"] == f"projects/{env.project.id}/serviceAccounts/{email}"
    assert user["role"] == "roles/iam.workloadIdentityUser"
    assert user["member"] == f"serviceAccount:{env.project.id}.svc.id.goog[research/trainer]"
    assert cluster_id(stack) in user["depends_on"]
    (role,) = identity_bindings(stack, "trainer")
    assert (role["role"], role["member"]) == ("roles/logging.logWriter", f"serviceAccount:{email}")
    (grant,) = of_type(stack, "google_storage_bucket_iam_member").values()
    assert grant["member"] == f"serviceAccount:{email}"
    assert "depends_on" not in grant
