"""gkeml: a production GKE Autopilot platform for ML workloads, built with CDK for Terraform."""

__version__ = "0.1.0"
