"""The in-cluster layer (<env>-k8s), read from the real synthesized Terraform JSON."""

from __future__ import annotations

import json
import re

import gateway_crd
import kubernetes_validate
import pytest
import yaml
from conftest import DEV, ENV_NAMES, PROD, resources
from stack_objects import chart_objects, k8s, manifests

from gkeml import platform
from gkeml.config.exposure import INGRESS, kept_exposures, served_exposures
from gkeml.config.kueue import namespace_quota
from gkeml.manifests import ksa_annotations
from gkeml.manifests.gateway import picker_name
from gkeml.manifests.workloads import in_cluster_objects
from gkeml.naming import Names

pytestmark = pytest.mark.synth

K8S_VERSION = "1.37.0"
# No upstream schema: GKE CRDs (gkeml check covers them), the Secret Manager add-on / secret sync CRDs, GKE Volume
# Populator's GCPDataSource and the CSI snapshot CRDs GKE installs (not in the core schemas kubernetes-validate has);
# the Gateway API, GKE policy and InferencePool kinds are validated against their CRDs by tests/test_gateway.py.
GKE_CRDS = {
    "ComputeClass",
    "BackendConfig",
    "FrontendConfig",
    "ManagedCertificate",
    "PodMonitoring",  # Managed Prometheus's; tests/prometheus_crd.py checks it against its CRD
    "SecretProviderClass",
    "SecretSync",
    "GCPDataSource",
    "VolumeSnapshotClass",
    "VolumeSnapshotContent",
    "VolumeSnapshot",
    *(kind for _, kind in gateway_crd.SPECS),
}


def pod_templates(stacks, env):
    for o in manifests(stacks, env):
        if o["kind"] in ("Deployment", "Job", "StatefulSet"):
            yield o, o["spec"]["template"]


@pytest.mark.parametrize("env", ENV_NAMES)
def test_in_cluster_stack_depends_on_the_cloud_stack(synth_dir, env):
    manifest = json.loads((synth_dir / "manifest.json").read_text())
    assert manifest["stacks"][f"{env}-k8s"]["dependencies"] == [env]
    assert manifest["stacks"][env]["dependencies"] == []


@pytest.mark.parametrize("env", ENV_NAMES)
def test_providers_come_from_data_sources_not_from_this_stack(stacks, environments, env):
    stack = k8s(stacks, env)
    for name in ("kubernetes", "helm"):
        (provider,) = stack["provider"][name]
        config = provider if name == "kubernetes" else provider["kubernetes"]
        refs = re.findall(r"\$\{([a-z_]+)\.", json.dumps(config))
        assert refs and set(refs) == {"data"}, config
        assert "dns_endpoint_config[0].endpoint" in config["host"]
    cluster = stack["data"]["google_container_cluster"]["cluster"]
    assert cluster["name"] == Names.of(environments[env]).cluster
    assert "google_container_cluster" not in stack.get("resource", {})
    assert stack["terraform"]["backend"]["gcs"]["prefix"] == f"gkeml/{env}-k8s"


@pytest.mark.parametrize("env", ENV_NAMES)
def test_applied_manifests_are_exactly_the_builder_objects(stacks, environments, env):
    # guards the cdktf gotcha: keys inside lists silently dropped on the way to JSON
    def canonical(objs):
        return sorted(json.dumps(o, sort_keys=True) for o in objs)

    assert canonical(manifests(stacks, env)) == canonical(in_cluster_objects(environments[env]))


@pytest.mark.parametrize("env", ENV_NAMES)
def test_every_object_passes_kubernetes_validate_strict(stacks, env):
    checked = 0
    for obj in manifests(stacks, env):
        if obj["kind"] in GKE_CRDS:
            continue  # no upstream schema for GKE CRDs; gkeml check covers them
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
        checked += 1
    assert checked >= 15


