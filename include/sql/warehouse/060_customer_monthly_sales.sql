-- warehouse.customer_daily_sales, warehouse.customer_monthly_sales and warehouse.customer_totals:
-- completed orders and net revenue per customer (dim_customers' customer_id; -1 for the unknown
-- member) and date; per customer and month with the month's last order date; and per customer,
-- with the first month and the last date. The customer analytics (RFM, cohorts, revenue mix)
-- read these instead of every fact. Recomputed for the business date and every date whose facts
-- dim_customers re-pointed, then the months and totals of the customers those dates name
-- (macros/sales_summary.sql).
{% import 'macros/sales_summary.sql' as sales_summary %}

{{ sales_summary.refresh(
    'customer', 'dim_customers', 'customer_sk',
    daily={'orders': 'count(distinct facts.transaction_id)', 'net_revenue': 'sum(facts.net_amount)'},
    monthly={'orders': 'sum(daily.orders)', 'net_revenue': 'sum(daily.net_revenue)',
             'last_date': "to_date(max(daily.date_key)::text, 'YYYYMMDD')"},
    made_stale_by=['dim_customers.key'],
    totals={'orders': 'sum(monthly.orders)', 'net_revenue': 'sum(monthly.net_revenue)',
            'first_month': 'min(monthly.month)', 'last_date': 'max(monthly.last_date)'}) }};
