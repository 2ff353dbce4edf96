"""Policy rules: Autopilot admission checks and the security baseline, over plain dicts.

``check(objects)`` runs every registered rule (stable ids ``GKE001``...) over one
group of objects applied together and returns :class:`Finding` objects naming
the rule, the object (``Kind/namespace/name``), the field path, the problem and
the fix. Every number a rule compares against comes from :mod:`gkeml.platform`.
``gkeml check`` is the command-line front end; ``docs/policy.md`` lists the rules.
"""

from gkeml.registry import ERROR, WARNING, Finding
from gkeml.rules import (  # noqa: F401  (registers the rules)
    autoscaling,
    gateway,
    gpu_requests,
    interactions,
    ownership,
    placement,
    queueing,
    quota,
    scheduling,
    security,
    targets,
    workloads,
)
from gkeml.rules.engine import AUTOPILOT, RULES, STANDARD, TARGETS, Manifest, Rule, check
from gkeml.rules.sources import helm_release_objects, load_manifest_files

__all__ = [
    "AUTOPILOT",
    "ERROR",
    "RULES",
    "STANDARD",
    "TARGETS",
    "WARNING",
    "Finding",
    "Manifest",
    "Rule",
    "check",
    "helm_release_objects",
    "load_manifest_files",
]
