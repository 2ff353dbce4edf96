"""Install policy of GitHub workflow jobs that can hold a cloud token (docs/ci.md).

    python scripts/workflow_policy.py .github/workflows/*.yml

A job holds a cloud token when it may mint a GitHub OIDC token (``permissions: id-token: write``)
or logs in with ``google-github-actions/auth``. In such a job:

- Python packages are installed only with ``pip install --require-hashes`` (from a lock file);
- npm packages only with ``npm ci --ignore-scripts`` (no ``npm install``, no ``npx``);
- a ``make`` target counts by the commands it runs: ``make -n -B TARGET`` is checked line by line;
- no cache is restored (``actions/cache``, ``cache:`` of setup-python/setup-node, setup-node's
  automatic ``package-manager-cache``), so nothing a pull-request run wrote reaches the job.

Prints ``file:line: job JOB: problem`` per problem; exit 1 when there is any, 2 when no file was
given or a file cannot be read, 0 when every job complies. zizmor and actionlint check the rest.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

ROOT = Path(__file__).resolve().parents[1]
AUTH_ACTION = "google-github-actions/auth"
PIP_INSTALL = re.compile(r"(^|[\s;&|(/])(pip3?(\.\d+)?|-m\s+pip)\s+install\b")
NPM_RESOLVING = re.compile(r"(^|[\s;&|(/])(npm\s+(install|i|add|update|exec)\b|npx\s)")
NPM_CI = re.compile(r"(^|[\s;&|(/])npm\s+ci\b")
MAKE = re.compile(r"(^|[\s;&|(])make\s")


def holds_cloud_token(job: dict) -> bool:
    """True when the job can mint an OIDC token or logs in to Google Cloud."""
    permissions = job.get("permissions")
    if isinstance(permissions, dict) and permissions.get("id-token") == "write":
        return True
    return any(str(step.get("uses", "")).startswith(f"{AUTH_ACTION}@") for step in job.get("steps") or [])


def command_problems(command: str) -> list[str]:
    """What is wrong with one shell command of a token-holding job."""
    problems = []
    if PIP_INSTALL.search(command) and "--require-hashes" not in command:
        problems.append(f"pip install without --require-hashes: {command.strip()}")
    if NPM_RESOLVING.search(command):
        problems.append(
            f"npm resolves or runs packages outside the lock: {command.strip()}; use npm ci --ignore-scripts"
        )
    if NPM_CI.search(command) and "--ignore-scripts" not in command:
        problems.append(f"npm ci without --ignore-scripts: {command.strip()}")
    return problems


def repository_of(workflow: Path) -> Path:
    """The repository whose Makefile a workflow's ``make`` runs: the one holding its ``.github/workflows``
    (a platform repository written by ``gkeml init`` has its own), else this one."""
    parent = workflow.resolve().parent
    if parent.name == "workflows" and parent.parent.name == ".github" and (parent.parents[1] / "Makefile").exists():
        return parent.parents[1]
    return ROOT


def make_commands(command: str, root: Path = ROOT) -> list[str]:
    """The shell commands ``make`` would run (in ``root``) for the targets of a ``make ...`` command line,
    with every prerequisite considered out of date (a fresh runner)."""
    words = shlex.split(command.split("make", 1)[1].split("&&")[0].split(";")[0])
    targets = [w for w in words if "=" not in w and not w.startswith("-")]
    variables = [w.split("=", 1)[0] + "=policy-check" for w in words if "=" in w and not w.startswith("-")]
    result = subprocess.run(
        ["make", "--no-print-directory", "-n", "-B", "-C", str(root), *targets, *variables],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if result.returncode != 0:
        return [f"__make_failed__ {result.stderr.strip()}"]
    return result.stdout.splitlines()


def step_problems(step: dict, root: Path = ROOT) -> list[str]:
    """What is wrong with one step of a token-holding job (``root``: the repository its ``make`` runs in)."""
    uses = str(step.get("uses", ""))
    inputs = step.get("with") or {}
    action = uses.split("@")[0]
    problems = []
    if action == "actions/cache" or action.startswith("actions/cache/"):
        problems.append("restores a cache (a pull-request run may have written it)")
    if action in ("actions/setup-python", "actions/setup-node") and "cache" in inputs:
        problems.append(f"{action} restores a cache (cache: {inputs['cache']}); remove it")
    if action == "actions/setup-node" and str(inputs.get("package-manager-cache", "true")).lower() != "false":
        problems.append("actions/setup-node without package-manager-cache: false may restore an npm cache")
    for line in str(step.get("run", "")).splitlines():
        problems += command_problems(line)
        if MAKE.search(line):
            for made in make_commands(line, root):
                if made.startswith("__make_failed__"):
                    problems.append(f"{line.strip()}: make cannot plan it: {made.split(' ', 1)[1]}")
                else:
                    problems += [f"{line.strip()} runs {p}" for p in command_problems(made)]
    return problems


def workflow_problems(path: Path) -> list[str]:
    """``file:line: job JOB: problem`` for every token-holding job of one workflow file."""
    workflow = YAML(typ="rt").load(path.read_text())
    out = []
    for name, job in (workflow.get("jobs") or {}).items():
        if not holds_cloud_token(job) or "uses" in job:  # a reusable workflow call: the callee is checked
            continue
        for step in job.get("steps") or []:
            for problem in step_problems(step, repository_of(path)):
                out.append(f"{path}:{step.lc.line + 1}: job {name}: {problem}")
    return out


def main(argv: list[str]) -> int:
    """Check every file; see the module docstring for output and exit codes."""
    if not argv:
        print("usage: python scripts/workflow_policy.py WORKFLOW.yml [...]", file=sys.stderr)
        return 2
    problems = []
    for file in argv:
        try:
            problems += workflow_problems(Path(file))
        except OSError as exc:
            print(f"{file}: cannot read: {exc.strerror}", file=sys.stderr)
            return 2
        except YAMLError as exc:
            print(f"{file}: invalid YAML: {' '.join(str(exc).split())}", file=sys.stderr)
            return 2
    for problem in problems:
        print(problem)
    if problems:
        print(f"workflow policy: {len(problems)} problem(s) in {len(argv)} file(s)", file=sys.stderr)
        return 1
    print(f"workflow policy: {len(argv)} file(s) clean", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
