"""Loads that crash or overlap end equal to a clean load of the same dates.

A load killed mid-way (SIGKILL of its process group) in each layer, then the next date, then
the killed date's rerun; two dates loading at once; the same date loading twice at once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import LOADED_LAYERS, assert_same_content, connect, load_after_staging, stage_generated

# Many loads each: make test runs them, make check (the quick edit loop) leaves them out.
pytestmark = pytest.mark.slow

DATES = ["2026-06-05", "2026-06-06", "2026-06-07"]
SHOP = dict(seed=11, orders=40, customers=150, new_customers=2, products=60, customer_change_rate=0.04,
            customer_delete_rate=0.01, price_change_rate=0.06, discontinue_rate=0.0008, defect_rate=0.03)
KILLED = DATES[1]

#: Killed once this model's transaction has committed, so the next one of its layer is under way.
KILL_AFTER = {
    "production": "production.010_customers",
    "warehouse": "warehouse.020_dim_customers",
    "analytics": "analytics.daily_kpis",
}

#: A load of its own, after claiming its date as a DAG run's first task does (ecommerce.date_claims):
#: two loads of one date take turns, for a date's rows are replaced over several transactions
#: (its orders' lines are gone between production.transactions and transaction_items).
#: The holder of a claim is active while its process lives.
LOADER = """
import os, sys
import psutil
from conftest import LOADED_LAYERS, connect, run_models
from ecommerce.date_claims import claim

def run_state(dag_id, run_id):
    try:  # a load that ended may stay a zombie until the test collects it
        ended = psutil.Process(int(run_id.removeprefix("pid-"))).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        ended = True
    return None if ended else "running"

with connect(autocommit=True) as conn:
    claim(conn.cursor(), sys.argv[1], "test_crash_recovery", f"pid-{os.getpid()}", run_state, poll_seconds=0.1)
run_models(sys.argv[1], LOADED_LAYERS)
"""


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    stage_generated(tmp_path_factory.mktemp("crash-raw"), DATES, SHOP)
    return load_after_staging(DATES)


def committed(task_id: str) -> bool:
    with connect() as conn:
        return conn.execute("select exists (select from audit.task_runs where task_id = %s and business_date = %s)",
                            (task_id, KILLED)).fetchone()[0]


def start_load(business_date: str) -> subprocess.Popen:
    """Load a staged date through every later layer in a process of its own."""
    tests = os.path.dirname(os.path.dirname(__file__))
    return subprocess.Popen([sys.executable, "-c", LOADER, business_date], cwd=tests, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def load_and_kill(after_task: str) -> None:
    """Load the killed date in its own process group and SIGKILL the group mid-layer."""
    loader = start_load(KILLED)
    try:
        deadline = time.monotonic() + 120
        while not committed(after_task):
            assert loader.poll() is None, "the load ended before it could be killed"
            assert time.monotonic() < deadline, f"{after_task} never committed"
            time.sleep(0.02)
        os.killpg(loader.pid, signal.SIGKILL)
    finally:
        loader.wait()
    assert loader.returncode == -signal.SIGKILL


@pytest.mark.parametrize("layer", LOADED_LAYERS)
def test_a_killed_load_then_the_next_date_then_its_rerun_equals_a_clean_load(clean, layer):
    load_after_staging(DATES[:1])
    load_and_kill(KILL_AFTER[layer])
    with connect() as conn:
        loaded = [row[0].isoformat() for row in conn.execute("select business_date from audit.loaded_dates")]
    # a date counts as loaded once its last warehouse step committed
    assert loaded == (DATES[:2] if layer == "analytics" else DATES[:1])
    load_after_staging(DATES[2:], clear=False)
    assert_same_content(load_after_staging([KILLED], clear=False), clean)


@pytest.mark.parametrize("together", [DATES[1:], [DATES[1], DATES[1]]], ids=["two dates", "the same date twice"])
def test_loads_at_the_same_time_equal_a_clean_load(clean, together):
    load_after_staging([date for date in DATES if date not in together])
    loaders = [start_load(business_date) for business_date in together]
    errors = [loader.communicate(timeout=300)[1] for loader in loaders]
    assert [loader.returncode for loader in loaders] == [0, 0], errors
    assert_same_content(load_after_staging([], clear=False), clean)
