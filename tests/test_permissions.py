"""The IAM permission model against the real synthesized stacks: the deploy identity can apply
every cloud and in-cluster stack, the plan identity can plan them and writes nothing, every type
the stacks use is modelled, and the bootstrap stacks grant what the model says.

The environment stacks come from the session's one real synth (``stacks``); the bootstrap stacks
are synthesized once per session here, the way ``bootstrap/main.py`` does. The negative tests use
small stacks of their own.
"""

from __future__ import annotations

import json

import pytest
from conftest import ROOT, resources

PLAN_MEMBER = "serviceAccount:${google_service_account.ci-plan.email}"
DEPLOY_MEMBER = "serviceAccount:${google_service_account.ci.email}"


@pytest.fixture(scope="session")
def model(environments):
    """gkeml's permission model with the entries the fixture environments' extensions bring."""
    from gkeml.config.extensions import permission_entries
    from gkeml.iam.extensions import extended
    from gkeml.iam.model import load_model

    return extended(load_model(), [entry for env in environments.values() for entry in permission_entries(env)])


def granted(environments, name: str):
    """What the CI identities of environment ``name`` (or of its stack ``name``) get for its extensions'
    resource types."""
    from gkeml.config.extensions import extension_permissions

    return extension_permissions(environments[name.removesuffix("-k8s")])


@pytest.fixture(scope="session")
def roles():
    from gkeml.iam.model import load_roles

    return load_roles()


def needs_of(model, stack: dict, name: str):
    """The stack's needs; a type the model lacks fails the test with the model's own message."""
    from gkeml.iam.model import ModelError

    try:
        return model.needs(stack, name)
    except ModelError as err:
        pytest.fail(str(err), pytrace=False)


@pytest.fixture(scope="session")
def needs_by_env(stacks, model):
    """Needs of every synthesized cloud and in-cluster stack, by environment."""
    found: dict[str, list] = {}
    for name, stack in stacks.items():
        found.setdefault(name.removesuffix("-k8s"), []).extend(needs_of(model, stack, name))
    return found


@pytest.fixture(scope="session")
def all_needs(needs_by_env):
    """Needs of every synthesized cloud and in-cluster stack."""
    return [need for needs in needs_by_env.values() for need in needs]


@pytest.fixture(scope="session")
def boots():
    """The fixture environments' bootstrap files, loaded with their environments."""
    from conftest import BOOTSTRAP, ENVIRONMENTS

    from gkeml.environments import load_bootstrap_files

    return {b.name: b for b in load_bootstrap_files(BOOTSTRAP, ENVIRONMENTS)}


# --- the real stacks -----------------------------------------------------------------


def test_deploy_identity_holds_every_permission_its_stacks_need(needs_by_env, boots, environments, roles):
    """Each environment's deploy identity, as its bootstrap grants it: project roles, and its roles on the
    environment's own service accounts, which cover the needs on those accounts alone."""
    from gkeml.iam.identities import deploy_identity
    from gkeml.iam.model import missing

    assert set(needs_by_env) == set(boots)
    for env, needs in needs_by_env.items():
        problems = missing(deploy_identity(boots[env], extensions=granted(environments, env).deploy), needs, roles)
        assert not problems, "\n".join(problems)


def test_the_deploy_identity_holds_no_service_account_permission_on_the_project(boots, roles, model):
    """The audit's N5: project-wide serviceAccountAdmin and serviceAccountUser let the deploy identity set the
    IAM policy of every service account (its own: token creation for anyone) and act as any of them. Now it
    holds no iam.serviceAccounts write on the project: only on the environment's accounts, one by one."""
    from gkeml.iam.identities import deploy_identity
    from gkeml.iam.model import PROJECT, SERVICE_ACCOUNT, held

    for env, boot in boots.items():
        holds = held(deploy_identity(boot), roles)
        on_project = {p for (scope, p) in holds if scope == PROJECT and p.startswith("iam.serviceAccounts.")}
        assert not {p for p in on_project if not model.is_read(p)}, (env, sorted(on_project))
        assert not on_project & {
            "iam.serviceAccounts.setIamPolicy",
            "iam.serviceAccounts.actAs",
            "iam.serviceAccounts.create",
            "iam.serviceAccounts.getAccessToken",
        }
        accounts = {g.limited_to for (scope, _), grants in holds.items() if scope == SERVICE_ACCOUNT for g in grants}
        assert accounts == {a.email(boot.project.id) for a in boot.service_accounts}, env


