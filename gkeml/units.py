"""Kubernetes resource quantities (``500m``, ``16Gi``) as numbers: the one parser every layer uses."""

from __future__ import annotations

import math


def parse_quantity(q: str | int | float) -> float:
    """Kubernetes quantity -> float in base units (cores or bytes); ValueError for anything that
    is not a finite, non-negative quantity (``.inf``, ``nan``, ``-1``, ``1e999``)."""
    s = str(q).strip()
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "m": 1e-3}
    scale = 1.0
    for suffix in ("Ki", "Mi", "Gi", "Ti", "k", "M", "G", "T", "m"):
        if s.endswith(suffix):
            s, scale = s[: -len(suffix)], units[suffix]
            break
    value = float(s) * scale
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{q!r} is not a finite, non-negative quantity")
    return value


def gib(q: str | int | float) -> float:
    """A quantity in GiB (``16Gi`` -> 16.0)."""
    return parse_quantity(q) / 2**30
