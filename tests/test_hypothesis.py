"""Fuzzing every entry point with generated input, valid and invalid: no traceback, nothing deleted.

Every example either works or fails with the toolkit's own error (ConfigError naming file and
line, DiagramError, a doctor report with one line of advice); anything else (a traceback from
pydantic, ruamel, PyYAML, protobuf, a builder, a rule or the estimator) fails the test. Inputs
start from the test suite's own fixtures (environments, bootstrap files, job specs, manifests,
synthesized stacks, GKE API answers) and mutate them (replace, delete, add and duplicate keys,
values drawn from the files themselves and from edge cases), so many stay valid and reach the
builders; others are generated from the shape of what the rules read, or are arbitrary text.

Properties on disk: ``gkeml synth --out DIR`` with DIR a generated directory tree, and ``gkeml
check``/``cost`` over a generated environment file, leave every file as it was. So does every
command reading a tree whose input files may be no files at all (FIFOs nobody writes to,
/dev/null, /dev/zero, dangling links, directories), in the place of environments, job specs,
manifests, price tables, bootstrap files and the synthesized output: each answers in one line,
and none blocks or reads without end.

Profiles: ``CI=true`` (.ci/run) runs 500 examples per target, locally 60.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import re
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ENVIRONMENTS, ROOT
from hostile import ERROR
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from servers import Answer, LoopbackServer, serving

from gkeml import platform
from gkeml.config import ConfigError, Environment
from gkeml.environments import parse_environment
from gkeml.rules import Manifest, check, load_manifest_files

# CI explores the same 500 examples on every run (a commit passes or fails reproducibly); local runs explore
# 60 new ones each time, and `make fuzz` (GKEML_FUZZ=1) 5,000 new ones: what they find becomes an @example.
settings.register_profile(
    "gkeml-ci",
    max_examples=500,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "gkeml-local",
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "gkeml-fuzz",
    max_examples=5000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PROFILE = settings.get_profile(
    "gkeml-fuzz" if os.environ.get("GKEML_FUZZ") else "gkeml-ci" if os.environ.get("CI") == "true" else "gkeml-local"
)


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


ENV_FILES = sorted(ENVIRONMENTS.glob("*.yaml"))
JOB_FILES = sorted((ROOT / "examples" / "jobs").glob("*.yaml"))
BAD_MANIFESTS = sorted((ROOT / "tests" / "fixtures" / "bad-manifests").glob("*.yaml"))
BOOTSTRAP_BASES = [
    {
        "name": "lab",
        "project": {"id": "fx-lab-ml", "number": "200000000101", "region": "us-central1"},
        "state": {"bucket": "fx-tfstate"},
        "github": {"repository": "acme/ml-platform", "repository_id": "700000001", "repository_owner_id": "700000002"},
        "ci": {"plan_secrets": ["lab-wandb-api-key"], "grantable_roles": ["roles/logging.logWriter"]},
    },
    {
        "name": "live",
        "project": {"id": "fx-live-ml", "number": "200000000303", "region": "us-central1"},
        "state": {"bucket": "fx-tfstate", "create": False, "bootstrap_backend": "gcs", "noncurrent_versions": 5},
        "github": {
            "repository": "acme/ml-platform",
            "repository_id": 700000001,
            "repository_owner_id": 700000002,
            "deploy_ref": "refs/heads/main",
            "deploy_environment": "production",
        },
        "ci": {"pool": "gh-pool", "provider": "gh-oidc", "service_account": "gkeml-deploy"},
    },
]
ENV_BASES = [_load(p) for p in ENV_FILES]
JOB_BASES = [_load(p) for p in JOB_FILES]
MANIFEST_BASES = [m.obj for m in load_manifest_files(BAD_MANIFESTS)]


def _leaves(node: Any) -> list[Any]:
    if isinstance(node, dict):
        return [x for v in node.values() for x in _leaves(v)]
    if isinstance(node, list):
        return [x for v in node for x in _leaves(v)]
    return [node]


def _keys(node: Any) -> set[str]:
    if isinstance(node, dict):
        return set(node) | {k for v in node.values() for k in _keys(v)}
    if isinstance(node, list):
        return {k for v in node for k in _keys(v)}
    return set()


ALL_BASES = ENV_BASES + JOB_BASES + MANIFEST_BASES + BOOTSTRAP_BASES
EDGE = [
    "",
    " ",
    "0",
    "-1",
    "1e309",
    "0.0001m",
    "1000000Gi",
    "99999999",
    "Ti",
    "nvidia-l4",
    "nvidia-gb200",
    "10.0.0.0/8",
    "0.0.0.0/0",
    "*.example.com",
    "2026-13-45T00:00:00Z",
    "prod",
    "dev",
    "a" * 300,
    "né",
    "roles/owner",
    "${var.x}",
    "{{ x }}",
    "- a",
    "true",
    "null",
    "~",
    "&a",
    "!!python/object:os.system",
    "image:latest",
    "x:1.0\n",
    "default",
    "kube-system",
    "https://u:p@example.com",
    "OPENAI_APIKEY",
    "9" * 400,
]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.sampled_from([2**31, 2**63, 10**40]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(EDGE),
    st.sampled_from(sorted({repr(x) for b in ALL_BASES for x in _leaves(b)})).map(yaml.safe_load),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)
KEYS = st.one_of(
    st.text(max_size=10), st.sampled_from(sorted({k for b in ALL_BASES for k in _keys(b) if isinstance(k, str)}))
)


def _slots(node: Any, out: list) -> list:
    """Every (container, key) pair in a tree, containers included, for mutation."""
    if isinstance(node, dict):
        for k, v in node.items():
            out.append((node, k))
            _slots(v, out)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out.append((node, i))
            _slots(v, out)
    return out


@st.composite
def mutated(draw, bases: list[Any]) -> Any:
    """A deep copy of one base with 0-4 random replacements, deletions, additions or duplications."""
    data = copy.deepcopy(draw(st.sampled_from(bases)))
    for _ in range(draw(st.integers(0, 4))):
        slots = _slots(data, [])
        if not slots:
            break
        container, key = draw(st.sampled_from(slots))
        op = draw(st.sampled_from(["replace", "delete", "add", "duplicate"]))
        if op == "replace":
            container[key] = draw(VALUES)
        elif op == "delete":
            del container[key]
        elif op == "add" and isinstance(container, dict):
            container[draw(KEYS)] = draw(VALUES)
        elif op == "duplicate" and isinstance(container, list):
            container.append(copy.deepcopy(container[key]))
    return data


def _dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def _assert_own_error(exc: ConfigError, file: str) -> None:
    assert exc.problems, "ConfigError without problems"
    for problem in exc.problems:
        assert problem.file == file and problem.line >= 0 and problem.message.strip()
        assert "Traceback" not in str(problem) and "\n" not in str(problem)


ENVIRONMENTS_BY_NAME: dict[str, Environment] = {}


def _environment(name: str) -> Environment:
    if not ENVIRONMENTS_BY_NAME:
        from gkeml.environments import load_environments

        ENVIRONMENTS_BY_NAME.update({e.name: e for e in load_environments(ENVIRONMENTS)})
    return ENVIRONMENTS_BY_NAME[name]


# --- environment files ------------------------------------------------------------------------


@settings(PROFILE)
@given(data=mutated(ENV_BASES))
def test_environment_configs_load_render_and_cost_or_fail_with_config_error(data):
    from gkeml.cost import CostError, estimate, load_prices
    from gkeml.manifests.workloads import in_cluster_objects
    from gkeml.naming import Names

    file = "environments/generated.yaml"
    try:
        env = parse_environment(_dump(data), file)
    except ConfigError as exc:
        _assert_own_error(exc, file)
        return
    names = Names.of(env)
    assert names.cluster and names.k8s_stack
    objects = in_cluster_objects(env)
    check([Manifest(o, file) for o in objects])  # must not raise
    with contextlib.suppress(CostError):  # the estimator's own refusal (e.g. a shape with no machine in the table)
        estimate(env, load_prices())


@settings(PROFILE)
@given(text=st.one_of(st.text(max_size=200), st.binary(max_size=200).map(lambda b: b.decode("latin-1"))))
@example(text="\x1f")  # found by this test (ruamel ReaderError escaped the loader)
@example(text="a: 1" + "0" * 5000)  # more digits than Python converts to an int
@example(text="a: &a [*a]")  # a recursive alias
@example(text="-_")  # found by make fuzz: ruamel.yaml reads it as an int and fails (IndexError)
@example(text="a:\n  b: [x, ._]")  # found by make fuzz: ruamel.yaml reads it as a float and fails (ValueError)
def test_arbitrary_text_as_environment_fails_with_config_error(text):
    try:
        parse_environment(text, "env.yaml")
    except ConfigError as exc:
        _assert_own_error(exc, "env.yaml")


@settings(PROFILE)
@given(raw=st.binary(max_size=300))
@example(raw="name: x\n".encode("utf-16"))
@example(raw=b"name: \xff\n")
def test_arbitrary_bytes_as_an_environment_file_fail_with_config_error(tmp_path_factory, raw):
    from gkeml.environments import load_environment

    path = tmp_path_factory.mktemp("bytes") / "generated.yaml"
    path.write_bytes(raw)
    try:
        load_environment(path)
    except ConfigError as exc:
        _assert_own_error(exc, str(path))


# --- bootstrap files ----------------------------------------------------------------------------


@settings(PROFILE)
@given(data=mutated(BOOTSTRAP_BASES), env_name=st.sampled_from(["lab", "live", None]))
def test_bootstrap_files_load_and_give_a_ci_identity_or_fail_with_config_error(data, env_name):
    from gkeml.config import parse
    from gkeml.config.bootstrap import Bootstrap, check_against_environment, ci_identity

    file = "bootstrap/generated.yaml"
    env = _environment(env_name) if env_name else None
    try:
        boot = parse(_dump(data), file, Bootstrap, (lambda b: check_against_environment(b, env)) if env else None)
    except ConfigError as exc:
        _assert_own_error(exc, file)
        return
    identity = ci_identity(boot)
    assert identity["workload_identity_provider"].startswith("projects/")


# --- job specs ------------------------------------------------------------------------------


@settings(PROFILE)
@given(data=mutated(JOB_BASES), env_name=st.sampled_from(["lab", "stage", "live"]))
def test_job_specs_render_or_fail_with_config_error(data, env_name):
    from gkeml.jobs import launch_template, parse_job_spec, render

    env = _environment(env_name)
    file = "jobs/generated.yaml"
    try:
        spec = parse_job_spec(_dump(data), file, env)
    except ConfigError as exc:
        _assert_own_error(exc, file)
        return
    objects = render(spec, env)
    assert objects and objects[-1]["kind"] in ("Job", "JobSet")  # a multi-node job runs as a JobSet
    check([Manifest(o, file) for o in objects])  # must not raise
    try:
        assert launch_template(spec, env)
    except ConfigError as exc:  # e.g. multi-node jobs cannot go through W&B Launch
        _assert_own_error(exc, file)


# --- manifests and the rules ------------------------------------------------------------------

HOST_PATH_POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "p"},
    "spec": {
        "volumes": [{"name": ["not", "a", "string"], "hostPath": {"path": "/var/log/x"}}],
        "containers": [{"name": "c", "volumeMounts": [{"name": ["not", "a", "string"]}]}],
    },
}
HUGE_REPLICAS = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "d"},
    "spec": {
        "replicas": 10**400,
        "template": {
            "spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": "100m", "memory": "100Mi"}}}]}
        },
    },
}


@settings(PROFILE)
@given(objects=st.lists(mutated(MANIFEST_BASES), min_size=1, max_size=4))
@example(objects=[HOST_PATH_POD])  # found by this test: a list as a volume name
@example(objects=[HUGE_REPLICAS])  # a count beyond float range in the cost of GKE006
def test_rules_never_raise_on_malformed_objects(objects):
    for finding in check(objects):
        assert finding.rule and finding.field and finding.message and finding.fix


# Workloads generated from the shape the rules read, each field sometimes of the wrong type,
# a non-finite or absurdly large number, or a string that is no quantity.
WRONG = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 10),
    st.sampled_from([10**400, 2**31, 2**63, -(2**63)]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", "1", "100m", "16Gi", "1e999", "-1", ".inf", "nan", "1Ei", "9" * 400]),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.integers(), st.integers(), max_size=2),
)


def _or_wrong(strategy):
    return st.one_of(strategy, strategy, strategy, WRONG)


_QUANTITY = _or_wrong(st.sampled_from(["100m", "1", "4", "32", "250m", "512Mi", "1Gi", "64Gi", "10Gi", "5Mi"]))
_RESOURCES = st.fixed_dictionaries(
    {},
    optional={
        kind: _or_wrong(
            st.fixed_dictionaries(
                {}, optional=dict.fromkeys(("cpu", "memory", "ephemeral-storage", platform.GPU_RESOURCE), _QUANTITY)
            )
        )
        for kind in ("requests", "limits")
    },
)
_SECURITY = st.fixed_dictionaries(
    {},
    optional={
        "privileged": WRONG,
        "runAsNonRoot": WRONG,
        "runAsUser": WRONG,
        "allowPrivilegeEscalation": WRONG,
        "capabilities": _or_wrong(
            st.fixed_dictionaries(
                {},
                optional={
                    "add": _or_wrong(
                        st.lists(_or_wrong(st.sampled_from(["NET_ADMIN", "CAP_SYS_ADMIN", "ALL"])), max_size=2)
                    ),
                    "drop": _or_wrong(st.lists(WRONG, max_size=2)),
                },
            )
        ),
    },
)
_CONTAINER = st.fixed_dictionaries(
    {"name": _or_wrong(st.just("c"))},
    optional={
        "resources": _or_wrong(_RESOURCES),
        "securityContext": _or_wrong(_SECURITY),
        "ports": _or_wrong(
            st.lists(
                _or_wrong(st.fixed_dictionaries({"containerPort": WRONG}, optional={"hostPort": WRONG})), max_size=2
            )
        ),
        "volumeMounts": _or_wrong(
            st.lists(st.fixed_dictionaries({"name": _or_wrong(st.just("v"))}, optional={"readOnly": WRONG}), max_size=2)
        ),
        "env": _or_wrong(
            st.lists(
                st.fixed_dictionaries({"name": _or_wrong(st.sampled_from(list(platform.TORCH_RENDEZVOUS_ENV)))}),
                max_size=2,
            )
        ),
    },
)
_SELECTOR = st.dictionaries(
    st.sampled_from(
        [
            platform.ACCELERATOR_LABEL,
            platform.ACCELERATOR_COUNT_LABEL,
            platform.SPOT_LABEL,
            platform.COMPUTE_CLASS_LABEL,
        ]
    ),
    _or_wrong(st.sampled_from(list(platform.GPUS) + ["true", "1", "8", "Balanced", "Scale-Out", "my-class"])),
    max_size=4,
)
_POD = st.fixed_dictionaries(
    {"containers": _or_wrong(st.lists(_or_wrong(_CONTAINER), min_size=1, max_size=3))},
    optional={
        "initContainers": _or_wrong(st.lists(_CONTAINER, max_size=2)),
        "nodeSelector": _or_wrong(_SELECTOR),
        "securityContext": _or_wrong(_SECURITY),
        "terminationGracePeriodSeconds": WRONG,
        "hostNetwork": WRONG,
        "volumes": _or_wrong(
            st.lists(
                st.fixed_dictionaries(
                    {"name": _or_wrong(st.just("v"))},
                    optional={
                        "hostPath": _or_wrong(
                            st.fixed_dictionaries({"path": _or_wrong(st.sampled_from(["/var/log/x", "/etc"]))})
                        )
                    },
                ),
                max_size=2,
            )
        ),
    },
)
_META = _or_wrong(
    st.fixed_dictionaries(
        {"name": _or_wrong(st.just("x"))},
        optional={
            "namespace": _or_wrong(st.just("ns")),
            "labels": _or_wrong(st.dictionaries(st.text(max_size=3), WRONG, max_size=2)),
            "annotations": _or_wrong(
                st.dictionaries(
                    st.sampled_from(
                        [platform.COMPUTE_CLASS_LABEL, platform.SPOT_LABEL, platform.INGRESS_MANAGED_CERTS_ANNOTATION]
                    ),
                    WRONG,
                    max_size=2,
                )
            ),
        },
    )
)
_TEMPLATE = _or_wrong(st.fixed_dictionaries({"spec": _or_wrong(_POD)}, optional={"metadata": _META}))


def _object(kind: str, spec) -> st.SearchStrategy:
    return st.fixed_dictionaries({"apiVersion": st.just("v1"), "kind": st.just(kind), "metadata": _META, "spec": spec})


WORKLOADS = st.one_of(
    _object("Pod", _or_wrong(_POD)),
    _object("Deployment", _or_wrong(st.fixed_dictionaries({"template": _TEMPLATE, "replicas": WRONG}))),
    _object(
        "Job",
        _or_wrong(
            st.fixed_dictionaries(
                {"template": _TEMPLATE},
                optional={"parallelism": WRONG, "completionMode": _or_wrong(st.just("Indexed"))},
            )
        ),
    ),
    _object(
        "CronJob",
        _or_wrong(
            st.fixed_dictionaries(
                {
                    "jobTemplate": _or_wrong(
                        st.fixed_dictionaries(
                            {
                                "spec": _or_wrong(
                                    st.fixed_dictionaries({"template": _TEMPLATE}, optional={"parallelism": WRONG})
                                )
                            }
                        )
                    )
                }
            )
        ),
    ),
    _object(
        "JobSet",
        _or_wrong(
            st.fixed_dictionaries(
                {
                    "replicatedJobs": _or_wrong(
                        st.lists(
                            st.fixed_dictionaries(
                                {
                                    "replicas": WRONG,
                                    "template": _or_wrong(
                                        st.fixed_dictionaries(
                                            {
                                                "spec": _or_wrong(
                                                    st.fixed_dictionaries(
                                                        {"template": _TEMPLATE}, optional={"parallelism": WRONG}
                                                    )
                                                )
                                            }
                                        )
                                    ),
                                }
                            ),
                            max_size=2,
                        )
                    )
                }
            )
        ),
    ),
    _object(
        "ComputeClass",
        _or_wrong(
            st.fixed_dictionaries(
                {"priorities": _or_wrong(st.lists(st.fixed_dictionaries({"spot": WRONG}), max_size=2))}
            )
        ),
    ),
    _object(
        "Service",
        _or_wrong(
            st.fixed_dictionaries(
                {"selector": _or_wrong(st.dictionaries(st.text(max_size=3), WRONG, max_size=2)), "clusterIP": WRONG}
            )
        ),
    ),
    _object(
        "ManagedCertificate", _or_wrong(st.fixed_dictionaries({"domains": _or_wrong(st.lists(WRONG, max_size=2))}))
    ),
    _object(
        "PersistentVolumeClaim",
        _or_wrong(
            st.fixed_dictionaries(
                {
                    "accessModes": _or_wrong(st.lists(_or_wrong(st.just("ReadOnlyMany")), max_size=2)),
                    "storageClassName": WRONG,
                }
            )
        ),
    ),
    _object(
        "Application",
        _or_wrong(
            st.fixed_dictionaries(
                {
                    "source": _or_wrong(
                        st.fixed_dictionaries(
                            {
                                "chart": _or_wrong(st.just("operator")),
                                "helm": _or_wrong(st.fixed_dictionaries({"values": WRONG})),
                            }
                        )
                    )
                }
            )
        ),
    ),
)


@settings(PROFILE)
@given(objects=st.lists(WORKLOADS, min_size=1, max_size=4))
def test_rules_never_raise_on_generated_workloads(objects):
    for finding in check(objects):
        assert finding.rule and finding.field and finding.message and finding.fix


@settings(PROFILE)
@given(docs=st.lists(st.one_of(mutated(MANIFEST_BASES), VALUES), min_size=1, max_size=3))
def test_manifest_files_load_or_fail_with_config_error(tmp_path_factory, docs):
    path = tmp_path_factory.mktemp("manifests") / "generated.yaml"
    path.write_text(yaml.safe_dump_all(docs, allow_unicode=True))
    try:
        manifests = load_manifest_files([path])
    except ConfigError as exc:
        _assert_own_error(exc, str(path))
        return
    check(manifests)


# --- the doctor against generated GKE API answers -------------------------------------------


@pytest.fixture(scope="module")
def gke_answers():
    """A local GKE REST server whose answer (``reply``) each example sets."""
    with serving(LoopbackServer()) as api:
        yield api


def _healthy_cluster() -> dict:
    from google_apis import healthy_cluster

    return healthy_cluster()


@settings(PROFILE)
@example(body=b"\x80", status=200)  # found by this test: a body that is not UTF-8
@example(body=b"\n", status=500)  # found by this test: the server's message held a newline
@example(body=b"1", status=403)  # found by this test: an error body that is JSON but not an object
@given(
    body=st.one_of(
        mutated([_healthy_cluster()]).map(lambda d: json.dumps(d, default=str).encode()),
        st.binary(max_size=60),
        st.sampled_from([b"", b"null", b"[]", b"<html>", b'{"status": 7}']),
    ),
    status=st.sampled_from([200, 200, 200, 403, 404, 500]),
)  # not 503: the client retries it for seconds
def test_doctor_reports_any_gke_answer_without_raising(gke_answers, body, status):
    from gkeml.doctor import diagnose
    from gkeml.doctor.api import cluster_client

    gke_answers.reply = Answer(status, body)
    report = diagnose(_environment("lab"), cluster_client(gke_answers.url), toolchain=False)
    assert report.exit_code in (0, 1, 2)
    assert report.error is None or ("\n" not in report.error and report.error.strip())
    json.dumps(report.to_dict())


# --- the job verbs against generated Kubernetes API answers ------------------------------------

RUN = "finetune-l4-h8j9k"
RUN_PATH = f"/apis/batch/v1/namespaces/research/jobs/{RUN}"


def _served_job() -> dict:
    """The Job gkeml renders for the single-GPU example in lab, as the API holds it once running."""
    from gkeml.jobs import load_job_spec, render

    env = _environment("lab")
    job = render(load_job_spec(ROOT / "examples" / "jobs" / "single-gpu.yaml", env), env, RUN)[-1]
    job["metadata"].update(uid="0b7c1f0e-1111-4e4e-9a9a-000000000001", creationTimestamp="2026-11-20T10:00:00Z")
    job["status"] = {"active": 1, "conditions": [{"type": "Complete", "status": "False"}]}
    return job


def _served_pods() -> dict:
    pod = {
        "metadata": {
            "name": f"{RUN}-0-abcde",
            "namespace": "research",
            "labels": {"job-name": RUN, "app.kubernetes.io/managed-by": "gkeml"},
            "annotations": {"batch.kubernetes.io/job-completion-index": "0"},
        },
        "spec": {"nodeName": "gk3-node"},
        "status": {"phase": "Running", "containerStatuses": [{"name": "trainer", "restartCount": 0, "state": {}}]},
    }
    return {"kind": "PodList", "items": [pod]}


@pytest.fixture(scope="module")
def job_cluster(tmp_path_factory):
    """A Kubernetes API on 127.0.0.1 holding lab's run, a kubeconfig for it (KUBECONFIG, for the module),
    and the directory both live in (nothing in it may change)."""
    from kube_api import KubeApi, write_kubeconfig

    from gkeml.jobs.cluster import ExpectedCluster

    root = tmp_path_factory.mktemp("job-cluster")
    with serving(KubeApi()) as kube:
        kubeconfig = write_kubeconfig(
            root / "config", kube.url, ExpectedCluster.of(_environment("lab")).kubeconfig_entry
        )
        before = os.environ.get("KUBECONFIG")
        os.environ["KUBECONFIG"] = str(kubeconfig)
        try:
            yield kube, root
        finally:
            if before is None:
                del os.environ["KUBECONFIG"]
            else:
                os.environ["KUBECONFIG"] = before


def _json_body(value: Any) -> bytes:
    return json.dumps(value, default=str).encode()


ANSWER_BODIES = st.one_of(
    mutated([_served_job()]).map(_json_body),
    mutated([_served_pods()]).map(_json_body),
    VALUES.map(_json_body),
    st.binary(max_size=40),
    st.sampled_from(
        [b"", b"null", b"[]", b"[" * 150 + b"]" * 150, b'{"items": 7}', rb'{"message": "\u001b]52;c;eA==\u0007"}']
    ),
)


@settings(
    PROFILE, max_examples=PROFILE.max_examples if os.environ.get("GKEML_FUZZ") else min(PROFILE.max_examples, 150)
)
@example(verb="delete", status=200, body=_json_body(_served_job()), pods=_json_body(_served_pods()))  # gkeml's: deleted
@example(verb="delete", status=200, body=b'{"metadata": {"name": "x", "labels": []}}', pods=b"{}")
@example(verb="status", status=200, body=_json_body({**_served_job(), "spec": {"completions": "2"}}), pods=b"[]")
@given(
    verb=st.sampled_from(["status", "list", "delete", "logs", "wait"]),
    status=st.sampled_from([200, 200, 200, 201, 403, 404, 409, 500]),
    body=ANSWER_BODIES,
    pods=ANSWER_BODIES,
)
def test_job_verbs_never_raise_nor_delete_what_they_did_not_read_as_gkeml(job_cluster, verb, status, body, pods):
    """Whatever the API answers for the Job and its pods: exit 0, 1 or 2 without a traceback, nothing
    written, nothing on the terminal that is not printable, and a DELETE only of the one Job read, only
    if it carries gkeml's label, with its uid as the precondition: never a collection."""
    kube, root = job_cluster
    served = {"job": body, "pods": pods}
    kube.requests.clear()
    kube.store.clear()
    kube.put(_served_job())

    def hostile(request):
        if request.method != "GET":
            return None
        if request.path == RUN_PATH or request.path.endswith("/jobs"):
            return Answer(status, served["job"])
        if request.path.endswith("/pods"):
            return Answer(200, served["pods"])
        return None

    kube.hostile = hostile
    before = _snapshot(root)
    args = ("list",) if verb == "list" else (verb, f"research/{RUN}")
    extra = ("--timeout", "0", "--interval", "0") if verb == "wait" else ()
    out, err = io.StringIO(), io.StringIO()
    from gkeml.cli import main

    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["job", *args, *extra, "--request-timeout", "5"])  # no --env: the same rules, no YAML to load
    assert code in (0, 1, 2), (code, err.getvalue())
    assert all(line.isprintable() for line in (out.getvalue() + err.getvalue()).splitlines())
    assert _snapshot(root) == before
    deletes = [r for r in kube.requests if r[0] == "DELETE"]
    for _, path, _, _ in deletes:
        assert path in (RUN_PATH, f"/api/v1/namespaces/research/services/{RUN}"), path
    if any(path == RUN_PATH for _, path, _, _ in deletes):
        answered = json.loads(body)
        meta = answered["metadata"]
        assert status // 100 == 2 and (meta["name"], meta["namespace"]) == (RUN, "research")
        assert meta["labels"]["app.kubernetes.io/managed-by"] == "gkeml"
        (options,) = [o for _, path, _, o in deletes if path == RUN_PATH]
        assert options["preconditions"] == {"uid": meta["uid"]} and isinstance(meta["uid"], str) and meta["uid"]


