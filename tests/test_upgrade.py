"""Upgrading from the previous release: every resource it put in a Terraform state is still declared by
this one, carried to its new address by a `moved` block, or destroyed on purpose, for a reason written here.

tests/golden/upgrade/RELEASE.json holds the state addresses RELEASE itself synthesized from
tests/fixtures/upgrade/RELEASE/before (``python scripts/upgrade_golden.py RELEASE`` rewrites it); today's code
synthesizes the same environments as a team edits them for this release (.../after, the edits
docs/upgrading.md asks for). Adding a golden file for a release needs no change here."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import ROOT

from gkeml.release import RELEASES, resource_addresses, state_moves

pytestmark = pytest.mark.slow

GOLDEN = ROOT / "tests" / "golden" / "upgrade"
FIXTURES = ROOT / "tests" / "fixtures" / "upgrade"
GOLDENS = sorted(GOLDEN.glob("*.json"))

# Per previous release: the addresses an upgrade from it destroys on purpose (a pattern over the whole
# address), and why that is right. Anything else that disappears without a `moved` block fails.
DESTROYED = {
    "0.1.0": {
        r"kubernetes_secret_v1\.wandb_api-key-[a-z0-9-]+_[0-9A-F]{8}": (
            "the W&B API key Secret that 0.1.0 wrote into every team namespace from Terraform, in a namespace "
            "outside launch.teams: nothing launches there, so the key goes (in the Launch teams' namespaces a "
            "removed block keeps it for GKE's secret sync to take over; docs/upgrading.md, 0.2.0)"
        ),
        r"google_project_iam_custom_role\.plan-secret-reader": (
            "0.1.0's custom role gkemlPlanSecretReader let the plan identity read the W&B key while planning; "
            "0.2.0's plan identity reads no secret (its read-only custom role is gkemlPlanReader, another id)"
        ),
        r"google_project_iam_member\.ci-plan-secret-(accessor|reader)": (
            "the plan identity's secret reads (secretAccessor, the custom role above): gone for the same reason"
        ),
        r"google_project_iam_member\.ci-plan-serviceusage-serviceUsageViewer": (
            "the plan identity's serviceusage.serviceUsageViewer, replaced by serviceUsageConsumer: with "
            "user_project_override every call of the budget's provider needs serviceusage.services.use, which "
            "the viewer role lacks (docs/permissions.md)"
        ),
        r"google_project_iam_member\.ci-(secretmanager|storage|artifactregistry|pubsub)-admin": (
            "the deploy identity's admin roles that read the data they manage (secret values, objects, images, "
            "messages), replaced by gkeml's custom roles that create and grant without reading "
            "(gkemlDeploySecrets, gkemlDeployBuckets, ...; docs/permissions.md)"
        ),
        r"google_project_iam_member\.ci-iam-serviceAccount(Admin|User)": (
            "the deploy identity's project-wide service-account roles, which let it set any account's policy "
            "(its own included) and act as any account: the bootstrap creates the environment's accounts and "
            "grants these roles on each of them only (docs/permissions.md)"
        ),
        r"google_project_iam_member\.ci-compute-loadBalancerAdmin": (
            "the deploy identity's compute.loadBalancerAdmin, replaced by compute.securityAdmin (firewall rules "
            "and SSL certificates; the permission model, docs/permissions.md)"
        ),
    },
}


def golden(path: Path) -> dict:
    return json.loads(path.read_text())


@pytest.fixture(scope="module", params=GOLDENS, ids=[p.stem for p in GOLDENS])
def upgrade(request, tmp_path_factory) -> tuple[dict, dict[str, dict]]:
    """(the previous release's golden record, today's synthesized stacks of the same environments)."""
    from gkeml.environments import load_environments
    from gkeml.synth import synth

    record = golden(request.param)
    after = FIXTURES / record["release"] / "after"
    scratch = tmp_path_factory.mktemp(f"upgrade-{record['release']}")
    out = synth(load_environments(after), scratch / "cdktf.out")
    stacks = {p.parent.name: json.loads(p.read_text()) for p in sorted(out.glob("stacks/*/cdk.tf.json"))}
    if (after / "bootstrap").is_dir():  # the bootstrap app, as bootstrap/main.py runs it
        from gkeml.environments import load_bootstrap_files
        from gkeml.framework import App
        from gkeml.stacks.bootstrap import BootstrapStack

        app = App(outdir=str(scratch / "bootstrap.out"))
        for boot in load_bootstrap_files(after / "bootstrap", after):
            BootstrapStack(app, boot)
        app.synth()
        stacks |= {
            p.parent.name: json.loads(p.read_text()) for p in (scratch / "bootstrap.out").glob("stacks/*/*.json")
        }
    return record, stacks


def test_there_is_a_golden_for_the_release_before_this_one():
    """Each release is tested from the one before it (a new release adds its predecessor's golden)."""
    assert [p.stem for p in GOLDENS][-1:] == [RELEASES[-2]]
    for path in GOLDENS:
        record = golden(path)
        assert record["release"] == path.stem and record["release"] in RELEASES
        assert re.fullmatch(r"[0-9a-f]{40}", record["commit"])
        assert record["stacks"] and all(record["stacks"].values())
        assert (FIXTURES / path.stem / "before").is_dir() and (FIXTURES / path.stem / "after").is_dir()
        assert path.stem in DESTROYED, "say what an upgrade from it destroys on purpose (or {})"


def test_every_stack_of_the_previous_release_is_still_synthesized(upgrade):
    record, stacks = upgrade
    assert set(record["stacks"]) <= set(stacks)


def test_every_address_of_the_previous_release_is_kept_moved_or_destroyed_on_purpose(upgrade):
    record, stacks = upgrade
    intended = DESTROYED[record["release"]]
    lost, used = [], set()
    for name, previous in record["stacks"].items():
        current = resource_addresses(stacks[name])
        moved, removed = state_moves(stacks[name])
        for address in previous:
            if address in current or address in removed:
                continue
            if address in moved:
                assert moved[address] in current, f"{name}: {address} moves to {moved[address]}, which is not declared"
                continue
            reason = next((pattern for pattern in intended if re.fullmatch(pattern, address)), None)
            if reason is None:
                lost.append(f"{name}: {address}")
            used.add(reason)
    assert lost == [], "destroyed by the upgrade without a moved block or a reason in DESTROYED: " + ", ".join(lost)
    assert used == set(intended), "a DESTROYED entry that matches nothing any more"


def test_every_moved_block_starts_where_the_previous_release_put_the_resource(upgrade):
    """The legacy addresses the moved blocks are computed from (framework.legacy_logical_id) are the ones the
    previous release really wrote: a wrong one would be ignored by Terraform and the resource re-created."""
    record, stacks = upgrade
    for name, previous in record["stacks"].items():
        moved, _ = state_moves(stacks[name])
        assert set(moved) <= set(previous), f"{name}: moved from addresses the previous release never had"
    assert any(state_moves(stacks[name])[0] for name in record["stacks"]), "the fixtures exercise no move"
