"""gkeml: a production GKE Autopilot platform for ML workloads, built with CDK for Terraform."""

__version__ = "0.1.0"

import os as _os

# jsii prints a Node end-of-life banner on every start; the toolkit pins Node 20 knowingly.
_os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
