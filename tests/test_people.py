"""People, not only CI: a team's members and groups get a RoleBinding in the team's namespace (Kubernetes'
ClusterRole view or edit) and roles/container.clusterViewer on the project (credentials and the DNS
endpoint, nothing inside the cluster); groups need Google Groups for RBAC on the cluster. The bindings
are read from the session's real synth and the in-cluster plan of the fixture environments (stage has
members, live has groups and a member, lab and mini have nobody)."""

from __future__ import annotations

import re
from pathlib import Path

import kubernetes_validate
import pytest
from conftest import BOOTSTRAP, ENVIRONMENTS, resources

from gkeml.config import ConfigError
from gkeml.environments import load_environment

K8S_VERSION = "1.33"
CLUSTER_VIEWER = "roles/container.clusterViewer"
STAGE = (ENVIRONMENTS / "stage.yaml").read_text()
LIVE = (ENVIRONMENTS / "live.yaml").read_text()


def bindings(environments, env: str) -> dict[tuple[str, str], dict]:
    """The people's RoleBindings of ``env``'s in-cluster plan, by (namespace, name)."""
    from gkeml.manifests.workloads import in_cluster_objects

    return {
        (o["metadata"]["namespace"], o["metadata"]["name"]): o
        for o in in_cluster_objects(environments[env])
        if o["kind"] == "RoleBinding" and o["metadata"]["name"].startswith("team-")
    }


def subjects(binding: dict) -> list[tuple[str, str]]:
    return [(s["kind"], s["name"]) for s in binding["subjects"]]


def test_members_and_groups_are_bound_to_view_or_edit_in_their_namespace_only(environments):
    stage = bindings(environments, "stage")
    assert set(stage) == {("research", "team-edit"), ("research", "team-view"), ("serving", "team-view")}
    assert subjects(stage["research", "team-edit"]) == [("User", "ada@fx.example")]
    assert subjects(stage["research", "team-view"]) == [("User", "grace@fx.example")]
    assert subjects(stage["serving", "team-view"]) == [("User", "ada@fx.example")]
    for binding in stage.values():  # a RoleBinding: the ClusterRole's rules in that namespace only
        role = binding["metadata"]["name"].removeprefix("team-")
        assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role}
    live = bindings(environments, "live")
    assert subjects(live["research", "team-edit"]) == [("Group", "ml-research@fx.example")]
    assert subjects(live["research", "team-view"]) == [("Group", "ml-leads@fx.example")]
    assert subjects(live["serving", "team-edit"]) == [("User", "linus@fx.example")]
    assert subjects(live["serving", "team-view"]) == [("Group", "ml-serving-oncall@fx.example")]
    assert bindings(environments, "lab") == {} and bindings(environments, "mini") == {}


def test_the_bindings_pass_kubernetes_validate_strict(environments):
    found = [b for env in ("stage", "live") for b in bindings(environments, env).values()]
    assert len(found) == 7
    for binding in found:
        kubernetes_validate.validate(binding, K8S_VERSION, strict=True)


def test_the_bindings_are_applied_in_the_namespace_after_it(stacks):
    manifests = {
        (m["manifest"]["metadata"].get("namespace"), m["manifest"]["metadata"]["name"]): m
        for m in resources(stacks["stage-k8s"], "kubernetes_manifest")
        if m["manifest"]["kind"] == "RoleBinding"
    }
    edit = manifests["research", "team-edit"]
    assert edit["manifest"]["subjects"] == [
        {"kind": "User", "name": "ada@fx.example", "apiGroup": "rbac.authorization.k8s.io"}
    ]
    assert any("namespace-research" in d for d in edit["depends_on"]), edit["depends_on"]


def test_each_person_and_group_gets_cluster_viewer_once_and_nothing_else(stacks):
    def grants(stack: str) -> list[tuple[str, str]]:
        return sorted(
            (g["member"], g["role"])
            for g in resources(stacks[stack], "google_project_iam_member")
            if g["member"].startswith(("user:", "group:"))
        )

    # ada is in two teams of stage: one binding, which removing her from one team leaves in place
    assert grants("stage") == [("user:ada@fx.example", CLUSTER_VIEWER), ("user:grace@fx.example", CLUSTER_VIEWER)]
    assert grants("live") == [
        ("group:ml-leads@fx.example", CLUSTER_VIEWER),
        ("group:ml-research@fx.example", CLUSTER_VIEWER),
        ("group:ml-serving-oncall@fx.example", CLUSTER_VIEWER),
        ("user:linus@fx.example", CLUSTER_VIEWER),
    ]
    assert grants("lab") == [] and grants("mini") == []


def test_groups_turn_on_google_groups_for_rbac_on_the_cluster(stacks):
    (live,) = resources(stacks["live"], "google_container_cluster")
    assert live["authenticator_groups_config"] == {"security_group": "gke-security-groups@fx.example"}
    (stage,) = resources(stacks["stage"], "google_container_cluster")
    assert "authenticator_groups_config" not in stage  # members only: no group to resolve


def test_checkov_skips_google_groups_for_rbac_only_on_clusters_without_it(stacks):
    from gkeml.checkov import SKIPS

    (skip,) = [s for s in SKIPS if s.check == "CKV_GCP_65"]
    (live,) = resources(stacks["live"], "google_container_cluster")
    (stage,) = resources(stacks["stage"], "google_container_cluster")
    assert skip.applies(stage) and not skip.applies(live)


