"""Docs that cannot drift: the generated sections match the code, and the repository stands alone."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT

from gkeml import docs, platform
from gkeml.rules import RULES


def test_the_generated_sections_are_current():
    assert docs.stale() == [], "run `make docs` (python -m gkeml.docs --write)"
    done = subprocess.run([sys.executable, "-m", "gkeml.docs", "--check"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_a_stale_section_is_named_and_rewritten(tmp_path):
    for file, _ in docs.SECTIONS:
        (tmp_path / file).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / file).write_text((ROOT / file).read_text())
    policy = tmp_path / "docs" / "policy.md"
    policy.write_text(policy.read_text().replace("| GKE001 |", "| GKE999 |"))
    assert docs.stale(tmp_path) == ["docs/policy.md: rules"]
    assert docs.write(tmp_path) == ["docs/policy.md: rules"] and docs.stale(tmp_path) == []


def test_every_rule_and_gpu_is_in_the_docs():
    policy = (ROOT / "docs" / "policy.md").read_text()
    assert all(f"| {rule} |" in policy for rule in RULES)
    jobs = (ROOT / "docs" / "jobs.md").read_text()
    for label, gpu in platform.GPUS.items():
        assert sum(f"(`{label}`) | {r.count} |" in jobs for r in gpu.ranges) == len(gpu.ranges)


def test_the_check_figures_are_rendered_from_a_check_run():
    summary = {
        "findings": [],
        "objects_checked": 12,
        "checkov": {"version": "3.3.30", "passed": 7, "failed": [], "skipped": [{}, {}]},
    }
    assert docs.check_figures(summary, ["dev", "prod"]) == (
        "`make check` on the default environments (dev, prod): 0 findings in 12 Kubernetes objects; checkov 3.3.30: 7 passed, "
        "0 failed, 2 skipped (each skip reviewed, with its reason, in `gkeml/checkov.py`)."
    )


def test_nothing_in_the_repository_points_outside_it():
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    needles = (
        "../" + "shared",
        "shared/" + "platform-facts",
        "shared/" + "reviews",
    )  # not spelt out: this file is tracked
    offenders = []
    for name in tracked:
        path = ROOT / name
        if path.suffix not in (".py", ".md", ".yaml", ".yml", ".toml", ".json", ".txt") or not path.is_file():
            continue
        text = path.read_text(errors="replace")
        if any(needle in text for needle in needles):
            offenders.append(name)
    assert offenders == []
