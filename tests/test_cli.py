"""The `gkeml` command line: discovery, help, usage errors, the one form of every error (and its JSON
object), and shell completion."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ENVIRONMENTS, ROOT

from gkeml.cli import main

# Every line an error prints on stderr: `gkeml COMMAND: error: ...`, or `FILE:LINE: ...` (gkeml.exitcodes).
ERROR_LINE = re.compile(r"^(gkeml( [a-z][a-z-]*)*: error: |\S+:\d+: )")


def test_every_command_has_help(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    assert "141" in text and "gkeml completion bash" in text  # the exit codes, completion
    for command in ("synth", "job", "launch", "check", "cost", "doctor", "diagram", "init", "completion"):
        assert command in text
        with pytest.raises(SystemExit) as sub:
            main([command, "--help"])
        assert sub.value.code == 0
        assert f"usage: gkeml {command}" in capsys.readouterr().out


def test_render_help_lists_the_exit_codes_of_a_command_that_asks_no_cluster(capsys):
    with pytest.raises(SystemExit):
        main(["job", "render", "--help"])
    text = capsys.readouterr().out
    assert "2 spec/config error" in text and "cluster refused" not in text


def test_no_command_prints_help_on_stderr_and_exits_2(capsys):
    assert main([]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("usage: gkeml") and "exit codes" in err


def test_unknown_option_is_a_usage_error_on_stderr(capsys):
    assert main(["synth", "--frobnicate"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("usage: gkeml synth ")  # the usage of the command it was given to
    assert err.splitlines()[-1] == "gkeml synth: error: unrecognized arguments: --frobnicate"
    assert main(["job", "wait", "x", "--frobnicate"]) == 2
    assert capsys.readouterr().err.splitlines()[-1] == "gkeml job wait: error: unrecognized arguments: --frobnicate"


def test_an_option_is_never_abbreviated(capsys):
    """`--form json` is not `--format json`: a script means the same when an option is added later."""
    assert main(["cost", "mini", "--environments", str(ENVIRONMENTS), "--form", "json"]) == 2
    assert "unrecognized arguments: --form json" in capsys.readouterr().err
    assert main(["cost", "mini", "--environments", str(ENVIRONMENTS), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["environment"] == "mini"


def test_a_misspelt_command_gets_a_suggestion(capsys):
    assert main(["chek"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("usage: gkeml")
    assert err.splitlines()[-1].startswith("gkeml: error: argument COMMAND: invalid choice: 'chek' (choose from ")
    assert err.rstrip().endswith("; did you mean 'check'?")


@pytest.fixture
def broken_environments(tmp_path) -> Path:
    """mini, with a key the model does not have on line 2."""
    text = (ENVIRONMENTS / "mini.yaml").read_text()
    first, rest = text.split("\n", 1)
    (tmp_path / "mini.yaml").write_text(f"{first}\ncolour: blue\n{rest}")
    return tmp_path


FAILURES = {
    # what: (arguments, exit code, command, what stderr's first error line starts with)
    "unknown environment": (
        ["cost", "nope", "--environments", "{fixtures}"],
        2,
        "gkeml cost",
        "gkeml cost: error: {fixtures}: ENV: no environment 'nope'; defined: lab, live, mini, stage",
    ),
    "config at a line": (
        ["cost", "mini", "--environments", "{broken}"],
        2,
        "gkeml cost",
        "{broken}/mini.yaml:2: colour: ",
    ),
    "no output": (
        ["diagram", "lab", "--out", "{tmp}"],
        2,
        "gkeml diagram",
        "gkeml diagram: error: {tmp}/manifest.json is missing",
    ),
    "no kubectl context": (
        ["job", "list", "--env", "lab", "--environments", "{fixtures}"],
        2,
        "gkeml job list",
        "gkeml job list: error: no current kubectl context; run 'gcloud container clusters get-credentials ",
    ),
    "usage": (
        ["job", "render"],
        2,
        "gkeml job render",
        "gkeml job render: error: the following arguments are required: SPEC",
    ),
}


def run_failing(name: str, tmp_path: Path, broken: Path, *extra: str) -> tuple[int, str, list[str]]:
    """Exit code, stdout and the error lines of stderr (usage lines left out) of failure ``name``."""
    args = [a.format(fixtures=ENVIRONMENTS, broken=broken, tmp=tmp_path) for a in FAILURES[name][0]]
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n")
    done = subprocess.run(
        [sys.executable, "-m", "gkeml.cli", *args, *extra],
        cwd=ROOT,
        env=dict(os.environ, KUBECONFIG=str(kubeconfig)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    usage = ("usage: ", " ")  # argparse's usage, wrapped
    return done.returncode, done.stdout, [line for line in done.stderr.splitlines() if not line.startswith(usage)]


@pytest.mark.parametrize("name", FAILURES)
def test_every_error_has_one_form_and_with_format_json_a_json_object(name, tmp_path, broken_environments):
    _, code, command, starts = FAILURES[name]
    code_text, out, errors = run_failing(name, tmp_path, broken_environments)
    assert code_text == code and out == "", errors
    assert errors[0].startswith(starts.format(fixtures=ENVIRONMENTS, broken=broken_environments, tmp=tmp_path))
    assert all(ERROR_LINE.match(line) for line in errors), errors

    code_json, out, errors_json = run_failing(name, tmp_path, broken_environments, "--format", "json")
    assert code_json == code and errors_json == errors  # stderr says the same
    data = json.loads(out)  # and stdout holds one JSON object
    assert (data["command"], data["exit_code"]) == (command, code)
    assert all(line in "\n".join(errors) for line in data["error"].splitlines())
    if name == "config at a line":
        problem = data["problems"][0]
        assert (problem["file"], problem["line"], problem["field"]) == (f"{broken_environments}/mini.yaml", 2, "colour")


# -- shell completion -------------------------------------------------------------------------------

COMPLETE = """\
source <(gkeml completion bash)
complete_line() {  # what bash does on TAB at the end of the line
  COMP_LINE="$1"; COMP_POINT=${#COMP_LINE}; read -ra COMP_WORDS <<< "$COMP_LINE"
  [[ "$COMP_LINE" == *" " ]] && COMP_WORDS+=("")
  COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
  _python_argcomplete gkeml "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
  echo "${COMPREPLY[*]}"
}
"""


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash completes here")
def test_bash_completes_commands_and_environment_names(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "gkeml").write_text(f'#!/bin/sh\nexec {sys.executable} -m gkeml.cli "$@"\n')
    (bin_dir / "gkeml").chmod(0o755)
    fixtures = ENVIRONMENTS.relative_to(ROOT)
    lines = [
        "gkeml jo",
        f"gkeml cost --environments {fixtures} ",
        f"gkeml job render examples/jobs/single-gpu.yaml --environments {fixtures} --env l",
        "gkeml diagram dev --format s",
    ]
    script = COMPLETE + "".join(f"complete_line {json.dumps(line)}\n" for line in lines)
    done = subprocess.run(
        ["bash", "-c", script],
        cwd=ROOT,
        env=dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    job, cost, env, svg = done.stdout.splitlines()
    assert job.split() == ["job"]
    assert [w for w in cost.split() if not w.startswith("-")] == ["lab", "live", "mini", "stage"]
    assert env.split() == ["lab", "live"]
    assert svg.split() == ["svg"]


@pytest.mark.parametrize(("shell", "registers"), [("zsh", "compdef _python_argcomplete"), ("fish", "complete ")])
def test_zsh_and_fish_get_their_own_registration(capsys, shell, registers):
    assert main(["completion", shell]) == 0
    code = capsys.readouterr().out
    assert registers in code and "gkeml" in code
