"""Sections of the docs that are generated from code, so they cannot drift.

The table of every check of docs/policy.md (from the one registry, :data:`gkeml.registry.CHECKS`) and its table of
controllers that meet (:data:`gkeml.rules.interactions.INTERACTIONS`), the GPU table of docs/jobs.md, the
Hyperdisk ML limits of docs/volumes.md and the GKE feature versions of docs/versions.md (from
:mod:`gkeml.platform`), the table of what the alerts read in docs/services.md (from :mod:`gkeml.telemetry`), the
package layout of the README (the first line of each module's and package's docstring) and the `make check`
figures of the README and docs/policy.md (from a `gkeml check --format json` run over the shipped environments).

A generated section sits between ``<!-- BEGIN GENERATED: name -->`` and ``<!-- END GENERATED: name -->``.
``python -m gkeml.docs --check`` exits 1 naming every stale section; ``--write`` rewrites them
(``--check-summary FILE`` adds the check figures from that run's JSON). ``make docs`` runs it all.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

# The modules that register the checks (importing them fills the registry; tests/test_registry.py checks
# that no other module does).
import gkeml.config.checks  # noqa: F401  (ENV001 and ENV002, through gkeml.config.tiers)
import gkeml.iam.gate  # noqa: F401  (IAM001-IAM003)
import gkeml.lifecycle.order  # noqa: F401  (TF001-TF008)
import gkeml.lifecycle.transitions  # noqa: F401  (CHG001-CHG004)
import gkeml.release  # noqa: F401  (REL001)
import gkeml.rules  # noqa: F401  (the rules on Kubernetes objects: GKE001...)
from gkeml import platform, telemetry
from gkeml.exitcodes import ExitCode
from gkeml.registry import ADVICE, CHECKS, KINDS, registered

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "<!-- BEGIN GENERATED: {} -->", "<!-- END GENERATED: {} -->"
# Reported on every run without failing it: choices the environment files made on purpose, and what is not checked.
NOTICE_RULES = tuple(c.id for c in CHECKS.values() if c.notice)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def rule_table() -> str:
    """Every check `gkeml check` can report (the registry), by kind: its level, title, what it inspects, why,
    and the source it rests on (or that it is gkeml's advice)."""
    from gkeml.rules.engine import POD_KINDS, WORKLOAD_KINDS

    kinds = [f"- **{kind}**: {what}." for kind, what in KINDS.items()]
    workloads = ", ".join(f"`{w.kind}`" + (f" ({w.group})" if w.group else "") for w in WORKLOAD_KINDS.values())
    sources = "; ".join(dict.fromkeys(w.source for w in WORKLOAD_KINDS.values()))
    kinds.append(
        f"- Inspects *pods*: every kind that runs pods ({workloads}), each of its pod templates with its "
        f"containers, init containers and native sidecars; field paths and replica counts from {sources}."
    )
    rows = ["| Rule | Kind | Level | Title | Inspects | Why | Source |", "|---|---|---|---|---|---|---|"]
    for c in registered():
        shown = ["*pods*"] if set(POD_KINDS) <= set(c.inspects) else []
        shown += [f"`{k}`" for k in c.inspects if not shown or k not in POD_KINDS]
        inspects = ", ".join(shown) or "any"
        source = f"{'Advice; ' if c.basis == ADVICE else ''}{c.source}{f' (checked {c.checked})' if c.checked else ''}"
        rows.append(
            f"| {c.id} | {c.kind} | {c.level}{' (notice)' if c.notice else ''} | {_cell(c.title)} | {inspects} | "
            f"{_cell(c.help)} | {_cell(source)} |"
        )
    return "\n".join(kinds + [""] + rows)


def interaction_table() -> str:
    """Where two controllers act on one object: the setting that reconciles them, its source and its rule."""
    from gkeml.rules.interactions import INTERACTIONS

    rows = ["| Rule | Controller A | Controller B | Object | Reconciled by | Source |", "|---|---|---|---|---|---|"]
    rows += [
        f"| {i.rule} | {_cell(i.first)} | {_cell(i.second)} | {_cell(i.object)} | {_cell(i.reconciled_by)} | "
        f"{_cell(i.source)} |"
        for i in INTERACTIONS
    ]
    return "\n".join(rows)


def gpu_table() -> str:
    """The GPUs a job or service may ask for, per count: the machine, the request maxima gkeml enforces
    and whether they are confirmed."""
    rows = [
        "| GPU (`gpu`) | count | machine | max vCPU | max memory | maxima | flex-start | compact placement |",
        "|---|---|---|---|---|---|---|---|",
    ]
    flex = set(platform.flex_start_gpus())
    for label, gpu in platform.GPUS.items():
        for r in gpu.ranges:
            if r.confirmed:
                state = f"confirmed ({r.confirmed})"
            elif r.capped:
                state = "capped at the node's allocatable (table value unconfirmed or above it)"
            else:
                state = "Autopilot's table, not re-confirmed"
            rows.append(
                f"| {gpu.name} (`{label}`) | {r.count} | {r.machine.name} ({r.machine.vcpu:g} vCPU, "
                f"{r.machine.memory_gib:g} GiB) | {r.max_cpu:g} | {r.max_memory_gib:g} GiB | {state} | "
                f"{'yes' if label in flex else 'no'} | {'yes' if gpu.compact_placement else 'no'} |"
            )
    return "\n".join(rows)


def hyperdisk_ml_table() -> str:
    """How many nodes one Hyperdisk ML disk takes by size, and the machine series that can attach one."""
    rows = ["| volume size | nodes one disk can be attached to at once |", "|---|---|"]
    smallest = 0.0
    for largest, limit in platform.HYPERDISK_ML_ATTACH_LIMITS:
        low = f"{platform.HYPERDISK_ML_MIN_GIB} GiB" if not smallest else f"over {_size(smallest)}"
        rows.append(f"| {low} to {_size(largest)} | {limit:,} |")
        smallest = largest
    series = ", ".join(platform.HYPERDISK_ML_MACHINE_SERIES)
    return "\n".join(rows) + f"\n\nMachine series that can attach Hyperdisk ML: {series}.\n"


def _size(gib: float) -> str:
    return f"{gib / 1024:g} TiB" if gib >= 1024 else f"{gib:g} GiB"


def version_table() -> str:
    """Every GKE feature of the gate: the version it needs, its source, and what turns it on in an environment."""
    from gkeml.config.versions import DETECTORS

    rows = [
        f"Checked {platform.GKE_FEATURES_CHECKED}; the channels' versions: release notes, read "
        f"{platform.CHANNEL_VERSIONS_CHECKED}.",
        "",
        "| Feature | Minimum GKE version | Source (a path alone is under cloud.google.com/kubernetes-engine/docs/) | Gated |",
        "|---|---|---|---|",
    ]
    for feature, row in platform.GKE_FEATURE_MIN_VERSIONS.items():
        gated = "yes" if feature in DETECTORS else "not emitted by gkeml yet"
        rows.append(f"| {feature} | {row.minimum} | {_cell(row.source)} | {gated} |")
    rows += ["", "| Channel | Oldest minor | Newest minor | New clusters at |", "|---|---|---|---|"]
    rows += [
        f"| {name} | {v.oldest_minor} | {v.newest_minor} | {v.default} |"
        for name, v in platform.CHANNEL_VERSIONS.items()
    ]
    return "\n".join(rows)


def telemetry_table() -> str:
    """What the alerts and the dashboard read (gkeml.telemetry): each metric or log, its labels, where it
    comes from, what is verified and what is not."""
    rows = [
        f"Checked {telemetry.CHECKED_ON}. PromQL series also carry the Managed Service for Prometheus target labels "
        f"({', '.join(sorted(telemetry.PROMETHEUS_TARGET_LABELS))}; {telemetry.PROMETHEUS_TARGET_SOURCE}).",
        "",
        "| Signal | Kind | Labels or fields a query may read | Source | Verified | Not verified |",
        "|---|---|---|---|---|---|",
    ]
    for m in telemetry.PROM_METRICS.values():
        labels = sorted(m.labels) + [" or ".join(group) for group in m.alternatives]
        rows.append(
            f"| `{m.name}` | PromQL ({m.component}) | {_cell(', '.join(labels))} | {_cell(m.source)} | "
            f"{_cell(m.verified)} | {_cell(m.unverified) or '-'} |"
        )
    for s in telemetry.LOG_SIGNALS.values():
        kind = f"log `{s.log_id}` on `{s.resource_type}`" + ("" if s.autopilot else " (not used: see why)")
        fields = sorted(f"resource.labels.{label}" for label in s.resource_labels) + sorted(s.fields)
        values = "; ".join(f"{k} = {', '.join(v)}" for k, v in s.values.items())
        rows.append(
            f"| {s.key} | {kind} | {_cell(', '.join(fields))}{'; values: ' + _cell(values) if values else ''} | "
            f"{_cell(s.source)} | {_cell(s.verified)} | {_cell(s.unverified) or '-'} |"
        )
    return "\n".join(rows)


def summary(docstring: str | None) -> str:
    """The first line of a docstring, its reStructuredText markup as Markdown (``x`` and :role:`x` -> `x`)."""
    line = (docstring or "").strip().split("\n")[0]
    return re.sub(r":[a-z]+:`~?([^`]+)`", r"`\1`", line.replace("``", "`"))


def package_layout(root: Path = ROOT) -> str:
    """What is in the package, one row per top-level module or package (and Helm chart) of gkeml: the first
    line of its docstring (the chart's description). ValueError names an entry that says nothing."""
    import yaml

    rows = ["| Path | What it is |", "|---|---|"]
    for path in sorted((root / "gkeml").iterdir()):
        if path.name.startswith(("_", ".")):
            continue
        if (path / "__init__.py").is_file():
            entries = [
                (f"gkeml/{path.name}/", summary(ast.get_docstring(ast.parse((path / "__init__.py").read_text()))))
            ]
        elif path.suffix == ".py":
            entries = [(f"gkeml/{path.name}", summary(ast.get_docstring(ast.parse(path.read_text()))))]
        elif path.is_dir():  # not Python: Helm charts of gkeml's own (templates/ and values.yaml in the package)
            entries = [
                (
                    f"gkeml/{path.name}/{chart.parent.name}/",
                    f"Helm chart: {yaml.safe_load(chart.read_text())['description']}.",
                )
                for chart in sorted(path.glob("*/Chart.yaml"))
            ]
        else:
            continue
        for name, text in entries or [(f"gkeml/{path.name}/", "")]:
            if not text:
                raise ValueError(f"{name} has no docstring (or Chart.yaml description) to list in the README layout")
            rows.append(f"| `{name}` | {_cell(text)} |")
    return "\n".join(rows)


def shipped_environments(root: Path = ROOT) -> list[str]:
    """The names of the environment files the figures are measured on."""
    return sorted(p.stem for p in (root / "environments").glob("*.yaml"))


def quoted_environments(root: Path = ROOT) -> list[str]:
    """The environments the README's check figures name (empty when it names none)."""
    text = (root / FIGURES[0][0]).read_text()
    span = section(text, FIGURES[0][1])
    found = re.search(r"default environments \(([^)]*)\)", text[span[0] : span[1]]) if span else None
    return [name.strip() for name in found.group(1).split(",")] if found else []


def check_figures(summary: dict[str, Any], environments: list[str]) -> str:
    """The one-paragraph result of `make check` on ``environments``, from its JSON output."""
    checkov = summary.get("checkov") or {}
    found = summary.get("findings") or []
    notices = [str(f["rule"]) for f in found if isinstance(f, dict) and f.get("rule") in NOTICE_RULES]
    noticed = (
        f" and {len(notices)} notice{'s' if len(notices) > 1 else ''} ({', '.join(sorted(set(notices)))})"
        if notices
        else ""
    )
    text = (
        f"`make check` on the default environments ({', '.join(environments)}): "
        f"{len(found) - len(notices)} findings{noticed} in "
        f"{summary.get('objects_checked', 0)} Kubernetes objects"
    )
    if checkov:
        text += (
            f"; checkov {checkov.get('version')}: {checkov.get('passed')} passed, "
            f"{len(checkov.get('failed') or [])} failed, {len(checkov.get('skipped') or [])} skipped (each "
            f"skip reviewed, with its reason, in `gkeml/checkov.py`)"
        )
    return text + "."


# (file, section) -> generator; the check figures need a check run and are written only with one.
SECTIONS: dict[tuple[str, str], Callable[[], str]] = {
    ("docs/policy.md", "rules"): rule_table,
    ("docs/policy.md", "interactions"): interaction_table,
    ("docs/jobs.md", "gpus"): gpu_table,
    ("docs/services.md", "telemetry"): telemetry_table,
    ("docs/volumes.md", "hyperdisk-ml"): hyperdisk_ml_table,
    ("docs/versions.md", "features"): version_table,
    ("README.md", "layout"): package_layout,
}
FIGURES = (("README.md", "check-figures"), ("docs/policy.md", "check-figures"))


def section(text: str, name: str) -> tuple[int, int] | None:
    """(start, end) of the generated body of section ``name`` in ``text``, or None when it has none."""
    begin, end = BEGIN.format(name), END.format(name)
    match = re.search(re.escape(begin) + r"\n(.*?)" + re.escape(end), text, re.S)
    return (match.start(1), match.end(1)) if match else None


def replace(text: str, name: str, body: str) -> str:
    """``text`` with section ``name`` holding ``body``; ValueError when the markers are missing."""
    span = section(text, name)
    if span is None:
        raise ValueError(f"no {BEGIN.format(name)} ... {END.format(name)} markers")
    return text[: span[0]] + body.rstrip("\n") + "\n" + text[span[1] :]


def stale(root: Path = ROOT, summary: dict[str, Any] | None = None) -> list[str]:
    """``file: section`` of every generated section that differs from what the code generates now."""
    wanted = {key: make() for key, make in SECTIONS.items()}
    if summary is not None:
        wanted.update({key: check_figures(summary, shipped_environments(root)) for key in FIGURES})
    found = []
    for (file, name), body in wanted.items():
        text = (root / file).read_text()
        span = section(text, name)
        if span is None or text[span[0] : span[1]].rstrip("\n") != body.rstrip("\n"):
            found.append(f"{file}: {name}")
    return found


def write(root: Path = ROOT, summary: dict[str, Any] | None = None) -> list[str]:
    """Rewrite every stale section; returns what changed."""
    changed = stale(root, summary)
    wanted = {key: make() for key, make in SECTIONS.items()}
    if summary is not None:
        wanted.update({key: check_figures(summary, shipped_environments(root)) for key in FIGURES})
    for (file, name), body in wanted.items():
        if f"{file}: {name}" in changed:
            path = root / file
            path.write_text(replace(path.read_text(), name, body))
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gkeml.docs", description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", action="store_true", help="exit 1 naming every stale generated section")
    mode.add_argument("--write", action="store_true", help="rewrite the stale generated sections")
    parser.add_argument(
        "--check-summary",
        metavar="FILE",
        help="`gkeml check --format json` output of the shipped environments (the check figures)",
    )
    args = parser.parse_args(argv)
    summary = json.loads(Path(args.check_summary).read_text()) if args.check_summary else None
    if args.write:
        for item in write(summary=summary):
            print(f"updated {item}")
        return ExitCode.OK
    found = stale(summary=summary)
    for item in found:
        print(f"stale: {item} (run `make docs`)", file=sys.stderr)
    return ExitCode.FINDINGS if found else ExitCode.OK


if __name__ == "__main__":
    sys.exit(main())
