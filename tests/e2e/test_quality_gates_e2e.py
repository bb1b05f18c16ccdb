"""An error-severity check after the warehouse stops the run through ``dag.test()``: the date
does not count as loaded, analytics and the dashboards' Asset wait, and the check's result with
the failing rows is in audit.dq_results beside the earlier gates' results."""

from __future__ import annotations

import pytest

from conftest import connect, reset_warehouse
from e2e.test_pipeline_e2e import run_pipeline

pytestmark = pytest.mark.e2e

BUSINESS_DATE = "2026-09-09"
#: Two versions of one customer whose ranges overlap, as a hand edit of the dimension might
#: leave them: the date's load does not touch a key no snapshot holds, its checks read it.
OVERLAPPING = [("2026-01-01", "2026-06-02"), ("2026-06-01", "2026-08-01")]


@pytest.fixture(scope="module")
def failed_run(tmp_path_factory):
    import os

    os.environ["ECOMMERCE_DATA_DIR"] = str(tmp_path_factory.mktemp("gates-data"))
    reset_warehouse()
    with connect(autocommit=True) as conn:
        for valid_from, valid_to in OVERLAPPING:
            conn.execute(
                "insert into warehouse.dim_customers (customer_id, first_name, last_name, email, country, "
                "  signup_date, attribute_hash, valid_from, valid_to, is_current) "
                "values (999999999, 'Ann', 'Lee', 'ann@example.com', 'US', '2026-01-01', 'x', %s, %s, false)",
                (valid_from, valid_to))
    return run_pipeline(BUSINESS_DATE)


def test_an_error_check_after_the_warehouse_stops_the_run_without_retries(failed_run):
    states = {ti.task_id: ti.state for ti in failed_run.get_task_instances()}
    tries = {ti.task_id: ti.try_number for ti in failed_run.get_task_instances() if ti.state == "failed"}
    assert failed_run.state == "failed"
    assert tries == {"warehouse.quality_gate": 1}
    assert states["production.quality_gate"] == states["warehouse.fact_sales"] == "success"
    downstream = ["warehouse.loaded_dates"] + [task for task in states if task.startswith("analytics.")]
    assert {task: states[task] for task in downstream} == {task: "upstream_failed" for task in downstream}
    with connect() as conn:
        assert conn.execute("select count(*) from audit.loaded_dates").fetchone() == (0,)


def test_the_failed_check_and_the_earlier_gates_results_are_recorded(failed_run):
    from ecommerce.quality.checks import layer_checks

    with connect() as conn:
        results = {name: (status, sample) for name, status, sample in conn.execute(
            "select check_name, status, failing_sample from audit.dq_results where run_id = %s",
            (failed_run.run_id,)).fetchall()}
    status, sample = results.pop("dim_customers_scd2_ranges")
    assert status == "fail"
    assert [row["customer_id"] for row in sample] == [999999999]
    assert sample[0]["problem"].startswith("overlaps the next version of the key, from 2026-06-01")
    checked = {check.name for layer in ("staging", "production", "warehouse")
               for check in layer_checks(layer)}
    assert set(results) == checked - {"dim_customers_scd2_ranges"}, "no analytics gate ran"
    assert "fail" not in {status for status, _ in results.values()}