def test_a_need_on_any_other_service_account_is_not_met(needs_by_env, boots, roles):
    """What the resource-level grants leave out, as the model sees it: the same call on the CI identities'
    own accounts, or on another account of the project, is missing; the project-wide roles of before met it."""
    from gkeml.config.bootstrap import ci_identity
    from gkeml.iam.identities import deploy_identity
    from gkeml.iam.model import APPLY, SERVICE_ACCOUNT, Grant, Identity, Need, missing

    boot = boots["lab"]
    identity = deploy_identity(boot)
    ours = ci_identity(boot)
    others = [
        ours["deploy_service_account"],
        ours["plan_service_account"],
        f"other@{boot.project.id}.iam.gserviceaccount.com",
    ]
    for permission in ("iam.serviceAccounts.setIamPolicy", "iam.serviceAccounts.actAs"):
        needs = [Need(permission, SERVICE_ACCOUNT, APPLY, "lab: x", account) for account in others]
        assert missing(identity, needs, roles) == [
            f"the deploy identity lacks {permission} on the service account {account}, needed by lab: x (apply)"
            for account in sorted(others)
        ]
        before = Identity(
            "deploy",
            identity.grants
            + (Grant("roles/iam.serviceAccountAdmin", "project"), Grant("roles/iam.serviceAccountUser", "project")),
        )
        assert missing(before, needs, roles) == []
    # and the environment's own needs on its accounts are met by those grants alone
    on_accounts = [n for n in needs_by_env["lab"] if n.scope == SERVICE_ACCOUNT]
    assert {n.target for n in on_accounts} == {a.email(boot.project.id) for a in boot.service_accounts}
    assert missing(identity, on_accounts, roles) == []


def test_plan_identity_holds_every_read_its_plans_need(needs_by_env, environments, roles):
    from gkeml.iam.identities import plan_identity
    from gkeml.iam.model import PLAN, missing

    for env, needs in needs_by_env.items():
        problems = missing(plan_identity(granted(environments, env).plan), needs, roles, phases=(PLAN,))
        assert not problems, "\n".join(problems)


def test_plan_identity_writes_nothing_but_the_state_lock(model, roles):
    from gkeml.iam.identities import PLAN_STATE_LOCK_ROLE, plan_identity
    from gkeml.iam.model import STATE_BUCKET, writes

    identity = plan_identity()
    problems = writes(identity, roles, model)
    assert not problems, "\n".join(problems)
    # the one allowed exception, explicitly: the state bucket's lock objects, by IAM condition
    (allowed,) = [g for g in identity.grants if g.writes_allowed]
    assert (allowed.role, allowed.scope, allowed.limited_to) == (PLAN_STATE_LOCK_ROLE, STATE_BUCKET, "lock")
    assert ".tflock" in allowed.writes_allowed and ".tflock" in allowed.condition
    # without that reason the same grant is reported as writing
    bare = type(identity)(
        identity.name,
        tuple(g for g in identity.grants if not g.writes_allowed) + (type(allowed)(allowed.role, allowed.scope),),
    )
    assert any(
        "storage.objects.delete on the state bucket through roles/storage.objectUser" in p
        for p in writes(bare, roles, model)
    )


def test_every_deploy_role_is_the_only_source_of_something_the_stacks_need(needs_by_env, boots, roles):
    from gkeml.iam.identities import deploy_identity
    from gkeml.iam.model import covering, held

    unneeded, needed = set(), set()
    for env, needs in needs_by_env.items():
        identity = deploy_identity(boots[env])
        holds = held(identity, roles)
        for need in needs:
            grants = covering(holds, need)
            if len(grants) == 1:
                needed.add((grants[0].role, grants[0].scope))
        unneeded |= {(g.role, g.scope) for g in identity.grants}
    assert not unneeded - needed, f"roles nothing needs (remove them or say why): {sorted(unneeded - needed)}"


