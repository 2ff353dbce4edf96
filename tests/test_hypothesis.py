"""Hostile input: generated environment configs, job specs and manifests, valid and invalid.

Every example either loads (and then renders and is checked by the rules) or fails
with the toolkit's own ConfigError naming file, line and field; anything else (a
traceback from pydantic, ruamel, a builder or a rule) fails the test. Examples start
from the shipped files and mutate them (replace, delete, add keys; values drawn from
the files themselves and from edge cases), so many stay valid and reach the builders.

Profiles: ``CI=true`` runs 500 examples per target, locally 60. Synthesis is not run
here (too slow per example); atomic synth is covered by tests/test_synth_main.py.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from gkeml.config import ConfigError, Environment, parse
from gkeml.environments import parse_environment
from gkeml.rules import Manifest, check, load_manifest_files

ROOT = Path(__file__).resolve().parents[1]

settings.register_profile("gkeml-ci", max_examples=500, deadline=None, derandomize=False,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("gkeml-local", max_examples=60, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
PROFILE = settings.get_profile("gkeml-ci" if os.environ.get("CI") == "true" else "gkeml-local")


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


ENV_FILES = sorted((ROOT / "environments").glob("*.yaml"))
JOB_FILES = sorted((ROOT / "examples" / "jobs").glob("*.yaml"))
BAD_MANIFESTS = sorted((ROOT / "tests" / "fixtures" / "bad-manifests").glob("*.yaml"))
ENV_BASES = [_load(p) for p in ENV_FILES]
JOB_BASES = [_load(p) for p in JOB_FILES]
MANIFEST_BASES = [m.obj for m in load_manifest_files(BAD_MANIFESTS)]


def _leaves(node: Any) -> list[Any]:
    if isinstance(node, dict):
        return [x for v in node.values() for x in _leaves(v)]
    if isinstance(node, list):
        return [x for v in node for x in _leaves(v)]
    return [node]


def _keys(node: Any) -> set[str]:
    if isinstance(node, dict):
        return set(node) | {k for v in node.values() for k in _keys(v)}
    if isinstance(node, list):
        return {k for v in node for k in _keys(v)}
    return set()


EDGE = ["", " ", "0", "-1", "1e309", "0.0001m", "1000000Gi", "99999999", "Ti", "nvidia-l4", "nvidia-gb200",
        "10.0.0.0/8", "0.0.0.0/0", "*.example.com", "2026-13-45T00:00:00Z", "prod", "dev", "a" * 300, "né",
        "roles/owner", "${var.x}", "{{ x }}", "- a", "true", "null", "~", "&a", "!!python/object:os.system"]
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**40), 2**40), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12), st.sampled_from(EDGE),
    st.sampled_from(sorted({repr(x) for b in ENV_BASES + JOB_BASES + MANIFEST_BASES for x in _leaves(b)})).map(
        yaml.safe_load),
)
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=6)
KEYS = st.one_of(st.text(max_size=10),
                 st.sampled_from(sorted({k for b in ENV_BASES + JOB_BASES + MANIFEST_BASES for k in _keys(b)
                                         if isinstance(k, str)})))


def _slots(node: Any, out: list) -> list:
    """Every (container, key) pair in a tree, containers included, for mutation."""
    if isinstance(node, dict):
        for k, v in node.items():
            out.append((node, k))
            _slots(v, out)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out.append((node, i))
            _slots(v, out)
    return out


@st.composite
def mutated(draw, bases: list[Any]) -> Any:
    """A deep copy of one base with 0-4 random replacements, deletions, additions or duplications."""
    data = copy.deepcopy(draw(st.sampled_from(bases)))
    for _ in range(draw(st.integers(0, 4))):
        slots = _slots(data, [])
        if not slots:
            break
        container, key = draw(st.sampled_from(slots))
        op = draw(st.sampled_from(["replace", "delete", "add", "duplicate"]))
        if op == "replace":
            container[key] = draw(VALUES)
        elif op == "delete":
            del container[key]
        elif op == "add" and isinstance(container, dict):
            container[draw(KEYS)] = draw(VALUES)
        elif op == "duplicate" and isinstance(container, list):
            container.append(copy.deepcopy(container[key]))
    return data


def _dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def _assert_own_error(exc: ConfigError, file: str) -> None:
    assert exc.problems, "ConfigError without problems"
    for problem in exc.problems:
        assert problem.file == file and problem.line >= 0 and problem.message.strip()
        assert "Traceback" not in str(problem)


@settings(PROFILE)
@given(data=mutated(ENV_BASES))
def test_environment_configs_load_and_render_or_fail_with_config_error(data):
    from gkeml.manifests.workloads import in_cluster_objects
    from gkeml.naming import Names

    file = "environments/generated.yaml"
    try:
        env = parse_environment(_dump(data), file)
    except ConfigError as exc:
        _assert_own_error(exc, file)
        return
    names = Names.of(env)
    assert names.cluster and names.k8s_stack
    objects = in_cluster_objects(env)
    check([Manifest(o, file) for o in objects])  # must not raise


@settings(PROFILE)
@given(text=st.one_of(st.text(max_size=200), st.binary(max_size=200).map(lambda b: b.decode("latin-1"))))
@example(text="\x1f")  # found by this test (ruamel ReaderError escaped the loader)
def test_arbitrary_text_as_environment_fails_with_config_error(text):
    try:
        parse_environment(text, "env.yaml")
    except ConfigError as exc:
        _assert_own_error(exc, "env.yaml")


ENVIRONMENTS: dict[str, Environment] = {}


def _environment(name: str) -> Environment:
    if not ENVIRONMENTS:
        from gkeml.environments import load_environments

        ENVIRONMENTS.update({e.name: e for e in load_environments(ROOT / "environments")})
    return ENVIRONMENTS[name]


@settings(PROFILE)
@given(data=mutated(JOB_BASES), env_name=st.sampled_from(["dev", "staging", "prod"]))
def test_job_specs_render_or_fail_with_config_error(data, env_name):
    from gkeml.jobs import launch_template, parse_job_spec, render

    env = _environment(env_name)
    file = "jobs/generated.yaml"
    try:
        spec = parse_job_spec(_dump(data), file, env)
    except ConfigError as exc:
        _assert_own_error(exc, file)
        return
    objects = render(spec, env)
    assert objects and objects[-1]["kind"] == "Job"
    check([Manifest(o, file) for o in objects])  # must not raise
    try:
        assert launch_template(spec, env)
    except ConfigError as exc:  # e.g. multi-node jobs cannot go through W&B Launch
        _assert_own_error(exc, file)


HOST_PATH_POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {
    "volumes": [{"name": ["not", "a", "string"], "hostPath": {"path": "/var/log/x"}}],
    "containers": [{"name": "c", "volumeMounts": [{"name": ["not", "a", "string"]}]}]}}


@settings(PROFILE)
@given(objects=st.lists(mutated(MANIFEST_BASES), min_size=1, max_size=4))
@example(objects=[HOST_PATH_POD])  # found by this test: a list as a volume name
def test_rules_never_raise_on_malformed_objects(objects):
    for finding in check(objects):
        assert finding.rule and finding.field and finding.message and finding.fix


@settings(PROFILE)
@given(docs=st.lists(st.one_of(mutated(MANIFEST_BASES), VALUES), min_size=1, max_size=3))
def test_manifest_files_load_or_fail_with_config_error(tmp_path_factory, docs):
    path = tmp_path_factory.mktemp("manifests") / "generated.yaml"
    path.write_text(yaml.safe_dump_all(docs, allow_unicode=True))
    try:
        manifests = load_manifest_files([path])
    except ConfigError as exc:
        _assert_own_error(exc, str(path))
        return
    check(manifests)


def test_profile_runs_500_examples_in_ci():
    assert settings.get_profile("gkeml-ci").max_examples >= 500
    assert PROFILE.max_examples == (500 if os.environ.get("CI") == "true" else 60)
