"""``gkeml doctor``'s checks of the platform services: DNS and certificates of the public hosts, and
the capacity preflight (regional GPU and CPU quotas against the environment's peak needs).

Compute Engine is read over its REST API (``regions.get``, ``globalAddresses.get``,
``sslCertificates.get``) with google-auth's ``AuthorizedSession``, so the same code runs against
Google and against a local server that speaks that API; DNS is resolved with dnspython (the
system's resolver, or one server given with ``--dns-server``, e.g. a local test server).

**Peak needs** (:func:`peak_needs`): every inference service at its HPA ``max_replicas`` and every
training budget with all its nodes, at once. A GPU workload needs ``replicas x gpu_count`` GPUs and
the vCPUs of the machine the estimator picks for it (its family's own CPU quota when the region has
one, else ``CPUS``); a Pod without GPU needs its vCPU requests (Autopilot's general-purpose E2
nodes). Spot workloads, and workloads of a ComputeClass that prefers Spot, count against the
preemptible quota when the project has one (else against the regular quota, which Spot VMs then
use); a ComputeClass that falls back to on-demand needs the regular quota for the same peak too.

**Team quotas** (:func:`team_quota_rows`): the project's quota of each GPU the environment uses is also
compared with the sum of the teams' GPU quotas, the most the teams may run at once (a warning when below).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gkeml import platform
from gkeml.answers import Limits
from gkeml.doctor.api import DRIFT, OK, WARN, Check, DoctorError, RestApi
from gkeml.naming import Names

if TYPE_CHECKING:
    from gkeml.config.model import Environment
    from gkeml.cost.prices import PriceTable

COMPUTE_API = "https://compute.googleapis.com"
COMPUTE_SERVICE = "compute.googleapis.com"
COMPUTE_ROLE = "roles/compute.viewer"  # compute.regions.get, compute.globalAddresses.get, compute.sslCertificates.get
DNS_TIMEOUT_SECONDS = 10.0

Resolver = Callable[[str], list[str]]


class DnsFailure(Exception):
    """A DNS question that got no answer at all (timeout, no server)."""


# --- clients -------------------------------------------------------------------------------


class ComputeApi(RestApi):
    """The few Compute Engine REST reads the doctor needs, with one line of advice on failure."""

    def __init__(self, endpoint: str | None = None, limits: Limits | None = None):
        super().__init__(COMPUTE_API, endpoint, "--compute-endpoint", "Compute Engine", limits)

    def get(self, path: str, project: str) -> dict | None:
        """``GET /compute/v1/<path>``: the resource, None when it does not exist; DoctorError otherwise."""
        what = f"compute/v1/{path}"
        status, body = self.read(what)
        if status == 404:
            return None
        if body is None:
            raise self.not_json(what, status)
        if status != 200:
            raise DoctorError(self.advice(status, body, what, project, COMPUTE_SERVICE, COMPUTE_ROLE))
        return body


def dns_resolver(server: str | None = None) -> Resolver:
    """A function returning the sorted A records of a name ([] when it has none): through the system's
    resolver, or only through ``server`` (``IP`` or ``IP:PORT``). DnsFailure when nobody answers."""
    import dns.exception
    import dns.resolver

    resolver = dns.resolver.Resolver(configure=server is None)
    if server is not None:
        host, _, port = server.rpartition(":") if server.count(":") == 1 else (server, "", "")
        try:
            resolver.nameservers = [host]
            resolver.port = int(port) if port else 53
        except ValueError:
            raise DoctorError(f"--dns-server {server!r} is not IP or IP:PORT") from None

    def resolve(name: str) -> list[str]:
        try:
            answer = resolver.resolve(name, "A", lifetime=DNS_TIMEOUT_SECONDS)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except (dns.exception.Timeout, dns.resolver.NoNameservers) as exc:
            raise DnsFailure(" ".join(str(exc).split())) from None
        return sorted(r.address for r in answer)

    return resolve


# --- DNS and certificates ------------------------------------------------------------------------


def check_endpoints(env: Environment, compute: ComputeApi, resolve: Resolver) -> list[Check]:
    """For each host an endpoint serves (its host and ``previous_hosts``; none once it is retired): does
    its A record point at the endpoint's static IP, and is its certificate ACTIVE?"""
    names = Names.of(env)
    project = env.project.id
    deploy = f"`cdktf deploy {names.cloud_stack}`"
    rows: list[Check] = []
    for endpoint in env.endpoints:
        if not endpoint.served_hosts:
            continue
        address = compute.get(f"projects/{project}/global/addresses/{names.address(endpoint.name)}", project)
        ip = (address or {}).get("address")
        for host in endpoint.served_hosts:
            if not ip:
                rows.append(
                    Check(
                        "dns",
                        host,
                        DRIFT,
                        f"A {names.address(endpoint.name)}",
                        "no static IP",
                        f"static IP {names.address(endpoint.name)} not found: deploy it with {deploy}",
                    )
                )
                dns_ok = False
            else:
                dns_ok = _dns_row(env, host, ip, resolve, rows)
            rows.append(_certificate_row(env, endpoint.name, host, compute, dns_ok))
    return rows


