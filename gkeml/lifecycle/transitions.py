"""Changes between two deploys: what the next deploy must not do to what the last one left running.

``make deploy`` applies the cloud stack, then the in-cluster stack. The load balancer of an Ingress
holds the certificates and the static IP the Ingress names until the ingress-gce controller moves it,
which happens only after the in-cluster stack has changed the Ingress, asynchronously. So the cloud
stack must never delete a certificate or IP the deployed Ingress (or Gateway) still names: GCP refuses
(``resourceInUseByAnotherResource``, terraform-provider-google #8160) and the deploy stops before the
in-cluster stack can move anything. And a rename in the config must never quietly destroy data.

:func:`transition_problems` compares the config a deploy starts from (``--against REF``, what is
deployed) with the new one, pure Python; ``gkeml check --against REF`` reports them.
"""

from __future__ import annotations

from dataclasses import dataclass

from gkeml import platform
from gkeml import platform_serving as serving
from gkeml.config.exposure import INGRESS, REGIONAL_EXPOSURES, dns_exposure, kept_exposures, served_exposures
from gkeml.config.model import Environment
from gkeml.manifests.workloads import in_cluster_plan
from gkeml.naming import Names
from gkeml.registry import ERROR, TRANSITION, WARNING, Check, Finding, register


def _transition(transition_id: str, severity: str, title: str, help: str, source: str) -> Check:
    return register(Check(transition_id, TRANSITION, severity, title, help, source, inspects=("Environment",)))


TRANSITIONS = {
    "CHG001": _transition(
        "CHG001",
        ERROR,
        "a certificate the deployed Ingress or Gateway names is deleted",
        "A certificate the deployed Ingress or Gateway names stays in the cloud stack (its host in retired_hosts, "
        "previous_hosts or a migration step) until a deploy has moved the load balancer off it.",
        "GCP refuses to delete an SSL certificate a target HTTPS proxy uses "
        "(resourceInUseByAnotherResource, hashicorp/terraform-provider-google#8160); the cloud "
        "stack is applied before the in-cluster stack that moves the Ingress",
    ),
    "CHG002": _transition(
        "CHG002",
        ERROR,
        "a static IP the deployed Ingress or Gateway names is deleted",
        "The static IP of a deployed Ingress or Gateway stays until it is gone: retire the endpoint "
        "(retired: true) or finish its migration in one deploy, remove it in a later one.",
        "GCP refuses to delete an address a forwarding rule uses (resourceInUseByAnotherResource)",
    ),
    "CHG003": _transition(
        "CHG003",
        WARNING,
        "a host stops being served before its successor's certificate is ACTIVE",
        "A host an endpoint moves away from stays served (previous_hosts) until the new host's certificate is "
        "ACTIVE, or the service is unreachable in between.",
        "cloud.google.com/kubernetes-engine/docs/how-to/managed-certs: a managed certificate is "
        "provisioned only once it is attached to the load balancer and the host's DNS points at "
        "its IP (minutes to hours)",
    ),
    "CHG004": _transition(
        "CHG004",
        ERROR,
        "a change deletes data or an identity",
        "A bucket, secret, team, identity or endpoint removed or renamed, or a new name prefix or project, is "
        "deleted by Terraform with what it holds, unless intended_deletions lists it.",
        "a renamed bucket, secret, team (namespace), identity or name prefix is a different "
        "resource to Terraform: the old one is destroyed",
    ),
    "CHG005": _transition(
        "CHG005",
        ERROR,
        "DNS moves to a way of exposure that was not serving yet",
        "An endpoint moving between Ingress, Gateway and Inference Gateway first serves on both (migration step "
        "serve-both), and its DNS moves only once the new way's certificates are ACTIVE.",
        "the cloud stack, applied first, moves the host's A record before the in-cluster stack creates the new "
        "Gateway (or Ingress), and its certificates are issued only after their DNS authorization (or, for an "
        "Ingress, the A record) resolves: minutes to hours (cloud.google.com/certificate-manager/docs/"
        "dns-authorizations, kubernetes-engine/docs/how-to/managed-certs); docs/serving.md",
    ),
    "CHG006": _transition(
        "CHG006",
        ERROR,
        "the way of exposure DNS pointed at stops serving in the deploy that moves DNS off it",
        "The way of exposure DNS pointed at keeps serving for at least dns.ttl after DNS moves off it (migration "
        "step dns-moved), and is retired in a later deploy.",
        "resolvers and clients keep the old A record for its TTL (dns.ttl) and longer, and GKE deletes the old "
        "load balancer minutes after its Ingress or Gateway goes: their requests fail; docs/serving.md",
    ),
}