def test_firewall_rules_and_certificates_need_security_admin_not_network_admin(stacks, model, roles):
    """The issue's case: networkAdmin reads firewall rules and SSL certificates, never creates them."""
    from gkeml.iam.identities import deploy_identity
    from gkeml.iam.model import Grant, Identity, missing, only_from

    identity = deploy_identity()
    previous = Identity(
        "previous deploy",
        tuple(g for g in identity.grants if g.role != "roles/compute.securityAdmin")
        + (Grant("roles/compute.loadBalancerAdmin", "project"),),
    )
    for name, stack in stacks.items():
        if not resources(stack, "google_compute_firewall"):
            continue
        needs = needs_of(model, stack, name)
        covered = {n.permission for n in only_from(identity, "roles/compute.securityAdmin", needs, roles)}
        assert "compute.firewalls.create" in covered
        if resources(stack, "google_compute_managed_ssl_certificate"):
            assert "compute.sslCertificates.create" in covered
        lacking = "\n".join(missing(previous, needs, roles))
        assert (
            f"the previous deploy identity lacks compute.firewalls.create on the project, needed by {name}: "
            "google_compute_firewall." in lacking
        )
    assert "compute.firewalls.create" not in roles.roles["roles/compute.networkAdmin"]


def test_kubernetes_manifests_need_the_permissions_of_their_kind(stacks, model):
    for name, stack in stacks.items():
        for address, body in stack.get("resource", {}).get("kubernetes_manifest", {}).items():
            manifest = body["manifest"]
            entry = model.data["kubernetes_kinds"][kind_of(manifest)]
            needed = {
                n.permission for n in needs_of(model, {"resource": {"kubernetes_manifest": {address: body}}}, name)
            }
            for resource in entry["iam_resources"]:
                assert {f"{resource}.get", f"{resource}.update", f"{resource}.delete"} <= needed, (name, address)


def kind_of(manifest: dict) -> str:
    from gkeml.iam.model import kind_key

    return kind_key(manifest["apiVersion"], manifest["kind"])


def test_plan_needs_and_holds_no_secret_value(all_needs, roles):
    """Any branch can run a plan: no Secret Manager payload and no Kubernetes Secret is read during it,
    and the plan identity could not read one if it tried (no custom role, no secretAccessor)."""
    from gkeml.iam.identities import plan_identity
    from gkeml.iam.model import PLAN, held

    plan_reads = {n.permission for n in all_needs if n.phase == PLAN}
    secret_reads = {"container.secrets.get", "container.secrets.list", "secretmanager.versions.access"}
    assert not plan_reads & secret_reads
    assert not set(held(plan_identity(), roles)) & secret_reads


def test_bootstrap_stacks_grant_what_the_identities_say(bootstrap_stacks, boots, environments):
    from gkeml.iam.identities import deploy_identity, plan_identity
    from gkeml.iam.model import BILLING_ACCOUNT, PROJECT, SERVICE_ACCOUNT, STATE_BUCKET

    for name, stack in bootstrap_stacks.items():
        boot = boots[name.removeprefix("bootstrap-")]
        extensions = granted(environments, boot.name)
        accounts = {
            f"${{google_service_account.{address}.name}}": f"{b['account_id']}@{b['project']}.iam.gserviceaccount.com"
            for address, b in stack["resource"]["google_service_account"].items()
        }
        on_accounts = {
            (accounts[g["service_account_id"]], g["role"])
            for g in resources(stack, "google_service_account_iam_member")
            if g["member"] == DEPLOY_MEMBER
        }
        assert on_accounts == {
            (g.limited_to, g.role) for g in deploy_identity(boot).grants if g.scope == SERVICE_ACCOUNT
        }, name
        assert not [g for g in resources(stack, "google_service_account_iam_member") if g["member"] == PLAN_MEMBER], (
            name
        )
        custom = {
            f"${{google_project_iam_custom_role.{address}.name}}": body
            for address, body in stack["resource"].get("google_project_iam_custom_role", {}).items()
        }
        for member, identity in (
            (DEPLOY_MEMBER, deploy_identity(extensions=extensions.deploy)),
            (PLAN_MEMBER, plan_identity(extensions.plan)),
        ):
            project = {
                custom[g["role"]]["role_id"] if g["role"] in custom else g["role"]
                for g in resources(stack, "google_project_iam_member")
                if g["member"] == member
            }
            bucket = {g["role"] for g in resources(stack, "google_storage_bucket_iam_member") if g["member"] == member}
            billing = {
                g["role"] for g in resources(stack, "google_billing_account_iam_member") if g["member"] == member
            }
            assert project == {g.role for g in identity.grants if g.scope == PROJECT}, (name, member)
            assert bucket == {g.role for g in identity.grants if g.scope == STATE_BUCKET}, (name, member)
            # on the billing account only when the bootstrap file names one (mini has no budget)
            wanted = {g.role for g in identity.grants if g.scope == BILLING_ACCOUNT}
            assert billing == (wanted if name != "bootstrap-mini" else set()), (name, member)
            for grant in identity.grants:
                if grant.permissions is not None:  # a custom role: synthesized with exactly its permissions
                    (body,) = [b for b in custom.values() if b["role_id"] == grant.role]
                    assert sorted(body["permissions"]) == sorted(grant.permissions), name


