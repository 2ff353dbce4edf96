"""Environment configuration: typed model, YAML loader with file/line errors, JSON Schema.

Loading environment FILES (with the checks of derived names) is :mod:`gkeml.environments`.
"""

from gkeml.config.loader import ConfigError, ConfigProblem, parse
from gkeml.config.model import Environment

__all__ = ["ConfigError", "ConfigProblem", "Environment", "parse"]
