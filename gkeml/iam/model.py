"""The permission model (``resources.json``) and the role snapshot (``roles.json``), and the checks
built on them: which IAM permissions a synthesized stack needs to plan and to apply, which
permissions an identity holds through its roles, what is missing, and what a read-only identity
holds that writes.

Pure Python: the input is a parsed ``cdk.tf.json`` (a dict); nothing here imports a framework.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

RESOURCES_FILE = Path(__file__).with_name("resources.json")
ROLES_FILE = Path(__file__).with_name("roles.json")
# how the files are named in messages (relative to the repository root)
RESOURCES_NAME = "gkeml/iam/resources.json"
ROLES_NAME = "gkeml/iam/roles.json"

# where a permission is needed or held
PROJECT = "project"
STATE_BUCKET = "state_bucket"
BILLING_ACCOUNT = "billing_account"
# one service account of the project (Need.target and Grant.limited_to: its email); a grant on the project
# holds for every service account in it (IAM policy inheritance), a grant on one account for that one alone
SERVICE_ACCOUNT = "service_account"
SCOPE_WORDS = {
    PROJECT: "the project",
    STATE_BUCKET: "the state bucket",
    BILLING_ACCOUNT: "the billing account",
    SERVICE_ACCOUNT: "a service account",
}
# what a grant on the project also covers: the project's resources of these scopes
INHERITED_FROM_PROJECT = (SERVICE_ACCOUNT,)
# the service account a cluster's nodes run as when it names none
DEFAULT_NODE_ACCOUNT = "the Compute Engine default service account"
# when: PLAN is `terraform plan` (refresh and plan-time calls); APPLY adds create/update/delete
PLAN = "plan"
APPLY = "apply"
APPLY_OPERATIONS = ("create", "update", "delete")
DEFAULT_HELM_DRIVER = "secret"  # the helm provider's default when helm_driver is not set
SHOWN_ADDRESSES = 3
LOCAL_CHART_PREFIX = "assets/"  # where cdktf puts a TerraformAsset in a stack's output directory


class ModelError(Exception):
    """What the data files do not cover (a resource type, kind, chart, role): one line each."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class Need:
    """One permission a stack needs, where (scope), when (phase) and for which address
    (``<stack>: <terraform address>``); ``target`` names a narrower set of objects (``lock``:
    the Terraform lock object; the email of a service account) that a conditioned or resource-level
    grant may be limited to."""

    permission: str
    scope: str
    phase: str
    address: str
    target: str = ""


@dataclass(frozen=True)
class Grant:
    """One role granted to an identity at one scope. ``permissions`` is set for a custom role;
    ``limited_to`` is the need target an IAM condition limits the grant to (it then satisfies no
    other need); ``writes_allowed`` says why a read-only identity may hold its write permissions."""

    role: str
    scope: str
    permissions: tuple[str, ...] | None = None
    condition: str = ""
    why: str = ""
    limited_to: str = ""
    writes_allowed: str = ""

    def satisfies(self, need: Need) -> bool:
        """Whether this grant (holding ``need.permission`` at ``need.scope``, or on the project above it)
        covers ``need``."""
        return not self.limited_to or self.limited_to == need.target

    @property
    def where(self) -> str:
        """Where the grant is, in words: its scope, and for a grant on one service account, which."""
        return f"the service account {self.limited_to}" if self.scope == SERVICE_ACCOUNT else SCOPE_WORDS[self.scope]


@dataclass(frozen=True)
class Identity:
    """A principal (a CI service account, a person) and its grants."""

    name: str
    grants: tuple[Grant, ...]


class RoleSnapshot:
    """Predefined roles and their permissions, as snapshotted in ``roles.json``."""

    def __init__(self, data: dict):
        self.source: dict = data["source"]
        self.roles: dict[str, frozenset[str]] = {name: frozenset(r["permissions"]) for name, r in data["roles"].items()}
        self.titles: dict[str, str] = {name: r["title"] for name, r in data["roles"].items()}

    def permissions(self, grant: Grant) -> frozenset[str]:
        """The permissions ``grant`` gives: a custom role's own list, else the snapshot's.
        KeyError for a predefined role missing from the snapshot."""
        if grant.permissions is not None:
            return frozenset(grant.permissions)
        return self.roles[grant.role]


