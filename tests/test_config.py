"""Config errors: one test per class of mistake, asserting file, line, field and message."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import ENV_NAMES, ENVIRONMENTS, MINIMAL, ROOT
from gkeml.config import ConfigError
from gkeml.environments import load_environment, load_environments
from gkeml.config.schema import environment_schema

DEV = (ENVIRONMENTS / "lab.yaml").read_text()


def error_for(tmp_path: Path, old: str, new: str, name: str = "lab") -> str:
    """Write lab.yaml with one edit; return the error (one line per problem, each 'file:line: ...')."""
    assert old in DEV, old
    path = tmp_path / f"{name}.yaml"
    path.write_text(DEV.replace(old, new, 1))
    with pytest.raises(ConfigError) as info:
        load_environment(path)
    message = str(info.value)
    assert all(re.match(rf"{re.escape(str(path))}:\d+: ", line) for line in message.splitlines()), message
    return message


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_default_environments_load(environments):
    assert set(environments) == {p.stem for p in ENVIRONMENTS.glob("*.yaml")}


def test_unknown_key_names_file_line_and_allowed_keys(tmp_path):
    msg = error_for(tmp_path, "  region: us-central1\n", "  region: us-central1\n  zone: us-central1-a\n")
    line = line_of(DEV, "region: us-central1") + 1
    assert msg == (f"{tmp_path}/lab.yaml:{line}: project.zone: unknown key 'zone'; "
                   "allowed: id, number, region, labels")


def test_wrong_type_is_not_coerced(tmp_path):
    msg = error_for(tmp_path, "public_endpoint: true", "public_endpoint: \"yes\"")
    assert re.fullmatch(rf".*/lab\.yaml:{line_of(DEV, 'public_endpoint')}: cluster\.public_endpoint: "
                        r"Input should be a valid boolean \(got 'yes'\)", msg)


def test_wrong_type_in_a_list_item(tmp_path):
    msg = error_for(tmp_path, "gpus: 8}", "gpus: eight}")
    assert f"lab.yaml:{line_of(DEV, 'gpus: 8}')}: teams[0].quota.gpus: Input should be a valid integer" in msg


def test_bad_cidr(tmp_path):
    msg = error_for(tmp_path, "pods_cidr: 10.16.0.0/14", "pods_cidr: 10.16.0.0/33")
    assert f"lab.yaml:{line_of(DEV, 'pods_cidr')}: network.pods_cidr: '10.16.0.0/33' is not an IPv4 network" in msg


def test_cidr_with_host_bits(tmp_path):
    msg = error_for(tmp_path, "subnet_cidr: 10.10.0.0/20", "subnet_cidr: 10.10.0.1/20")
    assert "network.subnet_cidr: '10.10.0.1/20' is not an IPv4 network" in msg
    assert "host bits set" in msg


def test_overlapping_ranges_point_at_the_second_range(tmp_path):
    msg = error_for(tmp_path, "services_cidr: 10.10.16.0/20", "services_cidr: 10.10.8.0/21")
    assert f"lab.yaml:{line_of(DEV, 'services_cidr')}: network.services_cidr: 10.10.8.0/21 overlaps subnet_cidr" in msg


def test_public_ranges_are_rejected(tmp_path):
    msg = error_for(tmp_path, "subnet_cidr: 10.10.0.0/20", "subnet_cidr: 8.8.0.0/20")
    assert "network.subnet_cidr: 8.8.0.0/20 is a public range; use RFC 1918 space" in msg


@pytest.mark.parametrize("cidr,why", [("0.0.0.0/20", "'this' network"), ("127.0.0.0/20", "loopback"),
                                      ("169.254.0.0/20", "link-local"), ("224.0.0.0/20", "multicast")])
def test_ranges_a_vpc_cannot_use_are_refused(tmp_path, cidr, why):
    msg = error_for(tmp_path, "subnet_cidr: 10.10.0.0/20", f"subnet_cidr: {cidr}")
    assert f"network.subnet_cidr: {cidr} overlaps" in msg and why in msg


def test_non_rfc1918_ranges_gke_accepts_are_allowed(environments):
    """The minimal fixture runs on 100.64.0.0/10 (RFC 6598), which GKE accepts."""
    assert str(environments[MINIMAL].network.subnet_cidr).startswith("100.64.")


def test_missing_project_number(tmp_path):
    msg = error_for(tmp_path, '  number: "200000000101"\n', "")
    assert msg.endswith(f"lab.yaml:{line_of(DEV, 'project:')}: project.number: required; add it")


def test_project_number_must_be_digits(tmp_path):
    msg = error_for(tmp_path, 'number: "200000000101"', "number: fx-lab-ml")
    assert "project.number: 'fx-lab-ml' is not allowed" in msg


def test_invalid_bucket_name(tmp_path):
    msg = error_for(tmp_path, "  - name: datasets\n", "  - name: Data_Sets\n")
    assert (f"lab.yaml:{line_of(DEV, '- name: datasets')}: buckets[0].name: 'Data_Sets' is not allowed; use "
            "lowercase letters, digits and '-', starting with a letter, at most 30 characters") in msg


def test_bucket_name_with_google_is_rejected(tmp_path):
    msg = error_for(tmp_path, "  - name: artifacts\n", "  - name: google-artifacts\n")
    assert "buckets[2].name: bucket name 'fx-lab-ml-google-artifacts' is invalid" in msg


def test_invalid_kubernetes_service_account_name(tmp_path):
    msg = error_for(tmp_path, "  - name: chat\n    namespace: serving\n",
                    "  - name: chat\n    namespace: serving\n    service_account: Chat_SA\n")
    assert "identities[2].service_account: 'Chat_SA' is not allowed; use lowercase letters" in msg


def test_google_service_account_id_too_long(tmp_path):
    msg = error_for(tmp_path, "  - name: launch-agent\n", "  - name: launch-agent-for-research-q\n")
    assert ("identities[1].name: service account id 'lab-launch-agent-for-research-q' must be 6-30 chars" in msg)
    # the same run also reports the reference the rename broke
    assert "launch.identity: unknown identity 'launch-agent'" in msg


def test_unknown_reference(tmp_path):
    msg = error_for(tmp_path, "reads: [datasets]", "reads: [datasetz]")
    assert (f"lab.yaml:{line_of(DEV, 'reads: [datasets]')}: identities[0].reads[0]: unknown bucket 'datasetz' "
            "(did you mean 'datasets'?); defined: datasets, checkpoints, artifacts") in msg


def test_project_wide_storage_role_is_refused(tmp_path):
    msg = error_for(tmp_path, "roles: [roles/logging.logWriter,", "roles: [roles/storage.admin,")
    assert "identities[0].roles[0]: roles/storage.admin would apply to every resource of that kind" in msg


def test_primitive_role_is_refused(tmp_path):
    msg = error_for(tmp_path, "roles: [roles/logging.logWriter,", "roles: [roles/editor,")
    assert "roles/editor is a primitive role" in msg


def test_disallowed_gpu_count_points_at_the_field(tmp_path):
    msg = error_for(tmp_path, "    compute_class: l4-spot-first", "    gpu: nvidia-l4\n    gpu_count: 3\n    spot: true\n#")
    assert "inference[0].gpu_count: 3 is not allowed for nvidia-l4; allowed: 1, 2, 4, 8" in msg


def test_prod_rules_are_enforced(tmp_path):
    prod = (ENVIRONMENTS / "live.yaml").read_text().replace("cluster:\n", "cluster:\n  release_channel: RAPID\n", 1)
    (tmp_path / "prod.yaml").write_text(prod)
    with pytest.raises(ConfigError) as info:
        load_environment(tmp_path / "prod.yaml")
    assert f"prod.yaml:{line_of(prod, 'RAPID')}: cluster.release_channel: RAPID is not allowed in prod" in str(info.value)


def test_name_must_match_the_file(tmp_path):
    msg = error_for(tmp_path, "name: lab\n", "name: lab\n", name="develop")
    assert f"develop.yaml:{line_of(DEV, 'name: lab')}: name: 'lab' must equal the file name 'develop'" in msg


def test_invalid_yaml_reports_the_line(tmp_path):
    msg = error_for(tmp_path, "network:\n", "network: [\n")
    assert "invalid YAML" in msg and "lab.yaml:" in msg


def test_all_files_are_checked_and_every_problem_reported(tmp_path):
    (tmp_path / "a.yaml").write_text(DEV.replace("name: dev", "name: a").replace("purpose: checkpoints", "purpose: x"))
    (tmp_path / "b.yaml").write_text(DEV.replace("name: dev", "name: b").replace("hours: 4", "hours: 2"))
    with pytest.raises(ConfigError) as info:
        load_environments(tmp_path)
    lines = str(info.value).splitlines()
    assert any("a.yaml" in x and "buckets[1].purpose" in x for x in lines)
    assert any("b.yaml" in x and "cluster.maintenance.hours" in x for x in lines)


def test_tier_defaults(environments):
    dev, staging, prod = (environments[n] for n in ENV_NAMES)
    assert (dev.cluster.deletion_protection, staging.cluster.deletion_protection, prod.cluster.deletion_protection) \
        == (False, True, True)
    assert prod.cluster.release_channel == "STABLE" and not prod.cluster.public_endpoint
    assert all(b.force_destroy is False for b in prod.buckets)


def test_committed_json_schema_is_current_and_accepts_the_defaults():
    jsonschema = pytest.importorskip("jsonschema")
    import yaml

    committed = json.loads((ROOT / "schema" / "environment.schema.json").read_text())
    assert committed == json.loads(json.dumps(environment_schema())), "run `make schema`"
    for name in (p.stem for p in ENVIRONMENTS.glob("*.yaml")):
        jsonschema.validate(yaml.safe_load((ENVIRONMENTS / f"{name}.yaml").read_text()), committed)
    bad = yaml.safe_load(DEV) | {"colour": "blue"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, committed)


def test_committed_config_reference_is_current():
    from gkeml.config.reference import reference

    assert (ROOT / "docs" / "config-reference.md").read_text() == reference() + "\n", \
        "run `python -m gkeml.config.reference > docs/config-reference.md`"


def test_environment_name_too_long_for_the_node_service_account(tmp_path):
    name = "development-environment-x"
    msg = error_for(tmp_path, "name: lab\n", f"name: {name}\n", name=name)
    assert (f"{name}.yaml:{line_of(DEV, 'name: lab')}: name: node service account id '{name}-gke-nodes' is longer than 30 characters; "
            "use an environment name of at most 20") in msg
