"""The test suite's own rules: a test module imports no other test module (shared helpers and fixtures live in
tests/conftest.py and helper modules), and ``-m "not synth"`` leaves out every test that needs the session's
synth."""

from __future__ import annotations

import ast

from conftest import ROOT, SYNTH_FIXTURES, pytest_collection_modifyitems

TESTS = ROOT / "tests"


def test_no_test_module_imports_another():
    found = []
    for path in sorted(TESTS.glob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            names += [a.name for a in node.names] if isinstance(node, ast.Import) else []
            found += [f"{path.name}:{node.lineno}: {name}" for name in names if name.startswith("test_")]
    assert found == []


class Item:
    """What the marking hook reads of a collected test."""

    def __init__(self, *fixtures: str) -> None:
        self.fixturenames = list(fixtures)
        self.markers: list[str] = []

    def add_marker(self, marker) -> None:
        self.markers.append(marker.name)


def test_a_test_whose_fixtures_reach_the_session_synth_is_marked_synth(request):
    direct, through, plain = Item("tmp_path", "stacks"), Item("environments", "synth_dir"), Item("tmp_path")
    pytest_collection_modifyitems([direct, through, plain])
    assert (direct.markers, through.markers, plain.markers) == (["synth"], ["synth"], [])
    unmarked = [
        item.nodeid
        for item in request.session.items
        if SYNTH_FIXTURES & set(getattr(item, "fixturenames", ())) and item.get_closest_marker("synth") is None
    ]
    assert unmarked == []


def test_the_synth_fixtures_are_the_conftests():
    import conftest

    assert all(callable(getattr(conftest, name, None)) for name in SYNTH_FIXTURES)
