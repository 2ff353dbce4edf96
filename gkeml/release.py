"""Releases of gkeml: which exist, which one deployed an environment, and what moving between them means.

The version itself lives in ``gkeml.__version__`` (the one place). Every release in :data:`RELEASES` has a
CHANGELOG.md entry and a docs/upgrading.md section (tests/test_release.py). A deploy records the release
that made it in two places, chosen so that an upgrade does not touch every resource:

- ``gkeml-version``, ONE resource label on the cluster (:data:`VERSION_LABEL`): ``gkeml doctor`` reads it
  from the cluster it already fetches. Updating it is one in-place call per release
  (clusters.setResourceLabels; the google provider updates ``resource_labels`` without re-creating the
  cluster). In the provider's ``default_labels`` it would change every labelled resource on every upgrade.
- ``gkeml_version``, a Terraform output of every stack (:data:`VERSION_OUTPUT`): kept in the state, shown
  by ``terraform output``, and in ``cdktf.out`` for ``gkeml check`` offline. An output is no resource: a
  new value plans no change to anything.

Offline, ``gkeml check`` knows two versions besides its own: the one that wrote ``cdktf.out``, and with
``--against REF`` the one REF pins (``requirements/gkeml.txt`` of a platform repository written by
``gkeml init``, or ``gkeml/__init__.py`` here). What a live environment runs is ``gkeml doctor``'s to say.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from gkeml import __version__
from gkeml.registry import ERROR, TRANSITION, WARNING, Check, Finding, register

# Oldest first. 0.1.0 is commit 36e81db (2026-11-28), before the work released as 0.2.0 began; it had no tag.
RELEASES = ("0.1.0", "0.2.0")
FIRST_RECORDING_RELEASE = "0.2.0"  # the first release that writes VERSION_LABEL and VERSION_OUTPUT
REPOSITORY_URL = "https://github.com/gkeml/gkeml"  # as the environment schema's $id names it
VERSION_LABEL = "gkeml-version"
VERSION_OUTPUT = "gkeml_version"
# Where a platform repository written by `gkeml init` pins gkeml (and where `--against REF` looks first);
# this repository's own version is __version__ in gkeml/__init__.py.
PIN_FILE = "requirements/gkeml.txt"
SOURCE_VERSION_FILES = ("gkeml/__init__.py", "pyproject.toml")  # pyproject.toml held it until 0.1.0
# Google Cloud label values: lowercase letters, digits, '_' and '-', at most 63 characters
# (cloud.google.com/kubernetes-engine/docs/how-to/creating-managing-labels, "Requirements", checked 2026-12-04).
LABEL_VALUE_LENGTH = 63
_PIN = re.compile(r"^\s*gkeml(\[[^\]]*\])?\s*==\s*([0-9][0-9A-Za-z.+-]*)\s*(;.*)?(#.*)?$", re.MULTILINE)
_GKEML_PROJECT = re.compile(r"""^name\s*=\s*["']gkeml["']""", re.MULTILINE)
_SOURCE_VERSION = re.compile(r"""^(?:__version__|version)\s*=\s*["']([0-9][0-9A-Za-z.+-]*)["']""", re.MULTILINE)


def parse(version: str) -> tuple[int, ...] | None:
    """``"0.2.0"`` -> ``(0, 2, 0)``; the numeric release part of a version, None when it has none."""
    match = re.match(r"^(\d+(?:\.\d+)*)", version)
    return tuple(int(part) for part in match.group(1).split(".")) if match else None


def label_value(version: str = __version__) -> str:
    """A version as a label value: ``0.2.0`` -> ``0-2-0`` (a label value has no dots)."""
    return re.sub(r"[^a-z0-9_-]", "_", version.lower().replace(".", "-"))[:LABEL_VALUE_LENGTH]


def from_label(value: str) -> str:
    """The version a :func:`label_value` stands for: ``0-2-0`` -> ``0.2.0``."""
    return value.replace("-", ".")


def anchor(version: str) -> str:
    """The anchor of a version's section in docs/upgrading.md (GitHub drops the dots of ``## 0.2.0``)."""
    return re.sub(r"[^0-9a-z-]", "", version.lower())


def notes_url(version: str) -> str:
    """Where the upgrade notes of ``version`` are read: its section of docs/upgrading.md at its tag."""
    return f"{REPOSITORY_URL}/blob/v{version}/docs/upgrading.md#{anchor(version)}"


def releases_between(older: str | None, newer: str) -> list[str]:
    """The releases after ``older`` (None: before the first that recorded itself) up to ``newer``, in order."""
    low, high = parse(older) if older else None, parse(newer)
    if high is None:
        return []
    if low is None:
        low = parse(RELEASES[RELEASES.index(FIRST_RECORDING_RELEASE) - 1]) or ()
    return [r for r in RELEASES if low < (parse(r) or ()) <= high]


@dataclass(frozen=True)
class VersionGap:
    """How the release that deployed (or pinned) an environment relates to the one running now."""

    deployed: str | None  # None: before FIRST_RECORDING_RELEASE, which recorded nothing
    running: str

    @property
    def kind(self) -> str:
        """``same``, ``upgrade`` (running is newer, or nothing was recorded), ``downgrade`` or ``unknown``."""
        if self.deployed is None:
            return "upgrade"
        if self.deployed == self.running:
            return "same"
        deployed, running = parse(self.deployed), parse(self.running)
        if deployed is None or running is None or deployed == running:
            return "unknown"
        return "upgrade" if deployed < running else "downgrade"

    @property
    def deployed_text(self) -> str:
        if self.deployed is None:
            return f"a gkeml before {FIRST_RECORDING_RELEASE} (no {VERSION_LABEL} recorded)"
        return f"gkeml {self.deployed}"

    def meaning(self) -> str:
        """What the gap means for the next deploy, and what to read or do first (one line)."""
        kind = self.kind
        if kind == "same":
            return f"gkeml {self.running} deployed it"
        if kind == "upgrade":
            steps = releases_between(self.deployed, self.running) or [self.running]
            notes = "; ".join(f"{v}: {notes_url(v)}" for v in steps)
            return (
                f"deployed by {self.deployed_text}, this is {self.running}: the next deploy upgrades it; before "
                f"it, read the upgrade notes of each release in between ({notes}) and run the diff"
            )
        if kind == "downgrade":
            return (
                f"deployed by {self.deployed_text}, newer than this {self.running}: a deploy with this version "
                f"would undo what {self.deployed} changed (resources it added are destroyed); install "
                f"gkeml=={self.deployed} (or newer) to deploy it"
            )
        return f"deployed by {self.deployed_text}, this is {self.running}: compare their CHANGELOG.md entries"


# gkeml check --against REF: the change runs another gkeml release than REF pins.
RELEASE_CHECK = register(
    Check(
        "REL001",
        TRANSITION,
        WARNING,
        "The change runs another gkeml release than REF pins",
        "A newer release is a warning naming the upgrade notes of every release in between (docs/upgrading.md), "
        "reported without failing the check; an older one is an error: its deploy would undo what the newer "
        "release changed.",
        "Terraform destroys what a configuration no longer declares "
        "(developer.hashicorp.com/terraform/language/resources/behavior): an older release's stacks lack what "
        "a newer one added; gkeml's releases and their notes: CHANGELOG.md, docs/upgrading.md",
        inspects=(PIN_FILE, *SOURCE_VERSION_FILES),
        also=ERROR,
    )
)


def release_finding(ref: str, pinned: str, source: str, running: str = __version__) -> Finding | None:
    """REL001 for a change running gkeml ``running`` where git ``ref`` pins ``pinned`` (read from ``source``):
    a warning naming the upgrade notes when ``running`` is newer, an error when it is older (its deploy would
    undo what the newer release changed), None for the same release."""
    gap = VersionGap(pinned, running)
    if gap.kind == "same":
        return None
    return RELEASE_CHECK.finding(
        "gkeml",
        "version",
        f"{ref} deploys with gkeml {pinned} ({source}), this change with gkeml {running}",
        gap.meaning(),
        source,
        ERROR if gap.kind == "downgrade" else WARNING,
    )


def pinned_version(text: str) -> str | None:
    """The exact gkeml version a requirements file pins (``gkeml==0.2.0``, ``gkeml[cdktn]==0.2.0``), or None."""
    match = _PIN.search(text)
    return match.group(2) if match else None


def source_version(text: str) -> str | None:
    """``__version__`` of gkeml/__init__.py, or ``version`` of gkeml's older pyproject.toml (not another
    project's: a platform repository may have a pyproject.toml of its own), or None."""
    if "__version__" not in text and not _GKEML_PROJECT.search(text):
        return None
    match = _SOURCE_VERSION.search(text)
    return match.group(1) if match else None


def version_at(ref: str, where: str | Path) -> tuple[str, str] | None:
    """(version, file it was read from) of gkeml as the repository holding ``where`` has it at git ``ref``:
    its pin in :data:`PIN_FILE` (a platform repository), else gkeml's own version (this repository); None
    when neither exists at ``ref``. The caller has checked that ``ref`` is a commit."""
    for path, read in ((PIN_FILE, pinned_version), *((f, source_version) for f in SOURCE_VERSION_FILES)):
        try:
            shown = subprocess.run(
                ["git", "show", f"{ref}:{path}"], cwd=where, capture_output=True, text=True, check=False
            )
        except (FileNotFoundError, UnicodeDecodeError):
            return None
        version = read(shown.stdout) if shown.returncode == 0 else None
        if version:
            return version, path
    return None


def git_root(where: str | Path) -> Path | None:
    """The top of the git work tree holding ``where``, or None."""
    try:
        shown = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"], cwd=where, capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        return None
    return Path(shown.stdout.strip()) if shown.returncode == 0 and shown.stdout.strip() else None


# --- what an upgrade does to the Terraform state (tests/test_upgrade.py, scripts/upgrade_golden.py) ----------


def resource_addresses(stack: dict) -> set[str]:
    """``type.name`` of every resource a synthesized stack (its cdk.tf.json) declares: its state addresses."""
    resources = stack.get("resource") or {}
    return {f"{rtype}.{name}" for rtype, items in resources.items() if isinstance(items, dict) for name in items}


def state_moves(stack: dict) -> tuple[dict[str, str], set[str]]:
    """(``moved`` blocks as from -> to, ``from`` of every ``removed`` block) of a synthesized stack."""
    moved = {m["from"]: m["to"] for m in stack.get("moved") or [] if isinstance(m, dict) and "from" in m}
    removed = {r["from"] for r in stack.get("removed") or [] if isinstance(r, dict) and "from" in r}
    return moved, removed
