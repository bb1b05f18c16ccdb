"""``python -m ecommerce.generation --date D --out DIR [--seed S] [--orders N] [--defect-rate R]``"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import fields
from datetime import date
from pathlib import Path

from ecommerce.generation.config import GeneratorConfig
from ecommerce.generation.writer import generate_day


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ecommerce.generation", description=__doc__)
    parser.add_argument("--date", required=True, type=date.fromisoformat, help="business date, YYYY-MM-DD")
    parser.add_argument("--out", required=True, type=Path, help="folder that receives <date>/")
    defaults = GeneratorConfig()
    for field in fields(GeneratorConfig):
        parser.add_argument(f"--{field.name.replace('_', '-')}", type=type(getattr(defaults, field.name)),
                            default=getattr(defaults, field.name))
    args = parser.parse_args(argv)
    try:
        config = GeneratorConfig(**{field.name: getattr(args, field.name) for field in fields(GeneratorConfig)})
    except ValueError as error:
        parser.error(str(error))
    manifest = generate_day(config, args.date, args.out)
    json.dump(manifest["files"], sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