@pytest.mark.parametrize("env", ENV_NAMES)
def test_every_team_namespace_has_quota_limits_and_default_deny(stacks, environments, env):
    e = environments[env]
    for team in e.teams:
        ns_objects = [o for o in manifests(stacks, env) if o["metadata"].get("namespace") == team.name]
        kinds = {(o["kind"], o["metadata"]["name"]) for o in ns_objects}
        assert ("NetworkPolicy", "default-deny-ingress") in kinds
        deny = next(o for o in ns_objects if o["metadata"]["name"] == "default-deny-ingress")
        assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
        quota = next(o for o in ns_objects if o["kind"] == "ResourceQuota")
        cpu, _, gpus = namespace_quota(e, team)  # the team's quota, plus what Kueue lets it borrow
        assert quota["spec"]["hard"]["requests.nvidia.com/gpu"] == str(gpus)
        assert quota["spec"]["hard"]["requests.cpu"] == cpu
        assert any(o["kind"] == "LimitRange" for o in ns_objects)


def test_only_serving_namespaces_admit_google_load_balancer_ranges(stacks):
    policies = {
        o["metadata"]["namespace"]: o
        for o in manifests(stacks, PROD, "NetworkPolicy")
        if o["metadata"]["name"] == "allow-google-load-balancers"
    }
    assert set(policies) == {"serving"}
    cidrs = [p["ipBlock"]["cidr"] for p in policies["serving"]["spec"]["ingress"][0]["from"]]
    assert cidrs == list(platform.LOAD_BALANCER_HEALTH_CHECK_RANGES)


@pytest.mark.parametrize("env", ENV_NAMES)
def test_gpu_pods_have_selector_and_allowed_limit_and_spot_is_a_selector(stacks, env):
    gpu_pods = 0
    for owner, template in pod_templates(stacks, env):
        spec = template["spec"]
        annotations = template.get("metadata", {}).get("annotations", {})
        assert platform.SPOT_LABEL not in annotations and platform.COMPUTE_CLASS_LABEL not in annotations
        limits = [c["resources"]["limits"] for c in spec["containers"]]
        gpus = sum(int(lim.get(platform.GPU_RESOURCE, 0)) for lim in limits)
        selector = spec.get("nodeSelector", {})
        if gpus or platform.ACCELERATOR_LABEL in selector:
            gpu_pods += 1
            if platform.COMPUTE_CLASS_LABEL in selector:  # a custom class alone carries the GPU
                (cc,) = [
                    o
                    for o in manifests(stacks, env, "ComputeClass")
                    if o["metadata"]["name"] == selector[platform.COMPUTE_CLASS_LABEL]
                ]
                assert {p["gpu"]["count"] for p in cc["spec"]["priorities"]} == {gpus}, owner["metadata"]
                assert set(selector) == {platform.COMPUTE_CLASS_LABEL}
            else:
                assert gpus in platform.GPUS[selector[platform.ACCELERATOR_LABEL]].counts, owner["metadata"]
        for c in spec["containers"]:
            assert c["resources"]["requests"]["cpu"] == c["resources"]["limits"]["cpu"]
            assert c["resources"]["requests"]["memory"] == c["resources"]["limits"]["memory"]
            assert c["securityContext"]["capabilities"] == {"drop": ["ALL"]}
            assert c["securityContext"]["allowPrivilegeEscalation"] is False
        assert spec["securityContext"]["runAsNonRoot"] is True
        if selector.get(platform.SPOT_LABEL) == "true":
            assert spec["terminationGracePeriodSeconds"] <= platform.SPOT_TERMINATION_GRACE_SECONDS
    assert gpu_pods >= 1


