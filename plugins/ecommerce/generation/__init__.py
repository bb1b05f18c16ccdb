"""Deterministic, vectorized generator of a shop's daily raw files (numpy + Faker vocabularies).

``generate_day(config, date, out_dir)`` writes ``out_dir/<date>/`` in the raw file contract.
"""

from ecommerce.generation.config import GeneratorConfig
from ecommerce.generation.writer import GENERATOR_VERSION, generate_day

__all__ = ["GENERATOR_VERSION", "GeneratorConfig", "generate_day"]
