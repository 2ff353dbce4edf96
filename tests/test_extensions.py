"""Extensions without forking: a module named in the environment file adds resources to the stacks, and
they pass the same gate as gkeml's own: the permission model (and the bootstrap's custom roles from it), the
first-apply order, checkov and `gkeml check`. A module that fails gives one line naming the environment file
and the module, exit code 2, and no output.

The synthesized cases read the session's synth, where the fixture environment stage uses the example
extension (examples/extensions/cloudsql); the failures are made in small platform repositories of their own,
and all but one stop at loading (no synthesis)."""

from __future__ import annotations

import copy
import json
import textwrap
from pathlib import Path

import kubernetes_validate
import pytest
from conftest import ENVIRONMENTS, resources

from gkeml.config import ConfigError

MINI = (ENVIRONMENTS / "mini.yaml").read_text()
TEAM = "teams:\n  - name: research\n"


def platform_repo(tmp_path: Path, module: str, config: str = "{}", extra: str = "", files: dict | None = None) -> Path:
    """A platform repository: environments/mini.yaml (the fixture, with a team) naming ``extensions.<module>``,
    and the given ``files`` under extensions/."""
    (tmp_path / "environments").mkdir()
    env = tmp_path / "environments" / "mini.yaml"
    env.write_text(MINI + TEAM + extra + f"extensions:\n  - module: extensions.{module}\n    config: {config}\n")
    (tmp_path / "extensions").mkdir()
    (tmp_path / "extensions" / "__init__.py").write_text("")
    for name, text in (files or {}).items():
        (tmp_path / "extensions" / name).write_text(textwrap.dedent(text))
    return env


@pytest.fixture(autouse=True)
def forget_extension_modules():
    """Each test's platform repository has its own `extensions` package: import it afresh, from its own root
    (the loader adds a repository's root to the import path for the life of the process: one repository)."""
    import importlib
    import sys

    path = list(sys.path)
    yield
    sys.path[:] = path
    for name in [n for n in sys.modules if n == "extensions" or n.startswith("extensions.")]:
        del sys.modules[name]
    importlib.invalidate_caches()


def load_error(env: Path) -> list[str]:
    from gkeml.environments import load_environment

    with pytest.raises(ConfigError) as info:
        load_environment(env)
    return str(info.value).splitlines()


def line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


# --- a failing extension: one line, exit 2, nothing written -------------------------------------------


def test_a_module_that_does_not_import_is_one_line_naming_the_file_and_module(tmp_path, capsys):
    from gkeml.synth import run

    env = platform_repo(tmp_path, "missing")
    out = tmp_path / "cdktf.out"
    assert run(str(env.parent), str(out), "CDKTF_OUTDIR", quiet=True) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"{env}:{line_of(env, 'module: extensions.missing')}: extensions[0].module: ")
    assert f"cannot import extensions.missing (importable from {tmp_path} or installed): ModuleNotFoundError" in line
    assert not out.exists()


def test_a_module_that_raises_while_it_is_imported_is_refused_the_same_way(tmp_path):
    env = platform_repo(tmp_path, "boom", files={"boom.py": "raise RuntimeError('no database driver')\n"})
    (line,) = load_error(env)
    assert "extensions[0].module: cannot import extensions.boom" in line
    assert line.endswith("RuntimeError: no database driver")


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("X = 1\n", "defines no subclass of gkeml.extension.Extension; define exactly one"),
        (
            "from gkeml.extension import Extension\nclass A(Extension): pass\nclass B(Extension): pass\n",
            "defines 2 subclasses (A, B) of gkeml.extension.Extension",
        ),
    ],
)
def test_the_module_defines_exactly_one_extension(tmp_path, source, message):
    env = platform_repo(tmp_path, "odd", files={"odd.py": source})
    (line,) = load_error(env)
    assert f"extensions[0].module: extensions.odd {message}" in line


BUILDS = """
    from gkeml.extension import Extension, Strict

    class Config(Strict):
        size: int = 1

    class Builds(Extension):
        Config = Config

        def cloud(self, ctx):
            raise KeyError("tier")
"""


