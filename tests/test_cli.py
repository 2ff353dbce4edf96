"""The `gkeml` command line: discovery, help and exit codes."""

from __future__ import annotations

import pytest

from gkeml.cli import main


def test_every_command_has_help(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    for command in ("synth", "job", "launch", "check", "cost", "doctor", "diagram", "init"):
        assert command in text
        with pytest.raises(SystemExit) as sub:
            main([command, "--help"])
        assert sub.value.code == 0
        assert f"usage: gkeml {command}" in capsys.readouterr().out


def test_no_command_prints_help_and_exits_2(capsys):
    assert main([]) == 2
    assert "usage: gkeml" in capsys.readouterr().out


def test_unknown_option_is_a_usage_error():
    with pytest.raises(SystemExit) as info:
        main(["synth", "--frobnicate"])
    assert info.value.code == 2
