-- analytics.cohort_retention: customers grouped by the month of their first completed order;
-- for each later month, the share of the cohort that ordered again.
{% import 'macros/history.sql' as history %}
{{ history.serialize('warehouse') }};

delete from analytics.cohort_retention;

insert into analytics.cohort_retention
with activity as (
    select distinct customers.customer_id, date_trunc('month', dates.date)::date as active_month
    from warehouse.fact_sales as facts
    inner join warehouse.dim_customers as customers using (customer_sk)
    inner join warehouse.dim_date as dates using (date_key)
    where facts.status = 'completed' and facts.customer_sk <> -1
),

cohorts as (
    select customer_id, min(active_month) as cohort_month
    from activity
    group by customer_id
),

cohort_sizes as (
    select cohort_month, count(*) as cohort_size
    from cohorts
    group by cohort_month
),

retained as (
    select
        cohorts.cohort_month,
        ((extract(year from activity.active_month) - extract(year from cohorts.cohort_month)) * 12
            + extract(month from activity.active_month) - extract(month from cohorts.cohort_month))::integer
            as months_since_first,
        count(*) as active_customers
    from activity
    inner join cohorts using (customer_id)
    group by 1, 2
)

select
    retained.cohort_month,
    retained.months_since_first,
    cohort_sizes.cohort_size,
    retained.active_customers,
    round(retained.active_customers::numeric / cohort_sizes.cohort_size, 4)
from retained
inner join cohort_sizes using (cohort_month);
