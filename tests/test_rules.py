"""Policy rules: one bad manifest per rule is flagged by exactly that rule, the toolkit's own
output by none; numbers come from gkeml.platform and the price table."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from gkeml import platform
from gkeml.config import ConfigError
from gkeml.rules import RULES, check, load_manifest_files
from gkeml.units import parse_quantity

ROOT = Path(__file__).resolve().parents[1]
BAD = ROOT / "tests" / "fixtures" / "bad-manifests"
FIXTURES = sorted(BAD.glob("*.yaml"))


def objects(path: Path) -> list[dict]:
    return [m.obj for m in load_manifest_files([path])]


def rule_ids(objs) -> set[str]:
    return {f.rule for f in check(objs)}


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_bad_manifest_is_flagged_by_its_rule_only(path):
    findings = check(load_manifest_files([path]))
    assert {f.rule for f in findings} == {path.name[:6]}
    for f in findings:
        assert f.object.count("/") >= 1 and f.field and f.message and f.fix
        assert f.source.startswith(f"{path}:")


def test_every_rule_has_a_bad_manifest():
    assert {p.name[:6] for p in FIXTURES} == set(RULES)


def test_toolkit_output_is_flagged_by_no_rule(environments, synth_dir):
    from gkeml.toolkit import toolkit_group

    jobs = sorted((ROOT / "examples" / "jobs").glob("*.yaml"))
    assert jobs, "no canonical jobs to check"
    checked_helm = 0
    for env in environments.values():
        group = toolkit_group(env, env.name, jobs, synth_dir)
        checked_helm += sum(m.obj["kind"] == "HelmRelease" for m in group)
        findings = check(group)
        assert not findings, "\n".join(f"{f.source}: {f.rule} {f.object} {f.field}: {f.message}" for f in findings)
    if any(e.launch for e in environments.values()):
        assert checked_helm, "the Launch agent's helm_release was not checked"


# --- behaviour of individual rules ------------------------------------------------------


def fixture(rule: str) -> list[dict]:
    return objects(next(p for p in FIXTURES if p.name.startswith(rule)))


def test_requests_change_reports_new_values_and_monthly_cost_per_replica():
    from gkeml.cost.prices import load_prices

    pod = fixture("GKE006")[0]
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "api", "namespace": "research"},
        "spec": {"replicas": 3, "template": {"metadata": {}, "spec": copy.deepcopy(pod["spec"])}},
    }
    [finding] = check([deployment])
    assert "from 2 vCPU / 1 GiB to 2 vCPU / 2 GiB" in finding.message
    table = load_prices()
    rate = table.autopilot.pod["general-purpose"].regular.gib_hour
    assert f"+${1 * rate * table.hours_per_month * 3:,.2f} per month for 3 replica(s)" in finding.message

    deployment["spec"]["template"]["spec"]["nodeSelector"] = {platform.SPOT_LABEL: "true"}
    [spot] = check([deployment])
    spot_rate = table.autopilot.pod["general-purpose"].spot.gib_hour
    assert f"+${1 * spot_rate * table.hours_per_month * 3:,.2f} per month for 3 replica(s) on Spot" in spot.message


def test_billed_requests_follow_the_class_minimum_step_and_ratio():
    no_bursting = platform.GENERAL_PURPOSE_NO_BURSTING
    assert no_bursting.billed_requests(0.1, 0.2) == (0.25, 0.5)  # raised to the minimums
    assert no_bursting.billed_requests(0.3, 1.0) == (0.5, 1.0)  # CPU rounded up to 0.25 steps
    cpu, memory = no_bursting.billed_requests(0.5, 8.0)  # 1:16 is above 1:6.5: CPU is raised, then stepped
    assert (cpu, memory) == (1.25, 8.0)
    # stepping first, then the ratio: 0.6 vCPU -> 0.75, so memory must reach 0.75 GiB (1:1), not 0.6
    assert no_bursting.billed_requests(0.6, 0.5) == (0.75, 0.75)
    scale_out = platform.COMPUTE_CLASSES["Scale-Out"]
    assert scale_out.billed_requests(2, 4) == (2, 8)  # fixed 1:4


def test_missing_cpu_is_filled_in_from_the_ratio():
    pod = fixture("GKE006")[0]
    for key in ("requests", "limits"):
        pod["spec"]["containers"][0]["resources"][key] = {"memory": "13Gi"}
    [finding] = check([pod])
    assert finding.rule == "GKE006" and "from 0 vCPU / 13 GiB to 2 vCPU / 13 GiB" in finding.message


def test_gpu_pod_without_requests_gets_advice_not_a_change_autopilot_makes():
    """Autopilot sets no default requests on GPU Pods (billed per node): no GKE006 "Autopilot changes the Pod's
    requests", no minimum, only the advice to say what the containers use (an error on one's own objects)."""
    pod = fixture("GKE002")[0]
    pod["spec"]["containers"][0]["resources"] = {"limits": {platform.GPU_RESOURCE: "1"}}
    [finding] = check([pod])
    assert (finding.rule, finding.severity) == ("GKE082", "advice")
    assert "Autopilot sets no default requests on GPU Pods" in finding.message and "BestEffort" in finding.message
    assert [f.severity for f in check([pod], own=True)] == ["error"]
    pod["spec"]["containers"][0]["resources"] = {
        k: {"cpu": "100m", "memory": "128Mi", platform.GPU_RESOURCE: "1"} for k in ("requests", "limits")
    }
    assert check([pod]) == []  # below any Pod-class minimum: a GPU Pod has none