# What serves an endpoint on each way of exposure, in messages.
LOAD_BALANCER = {"ingress": "Ingress", "gateway": "Gateway", "inference-gateway": "Inference Gateway"}


@dataclass(frozen=True)
class TransitionProblem:
    """A problem of the new config given the deployed one: the key to fix and how."""

    transition: Check
    path: tuple
    message: str
    fix: str

    @property
    def severity(self) -> str:
        return self.transition.severity


def _ingress_references(env: Environment) -> tuple[set[str], set[str]]:
    """(certificate names, static IP names) the in-cluster layer of ``env`` makes its load balancers use: an
    Ingress's SSL certificates and static IP; a Gateway's certificate map or Certificate Manager certificates and
    its address."""
    certs: set[str] = set()
    ips: set[str] = set()
    for obj in in_cluster_plan(env).objects():
        annotations = obj["metadata"].get("annotations", {})
        if obj["kind"] == "Ingress":
            certs.update(c for c in annotations.get(platform.INGRESS_PRE_SHARED_CERT_ANNOTATION, "").split(",") if c)
            if platform.INGRESS_STATIC_IP_ANNOTATION in annotations:
                ips.add(annotations[platform.INGRESS_STATIC_IP_ANNOTATION])
        elif obj["kind"] == "Gateway":
            if serving.CERTMAP_ANNOTATION in annotations:
                certs.add(annotations[serving.CERTMAP_ANNOTATION])
            for listener in obj["spec"].get("listeners", []):
                options = (listener.get("tls") or {}).get("options") or {}
                certs.update(c for c in options.get(serving.CERT_MANAGER_CERTS_OPTION, "").split(",") if c)
            ips.update(a["value"] for a in obj["spec"].get("addresses", []) if a.get("type") == "NamedAddress")
    return certs, ips


def _cloud_names(env: Environment) -> tuple[dict[str, tuple[str, str, str]], dict[str, tuple[str, str]]]:
    """What the cloud layer of ``env`` keeps, for each way of exposure each endpoint keeps: certificate (and
    certificate map) name -> (endpoint, host, way); IP name -> (endpoint, way)."""
    names = Names.of(env)
    certs: dict[str, tuple[str, str, str]] = {}
    ips: dict[str, tuple[str, str]] = {}
    for e in env.endpoints:
        for way in kept_exposures(e):
            if way == INGRESS:
                ips[names.address(e.name)] = (e.name, way)
                certs.update({names.certificate(e.name, h): (e.name, h, way) for h in e.certificate_hosts})
                continue
            ips[names.gateway_address(e.name, way)] = (e.name, way)
            certs.update({names.gateway_certificate(e.name, way, h): (e.name, h, way) for h in e.certificate_hosts})
            if way not in REGIONAL_EXPOSURES:
                certs[names.certificate_map(e.name)] = (e.name, f"{e.host} (its certificate map)", way)
    return certs, ips


