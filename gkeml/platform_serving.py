"""Platform facts of public serving beyond the Ingress: the Gateway API, Certificate Manager, Inference Gateway.

It covers GKE's Gateway controller (the Gateway API), Certificate Manager, and GKE Inference Gateway (the Gateway
API Inference Extension's InferencePool, its endpoint picker and InferenceObjective). A data module like
:mod:`gkeml.platform` (which imports what it needs from here): every name, class, version and port the serving code
writes, with the source it was read from and the date.

Sources, read 2026-12-05 (repositories at the commit named; GKE pages as stored copies, undated):

- GKE Gateway: cloud.google.com/kubernetes-engine/docs/how-to/gatewayclass-capabilities (the classes, the Gateway
  API version GKE installs per GKE version, "GKE Autopilot: 1.26 and later"), how-to/secure-gateway (certificate
  maps through the ``networking.gke.io/certmap`` annotation on global Gateways; "You cannot use the certmap
  annotation with a tls.certificateRefs on the same Gateway"; regional Gateways take Certificate Manager
  certificates by name in the listener option ``networking.gke.io/cert-manager-certs``: certificate maps are
  global only), how-to/deploying-gateways (``addresses: [{type: NamedAddress, value: <address name>}]``; regional
  classes need a proxy-only subnet).
- Gateway API CRDs: kubernetes-sigs/gateway-api v1.4.0 (5e5891a5) and v1.5.0 (3797b631),
  config/crd/standard/gateway.networking.k8s.io_{gateways,httproutes}.yaml.
- GKE's policy CRDs: GoogleCloudPlatform/gke-gateway-api @ fc40d606 (2026-04-29; tag v1.4.0 is a663dec0),
  config/crd/networking.gke.io_{healthcheckpolicies,gcpbackendpolicies}.yaml. Since 983ac3d a health check's
  ``port`` is refused unless ``portSpecification: USE_FIXED_PORT`` (the default, USE_SERVING_PORT, takes none),
  and ``timeoutSec`` may not exceed ``checkIntervalSec`` (cc17d26): gkeml writes what both the older and the
  newer CRD accept.
- Certificate Manager: hashicorp/terraform-provider-google @ e03b7622 (v7.45.0) and v6.50.0 (the version the
  cdktf bindings pin), google/services/certificatemanager/resource_certificate_manager_{dns_authorization,
  certificate,certificate_map,certificate_map_entry}.go: a DNS authorization's ``type`` is FIXED_RECORD or
  PER_PROJECT_RECORD (the default outside ``global``), its ``dns_resource_record`` is the CNAME to publish;
  ``location`` defaults to ``global``; every argument of a managed certificate forces replacement.
- GKE Inference Gateway: cloud.google.com/kubernetes-engine/docs/how-to/deploy-gke-inference-gateway ("GKE version
  1.32.3", "You must enable a proxy-only subnet", VPC-native clusters only; the Network Services API);
  kubernetes-sigs/gateway-api-inference-extension v1.5.0 (df9f8909, 2026-04-18): config/crd/bases (InferencePool
  ``inference.networking.k8s.io/v1``, InferenceObjective ``inference.networking.x-k8s.io/v1alpha2``),
  config/charts/inferencepool and config/charts/epplib (the endpoint picker's Deployment, Service, RBAC and
  plugin configuration, and the HealthCheckPolicy and GCPBackendPolicy it writes for ``provider.name: gke``),
  config/manifests/gateway/gke/gateway.yaml (class gke-l7-regional-external-managed), Dockerfile (the picker's
  image is gcr.io/distroless/static:nonroot). v1.6.0 (2026-08-10) moved the endpoint picker and
  InferenceObjective to llm-d/llm-d-inference-scheduler, which keeps InferenceObjective at v1alpha2 (its CRD at
  520af478 equals v1.5.0's): v1.5.0 is the last release of both in one place, and what the llm-d GKE guide
  (llm-d.ai/docs/resources/gateway/gke) and GoogleCloudPlatform/accelerated-platforms (9320f3b2,
  ``inference_gateway_version = "1.5.0"``) install. GKE installs the InferencePool CRD itself from
  1.34.0-gke.1626000 (the llm-d GKE guide; gkeml's review of 2026-12-04); InferenceObjective's it does not
  (accelerated-platforms applies it from the v1.5.0 tag).
- Regional external Application Load Balancer: cloud.google.com/load-balancing/pricing ("The regional external
  Application Load Balancer uses only the Standard Network Tier"); kubernetes/ingress-gce#2326 ("Regional External
  LB only supports Standard Network Tier"); cloud.google.com/load-balancing/docs/proxy-only-subnets (64 addresses
  or more: a /26 or larger; one active REGIONAL_MANAGED_PROXY subnet per VPC and region; no flow logs).
"""