def test_an_extension_that_raises_while_building_the_stack_leaves_the_previous_output(tmp_path, capsys):
    """The one case that reaches the framework: the providers load, the extension raises, nothing is written."""
    from gkeml.synth import run

    env = platform_repo(tmp_path, "builds", files={"builds.py": BUILDS})
    out = tmp_path / "cdktf.out"
    out.mkdir()
    (out / "manifest.json").write_text('{"stacks": {}}')
    assert run(str(env.parent), str(out), "CDKTF_OUTDIR", quiet=True) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line == (
        f"{env}:{line_of(env, 'module: extensions.builds')}: extensions[0].module: extensions.builds raised "
        "KeyError: 'tier' while adding its resources to the cloud stack"
    )
    assert (out / "manifest.json").read_text() == '{"stacks": {}}'
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".cdktf.out")] == []  # no staging left


def test_its_config_is_checked_by_its_model_at_the_line_of_the_key(tmp_path):
    env = platform_repo(tmp_path, "builds", config="{size: big, colour: red}", files={"builds.py": BUILDS})
    lines = load_error(env)
    assert len(lines) == 2
    config_line = line_of(env, "config: {size: big")
    assert any(
        f":{config_line}: extensions[0].config.size: Input should be a valid integer (got 'big')" in x for x in lines
    )
    assert any("extensions[0].config.colour: unknown key 'colour'; allowed: size" in x for x in lines)


CHECKED = """
    from gkeml.extension import Extension

    class Checked(Extension):
        def problems(self):
            yield ("replicas",), "needs a team named serving"

        def project_roles(self):
            return {"roles/owner": "everything"}

        def kubernetes_objects(self):
            return [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "kube-system"}}]
"""


def test_its_own_checks_roles_and_objects_are_refused_with_the_fix(tmp_path):
    env = platform_repo(tmp_path, "checked", files={"checked.py": CHECKED})
    lines = load_error(env)
    assert any("extensions[0].config.replicas: needs a team named serving" in x for x in lines)
    assert any(
        "extensions.checked: roles/owner is a primitive role that can do anything in the project; an extension may "
        "not grant it" in x
        for x in lines
    )
    assert any(
        "ConfigMap/x is in namespace 'kube-system', which is no team's; an extension's objects go in a team "
        "namespace (research)" in x
        for x in lines
    )


PERMISSIONS = """
    from gkeml.extension import Extension

    class Permissions(Extension):
        permissions = {
            "resources": {
                "google_storage_bucket": {"create": [], "update": [], "delete": [], "read": [], "source": "x",
                                          "verified": True},
                "google_foo_widget": {
                    "create": ["foo.widgets.create", "iam.serviceAccounts.actAs"],
                    "update": ["foo.widgets.setIamPolicy"],
                    "delete": ["foo widgets delete"],
                    "read": ["foo.widgets.create"],
                    "verified": "yes",
                },
            }
        }
"""


def test_its_permission_entries_cannot_loosen_gkeml_s_or_administer_iam(tmp_path):
    env = platform_repo(tmp_path, "permissions", files={"permissions.py": PERMISSIONS})
    found = [x.split(": extensions[0].module: ", 1)[1] for x in load_error(env)]
    where = "extensions.permissions: permissions.resources"
    assert sorted(found) == sorted(
        [
            f"{where}.google_storage_bucket: already in gkeml's model (gkeml/iam/resources.json); leave it out",
            f"{where}.google_foo_widget.source: say where the permissions come from (provider source, API method)",
            f"{where}.google_foo_widget.verified: true or false (whether each permission was checked on its source)",
            f"{where}.google_foo_widget.create: iam.serviceAccounts.actAs administers identities or policies, which "
            "an extension's custom role may not; grant through project_roles (the deploy identity's conditioned "
            "Project IAM Admin) or a grant method",
            f"{where}.google_foo_widget.update: foo.widgets.setIamPolicy administers identities or policies, which an "
            "extension's custom role may not; grant through project_roles (the deploy identity's conditioned Project "
            "IAM Admin) or a grant method",
            f"{where}.google_foo_widget.delete: 'foo widgets delete' is not an IAM permission (service.resource.verb)",
            f"{where}.google_foo_widget.read: foo.widgets.create changes something; a read (what plan refreshes "
            "with) may only read",
        ]
    )


