"""The dashboard's lineage view, built from the OpenLineage events the tasks emitted.

Reads the JSON-lines file of the file transport (the local default, ``<data root>/lineage/
events.jsonl``) and keeps, per task, its latest completed run: each of its inputs feeds each
output it reported rows for, with those rows. Only edges that move data a layer forward (raw
files -> staging -> production -> warehouse -> analytics) are drawn; the event file (or
Marquez) holds the whole graph.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from ecommerce.settings import data_dir

LAYERS = ("raw files", "staging", "production", "warehouse", "analytics")
#: How much of the end of the event file to read: the latest runs are there.
TAIL_BYTES = 64 * 2**20
COLUMNS = ["source", "target", "task", "rows", "source_layer", "target_layer", "event_time"]


def events_file() -> Path | None:
    """The file transport's file: from the OpenLineage transport setting, else the default."""
    setting = os.environ.get("AIRFLOW__OPENLINEAGE__TRANSPORT")
    if setting:
        transport = json.loads(setting)
        return Path(transport["log_file_path"]) if transport.get("type") == "file" else None
    return data_dir() / "lineage" / "events.jsonl"


def read_events(path: Path | None, tail_bytes: int = TAIL_BYTES, containing: bytes = b"") -> list[dict]:
    """The events in the last ``tail_bytes`` of ``path`` (none when there is no file); only
    those whose line holds ``containing``, if given (an event is some 9 KB of JSON: lines
    skipped unparsed save most of the time)."""
    if path is None or not path.is_file():
        return []
    with path.open("rb") as file:
        file.seek(max(0, path.stat().st_size - tail_bytes))
        lines = file.read().splitlines()
    if path.stat().st_size > tail_bytes:
        lines = lines[1:]  # the first line read may start mid-event
    return [json.loads(line) for line in lines if line.strip() and containing in line]


def dag_run_id(event: dict) -> str | None:
    """The Airflow run a task event belongs to (None for other events)."""
    return ((event.get("run") or {}).get("facets") or {}).get("airflow", {}).get("dagRun", {}).get("run_id")


def _node(dataset: dict) -> tuple[str, str]:
    """(label, layer) of a dataset: a file by its name, a table as schema.table."""
    if dataset["namespace"] == "file":
        return Path(dataset["name"]).name, "raw files"
    schema_table = dataset["name"].split(".", 1)[-1]
    return schema_table, schema_table.split(".")[0]


def last_run_edges(events: list[dict], dag_id: str = "ecommerce_pipeline") -> pd.DataFrame:
    """One row per edge of each task's latest completed run, moving data a layer forward."""
    latest: dict[str, dict] = {}
    for event in events:
        if event.get("eventType") != "COMPLETE" or not event["job"]["name"].startswith(f"{dag_id}."):
            continue
        task = event["job"]["name"].removeprefix(f"{dag_id}.")
        if task not in latest or event["eventTime"] >= latest[task]["eventTime"]:
            latest[task] = event
    rows = []
    for task, event in sorted(latest.items()):
        for source in event.get("inputs") or []:
            source_label, source_layer = _node(source)
            for target in event.get("outputs") or []:
                target_label, target_layer = _node(target)
                written = (target.get("outputFacets") or {}).get("outputStatistics", {}).get("rowCount")
                # Tables a task writes on the side (keys to revisit, stale dates) carry no row count.
                if written is not None and source_layer in LAYERS and target_layer in LAYERS \
                        and LAYERS.index(source_layer) < LAYERS.index(target_layer):
                    rows.append((source_label, target_label, task, written, source_layer, target_layer,
                                 event["eventTime"]))
    return pd.DataFrame(rows, columns=COLUMNS)


def read() -> pd.DataFrame:
    """The edges of the latest run of each task, from this deployment's event file."""
    return last_run_edges(read_events(events_file(), containing=b'"COMPLETE"'))
