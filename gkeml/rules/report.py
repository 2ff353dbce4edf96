"""Render findings (and the checkov report) as a table, JSON, GitHub annotations or SARIF 2.1.0."""

from __future__ import annotations

import json
import re
import textwrap
from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING

from gkeml import __version__
from gkeml.registry import ADVICE, CHECKS, ERROR, WARNING, Check, Finding, at_least
from gkeml.rules.engine import RULES
from gkeml.text import table

if TYPE_CHECKING:
    from gkeml.checkov import CheckovReport

FORMATS = ("table", "json", "github", "sarif")
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
# A finding's severity as GitHub's workflow commands (::error, ::warning, ::notice) and SARIF's levels name it.
GITHUB_COMMANDS = {ERROR: "error", WARNING: "warning", ADVICE: "notice"}
SARIF_LEVELS = {ERROR: "error", WARNING: "warning", ADVICE: "note"}


def failing(findings: list[Finding], fail_on: str = ERROR) -> list[Finding]:
    """The findings that fail the check: at or above ``fail_on``, and not of a check whose findings are
    notices (reported on every run, never failing it)."""
    return [f for f in findings if at_least(f.severity, fail_on) and not (f.rule in CHECKS and CHECKS[f.rule].notice)]


_FILE_LINE = re.compile(r"(?P<file>.+):(?P<line>[0-9]+)(?: \(.*\))?")


def split_source(source: str) -> tuple[str, int]:
    """'file:line' (or 'file:line (the template it was rendered from)') -> (file, line); a source without a
    line gives line 1."""
    match = _FILE_LINE.fullmatch(source)
    if match:
        return match.group("file"), int(match.group("line"))
    return source, 1


def summary_line(
    findings: list[Finding], objects: int, checkov: CheckovReport | None, fail_on: str | None = None
) -> str:
    """Totals: findings by severity, objects checked, and checkov's counts; with ``fail_on``, how many fail."""
    count = {level: sum(f.severity == level for f in findings) for level in (ERROR, WARNING, ADVICE)}
    text = (
        f"{len(findings)} finding(s) ({count[ERROR]} error(s), {count[WARNING]} warning(s), {count[ADVICE]} "
        f"advice) in {objects} Kubernetes object(s)"
    )
    if fail_on is not None:
        text += f"; {len(failing(findings, fail_on))} at or above --fail-on {fail_on}"
    if checkov is not None:
        text += f"; {checkov.summary()}"
    return text


def render_table(
    findings: list[Finding],
    objects: int,
    checkov: CheckovReport | None,
    width: int | None = None,
    fail_on: str | None = None,
) -> str:
    """Human output: findings grouped by source, then checkov failures, then the summary. With
    ``width``, a table that would be wider becomes one block per finding (rule, level and object,
    then the field, problem and fix on wrapped lines of their own), so identifiers stay whole."""
    parts = []
    by_source: dict[str, list[Finding]] = defaultdict(list)
    for f in findings:
        by_source[f.source].append(f)
    for source, items in by_source.items():
        rows = [(f.rule, f.severity, f.object, f.field, f.message, f.fix) for f in items]
        text = table(rows, ("RULE", "LEVEL", "OBJECT", "FIELD", "PROBLEM", "FIX"))
        if width and _widest(text) > width:
            text = "\n".join(_block(f, width) for f in items)
        parts.append(_fit(source or "(objects)", width) + "\n" + text)
    if checkov is not None and checkov.failed:
        failed = [(r.check, r.stack, r.resource, f"{r.lines[0]}-{r.lines[1]}", r.name) for r in checkov.failed]
        text = table(failed, ("CHECK", "STACK", "RESOURCE", "LINES", "WHAT"))
        if width and _widest(text) > width:
            text = "\n".join(
                _fit(f"{r.check} {r.stack} {r.resource} lines {r.lines[0]}-{r.lines[1]}", width)
                + "\n"
                + _fit(r.name, width, "  ")
                for r in checkov.failed
            )
        parts.append("checkov\n" + text)
    parts.append(_fit(summary_line(findings, objects, checkov, fail_on), width))
    return "\n\n".join(parts)


def _widest(text: str) -> int:
    return max(len(line) for line in text.splitlines())


def _block(f: Finding, width: int) -> str:
    """One finding as a few lines no wider than ``width`` (unless one identifier is longer)."""
    lines = [
        _fit(f"{f.rule} {f.severity} {f.object}", width),
        _fit(f.field, width, "  "),
        _fit(f"problem: {f.message}", width, "  "),
        _fit(f"fix: {f.fix}", width, "  "),
    ]
    return "\n".join(lines)


