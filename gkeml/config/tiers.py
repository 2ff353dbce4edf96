"""What tier an environment is, and the guards each tier keeps.

An environment's tier (dev, staging, prod) picks its defaults (:data:`gkeml.config.model.TIER_DEFAULTS`)
and its guards (:data:`GUARDS`). Neither goes away by one careless line:

- **The tier an environment is** comes from what it is, not from its ``tier:`` line: the words of its
  name, project ID and project labels, its state location, its data (bucket prefix and names), its
  public hosts and DNS domain (``prod``,
  ``prd01``, ``eu-production``, ``acme-ml-prod2``; ``non-prod`` is none, ``pre-prod`` is staging), and
  the tier of the environment it was copied from (``gkeml env new`` refuses a lower tier without a
  reason and records the source's tier as ``tier_override.instead_of``). A lower ``tier:`` needs
  ``tier_override`` with a reason.
- **A guard of the tier** (prod's Binary Authorization enforcing an allowlist that pins each image's
  owner, its deletion protection, ...) is refused when lowered; the guards a file may lower on purpose
  (:data:`gkeml.config.model.OVERRIDABLE_GUARDS`) need ``guard_overrides`` with a reason.

``gkeml check`` reports every override on every run (ENV001), so the exception stays visible.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from gkeml import platform
from gkeml.config.base import Problem
from gkeml.config.loader import file_line
from gkeml.config.model import TIER_RANK, Environment
from gkeml.registry import ADVICE, ENVIRONMENT, WARNING, Check, Finding, register

# Words that name a tier, matched against the words of a value: its runs of letters and of digits
# (``prd01`` -> prd, 01; ``eu-prod2`` -> eu, prod, 2), lowercase.
TIER_WORDS: dict[str, tuple[str, ...]] = {
    "prod": ("prod", "production", "prd"),
    "staging": ("staging", "stage", "stg", "preprod", "preprd"),
}
_TIER_OF_WORD = {word: tier for tier, words in TIER_WORDS.items() for word in words}
# A word before a tier word that changes what it says: non-prod is no tier, pre-prod is staging.
NOT_A_TIER = ("non",)
BEFORE_PROD = {"pre": "staging"}


def tier_in_words(value: str) -> str | None:
    """The highest tier a word of ``value`` names (``acme-ml-prd01`` -> prod), or None."""
    words = re.findall(r"[a-z]+|[0-9]+", value.lower())
    found = None
    for i, word in enumerate(words):
        tier = _TIER_OF_WORD.get(word)
        before = words[i - 1] if i else ""
        if tier is None or before in NOT_A_TIER:
            continue
        if tier == "prod" and before in BEFORE_PROD:
            tier = BEFORE_PROD[before]
        if found is None or TIER_RANK[tier] > TIER_RANK[found]:
            found = tier
    return found


@dataclass(frozen=True)
class Evidence:
    """A value of the environment that says which tier it is."""

    tier: str
    path: tuple
    value: str

    @property
    def says(self) -> str:
        """``name 'prod2'``: where it is, for messages."""
        from gkeml.config.loader import field_name

        if self.path == INSTEAD_OF:  # the value is the tier itself
            return field_name(self.path)
        return f"{field_name(self.path)} {self.value!r}"


INSTEAD_OF = ("tier_override", "instead_of")


def evidence(env: Environment) -> Iterator[Evidence]:
    """Every value of ``env`` that names a tier, strongest first: its name, project ID and labels, state
    location, data (the name prefix of its buckets, their names), public hosts and DNS domain, and
    ``tier_override.instead_of`` (the tier it stands in for)."""
    values: list[tuple[tuple, str]] = [(("name",), env.name), (("project", "id"), env.project.id)]
    values += [(("project", "labels", key), value) for key, value in env.project.labels.items()]
    values += [(("state", "bucket"), env.state.bucket), (("state", "prefix"), env.state.prefix)]
    values += [(("prefix",), env.prefix)] if "prefix" in env.model_fields_set else []
    values += [(("buckets", i, "name"), b.name) for i, b in enumerate(env.buckets)]
    values += [(("endpoints", i, "host"), e.host) for i, e in enumerate(env.endpoints)]
    if env.dns is not None:
        values.append((("dns", "domain"), env.dns.domain))
    for path, value in values:
        tier = tier_in_words(value)
        if tier is not None:
            yield Evidence(tier, path, value)
    override = env.tier_override
    if override is not None and override.instead_of is not None:
        yield Evidence(override.instead_of, INSTEAD_OF, override.instead_of)


def implied_tier(env: Environment) -> Evidence | None:
    """The highest tier ``env`` is by :func:`evidence` (the first value that says it), or None."""
    found = None
    for item in evidence(env):
        if found is None or TIER_RANK[item.tier] > TIER_RANK[found.tier]:
            found = item
    return found


# Reported for every tier_override and guard_overrides entry; it does not fail the check (the override was
# reviewed when it was added), so it stays visible without blocking every pipeline.
TIER_OVERRIDE_CHECK = register(
    Check(
        "ENV001",
        ENVIRONMENT,
        WARNING,
        "An environment runs below the tier it is, or lowers a guard of its tier",
        "`tier_override` drops the guards of the tier its name, project, labels, state, hosts or source imply; "
        "`guard_overrides` lowers one guard; each is reported on every run so the exception stays visible.",
        "gkeml's tiers and their guards (gkeml/config/tiers.py GUARDS; docs/policy.md, 'Environments running "
        "below their tier')",
        basis=ADVICE,
        inspects=("Environment",),
        notice=True,
    )
)


def override_findings(env: Environment, env_file: str) -> list[Finding]:
    """ENV001 for the environment in ``env_file`` running below the tier it is (``tier_override``) and for
    every guard of its tier it lowers (``guard_overrides``), at the key that says so."""
    protects = {g.name: g.protects for g in GUARDS}
    found = []
    if env.tier_override is not None:
        implied = implied_tier(env)
        tier, says = (implied.tier, implied.says) if implied else ("?", f"name {env.name!r}")
        found.append(
            TIER_OVERRIDE_CHECK.finding(
                f"Environment/{env.name}",
                "tier_override",
                f"runs at tier {env.tier} although {says} implies {tier} (its guards are off): "
                f"{env.tier_override.reason}",
                f"set tier: {tier} and remove tier_override once the reason is gone",
                f"{env_file}:{file_line(env_file, ('tier_override',))}",
            )
        )
    for i, override in enumerate(env.guard_overrides):
        found.append(
            TIER_OVERRIDE_CHECK.finding(
                f"Environment/{env.name}",
                f"guard_overrides[{i}]",
                f"lowers {override.guard} of tier {env.tier} ({protects[override.guard]}): {override.reason}",
                "restore the guard and remove the entry once the reason is gone",
                f"{env_file}:{file_line(env_file, ('guard_overrides', i))}",
            )
        )
    return found


# --- the guards of each tier ---------------------------------------------------------------


@dataclass(frozen=True)
class Guard:
    """A protection every environment of ``tier`` (and above) keeps: what it protects, the check that
    finds it lowered, and whether a file may lower it on purpose (``guard_overrides``)."""

    name: str
    tier: str
    protects: str
    check: Callable[[Environment], Iterator[Problem]]
    overridable: bool = False

    def applies(self, env: Environment) -> bool:
        return TIER_RANK[env.tier] >= TIER_RANK[self.tier]


def _release_channel(env: Environment) -> Iterator[Problem]:
    channel = env.cluster.release_channel
    if channel not in platform.PROD_RELEASE_CHANNELS:
        yield (
            ("cluster", "release_channel"),
            f"{channel} is not allowed in prod; use " + " or ".join(platform.PROD_RELEASE_CHANNELS),
        )


def _deletion_protection(env: Environment) -> Iterator[Problem]:
    if not env.cluster.deletion_protection and not env.retired:
        yield ("cluster", "deletion_protection"), "must stay true in prod (unless retired: true); remove the key"


def _private_control_plane(env: Environment) -> Iterator[Problem]:
    if env.cluster.public_endpoint:
        yield ("cluster", "public_endpoint"), "prod has no public control-plane IP; use the DNS endpoint"


def _kept_buckets(env: Environment) -> Iterator[Problem]:
    for i, b in enumerate(env.buckets):
        if b.force_destroy:
            yield ("buckets", i, "force_destroy"), "buckets are never force-destroyed in prod"


def registry_wide(pattern: str) -> bool:
    """Whether an admission allowlist pattern admits every image of a registry host (``docker.io/**``,
    ``us-docker.pkg.dev/**``): anyone's project, account or organization on it (the first path
    segment of an image on a shared registry names its owner)."""
    return pattern.endswith("/**") and "/" not in pattern[: -len("/**")]


def _binary_authorization(env: Environment) -> Iterator[Problem]:
    policy = env.cluster.binary_authorization
    if policy.mode != "enforce":
        what = "only logs the images it would deny" if policy.mode == "dryrun" else "writes no policy: every image runs"
        yield (
            ("cluster", "binary_authorization", "mode"),
            f"{policy.mode} {what}; prod enforces its allowlist: remove the key (enforce)",
        )
    for i, pattern in enumerate(policy.allowed_images):
        if registry_wide(pattern):
            host = pattern[: -len("/**")]
            yield (
                ("cluster", "binary_authorization", "allowed_images", i),
                f"{pattern} admits every image on {host}, whoever pushed it; pin its owner, e.g. "
                f"{host}/PROJECT-OR-ORG/**",
            )


GUARDS: tuple[Guard, ...] = (
    Guard("release_channel", "prod", "the STABLE or EXTENDED channel", _release_channel),
    Guard("deletion_protection", "prod", "deletion protection", _deletion_protection),
    Guard("private_control_plane", "prod", "no public control-plane IP", _private_control_plane),
    Guard("bucket_force_destroy", "prod", "buckets that are never force-destroyed", _kept_buckets),
    Guard(
        "binary_authorization",
        "prod",
        "Binary Authorization enforcing an allowlist that pins each image's owner",
        _binary_authorization,
        overridable=True,
    ),
)


def guard_applies(name: object, tier: str) -> bool:
    """Whether an environment of ``tier`` keeps the guard called ``name`` (False for an unknown name)."""
    return any(g.name == name and TIER_RANK[tier] >= TIER_RANK[g.tier] for g in GUARDS)


# What a lower tier gives up beyond its guards: staging's defaults (gkeml.config.model.TIER_DEFAULTS).
TIER_DEFAULT_PROTECTIONS = {"staging": "deletion protection, buckets that are never force-destroyed"}


def dropped(tier: str) -> str:
    """What running below ``tier`` drops: the guards and protective defaults of that tier."""
    guards = [g.protects for g in GUARDS if TIER_RANK[g.tier] <= TIER_RANK[tier]]
    return ", ".join(guards) or TIER_DEFAULT_PROTECTIONS.get(tier, "nothing")


def _guards(env: Environment) -> Iterator[Problem]:
    """Every guard of the environment's tier that the file lowers, unless a reasoned override names it."""
    overridden = {o.guard: i for i, o in enumerate(env.guard_overrides)}
    for guard in GUARDS:
        problems = list(guard.check(env)) if guard.applies(env) else []
        if guard.name in overridden:
            if not problems:
                yield (
                    ("guard_overrides", overridden[guard.name], "guard"),
                    f"nothing to override: {guard.name} ({guard.protects}) holds in this {env.tier} environment; "
                    "remove the entry",
                )
            continue
        for path, message in problems:
            if guard.overridable:
                message += (
                    f', or keep it with guard_overrides: [{{guard: {guard.name}, reason: "why"}}] '
                    "(gkeml check then reports it on every run)"
                )
            yield path, message


def _tier(env: Environment) -> Iterator[Problem]:
    """An environment that is production (or staging) by what it is cannot drop that tier's guards by
    one line: a lower tier needs ``tier_override`` with a reason (reported by ``gkeml check``)."""
    override = env.tier_override
    instead_of = override.instead_of if override is not None else None
    if instead_of is not None and TIER_RANK[instead_of] <= TIER_RANK[env.tier]:
        yield (
            INSTEAD_OF,
            f"{instead_of} is not above tier {env.tier}; name the tier the environment would otherwise run at",
        )
        return
    implied = implied_tier(env)
    lower = implied is not None and TIER_RANK[env.tier] < TIER_RANK[implied.tier]
    if implied is not None and lower and override is None:
        yield (
            ("tier",),
            f"{env.tier} is lower than {implied.tier}, which {implied.says} implies, and drops "
            f"{dropped(implied.tier)}; set tier: {implied.tier}, or keep {env.tier} with tier_override: "
            f'{{tier: {env.tier}, reason: "why"}} (gkeml check then reports it on every run)',
        )
    if override is not None:
        if not lower:
            yield (
                ("tier_override",),
                f"nothing to override: tier {env.tier} is not lower than the name, project, labels, state "
                "or hosts imply; remove tier_override (or say what it stands in for: instead_of)",
            )
        elif override.tier != env.tier:
            yield ("tier_override", "tier"), f"{override.tier} differs from tier {env.tier}; make them equal"


def tier_problems(env: Environment) -> Iterator[Problem]:
    """The tier ``env`` runs at against the tier it is, and the guards of its tier."""
    yield from _tier(env)
    yield from _guards(env)