class PermissionModel:
    """``resources.json``: per resource type, data source, ephemeral resource, provider, backend,
    Kubernetes kind and Helm chart, the permissions each operation needs."""

    def __init__(self, data: dict):
        self.data = data
        rules = data["read_verbs"]
        self._read_prefixes = tuple(rules["prefixes"])
        self._read_verbs = frozenset(rules["verbs"])
        self._read_permissions = frozenset(rules["permissions"])

    def is_read(self, permission: str) -> bool:
        """True when ``permission`` changes nothing (``read_verbs`` in the data says why each rule holds)."""
        verb = permission.rsplit(".", 1)[-1]
        return permission in self._read_permissions or verb in self._read_verbs or verb.startswith(self._read_prefixes)

    def needs(self, stack: dict, stack_name: str) -> list[Need]:
        """Every permission the synthesized ``stack`` needs; ModelError naming each resource type,
        kind, chart, driver or backend the model does not cover, and what to add."""
        found: list[Need] = []
        problems: dict[str, str] = {}
        for rtype, instances in sorted(stack.get("resource", {}).items()):
            for name, body in sorted(instances.items()):
                address = f"{rtype}.{name}"
                if rtype == "kubernetes_manifest":
                    found += self._manifest_needs(body, stack_name, address, problems)
                elif rtype == "helm_release":
                    found += self._helm_needs(body, helm_driver(stack, body), stack_name, address, problems)
                else:
                    found += self._resource_needs(rtype, body, stack_name, address, problems)
                found += self._provider_call_needs(stack, rtype, body, stack_name, address, problems)
        for section, prefix in (("data", "data."), ("ephemeral", "ephemeral.")):
            for rtype, instances in sorted(stack.get(section, {}).items()):
                for name, body in sorted(instances.items()):
                    address = f"{prefix}{rtype}.{name}"
                    found += self._provider_call_needs(stack, rtype, body, stack_name, address, problems)
                    entry = self.data[section].get(rtype)
                    if entry is None:
                        problems.setdefault(
                            f"{prefix}{rtype}",
                            (
                                f"{prefix}{rtype} (in {stack_name}: {address}): no entry in {RESOURCES_NAME} "
                                f'"{section}"; add its read permissions with a source'
                            ),
                        )
                        continue
                    found += [
                        Need(p, entry.get("scope", PROJECT), PLAN, f"{stack_name}: {address}") for p in entry["read"]
                    ]
        for provider in sorted(stack.get("provider", {})):
            entry = self.data["providers"].get(provider)
            if entry is not None:
                found += [Need(p, PROJECT, PLAN, f"{stack_name}: provider.{provider}") for p in entry["connect"]]
        for backend in sorted(stack.get("terraform", {}).get("backend", {})):
            entry = self.data["backends"].get(backend)
            address = f"{stack_name}: terraform.backend.{backend}"
            if entry is None:
                problems.setdefault(
                    f"backend {backend}",
                    (
                        f'backend {backend} (in {address}): no entry in {RESOURCES_NAME} "backends"; '
                        "add the permissions plan and apply need on its state storage with a source"
                    ),
                )
                continue
            found += [Need(p, entry["scope"], PLAN, address) for p in entry["plan"]]
            found += [Need(p, entry["scope"], PLAN, address, target="lock") for p in entry["lock"]]
            found += [Need(p, entry["scope"], APPLY, address) for p in entry["apply"]]
        if problems:
            raise ModelError(list(problems.values()))
        return found

    def _provider_call_needs(
        self, stack: dict, rtype: str, body: dict, stack_name: str, address: str, problems: dict
    ) -> list[Need]:
        """What every call of the provider configuration that ``body`` uses needs besides the call's own
        permission (``providers.<name>.settings``: ``user_project_override`` sends X-Goog-User-Project,
        which needs ``serviceusage.services.use`` on the quota project). These calls include the refresh
        of the resource by every plan, so the needs are plan needs."""
        name, config = provider_config(stack, rtype, body)
        settings = self.data["providers"].get(name, {}).get("settings", {})
        found: list[Need] = []
        for setting, rule in settings.items():
            if config.get(setting) != rule["when"]:
                continue
            quota_project = config.get(rule["on"]) or body.get("project") or config.get("project")
            home = default_project(stack, name)
            if quota_project != home:
                where = f"{stack_name}: {address}"
                problems.setdefault(
                    f"{name} {setting} {quota_project}",
                    (
                        f"{name} provider {setting} (in {where}): its calls name quota project {quota_project!r}, "
                        f"not the stack's project {home!r}; the model has no scope for another project: "
                        f"add one to {RESOURCES_NAME} and gkeml/iam/model.py, or set {rule['on']} to the stack's project"
                    ),
                )
                continue
            found += [Need(p, PROJECT, PLAN, f"{stack_name}: {address} (via {setting})") for p in rule["every_call"]]
        return found

    def _resource_needs(self, rtype: str, body: dict, stack_name: str, address: str, problems: dict) -> list[Need]:
        entry = self.data["resources"].get(rtype)
        if entry is None:
            problems.setdefault(
                rtype,
                (
                    f"{rtype} (in {stack_name}: {address}): no entry in {RESOURCES_NAME}; "
                    "add its create/update/delete/read permissions with a source"
                ),
            )
            return []
        scope = entry.get("scope", PROJECT)
        where = f"{stack_name}: {address}"
        # a resource on one service account (its IAM policy): the needs are on that account
        target = account_of(attribute(body, entry["account_attribute"])) if "account_attribute" in entry else ""
        needs = [Need(p, scope, PLAN, where, target) for p in entry["read"]]
        needs += [Need(p, scope, APPLY, where, target) for op in APPLY_OPERATIONS for p in entry[op]]
        for rule in entry.get("when", []):  # what an attribute's value adds (force_destroy deletes objects)
            if body.get(rule["attribute"]) == rule["equals"]:
                needs += [Need(p, scope, APPLY, where, target) for op in APPLY_OPERATIONS for p in rule.get(op, [])]
        for rule in entry.get("on_service_account", []):  # calls that act as the account an attribute names
            account = account_of(attribute(body, rule["attribute"])) or DEFAULT_NODE_ACCOUNT
            needs += [
                Need(p, SERVICE_ACCOUNT, APPLY, where, account) for op in APPLY_OPERATIONS for p in rule.get(op, [])
            ]
        return needs

    def _kind_permissions(self, key: str, operation: str, verbs: list[str]) -> list[str]:
        entry = self.data["kubernetes_kinds"][key]
        return [f"{resource}.{verb}" for resource in entry["iam_resources"] for verb in verbs] + entry.get(
            "extra", {}
        ).get(operation, [])

    def _manifest_needs(self, body: dict, stack_name: str, address: str, problems: dict) -> list[Need]:
        manifest = body.get("manifest", {})
        key = kind_key(manifest.get("apiVersion", ""), manifest.get("kind", ""))
        if key not in self.data["kubernetes_kinds"]:
            problems.setdefault(f"kind {key}", missing_kind(key, f"{stack_name}: {address}", "kubernetes_manifest"))
            return []
        operations = self.data["kubernetes_operations"]["kubernetes_manifest"]
        where = f"{stack_name}: {address}"
        needs = [Need(p, PROJECT, PLAN, where) for p in self._kind_permissions(key, "read", operations["read"])]
        needs += [Need(p, PROJECT, PLAN, where) for p in operations["every_plan"]]
        return needs + [
            Need(p, PROJECT, APPLY, where)
            for op in APPLY_OPERATIONS
            for p in self._kind_permissions(key, op, operations[op])
        ]

    def _helm_needs(self, body: dict, driver: str, stack_name: str, address: str, problems: dict) -> list[Need]:
        where = f"{stack_name}: {address}"
        chart = chart_key(body)
        entry = self.data["helm_charts"].get(chart)
        storage = self.data["helm_storage"].get(driver)
        if entry is None:
            problems.setdefault(
                f"chart {chart}",
                (
                    f'helm chart {chart} (in {where}): no entry in {RESOURCES_NAME} "helm_charts"; '
                    "add the kinds of the objects it creates with a source"
                ),
            )
        if storage is None:
            problems.setdefault(
                f"driver {driver}",
                (
                    f'helm_driver {driver} (in {where}): no entry in {RESOURCES_NAME} "helm_storage"; '
                    "add the permissions its release storage needs with a source"
                ),
            )
        if entry is None or storage is None:
            return []
        operations = self.data["kubernetes_operations"]["helm_release"]
        needs = [Need(p, PROJECT, PLAN, where) for p in storage["read"]]
        needs += [Need(p, PROJECT, APPLY, where) for p in storage["write"]]
        if body.get("wait", True):
            needs += [Need(p, PROJECT, APPLY, where) for p in operations["wait"]]
        for key in entry["objects"]:
            if key not in self.data["kubernetes_kinds"]:
                problems.setdefault(f"kind {key}", missing_kind(key, where, f"helm chart {chart}"))
                continue
            needs += [
                Need(p, PROJECT, APPLY, where)
                for op in APPLY_OPERATIONS
                for p in self._kind_permissions(key, op, operations[op])
            ]
        return needs

    def named_permissions(self) -> dict[str, set[str]]:
        """Every permission the model names, with where it is named (for consistency checks)."""
        named: dict[str, set[str]] = defaultdict(set)
        for section in ("resources", "data", "ephemeral"):
            for rtype, entry in self.data[section].items():
                for op in ("read", *APPLY_OPERATIONS):
                    for permission in entry.get(op, []):
                        named[permission].add(f"{section}.{rtype}")
                    for rule in entry.get("when", []):
                        for permission in rule.get(op, []):
                            named[permission].add(f"{section}.{rtype}.when.{rule['attribute']}")
                    for rule in entry.get("on_service_account", []):
                        for permission in rule.get(op, []):
                            named[permission].add(f"{section}.{rtype}.on_service_account.{rule['attribute']}")
        for name, entry in self.data["providers"].items():
            for permission in entry["connect"]:
                named[permission].add(f"providers.{name}")
            for setting, rule in entry.get("settings", {}).items():
                for permission in rule["every_call"]:
                    named[permission].add(f"providers.{name}.settings.{setting}")
        for name, entry in self.data["backends"].items():
            for permission in entry["plan"] + entry["lock"] + entry["apply"]:
                named[permission].add(f"backends.{name}")
        for name, entry in self.data["helm_storage"].items():
            for permission in entry["read"] + entry["write"]:
                named[permission].add(f"helm_storage.{name}")
        verbs = {
            v
            for op in self.data["kubernetes_operations"].values()
            for key in ("read", *APPLY_OPERATIONS)
            for v in op[key]
        }
        for op in self.data["kubernetes_operations"].values():
            for permission in op.get("every_plan", []) + op.get("wait", []):
                named[permission].add("kubernetes_operations")
        for key, entry in self.data["kubernetes_kinds"].items():
            for resource in entry["iam_resources"]:
                for verb in verbs:
                    named[f"{resource}.{verb}"].add(f"kubernetes_kinds.{key}")
            for permissions in entry.get("extra", {}).values():
                for permission in permissions:
                    named[permission].add(f"kubernetes_kinds.{key}")
        return named


