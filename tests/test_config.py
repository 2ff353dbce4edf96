"""Config errors: one test per class of mistake, asserting file, line, field and message."""

from __future__ import annotations

import json
import re

import pytest
from config_errors import DEV, error_for
from conftest import ENV_NAMES, ENVIRONMENTS, MINIMAL, ROOT
from hostile import line_of

from gkeml.config import ConfigError
from gkeml.config.schema import environment_schema
from gkeml.environments import load_environment, load_environments


def test_default_environments_load(environments):
    assert set(environments) == {p.stem for p in ENVIRONMENTS.glob("*.yaml")}


def test_unknown_key_names_file_line_and_allowed_keys(tmp_path):
    msg = error_for(tmp_path, "  region: us-central1\n", "  region: us-central1\n  zone: us-central1-a\n")
    line = line_of(DEV, "region: us-central1") + 1
    assert msg == (f"{tmp_path}/lab.yaml:{line}: project.zone: unknown key 'zone'; allowed: id, number, region, labels")


def test_wrong_type_is_not_coerced(tmp_path):
    msg = error_for(tmp_path, "public_endpoint: true", 'public_endpoint: "yes"')
    assert re.fullmatch(
        rf".*/lab\.yaml:{line_of(DEV, 'public_endpoint')}: cluster\.public_endpoint: "
        r"Input should be a valid boolean \(got 'yes'\)",
        msg,
    )


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


@pytest.mark.parametrize(
    "cidr,why",
    [
        ("0.0.0.0/20", "'this' network"),
        ("127.0.0.0/20", "loopback"),
        ("169.254.0.0/20", "link-local"),
        ("224.0.0.0/20", "multicast"),
    ],
)
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
    assert (
        f"lab.yaml:{line_of(DEV, '- name: datasets')}: buckets[0].name: 'Data_Sets' is not allowed; use "
        "lowercase letters, digits and '-', starting with a letter, at most 30 characters"
    ) in msg


def test_bucket_name_with_google_is_rejected(tmp_path):
    msg = error_for(tmp_path, "  - name: artifacts\n", "  - name: google-artifacts\n")
    assert "buckets[2].name: bucket name 'fx-lab-ml-google-artifacts' is invalid" in msg


def test_invalid_kubernetes_service_account_name(tmp_path):
    msg = error_for(
        tmp_path,
        "  - name: chat\n    namespace: serving\n",
        "  - name: chat\n    namespace: serving\n    service_account: Chat_SA\n",
    )
    assert "identities[2].service_account: 'Chat_SA' is not allowed; use lowercase letters" in msg


def test_google_service_account_id_too_long(tmp_path):
    msg = error_for(tmp_path, "  - name: launch-agent\n", "  - name: launch-agent-for-research-q\n")
    assert "identities[1].name: service account id 'lab-launch-agent-for-research-q' must be 6-30 chars" in msg
    # the same run also reports the reference the rename broke
    assert "launch.identity: unknown identity 'launch-agent'" in msg


def test_unknown_reference(tmp_path):
    msg = error_for(tmp_path, "reads: [datasets]", "reads: [datasetz]")
    assert (
        f"lab.yaml:{line_of(DEV, 'reads: [datasets]')}: identities[0].reads[0]: unknown bucket 'datasetz' "
        "(did you mean 'datasets'?); defined: datasets, checkpoints, artifacts"
    ) in msg


def test_project_wide_storage_role_is_refused(tmp_path):
    msg = error_for(tmp_path, "roles: [roles/logging.logWriter,", "roles: [roles/storage.admin,")
    assert "identities[0].roles[0]: roles/storage.admin would apply to every resource of that kind" in msg


def test_primitive_role_is_refused(tmp_path):
    msg = error_for(tmp_path, "roles: [roles/logging.logWriter,", "roles: [roles/editor,")
    assert "roles/editor is a primitive role" in msg


