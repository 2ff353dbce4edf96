"""``gkeml doctor``: compare a live environment with its config, and check the local toolchain.

The cluster is read with the real ``google-cloud-container`` client over its REST
transport (``ClusterManagerClient.get_cluster`` and ``get_server_config``), so the
same code runs against Google and against a local server that speaks the GKE REST
API. The project's number is read from Cloud Resource Manager (and the services of
:mod:`gkeml.doctor.preflight` from Compute Engine) with :class:`RestApi`, google-auth's
``AuthorizedSession`` against Google or a local server. Every comparison becomes one
:class:`Check` row; API failures become one line of advice (:class:`DoctorError`)
instead of a traceback. Every answer is read within :class:`gkeml.answers.Limits` (connect and
read timeouts, a whole answer within a deadline and a size, JSON no deeper than 100 levels:
:func:`gkeml.answers.bound_session` on each client's session); what a server wrote is printed
escaped (:func:`gkeml.text.one_line`).

Statuses: ``ok``; ``warn`` (worth knowing, not drift: a transient cluster state,
a version GKE is about to upgrade); ``drift`` (live differs from the config, or a
tool is missing or too old). Exit codes: 0 clean, 1 drift, 2 credentials/API.
"""

from __future__ import annotations

import ipaddress
import json
import re
import shutil
import subprocess
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from gkeml import __version__, platform
from gkeml.answers import BadAnswer, Limits, bound_session, parse_json
from gkeml.exitcodes import CommandError, ExitCode
from gkeml.naming import Names
from gkeml.release import FIRST_RECORDING_RELEASE, VERSION_LABEL, VersionGap, from_label

if TYPE_CHECKING:
    from google.cloud.container_v1 import ClusterManagerClient

    from gkeml.config.model import Environment

OK, WARN, DRIFT = "ok", "warn", "drift"

# --- what the doctor needs (sources and dates beside each value) -----------------
# GKE API and its errors: https://cloud.google.com/kubernetes-engine/docs/reference/rest
# (checked 2026-11); a disabled API answers 403 with ErrorInfo reason SERVICE_DISABLED
# (https://cloud.google.com/apis/design/errors#error_info).
GKE_API = "container.googleapis.com"
SERVICE_DISABLED_REASON = "SERVICE_DISABLED"
DOCTOR_ROLE = "roles/container.clusterViewer"  # has container.clusters.get and .list
# The project's number, read from Cloud Resource Manager v3: `GET /v3/projects/{projectId}` answers a Project
# whose `name` is "projects/NUMBER" and needs resourcemanager.projects.get
# (cloud.google.com/resource-manager/reference/rest/v3/projects/get, checked 2026-11-30). DOCTOR_ROLE has that
# permission, as has roles/browser (darkbitio/gcp-iam-role-permissions at 8ab2a6ff, 2026-08-22).
RESOURCE_MANAGER_API = "https://cloudresourcemanager.googleapis.com"
RESOURCE_MANAGER_SERVICE = "cloudresourcemanager.googleapis.com"
PROJECT_GET_PERMISSION = "resourcemanager.projects.get"
PROJECT_NAME = re.compile(r"^projects/([0-9]+)$")
CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
# Cluster states that pass on their own (upgrade, creation): reported, not drift.
TRANSIENT_STATES = ("PROVISIONING", "RECONCILING")
# Toolchain: at least the Terraform every synthesized stack declares (platform.TERRAFORM_MIN_VERSION:
# ephemeral resources and write-only arguments need >= 1.11); jsii 1.142
# (requirements/cdktf.txt) supports Node >= 20. The cdktf CLI must be the version
# package.json pins.
MIN_NODE = (20, 0, 0)
CDKTF_CLI_PACKAGE = "cdktf-cli"
TOOL_TIMEOUT_SECONDS = 60
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")
NO_CREDENTIALS = (
    "no Google credentials found: run `gcloud auth application-default login` (or set GOOGLE_APPLICATION_CREDENTIALS)"
)


@dataclass
class Check:
    """One row of the report: what was compared, the verdict, and what to do about it."""

    area: str  # "project", "cluster", "dns", "certificate", "quota" or "toolchain"
    name: str
    status: str  # ok | warn | drift
    expected: str
    live: str
    advice: str = ""