def test_bootstrap_roles_suffice_to_apply_every_bootstrap_stack(bootstrap_stacks, model, roles):
    from gkeml.iam.identities import bootstrap_person
    from gkeml.iam.model import missing

    for name, stack in bootstrap_stacks.items():
        problems = missing(bootstrap_person(), needs_of(model, stack, name), roles)
        assert not problems, "\n".join(problems)


# --- the data --------------------------------------------------------------------------


def test_every_entry_has_a_source_and_says_whether_it_was_verified(model):
    sections = (
        "resources",
        "data",
        "ephemeral",
        "providers",
        "backends",
        "kubernetes_operations",
        "kubernetes_kinds",
        "helm_charts",
        "helm_storage",
    )
    for section in sections:
        for key, entry in model.data[section].items():
            assert entry.get("source"), f"{section}.{key}: no source"
            assert isinstance(entry.get("verified"), bool), f"{section}.{key}: verified must be true or false"
    for source in model.data["sources"].values():
        assert source.get("url") or (source.get("repository") and source.get("commit") and source.get("date"))


def test_every_permission_the_model_names_exists_in_a_snapshotted_role(model, roles):
    """A typo in resources.json would make a need no role can ever meet."""
    known = set().union(*roles.roles.values())
    unknown = {p: sorted(where) for p, where in model.named_permissions().items() if p not in known}
    assert not unknown, unknown


def test_every_chart_object_is_a_modelled_kind(model):
    for chart, entry in model.data["helm_charts"].items():
        assert set(entry["objects"]) <= set(model.data["kubernetes_kinds"]), chart


def test_every_granted_role_is_in_the_dated_snapshot(roles):
    from gkeml.iam.identities import bootstrap_person, deploy_identity, plan_identity
    from gkeml.iam.model import held

    assert roles.source["repository"].startswith("https://github.com/")
    assert len(roles.source["commit"]) == 40 and roles.source["date"]
    for identity in (deploy_identity(), plan_identity(), bootstrap_person()):
        assert held(identity, roles)  # a role missing from the snapshot raises ModelError naming it


@pytest.mark.parametrize(
    ("permission", "read"),
    [
        ("compute.firewalls.get", True),
        ("resourcemanager.projects.getIamPolicy", True),
        ("container.deployments.getStatus", True),
        ("compute.firewalls.listEffectiveTags", True),
        ("secretmanager.versions.access", True),
        ("container.tokenReviews.create", True),
        ("compute.firewalls.create", False),
        ("resourcemanager.projects.setIamPolicy", False),
        ("container.pods.exec", False),
        ("iam.serviceAccounts.actAs", False),
        ("container.secrets.update", False),
    ],
)
def test_read_and_write_permissions(model, permission, read):
    assert model.is_read(permission) is read


def test_permissions_doc_tables_are_current():
    from gkeml.iam.report import render, replace_generated

    doc = (ROOT / "docs" / "permissions.md").read_text()
    assert replace_generated(doc, render()) == doc, "run: python -m gkeml.iam.report --write docs/permissions.md"


# --- small stacks: what a gap looks like -------------------------------------------------


def stack(resource: dict | None = None, provider: dict | None = None, **sections) -> dict:
    """A minimal synthesized stack."""
    return {"resource": resource or {}, "provider": provider or {}, **sections}


