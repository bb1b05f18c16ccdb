"""Deterministic, vectorized generator of a shop's daily raw files (numpy + Faker vocabularies).

``writer.generate_day(config, date, out_dir)`` writes ``out_dir/<date>/`` in the raw file
contract; ``python -m ecommerce.generation`` is its command line. This package module imports
nothing heavy, so DAG files can read ``config`` defaults at parse time.
"""
