{#-
description: >-
  Customers grouped by the month of their first completed order; for each later month, the share
  of the cohort that ordered again.
materialized: table
columns:
  cohort_month: {type: date, description: First day of the month of the cohort's first completed orders.}
  months_since_first: {type: integer, description: "Months from the cohort's month: 0 is the month itself."}
  cohort_size: {type: integer, description: Customers in the cohort.}
  active_customers: {type: integer, description: Those of them with a completed order in that month.}
  retention_rate: {type: "numeric(7, 4)", description: active_customers / cohort_size.}
primary_key: [cohort_month, months_since_first]
checks:
  - name: cohort_retention_rate_range
    scope: table
    type: range
    column: retention_rate
    min: 0
    max: 1
    severity: error
  # A cohort is the customers whose first month it is: all of them are active in it.
  - name: cohort_retention_first_month_whole
    scope: table
    type: sql
    severity: error
    query: >-
      select * from analytics.cohort_retention where months_since_first = 0 and (active_customers <> cohort_size
      or retention_rate <> 1)
-#}
-- From the months with completed orders per customer (warehouse.customer_monthly_sales) and each
-- customer's first (warehouse.customer_totals), not every fact.
with activity as (
    select customer_id, month as active_month
    from warehouse.customer_monthly_sales
    where customer_id <> -1
),

cohorts as (
    select customer_id, first_month as cohort_month
    from warehouse.customer_totals
    where customer_id <> -1
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
