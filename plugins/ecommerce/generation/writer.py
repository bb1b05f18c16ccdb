"""Write one business date's raw files and manifest, in the raw file contract."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections import Counter
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from ecommerce.contract import RAW_COLUMNS, RAW_TABLES, file_name
from ecommerce.generation.config import GeneratorConfig, day_index
from ecommerce.generation.csv_format import csv_text
from ecommerce.generation.defects import Injected, inject
from ecommerce.generation.orders import IDS_PER_DAY, orders_for_day
from ecommerce.generation.world import rng
from ecommerce.generation.snapshots import customer_snapshot, product_snapshot

GENERATOR_VERSION = "1.0.0"


DEFECT_STREAM = 40


def _append_csv(table: str, injected: Injected, path: Path, g: np.random.Generator | None = None) -> int:
    """Append a chunk (with any malformed lines spread through it); return the data lines."""
    text = csv_text(injected.frame, RAW_COLUMNS[table], header=not path.exists())
    if injected.malformed:
        lines = text.split("\n")[:-1]
        first = 1 if not path.exists() else 0
        for bad in injected.malformed:
            lines.insert(int(g.integers(first, len(lines) + 1)), bad)
        text = "\n".join(lines) + "\n"
    with path.open("a", encoding="utf-8", newline="") as handle:
        handle.write(text)
    return len(injected.frame) + len(injected.malformed)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def generate_day(config: GeneratorConfig, business_date: date, out_dir: Path) -> dict:
    """Write ``out_dir/<date>/*.csv`` and ``manifest.json``; return the manifest.

    Files are written to a temporary sibling folder and moved into place at the end, so a
    reader never sees half a day; an existing folder for the date is replaced.
    """
    day = day_index(business_date)
    target = out_dir / business_date.isoformat()
    work = out_dir / f".{business_date.isoformat()}.partial-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)

    counts = {table: 0 for table in RAW_COLUMNS}
    defects = {table: Counter() for table in RAW_COLUMNS}
    paths = {table: work / file_name(table) for table in RAW_COLUMNS}
    first_id = (day + 1) * IDS_PER_DAY

    def write(table: str, frame: pd.DataFrame, chunk: int = 0) -> None:
        g = rng(config, DEFECT_STREAM, day, RAW_TABLES.index(table), chunk)
        injected = inject(table, frame, config.defect_rate, g, defects[table], first_id, chunk)
        counts[table] += _append_csv(table, injected, paths[table], g)

    write("customers", customer_snapshot(config, day))
    write("products", product_snapshot(config, day))
    for number, chunk in enumerate(orders_for_day(config, day)):
        write("transactions", chunk.transactions, number)
        write("transaction_items", chunk.items, number)
    for table, path in paths.items():
        if not path.exists():  # a day without orders still gets a file with its header
            _append_csv(table, Injected(pd.DataFrame(columns=RAW_COLUMNS[table])), path)

    manifest = {
        "business_date": business_date.isoformat(),
        "generator_version": GENERATOR_VERSION,
        "seed": config.seed,
        "config": config.as_dict(),
        "files": {
            file_name(table): {"rows": counts[table], "sha256": _sha256(paths[table])} for table in RAW_COLUMNS
        },
        "defects": {table: dict(sorted(kinds.items())) for table, kinds in defects.items() if kinds},
    }
    (work / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    shutil.rmtree(target, ignore_errors=True)
    work.rename(target)
    return manifest
