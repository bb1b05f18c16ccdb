-- analytics.daily_kpis: revenue, orders and order value per day, with 7-day moving averages.
-- Recomputed for the business date and every date a load of another date made stale (facts
-- re-pointed to the unknown member or back), then the moving averages of the weeks those dates
-- reach, so the cost follows the day, not the history.
{% import 'macros/stale_dates.sql' as stale_dates %}

{{ stale_dates.take_stale_dates('daily_kpis') }};

delete from analytics.daily_kpis where date in (select date from recomputed_dates);

insert into analytics.daily_kpis (
    date, orders, customers, units, net_revenue, avg_order_value, revenue_7d_avg, orders_7d_avg
)
select
    recomputed_dates.date,
    count(distinct facts.transaction_id),
    count(distinct customers.customer_id),
    coalesce(sum(facts.quantity), 0),
    coalesce(sum(facts.net_amount), 0),
    coalesce(round(sum(facts.net_amount) / nullif(count(distinct facts.transaction_id), 0), 2), 0),
    0,
    0
from recomputed_dates
left join warehouse.fact_sales as facts
    on facts.date_key = recomputed_dates.date_key and facts.status = 'completed'
    and {{ stale_dates.recomputed_date_bounds('facts.date_key') }}
left join warehouse.dim_customers as customers using (customer_sk)
group by recomputed_dates.date;

update analytics.daily_kpis as kpis
set revenue_7d_avg = windowed.revenue_7d_avg, orders_7d_avg = windowed.orders_7d_avg
from (
    select
        date,
        round(avg(net_revenue) over last_7_days, 2) as revenue_7d_avg,
        round(avg(orders) over last_7_days, 2) as orders_7d_avg
    from analytics.daily_kpis
    where date between (select min(date) from recomputed_dates) - 6 and (select max(date) from recomputed_dates) + 6
    window last_7_days as (order by date range between '6 days' preceding and current row)
) as windowed
where kpis.date = windowed.date
    and exists (
        select from recomputed_dates where kpis.date between recomputed_dates.date and recomputed_dates.date + 6
    );