def _dns_row(env: Environment, host: str, ip: str, resolve: Resolver, rows: list[Check]) -> bool:
    deploy = f"`cdktf deploy {Names.of(env).cloud_stack}`"
    fix = (
        f"the dns section creates this record: {deploy}, and delegate {env.dns.domain} to the zone's name "
        "servers at its parent"
        if env.dns is not None and env.dns.contains(host)
        else f"add an A record {host} -> {ip} at your DNS provider (or configure the dns section)"
    )
    try:
        found = resolve(host)
    except DnsFailure as exc:
        rows.append(Check("dns", host, WARN, f"A {ip}", "no answer", f"no DNS server answered ({exc})"))
        return False
    live = ", ".join(found) or "no A record"
    ok = found == [ip]
    rows.append(Check("dns", host, OK if ok else DRIFT, f"A {ip}", live, "" if ok else fix))
    return ok


def _certificate_row(env: Environment, endpoint: str, host: str, compute: ComputeApi, dns_ok: bool) -> Check:
    names = Names.of(env)
    name = names.certificate(endpoint, host)
    cert = compute.get(f"projects/{env.project.id}/global/sslCertificates/{name}", env.project.id)
    what = f"certificate {host}"
    if cert is None:
        return Check(
            "certificate",
            what,
            DRIFT,
            platform.CERTIFICATE_ACTIVE,
            "not found",
            f"certificate {name} not found: deploy it with `cdktf deploy {names.cloud_stack}`",
        )
    raw = cert.get("managed")
    managed = raw if isinstance(raw, dict) else {}
    status = str(managed.get("status", "unknown"))
    domains = managed.get("domainStatus")
    domain = domains.get(host) if isinstance(domains, dict) else None
    live = status + (f" ({host}: {domain})" if domain and domain != status else "")
    if status == platform.CERTIFICATE_ACTIVE:
        return Check("certificate", what, OK, platform.CERTIFICATE_ACTIVE, live)
    if status == "PROVISIONING" and dns_ok:
        return Check(
            "certificate",
            what,
            WARN,
            platform.CERTIFICATE_ACTIVE,
            live,
            "DNS points at the load balancer: Google provisions the certificate (up to about an hour) "
            "once the Ingress serves the static IP",
        )
    return Check(
        "certificate",
        what,
        DRIFT,
        platform.CERTIFICATE_ACTIVE,
        live,
        f"the certificate cannot become ACTIVE until {host} resolves to its static IP (see the "
        "dns row); a FAILED_* domain status needs the record fixed and then a new certificate",
    )


# --- capacity preflight --------------------------------------------------------------------------


@dataclass
class QuotaNeed:
    """What the environment's peak needs of one quota, and which workloads need it: on-demand only,
    Spot only, and Spot with an on-demand fallback (the same Pods, on either quota)."""

    metric: str  # the regular metric, e.g. NVIDIA_L4_GPUS or G2_CPUS
    on_demand: float = 0
    spot: float = 0
    spot_or_on_demand: float = 0
    by: list[str] = field(default_factory=list)