@dataclass
class Report:
    """All checks of one run, plus the one-line error that stopped the cluster checks."""

    environment: str
    cluster: str
    checks: list[Check] = field(default_factory=list)
    error: str | None = None

    @property
    def exit_code(self) -> int:
        """2 when the API could not be asked, 1 on drift, else 0."""
        if self.error:
            return ExitCode.USAGE
        return ExitCode.FINDINGS if any(c.status == DRIFT for c in self.checks) else ExitCode.OK

    def to_dict(self) -> dict:
        """JSON-ready form (``--format json``)."""
        return {
            "environment": self.environment,
            "cluster": self.cluster,
            "checks": [asdict(c) for c in self.checks],
            "error": self.error,
            "exit_code": self.exit_code,
        }


class DoctorError(CommandError):
    """A problem that stops the cluster checks (credentials, API, endpoint); ``str()`` is one line of advice."""


# --- the client -----------------------------------------------------------------


def endpoint_credentials(endpoint: str | None, flag: str = "--endpoint") -> tuple[Any, str | None]:
    """(credentials, base URL) for a Google API at ``endpoint``: (None, None) for Google's own API with
    Application Default Credentials; an ``https://`` base URL with the same credentials; an ``http://``
    base URL (loopback only, e.g. a local test server) with no credentials at all, so a token is never
    sent in clear text. DoctorError names ``flag`` when the URL is not one of these."""
    from google.auth.credentials import AnonymousCredentials

    if endpoint is None:
        return None, None
    not_a_base_url = DoctorError(f"{flag} {endpoint!r} is not a base URL like https://container.googleapis.com")
    try:
        url = urlparse(endpoint)
        url.port  # noqa: B018 - raises ValueError on a port out of range
    except ValueError:  # an unclosed IPv6 bracket, a bad port
        raise not_a_base_url from None
    if url.scheme not in ("http", "https") or not url.hostname or url.path not in ("", "/"):
        raise not_a_base_url
    if url.scheme == "http":
        if url.hostname not in LOOPBACK_HOSTS:
            raise DoctorError(
                f"{flag} {endpoint!r}: plain http is allowed only to {', '.join(LOOPBACK_HOSTS)}; use https"
            )
        return AnonymousCredentials(), endpoint.rstrip("/")
    return None, endpoint.rstrip("/")


def cluster_client(endpoint: str | None = None, limits: Limits | None = None) -> ClusterManagerClient:
    """A ``ClusterManagerClient`` on the REST transport, at ``endpoint`` (see :func:`endpoint_credentials`),
    its answers read within ``limits``."""
    from google.auth.exceptions import DefaultCredentialsError
    from google.cloud.container_v1 import ClusterManagerClient

    credentials, base = endpoint_credentials(endpoint)
    options = {"api_endpoint": base} if base else None
    try:
        client = ClusterManagerClient(transport="rest", credentials=credentials, client_options=options)
    except DefaultCredentialsError:
        raise DoctorError(NO_CREDENTIALS) from None
    # the REST transport's requests session (google-cloud-container 2.67: ClusterManagerRestTransport._session,
    # a google-auth AuthorizedSession); tests/test_hostile_clients.py fails if it moves
    bound_session(client.transport._session, limits)  # type: ignore[attr-defined]
    return client


