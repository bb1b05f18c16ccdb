{#-
description: Completed revenue per product category over the loaded history, and its share of the total.
materialized: table
columns:
  category_name: {type: text, description: The category, as the product's version at the sale names it.}
  orders: {type: integer, description: Completed orders with a line of the category (an order with two categories counts in both).}
  units: {type: integer, description: Units sold in completed orders.}
  net_revenue: {type: "numeric(16, 2)", description: Net revenue of the category's lines in completed orders.}
  revenue_share: {type: "numeric(7, 4)", description: The category's share of all net revenue (0 to 1).}
primary_key: [category_name]
checks:
  # Shares are rounded to 4 places each: they add up to 1 within half a unit of the last place per row.
  - name: revenue_by_category_shares_add_up
    scope: table
    type: sql
    severity: error
    query: >-
      select sum(revenue_share) as total_share, count(*) as categories from analytics.revenue_by_category
      having sum(net_revenue) <> 0 and abs(sum(revenue_share) - 1) > 0.00005 * count(*)
-#}
-- From the daily aggregates per category (warehouse.agg_daily_sales), not every fact.
with per_category as (
    select
        category_name,
        sum(orders) as orders,
        sum(units) as units,
        sum(net_revenue) as net_revenue
    from warehouse.agg_daily_sales
    group by category_name
)

select
    category_name,
    orders,
    units,
    net_revenue,
    round(net_revenue / nullif(sum(net_revenue) over (), 0), 4)
from per_category;