def _add(needs: dict[str, QuotaNeed], metric: str, amount: float, spot: bool, on_demand: bool, who: str) -> None:
    need = needs.setdefault(metric, QuotaNeed(metric))
    if spot and on_demand:
        need.spot_or_on_demand += amount
    elif spot:
        need.spot += amount
    else:
        need.on_demand += amount
    need.by.append(who)


def peak_needs(env: Environment, prices: PriceTable, cpu_metric: Callable[[str], str]) -> list[QuotaNeed]:
    """The quotas the environment's peak needs (see the module docstring); ``cpu_metric(family)`` names
    the vCPU quota of a machine family in the region."""
    from gkeml.cost.estimate import Estimator

    estimator = Estimator(prices)
    classes = {c.name: c for c in env.compute_classes}
    needs: dict[str, QuotaNeed] = {}
    for w in estimator.workloads(env):
        cls = classes.get(w.compute_class or "")
        # Spot and flex-start nodes both count on the preemptible quotas (how-to/dws-flex-start-training)
        spot = w.spot or bool(cls and {"spot", "flex-start"} & set(cls.capacity))
        on_demand = (not spot) or bool(cls and "on-demand" in cls.capacity)
        peak = w.replicas[1]
        how = " (Spot" + (", on-demand fallback)" if spot and on_demand else ")") if spot else ""
        if w.gpu:
            label = platform.GPUS[w.gpu].name
            _add(
                needs,
                platform.GPU_QUOTA_METRICS[w.gpu],
                peak * w.gpu_count,
                spot,
                on_demand,
                f"{w.key}: {peak} x {w.gpu_count} {label}{how}",
            )
            machine = estimator.gpu_machine(w)
            _add(
                needs,
                cpu_metric(machine.split("-")[0]),
                peak * prices.machines[machine].vcpu,
                spot,
                on_demand,
                f"{w.key}: {peak} x {machine}{how}",
            )
        else:
            _add(
                needs,
                cpu_metric(platform.AUTOPILOT_GENERAL_PURPOSE_FAMILY),
                peak * math.ceil(w.cpu),
                spot,
                on_demand,
                f"{w.key}: {peak} x {math.ceil(w.cpu)} vCPU{how}",
            )
    return list(needs.values())


def check_quotas(env: Environment, compute: ComputeApi, prices: PriceTable) -> list[Check]:
    """Compare the region's quotas with :func:`peak_needs`; one row per quota needed."""
    project, region = env.project.id, env.project.region
    body = compute.get(f"projects/{project}/regions/{region}", project)
    if body is None:
        raise DoctorError(f"region {region} not found in project {project}: check project.region")
    quotas = region_quotas(body)

    def cpu_metric(family: str) -> str:
        own = platform.family_cpu_quota_metric(family)
        return own if own in quotas else platform.CPU_QUOTA_METRIC

    wanted: dict[str, float] = defaultdict(float)
    by: dict[str, list[str]] = defaultdict(list)
    for need in peak_needs(env, prices, cpu_metric):
        for metric, amount in _quota_amounts(need, quotas).items():
            if amount > 0:
                wanted[metric] += amount
                by[metric] += need.by
    rows = [
        _quota_row(metric, amount, quotas, "; ".join(by[metric]), region, project) for metric, amount in wanted.items()
    ]
    return rows + team_quota_rows(env, quotas)


def region_quotas(body: dict) -> dict[str, tuple[float, float]]:
    """{metric: (limit, usage)} of a ``regions.get`` answer (live, or recorded with ``gcloud compute regions
    describe REGION --format json`` for ``gkeml job explain --quota-snapshot``); entries without a metric are skipped."""
    quotas: dict[str, tuple[float, float]] = {}
    for q in body.get("quotas", []) if isinstance(body.get("quotas"), list) else []:
        if isinstance(q, dict) and isinstance(q.get("metric"), str):
            quotas[q["metric"]] = (float(q.get("limit", 0) or 0), float(q.get("usage", 0) or 0))
    return quotas


