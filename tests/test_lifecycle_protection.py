"""Outside dev, no plan destroys data or an identity unless the config says the environment is retired."""

from __future__ import annotations

import json

from conftest import ENVIRONMENTS, PROD, resources

from gkeml.lifecycle.protection import unprotected


def test_outside_dev_everything_that_holds_data_is_protected(stacks, environments, bootstrap_stacks):
    for name, env in environments.items():
        problems = unprotected(stacks[name])
        if env.protected:
            assert not problems, "\n".join(problems)
        else:  # dev: a rename or teardown may destroy (and the config says so: tier dev)
            assert problems
    for name, stack in bootstrap_stacks.items():  # the state bucket is protected everywhere
        (bucket, *_) = resources(stack, "google_storage_bucket") or [{"lifecycle": {"prevent_destroy": True}}]
        assert bucket["lifecycle"]["prevent_destroy"] is True, name


def test_prod_checkpoints_are_recoverable_for_days(stacks, environments):
    from gkeml.stacks.props import PROD_CHECKPOINT_SOFT_DELETE_DAYS

    for name, env in environments.items():
        for bucket in resources(stacks[name], "google_storage_bucket"):
            if bucket["labels"].get("purpose") == "checkpoints":
                days = bucket["soft_delete_policy"]["retention_duration_seconds"] // 86400
                assert days == (PROD_CHECKPOINT_SOFT_DELETE_DAYS if env.tier == "prod" else 0), name


def test_a_retired_environment_can_be_destroyed(tmp_path):
    """retired: true is the one explicit change that lets `make destroy` delete a protected environment."""
    from gkeml.environments import parse_environment
    from gkeml.synth import synth

    text = (ENVIRONMENTS / f"{PROD}.yaml").read_text().replace("tier: prod\n", "tier: prod\nretired: true\n", 1)
    env = parse_environment(text, f"{PROD}.yaml")
    assert env.retired and not env.protected and not env.cluster.deletion_protection
    out = synth([env], tmp_path / "cdktf.out")
    stack = json.loads((out / "stacks" / PROD / "cdk.tf.json").read_text())
    assert len(unprotected(stack)) >= len(resources(stack, "google_storage_bucket")) + 1
    assert not any(
        (r.get("lifecycle") or {}).get("prevent_destroy")
        for t in ("google_storage_bucket", "google_compute_global_address")
        for r in resources(stack, t)
    )


def gkeml(*args: str):
    import subprocess
    import sys

    from conftest import ROOT

    return subprocess.run(
        [sys.executable, "-m", "gkeml.cli", *args, "--environments", str(ENVIRONMENTS)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_destroy_refuses_a_protected_environment_and_says_how():
    run = gkeml("destroy", PROD, "--dry-run")
    assert run.returncode == 2 and run.stdout == ""
    assert f"{ENVIRONMENTS}/{PROD}.yaml: {PROD} is tier prod" in run.stderr
    assert "set `retired: true`" in run.stderr and "nothing was destroyed" in run.stderr


def test_destroy_of_dev_removes_the_in_cluster_layer_first():
    from conftest import DEV

    run = gkeml("destroy", DEV, "--dry-run")
    assert run.returncode == 0, run.stderr
    # cdktf destroys a stack's dependents first: <env>-k8s (Ingresses, so the load balancer) before <env>
    assert run.stdout.split() == ["node_modules/.bin/cdktf", "destroy", DEV, f"{DEV}-k8s"]


def test_in_cluster_objects_go_before_their_namespace_on_destroy(stacks, environments):
    """Terraform destroys in reverse dependency order: every namespaced object (Ingress, Helm release
    included) depends on its Namespace, so the namespace is deleted last and never waits on a finalizer
    of an object Terraform still has to delete (the order check TF003 enforces the dependency)."""
    from gkeml.lifecycle.order import order_problems

    assert not [p for p in order_problems(stacks) if p.fact.id == "TF003"]
