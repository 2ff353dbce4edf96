"""The permission model as a gate of ``gkeml check``: every synthesized stack of an environment is modelled
(IAM001), the deploy identity holds every permission its apply needs (IAM002) and the plan identity every
read its plan needs (IAM003), with the entries and custom roles the environment's extensions bring. The
same proof ``tests/test_permissions.py`` makes for gkeml's own stacks, run on a platform repository's (its
own extensions included) where that test does not run.

Pure Python over parsed ``cdk.tf.json`` files (see :mod:`gkeml.iam.model`).
"""

from __future__ import annotations

from dataclasses import dataclass

from gkeml.iam.model import PLAN, Identity, ModelError, PermissionModel, RoleSnapshot, missing
from gkeml.registry import ERROR, PERMISSION, Check, Finding, register

# What the gate rests on: the permissions of each API method the provider calls (resources.json, with its
# sources) and the permissions of Google's predefined roles (roles.json, a dated snapshot).
SOURCE = (
    "the permission model gkeml/iam/resources.json (each API method's 'IAM Permissions' as Google documents "
    "them, and the provider calls that make them) and the predefined roles' permissions, gkeml/iam/roles.json "
    "(gcloud iam roles describe, dated snapshot)"
)
FIXES = {
    "IAM001": "add its entry to gkeml/iam/resources.json, or to the permissions of the extension that adds it "
    "(docs/extensions.md)",
    "IAM002": "add the permission to the entry of the type that needs it (an extension's become the deploy "
    "identity's custom role gkemlDeployExtensions at the next bootstrap deploy), or a role that holds it to "
    "DEPLOY_ROLES",
    "IAM003": "list the read in the entry's read (an extension's become the plan identity's custom role "
    "gkemlPlanExtensions), or add a read-only role that holds it to PLAN_ROLES",
}


def _gate_check(rule_id: str, title: str, why: str) -> Check:
    return register(Check(rule_id, PERMISSION, ERROR, title, why, SOURCE, inspects=("cdk.tf.json",)))


RULES = {
    "IAM001": _gate_check(
        "IAM001",
        "A resource type, data source, kind, chart or backend of a stack is not in the permission model",
        "Nothing proves the CI identities may plan and apply it; gkeml/iam/resources.json (or the permissions of "
        "the extension that adds it) needs its entry, with a source.",
    ),
    "IAM002": _gate_check(
        "IAM002",
        "The deploy identity lacks a permission a stack's apply needs",
        "The deploy would stop at that resource with a 403; the deploy identity's roles (gkeml/iam/identities.py, "
        "granted by the bootstrap) or the extension's entries must hold it.",
    ),
    "IAM003": _gate_check(
        "IAM003",
        "The plan identity lacks a read a stack's plan needs",
        "Every pull request's plan would fail with a 403; the plan identity's read-only roles or the reads of the "
        "extension's entries must hold it.",
    ),
}


@dataclass(frozen=True)
class GateProblem:
    """One problem of one stack: the rule, the stack and the line saying what lacks what."""

    rule: str
    stack: str
    message: str

    @property
    def fix(self) -> str:
        return FIXES[self.rule]

    def finding(self, stack_file: str) -> Finding:
        """The problem as a ``gkeml check`` finding at the stack's ``cdk.tf.json``."""
        return RULES[self.rule].finding(f"stack/{self.stack}", "permissions", self.message, self.fix, stack_file)


def gate_problems(
    stacks: dict[str, dict], model: PermissionModel, deploy: Identity, plan: Identity, roles: RoleSnapshot
) -> list[GateProblem]:
    """The gate's problems for ``stacks`` (stack name -> parsed cdk.tf.json) of one environment."""
    problems: list[GateProblem] = []
    for name, stack in sorted(stacks.items()):
        try:
            needs = model.needs(stack, name)
        except ModelError as exc:
            problems += [GateProblem("IAM001", name, line) for line in exc.problems]
            continue
        problems += [GateProblem("IAM002", name, line) for line in missing(deploy, needs, roles)]
        problems += [GateProblem("IAM003", name, line) for line in missing(plan, needs, roles, phases=(PLAN,))]
    return problems
