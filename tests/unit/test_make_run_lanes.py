"""`make run` in lanes: dates dealt out to processes side by side, their output in date order,
a failure stopping the other lanes, the dashboards once after every date.

The lanes here are real processes running the real lane loop (``dag_runs.run_lane``) and the real
orders on their standard input; only a date's work is a stand-in (lines printed with pauses, or
a failure), so no Airflow starts.
"""

from __future__ import annotations

import inspect
import json
import logging
import os
import sys

import pytest

from ecommerce_local import lanes
from ecommerce_local.dag_runs import DAG_TEST_LOGGER, OneWaitWarning
from ecommerce_local.lanes import Orders

#: A lane: runs its plan with run_lane. A date prints three lines, logs its start and end to a
#: file; a date named in WAITS first waits (up to a minute) for what it names there: another
#: date's start in the log, or the order to stop. A date listed in FAIL fails.
FAKE_LANE = """
import json, sys, time
from pathlib import Path
from ecommerce_local.dag_runs import run_lane
from ecommerce_local.lanes import Orders
plan, fail, waits = json.load(open(sys.argv[1])), json.loads(sys.argv[2]), json.loads(sys.argv[3])
log = Path(sys.argv[4])
orders = Orders(sys.stdin.fileno())
print(f"lane {sys.argv[5]} started", flush=True)

def note(what):
    with log.open("a") as f:
        f.write(json.dumps([what, time.monotonic()]) + "\\n")

def waited(what):
    if what == "stop":
        return orders.stop()
    return log.exists() and what in [event for event, _ in map(json.loads, log.read_text().splitlines())]

def run_date(planned):
    number = planned["number"]
    note(f"start {number}")
    deadline = time.monotonic() + 60
    while str(number) in waits and not waited(waits[str(number)]) and time.monotonic() < deadline:
        time.sleep(0.05)
    for step in range(3):
        print(f"date {number} line {step}", flush=True)
    note(f"end {number}")
    if number in fail:
        print(f"date {number} failed", file=sys.stderr, flush=True)
    return number not in fail

def refresh():
    note("refresh")
    print("dashboards refreshed", flush=True)
    return True

sys.exit(run_lane(plan, orders, run_date, refresh))
"""


def run_fake(tmp_path, dates: int, lane_count: int, fail: tuple[int, ...] = (), waits: dict[int, str] | None = None):
    """Exit status, the lines printed, and (event, time) of what the lanes did."""
    script = tmp_path / "lane.py"
    script.write_text(FAKE_LANE)
    log = tmp_path / "happened.jsonl"
    runs = [{"number": n, "logical_date": "", "conf": {"business_date": f"day {n}"}} for n in range(1, dates + 1)]
    commands = []
    for number, lane_runs in enumerate(lanes.deal(runs, lane_count)):
        plan = tmp_path / f"lane-{number}.json"
        plan.write_text(json.dumps({"runs": lane_runs, "total": dates, "dashboards": number == 0}))
        commands.append([sys.executable, str(script), str(plan), json.dumps(fail), json.dumps(waits or {}), str(log),
                         str(number)])
    printed: list[str] = []
    output = lanes.OrderedOutput(printed.append, lambda line: lanes.section_of(line, dates))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    status = lanes.run_lanes(commands, env, output)
    happened = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return status, [line.rstrip("\n") for line in printed], happened


def test_lanes_run_side_by_side_and_print_date_after_date(tmp_path):
    status, printed, happened = run_fake(tmp_path, dates=5, lane_count=2, waits={1: "start 2"})
    assert status == 0
    when = dict(happened)
    assert when["start 2"] < when["end 1"], "date 2 started while date 1 ran (it waits for that)"
    expected = []
    for number in range(1, 6):
        if number <= 2:  # a lane's lines before its first date go with that date
            expected.append(f"lane {number - 1} started")
        expected.append(f"==> [{number}/5] ecommerce_pipeline for business date day {number}")
        expected += [f"date {number} line {step}" for step in range(3)]
    assert printed == [*expected, "==> refresh_dashboards", "dashboards refreshed"]
    assert [what for what, _ in happened].count("refresh") == 1
    assert when["refresh"] > max(at for what, at in happened if what.startswith("end")), "after every date"


def test_a_later_dates_lines_wait_for_every_earlier_date():
    printed = []
    output = lanes.OrderedOutput(printed.append, lambda line: lanes.section_of(line, 3))
    output.line(1, "starting\n")
    output.line(1, "==> [2/3] ecommerce_pipeline for business date b\n")
    output.line(1, "b 1\n")
    output.line(0, "==> [1/3] ecommerce_pipeline for business date a\n")
    output.line(0, "a 1\n")
    assert printed == ["==> [1/3] ecommerce_pipeline for business date a\n", "a 1\n"], "date 1 as it comes"
    output.line(1, "b 2\n")
    output.ended(1)
    output.line(0, "a 2\n")
    assert printed[-1] == "a 2\n", "date 2's lines wait while date 1 runs"
    output.line(0, "==> [3/3] ecommerce_pipeline for business date c\n")
    assert printed[2:] == ["a 2\n", "starting\n", "==> [2/3] ecommerce_pipeline for business date b\n",
                           "b 1\n", "b 2\n", "==> [3/3] ecommerce_pipeline for business date c\n"]
    output.ended(0)
    output.close()
    assert len(printed) == 8


