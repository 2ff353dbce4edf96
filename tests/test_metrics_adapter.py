"""The Custom Metrics Stackdriver Adapter: installed exactly where an autoscaler reads a metric only it
serves, hardened, reachable by the API server, allowed to read Cloud Monitoring through Workload
Identity, and ordered so autoscalers never outlive it. Read from the real synthesized stacks of the
fixture environments (``live`` scales a service on a Pub/Sub backlog; the others scale on CPU only)."""

from __future__ import annotations

import pytest
from conftest import ENV_NAMES, MINIMAL, resources

from gkeml import platform
from gkeml.lifecycle.graph import ancestors, dependency_graph

pytestmark = pytest.mark.synth

ALL_ENVS = (*ENV_NAMES, MINIMAL)
ADAPTER_APIS = {"v1beta1.custom.metrics.k8s.io", "v1beta2.custom.metrics.k8s.io", "v1beta1.external.metrics.k8s.io"}


def manifests(stacks, env) -> dict[str, dict]:
    """Terraform address -> applied object, of the in-cluster stack."""
    stack = stacks[f"{env}-k8s"]
    return {
        f"kubernetes_manifest.{name}": body["manifest"]
        for name, body in stack.get("resource", {}).get("kubernetes_manifest", {}).items()
    }


def adapter_objects(stacks, env) -> dict[str, dict]:
    """The adapter's objects, by kind/name (APIServices are cluster-scoped, so found by their backend)."""
    found = {}
    for obj in manifests(stacks, env).values():
        meta = obj["metadata"]
        if (
            meta.get("namespace") == platform.METRICS_ADAPTER_NAMESPACE
            or meta["name"] == platform.METRICS_ADAPTER_NAMESPACE
            or obj.get("spec", {}).get("service", {}).get("namespace") == platform.METRICS_ADAPTER_NAMESPACE
        ):
            found[f"{obj['kind']}/{meta['name']}"] = obj
    return found


def reads_a_metrics_api(stacks, env) -> bool:
    return any(
        m["type"] in ("External", "Object", "Pods")
        for obj in manifests(stacks, env).values()
        if obj["kind"] == "HorizontalPodAutoscaler"
        for m in obj["spec"]["metrics"]
    )


def adapter_member(env) -> str:
    return platform.workload_identity_principal(
        env.project.number, env.project.id, platform.METRICS_ADAPTER_NAMESPACE, platform.METRICS_ADAPTER_KSA
    )


# --- where it is installed ------------------------------------------------------------------------


def test_some_fixture_needs_the_adapter_and_some_does_not(stacks):
    needs = {env for env in ALL_ENVS if reads_a_metrics_api(stacks, env)}
    assert needs and needs != set(ALL_ENVS)  # both branches below are exercised


@pytest.mark.parametrize("env", ALL_ENVS)
def test_the_adapter_is_installed_exactly_where_an_autoscaler_reads_its_apis(stacks, environments, env):
    from gkeml.config.bootstrap import granted_project_roles
    from gkeml.config.images import image_allowlist
    from gkeml.config.roles import METRICS_ADAPTER_ROLE

    needed = reads_a_metrics_api(stacks, env)
    objects = adapter_objects(stacks, env)
    assert bool(objects) == needed
    if needed:
        assert {
            name for kind_name in objects for kind, name in [kind_name.split("/", 1)] if kind == "APIService"
        } == ADAPTER_APIS
    members = {b["member"] for b in resources(stacks[env], "google_project_iam_member")}
    assert (adapter_member(environments[env]) in members) == needed
    assert (f"{platform.METRICS_ADAPTER_IMAGE}*" in image_allowlist(environments[env])) == needed
    if needed:  # CI may grant what the cloud stack grants the adapter
        assert METRICS_ADAPTER_ROLE in granted_project_roles(environments[env])


@pytest.mark.parametrize(
    "metric_type,needed",
    [
        ("External", True),
        ("Object", True),
        ("Pods", True),
        ("Resource", False),
        ("ContainerResource", False),
    ],
)
def test_which_hpa_metrics_need_the_adapter(metric_type, needed):
    from gkeml.manifests.metrics_adapter import uses_metrics_adapter

    hpa = {"kind": "HorizontalPodAutoscaler", "spec": {"metrics": [{"type": "Resource"}, {"type": metric_type}]}}
    assert uses_metrics_adapter([hpa]) is needed
    assert uses_metrics_adapter([{"kind": "Deployment", "spec": {"metrics": [{"type": metric_type}]}}]) is False


