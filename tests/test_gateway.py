"""GKE's Gateway and GKE Inference Gateway (``endpoints[].exposure``), read from the real synthesized stacks of the
fixture environments (stage: an LLM service behind GKE Inference Gateway; live: an endpoint moving from its Ingress
to GKE's Gateway, DNS already on the Gateway): every object validates against its CRD at the pinned versions
(tests/gateway_crd.py), the Gateways name the cloud layer's IPs and certificates, the pool selects the model server,
and a move from the Ingress takes its steps with no outage."""

from __future__ import annotations

import copy
import re

import gateway_crd
import jsonschema
import pytest
import yaml
from conftest import ENVIRONMENTS, PROD, STAGING, resources

from gkeml import platform
from gkeml import platform_serving as serving
from gkeml.config import ConfigError
from gkeml.config.exposure import (
    GATEWAY,
    INGRESS,
    dns_exposure,
    kept_exposures,
    served_exposures,
)
from gkeml.config.serving_model import pod_requests
from gkeml.environments import parse_environment
from gkeml.lifecycle.order import order_problems
from gkeml.lifecycle.transitions import _cloud_names, _ingress_references, transition_problems
from gkeml.manifests.gateway import inference_objective_crd, picker_name
from gkeml.manifests.workloads import in_cluster_plan
from gkeml.naming import Names
from gkeml.rules import check

pytestmark = pytest.mark.synth


def k8s_objects(stacks: dict, env: str) -> list[dict]:
    return [m["manifest"] for m in resources(stacks[f"{env}-k8s"], "kubernetes_manifest")]


def of_kind(stacks: dict, env: str, kind: str) -> list[dict]:
    return [o for o in k8s_objects(stacks, env) if o["kind"] == kind]


def chart_objects(stacks: dict, env: str) -> list[dict]:
    """The objects gkeml's local inference-objectives chart applies (its releases' values)."""
    return [
        obj
        for release in resources(stacks[f"{env}-k8s"], "helm_release")
        if release["name"] == "inference-objectives"
        for obj in yaml.safe_load(release["values"][0])["objects"]
    ]


def named(stack: dict, rtype: str) -> dict[str, tuple[str, dict]]:
    """name -> (logical id, body) of the resources of ``rtype``."""
    return {body["name"]: (lid, body) for lid, body in stack["resource"].get(rtype, {}).items()}


# --- every object against its CRD ---------------------------------------------------------------------------


def test_every_gateway_object_validates_against_its_crd_at_the_pinned_version(stacks, environments):
    seen: set[str] = set()
    for env in environments.values():
        if f"{env.name}-k8s" not in stacks:
            continue
        for obj in k8s_objects(stacks, env.name) + chart_objects(stacks, env.name):
            if (obj["apiVersion"], obj["kind"]) in gateway_crd.SPECS:
                assert gateway_crd.problems(obj) == [], obj["metadata"]
                seen.add(obj["kind"])
    assert seen == {kind for _, kind in gateway_crd.SPECS}  # every kind is exercised by a fixture


def test_the_installed_inference_objective_crd_takes_the_objectives(stacks):
    """The CRD gkeml applies is the pinned release's schema: its objectives validate against it, and what that
    schema refuses is refused."""
    (crd,) = of_kind(stacks, STAGING, "CustomResourceDefinition")
    assert crd == inference_objective_crd()
    assert crd["metadata"]["annotations"] == {"inference.networking.k8s.io/bundle-version": "v1.5.0"}
    (version,) = crd["spec"]["versions"]
    assert (crd["spec"]["group"], version["name"]) == tuple(serving.INFERENCE_OBJECTIVE_API.split("/"))
    schema = version["schema"]["openAPIV3Schema"]
    objectives = chart_objects(stacks, STAGING)
    assert [o["spec"]["priority"] for o in objectives] == [10, -5]
    for obj in objectives:
        jsonschema.validate(obj, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**objectives[0], "spec": {"priority": 1}}, schema)  # poolRef is required