def test_a_service_on_a_compute_class_selects_it_alone_and_survives_its_spot_rung(stacks, environments):
    """Review F15: the class exists and the GPU service uses it, so a Spot stock-out falls back instead of
    leaving the service Pending; the pod tolerates the Spot rung and stops within Spot's grace period."""
    svc = next(s for s in environments[DEV].inference if s.compute_class)
    cls = environments[DEV].custom_compute_class(svc.compute_class)
    (deploy,) = [o for o in manifests(stacks, DEV, "Deployment") if o["metadata"]["name"] == svc.name]
    pod = deploy["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {platform.COMPUTE_CLASS_LABEL: cls.name}
    assert pod["containers"][0]["resources"]["limits"][platform.GPU_RESOURCE] == str(cls.gpu_count)
    assert cls.uses_spot and pod["tolerations"] == [platform.SPOT_TOLERATION]
    assert pod["terminationGracePeriodSeconds"] <= platform.SPOT_TERMINATION_GRACE_SECONDS
    assert (svc.gpu, svc.spot) == (cls.gpu, False)  # the service's GPU is the class's


@pytest.mark.parametrize("env", ENV_NAMES)
def test_ingress_uses_cloud_layer_ip_and_certificate_by_name(stacks, environments, env):
    e = environments[env]
    addresses = {a["name"] for a in resources(stacks[env], "google_compute_global_address")}
    certs = {
        c["name"]: c["managed"]["domains"] for c in resources(stacks[env], "google_compute_managed_ssl_certificate")
    }
    ingresses = manifests(stacks, env, "Ingress")
    on_ingress = [s for s in e.inference if s.endpoint and INGRESS in served_exposures(e.endpoint(s.endpoint))]
    assert len(ingresses) == len(on_ingress)
    hosts = set()
    for ing in ingresses:
        ann = ing["metadata"]["annotations"]
        assert ann[platform.INGRESS_CLASS_ANNOTATION] == platform.INGRESS_CLASS_EXTERNAL
        assert "ingressClassName" not in ing["spec"]
        assert ann[platform.INGRESS_STATIC_IP_ANNOTATION] in addresses
        rules = [r["host"] for r in ing["spec"]["rules"]]  # one per served host (a host moving in: two)
        named = ann[platform.INGRESS_PRE_SHARED_CERT_ANNOTATION].split(",")
        assert sorted(h for name in named for h in certs[name]) == sorted(rules)
        frontend = next(
            o
            for o in manifests(stacks, env, "FrontendConfig")
            if o["metadata"]["name"] == ann[platform.INGRESS_FRONTEND_CONFIG_ANNOTATION]
        )
        assert frontend["spec"]["redirectToHttps"]["enabled"] is True
        hosts |= set(rules)
    assert hosts == {h for s in on_ingress for h in e.endpoint(s.endpoint).served_hosts}
    # a certificate per host the cloud layer keeps: served ones and retired ones not yet removed
    assert sorted(h for doms in certs.values() for h in doms) == sorted(
        h for ep in e.endpoints if INGRESS in kept_exposures(ep) for h in ep.certificate_hosts
    )


def test_service_has_neg_and_backend_config_with_probe_health_check(stacks, environments):
    svc = next(o for o in manifests(stacks, PROD, "Service") if o["metadata"]["name"] == "chat")
    assert json.loads(svc["metadata"]["annotations"][platform.SERVICE_NEG_ANNOTATION]) == {"ingress": True}
    backend = json.loads(svc["metadata"]["annotations"][platform.SERVICE_BACKEND_CONFIG_ANNOTATION])["default"]
    bc = next(o for o in manifests(stacks, PROD, "BackendConfig") if o["metadata"]["name"] == backend)
    assert bc["spec"]["healthCheck"]["requestPath"] == environments[PROD].inference[0].probe.path


@pytest.mark.parametrize("env", ENV_NAMES)
def test_hpa_bounds_and_metrics_come_from_config(stacks, environments, env):
    hpas = {o["metadata"]["name"]: o for o in manifests(stacks, env, "HorizontalPodAutoscaler")}
    for svc in environments[env].inference:
        spec = hpas[svc.name]["spec"]
        assert (spec["minReplicas"], spec["maxReplicas"]) == (
            svc.autoscaling.min_replicas,
            svc.autoscaling.max_replicas,
        )
        types = [m["type"] for m in spec["metrics"]]
        assert ("External" in types) == bool(svc.autoscaling.external_metric)


@pytest.mark.parametrize("env", ENV_NAMES)
def test_terraform_leaves_controller_owned_fields_to_their_controllers(stacks, environments, env):
    """What the HPA writes (spec.replicas) is not in what Terraform applies: with it, every apply after
    the first scale-up fails with a server-side-apply conflict. GKE024 is the same check for any file."""
    from gkeml.rules import check
    from gkeml.rules.engine import Group
    from gkeml.rules.ownership import autoscalers_of

    applied = manifests(stacks, env) + chart_objects(stacks, env, "leaderworkerset")  # multi-host models' groups
    group = Group(applied)
    scaled = 0
    for obj in applied:
        for owned in platform.CONTROLLER_OWNED_FIELDS:
            if obj["kind"] in owned.kinds and autoscalers_of(obj, group, owned.autoscalers):
                scaled += 1
                node = obj
                for key in owned.path:
                    node = node.get(key, {}) if isinstance(node, dict) else {}
                assert node == {}, f"{obj['kind']}/{obj['metadata']['name']} sets {'.'.join(owned.path)}"
    assert scaled == len(manifests(stacks, env, "HorizontalPodAutoscaler")) > 0
    assert not check(applied, rules=["GKE024"])
    services = {svc.name for svc in environments[env].inference}
    deployment = next(o for o in applied if o["kind"] == "Deployment" and o["metadata"]["name"] in services)
    with_count = [{**deployment, "spec": {**deployment["spec"], "replicas": 1}}, *applied]
    (finding,) = check(with_count, rules=["GKE024"])
    assert finding.field == "spec.replicas" and "HorizontalPodAutoscaler" in finding.message


def test_external_metric_scales_on_pubsub_backlog(stacks):
    hpa = next(o for o in manifests(stacks, PROD, "HorizontalPodAutoscaler") if o["metadata"]["name"] == "embed")
    (ext,) = [m["external"] for m in hpa["spec"]["metrics"] if m["type"] == "External"]
    assert ext["metric"]["name"] == "pubsub.googleapis.com|subscription|num_undelivered_messages"
    assert ext["target"] == {"type": "AverageValue", "averageValue": "100"}


@pytest.mark.parametrize("env", ENV_NAMES)
def test_compute_classes_try_their_capacity_in_the_configured_order(stacks, environments, env):
    applied = {o["metadata"]["name"]: o for o in manifests(stacks, env, "ComputeClass")}
    populated = any(v.populated for v in environments[env].volumes)  # + GKE Volume Populator's (tests/test_volumes.py)
    assert set(applied) == {c.name for c in environments[env].compute_classes} | (
        {platform.VOLUME_POPULATOR_TRANSFER_CLASS} if populated else set()
    )
    for policy in environments[env].compute_classes:
        cc = applied[policy.name]
        assert cc["apiVersion"] == platform.COMPUTE_CLASS_API
        ladder = []
        for priority in cc["spec"]["priorities"]:
            assert priority["gpu"] == {"type": policy.gpu, "count": policy.gpu_count}
            if "flexStart" in priority:  # a node is flex-start or Spot, never both
                assert priority["flexStart"] == {"enabled": True} and "spot" not in priority
                ladder.append("flex-start")
            elif "reservations" in priority:  # the reserved VMs: Specific, their machine type, on-demand
                assert priority["reservations"]["affinity"] == "Specific" and priority["spot"] is False
                (specific,) = priority["reservations"]["specific"]
                assert specific["name"] == policy.reservation and "machineType" in priority
                assert "location" not in priority  # GKE refuses zones next to a Specific reservation
                ladder.append("reservation")
            else:
                ladder.append("spot" if priority["spot"] else "on-demand")
        assert ladder == policy.capacity
        assert cc["spec"]["activeMigration"] == {"optimizeRulePriority": policy.migrate_to_preferred}


@pytest.mark.parametrize("env", ENV_NAMES)
def test_workload_identity_service_accounts_match_the_cloud_layer(stacks, environments, env):
    e = environments[env]
    gkeml_own = {platform.SECRET_SYNC_SERVICE_ACCOUNT, platform.METRICS_ADAPTER_KSA}  # tests of their own cover them
    gkeml_own |= {picker_name(s.name) for s in e.inference}  # endpoint pickers (tests/test_gateway.py)
    sas = {
        (o["metadata"]["namespace"], o["metadata"]["name"]): o
        for o in manifests(stacks, env, "ServiceAccount")
        if o["metadata"]["name"] not in gkeml_own
    }
    assert set(sas) == {(i.namespace, i.ksa) for i in e.identities if i.name != e.launch.identity}
    for ident in e.identities:
        if (ident.namespace, ident.ksa) in sas:
            # principal mode: no annotation needed; classic mode would carry the GSA
            assert sas[(ident.namespace, ident.ksa)]["metadata"].get("annotations") == (
                ksa_annotations(Names.of(e), ident) or None
            )


@pytest.mark.parametrize("env", ENV_NAMES)
def test_launch_agent_is_the_real_chart_with_real_values(stacks, environments, env):
    e = environments[env]
    (release,) = [r for r in resources(k8s(stacks, env), "helm_release") if r["name"] == e.launch.release]
    assert release["chart"] == "launch-agent" and release["chart"] != platform.WANDB_SERVER_OPERATOR_CHART
    assert release["repository"] == "https://charts.wandb.ai"
    assert release["version"] == "0.13.12"
    values = yaml.safe_load(release["values"][0])
    # every key is one the chart's values.yaml (0.13.12) defines
    assert set(values) <= {
        "agent",
        "namespace",
        "baseUrl",
        "additionalTargetNamespaces",
        "launchConfig",
        "additionalEnvVars",
        "additionalSecretEnvVars",
        "gitCreds",
        "sshAuthSecrets",
        "serviceAccount",
        "azureStorageAccessKey",
        "customCABundle",
        "kanikoPvcName",
        "kanikoDockerConfigSecret",
    }
    assert values["agent"]["useExternalWandbSecret"] is True and "apiKey" not in values["agent"]
    assert isinstance(values["launchConfig"], str)
    config = yaml.safe_load(values["launchConfig"])
    assert config["queues"] == [q.name for q in e.launch.queues]
    assert config["max_jobs"] == e.launch.max_jobs and config["builder"] == {"type": "noop"}
    assert sorted(values["additionalTargetNamespaces"]) == sorted(e.launch_teams())
    assert values["serviceAccount"]["annotations"] == ksa_annotations(Names.of(e), e.identity(e.launch.identity))
    assert values["namespace"] == e.identity(e.launch.identity).namespace
    assert platform.wandb_launch_service_account(e.launch.release) == e.identity(e.launch.identity).ksa


@pytest.mark.parametrize("env", ENV_NAMES)
def test_api_key_reaches_the_launch_namespaces_through_gke_secret_sync_only(stacks, environments, env):
    """Terraform never holds the key: no ephemeral or data read of a secret version, no
    kubernetes_secret_v1; GKE copies it into the Secret the chart reads, in the Launch teams only."""
    e = environments[env]
    stack = k8s(stacks, env)
    assert "ephemeral" not in stack and "kubernetes_secret_v1" not in stack.get("resource", {})
    assert set(stack.get("data", {})) == {"google_container_cluster"}  # no google_client_config (token in state)
    syncs = {o["metadata"]["namespace"]: o for o in manifests(stacks, env, "SecretSync")}
    assert set(syncs) == set(e.launch_teams())
    classes = {o["metadata"]["namespace"]: o for o in manifests(stacks, env, "SecretProviderClass")}
    for team, sync in syncs.items():
        assert sync["metadata"]["name"] == platform.wandb_api_key_secret(e.launch.release)  # the Secret it writes
        assert sync["spec"]["serviceAccountName"] == platform.SECRET_SYNC_SERVICE_ACCOUNT
        (data,) = sync["spec"]["secretObject"]["data"]
        assert data["targetKey"] == platform.WANDB_API_KEY_SECRET_KEY == "password"
        spc = classes[team]
        assert spc["spec"]["provider"] == "gke" and spc["metadata"]["name"] == sync["spec"]["secretProviderClassName"]
        (secret,) = yaml.safe_load(spc["spec"]["parameters"]["secrets"])
        version = str(e.launch.api_key_version)  # pinned: a rotation never changes the key under the agent
        assert secret == {
            "resourceName": f"projects/{e.project.id}/secrets/{env}-wandb-api-key/versions/{version}",
            "path": data["sourcePath"],
        }
        assert sync["spec"]["forceSynchronization"] == version  # a new version is synced at once
        assert sync["spec"]["secretObject"]["annotations"] == {f"secret.gkeml.io/{sync['metadata']['name']}": version}
    # the cloud layer lets exactly these service accounts read the secret, and turns the sync on
    members = {m["member"] for m in resources(stacks[env], "google_secret_manager_secret_iam_member")}
    assert members == {
        platform.workload_identity_principal(e.project.number, e.project.id, t, platform.SECRET_SYNC_SERVICE_ACCOUNT)
        for t in e.launch_teams()
    }
    (cluster,) = resources(stacks[env], "google_container_cluster")
    assert cluster["secret_sync_config"]["enabled"] is True and cluster["secret_manager_config"]["enabled"] is True


# The W&B key Secret as the release before GKE's secret sync held it in every <env>-k8s state: gkeml 8c8cab5
# (8c8cab50fa2b5dfb50026092d6f1fc048bc8f722, the parent of 345d545), synthesized from git on 2026-12-04 with
# the shipped environments: kubernetes_secret_v1 "wandb_api-key-research_59FAFC1E" (construct path
# <env>-k8s/wandb/api-key-research, namespace research) in dev-k8s, staging-k8s and prod-k8s alike.
PREVIOUS_WANDB_SECRET = "kubernetes_secret_v1.wandb_api-key-research_59FAFC1E"


@pytest.mark.parametrize("env", ENV_NAMES)
def test_the_terraform_wandb_secret_of_the_previous_release_is_forgotten_not_destroyed(stacks, environments, env):
    """Upgrading an environment must not delete the Secret in the apply that creates its SecretSync (the sync
    may have written it already, and writes it again only when the key changes): a removed block with
    destroy = false for the address the previous release used, in every Launch team's namespace. Elsewhere
    (the previous release wrote the key into every team's namespace) no block: the upgrade deletes it."""
    removed = k8s(stacks, env)["removed"]
    assert {"from": PREVIOUS_WANDB_SECRET, "lifecycle": {"destroy": False}} in removed
    named = [re.fullmatch(r"kubernetes_secret_v1\.wandb_api-key-([-a-z0-9]+)_[0-9A-F]{8}", r["from"]) for r in removed]
    assert sorted(m[1] for m in named if m) == sorted(environments[env].launch_teams())
    assert all(r["lifecycle"] == {"destroy": False} for r in removed)
    assert "kubernetes_secret_v1" not in k8s(stacks, env).get("resource", {})


@pytest.mark.parametrize("env", ENV_NAMES)
def test_providers_authenticate_with_the_exec_plugin_and_helm_stores_releases_in_configmaps(stacks, env):
    providers = k8s(stacks, env)["provider"]
    (kube,) = providers["kubernetes"]
    (helm,) = providers["helm"]
    for block in (kube["exec"][0] if isinstance(kube["exec"], list) else kube["exec"], helm["kubernetes"]["exec"]):
        assert block == {
            "api_version": "client.authentication.k8s.io/v1beta1",
            "command": "gke-gcloud-auth-plugin",
            "args": ["--use_application_default_credentials"],
        }
    assert "token" not in kube and "token" not in helm["kubernetes"]
    assert helm["helm_driver"] == "configmap"


def test_no_secret_value_anywhere_in_cdktf_out(synth_dir):
    for path in synth_dir.rglob("*.json"):
        text = path.read_text()
        assert not re.search(r"\b[0-9a-f]{40}\b", text), path  # W&B API keys are 40 hex chars
        assert '"apiKey"' not in text and 'secret_data": "' not in text