from __future__ import annotations

CHECKED_ON = "2026-12-05"

# --- GKE Gateway ----------------------------------------------------------------------------------
GATEWAY_API_GROUP = "gateway.networking.k8s.io"
GATEWAY_API = f"{GATEWAY_API_GROUP}/v1"
# The GatewayClasses gkeml uses: a global external Application Load Balancer (Google Front Ends, Premium tier)
# and a regional one (Envoy proxies in the region's proxy-only subnet, Standard tier), the class GKE Inference
# Gateway is documented and conformance-tested with (conformance/reports/v0.5.0/gateway/gke-gateway).
GATEWAY_CLASS_GLOBAL = "gke-l7-global-external-managed"
GATEWAY_CLASS_REGIONAL = "gke-l7-regional-external-managed"
# The Gateway API GKE installs with gateway_api_config CHANNEL_STANDARD, by the cluster's version (new clusters
# and upgrades): (from GKE version, bundle). gkeml writes only fields of gateway.networking.k8s.io/v1 present in
# every bundle from v1.4.0 (the oldest a cluster of the channels' oldest minor, 1.34, can run).
GATEWAY_API_BUNDLES: tuple[tuple[str, str], ...] = (
    ("1.35.2-gke.1842000", "v1.5.0"),
    ("1.34.1-gke.1822000", "v1.4.0"),
    ("1.33.2-gke.1335000", "v1.3.0"),
    ("1.32.2-gke.1475000", "v1.2.0"),
)
GATEWAY_API_MIN_GKE_VERSION = "1.26"  # Autopilot
# A global Gateway takes its certificates from a Certificate Manager certificate map (an annotation); a regional
# one from Certificate Manager certificates named in its HTTPS listener's TLS options.
CERTMAP_ANNOTATION = "networking.gke.io/certmap"
CERT_MANAGER_CERTS_OPTION = "networking.gke.io/cert-manager-certs"
# GKE's own policy kinds, installed with the Gateway API (gke-gateway-api config/crd)
GKE_POLICY_API = "networking.gke.io/v1"
# A health check's port is written with this specification (the only one under which both CRD versions take one)
HEALTH_CHECK_FIXED_PORT = "USE_FIXED_PORT"

# --- Certificate Manager ---------------------------------------------------------------------------
CERTIFICATE_MANAGER_API = "certificatemanager.googleapis.com"
# DNS authorization: a CNAME under the host proves control of it, so the certificate is issued BEFORE the host's
# A record points at the new load balancer (a load-balancer authorization needs the A record first, as a Compute
# managed SSL certificate does). Per-project records let two projects (staging and prod) authorize one domain.
DNS_AUTHORIZATION_TYPE = "PER_PROJECT_RECORD"
CERTIFICATE_SCOPE = "DEFAULT"
GLOBAL_LOCATION = "global"

# --- regional load balancers --------------------------------------------------------------------------
REGIONAL_LB_NETWORK_TIER = "STANDARD"
PROXY_ONLY_SUBNET_PURPOSE = "REGIONAL_MANAGED_PROXY"
PROXY_ONLY_SUBNET_ROLE = "ACTIVE"
PROXY_ONLY_SUBNET_MAX_PREFIX = 26  # at least 64 addresses
NETWORK_SERVICES_API = "networkservices.googleapis.com"

# --- GKE Inference Gateway (Gateway API Inference Extension) ------------------------------------------------
INFERENCE_EXTENSION_VERSION = "v1.5.0"
INFERENCE_EXTENSION_COMMIT = "df9f8909fe06fe2dfd4a6fc0bd0c01a0acabf849"
INFERENCE_POOL_GROUP = "inference.networking.k8s.io"
INFERENCE_POOL_API = f"{INFERENCE_POOL_GROUP}/v1"
INFERENCE_OBJECTIVE_GROUP = "inference.networking.x-k8s.io"
INFERENCE_OBJECTIVE_API = f"{INFERENCE_OBJECTIVE_GROUP}/v1alpha2"
INFERENCE_OBJECTIVE_CRD = f"inferenceobjectives.{INFERENCE_OBJECTIVE_GROUP}"
INFERENCE_GATEWAY_MIN_GKE_VERSION = "1.32.3"  # the GKE Gateway controller serves InferencePools
INFERENCE_POOL_CRD_MIN_GKE_VERSION = "1.34.0-gke.1626000"  # ... and installs their CRD: gkeml relies on it
# The request header that names an InferenceObjective (pkg/epp/metadata/consts.go ObjectiveKey,
# site-src/api-types/inferenceobjective.md at v1.5.0); a request without one runs at priority 0
INFERENCE_OBJECTIVE_HEADER = "x-gateway-inference-objective"

