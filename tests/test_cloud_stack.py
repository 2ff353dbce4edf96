"""The cloud layer, read from the real synthesized Terraform JSON of the default environments."""

from __future__ import annotations

import json

import pytest
from conftest import DEV, ENV_NAMES, ENVIRONMENTS, MINIMAL, PROD, ROOT, STAGING, resources

from gkeml import platform
from gkeml.config.exposure import GATEWAY, INGRESS, kept_exposures
from gkeml.environments import parse_environment
from gkeml.manifests import ksa_annotations
from gkeml.naming import Names

pytestmark = pytest.mark.synth


def cluster(stacks, env):
    (c,) = resources(stacks[env], "google_container_cluster")
    return c


@pytest.mark.parametrize("env", ENV_NAMES)
def test_every_environment_has_a_stack_named_exactly_after_it(stacks, env):
    assert env in stacks


@pytest.mark.parametrize("env", ENV_NAMES)
def test_cluster_is_regional_autopilot_with_private_nodes_and_dns_endpoint(stacks, environments, env):
    c = cluster(stacks, env)
    assert c["enable_autopilot"] is True
    assert c["location"] == environments[env].project.region
    assert c["private_cluster_config"]["enable_private_nodes"] is True
    assert c["control_plane_endpoints_config"]["dns_endpoint_config"]["allow_external_traffic"] is True
    assert c["node_locations"] == list(platform.REGION_ZONES["us-central1"])
    assert c["workload_identity_config"]["workload_pool"] == f"{environments[env].project.id}.svc.id.goog"
    assert c["binary_authorization"]["evaluation_mode"] == "PROJECT_SINGLETON_POLICY_ENFORCE"
    assert c["security_posture_config"]["mode"] == "BASIC"
    assert c["cost_management_config"]["enabled"] is True
    assert c["gateway_api_config"]["channel"] == "CHANNEL_STANDARD"
    assert c["resource_labels"]["gkeml-env"] == env
    assert c["master_auth"]["client_certificate_config"]["issue_client_certificate"] is False
    # fields the google provider refuses together with enable_autopilot (ConflictsWith)
    for refused in (
        "enable_intranode_visibility",
        "enable_shielded_nodes",
        "network_policy",
        "node_pool",
        "remove_default_node_pool",
        "default_max_pods_per_node",
    ):
        assert refused not in c, refused
    assert "enabled" not in c["cluster_autoscaling"] and "resource_limits" not in c["cluster_autoscaling"]
    assert "enabled" not in c.get("binary_authorization", {})


@pytest.mark.parametrize(
    "env,channel,protection,public_ip",
    [(DEV, "REGULAR", False, True), (STAGING, "REGULAR", True, False), (PROD, "STABLE", True, False)],
)
def test_channel_protection_and_public_ip_follow_the_environment(stacks, env, channel, protection, public_ip):
    c = cluster(stacks, env)
    assert c["release_channel"]["channel"] == channel
    assert c["deletion_protection"] is protection
    assert c["control_plane_endpoints_config"]["ip_endpoints_config"]["enabled"] is public_ip
    if public_ip:
        cidrs = c["master_authorized_networks_config"]["cidr_blocks"]
        assert cidrs == [{"cidr_block": "203.0.113.0/24", "display_name": "office"}]
        assert c["master_authorized_networks_config"]["gcp_public_cidrs_access_enabled"] is False
    else:
        assert "master_authorized_networks_config" not in c


def test_maintenance_window_and_exclusion(stacks):
    policy = cluster(stacks, PROD)["maintenance_policy"]
    assert policy["recurring_window"]["recurrence"] == "FREQ=WEEKLY;BYDAY=SA,SU"
    assert policy["recurring_window"]["start_time"].endswith("T03:00:00Z")
    assert policy["recurring_window"]["end_time"].endswith("T09:00:00Z")
    (excl,) = policy["maintenance_exclusion"]
    assert excl["exclusion_name"] == "year-end-freeze"
    assert excl["exclusion_options"]["scope"] == "NO_MINOR_UPGRADES"