def test_disallowed_gpu_count_points_at_the_field(tmp_path):
    msg = error_for(
        tmp_path, "    compute_class: l4-spot-first", "    gpu: nvidia-l4\n    gpu_count: 3\n    spot: true\n#"
    )
    assert "inference[0].gpu_count: 3 is not allowed for nvidia-l4; allowed: 1, 2, 4, 8" in msg


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("gpu", "'0'", "training[0].gpu: '0' is not an Autopilot GPU"),
        ("gpu_count", "3", "training[0].gpu_count: 3 is not allowed for nvidia-l4"),
    ],
)
def test_a_training_budget_names_a_gpu_autopilot_offers(tmp_path, field, value, expected):
    # found by the fuzz: the cost estimate (and the budget derived from it) priced an unknown GPU with a traceback
    old = "    gpu: nvidia-l4\n    gpu_count: 1\n    cpu"
    edited = old.replace(f"{field}: {'nvidia-l4' if field == 'gpu' else '1'}", f"{field}: {value}")
    msg = error_for(tmp_path, old, edited)
    text = DEV.replace(old, edited, 1)
    line = text[: text.index(edited)].count("\n") + 1 + (0 if field == "gpu" else 1)
    assert f"lab.yaml:{line}: {expected}" in msg


def test_a_name_holding_a_newline_keeps_every_problem_on_one_line(tmp_path):
    # found by a sweep: the "defined: ..." list of a reference error quoted the bad name raw
    msg = error_for(tmp_path, "  - name: datasets\n", '  - name: "data\\nsets"\n')  # error_for: one line each
    assert "unknown bucket 'datasets' (did you mean 'data\\nsets'?); defined: data\\nsets, checkpoints" in msg


def test_prod_rules_are_enforced(tmp_path):
    prod = (ENVIRONMENTS / "live.yaml").read_text().replace("cluster:\n", "cluster:\n  release_channel: RAPID\n", 1)
    (tmp_path / "prod.yaml").write_text(prod)
    with pytest.raises(ConfigError) as info:
        load_environment(tmp_path / "prod.yaml")
    assert f"prod.yaml:{line_of(prod, 'RAPID')}: cluster.release_channel: RAPID is not allowed in prod" in str(
        info.value
    )


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
    assert (dev.cluster.deletion_protection, staging.cluster.deletion_protection, prod.cluster.deletion_protection) == (
        False,
        True,
        True,
    )
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

    assert (ROOT / "docs" / "config-reference.md").read_text() == reference() + "\n", (
        "run `python -m gkeml.config.reference > docs/config-reference.md`"
    )


def test_environment_name_too_long_for_the_node_service_account(tmp_path):
    name = "development-environment-x"
    msg = error_for(tmp_path, "name: lab\n", f"name: {name}\n", name=name)
    assert (
        f"{name}.yaml:{line_of(DEV, 'name: lab')}: name: node service account id '{name}-gke-nodes' is longer than 30 characters; "
        "use an environment name of at most 20"
    ) in msg


# --- regions, zones and bucket locations, against platform's dated lists ----------------------

ZONES_OF_US_CENTRAL1 = "zones of us-central1 (as of {}): us-central1-a, us-central1-b, us-central1-c, us-central1-f"


@pytest.mark.parametrize(
    ("zone", "what"),
    [
        ("us-east1-b", "zone 'us-east1-b' is in region us-east1, not us-central1"),
        ("us-central1-e", "unknown zone 'us-central1-e'"),
        ("us-central1", "unknown zone 'us-central1'"),
    ],
)
def test_a_zone_outside_the_region_is_refused_with_the_regions_zones(tmp_path, zone, what):
    from gkeml import platform

    msg = error_for(
        tmp_path, "  public_endpoint: true\n", f"  public_endpoint: true\n  zones: [us-central1-a, {zone}]\n"
    )
    line = line_of(DEV, "public_endpoint: true") + 1
    assert msg == (
        f"{tmp_path}/lab.yaml:{line}: cluster.zones[1]: {what}; "
        + ZONES_OF_US_CENTRAL1.format(platform.ZONES_CHECKED_ON)
    )