def test_an_external_metric_added_to_a_cpu_only_environment_brings_the_adapter(environments):
    from gkeml.manifests.workloads import in_cluster_plan

    env = next(
        e for name, e in environments.items() if name in ALL_ENVS and e.inference and not e.needs_metrics_adapter
    )
    assert in_cluster_plan(env).metrics_adapter == []
    svc = env.inference[0]
    scaled = svc.model_copy(
        update={
            "autoscaling": svc.autoscaling.model_copy(
                update={
                    "external_metric": "pubsub.googleapis.com|subscription|num_undelivered_messages",
                    "external_target": 10,
                }
            )
        }
    )
    changed = env.model_copy(update={"inference": [scaled, *env.inference[1:]]})
    assert changed.needs_metrics_adapter
    kinds = [o["kind"] for o in in_cluster_plan(changed).metrics_adapter]
    assert kinds[0] == "Namespace" and kinds.count("APIService") == 3


SCALED_ON_A_BACKLOG = """\
name: small
tier: dev
prefix: small-ml
project: {id: small-ml-project, number: "200000000002", region: us-central1}
state: {bucket: small-ml-tfstate}
network: {subnet_cidr: 10.20.0.0/20, pods_cidr: 10.24.0.0/14, services_cidr: 10.20.16.0/20}
teams:
  - name: serving
inference:
  - name: embed
    team: serving
    image: us-docker.pkg.dev/small-ml-images/serving/embed:1.0
    cpu: "1"
    memory: 4Gi
    autoscaling:
      cpu_utilization: 70
      external_metric: pubsub.googleapis.com|subscription|num_undelivered_messages
      external_target: 50
"""


def test_a_team_cannot_take_the_adapter_namespace():
    from gkeml.config import ConfigError
    from gkeml.environments import parse_environment

    renamed = SCALED_ON_A_BACKLOG.replace("name: serving", "name: custom-metrics").replace(
        "team: serving", "team: custom-metrics"
    )
    with pytest.raises(ConfigError) as err:
        parse_environment(renamed, "small.yaml")
    assert str(err.value) == (
        "small.yaml:8: teams[0].name: 'custom-metrics' is the namespace of the metrics adapter "
        "an external_metric needs; name the team differently"
    )
    cpu_only = renamed.replace(
        "      external_metric: pubsub.googleapis.com|subscription|num_undelivered_messages\n"
        "      external_target: 50\n",
        "",
    )
    assert parse_environment(cpu_only, "small.yaml").teams[0].name == "custom-metrics"  # no adapter: no conflict


# --- what is installed ----------------------------------------------------------------------------


def needing(stacks):
    return [env for env in ALL_ENVS if reads_a_metrics_api(stacks, env)]


def test_the_image_is_the_pinned_one_and_the_cluster_admits_it(stacks, environments):
    from gkeml.config.images import image_admission_problem

    for env in needing(stacks):
        deployment = adapter_objects(stacks, env)[f"Deployment/{platform.METRICS_ADAPTER_KSA}"]
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert container["image"] == "gcr.io/gke-release/custom-metrics-stackdriver-adapter:v0.16.9-gke.0"
        assert container["image"] == platform.METRICS_ADAPTER_PINNED_IMAGE
        assert image_admission_problem(environments[env], container["image"]) is None


def test_the_api_services_route_to_the_adapter_service_and_its_pods(stacks):
    for env in needing(stacks):
        objects = adapter_objects(stacks, env)
        service = objects[f"Service/{platform.METRICS_ADAPTER_KSA}"]
        deployment = objects[f"Deployment/{platform.METRICS_ADAPTER_KSA}"]
        pod = deployment["spec"]["template"]
        (container,) = pod["spec"]["containers"]
        assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
        ports = {p["port"]: p["targetPort"] for p in service["spec"]["ports"]}
        container_ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        for name in ADAPTER_APIS:
            api = objects[f"APIService/{name}"]["spec"]
            assert name == f"{api['version']}.{api['group']}"
            assert (api["service"]["name"], api["service"]["namespace"]) == (
                service["metadata"]["name"],
                service["metadata"]["namespace"],
            )
            target = ports[api["service"].get("port", 443)]
            assert container_ports[target] == int(
                next(a.split("=", 1)[1] for a in container["command"] if a.startswith("--secure-port="))
            )


