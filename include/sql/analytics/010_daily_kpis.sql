-- analytics.daily_kpis: revenue, orders and order value per day, with 7-day moving averages.
delete from analytics.daily_kpis;

insert into analytics.daily_kpis
with daily as (
    select
        dates.date,
        sum(agg.orders) as orders,
        sum(agg.units) as units,
        sum(agg.net_revenue) as net_revenue
    from warehouse.agg_daily_sales as agg
    inner join warehouse.dim_date as dates using (date_key)
    group by dates.date
),

customers as (
    select dates.date, count(distinct dim.customer_id) as customers
    from warehouse.fact_sales as facts
    inner join warehouse.dim_customers as dim using (customer_sk)
    inner join warehouse.dim_date as dates using (date_key)
    where facts.status = 'completed'
    group by dates.date
)

select
    daily.date,
    daily.orders,
    customers.customers,
    daily.units,
    daily.net_revenue,
    round(daily.net_revenue / nullif(daily.orders, 0), 2),
    round(avg(daily.net_revenue) over last_7_days, 2),
    round(avg(daily.orders) over last_7_days, 2)
from daily
inner join customers using (date)
window last_7_days as (order by daily.date rows between 6 preceding and current row);
