"""Environment configuration: typed model, YAML loader with file/line errors, JSON Schema."""

from gkeml.config.loader import ConfigError, ConfigProblem, load_environment, load_environments, parse
from gkeml.config.model import Environment

__all__ = ["ConfigError", "ConfigProblem", "Environment", "load_environment", "load_environments", "parse"]
