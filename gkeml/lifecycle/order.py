"""First-apply order and time: what Terraform must have created, and how long before, for each
resource to be created.

Terraform creates resources in parallel, in any order its graph (:mod:`gkeml.lifecycle.graph`)
allows. Some things exist only after others do (TF001-TF004, TF009), and some exist at once but are
usable only some time later (TF005-TF008: a delay, with the remedies the checks accept); nothing
in the JSON says so unless gkeml writes the dependency or the wait. Each such fact is data
(:data:`FACTS`, with its source and the date it was checked), and :func:`order_problems` checks
every synthesized stack against all of them; TF008 spans two stacks and is checked by the deploy
sequence (:mod:`gkeml.lifecycle.sequence`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from gkeml import platform
from gkeml.lifecycle.graph import ancestors, blocks, dependency_graph, references
from gkeml.lifecycle.timing import durations, gap
from gkeml.registry import ERROR, ORDER, TIMING, Check, Finding, register
from gkeml.stackfile import read_stack


@dataclass(frozen=True)
class Fact(Check):
    """Something that exists only after something else (kind :data:`~gkeml.registry.ORDER`), or is usable
    only some time after it exists (``delay_seconds``, kind :data:`~gkeml.registry.TIMING`), where that is
    documented (``source``, checked on ``checked``), and what the checks accept as a remedy."""

    delay_seconds: int = 0
    remedies: tuple[str, ...] = ()


def _fact(
    fact_id: str,
    title: str,
    help: str,
    source: str,
    inspects: tuple[str, ...],
    checked: str = "2026-11-30",
    delay_seconds: int = 0,
    remedies: tuple[str, ...] = (),
) -> Fact:
    """Register a first-apply fact: a timing fact when it names remedies (its help lists them), else an order fact."""
    if remedies:
        help = f"{help} Accepted: {'; '.join(remedies)}."
    fact = Fact(
        fact_id,
        TIMING if remedies else ORDER,
        ERROR,
        title,
        help,
        source,
        inspects=inspects,
        checked=checked,
        delay_seconds=delay_seconds,
        remedies=remedies,
    )
    register(fact)
    return fact


@dataclass(frozen=True)
class OrderProblem:
    """A resource that may be created before what it needs exists."""

    fact: Fact
    stack: str
    address: str
    message: str
    fix: str


FACTS = {
    "TF001": _fact(
        "TF001",
        "a Workload Identity member exists only once a cluster has created the pool",
        "A resource that names a Workload Identity member (PROJECT.svc.id.goog) in a stack that creates a cluster "
        "must wait for the cluster (depends_on): the first apply creates the pool with it.",
        "PROJECT.svc.id.goog is created with the project's first Workload Identity cluster; before that, "
        "IAM answers 'Identity Pool does not exist' (terraform-google-modules/terraform-google-"
        "kubernetes-engine#916, googleforgames/global-multiplayer-demo#39)",
        inspects=(),
    ),
    "TF002": _fact(
        "TF002",
        "a Google resource exists only once its API is enabled",
        "A Google resource must wait for the google_project_service of its stack that enables its API "
        "(gkeml.platform.RESOURCE_APIS says which API serves which type).",
        "cloud.google.com/service-usage/docs/enable-disable: a disabled API answers 403 SERVICE_DISABLED",
        inspects=("google_*",),
    ),
    "TF003": _fact(
        "TF003",
        "a namespaced Kubernetes object exists only once its namespace does",
        "A namespaced kubernetes_manifest, or a helm_release that does not create its namespace, must be in a "
        "namespace its stack creates (or a system namespace), and wait for it.",
        "kubernetes.io/docs/concepts/overview/working-with-objects/namespaces: creating an object in a "
        "missing namespace is refused (NotFound)",
        inspects=("kubernetes_manifest", "helm_release"),
    ),
    "TF004": _fact(
        "TF004",
        "the cluster's nodes need their service account's role before they start",
        f"The cluster must wait for the grant of {platform.NODE_SERVICE_ACCOUNT_ROLE} to its nodes' service account.",
        "cloud.google.com/kubernetes-engine/docs/how-to/service-accounts: nodes run as the service "
        "account with roles/container.defaultNodeServiceAccount",
        inspects=("google_container_cluster",),
    ),
    "TF005": _fact(
        "TF005",
        "an alert policy on a log-based metric is refused for up to 10 minutes after the metric is created",
        "An alert policy on a log-based metric the same apply creates must be created at least "
        f"{platform.LOG_METRIC_VISIBLE_SECONDS} s after the metric.",
        "AlertPolicies.create answers 404 'Cannot find metric(s) ... could take up to 10 minutes to become "
        "available'; the google provider retries only 409 there (hashicorp/terraform-provider-google#11102, "
        "GoogleCloudPlatform/cloud-foundation-fabric#3739; v7.33.0 resource_monitoring_alert_policy.go)",
        inspects=("google_monitoring_alert_policy",),
        checked="2026-12-04",
        delay_seconds=platform.LOG_METRIC_VISIBLE_SECONDS,
        remedies=(
            f"a time_sleep of at least {platform.LOG_METRIC_VISIBLE_SECONDS}s between the metric and the alert "
            "(gkeml's runs beside the cluster's creation)",
            "the metric created by an earlier apply",
        ),
    ),
    "TF006": _fact(
        "TF006",
        "an API enabled in an apply may answer SERVICE_DISABLED for minutes after",
        "The first user of an API the same apply enables must be created at least "
        f"{platform.API_PROPAGATION_SECONDS} s after it is enabled.",
        "the error itself: 'If you enabled this API recently, wait a few minutes for the action to propagate "
        "to our systems and retry'; the google provider does not retry it (hashicorp/terraform-provider-"
        "google#10510, terraform-google-modules/terraform-google-project-factory#753; v7.33.0 "
        "transport/error_retry_predicates.go)",
        inspects=("google_*",),
        checked="2026-12-04",
        delay_seconds=platform.API_PROPAGATION_SECONDS,
        remedies=(
            "the API enabled by the bootstrap stack, applied before the first deploy (gkeml's: every API of "
            "gkeml/config/apis.py project_apis)",
            f"a time_sleep of at least {platform.API_PROPAGATION_SECONDS}s between enabling the API and its "
            "first user (the bootstrap stack's own)",
        ),
    ),
    "TF007": _fact(
        "TF007",
        "a service agent created by an apply may be unknown to IAM for a minute or more",
        "A grant naming a service agent the same apply creates (gkeml.lifecycle.order.SERVICE_AGENT_CREATORS) "
        f"must be created at least {platform.IAM_IDENTITY_VISIBLE_SECONDS} s after what creates the agent.",
        "cloud.google.com/iam/docs/service-accounts-create: 'you might need to wait for 60 seconds or more "
        "before you use the service account'; setIamPolicy then answers 400 'Service account ... does not "
        "exist', which the google provider does not retry (v7.33.0 google/tpgiamresource/iam.go "
        "iamPolicyReadModifyWrite). A google_service_account is exempt: its Create polls until the account "
        "is found and sleeps 10 s more (resource_google_service_account.go)",
        inspects=("*_iam_member", "*_iam_binding", "*_iam_policy"),
        checked="2026-12-04",
        delay_seconds=platform.IAM_IDENTITY_VISIBLE_SECONDS,
        remedies=(
            f"a time_sleep of at least {platform.IAM_IDENTITY_VISIBLE_SECONDS}s between what creates the agent "
            "and the grant naming it (gkeml's runs beside the cluster's creation)",
            "the agent created by an earlier apply",
        ),
    ),
    "TF008": _fact(
        "TF008",
        "the custom resource kinds GKE installs in a cluster are served some time after the cluster is created",
        "The in-cluster stack is planned only once the cluster serves every kind GKE installs that it plans; the "
        "deploy sequence checks it (gkeml.lifecycle.sequence), across the two stacks.",
        "kubernetes_manifest needs an object's kind at plan time (terraform-provider-kubernetes manifest "
        "docs); GKE installs ComputeClass, BackendConfig, FrontendConfig, ManagedCertificate and the Secret "
        "Manager add-on's SecretProviderClass and SecretSync itself, and no document says the cluster's "
        "creation waits for them (cloud.google.com/secret-manager/docs/sync-k8-secrets, "
        "concepts/about-custom-compute-classes); the lag is unmeasured",
        inspects=("kubernetes_manifest",),
        checked="2026-12-04",
        remedies=(
            "the deploy waits until the cluster serves every such kind the in-cluster stack plans "
            "(`make deploy` runs `gkeml wait-kinds ENV` between the two stacks)",
        ),
    ),
    "TF009": _fact(
        "TF009",
        "objects of a custom kind exist only once the kind's CRD, applied by the same stack, is established",
        "An object whose kind's CRD the same stack applies (the Gateway API's, the Inference Gateway's) is applied "
        "only once that CRD is Established.",
        "the API server serves a CRD's kind only once the CRD is Established (kubernetes.io/docs/tasks/extend-"
        "kubernetes/custom-resources/custom-resource-definitions: 'it might take a few seconds for the endpoint to "
        "be created'); Helm refuses a release whose kinds the cluster does not serve ('resource mapping not "
        "found', helm/helm pkg/action/install.go), and kubernetes_manifest looks a kind up at plan time, so a "
        "kubernetes_manifest of such a kind cannot be planned at all on the first apply",
        inspects=("kubernetes_manifest", "helm_release"),
        checked="2026-12-05",
        remedies=(
            "the objects in a helm_release that depends on the CRD's kubernetes_manifest (gkeml's local charts), "
            "whose wait block waits for the condition Established",
        ),
    ),
}

# Service agents that gkeml's stacks name in grants, and the resource whose creation creates each (Google
# creates them, not a call of gkeml's): member pattern -> (resource type, attributes it has).
# cloud.google.com/monitoring/support/notification-options#pubsub (checked 2026-12-04): the Monitoring
# notification service agent is created with the project's first Pub/Sub notification channel.
SERVICE_AGENT_CREATORS: dict[str, tuple[str, dict[str, str]]] = {
    r"^serviceAccount:service-[0-9]+@gcp-sa-monitoring-notification\.iam\.gserviceaccount\.com$": (
        "google_monitoring_notification_channel",
        {"type": "pubsub"},
    ),
}
# a log-based metric as Cloud Monitoring names it in a filter (cloud.google.com/logging/docs/logs-based-metrics)
LOG_METRIC_TYPE = re.compile(r"logging\.googleapis\.com/user/([A-Za-z0-9_./-]+)")
IAM_RESOURCE = re.compile(r"_iam_(member|binding|policy)$")

# What an apply makes usable some time after it creates it: (kind, name), e.g. ("api", "dns.googleapis.com").
Event = tuple[str, str]
API, LOG_METRIC, AGENT = "api", "log metric", "service agent"
EVENT_FACTS = {API: "TF006", LOG_METRIC: "TF005", AGENT: "TF007"}


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _workload_identity_pool(stack: str, conf: dict, rtype: str, address: str, found: dict) -> Iterator[OrderProblem]:
    if rtype == "google_container_cluster" or address.startswith(("data.", "ephemeral.")):
        return
    if not any(".svc.id.goog" in s for s in _strings({k: v for k, v in conf.items() if k != "//"})):
        return
    clusters = found["clusters"]
    if not clusters:
        return  # no cluster in this stack: the pool comes from elsewhere (another stack applied before)
    if not clusters & found["ancestors"](address):
        yield OrderProblem(
            FACTS["TF001"],
            stack,
            address,
            f"{address} names a Workload Identity member but does not wait for the cluster",
            f"add depends_on: {sorted(clusters)[0]} (the cluster creates the identity pool)",
        )


def _api_enabled(stack: str, conf: dict, rtype: str, address: str, found: dict) -> Iterator[OrderProblem]:
    api = platform.resource_api(rtype, found["resource_apis"])
    enabling = found["apis"].get(api or "")
    if api is None or rtype == "google_project_service" or address.startswith(("data.", "ephemeral.")) or not enabling:
        return
    if enabling not in found["ancestors"](address):
        yield OrderProblem(
            FACTS["TF002"],
            stack,
            address,
            f"{address} may be created before {api} is enabled",
            f"add depends_on: {enabling}",
        )


def _namespace_exists(stack: str, conf: dict, rtype: str, address: str, found: dict) -> Iterator[OrderProblem]:
    if rtype == "kubernetes_manifest":
        meta = (conf.get("manifest") or {}).get("metadata") or {}
        namespace = meta.get("namespace")
    elif rtype == "helm_release" and not conf.get("create_namespace"):
        namespace = conf.get("namespace")
    else:
        return
    if not isinstance(namespace, str) or namespace in platform.SYSTEM_NAMESPACES:
        return
    creator = found["namespaces"].get(namespace)
    if creator is None:
        yield OrderProblem(
            FACTS["TF003"],
            stack,
            address,
            f"{address} is in namespace {namespace}, which this stack does not create",
            f"create the Namespace {namespace} in the same stack",
        )
    elif creator != address and creator not in found["ancestors"](address):
        yield OrderProblem(
            FACTS["TF003"],
            stack,
            address,
            f"{address} may be created before namespace {namespace}",
            f"add depends_on: {creator}",
        )


def _node_role(stack: str, conf: dict, rtype: str, address: str, found: dict) -> Iterator[OrderProblem]:
    if rtype != "google_container_cluster":
        return
    roles = found["node_role_bindings"]
    if roles and not roles & found["ancestors"](address):
        yield OrderProblem(
            FACTS["TF004"],
            stack,
            address,
            f"{address} may start nodes before their service account holds {platform.NODE_SERVICE_ACCOUNT_ROLE}",
            f"add depends_on: {sorted(roles)[0]}",
        )


def produced(stack: dict) -> dict[Event, str]:
    """What applying ``stack`` makes usable some time after it creates it, and the address that creates it."""
    made: dict[Event, str] = {}
    for address, rtype, conf in blocks(stack):
        if address.startswith(("data.", "ephemeral.")):
            continue
        if rtype == "google_project_service":
            made.setdefault((API, str(conf.get("service"))), address)
        elif rtype == "google_logging_metric":
            made.setdefault((LOG_METRIC, str(conf.get("name"))), address)
        for pattern, (creator, attributes) in SERVICE_AGENT_CREATORS.items():
            if rtype == creator and all(conf.get(k) == v for k, v in attributes.items()):
                made.setdefault((AGENT, pattern), address)
    return made


def consumed(stack: dict, apis: Mapping[str, str] | None = None) -> Iterator[tuple[str, Event]]:
    """(address, what it needs usable when it is created) for every resource of ``stack``; ``apis``: which API
    each resource type needs (:data:`gkeml.platform.RESOURCE_APIS` by default)."""
    metric_names = {
        address: str(conf.get("name")) for address, rtype, conf in blocks(stack) if rtype == "google_logging_metric"
    }
    for address, rtype, conf in blocks(stack):
        if address.startswith(("data.", "ephemeral.")):
            continue
        api = platform.resource_api(rtype, apis)
        if api is not None and rtype != "google_project_service":
            yield address, (API, api)
        body = {k: v for k, v in conf.items() if k not in ("//", "depends_on")}
        if rtype == "google_monitoring_alert_policy":
            names = {m for text in _strings(body) for m in LOG_METRIC_TYPE.findall(text)}
            names |= {metric_names[a] for a in references(body) if a in metric_names}
            yield from ((address, (LOG_METRIC, name)) for name in sorted(names))
        if IAM_RESOURCE.search(rtype):
            members = [m for m in _strings({k: body.get(k) for k in ("member", "members", "policy_data")}) if m]
            for pattern in SERVICE_AGENT_CREATORS:
                if any(re.search(pattern, m) for m in members):
                    yield address, (AGENT, pattern)


def _describe(event: Event) -> str:
    kind, name = event
    if kind == AGENT:
        creator, attributes = SERVICE_AGENT_CREATORS[name]
        return f"the service agent a {creator} ({', '.join(f'{k} {v}' for k, v in attributes.items())}) creates"
    return f"{kind} {name}"


def timing_problems(
    name: str, stack: dict, earlier: Collection[Event] = (), apis: Mapping[str, str] | None = None
) -> list[OrderProblem]:
    """TF005-TF007 in one stack: every resource created less than its fact's delay after something it needs
    (the time surely passed is the longest chain of time_sleeps between the two, :mod:`gkeml.lifecycle.timing`),
    unless an earlier apply (``earlier``) made it usable."""
    graph = dependency_graph(stack)
    took = durations(stack)
    made = produced(stack)
    problems = []
    for address, event in consumed(stack, apis):
        first = made.get(event)
        if first is None or event in earlier:
            continue  # made by an earlier apply (or by none: the deploy sequence's concern)
        fact = FACTS[EVENT_FACTS[event[0]]]
        waited = gap(graph, took, first, address)
        if waited is None and event[0] == API:
            continue  # it does not wait for the API at all: TF002 says so
        if waited is not None and waited >= fact.delay_seconds:
            continue
        when = "may be created before" if waited is None else f"waits only {waited:g}s after"
        problems.append(
            OrderProblem(
                fact,
                name,
                address,
                f"{address} {when} {first} ({_describe(event)}), usable only up to {fact.delay_seconds}s later",
                f"wait at least {fact.delay_seconds}s: {'; or '.join(fact.remedies)}",
            )
        )
    return problems


def _kinds_in_values(conf: dict) -> set[tuple[str, str]]:
    """(API group, kind) of the objects a helm_release passes as ``objects`` in its values (gkeml's local charts
    render exactly those)."""
    import yaml

    kinds: set[tuple[str, str]] = set()
    for text in conf.get("values") or []:
        try:
            values = yaml.safe_load(text) if isinstance(text, str) else None
        except yaml.YAMLError:
            continue
        for obj in (values or {}).get("objects") or [] if isinstance(values, dict) else []:
            if isinstance(obj, dict) and isinstance(obj.get("apiVersion"), str):
                kinds.add((obj["apiVersion"].rpartition("/")[0], str(obj.get("kind"))))
    return kinds


def _crd_established(stack: str, conf: dict, rtype: str, address: str, found: dict) -> Iterator[OrderProblem]:
    crds = found["crds"]
    if not crds:
        return
    if rtype == "kubernetes_manifest":
        manifest = conf.get("manifest") or {}
        key = (str(manifest.get("apiVersion", "")).rpartition("/")[0], str(manifest.get("kind")))
        if key in crds:
            yield OrderProblem(
                FACTS["TF009"],
                stack,
                address,
                f"{address} is a {key[1]}, whose CRD this stack applies ({crds[key]}): it cannot be planned before "
                "that CRD exists",
                "apply it through a helm_release that depends on the CRD (a local chart of gkeml's)",
            )
        if manifest.get("kind") == "CustomResourceDefinition":
            conditions = ((conf.get("wait") or {}).get("condition")) or []
            established = any(c.get("type") == "Established" for c in conditions if isinstance(c, dict))
            if not established and found["crd_users"].get(address):
                yield OrderProblem(
                    FACTS["TF009"],
                    stack,
                    address,
                    f"{address} is created without waiting until its kind is served, and "
                    f"{sorted(found['crd_users'][address])[0]} uses that kind next",
                    'add wait { condition { type = "Established", status = "True" } }',
                )
    elif rtype == "helm_release":
        for key in sorted(_kinds_in_values(conf)):
            creator = crds.get(key)
            if creator and creator != address and creator not in found["ancestors"](address):
                yield OrderProblem(
                    FACTS["TF009"],
                    stack,
                    address,
                    f"{address} applies {key[1]} objects and may run before their CRD ({creator}) is established",
                    f"add depends_on: {creator}",
                )


def crd_creators(stack: dict) -> dict[tuple[str, str], str]:
    """(API group, kind) -> the address that installs its CRD in ``stack``: a kubernetes_manifest of the CRD or a
    helm_release of a chart that installs it (:data:`gkeml.platform.CHART_CRD_KINDS`)."""
    creators: dict[tuple[str, str], str] = {}
    for address, rtype, conf in blocks(stack):
        if rtype == "kubernetes_manifest":
            manifest = conf.get("manifest") or {}
            spec = manifest.get("spec") or {}
            if manifest.get("kind") == "CustomResourceDefinition" and isinstance(spec.get("names"), dict):
                creators[(str(spec.get("group")), str(spec["names"].get("kind")))] = address
        elif rtype == "helm_release" and str(conf.get("chart")) in platform.CHART_CRD_KINDS:
            group, kinds = platform.CHART_CRD_KINDS[str(conf.get("chart"))]
            creators.update({(group, kind): address for kind in kinds})
    return creators


CHECKS: tuple[Callable[..., Iterator[OrderProblem]], ...] = (
    _workload_identity_pool,
    _api_enabled,
    _namespace_exists,
    _node_role,
    _crd_established,
)


def order_problems(
    stacks: dict[str, dict],
    earlier: Mapping[str, Collection[Event]] | None = None,
    apis: Mapping[str, str] | None = None,
) -> list[OrderProblem]:
    """Every place in the synthesized ``stacks`` (name -> cdk.tf.json) where a resource may be
    created before something it needs exists or is usable, per :data:`FACTS`. ``earlier``: per stack,
    what earlier steps of the deploy made usable before its first apply (the bootstrap's APIs:
    :func:`gkeml.lifecycle.sequence.applied_before`); ``apis``: which API each resource type needs (with the
    types extensions bring: :func:`gkeml.config.extensions.resource_apis`)."""
    problems: list[OrderProblem] = []
    for name, stack in sorted(stacks.items()):
        problems += timing_problems(name, stack, (earlier or {}).get(name, ()), apis)
        graph = dependency_graph(stack)
        cache: dict[str, set[str]] = {}

        def ancestors_of(address: str, graph: dict = graph, cache: dict = cache) -> set[str]:
            if address not in cache:
                cache[address] = ancestors(graph, address)
            return cache[address]

        found = {
            "ancestors": ancestors_of,
            "resource_apis": apis,
            "clusters": {
                a for a, t, _ in blocks(stack) if t == "google_container_cluster" and not a.startswith("data.")
            },
            "apis": {c.get("service"): a for a, t, c in blocks(stack) if t == "google_project_service"},
            "namespaces": {
                ((c.get("manifest") or {}).get("metadata") or {}).get("name"): a
                for a, t, c in blocks(stack)
                if t == "kubernetes_manifest" and (c.get("manifest") or {}).get("kind") == "Namespace"
            },
            "crds": crd_creators(stack),
            "crd_users": _crd_users(stack),
            "node_role_bindings": {
                a
                for a, t, c in blocks(stack)
                if t == "google_project_iam_member" and c.get("role") == platform.NODE_SERVICE_ACCOUNT_ROLE
            },
        }
        for address, rtype, conf in blocks(stack):
            for check in CHECKS:
                problems.extend(check(name, conf, rtype, address, found))
    return problems


def _crd_users(stack: dict) -> dict[str, set[str]]:
    """CRD manifest address -> the helm releases of ``stack`` that apply objects of its kind."""
    creators = {k: a for k, a in crd_creators(stack).items() if a.startswith("kubernetes_manifest.")}
    users: dict[str, set[str]] = {}
    for address, rtype, conf in blocks(stack):
        if rtype == "helm_release":
            for key in _kinds_in_values(conf):
                if key in creators:
                    users.setdefault(creators[key], set()).add(address)
    return users


def describe(problems: list[OrderProblem]) -> str:
    """One line per problem (for test messages and logs)."""
    return "\n".join(f"{p.fact.id} {p.stack}: {p.message}; {p.fix}" for p in problems) or json.dumps([])


def declared_apis(stacks: dict[str, dict]) -> dict[str, set[Event]]:
    """``earlier`` for :func:`order_problems` when the bootstrap stacks are not at hand (``gkeml check`` reads
    only the environments' own): gkeml's bootstrap enables every API of
    :func:`gkeml.config.apis.project_apis`, which is what the environment's cloud stack declares, and waits for
    them, so the APIs ``<env>`` declares count as enabled before ``<env>`` and ``<env>-k8s``. The deploy
    sequence (:func:`gkeml.lifecycle.sequence.simulate`, tests/test_lifecycle_sequence.py) checks that the
    bootstrap really does."""
    earlier: dict[str, set[Event]] = {}
    for name in stacks:
        cloud = name.removesuffix("-k8s") if name.removesuffix("-k8s") in stacks else name
        earlier[name] = {e for e in produced(stacks[cloud]) if e[0] == API}
    return earlier


def order_findings(
    synth_dir: str | Path,
    earlier: Mapping[str, Collection[Event]] | None = None,
    apis: Mapping[str, str] | None = None,
) -> list[Finding]:
    """The order problems of every stack in ``synth_dir`` as ``gkeml check`` findings; ``earlier`` and ``apis``
    as for :func:`order_problems`, ``earlier`` by default what the environments' bootstraps enabled
    (:func:`declared_apis`)."""
    files = sorted(Path(synth_dir).glob("stacks/*/cdk.tf.json"))
    stacks = {f.parent.name: read_stack(f) for f in files}
    earlier = declared_apis(stacks) if earlier is None else earlier
    return [
        p.fact.finding(
            f"{p.stack}/{p.address}",
            "depends_on",
            p.message,
            p.fix,
            str(Path(synth_dir) / "stacks" / p.stack / "cdk.tf.json"),
        )
        for p in order_problems(stacks, earlier, apis)
    ]