# --- the diagram against mutated synthesized stacks ------------------------------------------


@pytest.fixture(scope="module")
def synthesized_lab(synth_dir) -> tuple[dict, dict]:
    from gkeml.stackfile import read_stack

    return (
        read_stack(synth_dir / "stacks" / "lab" / "cdk.tf.json"),
        read_stack(synth_dir / "stacks" / "lab-k8s" / "cdk.tf.json"),
    )


@settings(
    PROFILE,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_diagram_draws_any_stack_or_fails_with_diagram_error(synthesized_lab, data):
    from gkeml.diagram import DiagramError, render

    cloud, k8s = synthesized_lab
    cloud = data.draw(mutated([{"resource": cloud["resource"]}]))
    k8s = data.draw(st.one_of(st.none(), mutated([{"resource": k8s["resource"]}])))
    try:
        text = render(cloud if isinstance(cloud, dict) else {}, k8s if isinstance(k8s, dict) else None)
    except DiagramError as exc:
        assert "\n" not in str(exc) and "not what cdktf writes" in str(exc)
        return
    assert text.startswith("---\ntitle: ")


# --- nothing deleted ------------------------------------------------------------------------

_NAMES = st.text(alphabet="abcxyz.-_", min_size=1, max_size=6).filter(lambda n: n not in (".", ".."))
TREES = st.lists(st.tuples(st.lists(_NAMES, min_size=1, max_size=3), st.binary(max_size=20)), min_size=1, max_size=5)


def _gkeml(*args: Any) -> int:
    from gkeml.cli import main

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return main([str(a) for a in args])


def _snapshot(root: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))}


