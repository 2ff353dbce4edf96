"""JSON Schema of environment files, for editors (``make schema`` writes schema/environment.schema.json)."""

from __future__ import annotations

import json

from gkeml.config.model import Environment


def environment_schema() -> dict:
    schema = Environment.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://github.com/gkeml/gkeml/schema/environment.schema.json"
    schema["title"] = "gkeml environment"
    return schema


if __name__ == "__main__":
    print(json.dumps(environment_schema(), indent=2, sort_keys=True))