def test_an_unknown_resource_type_says_what_to_add(model):
    from gkeml.iam.model import ModelError

    with pytest.raises(ModelError) as err:
        model.needs(stack({"google_foo_bar": {"x": {}, "y": {}}, "google_compute_network": {"n": {}}}), "dev")
    assert err.value.problems == [
        "google_foo_bar (in dev: google_foo_bar.x): no entry in gkeml/iam/resources.json; "
        "add its create/update/delete/read permissions with a source"
    ]


def test_unknown_kinds_charts_data_sources_and_backends_say_what_to_add(model):
    from gkeml.iam.model import ModelError

    manifest = {"manifest": {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}}
    with pytest.raises(ModelError) as err:
        model.needs(
            stack(
                {"kubernetes_manifest": {"w": manifest}, "helm_release": {"r": {"chart": "mystery"}}},
                data={"google_foo": {"d": {}}},
                terraform={"backend": {"s3": {}}},
            ),
            "dev-k8s",
        )
    text = str(err.value)
    assert (
        "kubernetes_manifest kind example.com/Widget (in dev-k8s: kubernetes_manifest.w): no entry in "
        'gkeml/iam/resources.json "kubernetes_kinds"; add the GKE IAM resource(s)'
    ) in text
    assert "container.thirdPartyObjects for a custom resource" in text
    assert 'helm chart mystery (in dev-k8s: helm_release.r): no entry in gkeml/iam/resources.json "helm_charts"' in text
    assert 'data.google_foo (in dev-k8s: data.google_foo.d): no entry in gkeml/iam/resources.json "data"' in text
    assert "backend s3 (in dev-k8s: terraform.backend.s3): no entry" in text


def test_a_role_that_lacks_a_permission_is_reported_with_the_permission_and_the_address(model, roles):
    from gkeml.iam.model import Grant, Identity, missing

    needs = model.needs(stack({"google_compute_firewall": {"deny-all": {}}}), "dev")
    identity = Identity("deploy", (Grant("roles/compute.networkAdmin", "project"),))
    assert (
        "the deploy identity lacks compute.firewalls.create on the project, needed by "
        "dev: google_compute_firewall.deny-all (apply)"
    ) in missing(identity, needs, roles)
    # reads and compute.networks.updatePolicy are there; only the firewall writes are not
    assert {line.split()[4] for line in missing(identity, needs, roles)} == {
        "compute.firewalls.create",
        "compute.firewalls.update",
        "compute.firewalls.delete",
    }


def test_a_role_missing_from_the_snapshot_is_an_error_naming_it(model, roles):
    from gkeml.iam.model import Grant, Identity, ModelError, missing

    identity = Identity("deploy", (Grant("roles/compute.instanceAdmin.v1", "project"),))
    with pytest.raises(
        ModelError,
        match=r"^roles/compute.instanceAdmin.v1 \(granted to the deploy identity\): "
        r"not in the role snapshot gkeml/iam/roles.json",
    ):
        missing(identity, model.needs(stack({"google_compute_network": {"n": {}}}), "dev"), roles)


def test_billing_budgets_need_roles_on_the_billing_account_not_the_project(model, roles):
    from gkeml.iam.model import Grant, Identity, missing

    needs = model.needs(stack({"google_billing_budget": {"b": {}}}), "dev")
    on_project = Identity("deploy", (Grant("roles/billing.costsManager", "project"),))
    assert (
        "the deploy identity lacks billing.budgets.create on the billing account, needed by "
        "dev: google_billing_budget.b (apply)" in missing(on_project, needs, roles)
    )
    on_account = Identity("deploy", (Grant("roles/billing.costsManager", "billing_account"),))
    assert missing(on_account, needs, roles) == []


HELM_PROVIDER = {"kubernetes": {"host": "https://example"}}
LAUNCH_AGENT = {"chart": "launch-agent", "namespace": "research", "wait": True}
API_KEY_SECRET = {"metadata": {"name": "k", "namespace": "research"}}