def test_daemonset_gets_its_own_defaults_not_a_pods():
    """A DaemonSet's container that requests nothing gets 50 mCPU / 100 MiB (the DaemonSet defaults), not the
    general-purpose Pod defaults, and a DaemonSet is not held to the Pod classes' minimums."""
    pod = fixture("GKE006")[0]
    spec = pod["spec"]
    for c in spec["containers"]:
        c.pop("resources", None)
    ds = {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "agent", "namespace": "research"},
        "spec": {
            "selector": {"matchLabels": {"app": "a"}},
            "template": {"metadata": {"labels": {"app": "a"}}, "spec": spec},
        },
    }
    [finding] = [f for f in check([ds]) if f.rule == "GKE006"]
    assert "DaemonSet defaults (50m CPU, 100 MiB memory)" in finding.message
    for c in spec["containers"]:
        c["resources"] = {k: {"cpu": "10m", "memory": "20Mi"} for k in ("requests", "limits")}
    assert [f for f in check([ds]) if f.rule in ("GKE005", "GKE006", "GKE007")] == []


def test_gpu_request_above_the_per_count_maximum_is_rejected():
    pod = fixture("GKE002")[0]
    limit = platform.GPUS["nvidia-l4"].range_for(1)
    pod["spec"]["containers"][0]["resources"] = {
        k: {"cpu": str(limit.max_cpu + 1), "memory": "16Gi", platform.GPU_RESOURCE: "1"} for k in ("requests", "limits")
    }
    [finding] = check([pod])
    assert finding.rule == "GKE005" and f"maximum {limit.max_cpu:g} vCPU" in finding.message


def test_the_gcs_fuse_sidecar_the_driver_injects_counts_in_the_pod_requests():
    """The driver's webhook adds its sidecar to the pod Autopilot admits: its requests (the annotation's, else the
    webhook's defaults) count toward the maximum and the ephemeral storage, beside Autopilot's defaults."""
    limit = platform.GPUS["nvidia-l4"].range_for(1)
    pod = fixture("GKE002")[0]
    pod["spec"]["containers"][0]["resources"] = {
        k: {"cpu": f"{limit.max_cpu:g}", "memory": "16Gi", platform.GPU_RESOURCE: "1"} for k in ("requests", "limits")
    }
    assert rule_ids([pod]) == set()  # at the maximum
    pod["metadata"]["annotations"] = {platform.GCSFUSE_ANNOTATION: "true"}
    [finding] = check([pod])
    assert finding.rule == "GKE005" and finding.field == "spec.containers[0].resources.requests.cpu"
    default = parse_quantity(platform.GCSFUSE_SIDECAR_DEFAULT_REQUESTS["cpu"])
    assert f"Pod requests {limit.max_cpu + default:g} vCPU / " in finding.message
    assert f"(with the GCS FUSE sidecar's {default:g} vCPU / " in finding.message

    scratch = fixture("GKE007")[0]  # 6 GiB fits alone, not beside a 5 GiB sidecar
    scratch["spec"]["containers"][0]["resources"]["requests"]["ephemeral-storage"] = "6Gi"
    assert rule_ids([scratch]) == set()
    scratch["metadata"]["annotations"] = {
        platform.GCSFUSE_ANNOTATION: "true",
        platform.GCSFUSE_SIDECAR_ANNOTATIONS["ephemeral-storage"]: "5Gi",
    }
    [finding] = check([scratch])
    assert (
        finding.rule == "GKE007"
        and "11 GiB of ephemeral storage (with the GCS FUSE sidecar's 5 GiB)" in finding.message
    )


def test_rules_read_their_numbers_from_the_platform_module(monkeypatch):
    grace, capability, counts = fixture("GKE013"), fixture("GKE012"), fixture("GKE002")
    assert rule_ids(grace) == {"GKE013"} and rule_ids(capability) == {"GKE012"} and rule_ids(counts) == {"GKE002"}
    monkeypatch.setattr(platform, "SPOT_TERMINATION_GRACE_SECONDS", 300)
    monkeypatch.setattr(platform, "ALLOWED_CAPABILITIES", (*platform.ALLOWED_CAPABILITIES, "NET_ADMIN"))
    l4 = platform.GPUS["nvidia-l4"]
    wider = platform.Gpu(
        l4.label, l4.name, l4.ranges + (platform.GpuRange(3, platform.GpuMachine("g2-test", 36, 144), 30, 100),)
    )
    monkeypatch.setitem(platform.GPUS, "nvidia-l4", wider)
    assert rule_ids(grace) == set() and rule_ids(capability) == set() and rule_ids(counts) == set()