@pytest.mark.parametrize("env", ENV_NAMES)
def test_nodes_run_as_a_dedicated_least_privilege_service_account(stacks, environments, env):
    """The account the bootstrap stack created (named by email), holding only the node role on the project."""
    c = cluster(stacks, env)
    email = Names.of(environments[env]).node_service_account_email
    assert c["cluster_autoscaling"]["auto_provisioning_defaults"]["service_account"] == email
    roles = {
        m["role"]
        for m in resources(stacks[env], "google_project_iam_member")
        if m["member"] == f"serviceAccount:{email}"
    }
    assert roles == {platform.NODE_SERVICE_ACCOUNT_ROLE}


@pytest.mark.parametrize("env", ENV_NAMES)
def test_network_subnet_ranges_private_google_access_and_nat(stacks, environments, env):
    net = environments[env].network
    (vpc,) = resources(stacks[env], "google_compute_network")
    assert vpc["auto_create_subnetworks"] is False
    subnets = resources(stacks[env], "google_compute_subnetwork")
    (subnet,) = [s for s in subnets if "purpose" not in s]
    proxies = [s for s in subnets if s.get("purpose") == "REGIONAL_MANAGED_PROXY"]
    assert [(s["ip_cidr_range"], s["role"]) for s in proxies] == (
        [(str(net.proxy_only_cidr), "ACTIVE")] if net.proxy_only_cidr else []
    )
    assert subnet["ip_cidr_range"] == str(net.subnet_cidr)
    assert subnet["private_ip_google_access"] is True
    assert {r["range_name"]: r["ip_cidr_range"] for r in subnet["secondary_ip_range"]} == {
        "pods": str(net.pods_cidr),
        "services": str(net.services_cidr),
    }
    assert subnet["log_config"]["metadata"] == "INCLUDE_ALL_METADATA"
    (nat,) = resources(stacks[env], "google_compute_router_nat")
    assert nat["source_subnetwork_ip_ranges_to_nat"] == "ALL_SUBNETWORKS_ALL_IP_RANGES"
    assert len(resources(stacks[env], "google_compute_router")) == 1


@pytest.mark.parametrize("env", ENV_NAMES)
def test_project_services_are_never_disabled_on_destroy(stacks, env):
    services = resources(stacks[env], "google_project_service")
    names = {s["service"] for s in services}
    assert {
        "container.googleapis.com",
        "compute.googleapis.com",
        "iam.googleapis.com",
        "storage.googleapis.com",
        "secretmanager.googleapis.com",
    } <= names
    assert all(s["disable_on_destroy"] is False for s in services)


@pytest.mark.parametrize("env", ENV_NAMES)
def test_buckets_are_private_uniform_and_protected_by_purpose(stacks, environments, env):
    buckets = {b["labels"]["purpose"]: b for b in resources(stacks[env], "google_storage_bucket")}
    assert set(buckets) == {"datasets", "checkpoints", "artifacts", "access-logs"}
    logs = buckets.pop("access-logs")
    assert logs["name"] == Names.of(environments[env]).access_log_bucket
    for b in [logs, *buckets.values()]:
        assert b["uniform_bucket_level_access"] is True
        assert b["public_access_prevention"] == "enforced"
        assert b["force_destroy"] is (env == DEV)
    for b in buckets.values():
        assert b["name"] == Names.of(environments[env]).bucket(b["labels"]["purpose"])
        assert b["logging"]["log_bucket"].startswith("${google_storage_bucket.access-logs_bucket")
    assert buckets["datasets"]["versioning"]["enabled"] is True
    assert buckets["checkpoints"]["versioning"]["enabled"] is False
    assert buckets["checkpoints"]["soft_delete_policy"]["retention_duration_seconds"] == (
        7 * 86400 if environments[env].tier == "prod" else 0
    )  # prod: recoverable for days
    assert buckets["artifacts"]["soft_delete_policy"]["retention_duration_seconds"] == 30 * 86400
    assert {"action": {"type": "Delete"}, "condition": {"age": 30}} in buckets["checkpoints"]["lifecycle_rule"]


@pytest.mark.parametrize("env", ENV_NAMES)
def test_buckets_are_where_the_file_puts_them(stacks, environments, env):
    """location as written (default: the region); a configurable dual-region's two regions as its placement."""
    synthesized = {b["name"]: b for b in resources(stacks[env], "google_storage_bucket")}
    for bucket in environments[env].buckets:
        emitted = synthesized[Names.of(environments[env]).bucket(bucket.name)]
        assert emitted["location"] == bucket.location
        placement = emitted.get("custom_placement_config", {}).get("data_locations", [])
        assert placement == bucket.data_locations
    assert any(b.data_locations for e in environments.values() for b in e.buckets), "no fixture shows data_locations"


