"""The framework seam: the ONLY module that imports cdktf/cdktn and provider bindings.

gkeml runs on cdktf 0.21 (default, with the prebuilt ``cdktf-cdktf-provider-*``
packages) or on CDK Terrain (``cdktn`` 0.24 with ``cdktn-provider-*``). Which one
is decided by what ``make install CDK=...`` put in the virtualenv; ``GKEML_CDK``
overrides when both are importable (they must never be loaded in one process).

Constructs ask for provider classes through :func:`google`, :func:`kubernetes`
and :func:`helm` with the resource module name (``google("container_cluster")``),
so only the modules a stack uses are imported; a delay (hashicorp/time ``time_sleep``)
through :func:`time_sleep`. Schema differences between the
provider generations are absorbed by the small adapters at the bottom.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import types
from types import ModuleType
from typing import Any

from gkeml import platform

_PACKAGES = {
    "cdktf": {
        "core": "cdktf",
        "google": "cdktf_cdktf_provider_google",
        "kubernetes": "cdktf_cdktf_provider_kubernetes",
        "helm": "cdktf_cdktf_provider_helm",
        "time": "cdktf_cdktf_provider_time",
    },
    "cdktn": {
        "core": "cdktn",
        "google": "cdktn_provider_google",
        "kubernetes": "cdktn_provider_kubernetes",
        "helm": "cdktn_provider_helm",
        "time": "cdktn_provider_time",
    },
}


def _detect() -> str:
    chosen = os.environ.get("GKEML_CDK")
    if chosen:
        if chosen not in _PACKAGES:
            raise SystemExit(f"GKEML_CDK={chosen!r}: use one of {', '.join(_PACKAGES)}")
        return chosen
    for name in _PACKAGES:  # cdktf first: the default
        if importlib.util.find_spec(_PACKAGES[name]["core"]) is not None:
            return name
    raise SystemExit("neither cdktf nor cdktn is installed; run `make install` (or `make install CDK=cdktn`)")


FRAMEWORK = _detect()
IS_CDKTN = FRAMEWORK == "cdktn"
_pkg = _PACKAGES[FRAMEWORK]
core: ModuleType = importlib.import_module(_pkg["core"])

import constructs as _constructs  # noqa: E402  (the jsii base library both frameworks build on)

Construct = _constructs.Construct
App = core.App
TerraformStack = core.TerraformStack
TerraformOutput = core.TerraformOutput
TerraformResourceLifecycle = core.TerraformResourceLifecycle
GcsBackend = core.GcsBackend
Testing = core.Testing
TerraformAsset = core.TerraformAsset  # a file or directory copied into the stack's output (assets/<id>/<hash>)
AssetType = core.AssetType


def _provider_module(provider: str, module: str) -> ModuleType:
    """Import ``<provider package>.<module>`` without running the package's eager ``__init__``.

    The prebuilt cdktf packages import all ~1,500 resource modules in their
    ``__init__``; registering a bare package object with the real ``__path__``
    first lets Python import just the submodule asked for (its own ``_jsii``
    loader included). cdktn's bindings are already lazy; the same path is harmless.
    """
    package = _pkg[provider]
    name = f"{package}.{module}"
    if name in sys.modules:
        return sys.modules[name]
    if package not in sys.modules and os.environ.get("GKEML_EAGER_PROVIDERS") != "1":
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise SystemExit(f"{package} is not installed; run `make install`")
        bare = types.ModuleType(package)
        bare.__path__ = list(spec.submodule_search_locations)
        bare.__spec__ = spec
        bare.__file__ = spec.origin
        sys.modules[package] = bare
    return importlib.import_module(name)


def google(module: str) -> ModuleType:
    """A module of the google provider bindings, e.g. ``google("storage_bucket")``."""
    return _provider_module("google", module)


def kubernetes(module: str) -> ModuleType:
    """A module of the kubernetes provider bindings, e.g. ``kubernetes("manifest")``."""
    return _provider_module("kubernetes", module)


def helm(module: str) -> ModuleType:
    """A module of the helm provider bindings, e.g. ``helm("release")``."""
    return _provider_module("helm", module)


TIME_PROVIDER_ID = "time"


def time_sleep(scope: Any, id: str, *, seconds: int, depends_on: list[Any], triggers: dict[str, str]) -> Any:
    """A ``time_sleep`` (hashicorp/time) that is created ``seconds`` after everything in ``depends_on``:
    what depends on it starts no earlier. It sleeps on its first apply and again whenever ``triggers``
    change (a changed ``create_duration`` alone does not sleep again: hashicorp/time docs/resources/sleep),
    never on later applies. The stack's ``time`` provider is declared with the first sleep."""
    stack = core.TerraformStack.of(scope)
    if stack.node.try_find_child(TIME_PROVIDER_ID) is None:
        _provider_module("time", "provider").TimeProvider(stack, TIME_PROVIDER_ID)
    return _provider_module("time", "sleep").Sleep(
        scope, id, create_duration=f"{seconds}s", depends_on=depends_on, triggers=triggers
    )


