"""Project APIs the platform needs."""

from __future__ import annotations

from gkeml import platform
from gkeml.framework import Construct, google

SERVICES = platform.PROJECT_APIS


class ProjectServices(Construct):
    """Enables the project's APIs; destroying the stack never disables them (other
    workloads in the project may depend on them)."""

    def __init__(self, scope: Construct, id: str, *, project: str, services: tuple[str, ...] = SERVICES):
        super().__init__(scope, id)
        ps = google("project_service")
        self.services = [
            ps.ProjectService(
                self,
                name.split(".")[0],
                project=project,
                service=name,
                disable_on_destroy=False,
                disable_dependent_services=False,
            )
            for name in services
        ]