def test_retention_policy_in_prod_matches_the_framework_schema(stacks):
    (artifacts,) = [
        b for b in resources(stacks[PROD], "google_storage_bucket") if b["labels"]["purpose"] == "artifacts"
    ]
    # google 6.50 (cdktf) takes a number, google 8.x (cdktn) a string: same seconds either way.
    assert int(artifacts["retention_policy"]["retention_period"]) == 30 * 86400
    # GCS refuses versioning together with a retention policy
    assert artifacts["versioning"]["enabled"] is False
    assert all("days_since_noncurrent_time" not in r["condition"] for r in artifacts["lifecycle_rule"])


def _principal(env, ns, ksa):
    return (
        f"principal://iam.googleapis.com/projects/{env.project.number}/locations/global/"
        f"workloadIdentityPools/{env.project.id}.svc.id.goog/subject/ns/{ns}/sa/{ksa}"
    )


@pytest.mark.parametrize("env", ENV_NAMES)
def test_workload_identity_principal_members_are_exact(stacks, environments, env):
    e = environments[env]
    trainer = _principal(e, "research", "trainer")
    assert trainer == (
        "principal://iam.googleapis.com/projects/"
        + e.project.number
        + "/locations/global/workloadIdentityPools/"
        + e.project.id
        + ".svc.id.goog/subject/ns/research/sa/trainer"
    )
    grants = {
        (g["bucket"].split(".")[1], g["role"], g["member"])
        for g in resources(stacks[env], "google_storage_bucket_iam_member")
    }
    by_role = {(role, member) for _, role, member in grants}
    assert ("roles/storage.objectViewer", trainer) in by_role
    assert ("roles/storage.objectUser", trainer) in by_role
    project_roles = {(m["role"], m["member"]) for m in resources(stacks[env], "google_project_iam_member")}
    assert ("roles/logging.logWriter", trainer) in project_roles


@pytest.mark.parametrize("env", ENV_NAMES)
def test_bucket_grants_bind_each_identity_to_exactly_its_buckets(stacks, environments, env):
    e = environments[env]
    stack = stacks[env]
    bucket_ids = {key: b["name"] for key, b in stack["resource"]["google_storage_bucket"].items()}
    actual = set()
    for g in resources(stack, "google_storage_bucket_iam_member"):
        key = g["bucket"].split(".")[1]
        if bucket_ids[key] == Names.of(e).access_log_bucket:
            assert (g["role"], g["member"]) == (
                "roles/storage.objectCreator",
                "group:cloud-storage-analytics@google.com",
            )
            continue
        actual.add((bucket_ids[key], g["role"], g["member"]))
    expected = set()
    names = Names.of(e)
    for ident in (i for i in e.identities if i.mode == "principal"):
        member = _principal(e, ident.namespace, ident.ksa)
        for b in ident.reads:
            expected.add((names.bucket(b), "roles/storage.objectViewer", member))
        for b in ident.writes:
            expected.add((names.bucket(b), "roles/storage.objectUser", member))
    assert actual == expected


@pytest.mark.parametrize("env", ENV_NAMES)
def test_classic_identity_has_a_gsa_the_ksa_may_impersonate(stacks, environments, env):
    e = environments[env]
    email = f"{env}-launch-agent@{e.project.id}.iam.gserviceaccount.com"
    (wiu,) = [
        m
        for m in resources(stacks[env], "google_service_account_iam_member")
        if "launch-agent" in m["service_account_id"]
    ]
    assert wiu["service_account_id"] == f"projects/{e.project.id}/serviceAccounts/{email}"  # the bootstrap made it
    assert wiu["role"] == "roles/iam.workloadIdentityUser"
    assert wiu["member"] == f"serviceAccount:{e.project.id}.svc.id.goog[research/wandb-launch-serviceaccount-wandb]"
    assert ksa_annotations(Names.of(e), e.identity("launch-agent")) == {"iam.gke.io/gcp-service-account": email}


