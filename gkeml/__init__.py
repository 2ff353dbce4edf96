"""gkeml: a production GKE Autopilot platform for ML workloads, built with CDK for Terraform."""

# The release, in ONE place: pyproject.toml reads it (dynamic version), `gkeml --version` prints it, the
# stacks record it (gkeml.release), `gkeml init` pins it. CHANGELOG.md and docs/upgrading.md have a section
# for every release in gkeml.release.RELEASES (tests/test_release.py).
__version__ = "0.2.0"

import os as _os

# jsii prints a Node end-of-life banner on every start; the toolkit pins Node 20 knowingly.
_os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