def test_an_unknown_region_is_refused_with_a_suggestion(tmp_path):
    msg = error_for(tmp_path, "  region: us-central1\n", "  region: us-centrl1\n")
    assert msg.startswith(
        f"{tmp_path}/lab.yaml:{line_of(DEV, 'region: us-central1')}: project.region: unknown region "
        "'us-centrl1' (did you mean 'us-central1'?); regions (as of "
    )
    assert "africa-south1, asia-east1," in msg


def test_every_known_region_has_fixed_default_zones_of_its_own(tmp_path):
    """An environment loads in every region of the dated list without naming zones, on zones of that region."""
    from gkeml import platform

    mini = (ENVIRONMENTS / f"{MINIMAL}.yaml").read_text()
    for region, zones in platform.COMPUTE_ZONES.items():
        path = tmp_path / f"{MINIMAL}.yaml"
        path.write_text(mini.replace("region: europe-west4", f"region: {region}"))
        env = load_environment(path)
        assert env.cluster.zones == list(platform.REGION_ZONES[region])
        assert set(env.cluster.zones) <= set(zones) and len(env.cluster.zones) == min(3, len(zones)), region


def _with_location(lines: str) -> str:
    """lab.yaml's datasets bucket with these lines added (lab's region: us-central1)."""
    return "    purpose: datasets\n" + lines


@pytest.mark.parametrize("location", ["us-central1", "US-CENTRAL1", "NAM4", "US", "nam4"])
def test_a_bucket_in_the_region_or_a_dual_or_multi_region_holding_it_is_accepted(tmp_path, location):
    path = tmp_path / "lab.yaml"
    path.write_text(DEV.replace("    purpose: datasets\n", _with_location(f"    location: {location}\n"), 1))
    assert load_environment(path).buckets[0].location == location


@pytest.mark.parametrize(
    ("lines", "field", "fragment"),
    [
        (
            "    location: MOON\n",
            "location",
            "unknown location 'MOON'; allowed here: US-CENTRAL1 (the default: remove "
            "the key), NAM4, US, US with data_locations [us-central1, one of us-east1,",
        ),
        ("    location: US-CENTRL1\n", "location", "unknown location 'US-CENTRL1' (did you mean 'US-CENTRAL1'?)"),
        (
            "    location: CA\n",
            "location",
            "CA is a configurable dual-region: list two of its regions in data_locations",
        ),
        # where the cluster's Pods read it, every byte would cross regions
        (
            "    location: EUROPE-WEST4\n",
            "location",
            "EUROPE-WEST4 keeps its data in europe-west4, not in the cluster's "
            "region us-central1: every read through GCS FUSE would cross regions",
        ),
        ("    location: EUR4\n", "location", "EUR4 keeps its data in europe-north1, europe-west4, not in"),
        ("    location: EU\n", "location", "use US-CENTRAL1 (the default: remove the key), NAM4, US, US with"),
        (
            "    location: US\n    data_locations: [us-east1, us-east4]\n",
            "location",
            "US keeps its data in us-east1, us-east4, not in the cluster's region us-central1",
        ),
        (
            "    location: NAM4\n    data_locations: [us-central1, us-east4]\n",
            "location",
            "NAM4 is no configurable dual-region, which data_locations needs",
        ),
        (
            "    location: US\n    data_locations: [us-central1, europe-west4]\n",
            "data_locations[1]",
            "'europe-west4' is not a region of the configurable dual-region US; its regions: us-central1, us-east1,",
        ),
        (
            "    location: US\n    data_locations: [us-central1]\n",
            "data_locations",
            "a dual-region is two different regions, not us-central1",
        ),
        (
            "    location: US\n    data_locations: [us-central1, US-CENTRAL1]\n",
            "data_locations",
            "a dual-region is two different regions",
        ),
    ],
)
def test_a_bucket_location_that_is_unknown_or_away_from_the_cluster_is_refused(tmp_path, lines, field, fragment):
    msg = error_for(tmp_path, "    purpose: datasets\n", _with_location(lines))
    line = line_of(DEV, "purpose: datasets") + 1 + (field != "location")
    (problem,) = msg.splitlines()
    assert problem.startswith(f"{tmp_path}/lab.yaml:{line}: buckets[0].{field}: "), problem
    assert fragment in problem


