"""The GKE version gate: the features an environment turns on, each against what its release channel serves.

The fixture tests/fixtures/version-gate holds a prod environment using two recent features, and a server config
in the shape GKE answers ``getServerConfig`` (``gcloud container get-server-config --format json``) from before
STABLE served them: with today's table it loads, with that one it is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import ENV_NAMES, MINIMAL, ROOT

from gkeml import platform
from gkeml.cli import main
from gkeml.config import ConfigError
from gkeml.config.versions import (
    DETECTORS,
    ChannelTable,
    emitted_features,
    load_server_config,
    serves,
    used_features,
    using_channels,
)
from gkeml.environments import load_environment, load_environments, parse_environment
from gkeml.jobs import parse_job_spec
from gkeml.manifests.workloads import in_cluster_objects

GATE = ROOT / "tests" / "fixtures" / "version-gate"
OLD_SERVER_CONFIG = GATE / "server-config-2025-10.json"


def test_a_prod_environment_on_a_channel_too_old_for_its_features_is_refused_naming_each(capsys, tmp_path):
    """`gkeml check --server-config`: exit 2, one line per feature: the key that turns it on, the feature, the version
    it needs, the version the channel creates clusters at, and the fix (another prod channel, or do without)."""
    assert [e.name for e in load_environments(GATE / "environments")] == ["prod"]  # today's channels serve both
    code = main(
        [
            "check",
            "--environments",
            str(GATE / "environments"),
            "--server-config",
            str(OLD_SERVER_CONFIG),
            "--no-checkov",
            "--synth-dir",
            str(tmp_path),
        ]
    )
    assert code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    prod = GATE / "environments" / "prod.yaml"
    text = prod.read_text().splitlines()
    where = {
        key: next(i for i, line in enumerate(text, 1) if line.startswith(key)) for key in ("    source:", "launch:")
    }
    assert lines == [
        # the JobSet controller is on with Kueue (the team has GPU quota), written nowhere in the file: line 1
        f"{prod}:1: jobset.enabled: JobSet needs GKE 1.34 or later; release channel STABLE creates clusters at "
        "1.32.8-gke.1134000 (server config server-config-2025-10.json): wait for a channel that offers it, or set "
        "jobset.enabled: false (multi-node jobs are then refused)",
        f"{prod}:{where['    source:']}: volumes[0].source.bucket: GKE Volume Populator needs GKE 1.33.2-gke.4780000 "
        "or later; release channel STABLE creates clusters at 1.32.8-gke.1134000 (server config "
        "server-config-2025-10.json): set cluster.release_channel to REGULAR, or fill volumes[0] from a disk "
        "snapshot instead (source.snapshot)",
        f"{prod}:{where['launch:']}: launch: secret sync needs GKE 1.34 or later; release channel STABLE creates "
        "clusters at 1.32.8-gke.1134000 (server config server-config-2025-10.json): wait for a channel that offers "
        "it, or remove launch",  # RAPID serves it, but prod may not run on RAPID
    ]


def test_the_recorded_server_config_becomes_each_channel_s_versions():
    table = load_server_config(OLD_SERVER_CONFIG)
    assert table.channels == {
        "RAPID": platform.ChannelVersions("1.33", "1.34", "1.34.0-gke.2201000"),
        "REGULAR": platform.ChannelVersions("1.32", "1.33", "1.33.5-gke.1080000"),
        "STABLE": platform.ChannelVersions("1.31", "1.32", "1.32.8-gke.1134000"),
    }
    assert table.source == "server config server-config-2025-10.json"


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "not a readable JSON server config"),
        ('{"channels": []}', "channels: no channels; record it with `gcloud container get-server-config"),
        ('{"channels": [{"channel": "STABLE"}]}', "channels: channels[0] needs channel and defaultVersion"),
    ],
)
def test_a_server_config_that_is_not_one_is_refused_naming_the_file(tmp_path, content, message):
    path = tmp_path / "sc.json"
    path.write_text(content)
    with pytest.raises(ConfigError) as info:
        load_server_config(path)
    assert str(info.value).startswith(f"{path}: ") and message in str(info.value)


def test_every_detector_reads_a_dated_sourced_row_of_the_one_table():
    assert set(DETECTORS) <= set(platform.GKE_FEATURE_MIN_VERSIONS)
    for feature, row in platform.GKE_FEATURE_MIN_VERSIONS.items():
        assert platform.gke_version(row.minimum)[:2] >= (1, 26), feature
        assert row.source, feature
    assert platform.GKE_FEATURES_CHECKED and platform.CHANNEL_VERSIONS_CHECKED


def test_the_features_read_from_the_config_are_those_the_stacks_emit(stacks, environments):
    """Each fixture environment: the features of its synthesized in-cluster objects and cloud stack are exactly
    the ones the detectors find in its config (a stack emitting a feature no detector knows fails here)."""
    for name in (*ENV_NAMES, MINIMAL):
        env = environments[name]
        emitted = emitted_features(in_cluster_objects(env), stacks[name])
        assert emitted == set(used_features(env)), name


@pytest.mark.parametrize("feature", sorted(DETECTORS))
def test_each_feature_is_refused_just_below_its_minimum_and_served_at_it(environments, feature):
    """One trigger per feature: a channel table whose default sits just below the feature's minimum refuses every
    fixture environment using it, at each key that turns it on; at the minimum it passes."""
    from gkeml.config.versions import version_problems

    minimum = platform.GKE_FEATURE_MIN_VERSIONS[feature].minimum
    parts = platform.gke_version(minimum)
    below = f"{parts[0]}.{parts[1] - 1}.99-gke.9999999" if len(parts) == 2 else f"{minimum.rsplit('.', 1)[0]}.1"
    if len(parts) > 2:  # 1.33.2-gke.4780000 -> 1.33.2-gke.1 (a smaller build of the same patch)
        below = f"{minimum.split('-gke.')[0]}-gke.1"
    users = [e for e in environments.values() if feature in used_features(e)]
    assert users, f"no fixture environment uses {feature}"
    for env in users:
        channel = env.cluster.release_channel
        old = {**platform.CHANNEL_VERSIONS, channel: platform.ChannelVersions("1.20", "1.40", below)}
        with using_channels(ChannelTable(old, "test")):
            problems = [p for p in version_problems(env) if p[1].startswith(f"{feature} needs")]
        assert [path for path, _ in problems] == [path for path, _ in used_features(env)[feature]], env.name
        assert all(f"GKE {minimum} or later" in m and f"clusters at {below} (test)" in m for _, m in problems)
        exact = {**platform.CHANNEL_VERSIONS, channel: platform.ChannelVersions("1.20", "1.40", minimum)}
        with using_channels(ChannelTable(exact, "test")):
            assert not [p for p in version_problems(env) if p[1].startswith(f"{feature} needs")]


def test_versions_compare_as_gke_orders_them():
    for lower, higher in [
        ("1.33.2-gke.1", "1.33.2-gke.4780000"),
        ("1.33.2-gke.4780000", "1.33.10-gke.1"),
        ("1.33", "1.33.0-gke.1"),
        ("1.9.9-gke.1", "1.10.0-gke.1"),
    ]:
        assert serves(platform.ChannelVersions("1", "1", higher), lower)
        assert not serves(platform.ChannelVersions("1", "1", lower), higher)


def test_a_flex_start_job_is_refused_on_a_channel_that_does_not_serve_flex_start():
    lab = (ROOT / "tests" / "fixtures" / "environments" / "lab.yaml").read_text() + "kueue: {enabled: false}\n"
    env = parse_environment(lab, "lab.yaml")  # without Kueue: a flex-start job is not queued
    spec = (
        "name: burst\nteam: research\nimage: us-docker.pkg.dev/shared/training/trainer:1.0\n"
        "gpu: nvidia-l4\ngpu_count: 1\ncpu: '4'\nmemory: 16Gi\nflex_start: true\n"
    )
    assert parse_job_spec(spec, "burst.yaml", env).flex_start  # today's REGULAR serves it
    old = {**platform.CHANNEL_VERSIONS, "REGULAR": platform.ChannelVersions("1.31", "1.32", "1.32.9-gke.1")}
    with using_channels(ChannelTable(old, "test")), pytest.raises(ConfigError) as info:
        parse_job_spec(spec, "burst.yaml", env)
    assert str(info.value) == (
        "burst.yaml:8: flex_start: flex-start needs GKE 1.33.0-gke.1712000 or later; release channel REGULAR creates "
        "clusters at 1.32.9-gke.1 (test): set cluster.release_channel to RAPID or STABLE or EXTENDED, or remove "
        "flex_start"
    )


def test_the_shipped_environments_pass_the_gate_prod_on_stable():
    prod = load_environment(ROOT / "environments" / "prod.yaml")
    assert prod.cluster.release_channel == "STABLE"
    assert used_features(prod)  # it uses some, and STABLE serves each


def test_the_gate_s_channel_table_is_the_shipped_one_outside_the_block():
    table = load_server_config(OLD_SERVER_CONFIG)
    with using_channels(table), pytest.raises(ConfigError):
        load_environment(GATE / "environments" / "prod.yaml")
    assert load_environment(GATE / "environments" / "prod.yaml").name == "prod"
    assert json.loads(OLD_SERVER_CONFIG.read_text())["channels"][2]["channel"] == "STABLE"
    assert Path(GATE / "environments" / "prod.yaml").exists()
