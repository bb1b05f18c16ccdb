{#-
description: Revenue, orders and order value per loaded date, with 7-day moving averages.
materialized: incremental
columns:
  date: {type: date, description: The business date.}
  orders: {type: integer, description: Completed orders.}
  customers: {type: integer, description: Customers with a completed order.}
  units: {type: integer, description: Units sold in completed orders.}
  net_revenue: {type: "numeric(16, 2)", description: Net revenue of completed orders.}
  avg_order_value: {type: "numeric(14, 2)", description: net_revenue / orders (0 on a date without orders).}
  revenue_7d_avg: {type: "numeric(16, 2)", description: Mean net_revenue of the loaded dates among this one and the 6 before it.}
  orders_7d_avg: {type: "numeric(12, 2)", description: Mean orders of the loaded dates among this one and the 6 before it.}
primary_key: [date]
incremental_by: date
checks:
  - name: daily_kpis_has_the_date
    date_column: date
    type: row_count_min
    min: 1
    severity: error
  - name: daily_kpis_revenue_balance_agg
    date_column: date
    type: balance
    measure: sum(net_revenue)
    equals:
      table: warehouse.agg_daily_sales
      date_key_column: date_key
      measure: sum(net_revenue)
    severity: error
  - name: daily_kpis_units_balance_agg
    date_column: date
    type: balance
    measure: sum(units)
    equals:
      table: warehouse.agg_daily_sales
      date_key_column: date_key
      measure: sum(units)
    severity: error
-#}
-- Recomputed for the business date and every date a load of another date made stale (facts
-- re-pointed to the unknown member or back), with the moving averages of the weeks those dates
-- reach, so the cost follows the day, not the history.
{% import 'macros/stale_dates.sql' as stale_dates %}

{{ stale_dates.take_stale_dates('daily_kpis', made_stale_by=['dim_customers.key']) }};

with recomputed as (
    select
        recomputed_dates.date,
        count(distinct facts.transaction_id) as orders,
        count(distinct customers.customer_id) as customers,
        coalesce(sum(facts.quantity), 0) as units,
        coalesce(sum(facts.net_amount), 0) as net_revenue,
        coalesce(round(sum(facts.net_amount) / nullif(count(distinct facts.transaction_id), 0), 2), 0)
            as avg_order_value
    from recomputed_dates
    left join warehouse.fact_sales as facts
        on facts.date_key = recomputed_dates.date_key and facts.status = 'completed'
        and {{ stale_dates.in_recomputed_dates('facts.date_key') }}
    left join warehouse.dim_customers as customers using (customer_sk)
    group by recomputed_dates.date
),

-- the loaded dates around them as they stand: a date's averages reach the 6 dates after it
kept as (
    select date, orders, customers, units, net_revenue, avg_order_value
    from analytics.daily_kpis
    where date between (select min(date) from recomputed_dates) - 6 and (select max(date) from recomputed_dates) + 6
        and date not in (select date from recomputed_dates)
),

windowed as (
    select
        *,
        round(avg(net_revenue) over last_7_days, 2) as revenue_7d_avg,
        round(avg(orders) over last_7_days, 2) as orders_7d_avg
    from (select * from recomputed union all select * from kept) as days
    window last_7_days as (order by date range between '6 days' preceding and current row)
)

select date, orders, customers, units, net_revenue, avg_order_value, revenue_7d_avg, orders_7d_avg
from windowed
where exists (
    select from recomputed_dates where windowed.date between recomputed_dates.date and recomputed_dates.date + 6
);
