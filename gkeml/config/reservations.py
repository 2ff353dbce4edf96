"""The ``reservations:`` section of an environment file: specific Compute Engine reservations of GPU VMs.

A reservation holds ``count`` VMs of one shape in one zone, billed whether they run anything or not. A
custom ComputeClass consumes it with a ``reservation`` rung in its capacity (``capacity: [reservation, spot,
on-demand]`` and ``reservation: NAME``): GKE creates the class's nodes from the reservation first
(:func:`gkeml.manifests.workloads.compute_class_object`). With Kueue, its GPUs are one more ResourceFlavor of
the cohort, which only the pods of such a class may be admitted on (:mod:`gkeml.manifests.kueue`); ``gkeml
cost`` prices it as reserved, whether used or not (:mod:`gkeml.cost.estimate`). The facts are in
:mod:`gkeml.platform` (``RESERVATION_*``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from pydantic import Field, model_validator

from gkeml import platform
from gkeml.config.base import PROJECT_ID, DnsLabel, Int32, Problem, Strict, at

if TYPE_CHECKING:
    from gkeml.config.model import Environment

RESERVATION = "reservation"  # the capacity rung of a ComputeClass
# Compute Engine resource names (RFC 1035 labels): what a reservation and a reservation block are named.
RESOURCE_NAME = r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$"
CUSTOM_MACHINE = "(custom)"  # how gkeml.platform names a machine sized to the pod (T4 on N1)


class Reservation(Strict):
    """A specific reservation of GPU VMs (consumption type ``specific``) that a ComputeClass consumes first."""

    name: str = Field(pattern=RESOURCE_NAME, description="The reservation's name in Compute Engine.")
    project: str | None = Field(
        None,
        pattern=PROJECT_ID,
        description="The project that owns a shared reservation (it must share it with this project); "
        "default: the environment's project.",
    )
    zone: str = Field(description="Its zone: one of the cluster's zones.")
    gpu: str = Field(description=f"GPU type of the reserved VMs: {', '.join(platform.GPUS)}.")
    gpu_count: Int32 = Field(1, ge=1, description="GPUs per reserved VM.")
    machine_type: str | None = Field(
        None,
        pattern=r"^[a-z][-a-z0-9]{1,61}[a-z0-9]$",
        description="Machine type of the reserved VMs; default: the machine Autopilot runs that many GPUs on "
        "(required for T4, whose N1 machines are sized to the pod).",
    )
    count: Int32 = Field(ge=1, description="Reserved VMs (billed whether used or not).")
    block: DnsLabel | None = Field(None, description="A block of the reservation to consume (reservationBlock).")

    @model_validator(mode="after")
    def _shape(self) -> Reservation:
        problem = platform.gpu_problem(self.gpu, self.gpu_count)
        if problem:
            raise at(*problem)
        gpu = platform.GPUS[self.gpu]
        machine = gpu.range_for(self.gpu_count).machine.name
        if self.machine_type is None:
            if CUSTOM_MACHINE in machine:
                raise at(
                    "machine_type",
                    f"required for {self.gpu}: its {gpu.machine_family} machines are sized to the pod; name the "
                    f"reserved VMs' machine type, e.g. {gpu.machine_family}-standard-8",
                )
            self.machine_type = machine
        elif not self.machine_type.startswith(f"{gpu.machine_family}-"):
            raise at(
                "machine_type",
                f"{self.machine_type} does not carry {self.gpu} ({gpu.name} runs on {gpu.machine_family} "
                f"machines, e.g. {machine if CUSTOM_MACHINE not in machine else gpu.machine_family + '-standard-8'})",
            )
        return self

    def owner(self, env: Environment) -> str:
        """The project that owns the reservation."""
        return self.project or env.project.id

    @property
    def gpus(self) -> int:
        """Every GPU the reservation holds."""
        return self.count * self.gpu_count

    @property
    def machine(self) -> str:
        """The reserved VMs' machine type (filled in when the file leaves it out)."""
        assert self.machine_type is not None
        return self.machine_type


def reservation(env: Environment, name: str | None) -> Reservation | None:
    """The environment's reservation of this name, or None."""
    return next((r for r in reservations_of(env) if r.name == name), None)


def reservations_of(env: Any) -> list[Reservation]:
    return list(getattr(env, "reservations", []) or [])


def consumed(env: Environment) -> list[Reservation]:
    """The reservations a ComputeClass of the environment consumes (the others are only billed)."""
    names = {c.reservation for c in env.compute_classes if RESERVATION in c.capacity}
    return [r for r in reservations_of(env) if r.name in names]


def _zones(env: Environment) -> Iterator[Problem]:
    for i, r in enumerate(reservations_of(env)):
        if r.zone not in env.cluster.zones:
            yield (
                ("reservations", i, "zone"),
                f"{r.zone} is not a zone of the cluster, whose nodes run in {', '.join(env.cluster.zones)}: GKE "
                "could never consume it; move the reservation or add the zone to cluster.zones",
            )


def _classes(env: Environment) -> Iterator[Problem]:
    """A class's reservation rung names a reservation of the same GPU shape (its nodes are the reserved VMs)."""
    for i, cls in enumerate(env.compute_classes):
        if RESERVATION not in cls.capacity:
            continue
        found = reservation(env, cls.reservation)
        if found is None:
            continue  # an unknown name is reported where it is written (gkeml.config.checks.REFERENCES)
        if (cls.gpu, cls.gpu_count) != (found.gpu, found.gpu_count):
            yield (
                ("compute_classes", i, "reservation"),
                f"reservation {found.name} holds VMs with {found.gpu_count} x {found.gpu}; class {cls.name} asks for "
                f"{cls.gpu_count} x {cls.gpu or 'no GPU'}: its reservation rung would never match a reserved VM",
            )


RESERVATION_CHECKS = (_zones, _classes)