@pytest.mark.parametrize(
    ("kind", "change", "refused"),
    [
        ("Gateway", lambda o: o["spec"]["listeners"][0].update(tls={"mode": "Terminate"}), "tls must not be"),
        ("Gateway", lambda o: o["spec"]["listeners"][1]["tls"].pop("options"), "certificateRefs or options"),
        ("Gateway", lambda o: o["spec"]["listeners"].append(dict(o["spec"]["listeners"][0])), "must be unique"),
        ("HTTPRoute", lambda o: o["spec"]["rules"][0]["backendRefs"][0].update(kind="Service", group=""), "port"),
        ("HTTPRoute", lambda o: o["spec"].update(parentRef=[]), "Additional properties"),
        (
            "HealthCheckPolicy",
            lambda o: o["spec"]["default"]["config"]["httpHealthCheck"].pop("portSpecification"),
            "USE_SERVING_PORT",
        ),
        ("HealthCheckPolicy", lambda o: o["spec"]["default"].update(timeoutSec=3), "cannot exceed"),
        ("InferencePool", lambda o: o["spec"].update(appProtocol="http"), "appProtocol"),  # not in GKE's older CRD
        ("InferencePool", lambda o: o["spec"]["endpointPickerRef"].pop("port"), "port is required"),
        ("GCPBackendPolicy", lambda o: o["spec"]["default"].update(timeoutSec=0), "less than the minimum"),
    ],
)
def test_the_crd_schemas_refuse_what_the_crds_refuse(stacks, kind, change, refused):
    obj = copy.deepcopy(next(o for o in of_kind(stacks, STAGING, kind) if "redirect" not in o["metadata"]["name"]))
    change(obj)
    assert refused in " ".join(gateway_crd.problems(obj))


def test_the_schemas_are_for_the_pinned_versions():
    """When a pin moves, re-read the CRDs into tests/gateway_crd.py (its docstring names them)."""
    assert gateway_crd.INFERENCE_EXTENSION_VERSION == serving.INFERENCE_EXTENSION_VERSION
    assert gateway_crd.GATEWAY_API_BUNDLE in dict(serving.GATEWAY_API_BUNDLES).values()


# --- GKE's Gateway: the cloud layer's IP and certificate map, by name -----------------------------------------


def test_the_gateway_names_its_global_ip_and_certificate_map_and_dns_authorizes_every_certificate(stacks, environments):
    env = environments[PROD]
    endpoint = env.endpoint("embed")  # moving from its Ingress, DNS already on the Gateway
    names, cloud = Names.of(env), stacks[PROD]
    (gateway,) = of_kind(stacks, PROD, "Gateway")
    assert gateway["spec"]["gatewayClassName"] == serving.GATEWAY_CLASS_GLOBAL
    (address,) = gateway["spec"]["addresses"]
    assert address == {"type": "NamedAddress", "value": names.gateway_address("embed", GATEWAY)}
    addresses = named(cloud, "google_compute_global_address")
    assert addresses[address["value"]][1]["address_type"] == "EXTERNAL"
    certmap = gateway["metadata"]["annotations"][serving.CERTMAP_ANNOTATION]
    map_id, _ = named(cloud, "google_certificate_manager_certificate_map")[certmap]
    entries = {e["hostname"]: e for _, e in named(cloud, "google_certificate_manager_certificate_map_entry").values()}
    assert set(entries) == set(endpoint.served_hosts)  # a retired host keeps its certificate, not its entry
    certificates = named(cloud, "google_certificate_manager_certificate")
    authorizations = named(cloud, "google_certificate_manager_dns_authorization")
    for host in endpoint.certificate_hosts:
        cert_name = names.gateway_certificate("embed", GATEWAY, host)
        cert_id, cert = certificates[cert_name]
        auth_id, auth = authorizations[cert_name]
        assert cert["managed"]["domains"] == [host] and cert.get("location", "global") == "global"
        assert cert["managed"]["dns_authorizations"] == [
            f"${{google_certificate_manager_dns_authorization.{auth_id}.id}}"
        ]
        assert (auth["domain"], auth["type"]) == (host, serving.DNS_AUTHORIZATION_TYPE)
        # the zone holds the host: its CNAME is written beside the A record, so the certificate is issued
        # before any traffic reaches the Gateway
        cname = [
            r
            for r in resources(cloud, "google_dns_record_set")
            if f"google_certificate_manager_dns_authorization.{auth_id}.dns_resource_record" in r["name"]
        ]
        assert len(cname) == (1 if env.dns.contains(host) else 0)
        if host in entries:
            assert entries[host]["certificates"] == [f"${{google_certificate_manager_certificate.{cert_id}.id}}"]
            assert entries[host]["map"] == f"${{google_certificate_manager_certificate_map.{map_id}.name}}"
    (https,) = [lst for lst in gateway["spec"]["listeners"] if lst["protocol"] == "HTTPS"]
    assert "tls" not in https  # the certificate map serves it
    # DNS has moved (step dns-moved): the A record is the Gateway's IP, and the Ingress still answers on its own
    (record,) = [r for r in resources(cloud, "google_dns_record_set") if r["name"] == "embed.fx.example."]
    gateway_ip = addresses[address["value"]][0]
    assert record["rrdatas"] == [f"${{google_compute_global_address.{gateway_ip}.address}}"]
    assert [i["metadata"]["name"] for i in of_kind(stacks, PROD, "Ingress") if i["metadata"]["name"] == "embed"]


