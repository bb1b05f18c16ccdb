{#-
description: Revenue from customers with one completed order (new) against those who came back (repeat).
materialized: table
columns:
  customer_type: {type: text, description: "'new': one completed order so far; 'repeat': more than one."}
  customers: {type: integer, description: Customers of the type.}
  orders: {type: integer, description: Their completed orders.}
  net_revenue: {type: "numeric(16, 2)", description: Net revenue of their completed orders.}
  revenue_share: {type: "numeric(7, 4)", description: The type's share of all net revenue (0 to 1).}
primary_key: [customer_type]
constraints:
  - customer_type in ('new', 'repeat')
checks:
  # Shares are rounded to 4 places each: they add up to 1 within half a unit of the last place per row.
  - name: customer_revenue_mix_shares_add_up
    scope: table
    type: sql
    severity: error
    query: >-
      select sum(revenue_share) as total_share, count(*) as customer_types from analytics.customer_revenue_mix
      having sum(net_revenue) <> 0 and abs(sum(revenue_share) - 1) > 0.00005 * count(*)
-#}
-- From each customer's totals (warehouse.customer_totals), not every fact.
with per_type as (
    select
        case when orders > 1 then 'repeat' else 'new' end as customer_type,
        count(*) as customers,
        sum(orders) as orders,
        sum(net_revenue) as net_revenue
    from warehouse.customer_totals
    group by 1
)

select
    customer_type,
    customers,
    orders,
    net_revenue,
    round(net_revenue / nullif(sum(net_revenue) over (), 0), 4)
from per_type;