@pytest.fixture(scope="module")
def one_environment(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("one")
    (directory / "mini.yaml").write_bytes((ENVIRONMENTS / "mini.yaml").read_bytes())
    return directory


@settings(PROFILE)
@given(tree=TREES)
@example(tree=[(["manifest.json"], b'{"stacks": []}')])  # a manifest, but not cdktf's
def test_synth_never_replaces_a_directory_that_is_not_its_output(tmp_path_factory, one_environment, tree):
    root = tmp_path_factory.mktemp("out")
    for parts, content in tree:
        path = root.joinpath(*parts)
        if any(parent.is_file() for parent in path.parents) or path.is_dir():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    before = _snapshot(root)
    from gkeml.synth import is_synth_output

    if not before or is_synth_output(root):
        return  # ours to replace
    assert _gkeml("synth", "--environments", one_environment, "--out", root) == 2
    assert _snapshot(root) == before


@settings(PROFILE)
@given(data=mutated([ENV_BASES[ENV_FILES.index(ENVIRONMENTS / "mini.yaml")]]))
def test_commands_over_a_generated_environment_change_no_file(tmp_path_factory, data):
    root = tmp_path_factory.mktemp("commands")
    envs = root / "environments"
    envs.mkdir()
    (envs / "mini.yaml").write_text(_dump(data))
    (root / "cdktf.out" / "stacks").mkdir(parents=True)
    (root / "cdktf.out" / "manifest.json").write_text('{"stacks": {}}')
    before = _snapshot(root)
    for args in (
        ("check", "--no-checkov", "--environments", envs, "--jobs", root / "none", "--synth-dir", root / "cdktf.out"),
        ("cost", "mini", "--environments", envs, "--format", "json"),
        ("diagram", "mini", "--out", root / "cdktf.out", "--environments", envs),
    ):
        assert _gkeml(*args) in (0, 1, 2)
    assert _snapshot(root) == before


# --- the password-in-a-URL check: linear, and what the regular expression it replaced found -----

# The expression job specs were checked with: correct, but searched from every position it is
# quadratic on a long word (a 1 MiB argument took about 40 minutes). It is the reference here.
SEARCHED_URL_PASSWORD = re.compile(r"[A-Za-z][-A-Za-z0-9+.]*://[^/\s:@]*:[^/\s@]+@")


@settings(PROFILE)
@given(text=st.text(alphabet="aZ9+-._:/@ \n\tx", max_size=60))
@example(text="1+://u:p@h")  # a scheme without a letter is none
@example(text="x1http://u:p@h")  # the scheme starts at its first letter
def test_the_linear_password_check_finds_what_the_regular_expression_found(text):
    from gkeml.jobs.spec import url_with_password

    assert url_with_password(text) == bool(SEARCHED_URL_PASSWORD.search(text))


# --- input files that are no regular files ---------------------------------------------------

NOT_REGULAR = ("fifo", "dev-null", "dev-zero", "dangling", "directory")
MINI_TEXT = (ENVIRONMENTS / "mini.yaml").read_bytes()
JOB_TEXT = (ROOT / "examples" / "jobs" / "single-gpu.yaml").read_bytes()
SLOTS: dict[str, bytes] = {  # where a command reads a file, and what a regular one holds
    "environments/mini.yaml": MINI_TEXT,
    "jobs/job.yaml": JOB_TEXT,
    "pods.yaml": BAD_MANIFESTS[0].read_bytes(),
    "prices.json": (ROOT / "gkeml" / "cost" / "prices.json").read_bytes(),
    "bootstrap/mini.yaml": yaml.safe_dump(BOOTSTRAP_BASES[0] | {"name": "mini"}).encode(),
    "out/manifest.json": b'{"stacks": {"mini": {}}, "version": "previous"}',
    "out/stacks/mini/cdk.tf.json": b'{"resource": {}}',
}
TREE_KINDS = st.fixed_dictionaries(
    {
        **{slot: st.sampled_from(("regular", *NOT_REGULAR)) for slot in SLOTS},
        # always one environment file that is none: synth and check stop at loading (no framework run)
        "environments/other.yaml": st.sampled_from(NOT_REGULAR),
    }
)


def _place(path: Path, kind: str, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "regular":
        path.write_bytes(content)
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "directory":
        path.mkdir()
    else:
        path.symlink_to({"dev-null": "/dev/null", "dev-zero": "/dev/zero", "dangling": str(path) + ".gone"}[kind])


@contextlib.contextmanager
def _fifos_unblocked(root: Path):
    """A reader blocked opening one of the FIFOs under ``root`` is let through (empty read) within a
    second, so that a reader that does not refuse them fails the test instead of hanging it."""
    fifos = [p for p in root.rglob("*") if p.is_fifo()]
    done = threading.Event()

    def writer() -> None:
        while not done.wait(0.5):
            for fifo in fifos:
                with contextlib.suppress(OSError):
                    os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def _entries(root: Path) -> dict[str, bytes | str]:
    """Every entry under ``root``: a regular file's bytes, else what it is (never read)."""
    out: dict[str, bytes | str] = {}
    for p in sorted(root.rglob("*")):
        key = str(p.relative_to(root))
        out[key] = (
            f"link to {os.readlink(p)}" if p.is_symlink() else p.read_bytes() if p.is_file() else p.stat().st_mode
        )
    return out


@settings(PROFILE, max_examples=max(PROFILE.max_examples // 5, 12))
@given(kinds=TREE_KINDS)
def test_commands_given_files_that_are_no_files_answer_in_one_line_and_change_nothing(tmp_path_factory, kinds):
    root = tmp_path_factory.mktemp("inputs")
    for slot, kind in kinds.items():
        _place(root / slot, kind, SLOTS.get(slot, MINI_TEXT))
    envs, jobs, out = root / "environments", root / "jobs", root / "out"
    commands = [
        ("synth", "--environments", envs, "--out", out),
        ("check", "--no-checkov", "--environments", envs, "--jobs", jobs, "--synth-dir", out),
        ("check", root / "pods.yaml", jobs / "job.yaml"),
        ("cost", "mini", "--environments", envs, "--prices", root / "prices.json"),
        ("diagram", "mini", "--out", out, "--environments", envs),
        ("env", "list", "--environments", envs, "--bootstrap", root / "bootstrap"),
        ("job", "render", jobs / "job.yaml", "--env", "mini", "--environments", envs),
        ("launch", "template", jobs / "job.yaml"),
        ("doctor", "mini", "--environments", envs, "--no-toolchain", "--endpoint", "http://127.0.0.1:9"),
    ]
    before = _entries(root)
    with _fifos_unblocked(root):
        for args in commands:
            err = io.StringIO()
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
                from gkeml.cli import main

                code = main([str(a) for a in args])
            assert code in (0, 1, 2), (args, code, err.getvalue())
            assert "Traceback" not in err.getvalue()
            for line in err.getvalue().splitlines():  # a file that is none is named with what it is
                if "not a regular file" in line:
                    assert ERROR.sub("", line).startswith(str(root)), line
    assert _entries(root) == before