def test_routes_send_https_to_the_service_and_redirect_http(stacks, environments):
    env = environments[PROD]
    svc = next(s for s in env.inference if s.name == "embed")
    routes = {r["metadata"]["name"]: r["spec"] for r in of_kind(stacks, PROD, "HTTPRoute")}
    route, redirect = routes["embed-gateway"], routes["embed-gateway-https-redirect"]
    assert [p["sectionName"] for p in route["parentRefs"]] == ["https"]
    assert route["hostnames"] == env.endpoint("embed").served_hosts
    (rule,) = route["rules"]
    assert rule["backendRefs"] == [{"group": "", "kind": "Service", "name": "embed", "port": 80}]
    (service,) = [s for s in k8s_objects(stacks, PROD) if s["kind"] == "Service" and s["metadata"]["name"] == "embed"]
    assert 80 in [p["port"] for p in service["spec"]["ports"]]
    assert [p["sectionName"] for p in redirect["parentRefs"]] == ["http"]
    assert redirect["rules"][0]["filters"] == [
        {"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 301}}
    ]
    policies = {(o["kind"], o["metadata"]["name"]): o.get("spec") for o in k8s_objects(stacks, PROD)}
    check_policy = policies[("HealthCheckPolicy", "embed")]
    assert check_policy["targetRef"] == {"group": "", "kind": "Service", "name": "embed"}
    assert check_policy["default"]["config"]["httpHealthCheck"] == {
        "portSpecification": "USE_FIXED_PORT",
        "port": svc.probe.port,
        "requestPath": svc.probe.path,
    }
    assert policies[("GCPBackendPolicy", "embed")]["default"] == {"timeoutSec": 120}
    # the same timeout on the Ingress that still serves during the move
    assert policies[("BackendConfig", "embed")]["timeoutSec"] == 120


# --- GKE Inference Gateway: regional, a proxy-only subnet, the pool and its picker -------------------------------


def test_the_inference_gateway_is_regional_and_its_proxies_have_their_subnet(stacks, environments):
    env = environments[STAGING]
    names, cloud = Names.of(env), stacks[STAGING]
    (gateway,) = of_kind(stacks, STAGING, "Gateway")
    assert gateway["spec"]["gatewayClassName"] == serving.GATEWAY_CLASS_REGIONAL
    assert serving.CERTMAP_ANNOTATION not in gateway["metadata"].get("annotations", {})  # maps are global only
    (address,) = gateway["spec"]["addresses"]
    _, ip = named(cloud, "google_compute_address")[address["value"]]
    assert (ip["region"], ip["network_tier"], ip["address_type"]) == (env.project.region, "STANDARD", "EXTERNAL")
    (https,) = [lst for lst in gateway["spec"]["listeners"] if lst["protocol"] == "HTTPS"]
    certs = https["tls"]["options"][serving.CERT_MANAGER_CERTS_OPTION].split(",")
    certificates = named(cloud, "google_certificate_manager_certificate")
    assert [certificates[c][1]["managed"]["domains"] for c in certs] == [[h] for h in env.endpoint("chat").served_hosts]
    assert {certificates[c][1]["location"] for c in certs} == {env.project.region}
    assert not resources(cloud, "google_certificate_manager_certificate_map")
    subnets = {s["name"]: s for s in resources(cloud, "google_compute_subnetwork")}
    proxy = subnets[names.proxy_only_subnet]
    assert (proxy["purpose"], proxy["role"], proxy["ip_cidr_range"]) == (
        "REGIONAL_MANAGED_PROXY",
        "ACTIVE",
        str(env.network.proxy_only_cidr),
    )
    (rule,) = [f for f in resources(cloud, "google_compute_firewall") if f["name"] == names.firewall_allow_proxies]
    assert rule["source_ranges"] == [str(env.network.proxy_only_cidr)] and rule["allow"] == [{"protocol": "tcp"}]
    # the namespace admits the proxies (and Google's health checkers) to the model server and to its picker
    (policy,) = [
        p for p in of_kind(stacks, STAGING, "NetworkPolicy") if p["metadata"]["name"] == "allow-regional-load-balancers"
    ]
    (ingress,) = policy["spec"]["ingress"]
    assert str(env.network.proxy_only_cidr) in [b["ipBlock"]["cidr"] for b in ingress["from"]]
    assert {p["port"] for p in ingress["ports"]} >= {8080, serving.EPP_EXT_PROC_PORT}
    assert policy["spec"]["podSelector"]["matchExpressions"][0]["values"] == ["chat", picker_name("chat")]


def test_the_pool_selects_the_model_server_and_its_picker_is_hardened(stacks, environments):
    objects = {(o["kind"], o["metadata"]["name"]): o for o in k8s_objects(stacks, STAGING)}
    pool = objects[("InferencePool", "chat")]["spec"]
    server = objects[("Deployment", "chat")]["spec"]["template"]
    assert pool["selector"]["matchLabels"].items() <= server["metadata"]["labels"].items()
    assert [p["number"] for p in pool["targetPorts"]] == [
        p["containerPort"] for p in server["spec"]["containers"][0]["ports"]
    ]
    picker = pool["endpointPickerRef"]
    service = objects[("Service", picker["name"])]["spec"]
    assert picker["port"]["number"] in [p["port"] for p in service["ports"]]
    assert picker["failureMode"] == "FailOpen"
    deployment = objects[("Deployment", picker["name"])]["spec"]
    assert service["selector"].items() <= deployment["template"]["metadata"]["labels"].items()
    pod = deployment["template"]["spec"]
    (epp,) = pod["containers"]
    assert epp["image"] == f"{serving.EPP_IMAGE}:{serving.INFERENCE_EXTENSION_VERSION}"
    assert epp["args"][:6] == [
        "--pool-name",
        "chat",
        "--pool-namespace",
        "serving",
        "--pool-group",
        "inference.networking.k8s.io",
    ]
    assert pod["securityContext"]["runAsNonRoot"] and epp["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert epp["resources"]["requests"] == epp["resources"]["limits"] == {"cpu": "1", "memory": "2Gi"}
    assert deployment["strategy"] == {"type": "Recreate"} and deployment["replicas"] == 1
    role = objects[("Role", picker["name"])]
    assert {r for rule in role["rules"] for r in rule["resources"]} >= {"pods", "inferencepools", "inferenceobjectives"}
    binding = objects[("RoleBinding", picker["name"])]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": picker["name"], "namespace": "serving"}]
    config = yaml.safe_load(objects[("ConfigMap", picker["name"])]["data"][serving.EPP_PLUGINS_FILE])
    assert config["kind"] == "EndpointPickerConfig" and {p["type"] for p in config["plugins"]} >= {"queue-scorer"}
    route = objects[("HTTPRoute", "chat-inference-gateway")]["spec"]
    assert route["rules"][0]["backendRefs"] == [
        {"group": serving.INFERENCE_POOL_GROUP, "kind": "InferencePool", "name": "chat"}
    ]
    assert objects[("GCPBackendPolicy", "chat-pool")]["spec"]["default"]["timeoutSec"] == 300


def test_objectives_go_through_the_local_chart_after_their_established_crd(stacks):
    stack = stacks[f"{STAGING}-k8s"]
    assert not [o for o in k8s_objects(stacks, STAGING) if o["kind"] == "InferenceObjective"]  # unplannable
    manifests = stack["resource"]["kubernetes_manifest"]
    (crd_id,) = [k for k, m in manifests.items() if m["manifest"]["kind"] == "CustomResourceDefinition"]
    assert manifests[crd_id]["wait"] == {"condition": [{"status": "True", "type": "Established"}]}
    (pool_id,) = [k for k, m in manifests.items() if m["manifest"]["kind"] == "InferencePool"]
    (release,) = [r for r in resources(stack, "helm_release") if r["name"] == "inference-objectives"]
    assert release["namespace"] == "serving" and release["chart"].startswith("assets/")
    assert {f"kubernetes_manifest.{crd_id}", f"kubernetes_manifest.{pool_id}"} <= set(release["depends_on"])
    # the first-apply order check knows it: without the wait on the CRD, TF009
    unordered = copy.deepcopy(stack)
    (lid,) = [k for k, r in unordered["resource"]["helm_release"].items() if r["name"] == "inference-objectives"]
    unordered["resource"]["helm_release"][lid]["depends_on"] = [
        d for d in unordered["resource"]["helm_release"][lid]["depends_on"] if crd_id not in d
    ]
    found = [p for p in order_problems({"stage-k8s": unordered}) if p.fact.id == "TF009"]
    assert found and crd_id in found[0].fix


def test_the_quota_fit_check_counts_the_endpoint_picker(environments):
    """GKE025 adds the picker to what the namespace holds: a quota that fits the model server alone refuses it."""
    objects = copy.deepcopy(in_cluster_plan(environments[STAGING]).objects())
    (quota,) = [o for o in objects if o["kind"] == "ResourceQuota" and o["metadata"]["namespace"] == "serving"]
    # chat at its maximum: 3 replicas (a GPU service rolls out with no surge), each its server and, with a model,
    # the GCS FUSE sidecar of its weights; the picker needs 1 vCPU more
    chat = next(s for s in environments[STAGING].inference if s.name == "chat")
    cpu = f"{3 * pod_requests(chat)[0]:g}"
    quota["spec"]["hard"].update({"requests.cpu": cpu, "limits.cpu": cpu})
    without_picker = [o for o in objects if o["metadata"].get("name") != picker_name("chat")]
    assert not [f for f in check(without_picker) if f.rule == "GKE025"]
    found = [f for f in check(objects) if f.rule == "GKE025"]
    assert found and "requests.cpu" in " ".join(f.message for f in found)


# --- the move from the Ingress, step by step --------------------------------------------------------------------

LIVE = (ENVIRONMENTS / f"{PROD}.yaml").read_text()
EMBED = """    retired_hosts: [embed-v0.fx.example]  # its certificate kept a deploy longer, no longer served
    # moving from the Ingress to GKE's Gateway: DNS points at the Gateway, the Ingress still answers
    exposure: gateway
    migration: {previous: ingress, step: dns-moved}
    timeout_seconds: 120
"""


def live(exposure: str | None = None, step: str | None = None, previous: str = INGRESS):
    """The live fixture with endpoint embed at one step of a move (no exposure: the Ingress alone)."""
    lines = "    retired_hosts: [embed-v0.fx.example]\n"
    if exposure:
        lines += f"    exposure: {exposure}\n"
    if step:
        lines += f"    migration: {{previous: {previous}, step: {step}}}\n"
    assert EMBED in LIVE
    return parse_environment(LIVE.replace(EMBED, lines), f"{PROD}.yaml")


STEPS = [
    (None, None),  # the Ingress alone
    (GATEWAY, "serve-both"),  # the Gateway comes up beside it; DNS stays on the Ingress
    (GATEWAY, "dns-moved"),  # DNS on the Gateway; the Ingress answers clients that still resolve its address
    (GATEWAY, "retired"),  # the Ingress goes; its IP and certificates stay
    (GATEWAY, None),  # its IP and certificates go
]


class Clients:
    """What the hosts' clients meet over a sequence of deploys: each deploy applies the cloud stack (the A record
    moves) then the in-cluster stack (load balancers come and go); a client may keep the address it resolved
    before a deploy until after it; GCP refuses to delete what a deployed load balancer still names."""

    def __init__(self) -> None:
        self.serving: set[str] = set()  # the ways whose load balancer exists
        self.dns: str | None = None
        self.named: set[str] = set()  # what the deployed load balancers name (certificates, IPs)

    def deploy(self, env) -> list[str]:
        endpoint = env.endpoint("embed")
        problems = []
        names = Names.of(env)
        certs, ips = _cloud_names(env)
        deleted = self.named - set(certs) - set(ips)
        if deleted:
            problems.append(f"GCP refuses to delete {sorted(deleted)}: resourceInUseByAnotherResource")
        new_dns = dns_exposure(endpoint)
        if self.dns is not None and new_dns not in self.serving:  # after the cloud apply: nothing answers yet
            problems.append(f"DNS points at the {new_dns}, which does not serve yet")
        served = set(served_exposures(endpoint))
        if self.dns is not None and self.dns not in served:  # after the in-cluster apply: cached clients fail
            problems.append(f"the {self.dns} stopped serving while clients still resolve it")
        refs_certs, refs_ips = _ingress_references(env)
        self.named = {n for n in refs_certs | refs_ips if n.startswith(names.prefix) and "embed" in n}
        self.serving, self.dns = served, new_dns
        return problems


def test_the_move_to_the_gateway_in_steps_has_no_outage_and_passes_the_check():
    clients, said = Clients(), []
    envs = [live(exposure, step) for exposure, step in STEPS]
    for i, env in enumerate(envs):
        if i:
            said += [f"{p.transition.id}" for p in transition_problems(envs[i - 1], env) if p.severity == "error"]
        said += clients.deploy(env)
    assert said == []
    # and what each step keeps and serves
    ways = [(sorted(served_exposures(e.endpoint("embed"))), dns_exposure(e.endpoint("embed"))) for e in envs]
    assert ways == [
        ([INGRESS], INGRESS),
        ([GATEWAY, INGRESS], INGRESS),
        ([GATEWAY, INGRESS], GATEWAY),
        ([GATEWAY], GATEWAY),
        ([GATEWAY], GATEWAY),
    ]
    assert [sorted(kept_exposures(e.endpoint("embed"))) for e in envs][-2:] == [[GATEWAY, INGRESS], [GATEWAY]]


@pytest.mark.parametrize(
    ("before", "after", "refused"),
    [
        (0, 4, {"CHG001", "CHG002", "CHG005", "CHG006"}),  # the exposure switched at once
        (0, 2, {"CHG005"}),  # DNS moved to a Gateway that was not serving yet
        (1, 3, {"CHG006"}),  # the Ingress, where DNS pointed, removed in the deploy that moves DNS off it
        (2, 4, {"CHG001", "CHG002"}),  # the Ingress's certificates and IP deleted while it still holds them
    ],
)
def test_a_skipped_step_is_refused_and_would_break(before, after, refused):
    first, then = live(*STEPS[before]), live(*STEPS[after])
    found = {p.transition.id for p in transition_problems(first, then) if p.severity == "error"}
    assert found == refused
    clients = Clients()
    clients.deploy(first)
    assert clients.deploy(then)  # the simulated deploy meets the outage or refusal the check predicted
    problem = next(p for p in transition_problems(first, then) if p.transition.id in refused)
    assert problem.path[:2] == ("endpoints", 1) and ("migration" in problem.fix or "retired" in problem.fix)


def test_a_move_goes_back_the_same_way():
    """Back to the Ingress from the first step: DNS never left it, but the Gateway's certificate map and IP are
    named by the deployed Gateway, so it retires first (a migration the other way), then goes."""
    both = live(GATEWAY, "serve-both")
    (problem, *_) = [p for p in transition_problems(both, live()) if p.severity == "error"]
    assert "migration: {previous: gateway, step: retired}" in problem.fix
    back = live(INGRESS, "retired", previous=GATEWAY)
    assert dns_exposure(back.endpoint("embed")) == INGRESS
    assert not [p for p in transition_problems(both, back) if p.severity == "error"]
    assert not [p for p in transition_problems(back, live()) if p.severity == "error"]


# --- the config refuses what cannot work ------------------------------------------------------------------------

STAGE = (ENVIRONMENTS / f"{STAGING}.yaml").read_text()


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("  proxy_only_cidr: 10.40.32.0/23", "", "set network.proxy_only_cidr"),
        ("proxy_only_cidr: 10.40.32.0/23", "proxy_only_cidr: 10.40.32.0/27", "smaller than"),
        ("proxy_only_cidr: 10.40.32.0/23", "proxy_only_cidr: 10.40.0.0/23", "overlaps"),
        (
            "    exposure: inference-gateway",
            "    exposure: inference-gateway\n    migration: {previous: inference-gateway, step: serve-both}",
            "previous names the way it moves FROM",
        ),
        ("    exposure: inference-gateway", "    exposure: gateway", "does not serve through GKE Inference Gateway"),
        ("{name: batch, priority: -5}", "{name: interactive, priority: -5}", "listed twice"),
        (
            "    exposure: inference-gateway",
            "    exposure: cloud-run",
            "'gateway' or 'inference-gateway' (got 'cloud-run')",
        ),
    ],
)
def test_the_config_refuses_what_cannot_serve(old, new, message):
    assert old in STAGE
    with pytest.raises(ConfigError) as info:
        parse_environment(STAGE.replace(old, new, 1), f"{STAGING}.yaml")
    assert message in str(info.value)