@pytest.mark.parametrize(
    ("driver", "with_secret", "needs_secret_reads"),
    [
        (None, False, True),  # Helm's default storage: Secrets
        ("configmap", True, True),  # kubernetes_secret_v1 is refreshed
        ("configmap", False, False),  # neither: what gkeml emits
    ],
)
def test_plan_reads_kubernetes_secrets_only_for_secret_storage_or_kubernetes_secrets(
    model, roles, driver, with_secret, needs_secret_reads
):
    """Why gkeml sets helm_driver configmap and manages no Kubernetes Secret: either would make a plan
    read Secrets, which the plan identity must not be able to do."""
    from gkeml.iam.identities import plan_identity
    from gkeml.iam.model import PLAN, missing

    provider = {**HELM_PROVIDER, **({"helm_driver": driver} if driver else {})}
    resource = {"helm_release": {"agent": LAUNCH_AGENT}}
    if with_secret:
        resource["kubernetes_secret_v1"] = {"key": API_KEY_SECRET}
    needs = model.needs(stack(resource, {"helm": [provider], "kubernetes": [HELM_PROVIDER]}), "dev-k8s")
    plan_reads = {n.permission for n in needs if n.phase == PLAN}
    assert ("container.secrets.get" in plan_reads) is needs_secret_reads
    assert ("container.configMaps.list" in plan_reads) is (driver == "configmap")
    lacking = missing(plan_identity(), needs, roles, phases=(PLAN,))
    assert bool(lacking) is needs_secret_reads
    assert all("container.secrets" in line for line in lacking)


def test_helm_release_applies_every_object_kind_of_its_chart_with_rbac_escalation(model):
    from gkeml.iam.model import APPLY

    needs = model.needs(stack({"helm_release": {"agent": LAUNCH_AGENT}}, {"helm": [HELM_PROVIDER]}), "dev-k8s")
    applied = {n.permission for n in needs if n.phase == APPLY}
    assert {
        "container.deployments.create",
        "container.clusterRoles.create",
        "container.clusterRoles.escalate",
        "container.roleBindings.create",
        "container.clusterRoles.bind",
        "container.secrets.create",
        "container.replicaSets.list",
    } <= applied


