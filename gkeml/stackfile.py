"""Reading a synthesized stack (``cdk.tf.json``) back, for every consumer of ``cdktf.out``.

The checks, the diagram, the permission and lifecycle models all read it here, so a malformed or partial
file is one clear error everywhere."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gkeml.config import ConfigError, ConfigProblem
from gkeml.config.loader import Limits, read_bounded

SYNTH_AGAIN = "run `gkeml synth` (or `make synth`) again"
BLOCK_SECTIONS = ("resource", "data", "ephemeral")
# The files of a synth output read back: a stack of the shipped environments is ~100 KB; one
# command reads a few dozen (every stack of every environment, two or three times).
OUTPUT_LIMITS = Limits(max_bytes=16 * 1024 * 1024, max_total_bytes=256 * 1024 * 1024)


def read_output_file(path: str | Path) -> bytes:
    """The bytes of a file of a synth output (a stack, cdktf's manifest): a regular file within
    :data:`OUTPUT_LIMITS` (anything else is a ConfigError saying to synthesize again)."""
    try:
        return read_bounded(path, OUTPUT_LIMITS, SYNTH_AGAIN)
    except ConfigError as exc:
        problem = exc.problems[0]
        fix = "" if SYNTH_AGAIN in problem.message else f"; {SYNTH_AGAIN}"
        raise ConfigError([ConfigProblem(problem.file, problem.line, "", f"{problem.message}{fix}")]) from None


def read_stack(path: str | Path) -> dict[str, Any]:
    """A synthesized stack (``cdk.tf.json``) as cdktf writes it: a JSON object whose block
    sections (resource, data, ...) map types to names to blocks. ConfigError naming the file
    (and line) when it is unreadable, not a regular file, too large, truncated or has another
    shape; run synth again then."""
    path = Path(path)
    again = f"; {SYNTH_AGAIN}"
    try:
        data = json.loads(read_output_file(path))
    except json.JSONDecodeError as exc:
        raise ConfigError([ConfigProblem(str(path), exc.lineno, "", f"not valid JSON ({exc.msg}){again}")]) from None
    except (ValueError, RecursionError) as exc:  # undecodable bytes, absurd nesting
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise ConfigError([ConfigProblem(str(path), 0, "", f"not valid JSON ({reason}){again}")]) from None
    if not isinstance(data, dict):
        raise ConfigError(
            [ConfigProblem(str(path), 1, "", f"expected a JSON object, got {type(data).__name__}{again}")]
        )
    for section in BLOCK_SECTIONS:
        types = data.get(section, {})
        bad = _not_blocks(types)
        if bad is not None:
            raise ConfigError(
                [
                    ConfigProblem(
                        str(path),
                        0,
                        ".".join([section, *bad]),
                        f"not the {{type: {{name: {{...}}}}}} mapping cdktf writes{again}",
                    )
                ]
            )
    return data


def _not_blocks(types: Any) -> list[str] | None:
    """The path of the first entry of a block section that is not {type: {name: {...}}}, else None."""
    if not isinstance(types, dict):
        return []
    for rtype, items in types.items():
        if not isinstance(items, dict):
            return [str(rtype)]
        for name, body in items.items():
            if not isinstance(body, dict):
                return [str(rtype), str(name)]
    return None