@pytest.mark.parametrize("env", ENV_NAMES)
def test_no_project_wide_storage_or_primitive_roles_and_no_keys(stacks, env):
    stack = stacks[env]
    for m in resources(stack, "google_project_iam_member"):
        assert not m["role"].startswith("roles/storage."), m
        assert m["role"] not in ("roles/owner", "roles/editor", "roles/viewer"), m
    for forbidden in (
        "google_service_account_key",
        "google_project_iam_binding",
        "google_project_iam_policy",
        "google_secret_manager_secret_version",
    ):
        assert forbidden not in stack.get("resource", {})


@pytest.mark.parametrize("env", ENV_NAMES)
def test_one_static_ip_and_one_managed_certificate_per_host(stacks, environments, env):
    e = environments[env]
    names = Names.of(e)
    ips = {  # the external ones (an extension's private services access range is a global address too)
        a["name"]: a
        for a in resources(stacks[env], "google_compute_global_address")
        if a.get("purpose") != "VPC_PEERING"
    }
    certs = {c["name"]: c for c in resources(stacks[env], "google_compute_managed_ssl_certificate")}
    ingress = [ep for ep in e.endpoints if INGRESS in kept_exposures(ep)]  # the Gateways': tests/test_gateway.py
    gateway = [ep for ep in e.endpoints if GATEWAY in kept_exposures(ep)]
    assert set(ips) == {names.address(ep.name) for ep in ingress} | {
        names.gateway_address(ep.name, GATEWAY) for ep in gateway
    }
    assert {n: c["managed"]["domains"] for n, c in certs.items()} == {
        names.certificate(ep.name, h): [h] for ep in ingress for h in ep.certificate_hosts
    }
    assert all(a["address_type"] == "EXTERNAL" for a in ips.values())


@pytest.mark.parametrize("env", ENV_NAMES)
def test_gcs_backend_per_stack_and_outputs_for_the_in_cluster_layer(stacks, environments, env):
    stack = stacks[env]
    assert stack["terraform"]["backend"]["gcs"] == {"bucket": environments[env].state.bucket, "prefix": f"gkeml/{env}"}
    assert {"cluster_name", "cluster_location", "cluster_dns_endpoint", "static_ips", "certificates", "buckets"} <= set(
        stack["output"]
    )


@pytest.mark.parametrize("env", ENV_NAMES)
def test_secret_has_no_version_and_no_value(stacks, env):
    (secret,) = resources(stacks[env], "google_secret_manager_secret")
    assert secret["secret_id"] == f"{env}-wandb-api-key"
    assert "auto" in secret["replication"]
    assert "secret_data" not in json.dumps(stacks[env])