def team_quota_rows(env: Environment, quotas: dict[str, tuple[float, float]]) -> list[Check]:
    """The project's quota of each GPU the environment uses against the sum of the teams' GPU quotas: what the
    teams may run at once (Kueue's borrowing moves quota between teams, it adds none). A warning, not drift: the
    teams may never fill their quotas at once, nor all with one GPU type; but if they do, admitted jobs
    wait for nodes the project cannot create."""
    total = sum(t.quota.gpus for t in env.teams)
    if not total:
        return []
    used = {svc.gpu for svc in env.inference} | {job.gpu for job in env.training} | {c.gpu for c in env.compute_classes}
    teams = ", ".join(f"{t.name} {t.quota.gpus}" for t in env.teams if t.quota.gpus)
    rows = []
    for gpu in sorted(g for g in used if g):
        metric = platform.GPU_QUOTA_METRICS[gpu]
        preemptible = platform.PREEMPTIBLE_QUOTA_PREFIX + metric
        limits = {m: quotas[m][0] for m in (metric, preemptible) if m in quotas and quotas[m][0] > 0}
        limit = sum(limits.values())
        live = " + ".join(f"{m} {v:g}" for m, v in limits.items()) or f"no {metric} quota"
        name = f"{metric} for the team quotas"
        if limit >= total:
            rows.append(Check("quota", name, OK, f">= {total}", live))
            continue
        rows.append(
            Check(
                "quota",
                name,
                WARN,
                f">= {total}",
                live,
                f"the teams' GPU quotas ({teams}) allow {total} GPUs at once, the project may run {limit:g} "
                f"{platform.GPUS[gpu].name} in {env.project.region}: pods beyond it wait Pending for nodes (jobs "
                f"Kueue admitted too); raise {metric} to {total}, or lower teams[].quota.gpus",
            )
        )
    return rows


def _quota_amounts(need: QuotaNeed, quotas: dict[str, tuple[float, float]]) -> dict[str, float]:
    """The amount of each quota metric ``need`` takes: Spot on the preemptible quota when the project has
    one (fallbacks on the regular one too), else everything on the regular quota, which Spot VMs then use."""
    preemptible = platform.PREEMPTIBLE_QUOTA_PREFIX + (
        platform.CPU_QUOTA_METRIC if need.metric.endswith("_CPUS") else need.metric
    )
    if quotas.get(preemptible, (0, 0))[0] > 0:
        return {preemptible: need.spot + need.spot_or_on_demand, need.metric: need.on_demand + need.spot_or_on_demand}
    return {need.metric: need.on_demand + need.spot + need.spot_or_on_demand}


def _quota_row(
    metric: str, amount: float, quotas: dict[str, tuple[float, float]], by: str, region: str, project: str
) -> Check:
    expected = f">= {amount:g}"
    if metric not in quotas:
        return Check(
            "quota",
            metric,
            WARN,
            expected,
            f"not listed in {region}",
            f"{region} lists no {metric} quota: the machine or GPU may not be offered there "
            f"(`gcloud compute accelerator-types list --filter=zone~{region}`); needed by {by}",
        )
    limit, usage = quotas[metric]
    live = f"limit {limit:g}, in use {usage:g}"
    if limit >= amount:
        return Check("quota", metric, OK, expected, live)
    return Check(
        "quota",
        metric,
        DRIFT,
        expected,
        live,
        f"raise {metric} in {region} of {project} to at least {amount:g} before deploying "
        f"(IAM & Admin > Quotas), or Pods stay Pending at peak; needed by {by}",
    )


# --- the whole part ------------------------------------------------------------------------------


def check_services(
    env: Environment,
    *,
    compute_endpoint: str | None = None,
    dns_server: str | None = None,
    compute: ComputeApi | None = None,
    resolve: Resolver | None = None,
    limits: Limits | None = None,
) -> list[Check]:
    """The DNS, certificate and quota rows of ``env``; DoctorError when Compute Engine cannot be read."""
    from gkeml.cost import load_prices

    compute = compute or ComputeApi(compute_endpoint, limits)
    rows = check_quotas(env, compute, load_prices())
    if env.endpoints:
        rows = check_endpoints(env, compute, resolve or dns_resolver(dns_server)) + rows
    return rows
