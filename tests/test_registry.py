"""The one registry of checks: every id gkeml reports is registered once, with what docs/policy.md shows;
every finding is made by its check; and the engine runs a rule only on the kinds it says it inspects."""

from __future__ import annotations

import ast
import re

import pytest
from conftest import ROOT

from gkeml import docs  # imports every module that registers a check (the table shows them all)
from gkeml.registry import ADMISSION, ADVICE, CHECKS, ERROR, FACT, KINDS, WARNING, Check, register
from gkeml.rules import RULES, load_manifest_files
from gkeml.rules.engine import Group, kind_of

PACKAGE = ROOT / "gkeml"
CHECK_ID = re.compile(r"^(?:GKE|TF|CHG|ENV|REL|IAM)[0-9]{3}$")


def _trees():
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path, ast.parse(path.read_text())


def test_every_check_id_written_in_gkeml_is_registered():
    """An id in the code that no module registers would be reported without a line in docs/policy.md."""
    written = {
        node.value
        for _, tree in _trees()
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and CHECK_ID.match(node.value)
    }
    assert written == set(CHECKS)
    assert len(CHECKS) >= 50


def test_no_finding_is_made_by_hand():
    """Every finding comes from its check (``Check.finding``): its id, severity and title are written once."""
    made = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path, tree in _trees()
        if path.name != "registry.py"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and (getattr(node.func, "id", None) == "Finding" or getattr(node.func, "attr", None) == "Finding")
    ]
    assert made == []


def test_every_check_has_the_row_docs_policy_md_shows():
    policy = (ROOT / "docs" / "policy.md").read_text()
    for c in CHECKS.values():
        assert c.kind in KINDS and c.title and c.help and c.source, c.id
        assert c.basis in (FACT, ADVICE) and c.severity in (ERROR, WARNING, ADVICE), c.id
        row = next(line for line in policy.splitlines() if line.startswith(f"| {c.id} |"))
        assert row.startswith(f"| {c.id} | {c.kind} | {c.level}"), row
        assert docs._cell(c.source) in row, c.id
    assert (
        {c.id for c in CHECKS.values() if c.notice}
        == set(docs.NOTICE_RULES)
        == {
            "ENV001",
            "ENV002",
            "GKE075",
            "GKE081",
        }
    )


def test_a_check_is_registered_once_with_what_the_registry_knows():
    with pytest.raises(ValueError, match="GKE001: registered twice"):
        register(CHECKS["GKE001"])
    with pytest.raises(ValueError, match="needs a title, a help text and a source"):
        register(Check("XYZ001", ADMISSION, ERROR, "a title", "a help", ""))
    with pytest.raises(ValueError, match="kind 'policy' is none of"):
        register(Check("XYZ001", "policy", ERROR, "a title", "a help", "a source"))
    assert "XYZ001" not in CHECKS


def test_a_finding_carries_its_checks_severity_or_the_other_one_it_declares():
    assert CHECKS["GKE005"].finding("Pod/p", "spec", "m", "f").severity == ERROR
    assert CHECKS["GKE007"].finding("Pod/p", "spec", "m", "f", severity=WARNING).severity == WARNING  # also: warning
    with pytest.raises(ValueError, match="GKE005 reports error, not warning"):
        CHECKS["GKE005"].finding("Pod/p", "spec", "m", "f", severity=WARNING)


def test_each_rule_finds_nothing_on_a_kind_it_does_not_inspect(environments, synth_dir):
    """The engine runs a rule only on the kinds it inspects (``Check.inspects``): run on every object, over
    every bad manifest and everything the toolkit renders for the fixture environments, no rule finds
    anything on another kind, so nothing is lost by skipping them."""
    from gkeml.toolkit import toolkit_group

    bad = sorted((ROOT / "tests" / "fixtures" / "bad-manifests").glob("*.yaml"))
    jobs = sorted((ROOT / "examples" / "jobs").glob("*.yaml"))
    groups = [[m.obj for m in load_manifest_files([path])] for path in bad]
    groups += [[m.obj for m in toolkit_group(env, env.name, jobs, synth_dir)] for env in environments.values()]
    narrow = [r for r in RULES.values() if r.inspects]
    assert len(narrow) > 25
    checked = 0
    for objects in groups:
        group = Group(objects)
        for obj in objects:
            for rule in narrow:
                if kind_of(obj) not in rule.inspects:
                    assert rule.run is not None and list(rule.run(obj, group)) == [], (rule.id, kind_of(obj))
                    checked += 1
    assert checked > 1000
