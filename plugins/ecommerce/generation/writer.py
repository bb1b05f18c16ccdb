"""Write one business date's raw files and manifest, in the raw file contract."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from datetime import date
from pathlib import Path

import pandas as pd

from ecommerce.contract import RAW_COLUMNS, file_name
from ecommerce.generation.config import GeneratorConfig, day_index
from ecommerce.generation.orders import orders_for_day
from ecommerce.generation.snapshots import customer_snapshot, product_snapshot

GENERATOR_VERSION = "1.0.0"


def _append_csv(frame: pd.DataFrame, path: Path, table: str) -> int:
    header = not path.exists()
    frame.loc[:, list(RAW_COLUMNS[table])].to_csv(
        path, mode="a", header=header, index=False, lineterminator="\n", float_format="%.2f",
    )
    return len(frame)


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
    paths = {table: work / file_name(table) for table in RAW_COLUMNS}
    counts["customers"] = _append_csv(customer_snapshot(config, day), paths["customers"], "customers")
    counts["products"] = _append_csv(product_snapshot(config, day), paths["products"], "products")
    for chunk in orders_for_day(config, day):
        counts["transactions"] += _append_csv(chunk.transactions, paths["transactions"], "transactions")
        counts["transaction_items"] += _append_csv(chunk.items, paths["transaction_items"], "transaction_items")
    for table, path in paths.items():
        if not path.exists():  # a day without orders still gets a file with its header
            _append_csv(pd.DataFrame(columns=RAW_COLUMNS[table]), path, table)

    manifest = {
        "business_date": business_date.isoformat(),
        "generator_version": GENERATOR_VERSION,
        "seed": config.seed,
        "config": config.as_dict(),
        "files": {
            file_name(table): {"rows": counts[table], "sha256": _sha256(paths[table])} for table in RAW_COLUMNS
        },
        "defects": {},
    }
    (work / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    shutil.rmtree(target, ignore_errors=True)
    work.rename(target)
    return manifest
