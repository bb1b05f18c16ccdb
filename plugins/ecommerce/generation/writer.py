"""Write one business date's raw files and manifest, in the raw file contract."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import shutil
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd

from ecommerce.contract import RAW_COLUMNS, RAW_TABLES, file_name
from ecommerce.generation.config import GeneratorConfig, day_index
from ecommerce.generation.csv_format import csv_text
from ecommerce.generation.defects import inject
from ecommerce.generation.orders import IDS_PER_DAY, ChunkPlan, draw_chunk, plan_chunks
from ecommerce.generation.world import rng
from ecommerce.generation.snapshots import customer_snapshot, product_snapshot
from ecommerce.settings import available_cores

GENERATOR_VERSION = "1.0.0"


DEFECT_STREAM = 40


@dataclass(frozen=True)
class ChunkText:
    """One chunk of one file as UTF-8 CSV text, with its data lines and its defects counted."""

    data: bytes
    rows: int
    defects: Counter


def _chunk_text(config: GeneratorConfig, table: str, frame: pd.DataFrame, day: int, chunk: int = 0) -> ChunkText:
    """The chunk with its defects added (malformed lines spread through it); the file's header
    comes with chunk 0. The defects come from the chunk's own stream, as the rows do."""
    g = rng(config, DEFECT_STREAM, day, RAW_TABLES.index(table), chunk)
    defects = Counter()
    injected = inject(table, frame, config.defect_rate, g, defects, (day + 1) * IDS_PER_DAY, chunk)
    header = chunk == 0
    text = csv_text(injected.frame, RAW_COLUMNS[table], header=header)
    if injected.malformed:
        lines = text.split("\n")[:-1]
        for bad in injected.malformed:
            lines.insert(int(g.integers(int(header), len(lines) + 1)), bad)
        text = "\n".join(lines) + "\n"
    return ChunkText(text.encode(), len(injected.frame) + len(injected.malformed), defects)


def _order_texts(plan: ChunkPlan) -> tuple[ChunkText, ChunkText]:
    """A chunk of the day's orders drawn and written out: its transactions and its lines."""
    chunk = draw_chunk(plan)
    return (_chunk_text(plan.config, "transactions", chunk.transactions, plan.day, plan.number),
            _chunk_text(plan.config, "transaction_items", chunk.items, plan.day, plan.number))


@contextmanager
def _drawn(plans: list[ChunkPlan], workers: int) -> Iterator[Iterable[tuple[ChunkText, ChunkText]]]:
    """The chunks' texts in order. A day of several chunks is drawn by worker processes (forked,
    so nothing is imported again) while this one writes the snapshots; each chunk has its own
    random streams, so the files are the same either way. (A daemonic process, such as some
    executors' workers, may not start processes: there the chunks are drawn here, one by one.)"""
    workers = min(workers, len(plans))
    if (workers < 2 or multiprocessing.current_process().daemon
            or "fork" not in multiprocessing.get_all_start_methods()):
        yield map(_order_texts, plans)
        return
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        yield _in_order(pool, plans, ahead=workers)


def _in_order(pool: ProcessPoolExecutor, plans: list[ChunkPlan], ahead: int) -> Iterator[tuple[ChunkText, ChunkText]]:
    """The chunks' texts in order, at most ``ahead`` chunks drawn beyond the one being written:
    ``pool.map`` draws them all at once, and when this process falls behind (a loaded machine)
    their texts pile up here (a 1M-line day's writer grew from 200 to 440 MiB)."""
    pending: deque = deque()
    for plan in plans:
        pending.append(pool.submit(_order_texts, plan))
        if len(pending) > ahead:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def generate_day(config: GeneratorConfig, business_date: date, out_dir: Path, workers: int | None = None) -> dict:
    """Write ``out_dir/<date>/*.csv`` and ``manifest.json``; return the manifest.

    Files are written to a temporary sibling folder and moved into place at the end, so a
    reader never sees half a day; an existing folder for the date is replaced. A day of more
    than ORDERS_PER_CHUNK orders is drawn by ``workers`` processes (default: one per core).
    """
    day = day_index(business_date)
    target = out_dir / business_date.isoformat()
    work = out_dir / f".{business_date.isoformat()}.partial-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)

    counts = {table: 0 for table in RAW_COLUMNS}
    defects = {table: Counter() for table in RAW_COLUMNS}
    paths = {table: work / file_name(table) for table in RAW_COLUMNS}
    digests = {table: hashlib.sha256() for table in RAW_COLUMNS}

    def append(table: str, chunk: ChunkText) -> None:
        with paths[table].open("ab") as handle:
            handle.write(chunk.data)
        digests[table].update(chunk.data)
        counts[table] += chunk.rows
        defects[table] += chunk.defects

    with _drawn(plan_chunks(config, day), workers or available_cores()) as order_chunks:
        append("customers", _chunk_text(config, "customers", customer_snapshot(config, day), day))
        append("products", _chunk_text(config, "products", product_snapshot(config, day), day))
        for transactions, items in order_chunks:
            append("transactions", transactions)
            append("transaction_items", items)
    for table, path in paths.items():
        if not path.exists():  # a day without orders still gets a file with its header
            append(table, _chunk_text(config, table, pd.DataFrame(columns=RAW_COLUMNS[table]), day))

    manifest = {
        "business_date": business_date.isoformat(),
        "generator_version": GENERATOR_VERSION,
        "seed": config.seed,
        "config": config.as_dict(),
        "files": {
            file_name(table): {"rows": counts[table], "sha256": digests[table].hexdigest()} for table in RAW_COLUMNS
        },
        "defects": {table: dict(sorted(kinds.items())) for table, kinds in defects.items() if kinds},
    }
    (work / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    shutil.rmtree(target, ignore_errors=True)
    work.rename(target)
    return manifest
