"""What a SQL model reads and writes, as its OpenLineage events and audit row report it."""

from __future__ import annotations

from ecommerce.lineage import parse_sql
from ecommerce.models import model_statements
from ecommerce.operators.sql_model import inserts_into


def test_a_table_built_to_replace_a_partition_is_reported_as_its_table():
    parsed = parse_sql(model_statements("warehouse/040_fact_sales.sql"))
    assert "warehouse.fact_sales" in parsed.outputs
    assert not [name for name in parsed.inputs | parsed.outputs if name.endswith("_loading")]
    assert {"production.transactions", "production.transaction_items", "warehouse.dim_customers"} <= parsed.inputs
    assert parsed.columns["warehouse.fact_sales"]["quantity"] == {("production.transaction_items", "quantity")}


def test_rows_inserted_into_the_loading_table_are_the_models_rows():
    assert inserts_into("insert into warehouse.fact_sales (date_key) select 1", "warehouse.fact_sales")
    assert inserts_into("insert into warehouse.fact_sales_loading (date_key) select 1", "warehouse.fact_sales")
    assert inserts_into("create table warehouse.fact_sales_loading as\nselect 1 as date_key", "warehouse.fact_sales")
    assert not inserts_into("create table warehouse.fact_sales as select 1 as date_key", "warehouse.fact_sales")
    assert not inserts_into("create table warehouse.fact_sales_loading (like warehouse.fact_sales)",
                            "warehouse.fact_sales")
    assert not inserts_into("insert into warehouse.fact_sales_other (date_key) select 1", "warehouse.fact_sales")
    assert not inserts_into("insert into warehouse.fact_sales_loading_x (date_key)", "warehouse.fact_sales")
