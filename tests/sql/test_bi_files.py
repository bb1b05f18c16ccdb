"""The Power BI project and the Tableau data source under dashboards/: generated from the
warehouse catalog, committed, and consistent with the warehouse they read.

What is verified here is structure and references (against a real warehouse and Microsoft's
published JSON schemas), not a Power BI Desktop or Tableau session: neither runs on Linux.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest
from jsonschema import Draft7Validator
from referencing import Registry, Resource

import bi_files
from conftest import connect, reset_warehouse
from ecommerce.bi import __main__ as generator
from ecommerce.bi import model

SCHEMA_DIR = Path(__file__).parents[1] / "data" / "pbir_schemas"
SCHEMA_BASE = "https://developer.microsoft.com/json-schemas/"
#: Warehouse types -> the TMDL data types that can hold them.
COMPATIBLE = {"smallint": {"int64"}, "integer": {"int64"}, "bigint": {"int64"},
              "numeric": {"decimal", "double"}, "boolean": {"boolean"}, "date": {"dateTime"},
              "timestamp with time zone": {"dateTime"}, "text": {"string"}, "jsonb": {"string"}}


@pytest.fixture(scope="module")
def catalog():
    """(schema, table) -> {column: data_type} of a freshly built warehouse."""
    reset_warehouse()
    with connect() as conn:
        rows = conn.execute("select table_schema, table_name, column_name, data_type from information_schema.columns "
                            "where table_schema in ('warehouse', 'analytics')").fetchall()
    found: dict = {}
    for schema, table, column, data_type in rows:
        found.setdefault((schema, table), {})[column] = data_type
    return found


def test_make_powerbi_reproduces_the_committed_files_byte_for_byte(catalog):
    with connect() as conn, conn.cursor() as cursor:
        generated = generator.generate(cursor)
    committed = generator.existing(bi_files.DASHBOARDS)
    assert sorted(generated) == sorted(committed), "run `make powerbi` and commit dashboards/"
    stale = [path for path in generated if generated[path] != committed[path]]
    assert not stale, f"run `make powerbi` and commit dashboards/: {stale} differ"


def test_every_table_loads_an_existing_warehouse_table_with_compatible_column_types(catalog):
    tables = bi_files.tables()
    assert {"fact_sales", "dim_customers", "dim_products", "dim_date", "agg_daily_sales", "daily_kpis",
            "pipeline_health"} <= set(tables)
    for table in tables.values():
        assert table.source in catalog, f"{table.name} loads {table.source}, which the warehouse lacks"
        columns = catalog[table.source]
        assert set(table.columns) == set(columns), f"{table.name}: columns differ from the warehouse's"
        for column in table.columns.values():
            assert column.properties["sourceColumn"] == column.name
            assert column.properties["dataType"] in COMPATIBLE[columns[column.name]], (table.name, column.name)


def test_surrogate_keys_are_hidden_and_money_and_shares_are_formatted(catalog):
    tables = bi_files.tables()
    for table in tables.values():
        for column in table.columns.values():
            if column.name.endswith("_sk") or column.name == "date_key":  # surrogate keys, not insight_key
                assert "isHidden" in column.flags, f"{table.name}.{column.name} should be hidden"
    facts = tables["fact_sales"].columns
    assert facts["net_amount"].properties["formatString"].startswith("\\$")
    assert facts["discount"].properties["formatString"] == "0.0%"
    assert tables["customer_revenue_mix"].columns["revenue_share"].properties["formatString"] == "0.0%"


def test_dim_date_is_the_marked_date_table(catalog):
    dim_date = bi_files.tables()["dim_date"]
    assert dim_date.properties.get("dataCategory") == "Time"
    keys = [c for c in dim_date.columns.values() if "isKey" in c.flags]
    assert [(k.name, k.properties["dataType"]) for k in keys] == [("date", "dateTime")]


def test_relationships_join_existing_columns_many_to_one_onto_a_dimension_key(catalog):
    tables = bi_files.tables()
    with connect() as conn:
        unique = {(table, columns[0]) for table, columns in conn.execute(
            "select c.conrelid::regclass::text, array_agg(a.attname::text) from pg_constraint c "
            "join pg_attribute a on a.attrelid = c.conrelid and a.attnum = any(c.conkey) "
            "where c.contype in ('p', 'u') group by c.oid, c.conrelid having count(*) = 1").fetchall()}
    relationships = bi_files.relationships()
    assert len(relationships) >= 4
    for from_table, from_column, to_table, to_column in relationships:
        assert from_column in tables[from_table].columns and to_column in tables[to_table].columns
        schema, name = tables[to_table].source
        assert (f"{schema}.{name}", to_column) in unique, f"{to_table}.{to_column} is not a unique key"
        assert tables[from_table].columns[from_column].properties["dataType"] == \
            tables[to_table].columns[to_column].properties["dataType"]


def test_every_measure_references_existing_columns_and_measures_and_states_its_sql(catalog):
    tables = bi_files.tables()
    measures = {name for table in tables.values() for name in table.measures}
    assert {"Net Revenue", "Orders", "Average Order Value", "Customers", "Repeat Customer Revenue Share",
            "Weekend vs Weekday Revenue", "Revenue 7-Day Average"} <= measures
    for table in tables.values():
        for measure in table.measures.values():
            columns, referenced = bi_files.dax_references(measure.expression)
            for ref_table, ref_column in columns:
                assert ref_table in tables and ref_column in tables[ref_table].columns, (measure.name, ref_table, ref_column)
            assert referenced <= measures, (measure.name, referenced - measures)
            assert any(line.startswith("SQL: select") or line.startswith("SQL: with") for line in measure.description), measure.name
            assert measure.properties.get("formatString"), measure.name


def test_report_visuals_use_only_fields_and_measures_of_the_model(catalog):
    tables = bi_files.tables()
    visuals = bi_files.visuals()
    pages = json.loads((bi_files.REPORT / "definition" / "pages" / "pages.json").read_text())["pageOrder"]
    assert len(pages) >= 5 and len(visuals) >= 15
    seen = set()
    for path, visual in visuals.items():
        for kind, table, name in bi_files.fields(visual):
            assert table in tables, f"{path}: no table {table}"
            names = tables[table].measures if kind == "Measure" else tables[table].columns
            assert name in names, f"{path}: no {kind.lower()} {table}.{name}"
            seen.add(name)
    # the pages show the KPI measures and the HTML page's analytics
    assert {"Net Revenue", "Orders", "Average Order Value", "Customers", "retention_rate", "segment",
            "product_name", "rows_quarantined"} <= seen


def test_the_dashboard_guide_lists_every_measure(catalog):
    guide = (bi_files.DASHBOARDS.parent / "docs" / "dashboard_guide.md").read_text(encoding="utf-8")
    for measure in bi_files.tables()["fact_sales"].measures:
        assert f"| {measure} |" in guide, f"docs/dashboard_guide.md: add {measure} to the measure table"


def _registry() -> Registry:
    resources = []
    for path in SCHEMA_DIR.rglob("*.json"):
        document = json.loads(path.read_text(encoding="utf-8"))
        for uri in {SCHEMA_BASE + path.relative_to(SCHEMA_DIR).as_posix(), document.get("$id")} - {None}:
            resources.append((uri, Resource.from_contents(document)))
    return Registry().with_resources(resources)


def test_every_json_file_is_valid_against_the_schema_it_names(catalog):
    registry = _registry()
    files = [p for p in bi_files.PROJECT.rglob("*") if p.suffix in (".json", ".pbir", ".pbism", ".pbip")]
    assert len(files) >= 20
    for path in files:
        document = json.loads(path.read_text(encoding="utf-8"))  # valid JSON at all
        validator = Draft7Validator(registry.contents(document["$schema"]), registry=registry)
        errors = [f"{list(e.absolute_path)}: {e.message[:200]}" for e in validator.iter_errors(document)]
        assert not errors, f"{path.relative_to(bi_files.PROJECT)}: {errors}"


def test_the_schema_check_catches_a_broken_visual():
    """The validation above is not vacuous: a visual with an unknown aggregation fails it."""
    registry = _registry()
    document = next(iter(bi_files.visuals().values()))
    projection = next(iter(document["visual"]["query"]["queryState"].values()))["projections"][0]
    projection["field"] = {"Aggregation": {"Expression": projection["field"], "Function": 42}}
    validator = Draft7Validator(registry.contents(document["$schema"]), registry=registry)
    assert list(validator.iter_errors(document))


def test_the_tableau_data_source_connects_as_bi_reader_and_joins_existing_columns(catalog):
    root = ElementTree.parse(bi_files.TDS).getroot()
    connection = root.find("./connection/named-connections/named-connection/connection")
    assert connection.get("class") == "postgres" and connection.get("username") == "bi_reader"
    assert connection.get("dbname") == "ecommerce" and "password" not in connection.attrib
    tables = {r.get("name"): r.get("table") for r in root.iter("relation") if r.get("type") == "table"}
    assert set(tables) == {"fact_sales", "dim_date", "dim_customers", "dim_products"}
    for name, qualified in tables.items():
        schema, table = qualified.strip("[]").split("].[")
        assert (schema, table) in catalog
    for operand in root.iter("expression"):
        if operand.get("op", "").startswith("["):
            table, column = operand.get("op").strip("[]").split("].[")
            assert column in catalog[("warehouse", table)], operand.get("op")


def test_a_name_the_warehouse_lacks_stops_the_generator_with_every_mismatch(catalog):
    spec = model.load_spec()
    spec["tables"][0]["hidden"].append("no_such_column")
    spec["relationships"].append(["fact_sales.nope", "dim_date.date_key"])
    spec["pages"][0]["visuals"][0]["fields"]["Values"] = ["fact_sales.[No Such Measure]"]
    with connect() as conn, conn.cursor() as cursor:
        with pytest.raises(model.ModelError) as error:
            model.build(cursor, spec)
    message = str(error.value)
    assert "no column 'no_such_column'" in message and "fact_sales.nope" in message
    assert "No Such Measure" in message


def test_generated_files_no_longer_produced_are_removed_and_desktop_files_kept(tmp_path):
    old = tmp_path / "powerbi" / "x.SemanticModel" / "definition" / "tables" / "gone.tmdl"
    local = tmp_path / "powerbi" / "x.SemanticModel" / ".pbi" / "localSettings.json"
    for path in (old, local):
        path.parent.mkdir(parents=True)
        path.write_text("{}")
    changed = generator.write({"powerbi/a.pbip": "{}\n"}, tmp_path)
    assert not old.exists() and local.exists() and (tmp_path / "powerbi" / "a.pbip").read_text() == "{}\n"
    assert "powerbi/x.SemanticModel/definition/tables/gone.tmdl" in changed
    assert generator.write({"powerbi/a.pbip": "{}\n"}, tmp_path) == []
