-- analytics.daily_kpis: revenue, orders and order value per day, with 7-day moving averages.
-- Only the business date's row is recomputed (from that date's facts), then the moving
-- averages of the week it affects, so the cost follows the day, not the history.
delete from analytics.daily_kpis where date = %(business_date)s;

insert into analytics.daily_kpis
select
    %(business_date)s::date,
    count(distinct facts.transaction_id),
    count(distinct customers.customer_id),
    coalesce(sum(facts.quantity), 0),
    coalesce(sum(facts.net_amount), 0),
    coalesce(round(sum(facts.net_amount) / nullif(count(distinct facts.transaction_id), 0), 2), 0),
    0,
    0
from warehouse.fact_sales as facts
inner join warehouse.dim_customers as customers using (customer_sk)
where facts.date_key = to_char(%(business_date)s::date, 'YYYYMMDD')::integer
    and facts.status = 'completed';

update analytics.daily_kpis as kpis
set revenue_7d_avg = windowed.revenue_7d_avg, orders_7d_avg = windowed.orders_7d_avg
from (
    select
        date,
        round(avg(net_revenue) over last_7_days, 2) as revenue_7d_avg,
        round(avg(orders) over last_7_days, 2) as orders_7d_avg
    from analytics.daily_kpis
    where date between %(business_date)s::date - 6 and %(business_date)s::date + 6
    window last_7_days as (order by date range between '6 days' preceding and current row)
) as windowed
where kpis.date = windowed.date
    and kpis.date between %(business_date)s::date and %(business_date)s::date + 6;