def test_a_pair_offered_only_as_a_predefined_dual_region_names_it(tmp_path):
    mini = (ENVIRONMENTS / f"{MINIMAL}.yaml").read_text()  # in europe-west4
    path = tmp_path / f"{MINIMAL}.yaml"
    path.write_text(
        mini + "buckets:\n  - name: data\n    purpose: datasets\n    location: EU\n"
        "    data_locations: [europe-north1, europe-west4]\n"
    )
    with pytest.raises(ConfigError) as info:
        load_environment(path)
    assert str(info.value) == (
        f"{path}:{len(mini.splitlines()) + 5}: buckets[0].data_locations: Cloud Storage offers "
        "this pair only as the predefined dual-region EUR4; set location: EUR4 and remove "
        "data_locations"
    )
    path.write_text(mini + "buckets:\n  - name: data\n    purpose: datasets\n    location: eur4\n")
    assert load_environment(path).buckets[0].location == "eur4"


def test_a_channel_that_creates_clusters_below_secret_sync_s_minimum_is_refused(tmp_path, monkeypatch):
    """Audit N9: secret sync needs GKE 1.34; prod runs on STABLE, whose default for new clusters was 1.33 until
    2026-05-27. The channel table is dated data; with the table of that time the config is refused at load."""
    from gkeml import platform

    live = (ENVIRONMENTS / "live.yaml").read_text()
    assert "\nlaunch:" in live
    # JobSet needs 1.34 too (tests/test_jobset.py): off here, so that secret sync alone is refused
    prod = live.replace("cluster:\n", "jobset: {enabled: false}\ncluster:\n  release_channel: STABLE\n", 1)
    path = tmp_path / "live.yaml"
    path.write_text(prod)
    assert load_environment(path).cluster.release_channel == "STABLE"  # today's table: fine
    older = platform.ChannelVersions("1.32", "1.33", "1.33.5-gke.2228001")  # the Stable row of early 2026
    monkeypatch.setitem(platform.CHANNEL_VERSIONS, "STABLE", older)
    monkeypatch.setitem(platform.CHANNEL_VERSIONS, "RAPID", older)
    with pytest.raises(ConfigError) as info:
        load_environment(path)
    assert str(info.value) == (
        f"{path}:{line_of(prod, 'launch:')}: launch: secret sync needs GKE 1.34 or later; release channel STABLE "
        f"creates clusters at 1.33.5-gke.2228001 (release notes, read {platform.CHANNEL_VERSIONS_CHECKED}): set "
        "cluster.release_channel to REGULAR or EXTENDED, or remove launch"
    )
    # without the Launch agent the cluster needs no secret sync, and the channel is fine
    path.write_text(prod.split("\nlaunch:")[0] + "\n")
    try:
        load_environment(path)
    except ConfigError as other:  # only what else depended on launch
        assert "release_channel" not in str(other)


@pytest.mark.parametrize("text, parts", [("1.35.6-gke.1250000", (1, 35, 6, 1250000)), ("1.34", (1, 34))])
def test_gke_versions_compare_as_numbers(text, parts):
    from gkeml import platform

    assert platform.gke_version(text) == parts
    assert platform.gke_version("1.34.10-gke.1") > platform.gke_version("1.34.9-gke.99") > platform.gke_version("1.34")