class RestApi:
    """One Google REST API read with google-auth's ``AuthorizedSession``: at ``base`` with Application Default
    Credentials, or at ``endpoint`` (:func:`endpoint_credentials`; ``flag`` is the option that set it).
    ``title`` names the API in advice."""

    def __init__(self, base: str, endpoint: str | None, flag: str, title: str, limits: Limits | None = None):
        import google.auth
        from google.auth.exceptions import DefaultCredentialsError
        from google.auth.transport.requests import AuthorizedSession

        credentials, url = endpoint_credentials(endpoint, flag)
        if credentials is None:
            try:
                credentials, _ = google.auth.default(scopes=[CLOUD_PLATFORM_SCOPE])
            except DefaultCredentialsError:
                raise DoctorError(NO_CREDENTIALS) from None
        self.base, self.flag, self.title = url or base, flag, title
        self.limits = limits or Limits()
        self.session = bound_session(AuthorizedSession(credentials), self.limits)

    def read(self, path: str) -> tuple[int, dict | None]:
        """``GET <base>/<path>``: the HTTP status and the body when it is a JSON object (else None);
        DoctorError when the API cannot be reached or its answer is too slow, too large or nested too deep."""
        from google.auth.exceptions import GoogleAuthError
        from requests import RequestException

        try:
            response = self.session.get(f"{self.base}/{path}", timeout=(self.limits.connect, self.limits.silence))
        except BadAnswer as exc:
            raise DoctorError(f"the {self.title} API answered {path} with {exc}; check {self.flag}") from None
        except (RequestException, GoogleAuthError) as exc:
            raise DoctorError(_one_line(f"cannot reach the {self.title} API for {path}: {exc}")[:300]) from None
        try:
            body = parse_json(response.content)
        except BadAnswer:
            body = None
        return response.status_code, body if isinstance(body, dict) else None

    def not_json(self, path: str, status: int) -> DoctorError:
        """The error for an answer whose body is not the JSON object the API returns."""
        return DoctorError(
            f"the {self.title} API answered {path} with a body that is not JSON (HTTP {status}); check {self.flag}"
        )

    def advice(self, status: int, body: dict, path: str, project: str, service: str, role: str) -> str:
        """One line of advice for an error answer (``service`` is the API's name to enable, ``role`` what the
        caller needs on ``project``)."""
        raw = body.get("error")
        error = raw if isinstance(raw, dict) else {}
        reasons = [d.get("reason") for d in error.get("details", []) if isinstance(d, dict)]
        message = " ".join(str(error.get("message", "")).split())
        if status == 403 and SERVICE_DISABLED_REASON in reasons:
            return (
                f"the {self.title} API is disabled in project {project}: run "
                f"`gcloud services enable {service} --project {project}`"
            )
        if status == 403:
            return f"permission denied reading {path}: the caller needs {role} on project {project}"
        if status == 401:
            return "credentials were rejected: run `gcloud auth application-default login` again"
        return f"{self.title} API error {status} reading {path}: {message}"[:300]


def _api_advice(exc: Exception, what: str, project: str) -> str:
    """One line of advice for a failed API call (``what`` names the resource asked for)."""
    from google.api_core import exceptions as gexc
    from google.auth.exceptions import GoogleAuthError
    from google.protobuf.json_format import ParseError

    if isinstance(exc, gexc.GoogleAPICallError) and exc.code == 403 and exc.reason == SERVICE_DISABLED_REASON:
        return (
            f"the Kubernetes Engine API is disabled in project {project}: "
            f"run `gcloud services enable {GKE_API} --project {project}` (or deploy the bootstrap stack)"
        )
    if isinstance(exc, (gexc.Forbidden, gexc.PermissionDenied)):
        return (
            f"permission denied reading {what}: the caller needs {DOCTOR_ROLE} on project {project} "
            "(check `gcloud auth application-default print-access-token` is the identity you expect)"
        )
    if isinstance(exc, (gexc.Unauthorized, gexc.Unauthenticated)):
        return "credentials were rejected: run `gcloud auth application-default login` again"
    if isinstance(exc, gexc.NotFound):
        return f"{what} not found: check project.id and project.region in the environment file"
    if isinstance(exc, gexc.GoogleAPICallError):
        message = (exc.message or "").split(": ", 1)[-1]
        return f"GKE API error {exc.code} reading {what}: {message}"[:300]
    if isinstance(exc, GoogleAuthError):
        return f"cannot get a Google access token ({exc}): run `gcloud auth application-default login`"
    if isinstance(exc, BadAnswer):
        return f"the GKE API answered {what} with {exc}; check --endpoint or any proxy in between"
    if isinstance(exc, (ParseError, UnicodeError, AttributeError, TypeError)):
        reason = " ".join(str(exc).split())
        return (
            f"the GKE API answered {what} with a body that is not what the GKE API returns ({reason}); "
            "check --endpoint or any proxy in between"
        )[:300]
    return f"cannot reach the GKE API for {what}: {exc}"[:300]


def _one_line(advice: str) -> str:
    """Advice with the server's own text folded onto one line (it may hold newlines or be blank)."""
    return " ".join(advice.split()).rstrip(" :")


