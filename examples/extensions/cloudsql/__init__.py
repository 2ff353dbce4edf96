"""Example gkeml extension: a private Cloud SQL for PostgreSQL instance whose workloads log in with their
Workload Identity (IAM database authentication), with no password anywhere (docs/extensions.md).

Use it from an environment file (copy this directory into your platform repository, e.g. as
``extensions/cloudsql``, and name that module)::

    extensions:
      - module: extensions.cloudsql
        name: metadata
        config:
          databases: [mlflow]
          users: [tracking]             # identities in classic mode: IAM database users are service accounts
          peering_range: 10.60.0.0/20   # private services access: Cloud SQL's addresses in the VPC

What it adds to the ``<env>`` stack, and why:

- private services access on the environment's VPC: a reserved internal range (``google_compute_global_address``,
  purpose VPC_PEERING) and the ``servicenetworking.googleapis.com`` connection; the instance gets its private IP
  from that range and is reachable from the cluster's pods (VPC-native: the peering carries the pod ranges);
- the instance, private only (``ipv4_enabled = false``), mutual TLS required (``ssl_mode =
  TRUSTED_CLIENT_CERTIFICATE_REQUIRED``: the Cloud SQL Auth Proxy and the connectors present client
  certificates of their own), only through them (``connector_enforcement = REQUIRED``), IAM database
  authentication on (flag ``cloudsql.iam_authentication``), edition ENTERPRISE written out (new PostgreSQL 16+
  instances default to Enterprise Plus, which takes only db-perf-optimized tiers), backups always and
  point-in-time recovery outside dev, high availability (REGIONAL) in prod, deletion protection (Terraform's,
  the API's and ``prevent_destroy`` on the instance, its databases and its range) outside dev;
- a database per ``databases`` entry and, per ``users`` identity, an IAM database user (type
  ``CLOUD_IAM_SERVICE_ACCOUNT``, named as PostgreSQL wants: the service account's address without
  ``.gserviceaccount.com``) with ``roles/cloudsql.client`` and ``roles/cloudsql.instanceUser`` on the project,
  each conditioned on this instance (Cloud SQL's IAM Conditions: ``resource.name``/``resource.type``);
- in each user's team namespace, a ConfigMap ``<name>-cloudsql`` with the connection name and databases,
  for the Auth Proxy's ``--auto-iam-authn`` or a connector's ``enable_iam_auth``.

Sources (google provider v7.33.0, checked 2026-12-05): google/services/sql/resource_sql_database_instance.go
(name, region, encryption key ForceNew; private_network cannot be removed once set; Create polls the
instance's operation, lists users, and refuses a private network without a services connection),
fw_resource_sql_user.go, resource_sql_database.go, servicenetworking/resource_service_networking_connection.go
(network and service ForceNew; deletion_policy ABANDON leaves the connection on destroy). Cloud SQL: IAM
database authentication (users are accounts, groups or service accounts, never a Workload Identity
``principal://``: the identity must be classic), IAM Conditions on instances, private IP (a /24 or larger
allocated range).
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field

from gkeml.extension import CloudContext, Extension, Strict

CLIENT_ROLES = {
    "roles/cloudsql.client": "connect to the instance (cloudsql.instances.connect, get), conditioned on it",
    "roles/cloudsql.instanceUser": "log in with IAM database authentication (cloudsql.instances.login), "
    "conditioned on the instance",
}
# Cloud SQL tiers by environment tier when the config names none (shared-core in dev: no SLA, a few USD).
DEFAULT_TIERS = {"dev": "db-f1-micro", "staging": "db-custom-1-3840", "prod": "db-custom-2-7680"}
# PostgreSQL logging flags (what the CIS benchmark and checkov ask of a Cloud SQL PostgreSQL instance): who
# connected, lock waits, temporary files, schema changes, errors with their statement; no statement with its
# values otherwise (log_min_duration_statement -1), and no line per statement (log_duration off: the reviewed
# checkov skip below; Query Insights finds slow statements).
LOG_FLAGS = {
    "log_checkpoints": "on",
    "log_connections": "on",
    "log_disconnections": "on",
    "log_lock_waits": "on",
    "log_temp_files": "0",
    "log_min_messages": "error",
    "log_min_error_statement": "error",
    "log_min_duration_statement": "-1",
    "cloudsql.enable_pgaudit": "on",
    "pgaudit.log": "ddl,role",
    "log_hostname": "on",
    "log_statement": "ddl",
}
PRIVATE_RANGES = tuple(ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
Network = Annotated[ipaddress.IPv4Network, BeforeValidator(lambda v: ipaddress.IPv4Network(str(v), strict=True))]


class CloudSqlConfig(Strict):
    """The instance: its PostgreSQL version and size, its databases, who logs in, and its private range."""

    database_version: Literal["POSTGRES_16", "POSTGRES_17", "POSTGRES_18"] = "POSTGRES_18"
    tier: str | None = Field(None, pattern=r"^db-(f1-micro|g1-small|custom-[0-9]+-[0-9]+)$")
    disk_size_gb: int = Field(10, ge=10, le=65536)
    databases: list[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")]] = Field(min_length=1)
    users: list[str] = Field(default_factory=list, description="Identities (classic mode) that log in.")
    peering_range: Network


class CloudSql(Extension):
    """A private Cloud SQL for PostgreSQL instance with IAM database users for Workload Identities."""

    Config = CloudSqlConfig
    checkov_skips = {
        "CKV2_GCP_13": "log_duration writes a log line for every statement the database runs (log volume is billed "
        "per GiB, and an ML metadata store runs many small ones); slow statements are found with Query Insights "
        "(insights_config), which the instance has on.",
    }
    permissions = {
        "resources": {
            "google_sql_database_instance": {
                "create": ["cloudsql.instances.create", "cloudsql.instances.get", "cloudsql.users.list"],
                "update": ["cloudsql.instances.get", "cloudsql.instances.update"],
                "delete": ["cloudsql.instances.delete", "cloudsql.instances.get"],
                "read": ["cloudsql.instances.get"],
                "source": "google_provider_v7_33: google/services/sql/resource_sql_database_instance.go (Create: "
                "Instances.Insert, its operation polled (operations.get is authorized as cloudsql.instances.get), "
                "Users.List, Instances.Patch of fields sent after creation; Read: Instances.Get; Update: "
                "Instances.Patch/Update; Delete: Instances.Delete); cloud.google.com/sql/docs/postgres/iam-roles",
                "verified": False,
                "note": "the private-network precheck lists service networking connections and reads the project "
                "number, and skips itself on a 403",
            },
            "google_sql_database": {
                "create": ["cloudsql.databases.create", "cloudsql.instances.get"],
                "update": ["cloudsql.databases.update", "cloudsql.instances.get"],
                "delete": ["cloudsql.databases.delete", "cloudsql.instances.get"],
                "read": ["cloudsql.databases.get", "cloudsql.instances.get"],
                "source": "google_provider_v7_33: google/services/sql/resource_sql_database.go (POST/PATCH/DELETE "
                "databases, operations polled; Read: databases.get and Instances.Get)",
                "verified": False,
            },
            "google_sql_user": {
                "create": ["cloudsql.instances.get", "cloudsql.users.create", "cloudsql.users.get"],
                "update": ["cloudsql.instances.get", "cloudsql.users.update"],
                "delete": ["cloudsql.instances.get", "cloudsql.users.delete"],
                "read": ["cloudsql.users.get"],
                "source": "google_provider_v7_33: google/services/sql/fw_resource_sql_user.go (Users.Insert, Update, "
                "Delete with their operations polled; Read: Users.Get)",
                "verified": False,
            },
            "google_service_networking_connection": {
                "create": [
                    "resourcemanager.projects.get",
                    "servicenetworking.operations.get",
                    "servicenetworking.services.addPeering",
                ],
                "update": ["servicenetworking.operations.get", "servicenetworking.services.addPeering"],
                "delete": ["servicenetworking.operations.get", "servicenetworking.services.deleteConnection"],
                "read": ["resourcemanager.projects.get", "servicenetworking.services.get"],
                "source": "google_provider_v7_33: google/services/servicenetworking/"
                "resource_service_networking_connection.go (the project number from Resource Manager, then "
                "services.connections.create/patch/list/deleteConnection and operations.get)",
                "verified": False,
                "note": "with deletion_policy ABANDON, destroy makes no call",
            },
        }
    }

    @property
    def instance_name(self) -> str:
        return f"{self.env.prefix}-{self.name}"

    @property
    def connection_name(self) -> str:
        return f"{self.env.project.id}:{self.env.project.region}:{self.instance_name}"

    def problems(self):
        env, config = self.env, self.config
        identities = {i.name: i for i in env.identities}
        for i, user in enumerate(config.users):
            identity = identities.get(user)
            if identity is None:
                yield ("users", i), f"unknown identity {user!r}; defined: {', '.join(identities) or 'none'}"
            elif identity.mode != "classic":
                yield (
                    ("users", i),
                    f"identity {user!r} is in principal mode; Cloud SQL's IAM database users are service accounts "
                    "(a principal:// identity has no address to log in as): set mode: classic on it",
                )
        used = [(f"network.{k}", getattr(env.network, k)) for k in ("subnet_cidr", "pods_cidr", "services_cidr")]
        network = config.peering_range
        if not any(network.subnet_of(p) for p in PRIVATE_RANGES):
            yield ("peering_range",), f"{network} is not a private (RFC 1918) range"
        elif not 16 <= network.prefixlen <= 24:
            yield ("peering_range",), f"{network}: private services access takes a /16 to /24 range for Cloud SQL"
        for key, other in used:
            if network.overlaps(other):
                yield ("peering_range",), f"{network} overlaps {key} {other}; give it a range of its own"
        others = [r for r in env.extensions if r.module == type(self).__module__ and r.id != self.name]
        if others:
            yield (
                (),
                f"the VPC's private services connection is one per network: list {type(self).__module__} once "
                f"(also as {others[0].id!r})",
            )

    def apis(self) -> tuple[str, ...]:
        return ("sqladmin.googleapis.com", "servicenetworking.googleapis.com")

    def project_roles(self) -> dict[str, str]:
        return dict(CLIENT_ROLES) if self.config.users else {}

    def cloud(self, ctx: CloudContext) -> None:
        from gkeml.framework import TerraformOutput, TerraformResourceLifecycle, google

        env, config, scope = self.env, self.config, ctx.scope
        protected = env.protected  # outside dev, unless retired: no plan destroys the data or its range
        keep = TerraformResourceLifecycle(prevent_destroy=True) if protected else None
        psa_range = google("compute_global_address").ComputeGlobalAddress(
            scope,
            "peering-range",
            project=ctx.project,
            name=f"{self.instance_name}-psa",
            purpose="VPC_PEERING",
            address_type="INTERNAL",
            address=str(config.peering_range.network_address),
            prefix_length=config.peering_range.prefixlen,
            network=ctx.network.vpc.id,
            depends_on=ctx.depends_on,
            lifecycle=keep,
        )
        connection = google("service_networking_connection").ServiceNetworkingConnection(
            scope,
            "private-services",
            network=ctx.network.vpc.id,
            service="servicenetworking.googleapis.com",
            reserved_peering_ranges=[psa_range.name],
            deletion_policy="ABANDON",  # Cloud SQL keeps its producer network for days after an instance goes
            depends_on=ctx.depends_on,
        )
        sql = google("sql_database_instance")
        instance = sql.SqlDatabaseInstance(
            scope,
            "instance",
            project=ctx.project,
            name=self.instance_name,
            region=ctx.region,
            database_version=config.database_version,
            deletion_protection=protected,
            settings=sql.SqlDatabaseInstanceSettings(
                tier=config.tier or DEFAULT_TIERS[env.tier],
                edition="ENTERPRISE",
                availability_type="REGIONAL" if env.tier == "prod" else "ZONAL",
                disk_size=config.disk_size_gb,
                disk_autoresize=True,
                deletion_protection_enabled=protected,
                connector_enforcement="REQUIRED",
                user_labels=dict(ctx.labels),
                ip_configuration=sql.SqlDatabaseInstanceSettingsIpConfiguration(
                    ipv4_enabled=False,
                    private_network=ctx.network.vpc.id,
                    ssl_mode="TRUSTED_CLIENT_CERTIFICATE_REQUIRED",  # the proxy and connectors bring client certs
                ),
                insights_config=sql.SqlDatabaseInstanceSettingsInsightsConfig(query_insights_enabled=True),
                backup_configuration=sql.SqlDatabaseInstanceSettingsBackupConfiguration(
                    enabled=True, point_in_time_recovery_enabled=env.tier != "dev", start_time="02:00"
                ),
                database_flags=[
                    sql.SqlDatabaseInstanceSettingsDatabaseFlags(name=name, value=value)
                    for name, value in {"cloudsql.iam_authentication": "on", **LOG_FLAGS}.items()
                ],
            ),
            depends_on=[connection, *ctx.depends_on],  # a private IP needs the services connection first
            lifecycle=keep,
        )
        for database in config.databases:
            google("sql_database").SqlDatabase(
                scope,
                f"database-{database}",
                project=ctx.project,
                name=database,
                instance=instance.name,
                lifecycle=keep,
            )
        pim = google("project_iam_member")
        for user in config.users:
            identity = ctx.identity(user)  # classic mode (problems() refuses another)
            # its Google service account is the bootstrap's: it exists before this stack is applied
            google("sql_user").SqlUser(
                scope,
                f"user-{user}",
                project=ctx.project,
                instance=instance.name,
                name=ctx.names.gsa_email(user).removesuffix(".gserviceaccount.com"),
                type="CLOUD_IAM_SERVICE_ACCOUNT",
            )
            for role in CLIENT_ROLES:
                pim.ProjectIamMember(
                    scope,
                    f"{user}-{role.removeprefix('roles/')}",
                    project=ctx.project,
                    role=role,
                    member=identity.member,
                    condition=pim.ProjectIamMemberCondition(
                        title=f"only {self.instance_name}",
                        description=f"the Cloud SQL instance of extension {self.name}",
                        expression=f"resource.type == 'sqladmin.googleapis.com/Instance' && resource.name == "
                        f"'projects/{ctx.project}/instances/{self.instance_name}'",
                    ),
                    depends_on=[*identity.grant_dependencies, *ctx.depends_on] or None,
                )
        TerraformOutput(scope, "connection-name", value=instance.connection_name)

    def kubernetes_objects(self) -> list[dict[str, Any]]:
        namespaces = {i.name: i.namespace for i in self.env.identities}
        objects = []
        for namespace in dict.fromkeys(namespaces[u] for u in self.config.users if u in namespaces):
            objects.append(
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {
                        "name": f"{self.name}-cloudsql",
                        "namespace": namespace,
                        "labels": {"app.kubernetes.io/managed-by": "gkeml", "gkeml.io/extension": self.name},
                    },
                    "data": {
                        "INSTANCE_CONNECTION_NAME": self.connection_name,
                        "DATABASES": ",".join(self.config.databases),
                    },
                }
            )
        return objects