# --- the example's resources pass the gate ------------------------------------------------------------------


def gate(stacks, env, *, permissions=None, identities=None):
    """The permission gate over ``env``'s two synthesized stacks."""
    from conftest import BOOTSTRAP

    from gkeml.config.extensions import extension_permissions, permission_entries
    from gkeml.environments import load_bootstrap_of
    from gkeml.iam.extensions import extended
    from gkeml.iam.gate import gate_problems
    from gkeml.iam.identities import deploy_identity, plan_identity
    from gkeml.iam.model import load_model, load_roles

    granted = extension_permissions(env)
    boot = load_bootstrap_of(BOOTSTRAP / f"{env.name}.yaml", env)  # the environment's accounts, which it grants on
    deploy, plan = identities or (deploy_identity(boot, extensions=granted.deploy), plan_identity(granted.plan))
    entries = permission_entries(env) if permissions is None else permissions
    mine = {n: s for n, s in stacks.items() if n in (env.name, f"{env.name}-k8s")}
    return gate_problems(mine, extended(load_model(), entries), deploy, plan, load_roles())


def test_the_permission_gate_passes_with_the_extension_s_entries_and_custom_roles(stacks, environments):
    assert gate(stacks, environments["stage"]) == []


def test_a_type_the_model_lacks_fails_the_gate_with_the_entry_to_add(stacks, environments):
    from gkeml.iam.identities import deploy_identity, plan_identity

    found = gate(stacks, environments["stage"], permissions=[])
    assert {p.rule for p in found} == {"IAM001"}
    lines = {p.message.split(" (in ")[0] for p in found}
    assert lines == {
        "google_service_networking_connection",
        "google_sql_database",
        "google_sql_database_instance",
        "google_sql_user",
    }
    assert "or to the permissions of the extension that adds it" in found[0].fix
    # with the entries but without the bootstrap's custom roles, the identities lack them
    missing = gate(stacks, environments["stage"], identities=(deploy_identity(), plan_identity()))
    assert {p.rule for p in missing} == {"IAM002", "IAM003"}
    assert any(
        p.rule == "IAM002"
        and "lacks cloudsql.instances.create on the project, needed by stage: "
        "google_sql_database_instance.ext-metadata_instance"
        in p.message
        for p in missing
    )


def test_gkeml_check_runs_the_permission_gate(synth_dir, monkeypatch, capsys):
    from examples.extensions.cloudsql import CloudSql
    from gkeml.cli import main

    args = ["check", "--no-checkov", "--format", "json", "--environments", str(ENVIRONMENTS), "--synth-dir"]
    args += [str(synth_dir), "--jobs", str(synth_dir / "none"), "--env", "stage"]
    assert main(args) == 0
    assert not [f for f in json.loads(capsys.readouterr().out)["findings"] if f["rule"].startswith("IAM")]
    monkeypatch.setattr(CloudSql, "permissions", {})  # an extension that brings no entries
    assert main(args) == 1
    findings = [f for f in json.loads(capsys.readouterr().out)["findings"] if f["rule"].startswith("IAM")]
    assert {f["rule"] for f in findings} == {"IAM001"} and len(findings) == 4
    assert findings[0]["source"] == str(synth_dir / "stacks" / "stage" / "cdk.tf.json")


