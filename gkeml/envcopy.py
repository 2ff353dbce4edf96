"""``gkeml env new``: a new environment's two files, copied from an existing one's, what must differ marked.

The copy is the source's own text, edited in place with ruamel.yaml (comments, order and quotes kept). Values
that must differ (project id and number, the state bucket in the source's project, an explicit name prefix,
public hosts, the DNS domain, listed W&B Launch queues, images in the source's own registry) are never copied:
the caller's value takes their place, else a :data:`PLACEHOLDER` marked ``# CHANGE ME`` that fails the
synth with file:line until filled in. :func:`new_environment_text` runs one function per section it rewrites
(:data:`SECTIONS`); :func:`new_bootstrap_text` does the same for the bootstrap file. :func:`write_both` writes
the two files or neither.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gkeml.config import ConfigError, ConfigProblem, Environment
from gkeml.config.model import TIER_DEFAULTS
from gkeml.config.registries import registries_of
from gkeml.environments import clashes

CHANGE_ME = "CHANGE ME"
PLACEHOLDER = "CHANGE-ME"  # fails the pattern of project ids, numbers, hosts and prefixes: synth stops there

Todo = list[tuple[tuple, str]]  # (path of a value left to fill in, what it must be)


def _yaml():
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    return yaml


def _dump(data: Any, header: list[str], source: str, name: str) -> str:
    """YAML text of ``data`` after ``header``; comments that quote the source's name quote the new one."""
    out = io.StringIO()
    _yaml().dump(data, out)
    lines = [
        line.replace(f"'{source}'", f"'{name}'") if line.lstrip().startswith("#") else line
        for line in out.getvalue().splitlines(keepends=True)
    ]
    return "".join(line + "\n" for line in header) + "".join(lines)


def _split_header(text: str) -> tuple[list[str], str]:
    """The leading comment lines of a file (kept: schema modelines only) and the rest."""
    lines = text.splitlines(keepends=True)
    n = 0
    while n < len(lines) and lines[n].startswith("#"):
        n += 1
    keep = [line.rstrip("\n") for line in lines[:n] if line.startswith("# yaml-language-server:")]
    return keep, "".join(lines[n:])


def _mark(mapping, key: str, value: Any, note: str, todo: Todo, path: tuple) -> None:
    """Put ``value`` at ``key`` with a '# CHANGE ME: note' comment and record it as to do."""
    mapping[key] = value
    mapping.yaml_add_eol_comment(f"# {CHANGE_ME}: {note}", key)
    todo.append((path, note))


def own_registry_image(image: str, source_project: str, project_id: str) -> str | None:
    """``image`` in the copy's own Artifact Registry when it is in the source's
    (``HOST/SOURCE-PROJECT/...`` -> ``HOST/PROJECT/...``); None for any other image."""
    from gkeml.config.services import IMAGE_IN_REGISTRY

    match = IMAGE_IN_REGISTRY.match(image)
    if match is None or match["project"] != source_project:
        return None
    return image[: match.start("project")] + project_id + image[match.end("project") :]


def pull_todo(source: Environment, name: str) -> Todo:
    """What the copy ``name`` of ``source`` admits or runs from another environment's registry that its
    nodes could not pull ((field, message naming the readers list to extend)): the source is a reader
    there, the copy is not yet. Images of the source's own registry are not among them (they move)."""
    siblings = registries_of(source)
    if siblings is None:
        return []
    copy = source.model_copy(update={"name": name})
    found: list[tuple[tuple, str | None]] = [
        (("cluster", "binary_authorization", "allowed_images", i), siblings.pattern_problem(copy, pattern))
        for i, pattern in enumerate(source.cluster.binary_authorization.allowed_images)
    ]
    found += [
        (("inference", i, "image"), siblings.image_problem(copy, svc.image))
        for i, svc in enumerate(source.inference)
        if own_registry_image(svc.image, source.project.id, source.project.id) is None
    ]
    return [(field, message) for field, message in found if message]