# The endpoint picker (EPP): config/charts/epplib/templates/_deployment.yaml, _service.yaml, _rbac.yaml,
# _leader-election-rbac.yaml, _config.yaml and config/charts/inferencepool/values.yaml at v1.5.0.
EPP_IMAGE = "registry.k8s.io/gateway-api-inference-extension/epp"
EPP_EXT_PROC_PORT = 9002  # gRPC ext_proc, called by the load balancer's proxies
EPP_HEALTH_PORT = 9003  # gRPC health
EPP_METRICS_PORT = 9090
EPP_HEALTH_SERVICE = "inference-extension"  # one replica; with leader election: liveness / readiness
EPP_HA_HEALTH_SERVICES = {"livenessProbe": "liveness", "readinessProbe": "readiness"}
EPP_TERMINATION_GRACE_SECONDS = 130  # "should mirror the longest grace period of the pods within the pool"
EPP_DEFAULT_CPU = "4"  # the chart's requests, "validated with scale testing at high QPS"
EPP_DEFAULT_MEMORY = "8Gi"
EPP_PLUGINS_FILE = "default-plugins.yaml"
EPP_FAILURE_MODE = "FailOpen"  # the chart's: with the picker down, the load balancer still routes
EPP_VERBOSITY = 1
# The model servers the picker reads metrics of: extra flags for each (vLLM's are the picker's defaults).
MODEL_SERVER_FLAGS: dict[str, tuple[str, ...]] = {
    "vllm": (),
    "sglang": (
        '--total-queued-requests-metric="sglang:num_queue_reqs"',
        '--total-running-requests-metric="sglang:num_running_reqs"',
        '--kv-cache-usage-percentage-metric="sglang:token_usage"',
        '--cache-info-metric="sglang:cache_config_info"',
    ),
    "triton-tensorrt-llm": (
        "--total-queued-requests-metric",
        "nv_trt_llm_request_metrics{request_type=waiting}",
        "--total-running-requests-metric",
        "nv_trt_llm_request_metrics{request_type=scheduled}",
        "--kv-cache-usage-percentage-metric",
        "nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type=fraction}",
        "--lora-info-metric",
        "",
    ),
    "trtllm-serve": (
        '--total-queued-requests-metric="trtllm_num_requests_waiting"',
        '--total-running-requests-metric="trtllm_num_requests_running"',
        '--kv-cache-usage-percentage-metric="trtllm_kv_cache_utilization"',
        '--cache-info-metric="trtllm_cache_config_info"',
        '--model-server-metrics-path="/prometheus/metrics"',
        "--lora-info-metric",
        "",
    ),
}
MODEL_SERVERS = tuple(MODEL_SERVER_FLAGS)


def epp_plugins_config(model_server: str) -> str:
    """The picker's EndpointPickerConfig for an HTTP model server (the chart's default-plugins.yaml): queue,
    KV-cache and prefix-cache scorers over the server's /metrics."""
    engine = "" if model_server == "vllm" else f"\n  parameters:\n    defaultEngine: {model_server!r}".replace("'", '"')
    return (
        "apiVersion: inference.networking.x-k8s.io/v1alpha1\n"
        "kind: EndpointPickerConfig\n"
        "plugins:\n"
        "- type: queue-scorer\n"
        "- type: kv-cache-utilization-scorer\n"
        "- type: prefix-cache-scorer\n"
        "- type: metrics-data-source\n"
        "  parameters:\n"
        '    scheme: "http"\n'
        '    path: "/metrics"\n'
        "    insecureSkipVerify: true\n"
        f"- type: core-metrics-extractor{engine}\n"
        "schedulingProfiles:\n"
        "- name: default\n"
        "  plugins:\n"
        "  - pluginRef: queue-scorer\n"
        "    weight: 2\n"
        "  - pluginRef: kv-cache-utilization-scorer\n"
        "    weight: 2\n"
        "  - pluginRef: prefix-cache-scorer\n"
        "    weight: 3\n"
    )


# What the chart writes for provider.name: gke (inferencepool/templates/gke.yaml): a fast health check, for quick
# switch-over while the picker rolls out, and a backend timeout long enough for a generation.
INFERENCE_HEALTH_CHECK_SECONDS = 2
INFERENCE_BACKEND_TIMEOUT_SECONDS = 300
