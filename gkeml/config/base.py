"""Building blocks of every config model: the strict base class, shared value types and the
patterns with their human wording (used in error messages)."""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from gkeml import platform
from gkeml.text import one_line  # noqa: F401 - the one escaper (gkeml.text); config messages import it from here

Problem = tuple[tuple, str]  # (path of the offending key, message)


DNS_LABEL = r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$"
NAME = r"^[a-z]([-a-z0-9]{0,28}[a-z0-9])?$"  # short resource-name part
QUANTITY = r"^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$"
# A size in bytes (memory, storage): a quantity WITH a binary or decimal unit. Kubernetes reads a number
# without a unit as bytes (`memory: 128` is 128 bytes) and `m` as thousandths (`128m` is 0.128 bytes),
# which nobody means for memory; the loader refuses both with the likely fix (:func:`_byte_size_text`).
# Zero is zero in any unit.
BYTES = r"^(0|[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|k|M|G|T))$"  # 0 needs no unit
HOST = r"^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
PROJECT_ID = r"^[a-z][-a-z0-9]{4,28}[a-z0-9]$"
PROJECT_NUMBER = r"^[1-9][0-9]{5,18}$"
BUCKET_NAME = r"^[a-z0-9][-_.a-z0-9]{1,61}[a-z0-9]$"
ROLE = r"^(roles/[a-zA-Z0-9_.]+|projects/[-a-z0-9]+/roles/[a-zA-Z0-9_.]+)$"
# GCP labels: keys start with a lowercase letter; keys and values at most 63 of a-z 0-9 _ - (and
# international lowercase letters, which we do not accept) (cloud.google.com/resource-manager/docs/labels-overview).
LABEL_KEY = r"^[a-z][-_a-z0-9]{0,62}$"
LABEL_VALUE = r"^[-_a-z0-9]{0,63}$"
MAX_LABELS = 64

PATTERN_HELP: dict[str, str] = {
    DNS_LABEL: "lowercase letters, digits and '-', starting with a letter, at most 63 characters",
    NAME: "lowercase letters, digits and '-', starting with a letter, at most 30 characters",
    QUANTITY: "a Kubernetes quantity such as 500m, 4, 16Gi",
    BYTES: "a size with a unit such as 512Mi, 16Gi or 1.5Ti",
    HOST: "a fully qualified lowercase host name such as chat.example.com (no wildcards)",
    PROJECT_ID: "6-30 lowercase letters, digits and '-', starting with a letter",
    PROJECT_NUMBER: "the project NUMBER (6-19 digits), from `gcloud projects describe PROJECT_ID`",
    BUCKET_NAME: "3-63 lowercase letters, digits, '-', '_' and '.'",
    ROLE: "a role such as roles/logging.logWriter",
    LABEL_KEY: "a label key: a lowercase letter, then at most 62 of a-z 0-9 '-' '_'",
    LABEL_VALUE: "a label value: at most 63 of a-z 0-9 '-' '_'",
}

# Kubernetes stores these counts as int32 (replicas, ports, GPU counts in quotas); durations (Job deadlines,
# grace periods) and Google's money units (a budget's amount) are int64.
INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1


def at(field: str, message: str) -> ValueError:
    """A model-level error that belongs to one field (dotted for nested ones): the loader reports
    that field's line."""
    return ValueError(f"@{field}: {message}")


def at_each(problems: list[tuple[str, str]]) -> ValueError:
    """Several model-level errors at once, each belonging to one field (see :func:`at`); the
    loader reports each at its field's line."""
    return ValueError("\n".join(f"@{field}: {message}" for field, message in problems))


class Strict(BaseModel):
    """Base: unknown keys are errors, values are not coerced between types, and no number is NaN or
    infinite (YAML's .nan and .inf: no consumer of a setting takes one)."""

    model_config = ConfigDict(extra="forbid", strict=True, validate_default=True, allow_inf_nan=False)


def _number_as_text(value: Any) -> Any:
    if isinstance(value, bool):
        return value  # refused by the str type below
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{value!r} is not a size; use a Kubernetes quantity such as 500m, 4, 16Gi")
    return str(value) if isinstance(value, (int, float)) else value


def _finite_size(value: str) -> str:
    from gkeml.units import parse_quantity

    try:
        parse_quantity(value)
    except ValueError:
        raise ValueError(
            f"{value[:20]}... is too large to be a size; use a Kubernetes quantity such as 500m, 4, 16Gi"
        ) from None
    return value


_UNITLESS = re.compile(r"[0-9]+(\.[0-9]+)?")
_MILLI = re.compile(r"([0-9]+(\.[0-9]+)?)m")


def _likely_size(number: str) -> str:
    """What a unit-less size most likely meant: the same size with a unit when the number is already a
    byte count (16Gi for 17179869184), else the number in Gi (below 1024) or Mi."""
    value = float(number)
    if value >= 2**20:
        for unit, size in (("Ti", 2**40), ("Gi", 2**30), ("Mi", 2**20)):
            if value % size == 0:
                return f"{int(value // size)}{unit}"
        return f"{math.ceil(value / 2**20)}Mi"
    return f"{number}Gi" if value < 1024 else f"{number}Mi"


