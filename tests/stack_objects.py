"""What the tests read out of a synthesized in-cluster stack: its manifests, its Helm releases and their values,
the releases as the objects ``gkeml check`` sees, and the findings of chosen rules on objects."""

from __future__ import annotations

import yaml
from conftest import resources

from gkeml.rules import check
from gkeml.rules.sources import helm_release_objects


def k8s(stacks, env):
    return stacks[f"{env}-k8s"]


def manifests(stacks, env, kind=None):
    objs = [m["manifest"] for m in resources(k8s(stacks, env), "kubernetes_manifest")]
    return [o for o in objs if kind is None or o["kind"] == kind]


def helm_releases(stacks, env) -> dict[str, tuple[str, dict]]:
    """helm_release by release name: (Terraform name, body)."""
    return {
        body["name"]: (name, body)
        for name, body in k8s(stacks, env).get("resource", {}).get("helm_release", {}).items()
    }


def values(release: dict) -> dict:
    (text,) = release["values"]
    return yaml.safe_load(text)


def chart_objects(stacks, env, chart: str) -> list[dict]:
    """The objects of every release of gkeml's local ``chart`` (e.g. leaderworkerset: one per team namespace) in
    ``env``'s in-cluster stack."""
    return [
        obj
        for name, (_, body) in helm_releases(stacks, env).items()
        if name == chart
        for obj in values(body)["objects"]
    ]


def checked_releases(synth_dir, env) -> list[dict]:
    """The Helm releases of ``env``'s in-cluster stack as the checked HelmRelease objects."""
    return [m.obj for m in helm_release_objects(synth_dir / "stacks" / f"{env}-k8s" / "cdk.tf.json")]


def release(objects: list[dict], chart: str) -> dict:
    (found,) = [o for o in objects if o["kind"] == "HelmRelease" and o["spec"]["chart"]["spec"]["chart"] == chart]
    return found


def rules_of(objects, *rules) -> list[tuple[str, str, str]]:
    return [(f.rule, f.object, f.field) for f in check(objects, list(rules))]