def test_a_failed_date_stops_the_other_lanes_and_no_dashboards(tmp_path):
    # Date 2 (lane 1) fails once date 1 (lane 0) has started; date 1 runs until lane 0 hears it
    # must stop.
    status, printed, happened = run_fake(tmp_path, dates=6, lane_count=2, fail=(2,),
                                         waits={1: "stop", 2: "start 1"})
    assert status == 1
    assert sorted(what for what, _ in happened if what.startswith("start")) == ["start 1", "start 2"]
    assert "refresh" not in dict(happened)
    assert printed.index("date 1 line 2") < printed.index("date 2 failed"), "still in date order"
    assert "==> [3/6] ecommerce_pipeline for business date day 3" not in printed


def test_one_lane_runs_every_date_then_the_dashboards(tmp_path):
    status, printed, happened = run_fake(tmp_path, dates=3, lane_count=1)
    assert status == 0
    assert [what for what, _ in happened] == ["start 1", "end 1", "start 2", "end 2", "start 3", "end 3", "refresh"]
    assert printed[-2:] == ["==> refresh_dashboards", "dashboards refreshed"]


@pytest.mark.parametrize("dates, cores, expected", [(14, 2, 2), (14, 1, 1), (1, 2, 1), (14, 16, 2)])
def test_lanes_are_the_cores_up_to_the_dags_max_active_runs_and_the_dates(dates, cores, expected):
    assert lanes.lane_count(dates, cores) == expected


def test_dates_are_dealt_in_turn():
    assert lanes.deal([1, 2, 3, 4, 5], 2) == [[1, 3, 5], [2, 4]]


def test_orders_stop_does_not_wait_and_go_waits_for_a_word():
    read, write = os.pipe()
    orders = Orders(read)
    assert not orders.stop(), "nothing said yet: stop() only looks"
    os.write(write, b"go\n")
    assert orders.go() and not orders.stop()
    os.close(write)
    os.close(read)


def test_a_stop_or_the_end_of_input_means_stop():
    read, write = os.pipe()
    orders = Orders(read)
    os.write(write, b"stop\n")
    assert orders.stop()
    assert not orders.go()
    os.close(write)
    other_read, other_write = os.pipe()
    os.close(other_write)
    assert not Orders(other_read).go(), "a closed input is a stop"
    os.close(other_read)


class Kept(logging.Handler):
    """The messages logged, as they would print."""

    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def test_a_wait_of_dag_test_is_one_warning_not_one_a_second():
    logger, handler = logging.getLogger(DAG_TEST_LOGGER), Kept()
    quiet, level = OneWaitWarning(), logger.level
    logger.addFilter(quiet)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        # as Airflow 3.3's dag.test() logs it, once a second while nothing can run
        for waiting in ({"a", "b", "c"}, {"b", "c"}, {"c"}):
            logger.warning("No tasks to run. unrunnable tasks: %s", waiting)
        logger.info("[DAG TEST] starting task_id=%s map_index=%s", "retried", -1)
        for _ in range(2):
            logger.warning("No tasks to run. unrunnable tasks: %s", {"d"})
    finally:
        logger.removeFilter(quiet)
        logger.removeHandler(handler)
        logger.setLevel(level)
    # what dag.test() logs, and where
    from airflow.sdk.definitions import dag

    assert dag.log.name == DAG_TEST_LOGGER
    assert 'log.warning("No tasks to run. unrunnable tasks: %s", ids_unrunnable)' in inspect.getsource(dag.DAG.test)
    assert handler.lines == [
        "No task can run now (3 waiting for an upstream failure to reach them, or for a retry); "
        "dag.test() checks again every second",
        "[DAG TEST] starting task_id=retried map_index=-1",
        "No task can run now (1 waiting for an upstream failure to reach them, or for a retry); "
        "dag.test() checks again every second",
    ]


def test_lanes_store_the_dags_one_at_a_time():
    """A lane storing the DAGs waits while another stores them: two storing the same change at
    once both insert what is new, and the second fails on a unique key."""
    import threading

    from ecommerce_local.dag_runs import one_lane_at_a_time

    first_in, first_may_leave, second_in = threading.Event(), threading.Event(), threading.Event()

    def lane(entered: threading.Event, leave: threading.Event | None = None) -> None:
        with one_lane_at_a_time():
            entered.set()
            if leave:
                leave.wait(60)

    first = threading.Thread(target=lane, args=(first_in, first_may_leave))
    first.start()
    assert first_in.wait(60)
    second = threading.Thread(target=lane, args=(second_in,))
    second.start()
    assert not second_in.wait(1)  # while the first lane stores, the second waits
    first_may_leave.set()
    first.join(60)
    assert second_in.wait(60)
    second.join(60)


def test_the_lock_is_released_though_a_process_forked_while_it_was_held_lives_on():
    """A process forked while the lock is held (the OpenLineage listener forks its process pool)
    shares the lock's open file. Released only by closing that file, the lock stayed held:
    ``make run``'s first lane, which had held it for its first run, then waited for the second
    lane to finish, and the second waited for the lock."""
    import fcntl
    import time
    from concurrent.futures import ProcessPoolExecutor
    from pathlib import Path

    from airflow.configuration import AIRFLOW_HOME

    from ecommerce_local.dag_runs import STORE_LOCK, one_lane_at_a_time

    with ProcessPoolExecutor(max_workers=1) as pool:
        with one_lane_at_a_time():
            pool.submit(time.sleep, 0).result()  # its worker is forked while the lock is held
        with open(Path(AIRFLOW_HOME) / STORE_LOCK, "a") as another_lane:
            fcntl.flock(another_lane, fcntl.LOCK_EX | fcntl.LOCK_NB)  # BlockingIOError if still held