def error_for(tmp_path: Path, text: str, old: str, new: str, name: str) -> list[str]:
    assert old in text, old
    path = tmp_path / f"{name}.yaml"
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(ConfigError) as info:
        load_environment(path)
    lines = str(info.value).splitlines()
    assert all(re.match(rf"{re.escape(str(path))}:\d+: ", line) for line in lines), lines
    return lines


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_a_group_without_google_groups_for_rbac_is_refused_with_the_fix(tmp_path):
    text = LIVE.replace("  rbac_security_group: gke-security-groups@fx.example\n", "")
    (path := tmp_path / "live.yaml").write_text(text)
    with pytest.raises(ConfigError) as info:
        load_environment(path)
    lines = str(info.value).splitlines()
    assert len(lines) == 3  # one per group
    assert lines[0] == (
        f"{path}:{line_of(text, 'ml-research@')}: teams[0].groups[0].email: a group needs Google Groups for RBAC "
        "on the cluster: set cluster.rbac_security_group to gke-security-groups@YOUR-DOMAIN and make this group a "
        "member of it (or list the people under members)"
    )


@pytest.mark.parametrize(
    ("old", "new", "field", "fragment"),
    [
        ("ada@fx.example, role: edit", "Ada@fx.example, role: edit", "teams[0].members[0].email", "lowercase email"),
        ("ada@fx.example, role: edit", "ada, role: edit", "teams[0].members[0].email", "lowercase email"),
        ("ada@fx.example, role: edit", "ada@fx.example, role: admin", "teams[0].members[0].role", "'view' or 'edit'"),
        (
            "grace@fx.example, role: view",
            "trainer@fx-stage-ml.iam.gserviceaccount.com, role: view",
            "teams[0].members[1].email",
            "is a service account, not a person",
        ),
        (
            "grace@fx.example, role: view",
            "ada@fx.example, role: view",
            "teams[0].members[1].email",
            "ada@fx.example is also listed at teams[0].members[0].email; list it once",
        ),
    ],
)
def test_people_mistakes_name_file_line_and_field(tmp_path, old, new, field, fragment):
    (line,) = error_for(tmp_path, STAGE, old, new, "stage")
    assert f":{line_of(STAGE, old)}: {field}: " in line and fragment in line, line


def test_the_security_group_must_be_gke_security_groups(tmp_path):
    old = "rbac_security_group: gke-security-groups@fx.example"
    (line,) = error_for(tmp_path, LIVE, old, "rbac_security_group: ml-research@fx.example", "live")
    assert f":{line_of(LIVE, old)}: cluster.rbac_security_group: 'ml-research@fx.example' is not allowed; use " in line
    assert "gke-security-groups@ followed by your Google Workspace or Cloud Identity domain" in line
    (line,) = error_for(
        tmp_path, LIVE, "ml-leads@fx.example", "gke-security-groups@fx.example", "live"
    )  # the container group itself is not a team's group
    assert "teams[0].groups[1].email: gke-security-groups@fx.example is the cluster's rbac_security_group" in line


def test_the_bootstrap_gate_asks_for_cluster_viewer(tmp_path, capsys):
    from gkeml.synth import run

    (tmp_path / "environments").mkdir()
    (tmp_path / "environments" / "stage.yaml").write_text(STAGE)
    (tmp_path / "bootstrap").mkdir()
    boot = (BOOTSTRAP / "stage.yaml").read_text()
    people_line = "    - roles/container.clusterViewer   # teams[].members get it\n"
    assert people_line in boot
    (tmp_path / "bootstrap" / "stage.yaml").write_text(boot.replace(people_line, ""))
    assert run(str(tmp_path / "environments"), str(tmp_path / "out"), "CDKTF_OUTDIR", quiet=True) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert "ci.grantable_roles: missing roles/container.clusterViewer (granted by the stacks of " in line
    assert not (tmp_path / "out").exists()


def test_cluster_viewer_is_grantable_and_reaches_nothing_inside_the_cluster():
    from gkeml.config.roles import CI_GRANTABLE_ROLES, ESCALATION
    from gkeml.iam.identities import team_member
    from gkeml.iam.model import held, load_model, load_roles, writes

    roles, model = load_roles(), load_model()
    person = team_member()
    assert [g.role for g in person.grants] == [CLUSTER_VIEWER]
    assert CLUSTER_VIEWER in CI_GRANTABLE_ROLES and CLUSTER_VIEWER not in ESCALATION
    permissions = {p for _, p in held(person, roles)}
    # get-credentials reads the cluster; kubectl reaches it through the DNS endpoint
    assert {"container.clusters.get", "container.clusters.connect"} <= permissions
    # no Kubernetes object: the namespace's RoleBinding alone decides what a person may do in the cluster
    assert not [p for p in permissions if p.startswith("container.") and not p.startswith("container.clusters.")]
    assert writes(person, roles, model) == []


def test_the_permission_report_lists_the_people(tmp_path):
    from gkeml.iam.report import render

    assert f"| team member | `{CLUSTER_VIEWER}` (Kubernetes Engine Cluster Viewer) | the project |" in render()
