"""Bootstrap stacks: state bucket protections, the GitHub federation, the read-only plan and
the branch-restricted deploy identity, config errors.

The shipped ``bootstrap/*.yaml`` files (checked against ``environments/``) and one
variant (pinned repository ID, bucket created elsewhere, state already migrated, no
deploy environment, a release branch) are synthesized ONCE per module with the real framework.
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest
from conftest import BOOTSTRAP, ENVIRONMENTS, ROOT, resources

VARIANT = """\
name: qa
project: {id: acme-ml-qa, number: "104857600999", region: europe-west4}
state: {bucket: acme-ml-tfstate, create: false, bootstrap_backend: gcs}
github: {repository: acme/ml-platform, repository_id: 700000001, repository_owner_id: "700000002",
         deploy_ref: refs/heads/release/v1}
ci: {pool: gh-pool, provider: gh-oidc}
"""
DEPLOY = "serviceAccount:${google_service_account.ci.email}"
PLAN = "serviceAccount:${google_service_account.ci-plan.email}"
# every permission of a role outside these read verbs changes something
READ_ONLY_PERMISSION = re.compile(r"^[a-z]+\.[A-Za-z]+\.(get|list)$")


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory) -> dict[str, dict]:
    """Parsed cdk.tf.json of the fixture bootstrap files and of the variant bootstrap-qa."""
    from gkeml.config.bootstrap import load_bootstrap
    from gkeml.environments import load_bootstrap_files
    from gkeml.framework import App
    from gkeml.stacks.bootstrap import BootstrapStack

    tmp = tmp_path_factory.mktemp("bootstrap")
    (tmp / "qa.yaml").write_text(VARIANT)
    boots = load_bootstrap_files(BOOTSTRAP, ENVIRONMENTS) + [load_bootstrap(tmp / "qa.yaml")]
    app = App(outdir=str(tmp / "cdktf.out"))
    for boot in boots:
        BootstrapStack(app, boot)
    app.synth()
    return {p.parent.name: json.loads(p.read_text()) for p in (tmp / "cdktf.out" / "stacks").glob("*/cdk.tf.json")}


@pytest.fixture(scope="module")
def dev(synthesized):
    """The bootstrap that creates the bucket it shares (in a state project of its own)."""
    return synthesized["bootstrap-lab"]


def one(stack: dict, rtype: str) -> dict:
    found = resources(stack, rtype)
    assert len(found) == 1, f"expected one {rtype}, found {len(found)}"
    return found[0]


def test_every_bootstrap_file_becomes_a_stack(synthesized):
    assert set(synthesized) == {f"bootstrap-{p.stem}" for p in BOOTSTRAP.glob("*.yaml")} | {"bootstrap-qa"}


def test_state_bucket_is_versioned_private_and_not_destroyable_by_accident(dev):
    bucket = one(dev, "google_storage_bucket")
    assert bucket["name"] == "fx-shared-tfstate" and bucket["project"] == "fx-state-ml"
    assert bucket["versioning"] == {"enabled": True}
    assert bucket["uniform_bucket_level_access"] is True
    assert bucket["public_access_prevention"] == "enforced"
    assert bucket["force_destroy"] is False
    assert bucket["lifecycle"]["prevent_destroy"] is True
    # old state versions are pruned by count, never the live object
    (rule,) = bucket["lifecycle_rule"]
    assert rule["action"] == {"type": "Delete"}
    assert rule["condition"] == {"num_newer_versions": 20, "with_state": "ARCHIVED"}
    # it keeps the address it always had, and waits for the storage API of a new project
    assert "state" in dev["resource"]["google_storage_bucket"]
    (sleep,) = bucket["depends_on"]  # the APIs' propagation wait (fact TF006), which waits for every API
    assert sleep.startswith("time_sleep.")
    waited = dev["resource"]["time_sleep"][sleep.split(".", 1)[1]]
    assert "google_project_service.apis_storage" in " ".join(waited["depends_on"])


def test_a_bucket_of_its_own_is_granted_without_conditions(synthesized):
    live = synthesized["bootstrap-live"]
    assert one(live, "google_storage_bucket")["name"] == "fx-live-tfstate"
    grants = {g["member"] + " " + g["role"]: g for g in resources(live, "google_storage_bucket_iam_member")}
    assert "condition" not in grants[f"{DEPLOY} roles/storage.objectAdmin"]
    assert "condition" not in grants[f"{PLAN} roles/storage.objectViewer"]


def test_a_shared_bucket_is_granted_to_each_environment_for_its_own_objects_only(synthesized):
    for env in ("lab", "stage"):
        stack = synthesized[f"bootstrap-{env}"]
        if env == "stage":
            assert resources(stack, "google_storage_bucket") == []  # lab's bootstrap creates it
        own = (
            f"resource.name.startsWith('projects/_/buckets/fx-shared-tfstate/objects/gkeml/{env}/') || "
            f"resource.name.startsWith('projects/_/buckets/fx-shared-tfstate/objects/gkeml/{env}-k8s/')"
        )
        other = "stage" if env == "lab" else "lab"
        for grant in resources(stack, "google_storage_bucket_iam_member"):
            assert grant["bucket"] == "fx-shared-tfstate"
            assert own in grant["condition"]["expression"], (env, grant["role"])
            assert f"/objects/gkeml/{other}" not in grant["condition"]["expression"]


def test_first_run_keeps_state_locally_outside_the_synth_output(synthesized):
    for name in (n for n in synthesized if n != "bootstrap-qa"):
        backend = synthesized[name]["terraform"]["backend"]
        assert list(backend) == ["local"]
        # terraform runs in bootstrap/cdktf.out/stacks/<stack>: the file lands in bootstrap/
        stack_dir = ROOT / "bootstrap" / "cdktf.out" / "stacks" / name
        state = (stack_dir / backend["local"]["path"]).resolve()
        assert state == ROOT / "bootstrap" / f"terraform.{name}.tfstate"


def test_migrated_bootstrap_state_lives_in_the_state_bucket(synthesized):
    backend = synthesized["bootstrap-qa"]["terraform"]["backend"]
    assert backend == {"gcs": {"bucket": "acme-ml-tfstate", "prefix": "gkeml-bootstrap/qa"}}


def test_github_provider_accepts_only_the_platform_repository_by_its_ids(synthesized):
    """The condition pins the numeric repository and owner IDs from the bootstrap file (names can
    be re-registered by anyone once freed); the name stays in it for readability."""
    from gkeml.config.bootstrap import load_bootstrap

    for file in sorted(BOOTSTRAP.glob("*.yaml")):
        github = load_bootstrap(file).github
        provider = one(synthesized[f"bootstrap-{file.stem}"], "google_iam_workload_identity_pool_provider")
        assert provider["attribute_condition"] == (
            f"assertion.repository == '{github.repository}' && assertion.repository_id == '{github.repository_id}'"
            f" && assertion.repository_owner_id == '{github.repository_owner_id}'"
        )
    # a YAML number is read as the string the OIDC token carries
    provider = one(synthesized["bootstrap-qa"], "google_iam_workload_identity_pool_provider")
    assert provider["attribute_condition"] == (
        "assertion.repository == 'acme/ml-platform' && assertion.repository_id == '700000001'"
        " && assertion.repository_owner_id == '700000002'"
    )
    assert provider["workload_identity_pool_provider_id"] == "gh-oidc"


def test_github_provider_maps_the_claims_the_bindings_use(dev):
    provider = one(dev, "google_iam_workload_identity_pool_provider")
    assert provider["oidc"]["issuer_uri"] == "https://token.actions.githubusercontent.com"
    mapping = provider["attribute_mapping"]
    assert mapping["google.subject"] == "assertion.sub"
    assert mapping["attribute.repository"] == "assertion.repository"
    assert mapping["attribute.repository_id"] == "assertion.repository_id"
    assert mapping["attribute.repository_owner_id"] == "assertion.repository_owner_id"
    assert mapping["attribute.ref"] == "assertion.ref"
    assert "assertion.environment" in mapping["attribute.environment"]
    # a pull_request token has no environment claim: its ref_env ends in ':none'
    assert mapping["attribute.ref_env"] == (
        "assertion.ref + ':' + (has(assertion.environment) ? assertion.environment : 'none')"
    )
    pool = one(dev, "google_iam_workload_identity_pool")
    assert pool["workload_identity_pool_id"] == "github"


def impersonators(stack: dict) -> dict[str, str]:
    """service account resource -> the one member allowed to impersonate it."""
    bindings = [
        b
        for b in resources(stack, "google_service_account_iam_member")
        if b["role"] == "roles/iam.workloadIdentityUser"
    ]
    found = {b["service_account_id"]: b["member"] for b in bindings}
    assert len(found) == len(bindings), "one binding per service account"
    return found


def test_any_workflow_of_the_repository_may_impersonate_only_the_plan_identity(synthesized):
    expected = {
        "bootstrap-lab": ("projects/200000000101/locations/global/workloadIdentityPools/github", "fx/ml-platform"),
        "bootstrap-qa": ("projects/104857600999/locations/global/workloadIdentityPools/gh-pool", "acme/ml-platform"),
    }
    for name, (pool, repository) in expected.items():
        members = impersonators(synthesized[name])
        assert members["${google_service_account.ci-plan.name}"] == (
            f"principalSet://iam.googleapis.com/{pool}/attribute.repository/{repository}"
        )
        # the repository-wide set (pull requests of any branch) is never bound to the deploy identity
        assert "attribute.repository/" not in members["${google_service_account.ci.name}"]


def test_deploy_identity_only_for_the_default_branch_in_its_github_environment(synthesized):
    pools = "principalSet://iam.googleapis.com/projects/{}/locations/global/workloadIdentityPools/{}"
    expected = {
        "bootstrap-lab": pools.format("200000000101", "github") + "/attribute.ref_env/refs/heads/main:lab",
        "bootstrap-stage": pools.format("200000000202", "github") + "/attribute.ref_env/refs/heads/main:stage",
        "bootstrap-live": pools.format("200000000303", "github") + "/attribute.ref_env/refs/heads/main:live",
        # deploy_environment defaults to the environment name; deploy_ref is configurable
        "bootstrap-qa": pools.format("104857600999", "gh-pool") + "/attribute.ref_env/refs/heads/release/v1:qa",
    }
    for name, member in expected.items():
        assert impersonators(synthesized[name])["${google_service_account.ci.name}"] == member, name


def test_plan_identity_cannot_write_anything_but_lock_objects_of_the_state_bucket(synthesized):
    from gkeml.iam.identities import PLAN_EXTENSIONS_ROLE_ID, PLAN_READER_PERMISSIONS, PLAN_READER_ROLE_ID
    from gkeml.iam.model import load_model
    from gkeml.stacks.bootstrap import DEPLOY_ROLES, PLAN_ROLES

    for name, stack in synthesized.items():
        project_grants = [g for g in resources(stack, "google_project_iam_member") if g["member"] == PLAN]
        # read-only predefined roles (viewers, readers, reviewers), one custom role of two reads, no secret accessor
        (custom,) = [
            r for r in resources(stack, "google_project_iam_custom_role") if r["role_id"] == PLAN_READER_ROLE_ID
        ]
        assert (custom["role_id"], sorted(custom["permissions"])) == (
            PLAN_READER_ROLE_ID,
            sorted(PLAN_READER_PERMISSIONS),
        )
        assert all(p.rsplit(".", 1)[1] == "get" for p in PLAN_READER_PERMISSIONS)
        custom_ref = "${google_project_iam_custom_role.plan-reader.name}"
        # and, where the environment's extensions bring resource types, a custom role of their reads only
        extension_ref = f"${{google_project_iam_custom_role.{PLAN_EXTENSIONS_ROLE_ID}.name}}"
        assert {g["role"] for g in project_grants} - {extension_ref} == set(PLAN_ROLES) | {custom_ref}, name
        for role in resources(stack, "google_project_iam_custom_role"):
            if role["role_id"] == PLAN_EXTENSIONS_ROLE_ID:
                assert role["permissions"] and all(load_model().is_read(p) for p in role["permissions"]), name
        # serviceUsageConsumer: serviceUsageViewer plus serviceusage.services.use, which changes nothing
        # (the budget's quota project; tests/test_permissions.py checks the difference)
        assert all(
            re.search(r"\.(viewer|reader|[a-zA-Z]*Viewer|securityReviewer|serviceUsageConsumer)$", r)
            for r in PLAN_ROLES
        )
        assert not set(PLAN_ROLES) & (set(DEPLOY_ROLES) | {"roles/owner", "roles/editor", "roles/viewer"}), name
        assert all("condition" not in g for g in project_grants)
        # on the state bucket: read, and create/delete ONLY the Terraform lock objects
        bucket = {g["role"]: g for g in resources(stack, "google_storage_bucket_iam_member") if g["member"] == PLAN}
        assert set(bucket) == {"roles/storage.objectViewer", "roles/storage.objectUser"}, name
        assert bucket["roles/storage.objectUser"]["condition"]["expression"].endswith(
            "resource.name.endsWith('.tflock')"
        )


def test_no_service_account_key_anywhere(synthesized):
    for stack in synthesized.values():
        assert "google_service_account_key" not in stack.get("resource", {})
        assert "google_service_account_key" not in stack.get("data", {})


def test_keyless_ci_accounts_per_environment_and_the_image_pusher_holds_no_project_role(synthesized):
    for name, stack in synthesized.items():
        accounts = {a["account_id"] for a in resources(stack, "google_service_account")}
        assert {"gkeml-ci", "gkeml-ci-plan", "gkeml-ci-push"} <= accounts, name
        pusher = "serviceAccount:${google_service_account.ci-push.email}"
        assert not [g for g in resources(stack, "google_project_iam_member") if g["member"] == pusher], name


def test_image_pusher_only_for_jobs_of_the_default_branch(synthesized):
    pool = "principalSet://iam.googleapis.com/projects/200000000101/locations/global/workloadIdentityPools/github"
    assert impersonators(synthesized["bootstrap-lab"])["${google_service_account.ci-push.name}"] == (
        pool + "/attribute.ref/refs/heads/main"
    )


def test_budget_roles_on_the_billing_account_only_when_the_file_names_one(synthesized):
    from gkeml.iam.identities import DEPLOY_BILLING_ROLES, PLAN_BILLING_ROLES

    grants = {
        (g["member"], g["role"]): g["billing_account_id"]
        for g in resources(synthesized["bootstrap-lab"], "google_billing_account_iam_member")
    }
    assert grants == {
        **{(DEPLOY, role): "0A1B2C-3D4E5F-6A7B8C" for role in DEPLOY_BILLING_ROLES},
        **{(PLAN, role): "0A1B2C-3D4E5F-6A7B8C" for role in PLAN_BILLING_ROLES},
    }
    assert not resources(synthesized["bootstrap-qa"], "google_billing_account_iam_member")


def test_deploy_identity_has_no_primitive_role_and_iam_admin_only_for_listed_roles(synthesized):
    for name, stack in synthesized.items():
        grants = [g for g in resources(stack, "google_project_iam_member") if g["member"] == DEPLOY]
        roles = {g["role"] for g in grants}
        assert not roles & {"roles/owner", "roles/editor", "roles/viewer"}, name
        assert "roles/container.admin" in roles
        # no service-account role on the project: they would reach every account, the CI identities' included
        assert not {r for r in roles if r.startswith("roles/iam.serviceAccount")}, name
        # admin roles that read the data they administer are replaced by custom roles of what the stacks need
        custom = {b["role_id"] for b in resources(stack, "google_project_iam_custom_role")}
        assert {"gkemlDeploySecrets", "gkemlDeployBuckets"} <= custom
        assert not roles & {"roles/storage.admin", "roles/secretmanager.admin", "roles/pubsub.admin"}, name
        (admin,) = [g for g in grants if g["role"] == "roles/resourcemanager.projectIamAdmin"]
        expression = admin["condition"]["expression"]
        assert expression.startswith("api.getAttribute('iam.googleapis.com/modifiedGrantsByRole', []).hasOnly([")
        assert "'roles/container.defaultNodeServiceAccount'" in expression
        assert "roles/owner" not in expression and "roles/editor" not in expression


def test_apis_are_enabled_and_never_disabled_on_destroy(dev):
    services = {s["service"]: s for s in resources(dev, "google_project_service")}
    assert {
        "iam.googleapis.com",
        "iamcredentials.googleapis.com",
        "sts.googleapis.com",
        "container.googleapis.com",
        "storage.googleapis.com",
    } <= set(services)
    assert all(s["disable_on_destroy"] is False for s in services.values())


def test_outputs_name_what_github_needs(dev):
    assert set(dev["output"]) == {
        "workload_identity_provider",
        "plan_service_account",
        "deploy_service_account",
        "push_service_account",
        "state_bucket",
        "gkeml_version",  # the release that synthesized it (gkeml.release)
        "environment_service_accounts",
    }
    assert dev["output"]["workload_identity_provider"]["value"] == (
        "${google_iam_workload_identity_pool_provider.github-provider.name}"
    )
    assert dev["output"]["plan_service_account"]["value"] == "${google_service_account.ci-plan.email}"
    assert dev["output"]["deploy_service_account"]["value"] == "${google_service_account.ci.email}"


# --- the environment's service accounts: created here, administered by the deploy identity one by one -----


def test_the_bootstrap_creates_exactly_the_service_accounts_the_environment_stacks_name(
    synthesized, stacks, environments
):
    """The nodes' account and each classic identity's: the bootstrap creates them, the cloud stack creates none
    and names each by its email (the cluster's nodes, the Kubernetes service account's binding)."""
    from gkeml.naming import Names

    ci = {"gkeml-ci", "gkeml-ci-plan", "gkeml-ci-push"}
    for name, env in environments.items():
        names = Names.of(env)
        classic = [i.name for i in env.identities if i.mode == "classic"]
        created = {a["account_id"] for a in resources(synthesized[f"bootstrap-{name}"], "google_service_account")}
        assert created - ci == {names.node_service_account, *(names.gsa(i) for i in classic)}, name
        cloud = stacks[name]
        assert not resources(cloud, "google_service_account"), name
        (cluster,) = resources(cloud, "google_container_cluster")
        nodes = cluster["cluster_autoscaling"]["auto_provisioning_defaults"]["service_account"]
        assert nodes == names.node_service_account_email, name
        bound = {b["service_account_id"] for b in resources(cloud, "google_service_account_iam_member")}
        assert bound == {f"projects/{env.project.id}/serviceAccounts/{names.gsa_email(i)}" for i in classic}, name


def test_the_deploy_identity_gets_a_role_on_each_environment_account_and_on_no_other(synthesized, environments):
    """Acting as the nodes' account (cluster creation checks actAs on it) and setting a classic identity's
    account's IAM policy (the cloud stack binds the Kubernetes service account there once the cluster made the
    Workload Identity pool) are granted on those accounts alone; the CI identities' own accounts are not among
    them, so the deploy identity cannot grant itself more on them."""
    for name, stack in synthesized.items():
        env = name.removeprefix("bootstrap-")
        accounts = {
            address: body["account_id"] for address, body in stack["resource"]["google_service_account"].items()
        }
        on = {
            accounts[g["service_account_id"].split(".")[1]]: g["role"]
            for g in resources(stack, "google_service_account_iam_member")
            if g["member"] == DEPLOY
        }
        expected = {f"{env}-gke-nodes": "roles/iam.serviceAccountUser"}
        for identity in environments[env].identities if env in environments else ():  # qa: a test's own file
            if identity.mode == "classic":
                expected[f"{env}-{identity.name}"] = "roles/iam.serviceAccountAdmin"
        assert on == expected, name


def test_environment_accounts_are_taken_over_when_they_exist_and_protected_outside_dev(synthesized, environments):
    """An environment upgraded from a release whose cloud stack created its accounts: the bootstrap takes the
    existing ones over (provider: create_ignore_already_exists) instead of failing with 409; a new project gets
    them created. Outside dev they cannot be destroyed by a plan (a re-created account is a new identity)."""
    for name, env in environments.items():
        stack = synthesized[f"bootstrap-{name}"]
        made = [b for a, b in stack["resource"]["google_service_account"].items() if a.startswith("env-")]
        assert made and all(b["create_ignore_already_exists"] is True for b in made), name
        assert all(b.get("lifecycle", {}).get("prevent_destroy", False) is env.protected for b in made), name
        # the display names the cloud stack gave them: taking one over changes nothing
        displays = {b["account_id"]: b["display_name"] for b in made}
        assert displays[f"{name}-gke-nodes"] == f"GKE Autopilot nodes ({name})"
        for ident in (i for i in env.identities if i.mode == "classic"):
            assert displays[f"{name}-{ident.name}"] == f"Workload Identity {ident.namespace}/{ident.ksa}"


# --- config errors: file, line, field, what to do --------------------------------------


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(textwrap.dedent(text))
    return path


GH = "github: {repository: acme/x, repository_id: 11, repository_owner_id: 22"


@pytest.mark.parametrize(
    ("change", "field", "line", "fragment"),
    [
        (
            "github: {repository: acme, repository_id: 11, repository_owner_id: 22}",
            "github.repository",
            4,
            "owner/name",
        ),
        # the IDs are required: a name alone can be re-registered by someone else
        ("github: {repository: acme/x, repository_id: 11}", "github.repository_owner_id", 4, "required"),
        (
            "github: {repository: acme/x, repository_id: acme, repository_owner_id: 22}",
            "github.repository_id",
            4,
            "gh api repos/OWNER/REPO",
        ),
        (GH + ", token: abc}", "github.token", 4, "allowed: repository, repository_id"),
        (GH + ", deploy_ref: main}", "github.deploy_ref", 4, "refs/heads/main"),
        (GH + ", deploy_environment: 'a:b'}", "github.deploy_environment", 4, "environment"),
        (GH + "}\nci: {plan_service_account: gkeml-ci}", "ci.plan_service_account", 5, "its own account ID"),
        (GH + "}\nci: {pool: gcp-github}", "ci.pool", 5, "reserves"),
        (
            GH + "}\nci:\n  grantable_roles: [roles/logging.logWriter, roles/owner]",
            "ci.grantable_roles[1]",
            6,
            "primitive role that can do anything",
        ),
        (
            GH + "}\nci:\n  grantable_roles: [roles/iam.serviceAccountTokenCreator]",
            "ci.grantable_roles[0]",
            6,
            "mint access tokens",
        ),
        (
            GH + "}\nci:\n  grantable_roles: [roles/storage.objectAdmin]",
            "ci.grantable_roles[0]",
            6,
            "CI may grant only: roles/container.defaultNodeServiceAccount",
        ),
        (GH + "}\nci:\n  grantable_roles: [logWriter]", "ci.grantable_roles[0]", 6, "roles/logging.logWriter"),
        # the account of a classic identity: a valid account id, not a CI identity's, not the nodes'
        (
            GH + "}\nclassic_identities: [launch-agent, a-very-long-identity-name-xyz]",
            "classic_identities[1]",
            5,
            "6-30",
        ),
        (GH + "}\nclassic_identities: [ci]\nci: {service_account: dev-ci}", "ci.service_account", 6, "identity 'ci'"),
        (GH + "}\nci: {plan_service_account: dev-gke-nodes}", "ci.plan_service_account", 5, "for the nodes"),
        (GH + "}\nclassic_identities: [gke-nodes]", "classic_identities[0]", 5, "the nodes' account"),
        (GH + "}\nclassic_identities: [Agent]", "classic_identities[0]", 5, "lowercase"),
    ],
)
def test_config_errors_name_file_line_and_field(tmp_path, change, field, line, fragment):
    from gkeml.config import ConfigError
    from gkeml.config.bootstrap import load_bootstrap

    path = write(
        tmp_path,
        "dev",
        'name: dev\nproject: {id: acme-ml-dev, number: "104857600123", region: us-central1}\n'
        "state: {bucket: acme-ml-tfstate}\n" + change + "\n",
    )
    with pytest.raises(ConfigError) as err:
        load_bootstrap(path)
    (problem,) = err.value.problems
    assert (problem.file, problem.line, problem.field) == (str(path), line, field)
    assert fragment in problem.message
    assert len(str(problem).splitlines()) == 1


@pytest.mark.parametrize(
    ("location", "fragment"),
    [
        (
            "us-centrl1",
            "unknown location 'us-centrl1' (did you mean 'US-CENTRAL1'?); use a region such as the project's, "
            "a dual-region (ASIA1, EUR4, EUR5, EUR7, EUR8, NAM4) or a multi-region (US, EU, ASIA)",
        ),
        ("CA", "unknown location 'CA'"),  # a configurable dual-region's code: the state bucket takes no data_locations
    ],
)
def test_an_unknown_state_bucket_location_is_refused(tmp_path, location, fragment):
    from gkeml.config import ConfigError
    from gkeml.config.bootstrap import load_bootstrap

    path = write(
        tmp_path,
        "dev",
        'name: dev\nproject: {id: acme-ml-dev, number: "104857600123", region: us-central1}\n'
        f"state: {{bucket: acme-ml-tfstate, location: {location}}}\n{GH}}}\n",
    )
    with pytest.raises(ConfigError) as err:
        load_bootstrap(path)
    (problem,) = err.value.problems
    assert (problem.line, problem.field) == (3, "state.location")
    assert fragment in problem.message
    path.write_text(path.read_text().replace(f"location: {location}", "location: nam4"))
    assert load_bootstrap(path).state.location == "nam4"


def test_bootstrap_must_agree_with_its_environment(tmp_path, environments):
    from gkeml.config import ConfigError
    from gkeml.config.bootstrap import load_bootstrap

    path = write(
        tmp_path,
        "lab",
        """\
        name: lab
        project: {id: fx-lab-ml, number: "200000000101", region: us-central1}
        state:
          bucket: acme-ml-other-state
        github: {repository: acme/ml-platform, repository_id: "11", repository_owner_id: "22"}
        ci:
          grantable_roles: [roles/container.defaultNodeServiceAccount]
          push_service_account: images-ci
        billing_account: 0A1B2C-3D4E5F-000000
        """,
    )
    with pytest.raises(ConfigError) as err:
        load_bootstrap(path, environments["lab"])
    found = {p.field: p for p in err.value.problems}
    assert set(found) == {
        "state.bucket",
        "ci.grantable_roles",
        "ci.push_service_account",
        "billing_account",
        "classic_identities",
    }
    assert found["classic_identities"].message == (
        "missing launch-agent (classic-mode identities of environments/lab.yaml: their Google service accounts "
        "lab-launch-agent are created here, the deploy identity cannot create one); add them and run "
        "`make bootstrap-deploy ENV=lab` before the deploy that needs it"
    )
    assert found["state.bucket"].line == 4
    assert "'fx-shared-tfstate' in environments/lab.yaml" in found["state.bucket"].message
    assert "roles/logging.logWriter" in found["ci.grantable_roles"].message
    assert found["ci.grantable_roles"].line == 7
    assert found["ci.push_service_account"].line == 8
    assert "registry.pusher 'gkeml-ci-push'" in found["ci.push_service_account"].message
    assert found["billing_account"].line == 9
    assert "roles/billing.costsManager" in found["billing_account"].message


def test_file_name_must_match_the_environment_name(tmp_path):
    from gkeml.config import ConfigError
    from gkeml.config.bootstrap import load_bootstrap

    path = write(tmp_path, "staging", VARIANT)
    with pytest.raises(ConfigError, match=r"staging.yaml:1: name: 'qa' must equal the file name 'staging'"):
        load_bootstrap(path)


def test_app_entry_point_exits_2_with_the_problems_and_writes_nothing(tmp_path, monkeypatch, capsys):
    from gkeml.synth import bootstrap_main as main

    write(tmp_path, "dev", "name: dev\nproject: {id: X}\n")
    monkeypatch.setenv("GKEML_BOOTSTRAP", str(tmp_path))
    monkeypatch.setenv("GKEML_ENVIRONMENTS", str(tmp_path / "none"))
    monkeypatch.setenv("CDKTF_OUTDIR", str(tmp_path / "out"))
    assert main() == 2
    err = capsys.readouterr().err
    assert f"{tmp_path}/dev.yaml:2: project.id: 'X' is not allowed" in err
    assert f"{tmp_path}/dev.yaml:1: state: required; add it" in err
    assert not (tmp_path / "out").exists()


def test_every_ci_role_is_explained_in_the_docs():
    from gkeml.stacks.bootstrap import DEPLOY_ACCOUNT_ROLES, DEPLOY_CUSTOM_ROLES, DEPLOY_ROLES, PLAN_ROLES

    docs = (ROOT / "docs" / "bootstrap.md").read_text()
    deploy, plan = docs.split("### Roles of the plan identity")
    row = re.compile(r"^\| `(roles/[\w.]+)` \|", flags=re.MULTILINE)
    assert set(row.findall(deploy)) == set(DEPLOY_ROLES)
    assert set(row.findall(plan)) == set(PLAN_ROLES)
    custom = re.compile(r"^\| `(gkeml\w+)` \| `(roles/[\w.]+)` \|", flags=re.MULTILINE)
    assert dict(custom.findall(deploy)) == {r.role_id: r.instead_of for r in DEPLOY_CUSTOM_ROLES}
    on_accounts = re.compile(r"^\| (the nodes'|each classic identity's) account `[^`]+` \| `(roles/[\w.]+)` \|", re.M)
    kinds = {"the nodes'": "nodes", "each classic identity's": "workload"}
    assert {kinds[k]: role for k, role in on_accounts.findall(deploy)} == {
        kind: role for kind, (role, _) in DEPLOY_ACCOUNT_ROLES.items()
    }


# --- state layouts that let one environment's CI reach another's state ---------------------------


def _boot(tmp_path: Path, name: str, project: str, number: str, state: str) -> Path:
    return write(
        tmp_path,
        name,
        f"""\
        name: {name}
        project: {{id: {project}, number: "{number}", region: us-central1}}
        state:
          {state}
        github: {{repository: acme/x, repository_id: 11, repository_owner_id: 22}}
        """,
    )


@pytest.mark.parametrize(
    ("layout", "culprit", "field", "fragment"),
    [
        # one bucket for both, in a's project: a's deploy identity (every bucket's IAM there) reaches b's state
        (
            {"a": "bucket: shared-tf", "b": "bucket: shared-tf\n          create: false"},
            "a",
            "state.bucket",
            "holds the state of b too and lives in project acme-a-ml, where the deploy identity of a administers "
            "every bucket",
        ),
        # b keeps its own bucket, but in a's project
        (
            {"a": "bucket: a-tf", "b": "bucket: b-tf\n          project: acme-a-ml"},
            "b",
            "state.project",
            "project acme-a-ml is where a deploys",
        ),
        # a shared bucket (safely in its own project) that no bootstrap file creates
        (
            {
                "a": "bucket: shared-tf\n          project: acme-state\n          create: false",
                "b": "bucket: shared-tf\n          project: acme-state\n          create: false",
            },
            "a",
            "state.create",
            "is created by 0 bootstrap files",
        ),
        # a shared bucket in its own project, but b's state prefix lies inside a's objects (gkeml/a/):
        # the IAM conditions match by prefix, so a's CI reaches b's state
        (
            {
                "a": "bucket: shared-tf\n          project: acme-state",
                "b": "bucket: shared-tf\n          project: acme-state\n          create: false\n          prefix: gkeml/a",
            },
            "b",
            "state.prefix",
            "b's state gs://shared-tf/gkeml/a/b/ lies inside a's gs://shared-tf/gkeml/a/",
        ),
    ],
)
def test_unsafe_state_layouts_are_refused_with_file_line_and_why(
    tmp_path, monkeypatch, capsys, layout, culprit, field, fragment
):
    from gkeml.config import ConfigError
    from gkeml.environments import load_bootstrap_files
    from gkeml.synth import bootstrap_main as main

    for name, number in (("a", "300000001"), ("b", "300000002")):
        _boot(tmp_path, name, f"acme-{name}-ml", number, layout[name])
    with pytest.raises(ConfigError) as err:
        load_bootstrap_files(tmp_path, tmp_path / "no-environments")
    (problem,) = [p for p in err.value.problems if p.field == field and p.file == str(tmp_path / f"{culprit}.yaml")]
    assert fragment in problem.message
    lines = (tmp_path / f"{culprit}.yaml").read_text().splitlines()
    state = lines.index("state:")
    key = field.split(".")[1]
    assert problem.line == next(i for i, t in enumerate(lines[state:], state + 1) if t.startswith(f"  {key}:"))
    monkeypatch.setenv("GKEML_BOOTSTRAP", str(tmp_path))
    monkeypatch.setenv("GKEML_ENVIRONMENTS", str(tmp_path / "no-environments"))
    monkeypatch.setenv("CDKTF_OUTDIR", str(tmp_path / "out"))
    assert main() == 2 and fragment in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_safe_layouts_pass(tmp_path):
    """A bucket per environment in its own project, and one shared bucket in a project of its own."""
    from gkeml.environments import load_bootstrap_files

    _boot(tmp_path, "a", "acme-a-ml", "300000001", "bucket: a-tf")
    _boot(tmp_path, "b", "acme-b-ml", "300000002", "bucket: shared-tf\n          project: acme-state")
    _boot(
        tmp_path,
        "c",
        "acme-c-ml",
        "300000003",
        "bucket: shared-tf\n          project: acme-state\n          create: false",
    )
    assert [b.name for b in load_bootstrap_files(tmp_path, tmp_path / "none")] == ["a", "b", "c"]


def test_bootstrap_synth_never_replaces_a_directory_that_is_not_its_output(tmp_path, monkeypatch, capsys):
    from gkeml.synth import bootstrap_main as main

    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "notes.txt").write_text("keep me")
    monkeypatch.setenv("GKEML_BOOTSTRAP", str(BOOTSTRAP))
    monkeypatch.setenv("GKEML_ENVIRONMENTS", str(ENVIRONMENTS))
    monkeypatch.setenv("CDKTF_OUTDIR", str(theirs))
    assert main() == 2
    assert "CDKTF_OUTDIR: is not empty and not a previous synth output" in capsys.readouterr().err
    assert [p.name for p in theirs.iterdir()] == ["notes.txt"] and (theirs / "notes.txt").read_text() == "keep me"


def test_ci_may_grant_a_custom_role_of_its_own_project_only(tmp_path):
    """A workload identity may hold a custom role of its project (gkeml.config.roles), so the deploy identity
    must be allowed to grant it: listing it in ci.grantable_roles is accepted; another project's is refused."""
    from gkeml.config import ConfigError
    from gkeml.config.bootstrap import load_bootstrap

    head = (
        'name: dev\nproject: {id: acme-ml-dev, number: "104857600123", region: us-central1}\n'
        f"state: {{bucket: acme-ml-tfstate}}\n{GH}}}\n"
    )
    own = write(
        tmp_path, "dev", head + "ci: {grantable_roles: [roles/logging.logWriter, projects/acme-ml-dev/roles/x.y]}\n"
    )
    assert "projects/acme-ml-dev/roles/x.y" in load_bootstrap(own).ci.grantable_roles
    other = write(tmp_path, "dev", head + "ci: {grantable_roles: [projects/acme-ml-prod/roles/x.y]}\n")
    with pytest.raises(ConfigError) as err:
        load_bootstrap(other)
    (problem,) = err.value.problems
    assert problem.field == "ci.grantable_roles[0]" and "another project (acme-ml-prod)" in problem.message
