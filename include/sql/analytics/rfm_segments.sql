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
{% import 'macros/ntile.sql' as ntile %}
-- From each customer's totals (warehouse.customer_totals), not every fact. Each score is
-- ntile(5) over (order by its measure, customer_id), the most recent last for recency (by the
-- date itself: the order of recency_days descending), found from the first customer of each
-- quintile (macros/ntile.sql) rather than by the window function: its three sorts of every
-- customer, and three tuplestores of them, were 2 s of 3.5 over a million customers. The rows
-- go in in no particular order: the primary key is built after them (ecommerce.models), and
-- key order, which sped up putting each row into the key, would now only cost 0.1 s.
-- `customers` is read by each score's passes and the last one (not materialized: not
-- stored first).
with customers as not materialized (
    select customer_id, last_date, orders, net_revenue
    from warehouse.customer_totals
    where customer_id <> -1
),

-- few values: a date each day, a count of orders
{{ ntile.first_rows('recency', 'customers', 'last_date', 'customer_id', 5) }},

{{ ntile.first_rows('frequency', 'customers', 'orders', 'customer_id', 5) }},

-- many: revenue to the cent, near distinct over many customers (the customers counted above)
{{ ntile.first_rows('monetary', 'customers', 'net_revenue', 'customer_id', 5, many_values=true,
                   row_count='(select max(through) from recency_per_value)') }},

scored as (
    select
        customers.customer_id,
        -- the latest date of every customer's totals, the unknown member's too: the latest of the
        -- others (from recency's count per date, no scan more) and its own (by its key)
        greatest(
            (select max(value) from recency_per_value),
            (select last_date from warehouse.customer_totals where customer_id = -1)
        ) - customers.last_date as recency_days,
        customers.orders as frequency,
        customers.net_revenue as monetary,
        {{ ntile.bucket('recency', 'customers.last_date', 'customers.customer_id', 5) }} as r_score,
        {{ ntile.bucket('frequency', 'customers.orders', 'customers.customer_id', 5) }} as f_score,
        {{ ntile.bucket('monetary', 'customers.net_revenue', 'customers.customer_id', 5) }} as m_score
    from customers
    -- offset 0 keeps this a subquery of its own: pulled up into the query below, each score's
    -- CASE would be evaluated again each time the segment names it (up to four more times a row)
    offset 0
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
from scored;
