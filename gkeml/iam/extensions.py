"""The permission-model entries an extension brings (:attr:`gkeml.config.extensions.Extension.permissions`):
what they must say, what they may not ask for, and the model with them added.

An extension's entries become custom roles of the CI identities (the bootstrap creates them with exactly
these permissions), so they are held to more than gkeml's own: each names only types gkeml's model does not
have (an extension cannot loosen an entry of gkeml's), each permission is ``service.resource.verb``, reads are
reads, and no entry asks for a permission that administers IAM: an extension's grants go through the roles it
declares (:meth:`~gkeml.config.extensions.Extension.project_roles`, granted by the deploy identity's conditioned
Project IAM Admin) and gkeml's grant methods, never through a custom role.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from gkeml.config.extensions import OPERATIONS, PERMISSION, RESOURCE_SECTIONS
from gkeml.iam.model import PermissionModel

SECTIONS = (*RESOURCE_SECTIONS, "kubernetes_kinds")
# Permissions that administer identities or policies: never in an extension's custom role.
FORBIDDEN_SERVICES = ("iam.", "resourcemanager.", "orgpolicy.", "accesscontextmanager.")
FORBIDDEN_VERBS = ("setIamPolicy",)
ALLOWED_READS = ("resourcemanager.projects.get",)  # the provider reads the project number (service networking)


def entry_problems(module: str, entries: Mapping[str, Any], model: PermissionModel) -> list[str]:
    """Why ``entries`` (the ``permissions`` of the extension in ``module``) cannot join ``model``; one line each."""
    problems: list[str] = []
    if not isinstance(entries, Mapping):
        return [f"{module}: permissions must be a mapping of {', '.join(SECTIONS)}"]
    for section, types in entries.items():
        if section not in SECTIONS:
            problems.append(f"{module}: permissions.{section}: unknown section; allowed: {', '.join(SECTIONS)}")
            continue
        if not isinstance(types, Mapping):
            problems.append(f"{module}: permissions.{section} must map each type to its entry")
            continue
        for name, entry in types.items():
            where = f"{module}: permissions.{section}.{name}"
            if name in model.data[section]:
                problems.append(f"{where}: already in gkeml's model (gkeml/iam/resources.json); leave it out")
                continue
            problems += _entry_problems(where, section, entry, model)
    return problems


def _entry_problems(where: str, section: str, entry: Any, model: PermissionModel) -> list[str]:
    if not isinstance(entry, Mapping):
        return [f"{where}: an entry is a mapping"]
    problems = []
    if not isinstance(entry.get("source"), str) or not entry["source"].strip():
        problems.append(f"{where}.source: say where the permissions come from (provider source, API method)")
    if not isinstance(entry.get("verified"), bool):
        problems.append(f"{where}.verified: true or false (whether each permission was checked on its source)")
    if section == "kubernetes_kinds":
        resources = entry.get("iam_resources")
        if (
            not isinstance(resources, list)
            or not resources
            or not all(isinstance(r, str) and r.startswith("container.") for r in resources)
        ):
            problems.append(f"{where}.iam_resources: the GKE IAM resources that authorize the kind (container.<x>)")
        return problems
    operations = OPERATIONS if section == "resources" else ("read",)
    for op in operations:
        listed = entry.get(op)
        if not isinstance(listed, list) or not all(isinstance(p, str) for p in listed):
            problems.append(f"{where}.{op}: a list of permissions")
            continue
        for permission in listed:
            problems += _permission_problems(f"{where}.{op}", permission, op == "read", model)
    for i, rule in enumerate(entry.get("when", []) if section == "resources" else []):
        for op in OPERATIONS[:3]:
            for permission in rule.get(op, []) if isinstance(rule, Mapping) else []:
                problems += _permission_problems(f"{where}.when[{i}].{op}", permission, False, model)
    return problems


def _permission_problems(where: str, permission: str, read: bool, model: PermissionModel) -> list[str]:
    if not PERMISSION.fullmatch(permission):
        return [f"{where}: {permission!r} is not an IAM permission (service.resource.verb)"]
    verb = permission.rsplit(".", 1)[-1]
    if permission not in ALLOWED_READS and (permission.startswith(FORBIDDEN_SERVICES) or verb in FORBIDDEN_VERBS):
        return [
            f"{where}: {permission} administers identities or policies, which an extension's custom role may not; "
            "grant through project_roles (the deploy identity's conditioned Project IAM Admin) or a grant method"
        ]
    if read and not model.is_read(permission):
        return [f"{where}: {permission} changes something; a read (what plan refreshes with) may only read"]
    return []


def extended(model: PermissionModel, fragments: Iterable[tuple[str, Mapping[str, Any]]]) -> PermissionModel:
    """``model`` with the entries of every (module, permissions) of ``fragments`` added (checked with
    :func:`entry_problems` first; an entry two extensions bring alike is added once)."""
    fragments = list(fragments)
    if not fragments:
        return model
    data = copy.deepcopy(model.data)
    for _, entries in fragments:
        for section, types in entries.items():
            data[section].update({name: dict(entry) for name, entry in types.items()})
    return PermissionModel(data)
