"""How long a date's analytics layer takes with another date loading at once, and alone.

Loads ``HISTORY`` default dates in order, then, per round, two dates started together and one
date alone, each through production, warehouse and analytics as the DAG orders them: a task
starts once the tasks it runs after have ended, on a new connection, in one of ``SLOTS`` slots
shared by both dates (the ``ecommerce_warehouse`` pool). Prints, per date, each task group's
wall time (its first task's start to its last task's end) and the task-seconds spent waiting
on advisory locks, per layer; then the medians. Threads of one process stand in for Airflow's
task processes; ``publish_insights`` (it only logs) is left out. docs/scaling.md has figures.

Run inside the bench profile: ``PYTHONPATH=plugins:local:dags .venv/bin/python -m ecommerce_local
exec --profile bench -- .venv/bin/python tests/benchmarks/layer_overlap.py``.
"""

from __future__ import annotations

import logging
import os
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace

import psycopg

from ecommerce_local.warehouse import psycopg_conninfo

os.environ.setdefault("AIRFLOW__LOGGING__NAMESPACE_LEVELS", "airflow.task=ERROR")
SLOTS = 4
HISTORY = 28
ROUNDS = 6
FIRST = date(2026, 5, 1)


def context(task_id: str) -> dict:
    return {"ti": SimpleNamespace(dag_id="overlap", run_id="overlap", task_id=task_id, try_number=1),
            "run_id": "overlap"}


def graph() -> dict[str, tuple[list[str], object]]:
    """Every task of a date's load after staging: its upstream tasks and what runs it."""
    import ecommerce_pipeline as pipeline
    from ecommerce.forecast import refresh
    from ecommerce.models import task_id
    from ecommerce.operators import SqlModelOperator

    tasks, previous_layer = {}, []
    for layer, models in (("production", pipeline.PRODUCTION_MODELS), ("warehouse", pipeline.WAREHOUSE_MODELS),
                          ("analytics", pipeline.ANALYTICS_MODELS)):
        names = {model: f"{layer}.{task_id(model)}" for model in models}
        downstream = {name for upstream in models.values() for name in upstream}
        for model, upstream in models.items():
            after = [names.get(name, f"{layer}.{name}") for name in upstream]  # the forecast: a Python task
            tasks[names[model]] = (after or previous_layer,
                                   lambda conn, day, model=model, layer=layer, task_id=names[model]: SqlModelOperator(
                                       task_id=task_id, sql=f"{layer}/{model}.sql", business_date=day).run(
                                       conn, context(task_id)))
        if layer == "analytics":
            tasks["analytics.forecast"] = (previous_layer, lambda conn, day: forecast(conn, refresh))
        previous_layer = [names[model] for model in models if model not in downstream]
    return tasks


def forecast(conn, refresh) -> None:
    with conn.transaction(), conn.cursor() as cursor:
        refresh(cursor)


def load(conninfo: str, days: list[str], pool: ThreadPoolExecutor, log: list) -> None:
    """Load ``days`` at once, each task as soon as its upstream tasks have ended."""
    tasks = graph()
    lock = threading.Lock()
    finished = threading.Event()
    done: set[tuple[str, str]] = set()
    started: set[tuple[str, str]] = set()
    errors = []

    def run(day: str, task_id: str) -> None:
        try:
            with psycopg.connect(conninfo, autocommit=True, prepare_threshold=None) as conn:
                RUNNING[conn.info.backend_pid] = (day, task_id)
                began = time.perf_counter()
                tasks[task_id][1](conn, day)
                log.append((day, task_id, began, time.perf_counter()))
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append((day, task_id, error))
            finished.set()
            return
        with lock:
            done.add((day, task_id))
            submit_ready()

    def submit_ready() -> None:
        if len(done) == len(tasks) * len(days):
            finished.set()
        for day in days:
            for task_id, (upstream, _) in tasks.items():
                if (day, task_id) not in started and all((day, name) in done for name in upstream):
                    started.add((day, task_id))
                    pool.submit(run, day, task_id)

    with lock:
        submit_ready()
    finished.wait()
    assert not errors, errors


#: The task each backend runs (by its pid), for the lock-wait samples.
RUNNING: dict[int, tuple[str, str]] = {}


