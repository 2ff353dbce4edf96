"""Where checked objects come from: user manifest files and synthesized Helm releases."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable

import yaml

from gkeml.config import ConfigError, ConfigProblem
from gkeml.manifests import Obj
from gkeml.rules.engine import Manifest


def _documents(text: str, file: str) -> Iterable[tuple[int, object]]:
    """(line, data) of every YAML document; ConfigError with the line on invalid YAML."""
    loader = yaml.SafeLoader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            yield node.start_mark.line + 1, loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise ConfigError([ConfigProblem(file, mark.line + 1 if mark else 1, "",
                                         f"invalid YAML: {exc.problem or exc.context}")]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([ConfigProblem(file, 1, "", f"invalid YAML: {exc}")]) from None
    finally:
        loader.dispose()


def load_manifest_files(paths: Iterable[str | Path]) -> list[Manifest]:
    """Every Kubernetes object in multi-document YAML files (``kind: List`` items included),
    each with ``file:line`` as its source. All problems of all files are reported at once."""
    manifests: list[Manifest] = []
    problems: list[ConfigProblem] = []
    for path in paths:
        file = str(path)
        try:
            text = Path(path).read_text()
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(ConfigProblem(file, 0, "", f"cannot read: {getattr(exc, 'strerror', None) or exc}"))
            continue
        try:
            for line, data in _documents(text, file):
                if data is None:
                    continue
                items = data.get("items") if isinstance(data, dict) and data.get("kind") == "List" else [data]
                for item in items if isinstance(items, list) else [items]:
                    problem = _not_an_object(item)
                    if problem:
                        problems.append(ConfigProblem(file, line, "", problem))
                    else:
                        manifests.append(Manifest(item, f"{file}:{line}"))
        except ConfigError as exc:
            problems += exc.problems
    if problems:
        raise ConfigError(problems)
    return manifests


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
    stack = json.loads(Path(stack_file).read_text())
    out: list[Manifest] = []
    for rid, conf in ((stack.get("resource") or {}).get("helm_release") or {}).items():
        values: dict = {}
        for text in conf.get("values") or []:
            try:
                loaded = yaml.safe_load(text) if isinstance(text, str) else None
            except yaml.YAMLError:
                loaded = None  # a Terraform expression, not YAML: nothing to read
            if isinstance(loaded, dict):
                values.update(loaded)
        name, namespace = conf.get("name", rid), conf.get("namespace", "default")
        source = f"{stack_file} (helm_release.{rid})"
        release: Obj = {
            "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"chart": {"spec": {"chart": conf.get("chart"), "version": conf.get("version"),
                                        "sourceRef": {"kind": "HelmRepository", "name": name}}},
                     "values": values},
        }
        repository: Obj = {"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmRepository",
                           "metadata": {"name": name, "namespace": namespace},
                           "spec": {"url": conf.get("repository")}}
        out += [Manifest(release, source), Manifest(repository, source)]
    return out
