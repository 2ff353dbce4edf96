"""The API of gkeml extensions: a platform team's own code that adds resources to an environment's stacks.

An extension is named in the environment file (``extensions: [{module: ..., config: {...}}]``; docs/extensions.md).

Subclass :class:`Extension` in a module of your platform repository (or an installed package), give it a
``Config`` model (a :class:`Strict` subclass), and add resources in :meth:`Extension.cloud` through
:mod:`gkeml.framework` (``google("sql_database_instance")``...), never by importing cdktf or a provider
package yourself: the same module then works on cdktf and CDK Terrain. Import :mod:`gkeml.framework` inside
``cloud``: the module is imported whenever the environment file is loaded, also by commands that build no
Terraform (``gkeml cost``, ``gkeml job``).
"""

from __future__ import annotations

from gkeml.config.base import Strict
from gkeml.config.extensions import CloudContext, Extension, NoConfig

__all__ = ["CloudContext", "Extension", "NoConfig", "Strict"]
