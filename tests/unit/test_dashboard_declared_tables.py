"""Tables the Power BI report and the HTML page both show, declared once in the semantic model."""

from __future__ import annotations

import pytest

from ecommerce.dashboards.data import declared_tables


def spec(visual: dict) -> dict:
    return {"pages": [{"name": "Products", "visuals": [
        {"type": "card", "title": "Orders", "fields": {"Values": ["fact_sales.[Orders]"]}}, visual]}]}


def test_a_report_table_with_a_dashboard_entry_is_shown_on_the_page_too():
    (table,) = declared_tables(spec({
        "type": "tableEx", "title": "Top products", "dashboard": {"order_by": "revenue_rank", "limit": 5},
        "fields": {"Values": ["top_products.revenue_rank", "top_products.product_name", "sum(top_products.units)"]}}))
    assert (table.id, table.title, table.columns) == (
        "table-top-products", "Top products", ("revenue_rank", "product_name", "units"))
    assert table.query() == ("select revenue_rank, product_name, units from analytics.top_products "
                             "order by revenue_rank limit 5")


def test_report_visuals_without_a_dashboard_entry_stay_in_the_report():
    assert declared_tables(spec({"type": "tableEx", "title": "Top", "fields": {"Values": ["top_products.units"]}})) == []


@pytest.mark.parametrize("visual", [
    {"type": "lineChart", "title": "Bad", "fields": {"Values": ["daily_kpis.date"]}},
    {"type": "tableEx", "title": "Bad", "fields": {"Values": ["daily_kpis.date", "top_products.units"]}},
    {"type": "tableEx", "title": "Bad", "fields": {"Values": ["fact_sales.net_amount"]}},
    {"type": "tableEx", "title": "Bad", "fields": {"Values": ["fact_sales.[Orders]"]}},
], ids=["not a table", "two tables", "not analytics", "a measure"])
def test_a_visual_the_page_cannot_show_as_a_table_is_refused_by_title(visual):
    with pytest.raises(ValueError, match="'Bad' is shown on the dashboard"):
        declared_tables(spec({**visual, "dashboard": {"order_by": "1", "limit": 5}}))


def test_a_declared_table_may_show_some_rows_only():
    (table,) = declared_tables(spec({
        "type": "tableEx", "title": "Pairs", "fields": {"Values": ["product_affinity.name_a"]},
        "dashboard": {"where": "pair_level = 'product'", "order_by": "lift desc", "limit": 3}}))
    assert table.query() == ("select name_a from analytics.product_affinity where pair_level = 'product' "
                             "order by lift desc limit 3")


def test_the_committed_report_shows_the_product_pairs_on_the_page():
    assert [(t.table, t.where) for t in declared_tables()] == [("analytics.product_affinity", "pair_level = 'product'")]
