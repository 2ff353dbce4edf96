"""JSON Schema of environment files, for editors (``make schema`` writes schema/environment.schema.json)."""

from __future__ import annotations

import json

from gkeml.config.model import Environment


def _optional_resolved(node: object) -> None:
    """Fields the model fills in before validation (``x-resolved-default``) are optional in files."""
    if isinstance(node, dict):
        props = node.get("properties")
        for prop in (props or {}).values() if isinstance(props, dict) else ():
            if (
                isinstance(prop, dict)
                and "x-resolved-default" in prop
                and "Default:" not in prop.get("description", "")
            ):
                prop["description"] = f"{prop.get('description', '')} Default: {prop['x-resolved-default']}.".strip()
            if isinstance(prop, dict) and "x-resolved-default" in prop:
                prop.pop("default", None)  # a placeholder the model replaces (e.g. kueue.enabled): not the default
        if isinstance(props, dict) and "required" in node:
            node["required"] = [k for k in node["required"] if "x-resolved-default" not in props.get(k, {})]
            if not node["required"]:
                del node["required"]
        for value in node.values():
            _optional_resolved(value)
    elif isinstance(node, list):
        for value in node:
            _optional_resolved(value)


def environment_schema() -> dict:
    """JSON Schema (draft 2020-12) of an environment file as users write it."""
    schema = Environment.model_json_schema(mode="validation")
    _optional_resolved(schema)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://github.com/gkeml/gkeml/schema/environment.schema.json"
    schema["title"] = "gkeml environment"
    return schema


if __name__ == "__main__":
    print(json.dumps(environment_schema(), indent=2, sort_keys=True))
