{#-
description: Per day of the week, how many days were loaded and what an average such day sold.
materialized: table
columns:
  day_of_week: {type: smallint, description: ISO day of the week, 1 (Monday) to 7 (Sunday).}
  day_name: {type: text, description: The day's English name.}
  is_weekend: {type: boolean, description: Saturday or Sunday.}
  days: {type: integer, description: Loaded dates falling on this day of the week.}
  orders: {type: integer, description: Completed orders on those dates.}
  net_revenue: {type: "numeric(16, 2)", description: Net revenue of completed orders on those dates.}
  avg_daily_orders: {type: "numeric(12, 2)", description: Completed orders of an average such date.}
  avg_daily_revenue: {type: "numeric(16, 2)", description: Net revenue of an average such date.}
primary_key: [day_of_week]
-#}
-- From the daily KPIs (analytics.daily_kpis) and the calendar.
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