def attribute(body: dict, path: str) -> object:
    """The value at dotted ``path`` of a synthesized resource (a nested block may be an object or a list of
    one, as cdktf writes either); None when absent."""
    value: object = body
    for key in path.split("."):
        if isinstance(value, list):
            value = value[0] if value else None
        value = value.get(key) if isinstance(value, dict) else None
    return value


def account_of(value: object) -> str:
    """The email of the service account a synthesized value names (``projects/P/serviceAccounts/EMAIL``,
    ``serviceAccount:EMAIL`` or the email itself); a Terraform reference is returned as written (the
    account is made in the same stack, so only a grant on the project can be known to cover it); '' for
    none."""
    if not isinstance(value, str):
        return ""
    if value.startswith("${"):
        return value
    return value.rsplit("/serviceAccounts/", 1)[-1].removeprefix("serviceAccount:")


def chart_key(release: dict) -> str:
    """The ``helm_charts`` key of a synthesized ``helm_release``: its chart, or for a local chart shipped
    into the stack's output as a cdktf asset (``chart = assets/<id>/<hash>``) the release's name."""
    chart = str(release.get("chart", ""))
    return str(release.get("name", chart)) if chart.startswith(LOCAL_CHART_PREFIX) else chart


def kind_key(api_version: str, kind: str) -> str:
    """``<API group>/<Kind>`` of a Kubernetes object (``core`` for the core group, ``v1``)."""
    group = api_version.rpartition("/")[0] if "/" in api_version else "core"
    return f"{group}/{kind}"