PLANNED_TYPES = (
    "google_artifact_registry_repository",
    "google_artifact_registry_repository_iam_member",
    "google_dns_managed_zone",
    "google_dns_record_set",
    "google_billing_budget",
    "google_monitoring_alert_policy",
    "google_monitoring_notification_channel",
    "google_monitoring_dashboard",
    "google_pubsub_topic",
    "google_pubsub_topic_iam_member",
    "google_binary_authorization_policy",
)
PLANNED_KINDS = (
    ("rbac.authorization.k8s.io/v1", "ClusterRole"),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
    ("rbac.authorization.k8s.io/v1", "Role"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"),
    ("apiregistration.k8s.io/v1", "APIService"),
    ("v1", "ConfigMap"),
    ("kueue.x-k8s.io/v1beta1", "ClusterQueue"),
    ("kueue.x-k8s.io/v1beta1", "LocalQueue"),
    ("kueue.x-k8s.io/v1beta1", "ResourceFlavor"),
    ("kueue.x-k8s.io/v1beta1", "Cohort"),
    ("secrets-store.csi.x-k8s.io/v1", "SecretProviderClass"),
    ("secret-sync.gke.io/v1", "SecretSync"),
)


def test_planned_types_are_modelled_and_the_candidate_roles_cover_them(model, roles):
    """The data is ready for what comes next: the candidate roles of the snapshot (its 'why' says
    'deploy candidate' / 'plan candidate', billing ones on the billing account) cover every planned
    type, kind and the Kueue chart."""
    from gkeml.iam.identities import deploy_identity, plan_identity
    from gkeml.iam.model import BILLING_ACCOUNT, PLAN, PROJECT, Grant, Identity, missing

    manifests = {f"k{i}": {"manifest": {"apiVersion": v, "kind": k}} for i, (v, k) in enumerate(PLANNED_KINDS)}
    planned = stack(
        {
            **{t: {"x": {}} for t in PLANNED_TYPES},
            "kubernetes_manifest": manifests,
            "helm_release": {"kueue": {"chart": "kueue"}},
        },
        {"helm": [{"helm_driver": "configmap"}]},
        data={"google_project": {"p": {}}},
    )
    needs = model.needs(planned, "next")

    def with_candidates(identity, kind):
        whys = json.loads((ROOT / "gkeml" / "iam" / "roles.json").read_text())["roles"]
        extra = tuple(
            Grant(role, BILLING_ACCOUNT if "BILLING ACCOUNT" in r["why"] else PROJECT)
            for role, r in whys.items()
            if r["why"].startswith(f"{kind} candidate")
        )
        assert extra
        return Identity(identity.name, identity.grants + extra)

    assert missing(with_candidates(deploy_identity(), "deploy"), needs, roles) == []
    assert missing(with_candidates(plan_identity(), "plan"), needs, roles, phases=(PLAN,)) == []


# --- provider-level calls: what every call of a provider configuration needs --------------------

BILLING_PROVIDER = {"alias": "billing", "project": "p", "billing_project": "p", "user_project_override": True}
DEFAULT_PROVIDER = {"project": "p", "region": "us-central1"}
BUDGET = {"provider": "google.billing", "billing_account": "0A1B2C-3D4E5F-6A7B8C"}


def test_user_project_override_makes_every_call_of_that_provider_need_service_usage_use(model):
    """The audit's N2: the budget's provider alias sends X-Goog-User-Project on every call, the refresh
    of every plan included; resources of the default provider block are not affected."""
    from gkeml.iam.model import PLAN

    needs = model.needs(
        stack(
            {"google_billing_budget": {"b": BUDGET}, "google_pubsub_topic": {"t": {"name": "t"}}},
            {"google": [DEFAULT_PROVIDER, BILLING_PROVIDER]},
            data={"google_project": {"d": {"provider": "google.billing"}}},
        ),
        "dev",
    )
    used = {(n.address, n.phase, n.scope) for n in needs if n.permission == "serviceusage.services.use"}
    assert used == {
        ("dev: google_billing_budget.b (via user_project_override)", PLAN, "project"),
        ("dev: data.google_project.d (via user_project_override)", PLAN, "project"),
    }


def test_the_plan_identity_can_refresh_a_budget_behind_user_project_override(model, roles):
    """serviceUsageViewer reads which APIs are on but cannot name the project as quota project: every
    plan after the first deploy failed with 403 on the budget. serviceUsageConsumer adds exactly
    serviceusage.services.use, which changes nothing."""
    from gkeml.iam.identities import plan_identity
    from gkeml.iam.model import PLAN, Grant, Identity, missing

    needs = model.needs(
        stack({"google_billing_budget": {"b": BUDGET}}, {"google": [DEFAULT_PROVIDER, BILLING_PROVIDER]}), "dev"
    )
    viewer = Identity(
        "plan",
        (Grant("roles/serviceusage.serviceUsageViewer", "project"), Grant("roles/billing.viewer", "billing_account")),
    )
    assert missing(viewer, needs, roles, phases=(PLAN,)) == [
        "the plan identity lacks serviceusage.services.use on the project, needed by "
        "dev: google_billing_budget.b (via user_project_override) (plan)"
    ]
    assert missing(plan_identity(), needs, roles, phases=(PLAN,)) == []
    consumer = roles.roles["roles/serviceusage.serviceUsageConsumer"]
    assert consumer - roles.roles["roles/serviceusage.serviceUsageViewer"] == {"serviceusage.services.use"}


def test_a_quota_project_other_than_the_stacks_is_a_model_error(model):
    from gkeml.iam.model import ModelError

    elsewhere = {**BILLING_PROVIDER, "billing_project": "central-billing"}
    with pytest.raises(ModelError, match=r"quota project 'central-billing', not the stack's project 'p'"):
        model.needs(stack({"google_billing_budget": {"b": BUDGET}}, {"google": [DEFAULT_PROVIDER, elsewhere]}), "dev")


def test_the_real_budget_is_refreshed_with_service_usage_use(stacks, all_needs):
    """On today's output: every stack with a budget behind user_project_override needs the permission
    at plan, named by the budget's address."""
    budgets = [name for name, s in stacks.items() if resources(s, "google_billing_budget")]
    assert budgets
    for name in budgets:
        assert any(
            n.permission == "serviceusage.services.use" and n.address.startswith(f"{name}: google_billing_budget.")
            for n in all_needs
        ), name


def test_every_type_in_state_is_refreshed_with_modelled_reads(stacks, model):
    """Every resource and data source a plan refreshes has read permissions in the model, or says why
    its refresh calls no API (``no_read``)."""
    for name, s in stacks.items():
        for section in ("resource", "data"):
            entries = model.data["resources" if section == "resource" else "data"]
            for rtype in s.get(section, {}):
                entry = entries.get(rtype)
                if entry is None:  # Kubernetes objects and Helm releases: their own tables
                    continue
                assert entry["read"] or entry.get("no_read"), f"{name}: {section} {rtype} has no read permissions"


# --- the deploy identity's custom roles ----------------------------------------------------------


def test_deploy_custom_roles_come_from_the_snapshot_and_read_no_data(roles):
    """Each custom role is a subset of the snapshotted predefined role it replaces, and leaves out what
    that role reads of the data it administers (the audit's N5: secretmanager.admin read secret values)."""
    from gkeml.iam.identities import DEPLOY_CUSTOM_ROLES, DEPLOY_ROLES

    data_reads = {
        "secretmanager.versions.access",
        "storage.objects.get",
        "artifactregistry.repositories.downloadArtifacts",
        "pubsub.subscriptions.consume",
    }
    assert {r.instead_of for r in DEPLOY_CUSTOM_ROLES} >= {"roles/secretmanager.admin", "roles/storage.admin"}
    for role in DEPLOY_CUSTOM_ROLES:
        assert set(role.permissions) <= roles.roles[role.instead_of], role.role_id
        assert data_reads & roles.roles[role.instead_of], role.instead_of  # what it replaces did read
        assert not data_reads & set(role.permissions), role.role_id
        assert role.instead_of not in DEPLOY_ROLES
    held = set().union(*(roles.permissions(g) for g in deploy_grants()))
    assert not data_reads & held


def deploy_grants():
    from gkeml.iam.identities import deploy_identity

    return [g for g in deploy_identity().grants if g.scope == "project"]


def test_force_destroy_buckets_need_object_deletes_and_the_deploy_role_has_them(model, roles):
    """dev's buckets are force_destroy: the provider empties them on destroy (objects.list, objects.delete);
    the deploy identity's bucket role must keep them although it reads no object."""
    from gkeml.iam.identities import deploy_identity
    from gkeml.iam.model import APPLY, Grant, Identity, missing

    kept = model.needs(stack({"google_storage_bucket": {"b": {"force_destroy": False}}}), "dev")
    emptied = model.needs(stack({"google_storage_bucket": {"b": {"force_destroy": True}}}), "dev")
    assert "storage.objects.delete" not in {n.permission for n in kept}
    assert ("storage.objects.delete", APPLY) in {(n.permission, n.phase) for n in emptied}
    assert missing(deploy_identity(), emptied, roles) == []
    buckets_only = Identity("deploy", (Grant("roles/storage.bucketViewer", "project"),))
    assert any("storage.objects.delete" in line for line in missing(buckets_only, emptied, roles))


def test_the_deploy_bucket_role_leaves_out_a_state_bucket_of_the_project(bootstrap_stacks, boots):
    """Where the state bucket lives in the environment's project (live, mini), the deploy identity's
    bucket role is conditioned off it: only its bucket-level grant on the state objects reaches it.
    A state bucket in a project of its own (lab, stage) is out of the role's reach anyway."""

    conditioned = []
    for name, stack in bootstrap_stacks.items():
        boot = boots[name.removeprefix("bootstrap-")]
        ref = "${google_project_iam_custom_role.deploy-gkemlDeployBuckets.name}"
        (grant,) = [g for g in resources(stack, "google_project_iam_member") if g["role"] == ref]
        assert grant["member"] == DEPLOY_MEMBER
        if boot.state_project == boot.project.id:
            bucket = boot.state.bucket
            assert grant["condition"]["expression"] == (
                f"resource.name != 'projects/_/buckets/{bucket}' && "
                f"!resource.name.startsWith('projects/_/buckets/{bucket}/')"
            ), name
            conditioned.append(name)
        else:
            assert "condition" not in grant, name
    assert conditioned  # the fixtures have both layouts
