"""The doctor's vocabulary and its clients: the :class:`Check` rows and the :class:`Report` of one run, the
:class:`DoctorError` that stops a part of it, and the Google API clients every part reads with.

The cluster is read with the real ``google-cloud-container`` client over its REST transport
(:func:`cluster_client`), so the same code runs against Google and against a local server that speaks the
GKE REST API; the other APIs (Cloud Resource Manager, Compute Engine, a cluster's discovery) with
:class:`RestApi`, google-auth's ``AuthorizedSession`` against Google or a local server. Where each talks to
is :func:`endpoint_credentials`' choice: Google with Application Default Credentials, an ``https://`` base URL
with them, or plain ``http://`` to loopback only and then without any. API failures become one line of advice
(:class:`DoctorError`) instead of a traceback. Every answer is read within :class:`gkeml.answers.Limits`
(connect and read timeouts, a whole answer within a deadline and a size, JSON no deeper than 100 levels:
:func:`gkeml.answers.bound_session` on each client's session).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from gkeml.answers import BadAnswer, Limits, bound_session, parse_json
from gkeml.exitcodes import CommandError, ExitCode

if TYPE_CHECKING:
    from google.cloud.container_v1 import ClusterManagerClient

OK, WARN, DRIFT = "ok", "warn", "drift"

# --- what the clients need (sources and dates beside each value) -----------------
# GKE API and its errors: https://cloud.google.com/kubernetes-engine/docs/reference/rest
# (checked 2026-11); a disabled API answers 403 with ErrorInfo reason SERVICE_DISABLED
# (https://cloud.google.com/apis/design/errors#error_info).
GKE_API = "container.googleapis.com"
SERVICE_DISABLED_REASON = "SERVICE_DISABLED"
DOCTOR_ROLE = "roles/container.clusterViewer"  # has container.clusters.get and .list
CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
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


# --- the clients -----------------------------------------------------------------


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
    """One line of advice for a failed GKE API call (``what`` names the resource asked for)."""
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


def api_errors() -> tuple[type[Exception], ...]:
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


def api_error(exc: Exception, what: str, project: str) -> DoctorError:
    """The DoctorError for a failed GKE API call (one of :func:`api_errors`; ``what`` names the resource asked
    for): one line of advice."""
    return DoctorError(_one_line(_api_advice(exc, what, project)))
