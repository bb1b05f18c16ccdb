"""Landing mode: a shop's own hand-written files go through the DAG; bad batches stop at the gate."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import connect, reset_warehouse

pytestmark = pytest.mark.e2e

DATE = "2026-03-14"

CUSTOMERS = """\
email,customer_id,first_name,last_name,phone,address,city,state,postal_code,country,signup_date,updated_at
 Ada@Example.COM ,1,Ada,Lovelace,+44 20 7946 0000,"12 St James's Square, Flat 2",London,,SW1Y 4JH,gb,2025-01-05,2026-03-01T08:00:00Z
bob@example.com,2,BOB,SMITH,555-0101,1 Main St,Springfield,IL,62701,US,2025-06-01,2026-03-14T09:30:00+01:00
zoë@example.com,3,Zoë,Łukasiewicz,,"Ulica ""Długa"" 5",Gdańsk,,80-831,PL,2026-03-14,2026-03-14T10:00:00Z
"""
PRODUCTS = """\
product_id,product_name,category,brand,unit_price,cost,is_active,updated_at
10,Noise-cancelling Headphones,Electronics,Sonora,199.00,120.00,true,2026-01-01T00:00:00Z
11,Pour-over Kettle,Home & Kitchen,Brewline,45.50,20.00,TRUE,2026-02-01T00:00:00Z
"""
TRANSACTIONS = """\
transaction_id,customer_id,transaction_ts,channel,payment_method,status,shipping_cost
500,1,2026-03-14T11:00:00Z,web,credit_card,completed,0
501,2,2026-03-14T12:30:00Z,mobile_app,paypal,{status},4.99
"""
ITEMS = """\
transaction_id,line_number,product_id,quantity,unit_price,discount
500,1,10,1,199.00,0.10
500,2,11,2,45.50,
501,1,11,1,45.50,0
"""


def write_landing(root: Path, status: str = "completed", folder_name: str = DATE) -> Path:
    """The shop's files of DATE in ``root/<folder_name>``; returns ``root``."""
    folder = root / folder_name
    folder.mkdir(parents=True)
    for name, text in (("customers", CUSTOMERS), ("products", PRODUCTS),
                       ("transactions", TRANSACTIONS.format(status=status)), ("transaction_items", ITEMS)):
        (folder / f"{name}.csv").write_text(text, encoding="utf-8")
    return root


def run_landing(landing: Path):
    from test_pipeline_e2e import load_dag, run_dag

    return run_dag(load_dag(), DATE, source="landing", landing_dir=str(landing))


@pytest.fixture
def landing(tmp_path, monkeypatch):
    monkeypatch.setenv("ECOMMERCE_DATA_DIR", str(tmp_path / "data"))
    reset_warehouse()
    return tmp_path / "landing"


def test_hand_written_files_load_cleaned_into_production_and_the_warehouse(landing):
    run = run_landing(write_landing(landing))
    assert run.state == "success"
    with connect() as conn:
        customers = conn.execute(
            "select customer_id, first_name, last_name, email, country from production.customers order by 1").fetchall()
        facts = conn.execute(
            "select transaction_id, line_number, net_amount from warehouse.fact_sales order by 1, 2").fetchall()
        quarantined = conn.execute("select count(*) from quarantine.rejected_rows").fetchone()[0]
    assert customers == [
        (1, "Ada", "Lovelace", "ada@example.com", "GB"),
        (2, "Bob", "Smith", "bob@example.com", "US"),
        (3, "Zoë", "Łukasiewicz", "zoë@example.com", "PL"),
    ]
    assert [(t, line, float(net)) for t, line, net in facts] == [(500, 1, 179.1), (500, 2, 91.0), (501, 1, 45.5)]
    assert quarantined == 0


def failed_tries(run) -> dict[str, int]:
    return {ti.task_id: ti.try_number for ti in run.get_task_instances() if ti.state == "failed"}


def test_a_missing_landing_folder_fails_the_run_at_once_with_its_path(landing, capsys):
    run = run_landing(landing)  # with the DAG's retries: a missing folder is not retried
    assert run.state == "failed"
    assert failed_tries(run) == {"generate.raw_files": 1}
    assert f"landing folder {landing / DATE} does not exist" in capsys.readouterr().out


def test_an_error_check_failing_stops_everything_downstream(landing):
    run = run_landing(write_landing(landing, status="shipped"))  # an error check is not retried
    assert run.state == "failed"
    assert failed_tries(run) == {"quality_checks.staging_gate": 1}
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert states["quality_checks.staging_gate"] == "failed"
    assert states["ingest_staging.transactions"] == "success"
    downstream = [task for task in states if task.split(".")[0] in ("production", "warehouse", "analytics")]
    assert downstream and all(states[task] == "upstream_failed" for task in downstream)
    with connect() as conn:
        status, sample = conn.execute(
            "select status, failing_sample from audit.dq_results where check_name = 'transactions_status_accepted'"
        ).fetchone()
        assert conn.execute("select count(*) from production.transactions").fetchone()[0] == 0
    assert status == "fail"
    assert sample[0]["status"] == "shipped" and sample[0]["source_line"] == 3
