"""Where checked objects come from: user manifest files and synthesized Helm releases."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from gkeml.config import ConfigError, ConfigProblem
from gkeml.config.loader import MANIFEST_LIMITS, STDIN, STDIN_NAME, load_yaml_documents, read_config_text
from gkeml.manifests import Obj
from gkeml.rules.engine import Manifest, values_document
from gkeml.text import one_line

# What to do with a pipe or a process substitution (`gkeml check <(kustomize build)`): its size is
# unknown and it may never end, so it is refused; standard input is read with the same bound.
PIPE_HINT = "write it to a file first, or pipe it in: ... | gkeml check -"


# What Helm writes before each document it renders (`helm template`): the chart's template file.
HELM_SOURCE = re.compile(r"^# Source: (\S.*?)\s*$")
# What a template left unrendered looks like: Go template actions ({{ ... }}, Helm and kustomize's helm charts).
TEMPLATE_ACTION = re.compile(r"\{\{.*?\}\}")
RENDER_HINT = "render it first: helm template RELEASE CHART | gkeml check -"


def load_manifest_files(paths: Iterable[str | Path], own: Iterable[str | Path] = ()) -> list[Manifest]:
    """Every Kubernetes object in multi-document YAML files (``-``: standard input; ``kind: List``
    items included), each with ``file:line`` as its source (and the template Helm rendered it from, when a
    ``# Source:`` comment says so). A file named twice is read once; the objects of a file also in ``own``
    are the checker's own (the baseline is an error on them). All problems of all files are reported at
    once; a file that is a template left unrendered is one line saying so."""
    manifests: list[Manifest] = []
    problems: list[ConfigProblem] = []
    mine = {_file_key(p) for p in own}
    paths = _distinct([*paths, *own])
    _within_total(paths)
    for path in paths:
        file = STDIN_NAME if str(path) == STDIN else str(path)
        try:
            text = read_config_text(path, MANIFEST_LIMITS, PIPE_HINT)
            templates = _helm_sources(text)
            for line, data in _documents(text, file):
                if data is None:
                    continue
                source = f"{file}:{line}" + (f" ({templates[line]})" if line in templates else "")
                items = data.get("items") if isinstance(data, dict) and data.get("kind") == "List" else [data]
                for item in items if isinstance(items, list) else [items]:
                    problem = _not_an_object(item)
                    if problem:
                        problems.append(ConfigProblem(file, line, "", problem))
                    elif isinstance(item, dict):
                        manifests.append(Manifest(item, source, own=_file_key(path) in mine))
        except ConfigError as exc:
            problems += exc.problems
    if problems:
        raise ConfigError(problems)
    return manifests


def _documents(text: str, file: str) -> list[tuple[int, object]]:
    """The documents of ``text``; a stream that is not YAML because it holds template actions is one problem
    naming the first of them (a chart's template given instead of its rendered output)."""
    try:
        return load_yaml_documents(text, file, MANIFEST_LIMITS)
    except ConfigError as exc:
        action = TEMPLATE_ACTION.search(text)
        if action is None:
            raise
        line = text.count("\n", 0, action.start()) + 1
        shown = one_line(action.group(0))[:60]
        raise ConfigError(
            [ConfigProblem(file, line, "", f"not YAML: a template left unrendered ({shown}); {RENDER_HINT}")]
        ) from exc


def _helm_sources(text: str) -> dict[int, str]:
    """Line of each document's first content -> the template a ``# Source:`` comment before it names."""
    found: dict[int, str] = {}
    current = ""
    for number, line in enumerate(text.splitlines(), start=1):
        match = HELM_SOURCE.match(line)
        if match:
            current = one_line(match.group(1))[:200]
        elif line.startswith("---"):
            continue
        elif current and line.strip() and not line.lstrip().startswith("#"):
            found[number] = current
            current = ""
    return found


def _file_key(path: str | Path) -> object:
    """What names one file whatever its name: its device and inode (its name when it cannot be read)."""
    if str(path) != STDIN:
        try:
            found = os.stat(path)
            return (found.st_dev, found.st_ino)
        except (OSError, ValueError):
            pass  # the reader reports it
    return str(path)


def _distinct(paths: Iterable[str | Path]) -> list[str | Path]:
    """``paths`` without repeats: the same name, or another name of the same file (a link)."""
    seen: set[object] = set()
    out = []
    for path in paths:
        key = _file_key(path)
        if key not in seen:
            seen.add(key)
            out.append(path)
    return out


def _within_total(paths: list[str | Path]) -> None:
    """Refuse, before parsing any, files whose sizes together are beyond what one command reads
    (MANIFEST_LIMITS.max_total_bytes), naming the first file past it; each is bounded again as it is read."""
    total = 0
    for path in paths:
        try:
            total += os.stat(path).st_size if str(path) != STDIN else 0
        except (OSError, ValueError):
            continue  # the reader reports it
        if total > MANIFEST_LIMITS.max_total_bytes:
            raise ConfigError(
                [
                    ConfigProblem(
                        str(path),
                        0,
                        "",
                        f"with the files before it, more than the {MANIFEST_LIMITS.max_total_bytes:,} bytes one "
                        "command reads of such files; name fewer or smaller files",
                    )
                ]
            )


def _not_an_object(item: object) -> str:
    if not isinstance(item, dict):
        return f"expected a Kubernetes object (a mapping), got {type(item).__name__}"
    for key in ("apiVersion", "kind"):
        if not isinstance(item.get(key), str) or not item.get(key):
            return f"{key}: required (a string)"
    if not isinstance(item.get("metadata"), dict):
        return "metadata: required (a mapping with name)"
    return ""


def helm_release_objects(stack_file: str | Path) -> list[Manifest]:
    """Each ``helm_release`` of a synthesized stack as a Flux-style HelmRelease (plus the
    HelmRepository it points at), so that chart rules check what Terraform installs."""
    from gkeml.stackfile import read_stack

    stack = read_stack(stack_file)
    out: list[Manifest] = []
    for rid, conf in (stack.get("resource", {}).get("helm_release") or {}).items():
        values: dict = {}
        for text in conf.get("values") if isinstance(conf.get("values"), list) else []:
            loaded = values_document(text, f"{stack_file} (helm_release.{rid})") if isinstance(text, str) else None
            if isinstance(loaded, dict):
                values.update(loaded)
        name, namespace = conf.get("name", rid), conf.get("namespace", "default")
        source = f"{stack_file} (helm_release.{rid})"
        release: Obj = {
            "apiVersion": "helm.toolkit.fluxcd.io/v2",
            "kind": "HelmRelease",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "chart": {
                    "spec": {
                        "chart": conf.get("chart"),
                        "version": conf.get("version"),
                        "sourceRef": {"kind": "HelmRepository", "name": name},
                    }
                },
                "values": values,
            },
        }
        repository: Obj = {
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "HelmRepository",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"url": conf.get("repository")},
        }
        out += [Manifest(release, source), Manifest(repository, source)]
    return out
