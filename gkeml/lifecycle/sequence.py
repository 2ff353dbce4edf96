"""The documented sequence from an empty project to a running environment, as data, and a
simulation of it over the synthesized stacks: what each step needs to exist (at ``terraform
init``, at plan, at apply) and what it creates. A step that would only work on the second try
(a plan that reads something a later step creates, a resource that names a service account no earlier
step created, a resource created before what it needs is usable: facts TF005-TF008 of
:mod:`gkeml.lifecycle.order`) is a problem here, offline.

Time is counted the way :mod:`gkeml.lifecycle.timing` does: only a ``time_sleep`` surely takes
time, so what an earlier apply made has surely aged by the sleeps that ran after it.

README "Deploying for real" is written from :data:`DEPLOY_SEQUENCE` (a test checks they agree).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from gkeml import platform
from gkeml.iam.model import default_project
from gkeml.lifecycle.graph import blocks, dependency_graph
from gkeml.lifecycle.order import API, EVENT_FACTS, FACTS, Event, consumed, produced, timing_problems
from gkeml.lifecycle.timing import durations, length, start, tail


@dataclass(frozen=True)
class Step:
    """One step of the sequence: who runs what, and which stacks it applies, in order."""

    title: str
    command: str  # as the README shows it; {env}, {project}, {secret} are filled in
    stacks: tuple[str, ...] = ()  # stack names ({env}) applied by the command, in order
    creates_secret_version: bool = False  # a person adds the W&B key's value (never Terraform)
    optional: bool = False
    # before planning each stack after the first, the command waits until the cluster serves the kinds GKE
    # installs in it (fact TF008: `gkeml wait-kinds`)
    waits_for_cluster_kinds: bool = False


DEPLOY_SEQUENCE: tuple[Step, ...] = (
    Step(
        "Bootstrap the project, once, as a person (state bucket, APIs, the CI identities, the environment's "
        "service accounts)",
        "make bootstrap-deploy ENV={env}",
        ("bootstrap-{env}",),
    ),
    Step(
        "Deploy both layers (CI does this on every merge to main)",
        "make deploy ENV={env}",
        ("{env}", "{env}-k8s"),
        waits_for_cluster_kinds=True,
    ),
    Step(
        "Add the W&B API key, when the environment runs the Launch agent (before or after the deploy: the "
        "agent starts once it exists)",
        'printf %s "$WANDB_API_KEY" | gcloud secrets versions add {secret} --data-file=- --project {project}',
        creates_secret_version=True,
        optional=True,
    ),
)


@dataclass
class World:
    """What exists in the project and its cluster, as the simulation goes."""

    buckets: set[str] = field(default_factory=set)
    clusters: set[tuple[str, str]] = field(default_factory=set)  # (name, location)
    kinds: set[tuple[str, str]] = field(default_factory=set)  # (apiVersion, kind) the cluster serves
    # (API group, kind) whose CRD a Helm chart installed (platform.CHART_CRD_KINDS): every version the chart's
    # CRD serves, which the data does not list
    chart_kinds: set[tuple[str, str]] = field(default_factory=set)
    secrets: set[str] = field(default_factory=set)
    secret_versions: set[str] = field(default_factory=set)
    # kinds GKE installs in a cluster it created, not yet seen served (TF008)
    installing: set[tuple[str, str]] = field(default_factory=set)
    # what earlier applies made that is usable only some time later (TF005-TF007), and the time surely passed
    # since (seconds)
    made: dict[Event, float] = field(default_factory=dict)
    service_accounts: set[str] = field(default_factory=set)  # emails of the user-managed accounts that exist


def _group(api_version: str) -> str:
    return api_version.split("/")[0] if "/" in api_version else ""


def _serves(world: World, api_version: str, kind: str) -> bool:
    group = _group(api_version)
    return (
        group in platform.KUBERNETES_BUILTIN_GROUPS
        or (api_version, kind) in world.kinds
        or (group, kind) in world.chart_kinds
    )


def plan_needs(stack_name: str, stack: dict, world: World) -> list[str]:
    """What ``terraform plan`` of ``stack`` reads that does not exist in ``world``."""
    missing: list[str] = []
    for address, rtype, conf in blocks(stack):
        if (
            rtype == "google_container_cluster"
            and address.startswith("data.")
            and (conf.get("name"), conf.get("location")) not in world.clusters
        ):
            missing.append(
                f"{stack_name}: {address} reads cluster {conf.get('name')} in {conf.get('location')}, "
                "which does not exist yet"
            )
        if rtype == "google_secret_manager_secret_version" and address.startswith(("ephemeral.", "data.")):
            secret = str(conf.get("secret", "")).rsplit("/", 1)[-1]
            if secret not in world.secret_versions:
                missing.append(
                    f"{stack_name}: {address} opens the latest version of {secret} at plan, and no version exists yet"
                )
        if rtype == "kubernetes_manifest":
            manifest = conf.get("manifest") or {}
            api_version, kind = str(manifest.get("apiVersion", "")), str(manifest.get("kind", ""))
            if (api_version, kind) in world.installing:
                missing.append(
                    f"{stack_name}: {address} is a {api_version} {kind}, which GKE installs some time after it "
                    f"creates the cluster ({FACTS['TF008'].id}): wait until the cluster serves it before this plan"
                )
            elif not _serves(world, api_version, kind):
                missing.append(
                    f"{stack_name}: {address} is a {api_version} {kind}, whose CRD the cluster does not serve "
                    "at plan time"
                )
    return missing


def init_needs(stack_name: str, stack: dict, world: World) -> list[str]:
    """What ``terraform init`` of ``stack`` needs: its GCS backend bucket."""
    gcs = ((stack.get("terraform") or {}).get("backend") or {}).get("gcs")
    if gcs and gcs.get("bucket") not in world.buckets:
        return [f"{stack_name}: its state bucket {gcs.get('bucket')} does not exist yet (terraform init fails)"]
    return []


def apply_timing(stack_name: str, stack: dict, world: World) -> list[str]:
    """What applying ``stack`` creates before something it needs is usable (TF005-TF007: in the stack, or
    made by an earlier apply not long enough ago, or by none); then ages what ``world`` made and adds what
    this apply makes."""
    problems = [
        f"{p.fact.id} {stack_name}: {p.message}; {p.fix}" for p in timing_problems(stack_name, stack, world.made)
    ]
    graph = dependency_graph(stack)
    took = durations(stack)
    made = produced(stack)
    begins = start(graph, took)
    for address, event in consumed(stack):
        if event in made and event not in world.made:
            continue  # made by this apply: timing_problems above
        fact = FACTS[EVENT_FACTS[event[0]]]
        if event not in world.made:
            problems.append(
                f"{fact.id} {stack_name}: {address} needs {event[0]} {event[1]}, which no earlier step makes"
            )
        elif world.made[event] + begins(address) < fact.delay_seconds:
            problems.append(
                f"{fact.id} {stack_name}: {address} may be created {world.made[event] + begins(address):g}s after "
                f"{event[0]} {event[1]} was made, usable only up to {fact.delay_seconds}s later"
            )
    ran, after = length(graph, took), tail(graph, took)
    for event in world.made:
        world.made[event] += ran
    for event, address in made.items():
        world.made.setdefault(event, after(address))
    return problems


# a user-managed service account's email (cloud.google.com/iam/docs/service-account-overview: ACCOUNT@PROJECT.iam.
# gserviceaccount.com; account ids and project ids are 6-30 of a-z 0-9 '-')
ACCOUNT_EMAIL = re.compile(
    r"\b([a-z][-a-z0-9]{4,28}[a-z0-9])@([a-z][-a-z0-9]{4,28}[a-z0-9])\.iam\.gserviceaccount\.com\b"
)


def _literal_strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() if k not in ("//", "depends_on") for s in _literal_strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _literal_strings(v)]
    return []


def _created_accounts(stack: dict) -> set[str]:
    """Emails of the service accounts ``stack`` creates (``google_service_account`` with a literal account id;
    its project, else the stack's provider project)."""
    home = default_project(stack, "google")
    return {
        f"{conf.get('account_id')}@{conf.get('project') or home}.iam.gserviceaccount.com"
        for address, rtype, conf in blocks(stack)
        if rtype == "google_service_account" and not address.startswith(("data.", "ephemeral."))
    }


def account_needs(stack_name: str, stack: dict, world: World) -> list[str]:
    """Every resource of ``stack`` that names by email a service account of the stack's own project which
    neither an earlier step nor ``stack`` itself creates: its grant, the cluster's nodes or an annotation would
    name an account that does not exist (400 'Service account ... does not exist'; a cluster's nodes fail to
    start). An account of another project is that project's concern."""
    home = default_project(stack, "google")
    if not home:
        return []
    made = world.service_accounts | _created_accounts(stack)
    missing = []
    for address, rtype, conf in blocks(stack):
        if address.startswith(("data.", "ephemeral.")) or rtype == "google_service_account":
            continue
        named = {m.group(0) for text in _literal_strings(conf) for m in ACCOUNT_EMAIL.finditer(text)}
        for email in sorted(e for e in named if e.endswith(f"@{home}.iam.gserviceaccount.com") and e not in made):
            missing.append(f"{stack_name}: {address} names service account {email}, which no earlier step creates")
    return missing


def apply(stack: dict, world: World) -> None:
    """Add what applying ``stack`` creates to ``world``."""
    world.service_accounts |= _created_accounts(stack)
    for address, rtype, conf in blocks(stack):
        if address.startswith(("data.", "ephemeral.")):
            continue
        if rtype == "google_storage_bucket":
            world.buckets.add(str(conf.get("name")))
        elif rtype == "google_container_cluster":
            world.clusters.add((str(conf.get("name")), str(conf.get("location"))))
            world.installing.update(platform.GKE_BUILTIN_KINDS)
            for block, kind in platform.CLUSTER_FEATURE_KINDS.items():
                if (conf.get(block) or {}).get("enabled"):
                    world.installing.add(kind)
        elif rtype == "google_secret_manager_secret":
            world.secrets.add(str(conf.get("secret_id")))
        elif rtype == "helm_release" and str(conf.get("chart")) in platform.CHART_CRD_KINDS:
            group, kinds = platform.CHART_CRD_KINDS[str(conf.get("chart"))]
            world.chart_kinds.update((group, kind) for kind in kinds)


def simulate(
    env: str,
    stacks: dict[str, dict],
    *,
    secret: str | None = None,
    sequence: tuple[Step, ...] = DEPLOY_SEQUENCE,
    world: World | None = None,
) -> list[str]:
    """Run ``sequence`` for ``env`` against ``stacks`` (name -> synthesized JSON, bootstrap included),
    from an empty project (``world``); every need a step finds unmet, in order."""
    world = world or World()
    problems: list[str] = []
    for step in sequence:
        names = [s.format(env=env) for s in step.stacks]
        absent = [n for n in names if n not in stacks]
        if absent:
            problems.append(f"{step.command.format(env=env, secret=secret, project='?')}: no stack {', '.join(absent)}")
            continue
        for name in names:  # cdktf runs `terraform init` of every selected stack first
            problems += init_needs(name, stacks[name], world)
        for i, name in enumerate(names):  # then plans and applies them in dependency order
            if i and step.waits_for_cluster_kinds:
                world.kinds |= world.installing
                world.installing.clear()
            problems += plan_needs(name, stacks[name], world)
            problems += account_needs(name, stacks[name], world)
            problems += apply_timing(name, stacks[name], world)
            apply(stacks[name], world)
        if step.creates_secret_version and secret:
            if secret not in world.secrets:
                problems.append(f"{step.title}: secret {secret} does not exist to add a version to")
            world.secret_versions.add(secret)
    return problems


def applied_before(stacks: dict[str, dict], sequence: tuple[Step, ...] = DEPLOY_SEQUENCE) -> dict[str, set[Event]]:
    """Per stack, the APIs earlier steps of ``sequence`` enabled before its first apply (what
    :func:`gkeml.lifecycle.order.order_problems` takes as ``earlier``): for each environment whose first
    step's stacks are in ``stacks`` (the bootstrap), every API its earlier steps' stacks enable."""
    envs = set()
    for pattern in sequence[0].stacks:
        before, after = pattern.split("{env}")
        envs |= {n[len(before) : len(n) - len(after)] for n in stacks if n.startswith(before) and n.endswith(after)}
    earlier: dict[str, set[Event]] = {}
    for env in envs:
        enabled: set[Event] = set()
        for step in sequence:
            names = [p.format(env=env) for p in step.stacks]
            for name in names:
                earlier.setdefault(name, set()).update(enabled)
            enabled |= {e for name in names if name in stacks for e in produced(stacks[name]) if e[0] == API}
    return earlier
