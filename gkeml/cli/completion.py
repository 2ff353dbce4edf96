"""``gkeml completion SHELL``: the shell code that completes gkeml's commands, options and environment names."""

from __future__ import annotations

import argparse
import sys

SHELLS = ("bash", "zsh", "fish")

DESCRIPTION = """\
Print the code that makes SHELL complete gkeml on TAB: commands, actions and options, file
names where a file is expected, and environment names (ENV, --env, --from) from the files of
--environments (default environments/). The completion itself is argcomplete's: the shell
runs gkeml with its command line in the environment, and gkeml answers with the candidates.
"""

EPILOG = """\
install (once; a new shell then completes):
  bash   echo 'eval "$(gkeml completion bash)"' >> ~/.bashrc
  zsh    echo 'eval "$(gkeml completion zsh)"' >> ~/.zshrc      (after compinit)
  fish   gkeml completion fish > ~/.config/fish/completions/gkeml.fish

examples:
  gkeml jo<TAB>                  gkeml job
  gkeml cost <TAB>               dev  prod  staging
  gkeml job render SPEC --env <TAB>

exit codes: 0 printed, 2 usage error."""


def register(sub) -> None:
    """Add the ``completion`` subcommand."""
    p = sub.add_parser(
        "completion",
        help="shell code for TAB completion of commands, options and environment names",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("shell", metavar="SHELL", choices=SHELLS, help=f"one of {', '.join(SHELLS)}")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print argcomplete's registration of ``gkeml`` for the shell."""
    import argcomplete

    sys.stdout.write(argcomplete.shellcode(["gkeml"], shell=args.shell))
    return 0