def test_the_adapter_pod_is_hardened_and_passes_the_checks(stacks):
    from gkeml.rules import check

    for env in needing(stacks):
        objects = adapter_objects(stacks, env)
        assert not check(
            list(objects.values())
            + [
                o
                for o in manifests(stacks, env).values()
                if o["kind"] in ("ClusterRole", "ClusterRoleBinding", "RoleBinding")
            ]
        )
        namespace = objects[f"Namespace/{platform.METRICS_ADAPTER_NAMESPACE}"]
        assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] in ("baseline", "restricted")
        spec = objects[f"Deployment/{platform.METRICS_ADAPTER_KSA}"]["spec"]["template"]["spec"]
        (container,) = spec["containers"]
        security = container["securityContext"]
        assert spec["securityContext"]["runAsNonRoot"] and spec["securityContext"]["runAsUser"] != 0
        assert security == {
            **security,
            "runAsNonRoot": True,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        }
        assert container["resources"]["requests"] == container["resources"]["limits"]
        # the only thing it writes, its self-signed certificate, goes to a writable volume
        cert_dir = next(a.split("=", 1)[1] for a in container["command"] if a.startswith("--cert-dir="))
        writable = {
            m["mountPath"]
            for m in container["volumeMounts"]
            if next(v for v in spec["volumes"] if v["name"] == m["name"]).get("emptyDir") is not None
        }
        assert any(cert_dir.startswith(path + "/") for path in writable)
        # an unprivileged port: no NET_BIND_SERVICE needed
        assert all(p["containerPort"] >= 1024 for p in container["ports"])


def test_its_namespace_denies_ingress_but_to_the_adapter_port(stacks):
    for env in needing(stacks):
        objects = adapter_objects(stacks, env)
        policies = [o["spec"] for o in objects.values() if o["kind"] == "NetworkPolicy"]
        assert {"podSelector": {}, "policyTypes": ["Ingress"]} in policies
        allowed = [rule for p in policies for rule in p.get("ingress", [])]
        (container,) = objects[f"Deployment/{platform.METRICS_ADAPTER_KSA}"]["spec"]["template"]["spec"]["containers"]
        assert allowed == [{"ports": [{"protocol": "TCP", "port": p["containerPort"]} for p in container["ports"]]}]


# --- Workload Identity ----------------------------------------------------------------------------


def test_the_adapter_identity_reads_monitoring_once_the_cluster_made_the_pool(stacks, environments):
    from gkeml.config.roles import CI_GRANTABLE_ROLES

    for env in needing(stacks):
        cloud = stacks[env]
        graph = dependency_graph(cloud)
        (name,) = [
            n
            for n, b in cloud["resource"]["google_project_iam_member"].items()
            if b["member"] == adapter_member(environments[env])
        ]
        binding = cloud["resource"]["google_project_iam_member"][name]
        assert binding["role"] == "roles/monitoring.viewer" and binding["project"] == environments[env].project.id
        assert binding["role"] in CI_GRANTABLE_ROLES
        (cluster,) = cloud["resource"]["google_container_cluster"]
        assert f"google_container_cluster.{cluster}" in ancestors(graph, f"google_project_iam_member.{name}")


# --- order ----------------------------------------------------------------------------------------


def test_workloads_come_after_the_adapter_and_go_before_it(stacks, environments):
    """Terraform destroys in the reverse order of dependencies: a team object that waits for the
    APIServices is deleted before them, and the APIServices before the adapter's pods."""
    for env in needing(stacks):
        teams = {t.name for t in environments[env].teams}
        stack = stacks[f"{env}-k8s"]
        graph = dependency_graph(stack)
        objects = manifests(stacks, env)
        apis = {a for a, o in objects.items() if o["kind"] == "APIService"}
        (deployment,) = [
            a
            for a, o in objects.items()
            if o["kind"] == "Deployment" and o["metadata"]["namespace"] == platform.METRICS_ADAPTER_NAMESPACE
        ]
        assert stack["resource"]["kubernetes_manifest"][deployment.split(".", 1)[1]]["wait"] == {"rollout": True}
        for api in apis:
            assert deployment in ancestors(graph, api)
        team_objects = [a for a, o in objects.items() if o["metadata"].get("namespace", o["metadata"]["name"]) in teams]
        assert {"Namespace", "HorizontalPodAutoscaler", "Deployment"} <= {objects[a]["kind"] for a in team_objects}
        for address in team_objects:
            assert apis <= ancestors(graph, address), address


def test_the_config_and_the_built_autoscalers_agree_on_needing_the_adapter(environments):
    """The cloud layer (grant, image allowlist) asks the config; the in-cluster layer looks at the HPAs it
    built: both must give the same answer for every autoscaling signal."""
    from gkeml.manifests.metrics_adapter import uses_metrics_adapter
    from gkeml.manifests.workloads import InferenceManifests

    for env in environments.values():
        for svc in env.inference:
            for update in (
                {},
                {"cpu_utilization": None, "memory_utilization": 80},
                {"external_metric": "custom.googleapis.com|queue_depth", "external_target": 5},
            ):
                scaled = svc.model_copy(update={"autoscaling": svc.autoscaling.model_copy(update=update)})
                hpa = InferenceManifests(env, scaled).autoscaler()
                assert [m["type"] for m in hpa["spec"]["metrics"]] == scaled.autoscaling.metric_types
                changed = env.model_copy(update={"inference": [scaled]})
                assert changed.needs_metrics_adapter is uses_metrics_adapter([hpa])
