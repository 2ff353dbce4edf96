"""Environment configuration: typed model, YAML loader with file/line errors, JSON Schema."""

from gkeml.config.loader import (
    ConfigError, ConfigProblem, environment_file, load_environment, load_environments, load_named_environment, parse,
)
from gkeml.config.model import Environment

__all__ = [
    "ConfigError", "ConfigProblem", "Environment", "environment_file", "load_environment", "load_environments",
    "load_named_environment", "parse",
]
