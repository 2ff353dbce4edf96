"""The framework seam: the ONLY module that imports cdktf/cdktn and provider bindings.

gkeml runs on cdktf 0.21 (default, with the prebuilt ``cdktf-cdktf-provider-*``
packages) or on CDK Terrain (``cdktn`` 0.24 with ``cdktn-provider-*``). Which one
is decided by what ``make install CDK=...`` put in the virtualenv; ``GKEML_CDK``
overrides when both are importable (they must never be loaded in one process).

Constructs ask for provider classes through :func:`google`, :func:`kubernetes`
and :func:`helm` with the resource module name (``google("container_cluster")``),
so only the modules a stack uses are imported. Schema differences between the
provider generations are absorbed by the small adapters at the bottom.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import types
from types import ModuleType

_PACKAGES = {
    "cdktf": {
        "core": "cdktf",
        "google": "cdktf_cdktf_provider_google",
        "kubernetes": "cdktf_cdktf_provider_kubernetes",
        "helm": "cdktf_cdktf_provider_helm",
    },
    "cdktn": {
        "core": "cdktn",
        "google": "cdktn_provider_google",
        "kubernetes": "cdktn_provider_kubernetes",
        "helm": "cdktn_provider_helm",
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

App = core.App
TerraformStack = core.TerraformStack
TerraformOutput = core.TerraformOutput
TerraformResourceLifecycle = core.TerraformResourceLifecycle
GcsBackend = core.GcsBackend
Fn = core.Fn
Token = core.Token
Testing = core.Testing


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


# --- schema differences between provider generations ------------------------------


def retention_period(seconds: int):
    """``google_storage_bucket.retention_policy.retention_period``: number on google 6.x, string on 8.x."""
    return str(seconds) if IS_CDKTN else seconds


# The ephemeral google_secret_manager_secret_version arrived in google provider 7.x; the
# prebuilt cdktf bindings pin 6.50.0. Only the in-cluster stack reads it, and it uses no
# other google schema than the provider block and two data sources, stable across 6 -> 7.
EPHEMERAL_SECRET_GOOGLE_VERSION = "~> 7.10"


def ephemeral_secret_value(stack, id: str, *, secret: str, project: str) -> str:
    """A reference to the latest version of a Secret Manager secret, read as an
    EPHEMERAL value (Terraform >= 1.10): never written to the plan or the state, and
    usable only in write-only arguments (``*_wo``) and provider blocks.

    cdktn generates the ``EphemeralGoogleSecretManagerSecretVersion`` binding (google
    8.x). cdktf 0.21 predates ephemeral resources: the same block is written with an
    override, and the stack's google provider is raised to a version that has it.
    ``secret`` is passed as the full resource name, which every provider version accepts.
    """
    name = f"projects/{project}/secrets/{secret}"
    if IS_CDKTN:
        eph = google("ephemeral_google_secret_manager_secret_version")
        return eph.EphemeralGoogleSecretManagerSecretVersion(stack, id, secret=name, project=project).secret_data
    stack.add_override(f"ephemeral.google_secret_manager_secret_version.{id}", {"secret": name, "project": project})
    stack.add_override("terraform.required_providers.google.version", EPHEMERAL_SECRET_GOOGLE_VERSION)
    return f"${{ephemeral.google_secret_manager_secret_version.{id}.secret_data}}"
