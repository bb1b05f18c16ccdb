-- analytics.customer_revenue_mix: revenue from customers with one completed order (new)
-- against those who came back (repeat). From each customer's totals (warehouse.customer_totals),
-- not every fact.
delete from analytics.customer_revenue_mix;

insert into analytics.customer_revenue_mix
with per_type as (
    select
        case when orders > 1 then 'repeat' else 'new' end as customer_type,
        count(*) as customers,
        sum(orders) as orders,
        sum(net_revenue) as net_revenue
    from warehouse.customer_totals
    group by 1
)

select
    customer_type,
    customers,
    orders,
    net_revenue,
    round(net_revenue / nullif(sum(net_revenue) over (), 0), 4)
from per_type;