def _kept_way(current: Environment, endpoint: str, way: str) -> str | None:
    """How to keep way ``way`` of ``endpoint`` one deploy longer when ``current`` drops it while the endpoint
    stays: None when the endpoint is gone (or the way is still kept: a host was dropped)."""
    e = next((x for x in current.endpoints if x.name == endpoint), None)
    if e is None or way in kept_exposures(e):
        return None
    return f"keep endpoints.{endpoint}.migration: {{previous: {way}, step: retired}} for this deploy"


def _endpoint_path(env: Environment, name: str, field: str = "") -> tuple:
    index = next((i for i, e in enumerate(env.endpoints) if e.name == name), None)
    if index is None:
        return ("endpoints",)
    return ("endpoints", index, field) if field else ("endpoints", index)


def _load_balancer(previous: Environment, current: Environment) -> list[TransitionProblem]:
    problems: list[TransitionProblem] = []
    deployed_certs, deployed_ips = _ingress_references(previous)
    prev_certs, prev_ips = _cloud_names(previous)
    certs, ips = _cloud_names(current)
    for cert in sorted(deployed_certs - set(certs)):
        endpoint, host, way = prev_certs.get(cert, ("?", "?", INGRESS))
        keep = _kept_way(current, endpoint, way)
        problems.append(
            TransitionProblem(
                TRANSITIONS["CHG001"],
                _endpoint_path(current, endpoint, "migration" if keep else "retired_hosts"),
                f"the deployed {LOAD_BALANCER[way]} serves {host} with certificate {cert}; this change deletes it in "
                "the cloud stack, which is applied first, so the deploy would fail",
                (keep or f"keep {host} in endpoints.{endpoint}.retired_hosts (or previous_hosts) for this deploy")
                + f"; remove it in a later change, once the {LOAD_BALANCER[way]} has let it go",
            )
        )
    for ip in sorted(deployed_ips - set(ips)):
        endpoint, way = prev_ips.get(ip, ("?", INGRESS))
        keep = _kept_way(current, endpoint, way)
        problems.append(
            TransitionProblem(
                TRANSITIONS["CHG002"],
                _endpoint_path(current, endpoint, "migration" if keep else ""),
                f"the deployed {LOAD_BALANCER[way]} of endpoint {endpoint} holds static IP {ip}; this change deletes "
                "it in the cloud stack first, so the deploy would fail",
                f"{keep}, then remove it"
                if keep
                else f"first deploy endpoint {endpoint} with retired: true (the {LOAD_BALANCER[way]} goes, the IP "
                "stays), then remove it",
            )
        )
    problems += _exposures(previous, current)
    served_before = {h for e in previous.endpoints for h in e.served_hosts}
    for e in current.endpoints:
        before = next((p for p in previous.endpoints if p.name == e.name), None)
        if before is None or e.retired:
            continue
        dropped = [h for h in before.served_hosts if h not in e.served_hosts]
        new = [h for h in e.served_hosts if h not in served_before]
        if dropped and new:
            problems.append(
                TransitionProblem(
                    TRANSITIONS["CHG003"],
                    _endpoint_path(current, e.name, "host"),
                    f"{', '.join(dropped)} stops being served now and {', '.join(new)} only once its certificate is "
                    "ACTIVE (after DNS points at the IP): a gap",
                    f"keep {', '.join(dropped)} in endpoints.{e.name}.previous_hosts until {', '.join(new)} is served",
                )
            )
    return problems


