"""A fake of the Google APIs ``gkeml doctor`` reads, and how the tests run the doctor against it.

:class:`GkeApi` is a real HTTP server on 127.0.0.1 (tests/servers.py) that answers the paths it is given
(``routes``) in the JSON shapes of the GKE, Cloud Resource Manager and Compute Engine REST APIs: enums as integers
when the client asks for ``enum-encoding=int``, as Google does, and errors in the ``google.rpc.Status`` shape
Google returns. The ``gke`` fixture (tests/conftest.py) runs one for a test.
"""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import ENVIRONMENTS, ROOT
from servers import Answer, LoopbackServer, Request

from gkeml.release import VERSION_LABEL, label_value

DEV_CLUSTER = "/v1/projects/fx-lab-ml/locations/us-central1/clusters/fx-lab-ml"
DEV_SERVER_CONFIG = "/v1/projects/fx-lab-ml/locations/us-central1/serverConfig"
PROD_CLUSTER = "/v1/projects/fx-live-ml/locations/us-central1/clusters/fx-live-ml"
PROD_SERVER_CONFIG = "/v1/projects/fx-live-ml/locations/us-central1/serverConfig"

REGULAR_VERSION = "1.33.5-gke.1162000"
OLD_VERSION = "1.32.9-gke.1108000"

SERVER_CONFIG = {
    "defaultClusterVersion": REGULAR_VERSION,
    "validMasterVersions": ["1.34.1-gke.1829001", REGULAR_VERSION, "1.33.4-gke.1245000", OLD_VERSION],
    "channels": [
        {"channel": "RAPID", "defaultVersion": "1.34.1-gke.1829001", "validVersions": ["1.34.1-gke.1829001"]},
        {
            "channel": "REGULAR",
            "defaultVersion": REGULAR_VERSION,
            "validVersions": [REGULAR_VERSION, "1.33.4-gke.1245000"],
        },
        {"channel": "STABLE", "defaultVersion": "1.33.4-gke.1245000", "validVersions": ["1.33.4-gke.1245000"]},
    ],
}


def healthy_cluster(project: str = "fx-lab-ml", public: bool = True, channel: str = "REGULAR") -> dict:
    """A cluster as GKE reports it after ``cdktf deploy`` of the default environment."""
    cluster = {
        "name": project,
        "location": "us-central1",
        "locations": ["us-central1-c", "us-central1-a", "us-central1-b"],
        "status": "RUNNING",
        "autopilot": {"enabled": True},
        "releaseChannel": {"channel": channel},
        "privateClusterConfig": {"enablePrivateNodes": True},
        "controlPlaneEndpointsConfig": {
            "dnsEndpointConfig": {"endpoint": f"gke-abc-{project}.us-central1.gke.goog", "allowExternalTraffic": True},
            "ipEndpointsConfig": {"enabled": public},
        },
        "workloadIdentityConfig": {"workloadPool": f"{project}.svc.id.goog"},
        "currentMasterVersion": REGULAR_VERSION if channel == "REGULAR" else "1.33.4-gke.1245000",
        "resourceLabels": {"gkeml-env": project, VERSION_LABEL: label_value()},  # this release deployed it
    }
    if public:
        cluster["masterAuthorizedNetworksConfig"] = {
            "enabled": True,
            "cidrBlocks": [{"displayName": "office", "cidrBlock": "203.0.113.0/24"}],
        }
    return cluster


def error(code: int, status: str, message: str, reason: str | None = None) -> dict:
    """A GKE API error body (google.rpc.Status as JSON)."""
    body: dict = {"error": {"code": code, "status": status, "message": message}}
    if reason:
        body["error"]["details"] = [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": reason,
                "domain": "googleapis.com",
                "metadata": {"service": "container.googleapis.com", "consumer": "projects/200000000101"},
            }
        ]
    return body


class GkeApi(LoopbackServer):
    """A local GKE REST server (tests/servers.py): ``routes`` maps a path to (HTTP status, JSON body)."""

    def __init__(self) -> None:
        super().__init__()
        self.routes: dict[str, tuple[int, dict]] = {}

    def respond(self, request: Request) -> Answer:
        status, body = self.routes.get(request.path, (404, error(404, "NOT_FOUND", f"{request.path} not found")))
        if status == 200 and any("enum-encoding=int" in value for value in request.query.values()):
            body = _int_enums(request.path, body)
        return Answer(status, body, "application/json; charset=UTF-8")

    @property
    def requests(self) -> list[tuple[str, dict[str, str]]]:
        """(path, headers) of every request received."""
        return [(r.path, r.headers) for r in self.received]

    def paths(self) -> list[str]:
        return [r.path for r in self.received]


def _int_enums(path: str, body: dict) -> dict:
    """Re-encode a response with integer enums, as the API does for ``enum-encoding=int``."""
    from google.cloud import container_v1

    message = container_v1.ServerConfig if path.endswith("/serverConfig") else container_v1.Cluster
    return json.loads(message.to_json(message.from_json(json.dumps(body)), use_integers_for_enums=True))


def gkeml(*args: str) -> subprocess.CompletedProcess:
    """The ``gkeml`` command line, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "gkeml.cli", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def run_doctor(env: str, gke: GkeApi, *options: str, dns_server: str | None = None) -> tuple[int, dict, str]:
    """``gkeml doctor ENV --format json --no-toolchain OPTIONS`` against the local server: exit code, JSON report,
    stderr. The services (project number, DNS, certificates, quotas) are asked of the same server, and of
    ``dns_server`` for DNS, when it is given; else they are not checked."""
    services = (
        ("--compute-endpoint", gke.url, "--resource-manager-endpoint", gke.url, "--dns-server", dns_server)
        if dns_server
        else ("--no-services",)
    )
    done = gkeml(
        "doctor",
        env,
        "--environments",
        str(ENVIRONMENTS),
        "--endpoint",
        gke.url,
        "--format",
        "json",
        "--no-toolchain",
        *services,
        *options,
    )
    return done.returncode, json.loads(done.stdout), done.stderr


def by_name(report: dict) -> dict[str, dict]:
    return {c["name"]: c for c in report["checks"]}


def serve_dev(gke: GkeApi, cluster: dict | None = None) -> None:
    gke.routes[DEV_CLUSTER] = (200, cluster or healthy_cluster())
    gke.routes[DEV_SERVER_CONFIG] = (200, SERVER_CONFIG)
