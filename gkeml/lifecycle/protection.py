"""What a plan must never destroy by accident outside dev: resources that hold data or an identity
others depend on, and how each is protected from Terraform."""

from __future__ import annotations

from gkeml.lifecycle.graph import blocks

# type -> why losing it hurts; each must carry lifecycle.prevent_destroy (Terraform refuses any plan
# that would destroy it), and the types in DELETION_PROTECTION also the provider's own flag.
DATA_HOLDING: dict[str, str] = {
    "google_storage_bucket": "datasets, checkpoints, artifacts, access logs, Terraform state",
    "google_secret_manager_secret": "the secret and every version of it (the value exists nowhere else)",
    "google_compute_global_address": "the IP the host's DNS points at, or the range a private service's addresses "
    "come from",
    "google_service_account": "an identity other projects and bindings refer to (a re-created one is a new identity)",
    # what extensions commonly add (the Cloud SQL example)
    "google_sql_database_instance": "the databases and their automated backups (deleted with the instance)",
    "google_sql_database": "the database's tables",
}
DELETION_PROTECTION = ("google_secret_manager_secret", "google_container_cluster", "google_sql_database_instance")


def unprotected(stack: dict) -> list[str]:
    """Addresses in ``stack`` that a plan could destroy without an explicit config change."""
    found = []
    for address, rtype, conf in blocks(stack):
        if address.startswith(("data.", "ephemeral.")):
            continue
        if rtype in DATA_HOLDING and not (conf.get("lifecycle") or {}).get("prevent_destroy"):
            found.append(f"{address}: no lifecycle.prevent_destroy ({DATA_HOLDING[rtype]})")
        if rtype in DELETION_PROTECTION and conf.get("deletion_protection") is not True:
            found.append(f"{address}: deletion_protection is not true")
    return found
