"""The locks each task takes come from its SQL (ecommerce.table_locks), and within a date they
make no task wait that the graph runs beside it, but for the one pair named here."""

from __future__ import annotations

from itertools import combinations

import pytest

from ecommerce.settings import PROJECT_ROOT, SQL_DIR

#: Tasks the graph runs side by side that still take turns, and the table they both write.
TAKE_TURNS = {
    ("warehouse.dim_customers", "warehouse.dim_products"):
        {"warehouse.fact_sales"},  # each re-points its own key column of the facts, in turn
}


@pytest.fixture(scope="module")
def pipeline():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(PROJECT_ROOT / "dags")).get_dag("ecommerce_pipeline")


def task_locks(task, business_date="2026-04-06"):
    from ecommerce import forecast, table_locks
    from ecommerce.operators import SqlModelOperator
    from ecommerce.models import model_statements
    from ecommerce.operators.sql_model import model_tables

    if isinstance(task, SqlModelOperator):
        return table_locks.locks(*model_tables(model_statements(task.model)), business_date)
    if task.task_id == "analytics.forecast":
        return table_locks.locks(*table_locks.tables(forecast.STATEMENTS), business_date)
    return []


def conflicts(first, second) -> set[str]:
    wanted = {lock.key: lock for lock in second}
    return {lock.table for lock in first
            if lock.key in wanted and (lock.exclusive or wanted[lock.key].exclusive)}


def test_tasks_side_by_side_in_the_graph_wait_on_no_lock_of_each_other_but_the_named_pair(pipeline):
    locked = {task.task_id: task_locks(task) for task in pipeline.tasks}
    after = {task.task_id: task.get_flat_relative_ids(upstream=False) for task in pipeline.tasks}
    waits = {}
    for first, second in combinations(sorted(task_id for task_id in locked if locked[task_id]), 2):
        if second not in after[first] and first not in after[second]:
            if shared := conflicts(locked[first], locked[second]):
                waits[(first, second)] = shared
    assert waits == TAKE_TURNS


def test_every_model_locks_each_table_it_writes_and_the_forecast_its_own(pipeline):
    from ecommerce import table_locks

    exclusive = {task.task_id: {lock.table for lock in task_locks(task) if lock.exclusive} for task in pipeline.tasks}
    # the model's own table, named by its file (warehouse/080_loaded_dates.sql writes audit's)
    for task_id in ("warehouse.dim_customers", "warehouse.agg_daily_sales", "analytics.rfm_segments",
                    "analytics.insights", "production.customers"):
        assert task_id in exclusive[task_id]
    assert exclusive["warehouse.loaded_dates"] == {"audit.loaded_dates"}
    assert exclusive["analytics.forecast"] == {"analytics.sales_forecast", "analytics.forecast_accuracy",
                                               "analytics.forecast_outlook"}
    assert not any(exclusive[task_id] & table_locks.WRITTEN_IN_PARTS.keys() for task_id in exclusive)


def test_a_table_written_a_date_at_a_time_is_locked_per_date_and_read_without_a_lock(pipeline):
    from ecommerce.table_locks import lock_key

    transactions = {lock.table: lock for lock in task_locks(pipeline.get_task("production.transactions"))}
    assert transactions["production.transactions"].key == lock_key("production.transactions", "2026-04-06")
    assert transactions["production.transactions"].key != lock_key("production.transactions", "2026-04-07")
    fact_sales = {lock.table for lock in task_locks(pipeline.get_task("warehouse.fact_sales"))}
    assert "production.transactions" not in fact_sales and "warehouse.dim_customers" in fact_sales


def test_locks_come_in_one_order_whatever_the_task():
    from ecommerce.table_locks import locks

    tables = ["warehouse.fact_sales", "analytics.daily_kpis", "warehouse.dim_customers", "audit.loaded_dates"]
    taken = locks(tables[:2], tables[2:])
    assert [lock.key for lock in taken] == sorted(lock.key for lock in taken)
    assert [lock.key for lock in locks(tables[2:], tables[:2])] == [lock.key for lock in taken]


def test_a_write_the_sql_parser_misses_is_still_a_write():
    """The parser gives nothing for the statement that records a snapshot's date (an insert
    whose select reads no table but in a subquery): its target counts all the same."""
    from ecommerce.lineage import parse_sql
    from ecommerce.models import model_statements
    from ecommerce.table_locks import tables

    [statement] = [statement for statement in model_statements("production/010_customers.sql")
                   if "insert into production.snapshot_dates" in statement]
    assert "production.snapshot_dates" not in parse_sql([statement]).outputs
    assert "production.snapshot_dates" in tables([statement])[1]


def test_no_model_file_names_a_lock():
    models = [path for layer in ("production", "warehouse", "analytics") for path in (SQL_DIR / layer).glob("*.sql")]
    assert models
    assert [path.name for path in models if "advisory" in path.read_text()] == []


#: How a bookkeeping table's part shows in the SQL that adds rows to it and in the SQL that takes them.
PARTS = {
    "production.changed_keys": (r"insert into production\.changed_keys \(table_name, natural_key\)\s+select '(\w+)'",
                                r"delete from production\.changed_keys where table_name = '(\w+)'"),
    "warehouse.stale_dates": (r"\('(\w+)', (?:true|false)\)", r"delete from warehouse\.stale_dates where model = '(\w+)'"),
}


@pytest.mark.parametrize("table", sorted(PARTS))
def test_who_adds_to_a_bookkeeping_table_and_who_takes_from_it_never_run_at_once(pipeline, table):
    """Such a table is not locked; a task that adds rows to a part and one that takes that part
    (of another date too) take turns on another table all the same."""
    import re

    from ecommerce import table_locks
    from ecommerce.operators import SqlModelOperator
    from ecommerce.models import model_statements

    assert set(table_locks.TAKEN_FROM) == PARTS.keys() and table in table_locks.WRITTEN_IN_PARTS
    adds, takes = PARTS[table]
    models = [task for task in pipeline.tasks if isinstance(task, SqlModelOperator)]
    text = {task.task_id: "\n".join(model_statements(task.model)) for task in models}
    adding = {task.task_id: set(re.findall(adds, text[task.task_id])) for task in models}
    taking = {task.task_id: set(re.findall(takes, text[task.task_id])) for task in models}
    pairs = [(adder, taker) for adder in adding for taker in taking if adding[adder] & taking[taker]]
    assert len(pairs) >= 2
    apart = [(adder, taker) for adder, taker in pairs
             if not conflicts(task_locks(pipeline.get_task(adder), "2026-04-06"),
                              task_locks(pipeline.get_task(taker), "2026-04-07"))]
    assert apart == []
