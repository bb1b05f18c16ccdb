-- analytics.revenue_by_category: completed revenue per category and its share of the total.
delete from analytics.revenue_by_category;

insert into analytics.revenue_by_category
with per_category as (
    select
        category_name,
        sum(orders) as orders,
        sum(units) as units,
        sum(net_revenue) as net_revenue
    from warehouse.agg_daily_sales
    group by category_name
)

select
    category_name,
    orders,
    units,
    net_revenue,
    round(net_revenue / nullif(sum(net_revenue) over (), 0), 4)
from per_category;
