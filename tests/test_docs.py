"""Docs that cannot drift: the generated sections match the code, and the repository stands alone."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
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


def test_notices_are_counted_apart_from_findings():
    summary = {"findings": [{"rule": "ENV002"}, {"rule": "GKE005"}, {"rule": "ENV002"}], "objects_checked": 3}
    assert docs.check_figures(summary, ["dev"]) == (
        "`make check` on the default environments (dev): 1 findings and 2 notices (ENV002) in 3 Kubernetes objects."
    )


def test_the_readme_layout_lists_every_module_and_package_by_its_summary_line(tmp_path):
    rows = docs.package_layout().splitlines()[2:]
    listed = [re.match(r"\| `gkeml/([^`]+)` \|", row).group(1) for row in rows]
    package = ROOT / "gkeml"
    modules = [p.name for p in package.glob("*.py") if p.name != "__init__.py"]
    packages = [f"{p.parent.name}/" for p in package.glob("*/__init__.py")]
    charts = [f"charts/{p.parent.name}/" for p in package.glob("charts/*/Chart.yaml")]
    assert sorted(listed) == sorted(modules + packages + charts)
    assert all(row.endswith(". |") for row in rows), "a docstring's first line is a whole sentence"
    (tmp_path / "gkeml" / "cli").mkdir(parents=True)
    (tmp_path / "gkeml" / "cli" / "__init__.py").write_text('"""The ``gkeml`` command line."""\n')
    assert docs.package_layout(tmp_path).splitlines()[2:] == ["| `gkeml/cli/` | The `gkeml` command line. |"]
    (tmp_path / "gkeml" / "quiet.py").write_text("VALUE = 1\n")
    with pytest.raises(ValueError, match="gkeml/quiet.py has no docstring"):
        docs.package_layout(tmp_path)


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


# Every error docs/jobs.md shows comes from one of these runs of the CLI (cwd: the repository, so the shipped
# environments and examples; a spec text is written as job.yaml in a temporary directory). The shipped files are
# the point here: the page shows what a user of the shipped environments sees.
SPEC_ERRORS = """\
name: pretrain
team: research
gpu: nvidia-l4
nodes: 3
gpu_count: 3
trainer: {steps: 10}
completion_mode: NonIndexed
"""
SPEC_QUEUE = """\
name: finetune
team: research
image: us-central1-docker.pkg.dev/acme-ml-dev/training/trainer:1.0.0
identity: trainer
gpu: nvidia-l4
queue: serving
"""
SPEC_16_L4 = """\
name: pretrain-16xl4
team: research
image: us-central1-docker.pkg.dev/acme-ml-dev/training/trainer:1.0.0
identity: trainer
gpu: nvidia-l4
nodes: 2
gpu_count: 8
cpu: "46"
memory: 184Gi
"""
DOCUMENTED_RUNS: tuple[tuple[str | None, tuple[str, ...]], ...] = (
    (SPEC_ERRORS, ("job", "render", "job.yaml")),
    (SPEC_QUEUE, ("job", "render", "job.yaml", "--env", "dev")),
    (None, ("job", "render", "examples/jobs/single-gpu.yaml")),
    (
        (ROOT / "examples/jobs/single-gpu.yaml").read_text().replace("team: research\n", "team: serving\n"),
        ("job", "render", "job.yaml", "--env", "dev"),
    ),
    (SPEC_16_L4, ("job", "render", "job.yaml", "--env", "dev")),
    (SPEC_QUEUE.replace("queue: serving\n", "priority: urgent\n"), ("job", "render", "job.yaml", "--env", "dev")),
    (
        (ROOT / "examples/jobs/single-gpu.yaml")
        .read_text()
        .replace("docker.pkg.dev/acme-ml-dev/", "docker.pkg.dev/acme-ml-staging/"),
        ("job", "render", "job.yaml", "--env", "prod"),
    ),
)
DOCUMENTED_ERROR = re.compile(r"(?:job\.yaml|examples/jobs/[-\w]+\.yaml):\d+: [^`\n]+")


def test_every_error_docs_jobs_md_shows_is_what_the_cli_prints_today(tmp_path, monkeypatch, capsys):
    from gkeml.cli import main

    monkeypatch.chdir(ROOT)
    printed = []
    for spec, args in DOCUMENTED_RUNS:
        if spec is not None:
            (tmp_path / "job.yaml").write_text(spec)
        argv = [str(tmp_path / a) if a == "job.yaml" else a for a in args]
        assert main(argv) == 2
        printed += capsys.readouterr().err.replace(f"{tmp_path}/", "").splitlines()
    shown = [m.group(0).strip() for m in DOCUMENTED_ERROR.finditer((ROOT / "docs" / "jobs.md").read_text())]
    assert len(shown) >= 7
    for line in shown:
        if line.endswith(" ..."):  # shortened on the page
            assert any(p.startswith(line[:-4]) for p in printed), line
        else:
            assert line in printed, line
