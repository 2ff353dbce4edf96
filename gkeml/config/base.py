"""Building blocks of every config model: the strict base class, shared value types and the
patterns with their human wording (used in error messages)."""

from __future__ import annotations

import ipaddress
import math
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from gkeml.text import one_line  # noqa: F401 - the one escaper (gkeml.text); config messages import it from here

Problem = tuple[tuple, str]  # (path of the offending key, message)


DNS_LABEL = r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$"
NAME = r"^[a-z]([-a-z0-9]{0,28}[a-z0-9])?$"  # short resource-name part
QUANTITY = r"^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$"
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
    HOST: "a fully qualified lowercase host name such as chat.example.com (no wildcards)",
    PROJECT_ID: "6-30 lowercase letters, digits and '-', starting with a letter",
    PROJECT_NUMBER: "the project NUMBER (6-19 digits), from `gcloud projects describe PROJECT_ID`",
    BUCKET_NAME: "3-63 lowercase letters, digits, '-', '_' and '.'",
    ROLE: "a role such as roles/logging.logWriter",
    LABEL_KEY: "a label key: a lowercase letter, then at most 62 of a-z 0-9 '-' '_'",
    LABEL_VALUE: "a label value: at most 63 of a-z 0-9 '-' '_'",
}

# Kubernetes stores these counts as int32 (replicas, ports, GPU counts in quotas).
INT32_MAX = 2**31 - 1


def at(field: str, message: str) -> ValueError:
    """A model-level error that belongs to one field (dotted for nested ones): the loader reports
    that field's line."""
    return ValueError(f"@{field}: {message}")


def at_each(problems: list[tuple[str, str]]) -> ValueError:
    """Several model-level errors at once, each belonging to one field (see :func:`at`); the
    loader reports each at its field's line."""
    return ValueError("\n".join(f"@{field}: {message}" for field, message in problems))


class Strict(BaseModel):
    """Base: unknown keys are errors, values are not coerced between types."""

    model_config = ConfigDict(extra="forbid", strict=True, validate_default=True)


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


def _cidr(value: object) -> ipaddress.IPv4Network:
    try:
        return ipaddress.IPv4Network(str(value), strict=True)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not an IPv4 network in CIDR form like 10.0.0.0/20 ({exc})") from None


DnsLabel = Annotated[str, Field(pattern=DNS_LABEL, max_length=63)]
ShortName = Annotated[str, Field(pattern=NAME)]
Quantity = Annotated[str, BeforeValidator(_number_as_text), Field(pattern=QUANTITY), AfterValidator(_finite_size)]
Cidr = Annotated[ipaddress.IPv4Network, BeforeValidator(_cidr)]
Int32 = Annotated[int, Field(le=INT32_MAX)]
Labels = Annotated[
    dict[Annotated[str, Field(pattern=LABEL_KEY)], Annotated[str, Field(pattern=LABEL_VALUE)]],
    Field(max_length=MAX_LABELS),
]


def resolved(description: str, default: str, **kwargs: Any) -> Any:
    """A field the file may leave out: :class:`~gkeml.config.model.Environment` fills it in from
    the tier (or another field) BEFORE validation, so the model's type is never Optional. The JSON
    Schema and the reference show ``default`` and do not mark the field required."""
    return Field(description=description, json_schema_extra={"x-resolved-default": default}, **kwargs)
