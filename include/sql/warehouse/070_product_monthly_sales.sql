-- warehouse.product_daily_sales and warehouse.product_monthly_sales: completed units and net
-- revenue per product (dim_products' product_id; -1 for the unknown member) and date, and per
-- product and month. analytics.top_products reads the monthly rows instead of every fact.
-- Recomputed for the business date and every date whose facts dim_products re-pointed
-- (macros/sales_summary.sql).
{% import 'macros/sales_summary.sql' as sales_summary %}

{{ sales_summary.refresh(
    'product', 'dim_products', 'product_sk',
    daily={'units': 'sum(facts.quantity)', 'net_revenue': 'sum(facts.net_amount)'},
    monthly={'units': 'sum(daily.units)', 'net_revenue': 'sum(daily.net_revenue)'},
    made_stale_by=['dim_products.key']) }};