def _exposures(previous: Environment, current: Environment) -> list[TransitionProblem]:
    """A move between ways of exposure that skips a step (gkeml.config.exposure): DNS moving to a way that was not
    serving (CHG005), or the way DNS pointed at removed in the deploy that moves DNS off it (CHG006)."""
    problems: list[TransitionProblem] = []
    for e in current.endpoints:
        before = next((p for p in previous.endpoints if p.name == e.name), None)
        if before is None or e.retired or before.retired:
            continue
        was_dns, now_dns = dns_exposure(before), dns_exposure(e)
        was_served, now_served = served_exposures(before), served_exposures(e)
        if now_dns != was_dns and now_dns not in was_served:
            problems.append(
                TransitionProblem(
                    TRANSITIONS["CHG005"],
                    _endpoint_path(current, e.name, "exposure"),
                    f"endpoint {e.name}'s hosts move to {now_dns}, which the deployed config does not serve: its "
                    "load balancer does not exist yet and its certificates are not issued (a gap of minutes to hours)",
                    f"first deploy endpoints.{e.name}.migration: {{previous: {was_dns}, step: serve-both}} (the "
                    f"{now_dns} comes up while DNS stays on the {was_dns}); once its certificates are ACTIVE, "
                    "step: dns-moved",
                )
            )
        if was_dns in was_served and was_dns not in now_served and was_dns != now_dns:
            problems.append(
                TransitionProblem(
                    TRANSITIONS["CHG006"],
                    _endpoint_path(current, e.name, "migration"),
                    f"the {was_dns} of endpoint {e.name}, where DNS points now, stops serving in the deploy that "
                    f"points DNS at the {now_dns}: clients that still resolve the old address fail",
                    f"deploy migration: {{previous: {was_dns}, step: dns-moved}} first (both serve, DNS on the "
                    f"{now_dns}), then step: retired at least dns.ttl later",
                )
            )
    return problems


def _deleted(previous: Environment, current: Environment) -> list[TransitionProblem]:
    intended = set(current.intended_deletions)
    problems: list[TransitionProblem] = []
    before, after = Names.of(previous), Names.of(current)
    if (before.prefix, before.project_id) != (after.prefix, after.project_id) and "prefix" not in intended:
        field = ("project", "id") if before.project_id != after.project_id else ("prefix",)
        problems.append(
            TransitionProblem(
                TRANSITIONS["CHG004"],
                field,
                f"the names derive from the prefix and project ({before.prefix} in {before.project_id} -> {after.prefix} "
                f"in {after.project_id}): every bucket, the cluster and every identity would be re-created, their data "
                "and state lost",
                "if that is the intent, add `prefix` to intended_deletions",
            )
        )
        return problems  # everything below follows from it
    sections = (
        ("bucket", "buckets", lambda env, b: f"bucket gs://{Names.of(env).bucket(b.name)} and every object in it"),
        ("team", "teams", lambda env, t: f"namespace {t.name} and everything running in it"),
        ("identity", "identities", lambda env, i: f"identity {i.name} (its Google service account and grants)"),
        ("secret", "secrets", lambda env, s: f"secret {Names.of(env).secret(s.name)} and every version of it"),
        ("endpoint", "endpoints", lambda env, e: f"endpoint {e.name}'s static IP (DNS points at it)"),
    )
    for kind, section, what in sections:
        kept = {item.name for item in getattr(current, section)}
        for item in getattr(previous, section):
            if item.name not in kept and f"{kind}/{item.name}" not in intended:
                problems.append(
                    TransitionProblem(
                        TRANSITIONS["CHG004"],
                        (section,),
                        f"{kind} {item.name!r} is gone from the config: Terraform would delete {what(previous, item)}",
                        f"if that is the intent, add `{kind}/{item.name}` to intended_deletions (a rename is a deletion "
                        "and a new one)",
                    )
                )
    return problems


def transition_problems(previous: Environment, current: Environment) -> list[TransitionProblem]:
    """Everything the next deploy of ``current`` would break, given that ``previous`` is deployed."""
    return _load_balancer(previous, current) + _deleted(previous, current)


def transition_findings(env_file: str, previous: Environment, current: Environment) -> list[Finding]:
    """:func:`transition_problems` as ``gkeml check`` findings, each at the key to fix in ``env_file``."""
    from gkeml.config.loader import field_name, file_line

    return [
        p.transition.finding(
            f"environment {current.name}",
            field_name(p.path),
            p.message,
            p.fix,
            f"{env_file}:{file_line(env_file, p.path)}",
        )
        for p in transition_problems(previous, current)
    ]
