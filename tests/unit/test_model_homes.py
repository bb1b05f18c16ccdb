"""Model homes (ecommerce.models): each analytics table declared once, everything else derived."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ecommerce import models
from ecommerce.models import ModelError, read_home

HEADER = """{#-
description: Sales per day.
materialized: table
columns:
  day: {type: date, description: The day.}
  revenue: {type: "numeric(16, 2)", description: Its revenue., nullable: true}
primary_key: [day]
-#}
"""


def write_home(root: Path, name: str, text: str) -> Path:
    path = root / "analytics" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def sql_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(models, "SQL_DIR", tmp_path)
    models.homes.cache_clear()
    yield tmp_path
    models.homes.cache_clear()


def test_a_home_declares_its_table_and_the_ddl_follows(sql_dir):
    model = read_home(write_home(sql_dir, "day_sales.sql", HEADER + "select 1, 2;\n"))
    assert model.table == "analytics.day_sales" and model.written_by == "day_sales"
    assert model.column_names == ("day", "revenue")
    ddl = model.ddl()
    assert "create table if not exists analytics.day_sales (\n    day date not null,\n" \
           "    revenue numeric(16, 2),\n    constraint day_sales_pkey primary key (day)\n)" in ddl
    assert "comment on column analytics.day_sales.revenue is 'Its revenue.'" in ddl


def test_a_table_model_replaces_every_row_and_an_incremental_one_its_keys(sql_dir):
    table = read_home(write_home(sql_dir, "a.sql", HEADER + "select 1, 2;\n"))
    assert table.materialize(("create temporary table t as select 1;", "select 1, 2;")) == (
        "create temporary table t as select 1;", "truncate analytics.a;",
        "alter table analytics.a drop constraint a_pkey;",  # the key built from the rows, after them
        "insert into analytics.a (day, revenue)\nselect 1, 2;",
        "alter table analytics.a add constraint a_pkey primary key (day);")
    keyless = read_home(write_home(sql_dir, "k.sql", HEADER.replace("primary_key: [day]\n", "") + "select 1, 2;\n"))
    assert keyless.materialize(("select 1, 2;",)) == (
        "truncate analytics.k;", "insert into analytics.k (day, revenue)\nselect 1, 2;")
    incremental = read_home(write_home(sql_dir, "b.sql", HEADER.replace(
        "materialized: table", "materialized: incremental\nincremental_by: day") + "{{ take_stale_dates('b') }};\nx"))
    statements = incremental.materialize(("select 1, 2;",))
    assert statements == (
        "create temporary table model_rows (like analytics.b) on commit drop;",
        "insert into model_rows (day, revenue)\nselect 1, 2;",
        "delete from analytics.b where day = any(array(select date from recomputed_dates union select day from model_rows));",
        "insert into analytics.b (day, revenue) select day, revenue from model_rows;")


@pytest.mark.parametrize(("name", "text", "message"), [
    ("a.sql", "select 1;\n", "starts with its header"),
    ("a.sql", "{#- description: [unclosed\n-#}\nselect 1;", "not YAML"),
    ("a.sql", HEADER.replace("materialized: table", "materialized: view"), "materialized must be one of"),
    ("a.sql", HEADER.replace("materialized: table", "materialized: table\nowner: me"), "unknown keys ['owner']"),
    ("a.sql", HEADER.replace("Sales per day.", "''"), "describe the table"),
    ("a.sql", HEADER.replace(", description: The day.", ""), "column day needs a type and a description"),
    ("a.sql", HEADER.replace("[day]", "[date]"), "primary_key names no declared column: ['date']"),
    ("a.sql", HEADER.replace("materialized: table", "materialized: incremental"), "(incremental_by)"),
    ("a.sql", HEADER.replace("materialized: table", "materialized: table\nincremental_by: day"), "(incremental_by)"),
    ("a.sql", HEADER.replace("materialized: table", "materialized: incremental\nincremental_by: date"),
     "incremental_by names no declared column: 'date'"),
    ("a.yml", "description: x\ncolumns: {a: {type: int, description: y}}\n", "name the task"),
    ("a.yml", "description: x\nmaterialized: table\ncolumns: {a: {type: int, description: y}}\n",
     "a .yml home declares a table a Python task writes"),
])
def test_a_bad_home_is_a_clear_error_naming_its_file(sql_dir, name, text, message):
    with pytest.raises(ModelError, match="analytics/a") as error:
        read_home(write_home(sql_dir, name, text))
    assert message in str(error.value)


def test_the_order_of_a_layer_follows_what_its_sql_reads(sql_dir):
    """``layer_graph``: a model after the writer of each table of the layer it reads, a Python
    task's tables included; a cycle is refused."""
    write_home(sql_dir, "base.sql", HEADER + "select day, 1 from warehouse.dim_date;\n")
    write_home(sql_dir, "top.sql", HEADER + "select day, revenue from analytics.base join analytics.outlook using (day);\n")
    write_home(sql_dir, "outlook.yml", "description: x\nwritten_by: forecast\ncolumns: {day: {type: date, description: y}}\n")
    models.model_statements.cache_clear()
    try:
        assert models.layer_graph("analytics") == {"base": [], "top": ["base", "forecast"]}
        write_home(sql_dir, "base.sql", HEADER + "select day, 1 from analytics.top;\n")
        models.homes.cache_clear()
        models.model_statements.cache_clear()
        with pytest.raises(ModelError, match="in a cycle"):
            models.layer_graph("analytics")
    finally:
        models.model_statements.cache_clear()


def test_every_home_of_the_repository_reads(tmp_path):
    """The real homes: each valid, each SQL home's statements end with its SELECT."""
    homes = models.homes("analytics")
    assert {model.name for model in homes} >= {"daily_kpis", "insights", "sales_forecast"}
    for model in homes:
        if model.materialized != "python":
            assert f"insert into {model.table} (" in "".join(models.model_statements(model.file)), model.file


def test_a_model_writing_a_table_of_another_schema_reports_that_table():
    """The operator's table is the one the SQL writes, not one guessed from the file's folder:
    warehouse/080_loaded_dates.sql writes audit.loaded_dates (its lineage and rows written)."""
    from ecommerce.operators import SqlModelOperator

    task = SqlModelOperator(task_id="loaded_dates", sql="warehouse/080_loaded_dates.sql", business_date="2026-01-01")
    assert task.table == "audit.loaded_dates"
    assert SqlModelOperator(task_id="x", sql="warehouse/040_fact_sales.sql", business_date="").table \
        == "warehouse.fact_sales"
    assert SqlModelOperator(task_id="x", sql="analytics/daily_kpis.sql", business_date="").table \
        == "analytics.daily_kpis"


def test_the_bootstrap_creates_each_table_as_its_home_declares():
    """Columns, types, nullability, key and descriptions in the catalog are the home's."""
    from conftest import connect
    from ecommerce.schema import apply_schema

    with connect(autocommit=True) as conn:
        apply_schema(conn)
        for model in models.all_homes():
            columns = conn.execute(
                "select attname, format_type(atttypid, atttypmod), not attnotnull, col_description(attrelid, attnum) "
                "from pg_attribute where attrelid = %s::regclass and attnum > 0 and not attisdropped order by attnum",
                (model.table,)).fetchall()
            # types as PostgreSQL names them (a home writes numeric(16, 2), the catalog numeric(16,2))
            assert columns == [(c.name, re.sub(r",\s+", ",", c.type), c.nullable, c.description)
                               for c in model.columns], model.table
            key = conn.execute(
                "select array_agg(attname order by array_position(conkey, attnum)) from pg_constraint "
                "join pg_attribute on attrelid = conrelid and attnum = any(conkey) "
                "where conrelid = %s::regclass and contype = 'p'", (model.table,)).fetchone()[0]
            assert tuple(key or ()) == model.primary_key, model.table
            assert conn.execute("select obj_description(%s::regclass, 'pg_class')",
                                (model.table,)).fetchone()[0] == model.description


def test_the_dimensions_queue_stale_dates_for_the_models_that_declare_them():
    """A model says which dimension changes make its dates stale (made_stale_by, in its own
    file); the dimensions' lists come from those declarations."""
    assert models.stale_models("dim_customers", "key") == ["agg_daily_sales", "customer_monthly_sales", "daily_kpis"]
    assert models.stale_models("dim_customers", "attributes") == []
    assert models.stale_models("dim_products", "key") == ["product_monthly_sales"]
    assert models.stale_models("dim_products", "attributes") == ["agg_daily_sales", "basket_pairs"]
    for dimension in ("customers", "products"):
        rendered = models.render_model(f"warehouse/0{2 if dimension == 'customers' else 3}0_dim_{dimension}.sql")
        for change, by_key in (("key", "true"), ("attributes", "false")):
            for model in models.stale_models(f"dim_{dimension}", change):
                assert f"('{model}', {by_key})" in rendered, (dimension, model)


def test_a_model_takes_the_stale_dates_queued_under_its_own_name():
    """The name a model takes its stale dates by is the one the dimensions queue them under:
    its file's."""
    for model in models.stale_declarations():
        (file,) = [path for layer in models.STALE_LAYERS for path in (models.SQL_DIR / layer).glob("*.sql")
                   if models.task_id(path.stem) == model]
        text = "".join(models.model_statements(file.relative_to(models.SQL_DIR).as_posix()))
        assert f"delete from warehouse.stale_dates where model = '{model}'" in text, file


@pytest.mark.parametrize("call", [
    "take_stale_dates('sales', made_stale_by=['dim_products.price'])",
    "take_stale_dates('sales', made_stale_by = ['dim_products.key'])",
    "take_stale_dates('sales')",
], ids=["unknown change", "spelt otherwise", "undeclared"])
def test_a_stale_declaration_the_dimensions_cannot_read_names_its_file(sql_dir, call):
    """A model taking stale dates that the dimensions would never queue would go stale silently."""
    (sql_dir / "warehouse").mkdir()
    (sql_dir / "warehouse" / "010_sales.sql").write_text(f"{{{{ stale_dates.{call} }}}};\n", encoding="utf-8")
    models.stale_declarations.cache_clear()
    try:
        with pytest.raises(ModelError, match="warehouse/010_sales.sql: .*made_stale_by"):
            models.stale_declarations()
    finally:
        models.stale_declarations.cache_clear()


def test_an_incremental_home_takes_the_dates_it_recomputes_and_its_checks_check_its_table(sql_dir):
    incremental = HEADER.replace("materialized: table", "materialized: incremental\nincremental_by: day")
    with pytest.raises(ModelError, match="take_stale_dates"):
        read_home(write_home(sql_dir, "a.sql", incremental + "select 1, 2;\n"))
    with_check = HEADER.replace("primary_key: [day]", "primary_key: [day]\nchecks:\n  - {name: x, table: analytics.b}")
    with pytest.raises(ModelError, match="a check is a mapping without a table"):
        read_home(write_home(sql_dir, "a.sql", with_check + "select 1, 2;\n"))


def test_a_select_without_its_semicolon_stays_a_statement_of_its_own(sql_dir):
    model = read_home(write_home(sql_dir, "a.sql", HEADER + "select 1, 2\n"))
    assert "insert into analytics.a (day, revenue)\nselect 1, 2;" in model.materialize(("select 1, 2",))