def _api_errors() -> tuple[type[Exception], ...]:
    """Exceptions an API call can end with: API answers, token problems, transport failures, an answer
    outside the limits (BadAnswer), and one that is not the JSON of the message asked for (a proxy's HTML
    page, a truncated body)."""
    from google.api_core.exceptions import GoogleAPIError
    from google.auth.exceptions import GoogleAuthError
    from google.protobuf.json_format import ParseError
    from requests import RequestException

    # google-api-core builds its error from the body and fails on JSON that is not an object (`1`, `[]`)
    # with AttributeError or TypeError: that is an answer that is not GKE's too
    return (
        BadAnswer,
        GoogleAPIError,
        GoogleAuthError,
        RequestException,
        ParseError,
        UnicodeError,
        AttributeError,
        TypeError,
    )


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


# --- cluster checks ---------------------------------------------------------------


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
    except _api_errors() as exc:
        raise DoctorError(_one_line(_api_advice(exc, path, project))) from None
    try:
        server = client.get_server_config(name=location, timeout=limits.silence)
    except _api_errors() as exc:
        raise DoctorError(_one_line(_api_advice(exc, location, project))) from None
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


# --- toolchain checks ----------------------------------------------------------------


def _version(text: str) -> tuple[int, ...] | None:
    match = re.search(r"(\d+)\.(\d+)\.(\d+)", text)
    return tuple(int(g) for g in match.groups()) if match else None


def _dotted(v: tuple[int, ...]) -> str:
    return ".".join(map(str, v))


def _run(argv: list[str], cwd: Path) -> str | None:
    """stdout of a tool, or None when it cannot be run."""
    try:
        done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=TOOL_TIMEOUT_SECONDS)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def _tool_row(name: str, need: str, found: tuple[int, ...] | None, ok: bool, advice: str) -> Check:
    live = _dotted(found) if found else "not found"
    return Check("toolchain", name, OK if ok else DRIFT, need, live, "" if ok else advice)


def check_toolchain(root: Path) -> list[Check]:
    """terraform, node and the project's cdktf CLI: present and new enough."""
    rows: list[Check] = []
    terraform = shutil.which("terraform")
    out = _run([terraform, "version", "-json"], root) if terraform else None
    found = None
    if out:
        try:
            found = _version(json.loads(out).get("terraform_version", ""))
        except ValueError:
            found = _version(out)
    need = _min_terraform()
    rows.append(
        _tool_row(
            "terraform",
            f">= {_dotted(need)}",
            found,
            bool(found and found >= need),
            f"install Terraform >= {_dotted(need)} (the stacks use ephemeral resources and write-only arguments)",
        )
    )
    node = shutil.which("node")
    found = _version(_run([node, "--version"], root) or "") if node else None
    rows.append(
        _tool_row(
            "node",
            f">= {_dotted(MIN_NODE)}",
            found,
            bool(found and found >= MIN_NODE),
            f"install Node.js >= {MIN_NODE[0]}",
        )
    )
    pinned = _pinned_cdktf(root)
    cli = root / "node_modules" / ".bin" / "cdktf"
    found = None
    if cli.exists():
        out = _run([str(cli), "--version"], root) or ""
        # The CLI also prints terraform configuration warnings; the version is a line of its own.
        found = next((_version(line) for line in out.splitlines() if re.fullmatch(r"\s*\d+\.\d+\.\d+\s*", line)), None)
    rows.append(
        _tool_row(
            "cdktf CLI",
            f"== {pinned}" if pinned else "installed",
            found,
            bool(found and (pinned is None or _dotted(found) == pinned)),
            "run `make install` (npm ci installs the pinned cdktf CLI into node_modules)",
        )
    )
    return rows


def _min_terraform() -> tuple[int, ...]:
    """The Terraform version the synthesized stacks declare (``terraform.required_version``)."""
    return _version(platform.TERRAFORM_MIN_VERSION) or (0, 0, 0)


def _pinned_cdktf(root: Path) -> str | None:
    try:
        package = json.loads((root / "package.json").read_text())
    except (OSError, ValueError):
        return None
    deps = {**package.get("dependencies", {}), **package.get("devDependencies", {})}
    return deps.get(CDKTF_CLI_PACKAGE)


# --- the whole run ------------------------------------------------------------------


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
        from gkeml.doctor.preflight import check_services

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