def test_spot_through_a_compute_class_that_prefers_spot():
    pod = fixture("GKE013")[0]
    pod["spec"]["nodeSelector"] = {platform.COMPUTE_CLASS_LABEL: "cpu-spot-first"}
    compute_class = {
        "apiVersion": platform.COMPUTE_CLASS_API,
        "kind": "ComputeClass",
        "metadata": {"name": "cpu-spot-first"},
        "spec": {"priorities": [{"machineFamily": "n2", "spot": True}, {"machineFamily": "n2"}]},
    }
    assert rule_ids([pod]) == {"GKE075"}  # unknown class: nothing says Spot, the class is not checked
    assert rule_ids([pod, compute_class]) == {"GKE013"}


def test_node_affinity_counts_as_a_gpu_selector_and_custom_classes_may_name_the_gpu():
    pod = fixture("GKE001")[0]
    pod["spec"]["containers"][0]["resources"]["limits"][platform.GPU_RESOURCE] = "1"
    del pod["spec"]["nodeSelector"]
    assert rule_ids([pod]) == {"GKE001"}
    pod["spec"]["affinity"] = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {
                        "matchExpressions": [
                            {"key": platform.ACCELERATOR_LABEL, "operator": "In", "values": ["nvidia-l4"]}
                        ]
                    }
                ]
            }
        }
    }
    assert rule_ids([pod]) == set()
    del pod["spec"]["affinity"]
    pod["spec"]["nodeSelector"] = {platform.COMPUTE_CLASS_LABEL: "l4-spot-first"}
    assert rule_ids([pod]) == {"GKE075"}  # the class may carry the GPU; it is not among the checked objects


def test_read_only_host_path_under_var_log_is_allowed_but_not_writable():
    pod = fixture("GKE011")[0]
    pod["spec"]["volumes"][0]["hostPath"]["path"] = "/var/log/pods"
    assert rule_ids([pod]) == {"GKE011"}  # mounted writable
    pod["spec"]["containers"][0]["volumeMounts"][0]["readOnly"] = True
    assert rule_ids([pod]) == set()


def test_indexed_job_with_headless_service_passes():
    service, job = fixture("GKE015")
    service["spec"]["clusterIP"] = "None"
    job["spec"]["completionMode"] = "Indexed"
    job["spec"]["template"]["spec"]["subdomain"] = service["metadata"]["name"]
    assert rule_ids([service, job]) == set()


def test_certificate_in_the_ingress_namespace_passes():
    certificate, ingress = fixture("GKE017")
    certificate["metadata"]["namespace"] = ingress["metadata"]["namespace"]
    assert rule_ids([certificate, ingress]) == set()


def test_operator_chart_for_the_server_is_not_flagged():
    repository, release = fixture("GKE019")
    release["metadata"]["name"] = "wandb-server"
    release["spec"]["values"] = {"wandb": {"license": "x"}}
    assert rule_ids([repository, release]) == set()


def test_argo_cd_application_with_operator_chart_and_launch_values():
    app = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "agent", "namespace": "argocd"},
        "spec": {
            "source": {
                "repoURL": platform.WANDB_CHART_REPOSITORY,
                "chart": "operator",
                "helm": {"values": "launchConfig: |\n  queues: [a]\n"},
            }
        },
    }
    assert rule_ids([app]) == {"GKE019"}


# --- reading manifest files -------------------------------------------------------------


def test_invalid_yaml_is_a_config_error_with_file_and_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: v1\nkind: Pod\nmetadata:\n  name: [unclosed\n")
    with pytest.raises(ConfigError) as exc:
        load_manifest_files([bad])
    assert str(exc.value).startswith(f"{bad}:") and "invalid YAML" in str(exc.value)


def test_documents_that_are_not_objects_are_reported_with_their_line(tmp_path):
    path = tmp_path / "mixed.yaml"
    path.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n- just\n- a list\n---\nkind: Pod\n")
    with pytest.raises(ConfigError) as exc:
        load_manifest_files([path, tmp_path / "missing.yaml"])
    lines = str(exc.value).splitlines()
    assert lines[0] == f"{path}:5: expected a Kubernetes object (a mapping), got list"
    assert lines[1] == f"{path}:8: apiVersion: required (a string)"
    assert lines[2].startswith(f"{tmp_path / 'missing.yaml'}: cannot read")


def test_list_kind_is_flattened_with_the_document_line(tmp_path):
    items = objects(BAD / "GKE008-privileged.yaml")
    path = tmp_path / "list.yaml"
    path.write_text("# header\n" + yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": items * 2}))
    manifests = load_manifest_files([path])
    assert len(manifests) == 2 and all(m.source == f"{path}:2" for m in manifests)
    assert [f.rule for f in check(manifests)] == ["GKE008", "GKE008"]
