"""``gkeml doctor``'s checks of the project and its cluster: is ``project.number`` the number of ``project.id``
(Cloud Resource Manager v3), and is the live cluster what the config says (the GKE API: the cluster and the
server config of its location), down to the gkeml release that deployed it.
"""

from __future__ import annotations

import ipaddress
import re
from typing import TYPE_CHECKING

from gkeml import __version__, platform
from gkeml.answers import Limits
from gkeml.doctor.api import DOCTOR_ROLE, DRIFT, OK, WARN, Check, DoctorError, RestApi, api_error, api_errors
from gkeml.naming import Names
from gkeml.release import FIRST_RECORDING_RELEASE, VERSION_LABEL, VersionGap, from_label

if TYPE_CHECKING:
    from google.cloud.container_v1 import ClusterManagerClient

    from gkeml.config.model import Environment

# The project's number, read from Cloud Resource Manager v3: `GET /v3/projects/{projectId}` answers a Project
# whose `name` is "projects/NUMBER" and needs resourcemanager.projects.get
# (cloud.google.com/resource-manager/reference/rest/v3/projects/get, checked 2026-11-30). DOCTOR_ROLE has that
# permission, as has roles/browser (darkbitio/gcp-iam-role-permissions at 8ab2a6ff, 2026-08-22).
RESOURCE_MANAGER_API = "https://cloudresourcemanager.googleapis.com"
RESOURCE_MANAGER_SERVICE = "cloudresourcemanager.googleapis.com"
PROJECT_GET_PERMISSION = "resourcemanager.projects.get"
PROJECT_NAME = re.compile(r"^projects/([0-9]+)$")
# Cluster states that pass on their own (upgrade, creation): reported, not drift.
TRANSIENT_STATES = ("PROVISIONING", "RECONCILING")


# --- the project -------------------------------------------------------------------


def check_project_number(env: Environment, api: RestApi, env_file: str) -> Check:
    """Is ``project.number`` the number of ``project.id``? Workload Identity ``principal://`` members name
    the project by number, so a wrong one grants nothing and nothing says so. Drift when the numbers
    differ or the project does not exist; a warning when the project cannot be read."""
    from gkeml.config.loader import file_line

    project, expected = env.project.id, env.project.number
    path = f"v3/projects/{project}"
    at = f"{env_file}:{file_line(env_file, ('project', 'number'))}"

    def row(status: str, live: str, advice: str = "") -> Check:
        return Check("project", "project number", status, expected, live, advice)

    try:
        status, body = api.read(path)
    except DoctorError as exc:
        return row(WARN, "not read", f"{exc}; the number is not checked")
    if status == 404:
        return row(DRIFT, "not found", f"Resource Manager knows no project {project}: check project.id in {env_file}")
    if status == 200:
        name = (body or {}).get("name")
        match = PROJECT_NAME.match(name) if isinstance(name, str) else None
        if match is None:
            return row(
                WARN,
                "not read",
                f"the {api.title} API answered {path} without a name like projects/NUMBER "
                f"({repr(name)[:40]}); check {api.flag}; the number is not checked",
            )
        number = match.group(1)
        if number == expected:
            return row(OK, number)
        return row(
            DRIFT,
            number,
            f"the config says {expected}, the project is {number}: Workload Identity "
            f"principal:// members name the project by number, so the config's grant nothing; "
            f"set project.number in {at} to {number}",
        )
    if body is None:
        return row(WARN, "not read", f"{api.not_json(path, status)}; the number is not checked")
    advice = api.advice(
        status,
        body,
        path,
        project,
        RESOURCE_MANAGER_SERVICE,
        f"{PROJECT_GET_PERMISSION} ({DOCTOR_ROLE} has it; so has roles/browser)",
    )
    if status == 403:
        advice += " (Resource Manager answers 403 for a project that does not exist, too: check project.id)"
    return row(WARN, "not read", f"{advice}; the number is not checked")


# --- the cluster ---------------------------------------------------------------


def _row(name: str, expected: object, live: object, advice: str = "", status: str | None = None) -> Check:
    expected, live = str(expected), str(live)
    verdict = status or (OK if expected == live else DRIFT)
    return Check("cluster", name, verdict, expected, live, "" if verdict == OK else advice)


def _enum_name(value) -> str:
    return getattr(value, "name", str(value))


def _network(cidr: str) -> str:
    """A CIDR as the config writes it; what the API sent when it is not one (then it differs: drift)."""
    try:
        return str(ipaddress.ip_network(cidr, strict=False))
    except ValueError:
        return repr(cidr)


