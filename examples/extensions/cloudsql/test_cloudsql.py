"""The example extension's own tests: what it refuses in an environment file, and what it synthesizes on a
dev and a prod environment of their own (one synth of both cloud stacks). Copy them with the extension
into your platform repository; they need only gkeml installed."""

from __future__ import annotations

import json
from pathlib import Path

import kubernetes_validate
import pytest

from gkeml.config import ConfigError
from gkeml.environments import load_environment

MODULE = "examples.extensions.cloudsql"
ENV = """\
name: {name}
tier: {tier}
project: {{id: fx-{name}-ml, number: "{number}", region: us-central1}}
state: {{bucket: fx-{name}-tfstate}}
network: {{subnet_cidr: 10.0.0.0/20, pods_cidr: 10.8.0.0/14, services_cidr: 10.0.16.0/20}}
teams: [{{name: research}}]
identities:
  - {{name: tracking, namespace: research, mode: {mode}}}
extensions:
  - module: {module}
    name: metadata
    config: {{databases: [mlflow, features], users: [tracking], peering_range: {range}}}
"""


def write(directory: Path, name: str = "dbdev", tier: str = "dev", mode: str = "classic", range: str = "10.60.0.0/20"):
    directory.mkdir(exist_ok=True)
    number = {"dev": "200000000505", "prod": "200000000606"}[tier]
    path = directory / f"{name}.yaml"
    path.write_text(ENV.format(name=name, tier=tier, number=number, mode=mode, module=MODULE, range=range))
    return path


def problems(tmp_path: Path, **kwargs) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_environment(write(tmp_path / "environments", **kwargs))
    return [line.split(": ", 1)[1] for line in str(info.value).splitlines()]  # without "file:line: "


def test_a_principal_identity_cannot_log_in_to_cloud_sql(tmp_path):
    (line,) = problems(tmp_path, mode="principal")
    assert line.startswith("extensions[0].config.users[0]: identity 'tracking' is in principal mode;")
    assert "set mode: classic on it" in line


@pytest.mark.parametrize(
    ("range", "message"),
    [
        ("10.8.0.0/20", "10.8.0.0/20 overlaps network.pods_cidr 10.8.0.0/14; give it a range of its own"),
        ("100.64.0.0/20", "100.64.0.0/20 is not a private (RFC 1918) range"),
        ("10.60.0.0/26", "10.60.0.0/26: private services access takes a /16 to /24 range for Cloud SQL"),
    ],
)
def test_the_peering_range_is_private_big_enough_and_free(tmp_path, range, message):
    (line,) = problems(tmp_path, range=range)
    assert line == f"extensions[0].config.peering_range: {message}"


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory) -> dict[str, dict]:
    """The cloud stacks of a dev and a prod environment that use the extension, synthesized once."""
    from gkeml.framework import App
    from gkeml.stacks.cloud import CloudStack

    directory = tmp_path_factory.mktemp("platform") / "environments"
    envs = [load_environment(write(directory)), load_environment(write(directory, name="dbprod", tier="prod"))]
    out = directory.parent / "cdktf.out"
    app = App(outdir=str(out))
    for env in envs:
        CloudStack(app, env)
    app.synth()
    return {env.name: json.loads((out / "stacks" / env.name / "cdk.tf.json").read_text()) for env in envs}


def one(stack: dict, rtype: str) -> dict:
    (found,) = stack["resource"][rtype].values()
    return found