def missing_kind(key: str, where: str, user: str) -> str:
    """The message for a Kubernetes kind the model does not cover."""
    return (
        f'{user} kind {key} (in {where}): no entry in {RESOURCES_NAME} "kubernetes_kinds"; add the GKE IAM '
        "resource(s) that authorize it (container.<resource>, or container.thirdPartyObjects for a custom "
        "resource) with a source"
    )


def provider_config(stack: dict, rtype: str, body: dict) -> tuple[str, dict]:
    """(provider name, synthesized configuration) of the provider block that resource or data source
    ``body`` of type ``rtype`` uses: its ``provider`` (``google.billing``), else the default (unaliased)
    block of the provider its type names (``google_...`` -> ``google``); ``{}`` when there is none."""
    name, _, alias = str(body.get("provider") or rtype.split("_", 1)[0]).partition(".")
    for block in stack.get("provider", {}).get(name, []):
        if block.get("alias", "") == alias:
            return name, block
    return name, {}


def default_project(stack: dict, provider: str) -> str | None:
    """The ``project`` of the stack's default (unaliased) block of ``provider``."""
    for block in stack.get("provider", {}).get(provider, []):
        if not block.get("alias"):
            return block.get("project")
    return None


def helm_driver(stack: dict, release: dict) -> str:
    """The release storage driver of the helm provider that ``release`` uses, as synthesized
    (``helm_driver``; ``secret`` when not set)."""
    return str(provider_config(stack, "helm_release", release)[1].get("helm_driver", DEFAULT_HELM_DRIVER))


