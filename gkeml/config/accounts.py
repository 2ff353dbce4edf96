"""Account ids and emails of the Google service accounts an environment has: the bootstrap stack creates
them (gkeml.stacks.bootstrap), the cloud stack names them (gkeml.naming re-exports these)."""

from __future__ import annotations


def node_service_account_id(env: str) -> str:
    """Account id of the service account the cluster's nodes of environment ``env`` run as (the bootstrap
    stack creates it; the cloud stack names it)."""
    return f"{env}-gke-nodes"


def workload_service_account_id(env: str, identity: str) -> str:
    """Account id of the Google service account of ``env``'s classic-mode identity ``identity`` (the
    bootstrap stack creates it; the cloud stack names it)."""
    return f"{env}-{identity}"


def service_account_email(account_id: str, project: str) -> str:
    """Email of a user-managed service account."""
    return f"{account_id}@{project}.iam.gserviceaccount.com"