def test_the_instance_is_private_iam_authenticated_and_protected_by_tier(synthesized):
    for name, protected in (("dbdev", False), ("dbprod", True)):
        stack = synthesized[name]
        instance = one(stack, "google_sql_database_instance")
        settings = instance["settings"]
        assert instance["name"] == f"fx-{name}-ml-metadata" and instance["database_version"] == "POSTGRES_18"
        assert settings["ip_configuration"]["ipv4_enabled"] is False
        assert settings["ip_configuration"]["private_network"].startswith("${google_compute_network.")
        assert settings["ip_configuration"]["ssl_mode"] == "TRUSTED_CLIENT_CERTIFICATE_REQUIRED"
        assert settings["connector_enforcement"] == "REQUIRED" and settings["edition"] == "ENTERPRISE"
        assert {"name": "cloudsql.iam_authentication", "value": "on"} in settings["database_flags"]
        assert (instance["deletion_protection"], settings["deletion_protection_enabled"]) == (protected, protected)
        for rtype in ("google_sql_database_instance", "google_sql_database", "google_compute_global_address"):
            for block in stack["resource"][rtype].values():  # no plan destroys the data or its range outside dev
                assert (block.get("lifecycle") or {}).get("prevent_destroy", False) is protected, (name, rtype)
        assert settings["availability_type"] == ("REGIONAL" if protected else "ZONAL")
        assert settings["backup_configuration"]["point_in_time_recovery_enabled"] is protected
        (connection,) = stack["resource"]["google_service_networking_connection"]
        assert f"google_service_networking_connection.{connection}" in instance["depends_on"]
        assert any(d.startswith("google_project_service.extension-apis_sqladmin") for d in instance["depends_on"])
        assert "root_password" not in instance  # no password anywhere: IAM users only


def test_private_services_access_reserves_the_range_on_the_environment_s_vpc(synthesized):
    stack = synthesized["dbdev"]
    address = one(stack, "google_compute_global_address")
    assert (address["purpose"], address["address_type"]) == ("VPC_PEERING", "INTERNAL")
    assert (address["address"], address["prefix_length"]) == ("10.60.0.0", 20)
    connection = one(stack, "google_service_networking_connection")
    assert connection["service"] == "servicenetworking.googleapis.com"
    assert connection["deletion_policy"] == "ABANDON"
    (reserved,) = connection["reserved_peering_ranges"]
    assert reserved.startswith("${google_compute_global_address.ext-metadata_peering-range_")


def test_the_identity_logs_in_as_an_iam_user_granted_on_this_instance_only(synthesized):
    stack = synthesized["dbdev"]
    user = one(stack, "google_sql_user")
    assert (user["name"], user["type"]) == ("dbdev-tracking@fx-dbdev-ml.iam", "CLOUD_IAM_SERVICE_ACCOUNT")
    grants = [g for g in stack["resource"]["google_project_iam_member"].values() if "condition" in g]
    assert sorted(g["role"] for g in grants) == ["roles/cloudsql.client", "roles/cloudsql.instanceUser"]
    for grant in grants:
        # the identity's Google service account, which the bootstrap creates (not this stack)
        assert grant["member"] == "serviceAccount:dbdev-tracking@fx-dbdev-ml.iam.gserviceaccount.com"
        assert grant["condition"]["expression"] == (
            "resource.type == 'sqladmin.googleapis.com/Instance' && "
            "resource.name == 'projects/fx-dbdev-ml/instances/fx-dbdev-ml-metadata'"
        )
    assert sorted(d["name"] for d in stack["resource"]["google_sql_database"].values()) == ["features", "mlflow"]


def test_the_connection_name_reaches_the_team_namespace(tmp_path):
    from gkeml.config.extensions import loaded

    env = load_environment(write(tmp_path / "environments"))
    ((_, extension),) = loaded(env)
    (config_map,) = extension.kubernetes_objects()
    kubernetes_validate.validate(config_map, "1.33", strict=True)
    assert config_map["metadata"]["namespace"] == "research"
    assert config_map["data"] == {
        "INSTANCE_CONNECTION_NAME": "fx-dbdev-ml:us-central1:fx-dbdev-ml-metadata",
        "DATABASES": "mlflow,features",
    }
    assert extension.project_roles().keys() == {"roles/cloudsql.client", "roles/cloudsql.instanceUser"}