def hosts_domain(hosts: list[str]) -> str:
    """The deepest domain holding every host (the parent of a single host), '' when there is none
    of at least two labels or a host is missing."""
    if not hosts or not all(hosts):
        return ""
    labels = [h.rstrip(".").split(".") for h in hosts]
    common: list[str] = []
    for parts in zip(*(reversed(h) for h in labels)):
        if len(set(parts)) != 1:
            break
        common.insert(0, parts[0])
    if len(common) == min(len(h) for h in labels):  # a host is the domain itself: take its parent
        common = common[1:]
    return ".".join(common) if len(common) >= 2 else ""


def own_state_bucket(project_id: str) -> str:
    """The state bucket `gkeml env new` gives an environment that keeps its state in its own project."""
    return f"{project_id}-tfstate"


# --- environments/NAME.yaml, one section at a time ------------------------------------------


@dataclass
class _Copy:
    """What the copy is made of: its source, its name and tier, the values given for it, and what is left to
    fill in (``todo``, filled by the section functions)."""

    source: Environment
    name: str
    tier: str
    project_id: str | None
    project_number: str | None
    hosts: dict[str, str]
    queues: list[str]
    explicit_tier: bool
    own_state: bool
    tier_override: dict[str, str] | None
    todo: Todo = field(default_factory=list)

    def mark(self, mapping, key: str, value: Any, note: str, path: tuple) -> None:
        _mark(mapping, key, value, note, self.todo, path)