def legacy_logical_id(path: str) -> str:
    """The logical id cdktf (and CDK Terrain) give a resource at construct ``path`` inside its stack
    (``"endpoint-chat/cert"`` -> ``endpoint-chat_cert_FED33568``): the path's parts joined by '_', then
    the first 8 hex digits of the MD5 of the path (cdktf lib/private/unique.js makeUniqueId). Used to
    write ``moved`` blocks from addresses gkeml no longer declares; tests/test_lifecycle_transitions.py
    checks it against the framework's own allocation."""
    import hashlib

    parts = [p for p in path.split("/") if p != "Default"]
    human: list[str] = []
    for part in parts:  # removeDupes: a part that ends the previous one is dropped
        if not human or not human[-1].endswith(part):
            human.append(part)
    digest = hashlib.md5("/".join(parts).encode()).hexdigest()[:8].upper()
    return "_".join("".join(c for c in h if c.isalnum() or c in "-_") for h in human)[:240] + "_" + digest


def add_moved(stack: Any, moves: list[tuple[str, str]]) -> None:
    """Write Terraform ``moved`` blocks (from address, to address): the state of a resource gkeml now
    declares elsewhere follows it instead of being destroyed and created again. A move whose
    ``from`` is not in the state is ignored by Terraform."""
    if moves:
        stack.add_override("moved", [{"from": old, "to": new} for old, new in moves])


def add_removed(stack: Any, addresses: list[str]) -> None:
    """Write Terraform ``removed`` blocks (Terraform 1.7) with ``destroy = false``: Terraform forgets the
    resource at each address gkeml no longer declares and leaves the object where it is, for an object
    that something else owns now. An address not in the state is ignored."""
    if addresses:
        stack.add_override("removed", [{"from": address, "lifecycle": {"destroy": False}} for address in addresses])


def declare_terraform_version(stack: Any) -> None:
    """Write ``terraform.required_version`` (:data:`gkeml.platform.TERRAFORM_REQUIRED_VERSION`) into the
    stack, so that an older Terraform stops with a version error instead of failing on a construct it does
    not know (cdktf's targetVersions context only checks features at synth; it writes nothing into the JSON)."""
    stack.add_override("terraform.required_version", platform.TERRAFORM_REQUIRED_VERSION)


def record_release(stack: Any) -> None:
    """Write the gkeml release that synthesized ``stack`` as its output ``gkeml_version``
    (:data:`gkeml.release.VERSION_OUTPUT`): kept in the state, read from ``cdktf.out`` by ``gkeml check``.
    An output is no resource, so a new release plans no change to anything for it."""
    from gkeml import __version__
    from gkeml.release import VERSION_OUTPUT

    TerraformOutput(stack, VERSION_OUTPUT, value=__version__, description="the gkeml release that synthesized it")


def google_provider(stack: Any, *, project: str, region: str, default_labels: dict[str, str] | None = None) -> Any:
    """The stack's google provider. ``default_labels`` are written VERBATIM: cdktf (and CDK Terrain)
    rewrite the keys of provider arguments to snake_case (cdktf lib/terraform-provider.js
    keysToSnakeCase), which would turn ``managed-by`` into ``managed_by`` and merge a user's
    ``cost-center`` and ``cost_center``; an override is not rewritten."""
    provider = google("provider").GoogleProvider(stack, "google", project=project, region=region)
    if default_labels:
        provider.add_override("default_labels", dict(default_labels))
    return provider


# --- schema differences between provider generations ------------------------------
# cdktf's prebuilt google bindings were generated from google provider 6.50; CDK Terrain's from 8.7.
# gkeml needs google >= 7.33 (google_container_cluster.secret_sync_config), so on cdktf every stack
# declares that version and the few fields whose schema changed since 6.50 are written as overrides.
# The 7.0 upgrade guide (website/docs/guides/version_7_upgrade.html.markdown) lists no other change to
# a field gkeml sets: storage_bucket retention_period became a string; project_service
# disable_on_destroy lost its default (gkeml always sets it); subnetwork enable_flow_logs and router
# advertised_ip_ranges changed (gkeml sets neither).
GOOGLE_PROVIDER_VERSION_ON_CDKTF = "~> 7.33"


def pin_google_provider(stack: Any) -> None:
    """Declare the google provider version gkeml's JSON is written for (on cdktf; CDK Terrain's
    bindings already declare theirs)."""
    if not IS_CDKTN:
        stack.add_override("terraform.required_providers.google.version", GOOGLE_PROVIDER_VERSION_ON_CDKTF)


def retention_period(seconds: int) -> Any:
    """``google_storage_bucket.retention_policy.retention_period`` as each binding types it (a number in
    the cdktf bindings of 6.50, a string in CDK Terrain's); :func:`write_retention_period` then makes
    the JSON what google >= 7 reads: a string."""
    return str(seconds) if IS_CDKTN else seconds


def write_retention_period(bucket: Any, seconds: int) -> None:
    """On cdktf, write ``retention_period`` as the string google >= 7 expects (see :func:`retention_period`)."""
    if not IS_CDKTN:
        bucket.add_override("retention_policy.retention_period", str(seconds))


def enable_secret_sync(cluster: Any, rotation_interval: str) -> None:
    """Turn on GKE's synchronization of Secret Manager secrets into Kubernetes Secrets
    (``secret_sync_config``, google >= 7.33; typed on CDK Terrain, an override on cdktf)."""
    if IS_CDKTN:
        cc = google("container_cluster")
        cluster.put_secret_sync_config(
            enabled=True,
            rotation_config=cc.ContainerClusterSecretSyncConfigRotationConfig(
                enabled=True, rotation_interval=rotation_interval
            ),
        )
    else:
        cluster.add_override(
            "secret_sync_config",
            {"enabled": True, "rotation_config": {"enabled": True, "rotation_interval": rotation_interval}},
        )