def _byte_size_text(value: Any) -> Any:
    """A size in bytes as text, refused without a unit or in thousandths (``m``), naming the likely fix."""
    value = _number_as_text(value)
    if not isinstance(value, str):
        return value
    if _UNITLESS.fullmatch(value) and value != "0":
        _finite_size(value)
        raise ValueError(
            f"{value!r} has no unit, which Kubernetes reads as {value} bytes; did you mean {_likely_size(value)}? "
            "(a size takes Mi, Gi or Ti, or M, G, T)"
        )
    milli = _MILLI.fullmatch(value)
    if milli:
        raise ValueError(
            f"{value!r} is {float(milli[1]) / 1000:g} bytes (m is thousandths); did you mean {milli[1]}Mi?"
        )
    return value


def _cidr(value: object) -> ipaddress.IPv4Network:
    try:
        return ipaddress.IPv4Network(str(value), strict=True)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not an IPv4 network in CIDR form like 10.0.0.0/20 ({exc})") from None


DnsLabel = Annotated[str, Field(pattern=DNS_LABEL, max_length=63)]
ShortName = Annotated[str, Field(pattern=NAME)]
Quantity = Annotated[str, BeforeValidator(_number_as_text), Field(pattern=QUANTITY), AfterValidator(_finite_size)]
# Memory and storage: a quantity with a unit (BYTES).
ByteSize = Annotated[str, BeforeValidator(_byte_size_text), Field(pattern=BYTES), AfterValidator(_finite_size)]
Cidr = Annotated[ipaddress.IPv4Network, BeforeValidator(_cidr)]
Int32 = Annotated[int, Field(le=INT32_MAX)]
Int64 = Annotated[int, Field(le=INT64_MAX)]
Labels = Annotated[
    dict[Annotated[str, Field(pattern=LABEL_KEY)], Annotated[str, Field(pattern=LABEL_VALUE)]],
    Field(max_length=MAX_LABELS),
]


def _gcs_bucket(value: str) -> str:
    problem = platform.gcs_bucket_name_problem(value)
    if problem:
        raise ValueError(f"{value!r} is not a bucket name Cloud Storage accepts: {problem}")
    return value


# Terraform evaluates every string of a synthesized stack as a template: ``${...}`` interpolates (a function
# such as file() reads the machine that plans, the CI runner with its token) and ``%{...}`` is a directive;
# ``$${`` and ``%%{`` are the characters themselves (HCL template escapes). A string of a config file that
# reaches a stack is either held to a pattern without '$' and '%', or is FreeText: the escapes are fine,
# an unescaped ``${`` or ``%{`` is refused (tests/test_hostile_values.py walks every string field).
TERRAFORM_TEMPLATE = re.compile(r"(?<!\$)\$\{|(?<!%)%\{")


def _free_text(value: str) -> str:
    if TERRAFORM_TEMPLATE.search(value):
        raise ValueError(
            f"{value!r} holds ${{ or %{{, which Terraform would evaluate in the synthesized stack; remove it, or "
            "write $${ or %%{ for the characters themselves"
        )
    return value


FreeText = Annotated[str, AfterValidator(_free_text)]

# A Cloud Storage bucket name, as Cloud Storage checks it (gkeml.platform.gcs_bucket_name_problem).
GcsBucketName = Annotated[str, AfterValidator(_gcs_bucket)]


def resolved(description: str, default: str, **kwargs: Any) -> Any:
    """A field the file may leave out: :class:`~gkeml.config.model.Environment` fills it in from
    the tier (or another field) BEFORE validation, so the model's type is never Optional. The JSON
    Schema and the reference show ``default`` and do not mark the field required."""
    return Field(description=description, json_schema_extra={"x-resolved-default": default}, **kwargs)


@dataclass(frozen=True)
class FileDefaults:
    """What a default resolver reads besides the section it fills in: the defaults of the file's tier
    (:data:`gkeml.config.model.TIER_DEFAULTS`; empty when the tier is missing or unknown, which validation
    then reports) and the project's region (None unless it is a string)."""

    tier: Mapping[str, Any]
    region: str | None


# A default resolver: fills in, in place and before validation, the defaults of one section of an environment
# file's raw data (a mapping); a value of the wrong type is left for validation to report.
DefaultResolver = Callable[[dict[str, Any], FileDefaults], None]


def raw_section(data: dict[str, Any], key: str, create: bool = False) -> dict[str, Any] | None:
    """A copy of the mapping ``data[key]``, put back in ``data`` for a resolver to fill in (an empty one when
    the key is missing and ``create``); None when it is missing or not a mapping."""
    if key not in data and not create:
        return None
    section = data.get(key, {})
    if not isinstance(section, dict):
        return None
    data[key] = section = dict(section)
    return section


def fill(section: dict[str, Any], defaults: Mapping[str, Any], *keys: str) -> None:
    """Set each of ``keys`` that ``section`` leaves out to its value in ``defaults``, where it has one."""
    for key in keys:
        if key in defaults:
            section.setdefault(key, defaults[key])
