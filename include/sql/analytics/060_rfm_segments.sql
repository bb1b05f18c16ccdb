-- analytics.rfm_segments: each customer with completed orders, scored 1-5 on recency (days
-- before the latest loaded date), frequency (orders) and monetary value (net revenue), and
-- named by the usual RFM rules. From each customer's totals (warehouse.customer_totals), not
-- every fact.
delete from analytics.rfm_segments;

insert into analytics.rfm_segments
with customers as (
    select * from warehouse.customer_totals where customer_id <> -1
),

per_customer as (
    select
        customer_id,
        (select max(last_date) from customers) - last_date as recency_days,
        orders as frequency,
        net_revenue as monetary
    from customers
),

scored as (
    select
        *,
        ntile(5) over (order by recency_days desc, customer_id) as r_score,
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
from scored;