def waited_on_locks(conninfo: str, stop: threading.Event, samples: list) -> None:
    """Sample, every 20 ms, the tasks whose backends wait on an advisory lock."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        while not stop.is_set():
            samples += [RUNNING.get(pid) for (pid,) in conn.execute(
                "select pid from pg_stat_activity where wait_event_type = 'Lock' and wait_event = 'advisory'")]
            time.sleep(0.02)


def stage(conninfo: str, days: list[date], out: Path) -> None:
    from ecommerce.contract import RAW_TABLES
    from ecommerce.generation.config import GeneratorConfig
    from ecommerce.generation.writer import generate_day
    from ecommerce.operators.csv_to_staging import CsvToStagingOperator
    from ecommerce.schema import apply_schema

    with psycopg.connect(conninfo, autocommit=True) as conn:
        for schema in ("staging", "quarantine", "audit", "production", "warehouse", "analytics"):
            conn.execute(f"drop schema if exists {schema} cascade")
        apply_schema(conn)
    for day in days:
        generate_day(GeneratorConfig(), day, out)
        for table in RAW_TABLES:
            CsvToStagingOperator(task_id=table, table=table, source_dir=str(out / day.isoformat()),
                                 business_date=day.isoformat()).execute(context(f"ingest_staging.{table}"))


def layer_wall(log: list, day: str, layer: str = "analytics") -> float:
    """A task group's wall time for the date: its first task's start to its last task's end."""
    spans = [(began, ended) for logged_day, task_id, began, ended in log
             if logged_day == day and task_id.startswith(f"{layer}.")]
    return max(ended for _, ended in spans) - min(began for began, _ in spans)


def run() -> None:
    logging.getLogger("ecommerce").setLevel(logging.WARNING)
    conninfo = psycopg_conninfo(os.environ["AIRFLOW_CONN_ECOMMERCE_WAREHOUSE"])
    days = [FIRST + timedelta(days=n) for n in range(HISTORY + 3 * ROUNDS)]
    # imported once before any timing: Airflow pays it in every forecast task, the same before and after
    import statsmodels.tsa.exponential_smoothing.ets  # noqa: F401

    with tempfile.TemporaryDirectory() as scratch, ThreadPoolExecutor(SLOTS) as pool:
        stage(conninfo, days, Path(scratch))
        log: list = []
        for day in days[:HISTORY]:
            load(conninfo, [day.isoformat()], pool, log)
        rest = [day.isoformat() for day in days[HISTORY:]]
        figures: dict[str, list[float]] = {"two at once": [], "alone": [], "pair's whole load": [],
                                           "lock waits, two at once": []}
        for number in range(ROUNDS):
            pair, alone = rest[3 * number:3 * number + 2], rest[3 * number + 2]
            for together in (pair, [alone]):
                log, samples, stop = [], [], threading.Event()
                sampler = threading.Thread(target=waited_on_locks, args=(conninfo, stop, samples))
                sampler.start()
                started = time.perf_counter()
                load(conninfo, together, pool, log)
                whole = time.perf_counter() - started
                stop.set()
                sampler.join()
                waiting = len(samples) * 0.02
                by_layer = {layer: 0.02 * sum(1 for sample in samples if sample and sample[1].startswith(layer))
                            for layer in ("production", "warehouse", "analytics")}
                if len(together) == 2:
                    figures["two at once"] += [layer_wall(log, day) for day in together]
                    figures["pair's whole load"].append(whole)
                    figures["lock waits, two at once"].append(waiting)
                else:
                    figures["alone"].append(layer_wall(log, together[0]))
                walls = ", ".join(f"{day} " + " ".join(f"{layer[0]} {layer_wall(log, day, layer):.2f}s"
                                                       for layer in ("production", "warehouse", "analytics"))
                                  for day in together)
                print(f"{'two at once' if len(together) == 2 else 'alone      '}: {walls}; "
                      f"whole load {whole:.2f}s; task-seconds waiting on advisory locks {waiting:.2f} "
                      f"({', '.join(f'{layer} {seconds:.2f}' for layer, seconds in by_layer.items())})", flush=True)
        for name, values in figures.items():
            print(f"median {name}: {statistics.median(values):.2f}s (of {len(values)}: "
                  f"{min(values):.2f}-{max(values):.2f}s)")


if __name__ == "__main__":
    run()
