"""Every check ``gkeml check`` reports, registered once, and the finding each reports.

A check is registered where it is implemented (the rules of :mod:`gkeml.rules`, the first-apply facts of
:mod:`gkeml.lifecycle.order`, the changes of :mod:`gkeml.lifecycle.transitions`, the release check of
:mod:`gkeml.release`, the environment notices of :mod:`gkeml.config`), with its stable id, its kind, the
severity of its findings, a title, the help a user reads, the source it rests on and the kinds of object it
inspects. ``docs/policy.md`` is generated from :data:`CHECKS` (:func:`gkeml.docs.rule_table`), and every
finding is made by its check (:meth:`Check.finding`), so an id, a severity and a title are written once.

This module sits at the bottom of the import layers (tests/test_layers.py) so that every layer that
implements a check can register it here; it imports nothing of gkeml.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

# What a check rests on: a documented fact of the platform (GKE, Kubernetes, Terraform, a controller or
# chart), with its source, or gkeml's advice (a baseline or a choice the file must make visible).
FACT, ADVICE = "fact", "advice"

# The severity of a finding, gravest first: an error is what the platform refuses or will not run, a warning
# what it changes (you pay for, or get, something other than the file says), advice what gkeml recommends
# (a finding of an advice check; the security baseline is an error on a team's own objects, see BASELINE).
# `gkeml check --fail-on` fails on findings at or above a severity (default: error).
ERROR, WARNING = "error", "warning"
SEVERITIES = (ERROR, WARNING, ADVICE)


def at_least(severity: str, threshold: str) -> bool:
    """Whether ``severity`` is ``threshold`` or graver (both of :data:`SEVERITIES`)."""
    return SEVERITIES.index(severity) <= SEVERITIES.index(threshold)


# Kinds of check, in the order docs/policy.md lists them, with what each kind looks at.
ADMISSION = "admission"
BASELINE = "baseline"
CONTROLLER = "controller"
CAPACITY = "capacity"
INTERACTION = "interaction"
PERMISSION = "permission"
ORDER = "order"
TIMING = "timing"
TRANSITION = "transition"
ENVIRONMENT = "environment"
KINDS: dict[str, str] = {
    ADMISSION: "what GKE Autopilot refuses to admit, ignores or changes in an object (off with `--target standard`)",
    BASELINE: "gkeml's baseline (restricted Pod Security Standard, default-deny ingress, explicit requests): "
    "advice on others' manifests, an error on the toolkit's own output and on objects a team marks as its own "
    '(`gkeml check --own FILE`, or the annotation `gkeml.io/own: "true"`)',
    CONTROLLER: "what a controller does with an object once it runs (compute classes, Spot preemption, "
    "autoscalers, Jobs, Ingress and certificates, sidecars, charts)",
    CAPACITY: "whether a workload at its largest fits its namespace's quota and its Kueue queue",
    INTERACTION: "two controllers acting on one object (the table below)",
    PERMISSION: "whether the CI identities may plan and apply every stack (the permission model, docs/permissions.md)",
    ORDER: "the first apply: what must exist before a resource is created",
    TIMING: "the first apply: what exists at once but is usable only some time later",
    TRANSITION: "the next deploy, given what is deployed (`gkeml check --against REF`)",
    ENVIRONMENT: "a choice the environment file makes on purpose, reported on every run",
}


@dataclass(frozen=True)
class Finding:
    """One problem in one object: rule id, object ``Kind/namespace/name``, field path, message and fix."""

    rule: str
    severity: str
    object: str
    field: str
    message: str
    fix: str
    source: str = ""  # where the object came from: "file:line", an environment file, a job spec

    def to_dict(self) -> dict[str, str]:
        """Plain dict for JSON output."""
        return asdict(self)


@dataclass(frozen=True)
class Check:
    """One check: stable ``id``, ``kind`` (:data:`KINDS`), the ``severity`` of its findings (``also``: the
    other severity some of them carry, ``help`` says when), ``title``, ``help``, the ``source`` it rests on
    (``basis``: :data:`FACT` or :data:`ADVICE`), the object ``inspects`` (empty: every kind), whether its
    findings are ``notice``s (reported without failing the check), whether it holds only on GKE Autopilot
    (``autopilot``: every :data:`ADMISSION` check does; `gkeml check --target standard` runs none) and, for a
    rule on Kubernetes objects, ``run(obj, group)`` yielding its issues (:mod:`gkeml.rules.engine`)."""

    id: str
    kind: str
    severity: str
    title: str
    help: str
    source: str
    basis: str = FACT
    inspects: tuple[str, ...] = ()
    also: str = ""
    notice: bool = False
    autopilot: bool = False
    checked: str = ""  # when the source was last read (also in the source text where it has one)
    run: Callable[[Any, Any], Iterable[Any]] | None = None

    @property
    def autopilot_only(self) -> bool:
        """Whether the check holds only on GKE Autopilot (an admission check, or one that says so)."""
        return self.autopilot or self.kind == ADMISSION

    @property
    def level(self) -> str:
        """The severity as docs/policy.md shows it (``error or warning`` when findings may carry either)."""
        return f"{self.severity} or {self.also}" if self.also else self.severity

    def finding(
        self, object: str, field: str, message: str, fix: str, source: str = "", severity: str | None = None
    ) -> Finding:
        """A finding of this check (its severity unless ``severity`` says otherwise, which must be ``also``)."""
        level = severity or self.severity
        if level not in (self.severity, self.also):
            raise ValueError(f"{self.id} reports {self.level}, not {level}")
        return Finding(self.id, level, object, field, message, fix, source)


CHECKS: dict[str, Check] = {}


def register(check: Check) -> Check:
    """Add ``check`` to :data:`CHECKS`; ValueError when its id is taken or an attribute is not one the
    registry knows (a fact without a source, an unknown kind or severity)."""
    problems = []
    if check.id in CHECKS:
        problems.append("registered twice")
    if check.kind not in KINDS:
        problems.append(f"kind {check.kind!r} is none of {', '.join(KINDS)}")
    if check.severity not in SEVERITIES or check.also not in ("", *SEVERITIES) or check.also == check.severity:
        problems.append(f"severity {check.level!r} is not error, warning or advice, or one of them or another")
    if check.basis not in (FACT, ADVICE):
        problems.append(f"basis {check.basis!r} is neither {FACT} nor {ADVICE}")
    if ADVICE in (check.severity, check.also) and check.basis != ADVICE:
        problems.append("a finding of advice rests on gkeml's advice (basis advice), not on a fact")
    if not (check.title and check.help and check.source):
        problems.append("a check needs a title, a help text and a source")
    if problems:
        raise ValueError(f"check {check.id}: {'; '.join(problems)}")
    CHECKS[check.id] = check
    return check


def registered(kinds: Iterable[str] | None = None) -> list[Check]:
    """The registered checks (of ``kinds``), in the order of :data:`KINDS`, then by id."""
    order = {kind: i for i, kind in enumerate(KINDS)}
    wanted = set(KINDS if kinds is None else kinds)
    return sorted((c for c in CHECKS.values() if c.kind in wanted), key=lambda c: (order[c.kind], c.id))
