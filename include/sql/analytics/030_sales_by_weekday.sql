-- analytics.sales_by_weekday: per day of the week, how many days were loaded and what an
-- average such day sold.
delete from analytics.sales_by_weekday;

insert into analytics.sales_by_weekday
with daily as (
    select date_key, sum(orders) as orders, sum(net_revenue) as net_revenue
    from warehouse.agg_daily_sales
    group by date_key
)

select
    dates.day_of_week,
    dates.day_name,
    dates.is_weekend,
    count(*),
    sum(daily.orders),
    sum(daily.net_revenue),
    round(avg(daily.orders), 2),
    round(avg(daily.net_revenue), 2)
from daily
inner join warehouse.dim_date as dates using (date_key)
group by dates.day_of_week, dates.day_name, dates.is_weekend;