def check_cluster(env: Environment, client: ClusterManagerClient, limits: Limits | None = None) -> list[Check]:
    """Read the cluster and the server config, compare them with ``env``.

    A missing cluster is drift (one row, exit 1); any other API failure raises
    :class:`DoctorError`.
    """
    from google.api_core import exceptions as gexc

    limits = limits or Limits()

    names = Names.of(env)
    project, region = env.project.id, env.project.region
    location = f"projects/{project}/locations/{region}"
    path = f"{location}/clusters/{names.cluster}"
    deploy = f"`cdktf deploy {names.cloud_stack}`"
    try:
        cluster = client.get_cluster(name=path, timeout=limits.silence)
    except gexc.NotFound:
        return [
            _row(
                "cluster exists",
                "RUNNING",
                "not found",
                status=DRIFT,
                advice=f"no cluster {names.cluster} in {region} of {project}: deploy it with {deploy}, "
                "or check project.id/project.region",
            )
        ]
    except api_errors() as exc:
        raise api_error(exc, path, project) from None
    try:
        server = client.get_server_config(name=location, timeout=limits.silence)
    except api_errors() as exc:
        raise api_error(exc, location, project) from None
    c = env.cluster
    rows: list[Check] = []

    state = _enum_name(cluster.status)
    rows.append(
        _row(
            "cluster status",
            "RUNNING",
            state,
            status=OK if state == "RUNNING" else (WARN if state in TRANSIENT_STATES else DRIFT),
            advice=f"GKE says: {cluster.status_message or state}; see the cluster's operations",
        )
    )
    rows.append(
        _row(
            "autopilot",
            True,
            bool(cluster.autopilot.enabled),
            advice="a Standard cluster has the name of the configured Autopilot one: "
            "Autopilot cannot be turned on later; recreate it",
        )
    )
    channel = _enum_name(cluster.release_channel.channel)
    rows.append(
        _row("release channel", c.release_channel, channel, advice=f"changed outside Terraform; {deploy} sets it back")
    )
    private = bool(
        cluster.private_cluster_config.enable_private_nodes or cluster.network_config.default_enable_private_nodes
    )
    rows.append(_row("private nodes", True, private, advice=f"nodes have public IPs; {deploy} turns private nodes on"))
    endpoints = cluster.control_plane_endpoints_config
    rows.append(
        _row(
            "DNS endpoint external traffic",
            True,
            bool(endpoints.dns_endpoint_config.allow_external_traffic),
            advice=f"kubectl and the in-cluster stack reach the cluster through it; {deploy}",
        )
    )
    rows.append(
        _row(
            "IP endpoint enabled",
            c.public_endpoint,
            bool(endpoints.ip_endpoints_config.enabled),
            advice=f"cluster.public_endpoint is {str(c.public_endpoint).lower()}; {deploy}",
        )
    )
    if c.public_endpoint:
        want = sorted(str(n.cidr) for n in c.authorized_networks)
        live = sorted(_network(b.cidr_block) for b in cluster.master_authorized_networks_config.cidr_blocks)
        rows.append(
            _row(
                "authorized networks",
                ", ".join(want) or "none",
                ", ".join(live) or "none",
                advice=f"networks allowed to the IP endpoint differ; {deploy}",
            )
        )
    if c.zones:
        rows.append(
            _row(
                "node zones",
                ", ".join(sorted(c.zones)),
                ", ".join(sorted(cluster.locations)),
                advice="node_locations differ: the next apply may recreate the cluster; "
                "set cluster.zones to the live zones",
            )
        )
    pool = platform.workload_identity_pool(project)
    rows.append(
        _row(
            "workload identity pool",
            pool,
            cluster.workload_identity_config.workload_pool or "none",
            advice="Workload Identity principals in the config would not match",
        )
    )
    rows.append(_version_row(cluster.current_master_version, c.release_channel, region, server))
    rows.append(release_row(dict(cluster.resource_labels)))
    return rows


def release_row(labels: dict[str, str], running: str = __version__) -> Check:
    """Which gkeml release deployed the cluster (its ``gkeml-version`` label), against this one: ok when they
    are the same; a warning with the upgrade notes to read before the next deploy when this one is newer (or
    the label is missing: a release before it wrote one); drift when the cluster's is newer (a deploy with
    this one would undo what that release changed)."""
    label = labels.get(VERSION_LABEL)
    gap = VersionGap(from_label(label) if label else None, running)
    status = {"same": OK, "upgrade": WARN, "downgrade": DRIFT}.get(gap.kind, WARN)
    live = gap.deployed or f"none (before {FIRST_RECORDING_RELEASE})"
    return Check("cluster", "deployed by gkeml", status, running, live, "" if status == OK else gap.meaning())


def _version_row(version: str, channel: str, region: str, server) -> Check:
    """Is the control plane's version one GKE offers for its channel in this location?"""
    offered = next((list(ch.valid_versions) for ch in server.channels if _enum_name(ch.channel) == channel), None)
    expected = f"a {channel} version"
    if offered is None:
        return _row(
            "master version",
            expected,
            version,
            status=WARN,
            advice=f"the server config of {region} lists no {channel} versions",
        )
    if version in offered:
        return _row("master version", expected, version, status=OK)
    listed = ", ".join(offered[:3]) + (", ..." if len(offered) > 3 else "")
    if version in server.valid_master_versions:
        return _row(
            "master version",
            expected,
            version,
            status=WARN,
            advice=f"not a {channel} version (offered: {listed or 'none'}); "
            "GKE moves it onto the channel in a maintenance window",
        )
    return _row(
        "master version",
        expected,
        version,
        status=DRIFT,
        advice=f"{version} is not a valid master version in {region}; {channel} offers {listed or 'none'}",
    )
