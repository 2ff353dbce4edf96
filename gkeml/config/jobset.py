"""The ``jobset:`` section of an environment file: the JobSet controller that multi-node jobs run on.

A multi-node DDP job renders as one JobSet (:mod:`gkeml.jobs.build`): its controller comes from the official
chart at a pinned version (:mod:`gkeml.manifests.jobset`), and Kueue queues JobSets when it is on. An
environment without it refuses multi-node jobs.
"""

from __future__ import annotations

from pydantic import ConfigDict, Field

from gkeml import platform
from gkeml.config.base import Strict


class JobSetConfig(Strict):
    """The JobSet controller, installed from its official chart."""

    model_config = ConfigDict(title="JobSet")  # its name in the schema and the reference

    # filled in after validation from kueue.enabled (Environment._kueue_default) unless the file sets it
    enabled: bool = Field(
        False,
        description=f"Install the JobSet controller (chart {platform.JOBSET_VERSION}); multi-node jobs run as "
        "JobSets (queued through Kueue when it is on) and are refused without it.",
        json_schema_extra={"x-resolved-default": "kueue.enabled"},
    )
