"""Markdown reference of the environment file, generated from the model
(``python -m gkeml.config.reference > docs/config-reference.md``)."""

from __future__ import annotations

import types
import typing

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from gkeml.config.model import Environment


def title(model: type[BaseModel]) -> str:
    """A section's heading: the model's title (what the file calls it: ``Network``, not ``NetworkConfig``)."""
    return model.model_config.get("title") or model.__name__


def _type_name(annotation) -> str:
    origin = typing.get_origin(annotation)
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if origin is typing.Literal:
        return " \\| ".join(f"`{a}`" for a in typing.get_args(annotation))
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin is list:
        return f"list of {_type_name(args[0])}"
    if origin is dict:
        return "map"
    if origin in (typing.Union, types.UnionType):  # Optional[X] and X | None
        return " \\| ".join(_type_name(a) for a in args)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return f"[{title(annotation)}](#{title(annotation).lower()})"
    return getattr(annotation, "__name__", str(annotation))


def _models(model: type[BaseModel], seen: list) -> list[type[BaseModel]]:
    if model in seen:
        return seen
    seen.append(model)
    for field in model.model_fields.values():
        stack = [field.annotation]
        while stack:
            a = stack.pop()
            if isinstance(a, type) and issubclass(a, BaseModel):
                _models(a, seen)
            stack.extend(typing.get_args(a))
    return seen


def reference() -> str:
    lines = [
        "# Environment file reference",
        "",
        "Generated from `gkeml/config/model.py` by `python -m gkeml.config.reference`. "
        "Unknown keys are errors. `-` in *default* means required.",
        "",
    ]
    for model in _models(Environment, []):
        summary = " ".join((model.__doc__ or "").strip().split("\n\n")[0].split())  # the docstring's first paragraph
        lines += [
            f"## {title(model)}",
            "",
            summary,
            "",
            "| key | type | default | description |",
            "|---|---|---|---|",
        ]
        for name, field in model.model_fields.items():
            extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
            if "x-resolved-default" in extra:
                default = str(extra["x-resolved-default"])
            elif field.default is not PydanticUndefined:
                default = f"`{field.default}`" if field.default is not None else "unset"
            elif field.default_factory is not None:
                value = field.get_default(call_default_factory=True, validated_data={})
                if isinstance(value, BaseModel):
                    default = "see its section"
                else:
                    default = f"`{', '.join(map(str, value))}`" if value else "empty"
            else:
                default = "-"
            description = (field.description or "").replace("|", r"\|")  # a bare '|' would end the table cell
            lines.append(f"| `{name}` | {_type_name(field.annotation)} | {default} | {description} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(reference())