def held(identity: Identity, roles: RoleSnapshot) -> dict[tuple[str, str], list[Grant]]:
    """``(scope, permission) -> the grants giving it``; ModelError naming every predefined role of
    ``identity`` that the snapshot lacks."""
    found: dict[tuple[str, str], list[Grant]] = defaultdict(list)
    problems = []
    for grant in identity.grants:
        try:
            permissions = roles.permissions(grant)
        except KeyError:
            problems.append(
                f"{grant.role} (granted to the {identity.name} identity): not in the role snapshot "
                f"{ROLES_NAME}; add its permissions (gcloud iam roles describe {grant.role}) "
                "and the snapshot's source"
            )
            continue
        for permission in permissions:
            found[(grant.scope, permission)].append(grant)
    if problems:
        raise ModelError(problems)
    return found


def covering(holds: dict[tuple[str, str], list[Grant]], need: Need) -> list[Grant]:
    """The grants of ``holds`` (:func:`held`) that cover ``need``: at its scope, or on the project for a
    scope the project's policy is inherited by (:data:`INHERITED_FROM_PROJECT`)."""
    grants = list(holds.get((need.scope, need.permission), []))
    if need.scope in INHERITED_FROM_PROJECT:
        grants += holds.get((PROJECT, need.permission), [])
    return [g for g in grants if g.satisfies(need)]


def _where(need: Need) -> str:
    return f"the service account {need.target}" if need.scope == SERVICE_ACCOUNT else SCOPE_WORDS[need.scope]


def missing(identity: Identity, needs: list[Need], roles: RoleSnapshot, phases=(PLAN, APPLY)) -> list[str]:
    """One line per permission of ``needs`` (in ``phases``) that ``identity`` does not hold,
    naming where (the scope; which service account) and the addresses that need it."""
    holds = held(identity, roles)
    lacking: dict[tuple[str, str], list[str]] = defaultdict(list)
    for need in needs:
        if need.phase in phases and not covering(holds, need):
            where = f"{need.address} ({need.phase})"
            if where not in lacking[(_where(need), need.permission)]:
                lacking[(_where(need), need.permission)].append(where)
    return [
        f"the {identity.name} identity lacks {permission} on {scope}, needed by {shorten(addresses)}"
        for (scope, permission), addresses in sorted(lacking.items())
    ]


def writes(identity: Identity, roles: RoleSnapshot, model: PermissionModel) -> list[str]:
    """One line per write permission ``identity`` holds through a grant without a stated reason
    (``Grant.writes_allowed``): what a read-only identity must not have."""
    found = []
    for (_, permission), grants in sorted(held(identity, roles).items()):
        if model.is_read(permission):
            continue
        for where in sorted({g.where for g in grants if not g.writes_allowed}):
            unexplained = [g.role for g in grants if not g.writes_allowed and g.where == where]
            found.append(
                f"the {identity.name} identity holds {permission} on {where} through {', '.join(unexplained)}: it writes"
            )
    return found


def only_from(
    identity: Identity, role: str, needs: list[Need], roles: RoleSnapshot, phases=(PLAN, APPLY)
) -> list[Need]:
    """The needs (in ``phases``) that ``role`` alone satisfies for ``identity``: why the role is there."""
    holds = held(identity, roles)
    return [n for n in needs if n.phase in phases and [g.role for g in covering(holds, n)] == [role]]


def shorten(items: list[str]) -> str:
    """``a, b, c and 4 more``."""
    shown = ", ".join(items[:SHOWN_ADDRESSES])
    return shown + (f" and {len(items) - SHOWN_ADDRESSES} more" if len(items) > SHOWN_ADDRESSES else "")


@lru_cache(maxsize=1)
def load_model(path: str | Path = RESOURCES_FILE) -> PermissionModel:
    """The shipped permission model (``resources.json``), or another file."""
    return PermissionModel(json.loads(Path(path).read_text()))


@lru_cache(maxsize=1)
def load_roles(path: str | Path = ROLES_FILE) -> RoleSnapshot:
    """The shipped role snapshot (``roles.json``), or another file."""
    return RoleSnapshot(json.loads(Path(path).read_text()))
