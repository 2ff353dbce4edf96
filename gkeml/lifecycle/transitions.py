"""Changes between two deploys: what the next deploy must not do to what the last one left running.

``make deploy`` applies the cloud stack, then the in-cluster stack. The load balancer of an Ingress
holds the certificates and the static IP the Ingress names until the ingress-gce controller moves it,
which happens only after the in-cluster stack has changed the Ingress, asynchronously. So the cloud
stack must never delete a certificate or IP the deployed Ingress still names: GCP refuses
(``resourceInUseByAnotherResource``, terraform-provider-google #8160) and the deploy stops before the
in-cluster stack can move anything. And a rename in the config must never quietly destroy data.

:func:`transition_problems` compares the config a deploy starts from (``--against REF``, what is
deployed) with the new one, pure Python; ``gkeml check --against REF`` reports them.
"""

from __future__ import annotations

from dataclasses import dataclass

from gkeml import platform
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
        "a certificate the deployed Ingress names is deleted",
        "A certificate the deployed Ingress names stays in the cloud stack (its host in retired_hosts or "
        "previous_hosts) until a deploy has moved the Ingress off it.",
        "GCP refuses to delete an SSL certificate a target HTTPS proxy uses "
        "(resourceInUseByAnotherResource, hashicorp/terraform-provider-google#8160); the cloud "
        "stack is applied before the in-cluster stack that moves the Ingress",
    ),
    "CHG002": _transition(
        "CHG002",
        ERROR,
        "a static IP the deployed Ingress names is deleted",
        "The static IP of a deployed Ingress stays until the Ingress is gone: retire the endpoint "
        "(retired: true) in one deploy, remove it in a later one.",
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
}


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
    """(certificate names, static IP names) the in-cluster layer of ``env`` makes its Ingresses use."""
    certs: set[str] = set()
    ips: set[str] = set()
    for obj in in_cluster_plan(env).objects():
        if obj["kind"] == "Ingress":
            annotations = obj["metadata"].get("annotations", {})
            certs.update(c for c in annotations.get(platform.INGRESS_PRE_SHARED_CERT_ANNOTATION, "").split(",") if c)
            if platform.INGRESS_STATIC_IP_ANNOTATION in annotations:
                ips.add(annotations[platform.INGRESS_STATIC_IP_ANNOTATION])
    return certs, ips


def _cloud_names(env: Environment) -> tuple[dict[str, tuple[str, str]], dict[str, str]]:
    """What the cloud layer of ``env`` keeps: certificate name -> (endpoint, host); IP name -> endpoint."""
    names = Names.of(env)
    certs = {names.certificate(e.name, h): (e.name, h) for e in env.endpoints for h in e.certificate_hosts}
    return certs, {names.address(e.name): e.name for e in env.endpoints}


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
        endpoint, host = prev_certs.get(cert, ("?", "?"))
        problems.append(
            TransitionProblem(
                TRANSITIONS["CHG001"],
                _endpoint_path(current, endpoint, "retired_hosts"),
                f"the deployed Ingress serves {host} with certificate {cert}; this change deletes the certificate in the "
                "cloud stack, which is applied first, so the deploy would fail",
                f"keep {host} in endpoints.{endpoint}.retired_hosts (or previous_hosts) for this deploy; remove it in a "
                "later change, once the Ingress has moved",
            )
        )
    for ip in sorted(deployed_ips - set(ips)):
        endpoint = prev_ips.get(ip, "?")
        problems.append(
            TransitionProblem(
                TRANSITIONS["CHG002"],
                _endpoint_path(current, endpoint),
                f"the deployed Ingress of endpoint {endpoint} holds static IP {ip}; removing the endpoint deletes it in "
                "the cloud stack first, so the deploy would fail",
                f"first deploy endpoint {endpoint} with retired: true (the Ingress goes, the IP stays), then remove it",
            )
        )
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
