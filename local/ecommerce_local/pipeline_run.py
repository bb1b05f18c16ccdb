"""``make run``: the pipeline for a range of business dates, oldest first, then a summary.

The dates run in a lane per core (two at most, the DAG's ``max_active_runs``): one Airflow
process each (``ecommerce_local.dag_runs``), each date a real DagRun; their output is shown date
by date, in order (``ecommerce_local.lanes``).

Dates may be run in any order (``make run`` of an older range after a newer one is fine); two
``make run`` on the same machine take turns.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from ecommerce.settings import available_cores
from ecommerce_local import lanes, summary


def business_dates(last: str, days: int, first: str = "") -> list[date]:
    """The dates from ``first`` (or the ``days`` dates) up to ``last``, oldest first.

    ``last`` defaults to yesterday, UTC: the latest complete business day.
    """
    end = date.fromisoformat(last) if last else datetime.now(timezone.utc).date() - timedelta(days=1)
    if first:
        days = (end - date.fromisoformat(first)).days + 1
    if days < 1:
        raise SystemExit(f"no business dates to run: {first or days} .. {end}")
    return [end - timedelta(days=offset) for offset in range(days - 1, -1, -1)]


@contextmanager
def one_make_run_at_a_time(airflow_home: str) -> Iterator[None]:
    """Hold the AIRFLOW_HOME's run lock; a second ``make run`` waits here, saying so.

    ``airflow dags test`` replaces any run of the same logical date in the metadata database,
    so two ``make run`` on one AIRFLOW_HOME would break each other's runs. The lock is a file
    lock: it goes with the process, even a killed one.
    """
    path = Path(airflow_home) / "make-run.lock"
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            print(f"==> another make run (pid {handle.read().strip() or '?'}) is running on {airflow_home}; "
                  "waiting for it to finish", flush=True)
            fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield


def run(args, env: dict[str, str]) -> int:
    dates = business_dates(args.date, args.days, args.start)
    with one_make_run_at_a_time(env["AIRFLOW_HOME"]):
        return _run(args, env, dates)


def _run(args, env: dict[str, str], dates: list[date]) -> int:
    started = time.perf_counter()
    runs = []
    for number, business_date in enumerate(dates, start=1):
        conf = {"business_date": business_date.isoformat(), "source": args.source}
        if args.landing:
            conf["landing_dir"] = str(Path(args.landing).resolve())
        if args.orders:
            conf["orders"] = args.orders
        # The logical date is the end of the business date's interval, as for a scheduled run.
        runs.append({"number": number, "logical_date": (business_date + timedelta(days=1)).isoformat(), "conf": conf})
    # A lane per core: Airflow starts and parses the DAGs once in each (ecommerce_local.dag_runs).
    dealt = lanes.deal(runs, lanes.lane_count(len(dates), available_cores()))
    with tempfile.TemporaryDirectory(prefix="make-run-", dir=env["AIRFLOW_HOME"]) as folder:
        commands = []
        for number, lane_runs in enumerate(dealt):
            plan = Path(folder) / f"lane-{number}.json"
            plan.write_text(json.dumps({"runs": lane_runs, "total": len(dates), "dashboards": number == 0}))
            commands.append([sys.executable, "-m", "ecommerce_local.dag_runs", str(plan)])
        output = lanes.OrderedOutput(_print, lambda line: lanes.section_of(line, len(dates)))
        status = lanes.run_lanes(commands, env, output)
    if status != 0:
        return status
    print(f"\n{len(dates)} business date(s) processed in {time.perf_counter() - started:.0f}s\n")
    print(summary.render(env["AIRFLOW_CONN_ECOMMERCE_WAREHOUSE"], env["ECOMMERCE_DATA_DIR"]))
    return 0


def _print(line: str) -> None:
    sys.stdout.write(line)
    sys.stdout.flush()
