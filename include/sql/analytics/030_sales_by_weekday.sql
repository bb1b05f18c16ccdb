-- analytics.sales_by_weekday: per day of the week, how many days were loaded and what an
-- average such day sold (from analytics.daily_kpis).
delete from analytics.sales_by_weekday;

insert into analytics.sales_by_weekday
select
    dates.day_of_week,
    dates.day_name,
    dates.is_weekend,
    count(*),
    sum(kpis.orders),
    sum(kpis.net_revenue),
    round(avg(kpis.orders), 2),
    round(avg(kpis.net_revenue), 2)
from analytics.daily_kpis as kpis
inner join warehouse.dim_date as dates using (date)
group by dates.day_of_week, dates.day_name, dates.is_weekend;
