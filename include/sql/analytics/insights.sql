{#-
description: The headline statements on the dashboard, each with the number behind it and its details.
materialized: table
columns:
  insight_key: {type: text, description: "Which statement: top_category, weekend_vs_weekday, repeat_customer_share or forecast_next_7_days."}
  headline: {type: text, description: The statement as the dashboard shows it.}
  metric_value: {type: numeric, description: The number the statement is about.}
  details: {type: jsonb, description: The figures behind it.}
primary_key: [insight_key]
-#}
-- From the analytics tables they sum up; a statement whose figures are missing is left out.
with top_category as (
    select * from analytics.revenue_by_category order by net_revenue desc limit 1
),

weekend as (
    select
        sum(net_revenue) filter (where is_weekend) / nullif(sum(days) filter (where is_weekend), 0)
            as weekend_daily_revenue,
        sum(net_revenue) filter (where not is_weekend) / nullif(sum(days) filter (where not is_weekend), 0)
            as weekday_daily_revenue
    from analytics.sales_by_weekday
),

repeat_customers as (
    select revenue_share from analytics.customer_revenue_mix where customer_type = 'repeat'
)

select
    'top_category',
    format('%%s is the top revenue category with %%s%%%% of revenue',
           category_name, round(revenue_share * 100, 1)),
    revenue_share,
    jsonb_build_object('category_name', category_name, 'net_revenue', net_revenue)
from top_category
union all
select
    'weekend_vs_weekday',
    format('An average weekend day brings %%s%%%% of an average weekday''s revenue (%%s vs %%s)',
           round(100 * weekend_daily_revenue / weekday_daily_revenue),
           to_char(weekend_daily_revenue, 'FM999,999,999,990'), to_char(weekday_daily_revenue, 'FM999,999,999,990')),
    round(weekend_daily_revenue / weekday_daily_revenue, 4),
    jsonb_build_object('weekend_daily_revenue', round(weekend_daily_revenue, 2),
                       'weekday_daily_revenue', round(weekday_daily_revenue, 2))
from weekend
where weekend_daily_revenue is not null and weekday_daily_revenue > 0
union all
select
    'repeat_customer_share',
    format('Repeat customers bring %%s%%%% of revenue', round(revenue_share * 100, 1)),
    revenue_share,
    jsonb_build_object('revenue_share', revenue_share)
from repeat_customers
union all
select
    'forecast_next_7_days',
    format('Next %%s days: $%%s expected, 80%%%% range $%%s–$%%s', days, to_char(net_revenue, 'FM999,999,999,990'),
           to_char(lower_80, 'FM999,999,999,990'), to_char(upper_80, 'FM999,999,999,990')),
    net_revenue,
    jsonb_build_object('days', days, 'model', model, 'lower_80', lower_80, 'upper_80', upper_80,
                       'lower_95', lower_95, 'upper_95', upper_95)
from analytics.forecast_outlook;