def _tier(data, copy: _Copy) -> None:
    """The tier, written when it is not the name's; the source's tier_override is its own exception: the copy
    has ``copy.tier_override`` or none; a guard override of a guard the copy's tier does not keep overrides
    nothing."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    from gkeml.config.tiers import guard_applies

    if copy.explicit_tier or copy.tier_override:
        if "tier" in data:
            data["tier"] = copy.tier
        else:
            data.insert(
                list(data).index("name") + 1,
                "tier",
                copy.tier,
                comment=f"copied from {copy.source.name}; defaults (deletion protection, channel) follow it",
            )
    data.pop("tier_override", None)
    if copy.tier_override:
        data.insert(list(data).index("tier") + 1, "tier_override", CommentedMap(copy.tier_override))
    if data.get("guard_overrides"):
        kept = [o for o in data["guard_overrides"] if guard_applies(o.get("guard"), copy.tier)]
        if kept:
            data["guard_overrides"] = CommentedSeq(kept)
        else:
            del data["guard_overrides"]


def _project(data, copy: _Copy) -> None:
    """Project id and number (given, or marked), and an ``env`` label that named the source."""
    project = data["project"]
    for key, given, what in (
        ("id", copy.project_id, "project id"),
        ("number", copy.project_number, "project number"),
    ):
        if given is None:
            copy.mark(
                project,
                key,
                PLACEHOLDER,
                f"the {what} of {copy.name} ({copy.source.name} has "
                f"{getattr(copy.source.project, key)!r}; each environment needs its own)",
                ("project", key),
            )
        else:
            project[key] = given
    labels = project.get("labels") or {}
    if labels.get("env") == copy.source.name:
        labels["env"] = copy.name


def _state(data, copy: _Copy) -> None:
    """A state bucket of the copy's own when the source's is its own (in its project)."""
    state = data["state"]
    if not copy.own_state:
        return
    if copy.project_id is not None:
        state["bucket"] = own_state_bucket(copy.project_id)
    else:
        copy.mark(
            state,
            "bucket",
            PLACEHOLDER,
            f"the state bucket of {copy.name}, e.g. <project id>-tfstate "
            f"({state['bucket']!r} holds {copy.source.name}'s state)",
            ("state", "bucket"),
        )


def _prefix(data, copy: _Copy) -> None:
    """An explicit name prefix: bucket names derive from it and are global."""
    if "prefix" in data:
        copy.mark(data, "prefix", PLACEHOLDER, f"a name prefix of {copy.name} (bucket names are global)", ("prefix",))


def _endpoints(data, copy: _Copy) -> None:
    """Each endpoint's host (given, or marked); a host move of the source is its own: the copy's endpoint is
    new and has no earlier host."""
    for i, endpoint in enumerate(data.get("endpoints") or []):
        for moving in ("previous_hosts", "retired_hosts"):
            endpoint.pop(moving, None)
        if endpoint["name"] in copy.hosts:
            endpoint["host"] = copy.hosts[endpoint["name"]]
        else:
            copy.mark(
                endpoint,
                "host",
                PLACEHOLDER,
                f"a public host of {copy.name} ({copy.source.name} has {endpoint['host']!r})",
                ("endpoints", i, "host"),
            )


def _images(data, copy: _Copy) -> None:
    """Images in the source's own registry move to the copy's registry (its nodes cannot read the source's)."""
    for i, service in enumerate(data.get("inference") or []):
        image = service.get("image")
        moved = isinstance(image, str) and own_registry_image(
            image, copy.source.project.id, copy.project_id or PLACEHOLDER
        )
        if not moved:
            continue
        if copy.project_id is not None:
            service["image"] = moved
        else:
            copy.mark(
                service,
                "image",
                moved,
                f"{copy.name}'s project id in the image path ({copy.source.name}'s registry is not readable by "
                f"{copy.name}'s nodes)",
                ("inference", i, "image"),
            )


def _availability(data, copy: _Copy) -> None:
    """A service on its tier's default availability keeps it, written out, where the copy's tier defaults to
    another: the copy runs as its source did, and the choice is in the file (best-effort: gkeml check, ENV002)."""
    default = TIER_DEFAULTS[copy.tier]["availability"]
    for service, svc in zip(data.get("inference") or [], copy.source.inference, strict=False):
        if "availability" not in service and svc.availability != default:
            service["availability"] = svc.availability
            service.yaml_add_eol_comment(
                f"# {copy.source.name}'s default, kept by `gkeml env new` ({copy.tier}'s is {default})"
                + (
                    ": one replica may do; for two, set autoscaling.min_replicas: 2 and remove this"
                    * (svc.availability == "best-effort")
                ),
                "availability",
            )


def _dns(data, copy: _Copy) -> None:
    """The DNS domain and zone: the one holding the given hosts, else marked."""
    dns, source = data.get("dns"), copy.source
    if dns is None or source.dns is None:
        return
    domain = hosts_domain([copy.hosts.get(e.name, "") for e in source.endpoints])
    if domain:
        dns["domain"], dns["zone"] = domain, domain.replace(".", "-")[:63].rstrip("-")
    else:
        copy.mark(
            dns,
            "domain",
            PLACEHOLDER,
            f"the DNS domain of {copy.name}'s hosts ({source.name} has {source.dns.domain!r})",
            ("dns", "domain"),
        )


def _launch(data, copy: _Copy) -> None:
    """W&B Launch queues: listed ones are never copied (given, or marked); a source that leaves its queues to
    the default (<agent namespace>-<environment name>) gives the copy its own by the same default. The copy's
    W&B key is a secret of its own project: its first version is 1 (the default)."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    launch, source = data.get("launch"), copy.source
    if launch is None:
        return
    if source.launch is not None and ("queues" in launch or copy.queues):
        taken = ", ".join(q.name for q in source.launch.queues)
        new = CommentedSeq()
        for i, queue in enumerate(copy.queues or [""] * len(launch.get("queues") or [])):
            item = CommentedMap(name=queue)
            if not queue:
                copy.mark(
                    item,
                    "name",
                    "",
                    f"a W&B Launch queue of {copy.name} ({source.name} polls {taken})",
                    ("launch", "queues", i, "name"),
                )
            new.append(item)
        launch["queues"] = new
    if "api_key_version" in launch:
        del launch["api_key_version"]


# The sections new_environment_text rewrites, in order (the order of the values left to fill in).
SECTIONS: tuple[Callable[[Any, _Copy], None], ...] = (
    _tier,
    _project,
    _state,
    _prefix,
    _endpoints,
    _images,
    _availability,
    _dns,
    _launch,
)


def new_environment_text(
    text: str,
    source: Environment,
    name: str,
    tier: str,
    *,
    project_id: str | None,
    project_number: str | None,
    hosts: dict[str, str],
    queues: list[str],
    explicit_tier: bool,
    own_state: bool,
    tier_override: dict[str, str] | None = None,
) -> tuple[str, Todo]:
    """environments/NAME.yaml from SOURCE's text, and the (path, note) of each value left to fill in.
    The source's tier_override is its own exception: the copy has ``tier_override`` or none."""
    keep, body = _split_header(text)
    data = _yaml().load(body)
    data["name"] = name
    copy = _Copy(source, name, tier, project_id, project_number, hosts, queues, explicit_tier, own_state, tier_override)
    for section in SECTIONS:
        section(data, copy)
    header = keep + [
        f"# {name}: copied from {source.name} by `gkeml env new`. Values marked '# {CHANGE_ME}' "
        "must differ from every other environment."
    ]
    return _dump(data, header, source.name, name), copy.todo


# --- bootstrap/NAME.yaml ------------------------------------------------------------------------


def new_bootstrap_text(
    text: str, source: str, name: str, *, project_id: str | None, project_number: str | None
) -> tuple[str, Todo]:
    """bootstrap/NAME.yaml from SOURCE's, and the (path, note) of each value left to fill in."""
    _, body = _split_header(text)
    data = _yaml().load(body)
    todo: Todo = []
    data["name"] = name
    project = data["project"]
    for key, given in (("id", project_id), ("number", project_number)):
        if given is None:
            _mark(project, key, PLACEHOLDER, f"= project.{key} in environments/{name}.yaml", todo, ("project", key))
        else:
            project[key] = given
    state = data["state"]
    if "project" in state:  # a bucket shared in a state project: created once, by the source's file
        if state.get("create", True):
            state["create"] = False
            state.yaml_add_eol_comment(f"# created by bootstrap/{source}.yaml", "create")
    else:  # a bucket of its own, in its own project
        state.pop("create", None)
        if project_id is not None:
            state["bucket"] = own_state_bucket(project_id)
        else:
            _mark(
                state, "bucket", PLACEHOLDER, f"= state.bucket in environments/{name}.yaml", todo, ("state", "bucket")
            )
    state.pop("bootstrap_backend", None)  # the first run of a bootstrap keeps its state locally
    github = data["github"]
    github["deploy_environment"] = name
    header = [
        f"# Bootstrap of {name}: copied from {source} by `gkeml env new`; apply once: "
        f"make bootstrap-deploy ENV={name} (docs/bootstrap.md)."
    ]
    return _dump(data, header, source, name), todo


# --- the two files, both or neither ---------------------------------------------------------------


def complete_problems(targets: list[Path], texts: list[str], others: list[Environment]) -> list[ConfigProblem]:
    """Why a copy without placeholders would not load as a pair or would clash with another environment,
    named as the files will be."""
    from gkeml.environments import load_bootstrap_of, load_environment

    with tempfile.TemporaryDirectory() as tmp:
        staged = [Path(tmp, str(i), target.name) for i, target in enumerate(targets)]
        for path, text in zip(staged, texts):
            path.parent.mkdir()
            path.write_text(text)
        try:
            env = load_environment(staged[0])
            load_bootstrap_of(staged[1], env)
            problems = clashes([(targets[0].parent / f"{e.name}.yaml", e) for e in others] + [(staged[0], env)])
        except ConfigError as exc:
            problems = exc.problems
        for problem in problems:
            for path, target in zip(staged, targets):
                problem.file = problem.file.replace(str(path), str(target))
    return problems


def write_both(targets: list[Path], texts: list[str]) -> None:
    """Write every file or none: each goes to a temporary file beside it, then all are renamed."""
    staged = []
    try:
        for target, text in zip(targets, texts):
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
            with os.fdopen(fd, "w") as fh:
                fh.write(text)
            staged.append((tmp, target))
        for tmp, target in staged:
            os.replace(tmp, target)
    finally:
        for tmp, _ in staged:
            if os.path.exists(tmp):
                os.unlink(tmp)