def test_the_order_facts_apply_to_its_resources(stacks, environments):
    from gkeml.config.extensions import resource_apis
    from gkeml.lifecycle.order import declared_apis, order_problems

    apis = resource_apis(environments.values())
    stage = {"stage": stacks["stage"]}
    assert order_problems(stage, declared_apis(stage), apis) == []
    # without its depends_on, the instance may be created before Cloud SQL's API is enabled (TF002)
    broken = copy.deepcopy(stage)
    (address,) = list(broken["stage"]["resource"]["google_sql_database_instance"])
    del broken["stage"]["resource"]["google_sql_database_instance"][address]["depends_on"]
    found = order_problems(broken, declared_apis(broken), apis)
    assert {p.fact.id for p in found} == {"TF002"}
    # the instance, and what waits for the APIs only through it (its database and user)
    assert {p.address.split(".")[0] for p in found} == {
        "google_sql_database_instance",
        "google_sql_database",
        "google_sql_user",
    }
    (instance,) = [p for p in found if p.address == f"google_sql_database_instance.{address}"]
    assert "may be created before sqladmin.googleapis.com is enabled" in instance.message


def test_the_bootstrap_enables_its_apis_and_grants_exactly_its_entries(bootstrap_stacks, environments):
    from gkeml.config.extensions import extension_permissions

    stage = bootstrap_stacks["bootstrap-stage"]
    services = {s["service"] for s in resources(stage, "google_project_service")}
    assert {"sqladmin.googleapis.com", "servicenetworking.googleapis.com"} <= services
    roles = {r["role_id"]: r["permissions"] for r in resources(stage, "google_project_iam_custom_role")}
    granted = extension_permissions(environments["stage"])
    assert roles["gkemlDeployExtensions"] == list(granted.deploy)
    assert roles["gkemlPlanExtensions"] == list(granted.plan)
    for other in ("bootstrap-lab", "bootstrap-live", "bootstrap-mini"):  # no extension, no such role
        assert not {r["role_id"] for r in resources(bootstrap_stacks[other], "google_project_iam_custom_role")} & {
            "gkemlDeployExtensions",
            "gkemlPlanExtensions",
        }


def test_the_roles_it_grants_must_be_grantable_in_the_bootstrap(tmp_path, capsys):
    from conftest import BOOTSTRAP

    from gkeml.synth import run

    (tmp_path / "environments").mkdir()
    (tmp_path / "environments" / "stage.yaml").write_text((ENVIRONMENTS / "stage.yaml").read_text())
    (tmp_path / "bootstrap").mkdir()
    boot = (BOOTSTRAP / "stage.yaml").read_text().replace("    - roles/cloudsql.instanceUser\n", "")
    (tmp_path / "bootstrap" / "stage.yaml").write_text(boot)
    assert run(str(tmp_path / "environments"), str(tmp_path / "out"), "CDKTF_OUTDIR", quiet=True) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert "ci.grantable_roles: missing roles/cloudsql.instanceUser (granted by the stacks of " in line


def test_its_checkov_skips_reach_only_its_own_resources(stacks, environments):
    from gkeml.checkov import extension_skips

    (skip,) = extension_skips(environments.values())
    assert skip.check == "CKV2_GCP_13" and "Query Insights" in skip.reason
    (instance,) = resources(stacks["stage"], "google_sql_database_instance")
    (cluster,) = resources(stacks["stage"], "google_container_cluster")
    assert skip.applies(instance) and not skip.applies(cluster)


def test_its_kubernetes_objects_are_checked_and_applied_after_their_namespace(stacks, environments):
    from gkeml.manifests.workloads import in_cluster_plan

    plan = in_cluster_plan(environments["stage"])
    (config_map,) = plan.extensions["metadata"]
    assert config_map in plan.objects()  # what gkeml check reads
    kubernetes_validate.validate(config_map, "1.33", strict=True)
    (applied,) = [
        m
        for m in resources(stacks["stage-k8s"], "kubernetes_manifest")
        if m["manifest"]["metadata"]["name"] == "metadata-cloudsql"
    ]
    assert applied["manifest"] == config_map
    assert any("namespace-research" in d for d in applied["depends_on"])


def test_the_permission_report_lists_its_types_and_custom_roles():
    from gkeml.iam.report import render

    text = render(environments=ENVIRONMENTS)
    assert "| `google_sql_database_instance` | `examples.extensions.cloudsql` |" in text
    assert "| stage | `gkemlDeployExtensions` | deploy | `cloudsql.databases.create`" in text
    assert "| stage | `gkemlPlanExtensions` | plan | `cloudsql.databases.get`" in text