def _fit(text: str, width: int | None, indent: str = "") -> str:
    if not width:
        return indent + text
    return textwrap.fill(
        text,
        width,
        initial_indent=indent,
        subsequent_indent=indent + "  ",
        break_long_words=False,
        break_on_hyphens=False,
    )


def render_json(
    findings: list[Finding], objects: int, checkov: CheckovReport | None, fail_on: str | None = None
) -> str:
    """Machine output: every finding, the checkov report and the totals (with ``fail_on``, the threshold
    and the findings that fail it, by their index in ``findings``)."""
    data = {
        "findings": [f.to_dict() for f in findings],
        "objects_checked": objects,
        "checkov": checkov.to_dict() if checkov is not None else None,
        "summary": summary_line(findings, objects, checkov, fail_on),
    }
    if fail_on is not None:
        failed = {id(f) for f in failing(findings, fail_on)}
        data["fail_on"] = fail_on
        data["failing"] = [i for i, f in enumerate(findings) if id(f) in failed]
    return json.dumps(data, indent=2, sort_keys=True)


def _escape(text: str, property_value: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if property_value:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def render_github(
    findings: list[Finding], objects: int, checkov: CheckovReport | None, fail_on: str | None = None
) -> str:
    """GitHub Actions workflow commands: one ::error/::warning/::notice annotation per finding (advice is a
    notice)."""
    lines = []
    for f in findings:
        file, line = split_source(f.source)
        title = _escape(f"{f.rule} {f.object}", property_value=True)
        lines.append(
            f"::{GITHUB_COMMANDS.get(f.severity, 'warning')} file={_escape(file, True)},line={line},title={title}::"
            + _escape(f"{f.field}: {f.message}. Fix: {f.fix}")
        )
    for r in checkov.failed if checkov is not None else []:
        lines.append(
            f"::error file={_escape(r.file, True)},line={r.lines[0] or 1},"
            f"title={_escape(f'{r.check} {r.resource}', True)}::{_escape(r.name)}"
        )
    for path in checkov.parsing_errors if checkov is not None else []:
        lines.append(f"::error title=checkov parse error::{_escape(path)}")
    lines.append(summary_line(findings, objects, checkov, fail_on))
    return "\n".join(lines)


def _sarif_rule(check: Check) -> dict:
    return {
        "id": check.id,
        "name": check.title,
        "shortDescription": {"text": check.title},
        "fullDescription": {"text": check.help},
        "defaultConfiguration": {"level": SARIF_LEVELS.get(check.severity, "warning")},
    }


def render_sarif(
    findings: list[Finding], objects: int, checkov: CheckovReport | None, fail_on: str | None = None
) -> str:
    """SARIF 2.1.0 for code scanning: the gkeml rules with their help, one result per finding (a finding of
    another registered check brings its check's title and help)."""
    rules = [_sarif_rule(r) for r in RULES.values()]
    results = []
    for f in findings:
        if f.rule not in {x["id"] for x in rules}:  # a finding about the config or the stacks, not an object
            check = CHECKS.get(f.rule)
            rules.append(
                _sarif_rule(check)
                if check is not None
                else {
                    "id": f.rule,
                    "name": f.rule,
                    "shortDescription": {"text": f.message},
                    "defaultConfiguration": {"level": SARIF_LEVELS.get(f.severity, "warning")},
                }
            )
        file, line = split_source(f.source)
        result = {
            "ruleId": f.rule,
            "level": SARIF_LEVELS.get(f.severity, "warning"),
            "message": {"text": f"{f.object}: {f.field}: {f.message}. Fix: {f.fix}"},
            "logicalLocations": [{"fullyQualifiedName": f.object, "kind": "resource"}],
        }
        if file:
            result["locations"] = [
                {"physicalLocation": {"artifactLocation": {"uri": file}, "region": {"startLine": line}}}
            ]
        results.append(result)
    for r in checkov.failed if checkov is not None else []:
        if r.check not in {x["id"] for x in rules}:
            rules.append(
                {
                    "id": r.check,
                    "name": r.name,
                    "shortDescription": {"text": r.name},
                    "defaultConfiguration": {"level": "error"},
                }
            )
        results.append(
            {
                "ruleId": r.check,
                "level": "error",
                "message": {"text": f"{r.resource}: {r.name}"},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": r.file},
                            "region": {"startLine": r.lines[0] or 1, "endLine": max(r.lines[1], r.lines[0], 1)},
                        }
                    }
                ],
            }
        )
    sarif = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "gkeml", "version": __version__, "rules": rules}},
                "results": results,
            }
        ],
    }
    return json.dumps(sarif, indent=2)


RENDERERS: dict[str, Callable[..., str]] = {
    "table": render_table,
    "json": render_json,
    "github": render_github,
    "sarif": render_sarif,
}