def test_an_endpoint_serves_one_service():
    text = LIVE.replace("    endpoint: embed\n", "    endpoint: chat\n", 1)
    with pytest.raises(ConfigError, match=r"inference\[1\].endpoint: endpoint 'chat' already exposes inference\[0\]"):
        parse_environment(text, f"{PROD}.yaml")


def test_a_channel_whose_gke_installs_no_inference_pool_crd_is_refused(monkeypatch):
    older = platform.ChannelVersions("1.33", "1.34", "1.34.0-gke.1000000")
    monkeypatch.setitem(platform.CHANNEL_VERSIONS, "REGULAR", older)
    with pytest.raises(ConfigError) as info:
        parse_environment(STAGE, f"{STAGING}.yaml")
    assert re.search(
        r"endpoints\[\d+\]\.exposure: GKE Inference Gateway needs GKE 1\.34\.0-gke\.1626000 or later; release "
        r"channel REGULAR creates clusters at 1\.34\.0-gke\.1000000 .*: set cluster\.release_channel to RAPID",
        str(info.value),
    ), str(info.value)
    # GKE's Gateway alone is older than every channel: the Ingress and gateway fixtures still load
    parse_environment(LIVE, f"{PROD}.yaml")


# --- what the environment around the Gateways gets -------------------------------------------------------------