def _label_maps(node, path=""):
    """Every labels map in a synthesized stack (default_labels, resource_labels, labels), with its path."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("labels", "default_labels", "resource_labels") and isinstance(value, dict):
                yield f"{path}.{key}", value
            else:
                yield from _label_maps(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _label_maps(value, f"{path}[{i}]")


@pytest.mark.parametrize("env", ENV_NAMES)
def test_label_keys_reach_gcp_exactly_as_written(stacks, environments, env):
    """cdktf rewrites provider-argument keys to snake_case; gkeml writes labels verbatim."""
    from gkeml.naming import gkeml_labels
    from gkeml.release import VERSION_LABEL

    e = environments[env]
    (provider,) = [p for p in stacks[env]["provider"]["google"] if "alias" not in p]
    assert provider["default_labels"] == {**e.project.labels, **gkeml_labels(env)}
    for aliased in (p for p in stacks[env]["provider"]["google"] if "alias" in p):  # e.g. the budget's quota project
        assert aliased.get("default_labels", provider["default_labels"]) == provider["default_labels"]
    ours = set(gkeml_labels(env, layer="x")) | {"purpose", VERSION_LABEL}  # the release: on the cluster only
    for path, labels in _label_maps(stacks[env]):
        if ".google_monitoring_notification_channel." in path:
            continue  # a channel's `labels` are its address (email_address, topic), not resource labels
        assert set(labels) <= set(e.project.labels) | set(e.cluster.labels) | ours, path
        for key in set(labels) & set(e.project.labels):
            assert labels[key] == e.project.labels[key], (path, key)


def test_keys_that_snake_case_would_merge_stay_two_labels(stacks, environments):
    labels = stacks[DEV]["provider"]["google"][0]["default_labels"]
    assert labels["cost-center"] == "ml-research" and labels["cost_center"] == "legacy-1234"


@pytest.mark.parametrize("env", ENV_NAMES)
def test_the_cluster_enforces_a_policy_gkeml_writes_deny_by_default(stacks, environments, env):
    """PROJECT_SINGLETON_POLICY_ENFORCE alone enforces whatever the project has (by default: allow all)."""
    from gkeml.config.images import image_allowlist

    e = environments[env]
    (policy,) = resources(stacks[env], "google_binary_authorization_policy")
    assert policy["global_policy_evaluation_mode"] == "ENABLE"
    rule = policy["default_admission_rule"]
    assert rule["evaluation_mode"] == "ALWAYS_DENY"
    assert rule["enforcement_mode"] == ("DRYRUN_AUDIT_LOG_ONLY" if e.tier == "dev" else "ENFORCED_BLOCK_AND_AUDIT_LOG")
    patterns = [p["name_pattern"] for p in policy["admission_whitelist_patterns"]]
    assert patterns == image_allowlist(e)
    assert f"us-docker.pkg.dev/{e.project.id}/**" in patterns
    assert cluster(stacks, env)["binary_authorization"]["evaluation_mode"] == "PROJECT_SINGLETON_POLICY_ENFORCE"
    # no deprecated vulnerability mode
    assert cluster(stacks, env)["security_posture_config"]["vulnerability_mode"] == "VULNERABILITY_DISABLED"


def test_an_environment_without_a_policy_says_so(environments, tmp_path):
    """mode: disabled writes no policy and the cluster enforces none (nothing pretends to be enforced)."""
    from gkeml.synth import synth

    text = (ENVIRONMENTS / f"{MINIMAL}.yaml").read_text() + "cluster:\n  binary_authorization: {mode: disabled}\n"
    env = parse_environment(text, "mini.yaml")
    out = synth([env], tmp_path / "cdktf.out")
    stack = json.loads((out / "stacks" / MINIMAL / "cdk.tf.json").read_text())
    assert not resources(stack, "google_binary_authorization_policy")
    (c,) = resources(stack, "google_container_cluster")
    assert "binary_authorization" not in c


@pytest.mark.parametrize(
    ("image", "pattern", "admitted"),
    [
        ("us-docker.pkg.dev/p/serving/chat:1", "us-docker.pkg.dev/p/**", True),
        ("us-docker.pkg.dev/p/serving/chat:1", "us-docker.pkg.dev/p/*", False),  # * stays in one path segment
        ("us-docker.pkg.dev/p/chat:1", "us-docker.pkg.dev/p/*", True),
        ("us-docker.pkg.dev/other/chat:1", "us-docker.pkg.dev/p/**", False),
        ("wandb/launch-agent:0.17.3", "docker.io/wandb/launch-agent*", True),  # Docker Hub short names
        ("nginx:1.27", "docker.io/library/nginx*", True),
    ],
)
def test_admission_patterns_match_as_binary_authorization_documents(image, pattern, admitted):
    assert platform.image_matches(image, pattern) is admitted


def test_every_stack_declares_the_terraform_version_it_is_written_for(stacks, bootstrap_stacks):
    """One version (platform.TERRAFORM_MIN_VERSION): every stack's terraform.required_version, the
    targetVersions cdktf checks features against (synth and cdktf.json) and what `gkeml doctor` asks for."""
    from gkeml.doctor.toolchain import _min_terraform
    from gkeml.synth import TARGET_VERSIONS

    for name, stack in {**stacks, **bootstrap_stacks}.items():
        assert stack["terraform"]["required_version"] == f">= {platform.TERRAFORM_MIN_VERSION}", name
    assert {"terraform": f">={platform.TERRAFORM_MIN_VERSION}"} == TARGET_VERSIONS
    assert json.loads((ROOT / "cdktf.json").read_text())["targetVersions"] == TARGET_VERSIONS
    assert ".".join(map(str, _min_terraform())) == platform.TERRAFORM_MIN_VERSION
    assert platform.TERRAFORM_MIN_VERSION == "1.11.0"  # ephemeral resources and write-only arguments
