"""``gkeml doctor``: compare a live environment with its config, and check the local toolchain.

:func:`diagnose` runs the parts, each in its own module: the project and the cluster
(:mod:`gkeml.doctor.cluster`, through the GKE and Cloud Resource Manager APIs), the platform services (DNS,
certificates and the capacity preflight: :mod:`gkeml.doctor.preflight`, through Compute Engine and DNS) and
the toolchain (:mod:`gkeml.doctor.toolchain`). Every comparison becomes one :class:`Check` row; a part that
cannot ask its API stops at one line of advice (:class:`DoctorError`, :mod:`gkeml.doctor.api`: the clients,
their endpoints and the limits every answer is read within); what a server wrote is printed escaped
(:func:`gkeml.text.one_line`).

Statuses: ``ok``; ``warn`` (worth knowing, not drift: a transient cluster state,
a version GKE is about to upgrade); ``drift`` (live differs from the config, or a
tool is missing or too old). Exit codes: 0 clean, 1 drift, 2 credentials/API.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from gkeml.answers import Limits
from gkeml.doctor.api import Check, DoctorError, Report, RestApi, cluster_client
from gkeml.doctor.cluster import RESOURCE_MANAGER_API, check_cluster, check_project_number
from gkeml.doctor.preflight import check_services
from gkeml.doctor.toolchain import check_toolchain
from gkeml.naming import Names

if TYPE_CHECKING:
    from google.cloud.container_v1 import ClusterManagerClient

    from gkeml.config.model import Environment

__all__ = ["Check", "DoctorError", "Report", "diagnose"]


def diagnose(
    env: Environment,
    client: ClusterManagerClient | None = None,
    *,
    endpoint: str | None = None,
    root: Path | None = None,
    toolchain: bool = True,
    compute_endpoint: str | None = None,
    dns_server: str | None = None,
    services: bool = True,
    resource_manager_endpoint: str | None = None,
    env_file: str | None = None,
    limits: Limits | None = None,
) -> Report:
    """Run every check for ``env`` (read from ``env_file``, default environments/ENV.yaml); the project
    part, the cluster part and the services part (DNS, certificates, quotas: :mod:`gkeml.doctor.preflight`) each
    stop at their first API error (``Report.error``: the cluster's, else the project's, else the services').
    Every request is made within ``limits`` (default: :class:`gkeml.answers.Limits`)."""
    names = Names.of(env)
    report = Report(env.name, f"projects/{env.project.id}/locations/{env.project.region}/clusters/{names.cluster}")
    project_error = services_error = None
    if services:
        try:
            api = RestApi(
                RESOURCE_MANAGER_API,
                resource_manager_endpoint,
                "--resource-manager-endpoint",
                "Cloud Resource Manager",
                limits,
            )
            report.checks.append(check_project_number(env, api, env_file or f"environments/{env.name}.yaml"))
        except DoctorError as exc:
            project_error = str(exc)
    try:
        with warnings.catch_warnings():  # an enum value newer than the client is shown as its number
            warnings.filterwarnings("ignore", message="Unrecognized .* enum value", category=UserWarning)
            report.checks += check_cluster(env, client or cluster_client(endpoint, limits), limits)
    except DoctorError as exc:
        report.error = str(exc)
    if services:
        try:
            report.checks += check_services(
                env, compute_endpoint=compute_endpoint, dns_server=dns_server, limits=limits
            )
        except DoctorError as exc:
            services_error = str(exc)
    report.error = report.error or project_error or services_error
    if toolchain:
        report.checks += check_toolchain(root or Path.cwd())
    return report