def test_the_bootstrap_enables_the_apis_and_the_policy_admits_the_picker(stacks, environments):
    from gkeml.config.apis import project_apis
    from gkeml.config.images import image_admission_problem, image_allowlist

    stage, live_env = environments[STAGING], environments[PROD]
    assert {serving.CERTIFICATE_MANAGER_API, serving.NETWORK_SERVICES_API} <= set(project_apis(stage))
    assert serving.CERTIFICATE_MANAGER_API in project_apis(live_env)
    assert serving.NETWORK_SERVICES_API not in project_apis(live_env)  # no Inference Gateway there
    declared = {s["service"] for s in resources(stacks[STAGING], "google_project_service")}
    assert {serving.CERTIFICATE_MANAGER_API, serving.NETWORK_SERVICES_API} <= declared
    assert stage.cluster.binary_authorization.mode == "enforce"
    picker = next(o for o in of_kind(stacks, STAGING, "Deployment") if o["metadata"]["name"] == picker_name("chat"))
    image = picker["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image_admission_problem(stage, image) is None and f"{serving.EPP_IMAGE}*" in image_allowlist(stage)
    assert f"{serving.EPP_IMAGE}*" not in image_allowlist(live_env)


def test_the_estimate_prices_each_way_and_the_picker(environments):
    from gkeml.cost import estimate, load_prices

    table = load_prices()
    stage = {i.key: i for i in estimate(environments[STAGING], table).items}
    assert "endpoint/chat" not in stage and stage["endpoint/chat/inference-gateway"].autopilot.low > 0
    assert "regional static IP" in stage["endpoint/chat/inference-gateway"].basis
    assert stage["inference/chat/endpoint-picker"].autopilot.low > 0
    live_items = {i.key: i for i in estimate(environments[PROD], table).items}
    assert {"endpoint/embed", "endpoint/embed/gateway", "certificates"} <= set(live_items)  # both during the move
    assert live_items["certificates"].autopilot.low == 0  # 2 certificates: inside the free allowance
